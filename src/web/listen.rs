//! The accept loop of `strain-seer serve`: HTTP/1.1 connections served by hyper with a header
//! read timeout, an idle keep-alive timeout and a cap on concurrent connections; beyond the cap a
//! small reserve still answers `/health` (anything else: 503, connection closed), and beyond
//! that connections are closed as soon as they are accepted. Limits: [`ConnLimits`].

use super::conn::{ConnLimits, OVERFLOW_HEADER_TIMEOUT, OVERFLOW_RESERVE};
use super::error::{AppError, ErrorKind};
use super::slow;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

/// Connections the kernel queues for `accept` (`listen(2)` backlog; the kernel caps it at
/// `net.core.somaxconn`). Rust's default of 128 overflows when thousands of clients connect at
/// once, and each overflow costs a client a 1 s SYN retransmission.
pub const ACCEPT_BACKLOG: u32 = 1024;

/// Bind a listening socket with [`ACCEPT_BACKLOG`] (address reuse on, as `TcpListener::bind`).
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Paths answered on connections over the cap.
const HEALTH_PATHS: [&str; 2] = ["/health", "/_stcore/health"];

/// What one connection is doing, for the idle keep-alive timeout.
#[derive(Debug, Default)]
struct Activity {
    in_flight: AtomicUsize,
    /// At least one answer was sent: the connection is kept alive, waiting for its next request.
    /// (A new connection is waiting for its first request: the header timeout applies.)
    kept_alive: AtomicBool,
    /// Milliseconds since [`epoch`] when the last answer was sent.
    last_done_ms: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Activity::default())
    }

    /// How long the connection has been waiting for its next request after an answer.
    fn idle_for(&self) -> Option<Duration> {
        if !self.kept_alive.load(Ordering::Acquire) || self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = self.last_done_ms.load(Ordering::Relaxed);
        Some(Duration::from_millis(now_ms().saturating_sub(last)))
    }
}

/// Counts a request as in flight until its answer's body is dropped (sent or abandoned).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_done_ms.store(now_ms(), Ordering::Relaxed);
        self.0.kept_alive.store(true, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serve `router` on `listener` until `shutdown` completes, then stop accepting, close idle
/// connections, and wait at most `grace` for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) {
    let limits = Arc::new(limits);
    let cap = limits.max_connections;
    let main = Arc::new(Semaphore::new(cap));
    let reserve = Arc::new(Semaphore::new(OVERFLOW_RESERVE));
    let (closing_tx, closing_rx) = watch::channel(false);
    let at_cap = AtomicBool::new(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = shutdown.as_mut() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    if !is_connection_error(&err) {
                        // E.g. out of file descriptors: wait for some to be freed.
                        tracing::error!("accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        if let Ok(permit) = Arc::clone(&main).try_acquire_owned() {
            at_cap.store(false, Ordering::Relaxed);
            tokio::spawn(connection(
                stream,
                router.clone(),
                Arc::clone(&limits),
                closing_rx.clone(),
                permit,
            ));
            continue;
        }
        if !at_cap.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                max_connections = cap,
                "connection limit reached (--max-connections): new connections get /health only"
            );
        }
        match Arc::clone(&reserve).try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(overflow(stream, router.clone(), cap, permit));
            }
            Err(_) => drop(stream),
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, main.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("requests in flight did not finish within {grace:?}; stopping anyway");
    }
}

/// Errors of one connection that say nothing about the listener (as in `axum::serve`).
fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

fn builder(header_timeout: Duration) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    builder
}

/// One connection within the cap: served until the client closes it, a timeout closes it, or
/// the server shuts down (after the request in flight, if any).
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Arc<ConnLimits>,
    mut closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Activity::new();
    let service = {
        let activity = Arc::clone(&activity);
        let limits = Arc::clone(&limits);
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let in_flight = InFlight::begin(&activity);
            let served = slow::handle(router.clone(), &limits, request);
            async move {
                let response = served.await;
                // The body holds the request's `InFlight` until it is sent or dropped.
                Ok::<_, Infallible>(response.map(|inner| {
                    Body::new(inner.map_frame(move |frame| {
                        let _held: &InFlight = &in_flight;
                        frame
                    }))
                }))
            }
        })
    };
    let conn = builder(limits.header_timeout).serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let keep_alive = limits.keep_alive_timeout;
    let mut idle_check = tokio::time::interval(Duration::from_millis(
        (keep_alive.as_millis() / 4).clamp(50, 1000) as u64,
    ));
    idle_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!("connection closed: {err}");
                }
                return;
            }
            changed = closing.changed(), if !shutting_down => {
                if changed.is_err() || *closing.borrow() {
                    shutting_down = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = idle_check.tick(), if !shutting_down => {
                if activity.idle_for().is_some_and(|idle| idle >= keep_alive) {
                    shutting_down = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// A connection over the cap: `/health` is answered, anything else gets 503; either way the
/// connection is closed after one request or [`OVERFLOW_HEADER_TIMEOUT`].
async fn overflow(stream: TcpStream, router: Router, cap: usize, _permit: OwnedSemaphorePermit) {
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let router = router.clone();
        async move {
            let mut response = if HEALTH_PATHS.contains(&request.uri().path()) {
                tower::ServiceExt::oneshot(router, request.map(Body::new))
                    .await
                    .unwrap_or_else(|never| match never {})
            } else {
                AppError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "the server is serving its maximum of {cap} connections \
                         (--max-connections); try again shortly"
                    ),
                )
                .into_response()
            };
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok::<Response, Infallible>(response)
        }
    });
    let mut builder = builder(OVERFLOW_HEADER_TIMEOUT);
    builder.keep_alive(false);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    if let Ok(Err(err)) = tokio::time::timeout(OVERFLOW_HEADER_TIMEOUT * 2, conn).await {
        tracing::debug!("connection over the cap closed: {err}");
    }
}
