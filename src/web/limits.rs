//! The size and count limits of `strain-seer serve` as flags and environment variables, turned
//! into [`Limits`]. The defaults are those of [`Limits::default`] (see docs/reliability.md).

use super::Limits;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use serde_json::json;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

const MIB: u64 = 1024 * 1024;

/// Limits flags of `strain-seer serve` (each also an environment variable).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct LimitArgs {
    /// Largest uploaded file (image or project JSON), MiB.
    #[arg(
        long,
        env = "STRAIN_SEER_MAX_UPLOAD_MB",
        default_value_t = 50,
        value_name = "MIB"
    )]
    pub max_upload_mb: u64,
    /// Largest whole upload or import request (all its files together), MiB.
    #[arg(
        long,
        env = "STRAIN_SEER_MAX_REQUEST_MB",
        default_value_t = 1024,
        value_name = "MIB"
    )]
    pub max_request_mb: u64,
    /// Largest JSON request body (an edit, a new project), MiB.
    #[arg(
        long,
        env = "STRAIN_SEER_MAX_JSON_MB",
        default_value_t = 2,
        value_name = "MIB"
    )]
    pub max_json_mb: u64,
    /// Most pixels (width × height) in an uploaded image, read from the file's header before
    /// anything is decoded.
    #[arg(
        long,
        env = "STRAIN_SEER_MAX_PIXELS",
        default_value_t = crate::store::blobs::DEFAULT_MAX_PIXELS,
        value_name = "PIXELS"
    )]
    pub max_pixels: u64,
    /// Most images in one project.
    #[arg(
        long,
        env = "STRAIN_SEER_MAX_IMAGES",
        default_value_t = 20_000,
        value_name = "COUNT"
    )]
    pub max_images: u64,
    /// Longest film accepted, minutes (its duration is read from the file's header before any
    /// frame is decoded).
    #[arg(
        long,
        env = "STRAIN_SEER_MAX_FILM_MINUTES",
        default_value_t = 360,
        value_name = "MINUTES"
    )]
    pub max_film_minutes: u64,
}

impl Default for LimitArgs {
    fn default() -> Self {
        let limits = Limits::default();
        let mib = |bytes: usize| bytes as u64 / MIB;
        Self {
            max_upload_mb: mib(limits.max_file_bytes),
            max_request_mb: mib(limits.max_upload_bytes),
            max_json_mb: mib(limits.max_json_bytes),
            max_pixels: limits.max_pixels,
            max_images: limits.max_images_per_project,
            max_film_minutes: limits.max_film_seconds / 60,
        }
    }
}

fn bytes(flag: &str, mib: u64) -> Result<usize, String> {
    if mib == 0 {
        return Err(format!("--{flag} must be at least 1 (MiB)"));
    }
    mib.checked_mul(MIB)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("--{flag} {mib} is too large for this machine"))
}

impl LimitArgs {
    /// Check the values (every limit at least 1; a request can hold at least one largest file)
    /// and convert them.
    pub fn limits(&self) -> Result<Limits, String> {
        let limits = Limits {
            max_json_bytes: bytes("max-json-mb", self.max_json_mb)?,
            max_upload_bytes: bytes("max-request-mb", self.max_request_mb)?,
            max_file_bytes: bytes("max-upload-mb", self.max_upload_mb)?,
            max_pixels: self.max_pixels,
            max_images_per_project: self.max_images,
            max_film_seconds: self.max_film_minutes.saturating_mul(60),
        };
        if limits.max_film_seconds == 0 {
            return Err("--max-film-minutes must be at least 1".into());
        }
        if limits.max_pixels == 0 {
            return Err("--max-pixels must be at least 1".into());
        }
        if limits.max_images_per_project == 0 {
            return Err("--max-images must be at least 1".into());
        }
        if self.max_request_mb < self.max_upload_mb {
            return Err(format!(
                "--max-request-mb ({}) is smaller than --max-upload-mb ({}): a request could not hold one \
                 file of the largest allowed size",
                self.max_request_mb, self.max_upload_mb
            ));
        }
        Ok(limits)
    }
}

/// `12345678` → `11.8 MiB`.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

/// Most bytes of a refused request's unread body that are read and thrown away before the answer
/// is sent (see [`guard_body`]).
pub const LINGER_BYTES: u64 = 64 * 1024 * 1024;
/// Longest time spent reading and throwing away a refused request's unread body.
pub const LINGER_TIME: Duration = Duration::from_secs(15);

/// A request body that the middleware can still read after the handler dropped its copy.
#[derive(Debug, Clone)]
struct SharedBody(Arc<Mutex<Body>>);

impl SharedBody {
    fn lock(&self) -> std::sync::MutexGuard<'_, Body> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl HttpBody for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut *self.lock()).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.lock().is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.lock().size_hint()
    }
}

/// Read and discard what is left of a body, at most `max_bytes` within [`LINGER_TIME`]; true when
/// the body was read to its end.
async fn drain(body: &SharedBody, max_bytes: u64) -> bool {
    discard(body.clone(), max_bytes).await
}

/// A refusal sent before the handler read the body: read the rest of it first (at most
/// [`LINGER_BYTES`] within [`LINGER_TIME`]) so that the client, still sending, gets the answer
/// instead of a reset connection; when that was not possible, say the connection ends here.
pub async fn refuse_unread(body: Body, mut response: Response) -> Response {
    if !discard(body, LINGER_BYTES).await {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn discard<B>(mut body: B, max_bytes: u64) -> bool
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    let read = async {
        let mut total = 0u64;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return false;
            };
            total += frame.data_ref().map_or(0, |d| d.len() as u64);
            if total > max_bytes {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(LINGER_TIME, read)
        .await
        .unwrap_or(false)
}

/// Whether a request is multipart (`Content-Type: multipart/…`, any case): uploads and imports,
/// the only requests with the larger body limit and more time than `--request-timeout`.
pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

/// Body-size guard of every request, in two parts.
///
/// 1. A request whose declared `Content-Length` is over its limit is refused before any of the
///    body is read: 413 `{"error": …, "limit_bytes": …}` naming the size and the limit
///    (multipart uploads and imports: [`Limits::max_upload_bytes`]; anything else:
///    [`Limits::max_json_bytes`]). Bodies without a length (chunked) are cut at the same limits
///    by the routes' `DefaultBodyLimit`.
/// 2. "Lingering close", as web servers do: when a handler answers without reading the whole
///    body (a refused file in the middle of an upload, a body over its limit), up to
///    [`LINGER_BYTES`] of the rest are read and discarded before the answer is sent. Otherwise the
///    connection is closed with data unread, the client gets a TCP reset while still sending and
///    shows "connection reset" instead of the error message.
pub async fn guard_body(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let multipart = is_multipart(request.headers());
    let (limit, what, flag) = if multipart {
        (
            limits.max_upload_bytes as u64,
            "an upload or import request",
            "--max-request-mb",
        )
    } else {
        (
            limits.max_json_bytes as u64,
            "a JSON request",
            "--max-json-mb",
        )
    };
    if request.body().is_end_stream() || declared == Some(0) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let shared = SharedBody(Arc::new(Mutex::new(body)));
    let mut response = match declared {
        Some(declared) if declared > limit => {
            let hint = if multipart {
                "; send the files in several smaller uploads"
            } else {
                ""
            };
            let message = format!(
                "the request body ({}) is larger than the limit of {} for {what} ({flag}){hint}",
                mib(declared),
                mib(limit),
            );
            tracing::warn!(
                path = parts.uri.path(),
                declared,
                limit,
                "request body over the limit refused"
            );
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(json!({ "error": message, "limit_bytes": limit })),
            )
                .into_response()
        }
        _ => {
            next.run(Request::from_parts(parts, Body::new(shared.clone())))
                .await
        }
    };
    let small_enough = declared.is_none_or(|d| d <= limit.saturating_add(LINGER_BYTES));
    if !(small_enough && drain(&shared, LINGER_BYTES).await) {
        // Unread data will be left behind: say the connection ends here.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        limits: LimitArgs,
    }

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let parsed = Cli::try_parse_from(["x"]).map(|c| c.limits);
        assert_eq!(parsed.as_ref().ok(), Some(&LimitArgs::default()));
        assert_eq!(LimitArgs::default().limits(), Ok(Limits::default()));
    }

    #[test]
    fn flags_convert_and_are_checked() {
        let args = LimitArgs {
            max_upload_mb: 3,
            max_request_mb: 10,
            max_json_mb: 1,
            max_pixels: 1000,
            max_images: 7,
            max_film_minutes: 2,
        };
        let limits = args.limits();
        assert_eq!(
            limits,
            Ok(Limits {
                max_json_bytes: 1024 * 1024,
                max_upload_bytes: 10 * 1024 * 1024,
                max_file_bytes: 3 * 1024 * 1024,
                max_pixels: 1000,
                max_images_per_project: 7,
                max_film_seconds: 120,
            })
        );
        let zero = LimitArgs {
            max_pixels: 0,
            ..args.clone()
        };
        assert!(zero.limits().is_err_and(|e| e.contains("--max-pixels")));
        let small_request = LimitArgs {
            max_request_mb: 2,
            ..args.clone()
        };
        assert!(
            small_request
                .limits()
                .is_err_and(|e| e.contains("--max-request-mb"))
        );
        let no_json = LimitArgs {
            max_json_mb: 0,
            ..args
        };
        assert!(no_json.limits().is_err_and(|e| e.contains("--max-json-mb")));
        let parsed = Cli::try_parse_from(["x", "--max-upload-mb", "7", "--max-images", "3"])
            .map(|c| c.limits);
        assert!(parsed.is_ok_and(|l| l.max_upload_mb == 7 && l.max_images == 3));
    }
}
