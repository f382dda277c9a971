//! What a storage operation can fail with: a [`StoreError`] that carries a
//! [`StoreErrorKind`]. The first five kinds are the caller's fault (their messages are meant for
//! the user); the rest are failures of the machine. Callers decide by [`StoreError::kind`] (the
//! web layer turns each kind into an HTTP status in one place, `web::error`).

use super::blobs::ImageError;
use super::schema::MigrationError;
use std::fmt;

/// A storage operation that failed, and why ([`StoreError::kind`]).
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// No such project or image.
    #[error("{0}")]
    NotFound(String),
    /// The request is well-formed but its values are not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// An uploaded file is not an image we accept, is corrupt or too large.
    #[error(transparent)]
    Image(ImageError),
    /// A configured limit would be exceeded.
    #[error("{0}")]
    Limit(String),
    /// The data changed underneath the request (e.g. an image deleted during an upload).
    #[error("{0}")]
    Conflict(String),
    /// SQLite failed.
    #[error("database: {0}")]
    Db(#[source] rusqlite::Error),
    /// The database cannot be brought to this build's schema.
    #[error(transparent)]
    Migration(MigrationError),
    /// Reading or writing a file of the data directory failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Stored data cannot be read back (should never happen).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store was closed (the server is shutting down).
    #[error("the database is closed")]
    Closed,
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// An error of this kind.
    pub fn new(kind: StoreErrorKind) -> Self {
        StoreError { kind }
    }

    /// What went wrong.
    pub fn kind(&self) -> &StoreErrorKind {
        &self.kind
    }

    /// What went wrong, by value.
    pub fn into_kind(self) -> StoreErrorKind {
        self.kind
    }

    /// No such project or image.
    pub fn not_found(message: impl Into<String>) -> Self {
        StoreErrorKind::NotFound(message.into()).into()
    }

    /// Values the store does not accept.
    pub fn invalid(message: impl Into<String>) -> Self {
        StoreErrorKind::Invalid(message.into()).into()
    }

    /// A configured limit would be exceeded.
    pub fn limit(message: impl Into<String>) -> Self {
        StoreErrorKind::Limit(message.into()).into()
    }

    /// The data changed underneath the request.
    pub fn conflict(message: impl Into<String>) -> Self {
        StoreErrorKind::Conflict(message.into()).into()
    }

    /// Stored data that cannot be read back.
    pub fn corrupt(message: impl Into<String>) -> Self {
        StoreErrorKind::Corrupt(message.into()).into()
    }

    /// The store was closed.
    pub fn closed() -> Self {
        StoreErrorKind::Closed.into()
    }

    /// A file operation of the data directory failed.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreErrorKind::Io {
            context: context.into(),
            source,
        }
        .into()
    }

    /// Whether the caller is at fault (the message is meant for the user), rather than the
    /// machine.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self.kind,
            StoreErrorKind::NotFound(_)
                | StoreErrorKind::Invalid(_)
                | StoreErrorKind::Image(_)
                | StoreErrorKind::Limit(_)
                | StoreErrorKind::Conflict(_)
        )
    }

    /// An [`StoreErrorKind::Invalid`] message prefixed with `name: ` (the file it is about);
    /// other kinds unchanged.
    pub(super) fn named(self, name: &str) -> Self {
        match self.kind {
            StoreErrorKind::Invalid(message) => StoreError::invalid(format!("{name}: {message}")),
            kind => kind.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

impl From<StoreErrorKind> for StoreError {
    fn from(kind: StoreErrorKind) -> Self {
        StoreError { kind }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreErrorKind::Db(err).into()
    }
}

impl From<MigrationError> for StoreError {
    fn from(err: MigrationError) -> Self {
        StoreErrorKind::Migration(err).into()
    }
}

impl From<ImageError> for StoreError {
    fn from(err: ImageError) -> Self {
        StoreErrorKind::Image(err).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_those_of_the_kind() {
        assert_eq!(
            StoreError::not_found("no project 3").to_string(),
            "no project 3"
        );
        assert_eq!(
            StoreError::corrupt("bad json").to_string(),
            "stored data is corrupt: bad json"
        );
        assert_eq!(StoreError::closed().to_string(), "the database is closed");
        let io = StoreError::io("cannot write x", std::io::Error::other("boom"));
        assert_eq!(io.to_string(), "cannot write x: boom");
        assert!(std::error::Error::source(&io).is_some());
    }

    #[test]
    fn user_errors_are_told_from_machine_errors() {
        assert!(StoreError::invalid("x").is_user_error());
        assert!(StoreError::limit("x").is_user_error());
        assert!(StoreError::conflict("x").is_user_error());
        assert!(!StoreError::corrupt("x").is_user_error());
        assert!(!StoreError::closed().is_user_error());
    }

    #[test]
    fn named_prefixes_only_invalid_messages() {
        assert_eq!(
            StoreError::invalid("bad point").named("a.png").to_string(),
            "a.png: bad point"
        );
        assert_eq!(
            StoreError::not_found("no project 1")
                .named("a.png")
                .to_string(),
            "no project 1"
        );
    }
}
