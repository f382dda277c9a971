//! One error type for every handler, turned into `{"error": "..."}` JSON with a status that says
//! what is wrong; and extractors whose rejections take the same shape.

use crate::store::blobs::ImageError;
use crate::store::{StoreError, StoreErrorKind};
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// What kind of failure an [`AppError`] is; decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: malformed or unacceptable input.
    BadRequest,
    /// 404: no such project, image, file or route.
    NotFound,
    /// 405: the route exists but not with this method.
    MethodNotAllowed,
    /// 408: the client sent its request too slowly.
    RequestTimeout,
    /// 409: the data changed underneath the request.
    Conflict,
    /// 413: a body, file, pixel count or image count is over its limit.
    PayloadTooLarge,
    /// 415: a file or body of a type we do not accept.
    UnsupportedMediaType,
    /// 422: the data is valid but cannot give an answer (analysis not ready).
    Unprocessable,
    /// 503: the server is shutting down, at its connection limit, or a request took too long.
    Unavailable,
    /// 507: the disk of the data directory is full.
    InsufficientStorage,
    /// 500: a failure of the machine, logged; the client sees no detail.
    Internal,
}

impl ErrorKind {
    /// The one place kinds map to statuses.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn from_status(status: StatusCode) -> ErrorKind {
        match status {
            StatusCode::NOT_FOUND => ErrorKind::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorKind::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorKind::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorKind::Unprocessable,
            s if s.is_server_error() => ErrorKind::Internal,
            _ => ErrorKind::BadRequest,
        }
    }
}

/// An error answer: a kind (→ status), a message for the user and optional extra JSON fields
/// (e.g. `incomplete` on a 422 from the analysis).
#[derive(Debug, Clone, PartialEq)]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
    pub details: Map<String, Value>,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            details: Map::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unprocessable, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Add a field to the JSON body next to `error`.
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        (status, axum::Json(body)).into_response()
    }
}

impl AppError {
    /// The status and the JSON body of the answer (`{"error": …, details…}`); an internal
    /// error's message goes to the log, not to the client.
    pub fn status_and_body(self) -> (StatusCode, Value) {
        let status = self.kind.status();
        let message = if self.kind == ErrorKind::Internal {
            tracing::error!(error = %self.message, "internal error");
            "internal server error (details are in the server log)".to_owned()
        } else {
            self.message
        };
        let mut body = Map::new();
        body.insert("error".to_owned(), Value::String(message));
        for (key, value) in self.details {
            if key != "error" {
                body.insert(key, value);
            }
        }
        (status, Value::Object(body))
    }
}

/// ENOSPC (no space left on device) and EDQUOT (disk quota exceeded) on Linux.
const DISK_FULL_ERRNOS: [i32; 2] = [28, 122];

fn io_disk_full(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || err
        .raw_os_error()
        .is_some_and(|code| DISK_FULL_ERRNOS.contains(&code))
}

/// A write that failed because the data directory's disk (or quota) is full.
pub fn is_disk_full(err: &StoreError) -> bool {
    match err.kind() {
        StoreErrorKind::Io { source, .. } => io_disk_full(source),
        StoreErrorKind::Db(rusqlite::Error::SqliteFailure(e, _)) => {
            e.code == rusqlite::ErrorCode::DiskFull
        }
        _ => false,
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        if is_disk_full(&err) {
            tracing::error!(error = %err, "disk full: a write was refused");
            return AppError::new(
                ErrorKind::InsufficientStorage,
                "the disk holding the data directory is full: nothing of this request was \
                 stored; free some space (or delete projects you no longer need) and try again",
            )
            .with_detail("cause", "disk full");
        }
        let kind = match err.kind() {
            StoreErrorKind::NotFound(_) => ErrorKind::NotFound,
            StoreErrorKind::Invalid(_) => ErrorKind::BadRequest,
            StoreErrorKind::Image(ImageError::Unsupported { .. }) => {
                ErrorKind::UnsupportedMediaType
            }
            StoreErrorKind::Image(
                ImageError::TooManyPixels { .. } | ImageError::TooMuchMemory { .. },
            ) => ErrorKind::PayloadTooLarge,
            StoreErrorKind::Image(ImageError::Empty { .. } | ImageError::Corrupt { .. }) => {
                ErrorKind::BadRequest
            }
            StoreErrorKind::Limit(_) => ErrorKind::PayloadTooLarge,
            StoreErrorKind::Conflict(_) => ErrorKind::Conflict,
            StoreErrorKind::Closed => ErrorKind::Unavailable,
            StoreErrorKind::Db(_)
            | StoreErrorKind::Migration(_)
            | StoreErrorKind::Io { .. }
            | StoreErrorKind::Corrupt(_) => ErrorKind::Internal,
        };
        AppError::new(kind, err.to_string())
    }
}

impl From<ImageError> for AppError {
    fn from(err: ImageError) -> Self {
        StoreError::from(err).into()
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::new(
                ErrorKind::UnsupportedMediaType,
                "expected a JSON body with the header Content-Type: application/json",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
                ErrorKind::PayloadTooLarge,
                format!("the JSON body is too large: {}", rejection.body_text()),
            ),
            _ => AppError::bad_request(format!("invalid JSON body: {}", rejection.body_text())),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        // An id that is not a number cannot name anything that exists.
        AppError::not_found(format!("not found: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::bad_request(rejection.body_text())
    }
}

impl From<MultipartRejection> for AppError {
    fn from(rejection: MultipartRejection) -> Self {
        AppError::new(
            ErrorKind::from_status(rejection.status()),
            format!(
                "expected a multipart/form-data body: {}",
                rejection.body_text()
            ),
        )
    }
}

impl From<MultipartError> for AppError {
    fn from(err: MultipartError) -> Self {
        AppError::new(
            ErrorKind::from_status(err.status()),
            format!("malformed multipart body: {}", err.body_text()),
        )
    }
}

/// `axum::Json` whose rejections are [`AppError`]s (`400 {"error": "invalid JSON body: …"}`).
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct AppJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections are 404 [`AppError`]s.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct AppPath<T>(pub T);

/// `axum::extract::Query` whose rejections are 400 [`AppError`]s.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct AppQuery<T>(pub T);

/// `axum::extract::Multipart` whose rejections are [`AppError`]s.
#[derive(Debug)]
pub struct AppMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for AppMultipart {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(AppMultipart)
            .map_err(AppError::from)
    }
}

/// Deserialize a field that may be absent (outer `None`), `null` (`Some(None)`) or a value.
pub use crate::store::model::double_option;
