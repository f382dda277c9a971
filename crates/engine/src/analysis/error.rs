//! Analysis errors: what went wrong, and which image it concerns.

use crate::points::ImageStatus;
use crate::regression::RegressionError;
use crate::scale::ScaleError;
use crate::strain::{Component, StrainError};
use std::fmt;

/// An analysis error names the image it concerns, when there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", display_error(self.image.as_deref(), &self.kind))]
pub struct AnalysisError {
    pub image: Option<String>,
    pub kind: AnalysisErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AnalysisErrorKind {
    InvalidScaleLength(f64),
    InvalidSigma(f64),
    NonFiniteDistance(f64),
    TooFewComplete {
        complete: usize,
        required: usize,
        incomplete: Vec<(String, ImageStatus)>,
    },
    AllDistancesEqual(f64),
    /// Too few images are left for the fits once the user's exclusions are taken out.
    TooFewFitted {
        fitted: usize,
        required: usize,
        excluded_by_user: usize,
    },
    UnknownReference(String),
    ReferenceIncomplete(ImageStatus),
    Strain(StrainError),
    Scale(ScaleError),
    Regression {
        component: Component,
        error: RegressionError,
    },
}

/// At most this many excluded images are named in a [`AnalysisErrorKind::TooFewComplete`] message.
const MAX_NAMED: usize = 10;

fn display_error(image: Option<&str>, kind: &AnalysisErrorKind) -> String {
    match image {
        Some(name) => format!("image '{name}': {kind}"),
        None => kind.to_string(),
    }
}

impl fmt::Display for AnalysisErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnalysisErrorKind::InvalidScaleLength(v) => write!(
                f,
                "the scale length must be a number of mm greater than 0 (between 1e-9 and 1e9), got {v}"
            ),
            AnalysisErrorKind::InvalidSigma(v) => write!(
                f,
                "the point uncertainty sigma must be a number of px, 0 or more (at most 1e6), got {v}"
            ),
            AnalysisErrorKind::NonFiniteDistance(v) => {
                write!(f, "the deformation distance is not a finite number ({v})")
            }
            AnalysisErrorKind::TooFewComplete {
                complete,
                required,
                incomplete,
            } => {
                write!(
                    f,
                    "the analysis needs at least {required} complete images (5 fiducial points, \
                     2 scale points and a deformation distance each), found {complete}"
                )?;
                if !incomplete.is_empty() {
                    f.write_str("; not complete: ")?;
                    for (i, (name, status)) in incomplete.iter().take(MAX_NAMED).enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "'{name}' ({status})")?;
                    }
                    if incomplete.len() > MAX_NAMED {
                        write!(f, " and {} more", incomplete.len() - MAX_NAMED)?;
                    }
                }
                Ok(())
            }
            AnalysisErrorKind::AllDistancesEqual(d) => write!(
                f,
                "all complete images have the same deformation distance ({d} mm): strain cannot \
                 be regressed against distance"
            ),
            AnalysisErrorKind::TooFewFitted {
                fitted,
                required,
                excluded_by_user,
            } => write!(
                f,
                "the fits need at least {required} complete images that are not excluded, with \
                 two different deformation distances; {excluded_by_user} excluded by the user \
                 leave {fitted}"
            ),
            AnalysisErrorKind::UnknownReference(name) => {
                write!(
                    f,
                    "the chosen reference image '{name}' is not in the project"
                )
            }
            AnalysisErrorKind::ReferenceIncomplete(status) => write!(
                f,
                "the chosen reference image is not complete ({status}): it needs 5 fiducial \
                 points, 2 scale points and a deformation distance"
            ),
            AnalysisErrorKind::Strain(e) => write!(f, "{e}"),
            AnalysisErrorKind::Scale(e) => write!(f, "{e}"),
            AnalysisErrorKind::Regression { component, error } => {
                write!(
                    f,
                    "regression of {} against deformation distance: {error}",
                    component.label()
                )
            }
        }
    }
}

impl AnalysisError {
    /// An error about one image.
    pub fn for_image(image: impl Into<String>, kind: AnalysisErrorKind) -> Self {
        Self {
            image: Some(image.into()),
            kind,
        }
    }

    /// An error about the project as a whole.
    pub fn general(kind: AnalysisErrorKind) -> Self {
        Self { image: None, kind }
    }
}
