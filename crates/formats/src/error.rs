//! Typed errors of the formats crate.
//!
//! [`FormatError`] is *bad input*: a file that cannot be read as an annotation or project file,
//! or whose content is invalid. It says what is wrong and where (image id and filename, point,
//! field, JSON line and column). [`ExportError`] is a failure to produce an output (CSV, plot),
//! which is never the user's fault.

use std::fmt;
use strain_seer_engine::points::FIDUCIAL_NAMES;
use strain_seer_engine::{Point, PointRole};

/// A point inside an image: its role, its index within that role and, for the Python tool's
/// files, its index in the image's `points` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointRef {
    pub role: PointRole,
    /// Index among the points of this role (fiducials 0..5, scale points 0..2).
    pub index: usize,
    /// Index in the Python tool's `points` list, when the file has one.
    pub entry: Option<usize>,
}

impl fmt::Display for PointRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.role {
            PointRole::Fiducial => {
                write!(f, "fiducial point {}", self.index)?;
                if let Some(name) = FIDUCIAL_NAMES.get(self.index) {
                    write!(f, " ({name})")?;
                }
            }
            PointRole::Scale => write!(f, "scale point {}", self.index)?,
        }
        if let Some(entry) = self.entry {
            write!(f, " = points[{entry}]")?;
        }
        Ok(())
    }
}

/// Where in a file a problem is. Every part is optional; [`fmt::Display`] joins the known parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// Image id (the Python tool's `files_data` key, or the project image `id`).
    pub image_id: Option<String>,
    /// Image filename.
    pub filename: Option<String>,
    /// A point of the image.
    pub point: Option<PointRef>,
    /// A point in a `points` list whose role is not known (yet).
    pub entry: Option<usize>,
    /// A JSON key, or `x`/`y` of a point.
    pub field: Option<String>,
    /// Line in the JSON text (1-based), for syntax errors.
    pub line: Option<usize>,
    /// Column in the JSON text (1-based), for syntax errors.
    pub column: Option<usize>,
    /// Where a value that could not be decoded sits in the JSON, e.g.
    /// `files_data.img12.points[3].point[1]`.
    pub json_path: Option<String>,
}

impl Location {
    pub fn is_empty(&self) -> bool {
        *self == Location::default()
    }

    /// A location naming one image.
    pub fn image(id: &str, filename: Option<&str>) -> Self {
        Location {
            image_id: Some(id.to_owned()),
            filename: filename.map(str::to_owned),
            ..Location::default()
        }
    }

    /// A top-level field of the file.
    pub fn field(name: &str) -> Self {
        Location {
            field: Some(name.to_owned()),
            ..Location::default()
        }
    }

    #[must_use]
    pub fn with_field(mut self, name: &str) -> Self {
        self.field = Some(name.to_owned());
        self
    }

    #[must_use]
    pub fn with_point(mut self, point: PointRef) -> Self {
        self.point = Some(point);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        match (&self.filename, &self.image_id) {
            (Some(name), Some(id)) => {
                parts.push(format!("image {} (id {})", quoted(name), quoted(id)))
            }
            (Some(name), None) => parts.push(format!("image {}", quoted(name))),
            (None, Some(id)) => parts.push(format!("image id {}", quoted(id))),
            (None, None) => {}
        }
        if let Some(point) = &self.point {
            parts.push(point.to_string());
        } else if let Some(entry) = self.entry {
            parts.push(format!("points[{entry}]"));
        }
        if let Some(field) = &self.field {
            parts.push(format!("field {}", quoted(field)));
        }
        match (self.line, self.column) {
            (Some(line), Some(column)) => parts.push(format!("line {line}, column {column}")),
            (Some(line), None) => parts.push(format!("line {line}")),
            _ => {}
        }
        f.write_str(&parts.join(", "))
    }
}

/// `'text'`, with control characters and quotes escaped.
fn quoted(text: &str) -> String {
    format!("'{}'", text.escape_debug())
}

/// Bad input: what is wrong ([`FormatErrorKind`]) and where ([`Location`], boxed to keep
/// `Result`s small).
#[derive(Debug, Clone, PartialEq)]
pub struct FormatError {
    pub location: Box<Location>,
    pub kind: FormatErrorKind,
}

impl FormatError {
    pub fn new(location: Location, kind: FormatErrorKind) -> Self {
        Self {
            location: Box::new(location),
            kind,
        }
    }

    /// An error without a location.
    pub fn bare(kind: FormatErrorKind) -> Self {
        Self::new(Location::default(), kind)
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = self.location.to_string();
        if place.is_empty() {
            write!(f, "{}", self.kind)?;
        } else {
            write!(f, "{place}: {}", self.kind)?;
        }
        if let Some(path) = &self.location.json_path {
            write!(f, " (at {path})")?;
        }
        Ok(())
    }
}

impl std::error::Error for FormatError {}

/// Formats a number the way a user would type it: `NaN`, `infinity`, `-infinity`, `1.5`.
pub(crate) fn show_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v == f64::INFINITY {
        "infinity (or a number too large for a 64-bit float)".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-infinity (or a number too large for a 64-bit float)".to_owned()
    } else {
        format!("{v}")
    }
}

/// What is wrong with an input file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatErrorKind {
    /// The text is not JSON (the message comes from the JSON parser).
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// The JSON is neither a Python Strain Seer annotation file nor a Strain Seer project.
    #[error(
        "not a Strain Seer file: expected a Python Strain Seer annotation file (an object with \
         \"files_data\" and \"scale_length\") or a Strain Seer project (an object with \
         \"format\": \"strain-seer-project\")"
    )]
    UnknownFormat,
    /// `"format"` names something else.
    #[error("unknown format {0:?}, expected \"strain-seer-project\"")]
    WrongFormatTag(String),
    /// A project file version this build cannot read.
    #[error(
        "project file version {found} is not supported (this Strain Seer reads version {supported})"
    )]
    UnsupportedVersion { found: String, supported: u32 },
    /// A value has the wrong type or shape (the message comes from the JSON decoder).
    #[error("{0}")]
    Invalid(String),
    /// A required key is absent.
    #[error("missing required field {0:?}")]
    MissingField(&'static str),
    /// A number is NaN or infinite (or too large for a 64-bit float).
    #[error("{} is not a finite number", show_number(*.0))]
    NotFinite(f64),
    /// The scale length is zero or negative.
    #[error("the scale length must be greater than 0 mm, got {0} mm")]
    ScaleLengthNotPositive(f64),
    /// The point-placement uncertainty is negative.
    #[error("the point uncertainty must be 0 px or more, got {0} px")]
    SigmaNegative(f64),
    /// A detection confidence outside [0, 1].
    #[error("a confidence must be between 0 and 1, got {0}")]
    ConfidenceOutOfRange(f64),
    /// More points of one role than an image can have.
    #[error("{got} {role} points, at most {max} allowed")]
    TooManyPoints {
        role: PointRole,
        got: usize,
        max: usize,
    },
    /// The file says the image is complete, but its points or distance say otherwise.
    #[error(
        "marked Complete but has {fiducials} of 5 fiducial points and {scale} of 2 scale points{}",
        if *has_distance { "" } else { " and no deformation distance" }
    )]
    MarkedCompleteButNot {
        fiducials: usize,
        scale: usize,
        has_distance: bool,
    },
    /// The two scale points are the same point: mm per pixel is undefined.
    #[error("the two scale points coincide at {0}: the scale (mm per pixel) is undefined")]
    CoincidentScalePoints(Point),
    /// A point label that is neither Fiducial nor Scale.
    #[error(
        "unknown point label {label:?} (label_id {label_id:?}): expected \"Fiducial\" (label_id 0) \
         or \"Scale\" (label_id 1)"
    )]
    UnknownLabel {
        label: Option<String>,
        label_id: Option<i64>,
    },
    /// `label` and `label_id` contradict each other.
    #[error("label {label:?} does not match label_id {label_id}")]
    LabelMismatch { label: String, label_id: i64 },
    /// A saved ruler model that is not usable (not finite, or mm/px not positive along it).
    #[error(
        "the ruler model is not usable: its numbers must be finite, its direction a unit vector and its mm/px positive over the graduation"
    )]
    InvalidRulerModel,
    /// A calibration-target model that cannot be used.
    #[error(
        "the calibration-target model is not usable: its numbers must be finite, its covariance 8 × 8 or 9 × 9, its pitch positive and its map invertible"
    )]
    InvalidTargetModel,
    /// A calibration-target pitch that is not a positive length up to 100 mm.
    #[error("the calibration target's pitch must be more than 0 and at most 100 mm, got {0}")]
    InvalidTargetPitch(f64),
    /// A cross-section area that is not a positive area up to 1 m².
    #[error("the cross-section area must be more than 0 and at most 1000000 mm², got {0}")]
    InvalidArea(f64),
    /// A focal length outside the accepted range.
    #[error("the 35 mm-equivalent focal length must be between 8 and 2000 mm, got {0} mm")]
    FocalLengthOutOfRange(f64),
    /// A point is not `[x, y]`.
    #[error("a point must be [x, y], got {0} numbers")]
    PointArity(usize),
    /// `order` is not a whole number.
    #[error("the order must be a whole number, got {0}")]
    OrderNotInteger(f64),
    /// Two images share an id.
    #[error("the image id {0:?} is used twice")]
    DuplicateId(String),
    /// Two images share a filename (the filename names the reference image and the table rows).
    #[error("the filename {filename:?} is used by two images (ids {first_id:?} and {second_id:?})")]
    DuplicateFilename {
        filename: String,
        first_id: String,
        second_id: String,
    },
    /// An empty id or filename.
    #[error("must not be empty")]
    Empty,
    /// The reference image is not one of the images.
    #[error("the reference image {0:?} is not one of the project's images")]
    UnknownReference(String),
    /// A unit other than the one Strain Seer uses.
    #[error("unit {found:?} is not supported, expected {expected:?}")]
    UnsupportedUnit {
        expected: &'static str,
        found: String,
    },
}

/// A failure to produce an output file (never bad input).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing a CSV record failed.
    #[error("writing CSV line {line}: {message}")]
    Csv { line: usize, message: String },
    /// The analysis has no regression for the component to plot.
    #[error("no regression for {0} in the analysis: cannot plot it")]
    NoRegression(String),
    /// The plot size is outside the supported range.
    #[error("plot size {width}×{height} px is outside {min}–{max} px per side")]
    PlotSize {
        width: u32,
        height: u32,
        min: u32,
        max: u32,
    },
    /// The embedded font could not be loaded.
    #[error("the embedded plot font could not be loaded")]
    Font,
    /// Drawing failed.
    #[error("drawing the {component} plot: {message}")]
    Plot { component: String, message: String },
    /// Encoding the PNG failed.
    #[error("encoding the {component} plot as PNG: {message}")]
    Png { component: String, message: String },
}
