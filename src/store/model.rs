//! The data the store holds and hands out: projects, images, their points' provenance, and the
//! patches and new records callers pass in. Plain data: no queries, no validation (that is
//! [`super::validate`]).

use super::blobs::{ImageInfo, TempFile};
use crate::engine::{ImageStatus, Point, RulerModel, ScaleMethod, TargetModel};
use serde::{Deserialize, Serialize};

/// Default real distance between the scale points, mm.
pub const DEFAULT_SCALE_LENGTH: f64 = 10.0;
/// Default point-placement uncertainty, px.
pub const DEFAULT_SIGMA_PX: f64 = 1.0;

/// Where a point came from (`"manual"` or `"auto"`), as in the project file format.
pub use crate::formats::PointSource;

/// Provenance of one point, parallel to the point lists.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointMeta {
    #[serde(default)]
    pub source: PointSource,
    /// Detection confidence from 0 to 1; `null` for manual points.
    #[serde(default)]
    pub confidence: Option<f64>,
}

/// How many images of a project have each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCounts {
    #[serde(rename = "Complete")]
    pub complete: u64,
    #[serde(rename = "Incomplete")]
    pub incomplete: u64,
    #[serde(rename = "Missing Distance")]
    pub missing_distance: u64,
    #[serde(rename = "Missing")]
    pub missing: u64,
}

impl StatusCounts {
    pub(super) fn add(&mut self, status: ImageStatus, n: u64) {
        match status {
            ImageStatus::Complete => self.complete += n,
            ImageStatus::Incomplete => self.incomplete += n,
            ImageStatus::MissingDistance => self.missing_distance += n,
            ImageStatus::Missing => self.missing += n,
        }
    }
}

/// A project with its image counts (no images). Times are unix seconds (UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub scale_length: f64,
    pub reference_image: Option<i64>,
    pub sigma_px: f64,
    /// How pixels become mm; `None` = chosen from the annotations (ruler + perspective when every
    /// complete image has a detected ruler, else the span of the scale points).
    pub scale_method: Option<ScaleMethod>,
    /// 35 mm-equivalent focal length for the perspective correction, mm; `None` = the default.
    pub focal_35mm: Option<f64>,
    /// Pitch of the dot-grid calibration target in the photos, mm; `None` = no target.
    pub target_pitch_mm: Option<f64>,
    /// The specimen's cross-section area, mm²: engineering stress = force / area. `None` = not
    /// entered.
    pub area_mm2: Option<f64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub image_count: u64,
    pub complete_count: u64,
    pub status_counts: StatusCounts,
}

/// One image of a project and its annotation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRecord {
    pub id: i64,
    pub project_id: i64,
    /// As uploaded (cleaned), for display only.
    pub filename: String,
    /// 0-based position in the project; contiguous.
    pub order: i64,
    pub width: u32,
    pub height: u32,
    pub sha256: String,
    pub content_type: String,
    pub status: ImageStatus,
    pub fiducials: Vec<Point>,
    pub scale: Vec<Point>,
    pub fiducial_meta: Vec<PointMeta>,
    pub scale_meta: Vec<PointMeta>,
    pub deformation_distance: Option<f64>,
    /// The distance the file name carries ([`distance_from_filename`](super::distance_from_filename)), so that the UI can say
    /// where the distance came from without a second parser.
    pub distance_from_filename: Option<f64>,
    /// The ruler model of the last ruler detection; dropped when the scale points are moved by
    /// hand.
    pub ruler: Option<RulerModel>,
    /// The calibration target's model of the last target detection (or given from a
    /// calibration photo).
    pub target: Option<TargetModel>,
    /// The 35 mm-equivalent focal length from the file's EXIF, mm.
    pub focal_35mm: Option<f64>,
    /// Excluded from the fits by the user, with the reason (possibly empty); `None` = fitted.
    pub excluded: Option<String>,
    /// A film's frame: its presentation time in the film, s.
    pub time_s: Option<f64>,
    /// The test machine's force at the frame's time, from its log, N.
    pub force_n: Option<f64>,
}

/// What the analysis needs of an image: its points and distance, nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePoints {
    pub id: i64,
    pub filename: String,
    pub order: i64,
    pub status: ImageStatus,
    pub fiducials: Vec<Point>,
    pub scale: Vec<Point>,
    pub deformation_distance: Option<f64>,
    pub ruler: Option<RulerModel>,
    pub target: Option<TargetModel>,
    pub width: u32,
    pub height: u32,
    pub focal_35mm: Option<f64>,
    pub excluded: Option<String>,
    /// A film's frame: its presentation time in the film, s.
    pub time_s: Option<f64>,
    /// The test machine's force at the frame's time, from its log, N.
    pub force_n: Option<f64>,
}

/// Changes to a project; `None` leaves a field as it is. Also the body of
/// `PATCH /api/projects/{id}` as it is: an absent field is `None`, `null` is `Some(None)`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub scale_length: Option<f64>,
    /// `Some(None)` clears the choice (back to the automatic reference).
    #[serde(default, deserialize_with = "double_option")]
    pub reference_image: Option<Option<i64>>,
    #[serde(default)]
    pub sigma_px: Option<f64>,
    /// `Some(None)` = back to the automatic choice.
    #[serde(default, deserialize_with = "double_option")]
    pub scale_method: Option<Option<ScaleMethod>>,
    /// `Some(None)` = back to the default.
    #[serde(default, deserialize_with = "double_option")]
    pub focal_35mm: Option<Option<f64>>,
    /// `Some(None)` = no calibration target.
    #[serde(default, deserialize_with = "double_option")]
    pub target_pitch_mm: Option<Option<f64>>,
    /// `Some(None)` = no cross-section area (no stress).
    #[serde(default, deserialize_with = "double_option")]
    pub area_mm2: Option<Option<f64>>,
}

/// Deserialize a field that may be absent (outer `None`, with `#[serde(default)]`), `null`
/// (`Some(None)`) or a value (`Some(Some(v))`).
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// Changes to an image; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImagePatch {
    /// The full new list (0–5 points); an empty list clears.
    pub fiducials: Option<Vec<Point>>,
    /// The full new list (0–2 points); an empty list clears.
    pub scale: Option<Vec<Point>>,
    pub fiducial_meta: Option<Vec<PointMeta>>,
    pub scale_meta: Option<Vec<PointMeta>>,
    /// `Some(None)` clears the distance.
    pub deformation_distance: Option<Option<f64>>,
    /// New 0-based position; the other images move to keep the order contiguous.
    pub order: Option<i64>,
    /// `Some(model)` with detected scale points. Without it, scale points that change drop the
    /// stored model: points moved by hand no longer show it.
    pub ruler: Option<Option<RulerModel>>,
    /// `Some(None)` drops the target model; it does not depend on the points and stays when
    /// they move.
    pub target: Option<Option<TargetModel>>,
    /// `Some(Some(reason))` excludes the image from the fits, `Some(None)` includes it again.
    pub excluded: Option<Option<String>>,
}

/// Points, provenance and distance of an image being created (upload or import).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotation {
    pub fiducials: Vec<Point>,
    pub scale: Vec<Point>,
    /// Empty = every point manual.
    pub fiducial_meta: Vec<PointMeta>,
    pub scale_meta: Vec<PointMeta>,
    pub deformation_distance: Option<f64>,
    pub ruler: Option<RulerModel>,
    pub target: Option<TargetModel>,
    /// Excluded from the fits, with the reason.
    pub excluded: Option<String>,
    /// A film's frame: its presentation time in the film, s.
    pub time_s: Option<f64>,
    /// The test machine's force at the frame's time, from its log, N.
    pub force_n: Option<f64>,
}

/// An image file checked and ready to be stored (see [`Store::stage_image`](super::Store::stage_image)).
#[derive(Debug)]
pub struct StagedImage {
    pub info: ImageInfo,
    /// The bytes written to `tmp/`; `None` when the file was already stored.
    pub(super) temp: Option<TempFile>,
}

/// One image to add: which staged file, its display name and annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImage {
    /// Index into the staged files passed alongside.
    pub staged: usize,
    pub filename: String,
    pub annotation: Annotation,
}

/// Settings of a project being created by an import.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    pub name: String,
    pub scale_length: f64,
    pub sigma_px: f64,
    /// Index into the new images of the chosen reference.
    pub reference: Option<usize>,
    pub scale_method: Option<ScaleMethod>,
    pub focal_35mm: Option<f64>,
    pub target_pitch_mm: Option<f64>,
    pub area_mm2: Option<f64>,
}
