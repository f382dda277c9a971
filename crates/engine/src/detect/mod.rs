//! Automatic detection of the five fiducial markers and of the ruler scale in a photo.
//!
//! Everything here works on an image already decoded in memory (any [`AsLuma`] type:
//! [`image::DynamicImage`], [`image::GrayImage`], [`image::RgbImage`], [`image::RgbaImage`]);
//! there is no file I/O. Pixel coordinates follow docs/strain.md §1: origin at the top-left of the image as
//! stored (after EXIF orientation), x right, y down, pixel centres at integer coordinates.
//!
//! # Entry points
//!
//! | function | does |
//! |---|---|
//! | [`detect_markers`] | finds the 5-marker pattern (4 corners around a centre) and labels it 0 TL, 1 TR, 2 BR, 3 BL, 4 centre |
//! | [`track_markers`] | finds the markers near where they were in the previous photo, keeping the labels |
//! | [`detect_sequence`] | both, for a photo sequence: detection in parallel, tracking where detection fails, labels made consistent |
//! | [`detect_ruler`] | finds a millimetre ruler and returns two scale points a whole number of mm apart |
//! | [`snap_to_marker`] | moves a hand-placed point to the centre of the marker under it |
//!
//! A web handler with a decoded `DynamicImage` calls them directly:
//!
//! ```no_run
//! use strain_seer_engine::detect::{self, MarkerOptions, RulerOptions};
//! # fn handler(img: image::DynamicImage) -> Result<(), detect::DetectError> {
//! let found = detect::detect_markers(&img, &MarkerOptions::default())?;
//! let ruler = detect::detect_ruler(
//!     &img,
//!     &RulerOptions { span_mm: Some(40), near_markers: Some(found.fiducials), ..RulerOptions::default() },
//! )?;
//! println!("{:?} {:?} {:.5} mm/px", found.fiducials, ruler.scale_points, ruler.mm_per_px);
//! # Ok(()) }
//! ```
//!
//! # Method (details in `docs/detection.md`)
//!
//! Markers: the luma of the photo is box-downscaled (integer factor) so that its long side is at
//! most [`MarkerOptions::working_max_side`]. Pixels darker than their local mean by a relative
//! margin are thresholded at three levels (an MSER-like sweep, so a marker touching a shadow or a
//! contact line separates from it at a stricter level), opened with a 3 × 3 square (cuts thin
//! lines) and grouped into 8-connected components. A component is a candidate when its size,
//! second-moment ellipse (axis ratio, fill ratio), contrast, distance from the border and
//! isolation (few dark pixels in a ring around it) fit a marker. Among the candidates, every pair
//! whose midpoint lies near a third candidate is a diagonal; two crossing diagonals around the
//! same centre form a pattern, scored by how close the centre is to both midpoints, how similar
//! the five major axes are, how marker-like the blobs are, and how little other dark area lies
//! inside the quadrilateral (a pattern made of ruler digits and ticks has much). Corners are
//! labelled by their direction from the centre (TL up-left, …). The best pattern must beat every
//! clearly different one by [`MarkerOptions::ambiguity_ratio`], otherwise the result is
//! [`DetectError::AmbiguousPattern`]. Each chosen blob is refined at full resolution: local
//! mid-level threshold, a morphological opening, the component nearest the coarse centre dilated
//! by 2 px, and the coverage-weighted centroid over it (unbiased for anti-aliased and blurred
//! ellipses).
//!
//! Ruler: thin elongated dark components (ticks) are found at full resolution (up to
//! [`RulerOptions::working_max_side`]); a directional opening along the dominant tick direction
//! cuts the dark edge line that joins ticks into combs; ticks whose ends line up along a ruler
//! edge form a graduation column; the tick-position train's period (autocorrelation by FFT,
//! refined to sub-pixel) and a walk with a locally updated period give every tick an integer
//! index; the tick lengths' periodic pattern tells half-millimetre from millimetre graduations
//! and finds the centimetre lines; each tick is carried along its own (perspective-tilted)
//! direction to the line where the scale is read, and the two scale points are placed on
//! centimetre lines by local linear fits of position against index, exactly a whole number of
//! millimetres apart and centred on the markers' height when they are given.

mod blobs;
mod canvas;
mod pattern;
mod plane;
mod ruler;
pub mod scene;
pub mod synth;
mod target;
mod track;

#[cfg(test)]
mod tests;

use crate::points::{FIDUCIAL_NAMES, Fiducials, Point};
use serde::Serialize;

pub use plane::{AsLuma, LumaView};
pub use ruler::{Graduation, RulerDetection, RulerOptions, RulerSpan, detect_ruler};
pub use target::{TargetDetectError, TargetDetection, TargetOptions, detect_target};
pub use track::{SequenceOptions, TrackOptions, detect_sequence, track_markers};

/// Whether markers are darker or brighter than the specimen around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkerPolarity {
    /// Dark dots on a lighter specimen (ink on plasticine): the default.
    #[default]
    Dark,
    /// Bright dots on a darker specimen.
    Bright,
}

/// Options of [`detect_markers`]. `Default` suits dots of roughly 1–15 % of the image's short
/// side on a specimen that fills a reasonable part of the frame.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MarkerOptions {
    pub polarity: MarkerPolarity,
    /// Smallest marker size (major axis, full-resolution px). `None`: 0.8 % of the short side,
    /// at least 6 px.
    pub min_diameter_px: Option<f64>,
    /// Largest marker size (major axis, px). `None`: 15 % of the short side.
    pub max_diameter_px: Option<f64>,
    /// Largest ratio of major to minor axis of a marker (a squashed dot is an ellipse). Default 5.
    pub max_axis_ratio: f64,
    /// Smallest mean contrast of a marker against its surroundings, (background − marker) /
    /// background, in 0..1. Default 0.35.
    pub min_contrast: f64,
    /// Smallest area / (area of the moment ellipse), in 0..1: rejects rings, glyphs, combs.
    /// Default 0.7.
    pub min_fill: f64,
    /// Largest distance of the centre marker from the midpoint of each diagonal, as a fraction of
    /// that diagonal's length. Default 0.3 (barrelling moves the centre dot by up to ~0.16).
    pub max_centre_offset: f64,
    /// Patterns scoring below this (0..1) are not plausible. Default 0.05.
    pub min_pattern_score: f64,
    /// A clearly different pattern (one of whose markers is more than two marker sizes from the
    /// best pattern's marker of the same label) scoring at least this fraction of the best makes
    /// the result ambiguous. Default 0.75.
    pub ambiguity_ratio: f64,
    /// The coarse search runs on a copy box-downscaled by an integer factor so that its long side
    /// is at most this many pixels; centres are refined at full resolution. Default 800; 64 to
    /// 4096.
    pub working_max_side: u32,
    /// Image quadrilaterals (px) where no marker is looked for: a calibration target's card
    /// ([`TargetDetection::outline`]), whose dots would otherwise make marker-like patterns.
    pub exclude: Vec<[Point; 4]>,
}

impl Default for MarkerOptions {
    fn default() -> Self {
        Self {
            polarity: MarkerPolarity::Dark,
            min_diameter_px: None,
            max_diameter_px: None,
            max_axis_ratio: 5.0,
            min_contrast: 0.35,
            min_fill: 0.7,
            max_centre_offset: 0.3,
            min_pattern_score: 0.05,
            ambiguity_ratio: 0.75,
            working_max_side: 800,
            exclude: Vec::new(),
        }
    }
}

impl MarkerOptions {
    /// Whether `p` lies in one of the [`MarkerOptions::exclude`] regions.
    pub(crate) fn excludes(&self, p: Point) -> bool {
        self.exclude.iter().any(|q| inside_quad(q, p))
    }

    fn validate(&self) -> Result<(), DetectError> {
        let bad = |name: &'static str, reason: &str| {
            Err(DetectError::InvalidOption {
                name,
                reason: reason.to_string(),
            })
        };
        let positive = |v: Option<f64>| v.is_none_or(|d| d.is_finite() && d > 0.0);
        if !positive(self.min_diameter_px) || !positive(self.max_diameter_px) {
            return bad("diameter", "marker diameters must be positive numbers");
        }
        if let (Some(lo), Some(hi)) = (self.min_diameter_px, self.max_diameter_px)
            && lo > hi
        {
            return bad("diameter", "min_diameter_px is larger than max_diameter_px");
        }
        if !(self.max_axis_ratio.is_finite() && self.max_axis_ratio >= 1.0) {
            return bad("max_axis_ratio", "must be at least 1");
        }
        for (name, v) in [
            ("min_contrast", self.min_contrast),
            ("min_fill", self.min_fill),
            ("max_centre_offset", self.max_centre_offset),
            ("min_pattern_score", self.min_pattern_score),
            ("ambiguity_ratio", self.ambiguity_ratio),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return bad(name, "must be between 0 and 1");
            }
        }
        if !(64..=4096).contains(&self.working_max_side) {
            return bad("working_max_side", "must be between 64 and 4096");
        }
        Ok(())
    }
}

/// How a marker result was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionMethod {
    /// Found by searching the whole image for the pattern.
    Detected,
    /// Found near the previous photo's markers.
    Tracked,
}

/// One found marker.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct DetectedMarker {
    /// Sub-pixel centre.
    pub point: Point,
    /// 0..1: how marker-like the blob is (contrast, ellipse fill) times how well it fits the
    /// pattern. Below ~0.5 deserves a look.
    pub confidence: f64,
    /// Full axes of the blob's moment ellipse (px) and the major axis direction (degrees,
    /// measured from +x towards +y).
    pub major_px: f64,
    pub minor_px: f64,
    pub angle_deg: f64,
    /// (background − marker) / background.
    pub contrast: f64,
}

/// A blob that passed the marker filters (diagnostics).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candidate {
    pub point: Point,
    pub major_px: f64,
    pub minor_px: f64,
    /// 0..1 marker-likeness.
    pub score: f64,
}

/// What the detector looked at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostics {
    /// Downscale factor of the coarse search (full-resolution px per working px).
    pub working_scale: u32,
    /// Connected dark components in the searched area.
    pub components: usize,
    /// Components that passed the marker filters, best first (at most 40 are used).
    pub candidates: Vec<Candidate>,
    /// Candidate patterns (4 corners around a centre) scored.
    pub patterns_considered: usize,
    /// Score of the best clearly different pattern (a marker more than two marker sizes away),
    /// among those scoring at least half the chosen one (weaker ones are pruned unscored).
    pub runner_up_score: Option<f64>,
}

/// The five labelled markers of one photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkerDetection {
    /// Centres in the order 0 TL, 1 TR, 2 BR, 3 BL, 4 centre.
    pub fiducials: Fiducials,
    /// Per-marker details, same order.
    pub markers: [DetectedMarker; 5],
    /// 0..1 plausibility of the pattern as a whole.
    pub pattern_score: f64,
    pub method: DetectionMethod,
    pub diagnostics: Diagnostics,
}

impl MarkerDetection {
    /// Confidence of each marker, in label order.
    pub fn confidences(&self) -> [f64; 5] {
        self.markers.map(|m| m.confidence)
    }

    /// The lowest marker confidence.
    pub fn min_confidence(&self) -> f64 {
        self.markers
            .iter()
            .map(|m| m.confidence)
            .fold(1.0, f64::min)
    }
}

/// Why detection gave no answer. Detection never guesses: when the image does not show exactly
/// one plausible pattern it says which way it failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DetectError {
    #[error("image is too small for detection ({width}×{height} px; need at least {min}×{min})")]
    ImageTooSmall { width: u32, height: u32, min: u32 },
    #[error("invalid detection option {name}: {reason}")]
    InvalidOption { name: &'static str, reason: String },
    #[error("found {found} marker-like blob(s); a pattern needs 5")]
    TooFewCandidates { found: usize },
    #[error(
        "no 5-marker pattern (4 corner markers around a centre marker) among {candidates} marker-like blobs"
    )]
    NoPattern { candidates: usize },
    #[error(
        "two different 5-marker patterns fit almost equally well (scores {best:.2} and {runner_up:.2}); place the points by hand or crop the photo"
    )]
    AmbiguousPattern { best: f64, runner_up: f64 },
    #[error("lost marker {index} ({name}) near {predicted}", name = FIDUCIAL_NAMES[*index])]
    MarkerLost { index: usize, predicted: Point },
    #[error("no ruler graduation found: {reason}")]
    NoRuler { reason: String },
    #[error(
        "the ruler graduation found offers at most {available_mm} mm between two lines with ticks on both sides, less than the {requested_mm} mm asked for"
    )]
    RulerTooShort {
        requested_mm: u32,
        available_mm: u32,
    },
}

/// The minimum image side (px) detection accepts.
pub const MIN_IMAGE_SIDE: u32 = 32;

fn check_size(w: u32, h: u32) -> Result<(), DetectError> {
    if w < MIN_IMAGE_SIDE || h < MIN_IMAGE_SIDE {
        return Err(DetectError::ImageTooSmall {
            width: w,
            height: h,
            min: MIN_IMAGE_SIDE,
        });
    }
    Ok(())
}

/// Whether `p` is inside the convex or concave (simple) quadrilateral `q` (even–odd rule).
fn inside_quad(q: &[Point; 4], p: Point) -> bool {
    let mut inside = false;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x) {
            inside = !inside;
        }
    }
    inside
}

/// The image's pixels, read so that markers are dark.
fn marker_source<I: AsLuma + ?Sized>(
    image: &I,
    polarity: MarkerPolarity,
) -> Result<plane::LumaView<'_>, DetectError> {
    let mut p = image.luma_view();
    let (w, h) = p.dimensions();
    check_size(w, h)?;
    p.invert = polarity == MarkerPolarity::Bright;
    Ok(p)
}

/// Find the five fiducial markers in one photo and label them (0 TL, 1 TR, 2 BR, 3 BL,
/// 4 centre).
///
/// # Errors
///
/// [`DetectError::TooFewCandidates`] / [`DetectError::NoPattern`] when no plausible pattern is
/// found, [`DetectError::AmbiguousPattern`] when two clearly different ones fit about equally,
/// [`DetectError::ImageTooSmall`], [`DetectError::InvalidOption`]. Never panics.
pub fn detect_markers<I: AsLuma + ?Sized>(
    image: &I,
    opts: &MarkerOptions,
) -> Result<MarkerDetection, DetectError> {
    opts.validate()?;
    let p = marker_source(image, opts.polarity)?;
    detect_in_source(&p, opts)
}

fn detect_in_source(
    p: &plane::LumaView<'_>,
    opts: &MarkerOptions,
) -> Result<MarkerDetection, DetectError> {
    let found = blobs::find_candidates(p, opts, None, opts.min_contrast);
    let choice = pattern::choose(p, &found, opts, &pattern::Labeler::ByAngle)?;
    pattern::finish(p, &found, &choice, DetectionMethod::Detected)
}

/// Move a hand-placed point to the centre of the dark marker under or near it.
///
/// Looks within `radius` px of `point`; returns the refined centre and a 0..1 confidence, or
/// `None` when there is no marker-like blob there. Dark markers; see [`snap_to_marker_with`].
pub fn snap_to_marker<I: AsLuma + ?Sized>(
    image: &I,
    point: Point,
    radius: f64,
) -> Option<(Point, f64)> {
    snap_to_marker_with(image, point, radius, MarkerPolarity::Dark)
}

/// [`snap_to_marker`] for markers of the given polarity.
pub fn snap_to_marker_with<I: AsLuma + ?Sized>(
    image: &I,
    point: Point,
    radius: f64,
    polarity: MarkerPolarity,
) -> Option<(Point, f64)> {
    if !point.is_finite() || !radius.is_finite() || radius < 2.0 {
        return None;
    }
    let p = marker_source(image, polarity).ok()?;
    let r = blobs::snap(&p, point, radius)?;
    Some((r.point, r.quality))
}
