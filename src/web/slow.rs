//! Per-request defences against slow clients, applied around the whole router by the accept
//! loop ([`super::listen`]): a minimum body rate ([`MinRate`]) and a time limit on requests that
//! are not uploads.

use super::conn::ConnLimits;
use super::error::{AppError, ErrorKind};
use super::limits::is_multipart;
use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// A request body that fails once fewer than `min_rate × window` bytes arrived in a window of
/// `window` while the body was still incomplete. Windows start when the body is first read.
#[derive(Debug)]
pub struct MinRate {
    inner: Body,
    min_bytes: u64,
    window: Duration,
    received: u64,
    deadline: Option<Pin<Box<Sleep>>>,
    tripped: Arc<AtomicBool>,
}

impl MinRate {
    /// `min_rate` in bytes per second; `tripped` is set when the body is dropped for slowness.
    pub fn new(inner: Body, min_rate: u64, window: Duration, tripped: Arc<AtomicBool>) -> Self {
        let min_bytes = (min_rate as f64 * window.as_secs_f64()).ceil() as u64;
        Self {
            inner,
            min_bytes,
            window,
            received: 0,
            deadline: None,
            tripped,
        }
    }

    /// Start the next window.
    fn next_window(&mut self, cx: &mut Context<'_>) {
        self.received = 0;
        if let Some(deadline) = self.deadline.as_mut() {
            deadline.as_mut().reset(Instant::now() + self.window);
            // Register the waker for the new deadline.
            let _ = deadline.as_mut().poll(cx);
        }
    }
}

fn too_slow() -> axum::Error {
    axum::Error::new(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the request body arrived too slowly",
    ))
}

impl HttpBody for MinRate {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.tripped.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(too_slow())));
        }
        let window = this.window;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(window)));
        let expired = deadline.as_mut().poll(cx).is_ready();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.received += frame.data_ref().map_or(0, |d| d.len() as u64);
                // Data was waiting: the client is not the slow side (the server may have been
                // busy elsewhere, e.g. waiting for a decode permit). Judge the next window.
                if expired {
                    this.next_window(cx);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            // The window is over while the server waits for the client.
            Poll::Pending if expired => {
                if this.received < this.min_bytes {
                    this.tripped.store(true, Ordering::Relaxed);
                    return Poll::Ready(Some(Err(too_slow())));
                }
                this.next_window(cx);
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Run one request through `router` with the minimum body rate and, unless it is an upload, the
/// request timeout.
pub fn handle<B>(
    router: Router,
    limits: &ConnLimits,
    request: Request<B>,
) -> impl Future<Output = Response> + Send + use<B>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let tripped = Arc::new(AtomicBool::new(false));
    let upload = is_multipart(request.headers());
    let (min_rate, window, timeout) = (
        limits.min_upload_rate,
        limits.upload_rate_window,
        limits.request_timeout,
    );
    let request = request.map(|body| {
        let body = Body::new(body);
        if min_rate > 0 && !body.is_end_stream() {
            Body::new(MinRate::new(body, min_rate, window, Arc::clone(&tripped)))
        } else {
            body
        }
    });
    let path = request.uri().path().to_owned();
    async move {
        let served = router.oneshot(request);
        let response = if upload {
            served.await
        } else {
            match tokio::time::timeout(timeout, served).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(path, ?timeout, "request timed out");
                    return closing(
                        AppError::new(
                            ErrorKind::Unavailable,
                            format!(
                                "the request took longer than {} s and was stopped \
                                 (--request-timeout); it may or may not have been applied",
                                timeout.as_secs()
                            ),
                        )
                        .into_response(),
                    );
                }
            }
        };
        let response = response.unwrap_or_else(|never| match never {});
        if tripped.load(Ordering::Relaxed) {
            tracing::warn!(path, "request body too slow: dropped");
            let rate = min_rate as f64 / 1024.0;
            return closing(
                AppError::new(
                    ErrorKind::RequestTimeout,
                    format!(
                        "the request body arrived slower than {rate:.0} KiB/s over {} s \
                         (--min-upload-rate, --upload-rate-window) and was dropped; nothing \
                         of it was stored",
                        window.as_secs()
                    ),
                )
                .into_response(),
            );
        }
        response
    }
}
