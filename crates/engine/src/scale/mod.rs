//! From pixels to millimetres: the scale methods.
//!
//! | method | px → mm | needs |
//! |---|---|---|
//! | [`ScaleMethod::Span`] | one mm/px per photo, `L/|s₁ − s₀|`, from two scale points the scale length apart (the Python tool's rule) | 2 scale points + the scale length |
//! | [`ScaleMethod::Ruler`] | one mm/px per photo, read from the [ruler model](ruler) where the markers are (their mean position along the ruler) | a ruler model |
//! | [`ScaleMethod::Rectified`] | a plane [rectification](rectify) from the ruler model (its graduation lines' positions and, when measured, their directions) and the focal length: perspective undone | a ruler model + the image size and focal length |
//! | [`ScaleMethod::Target`] | the homography (and radial distortion) of a [calibration target](target), a printed dot grid of known pitch in the specimen plane: perspective and distortion undone, no camera model needed | a target model |
//!
//! The span scale depends on which span of the ruler the user (or the detector) picked: under
//! perspective mm/px changes along the ruler, by 10–16 % on the demo photos. The ruler model
//! reads the scale at the markers from every graduation line seen, so it does not; the
//! rectification also removes the perspective over the marker pattern itself.
//!
//! [`ImageScale`] is one photo's scale under a method; the analysis maps the markers through it
//! and perturbs it (ruler-model coefficients, focal length) for the uncertainty budget.

pub mod rectify;
pub mod ruler;
pub mod target;
pub mod trials;

use crate::points::{Fiducials, Point, ScalePoints};
pub use rectify::{
    AboutRuler, Camera, DEFAULT_FOCAL_35MM, FOCAL_35MM_RANGE, FULL_FRAME_DIAGONAL_MM,
    Rectification, RectifyError, TurnAboutRuler, focal_px_from_35mm,
};
pub use ruler::{RulerModel, RulerModelError, TickDirections};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
pub use target::{GridDot, MIN_TARGET_DOTS, TargetError, TargetModel, TargetParams};

/// How pixels become millimetres (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleMethod {
    /// Two scale points the scale length apart: the Python tool's rule.
    #[default]
    Span,
    /// The ruler model's local scale at the markers.
    Ruler,
    /// Plane rectification from the ruler model and the focal length.
    Rectified,
    /// The homography of a calibration target in the specimen plane.
    Target,
}

impl ScaleMethod {
    pub const ALL: [ScaleMethod; 4] = [
        ScaleMethod::Span,
        ScaleMethod::Ruler,
        ScaleMethod::Rectified,
        ScaleMethod::Target,
    ];

    /// Stable key used in files, the API and the CLI.
    pub fn key(self) -> &'static str {
        match self {
            ScaleMethod::Span => "span",
            ScaleMethod::Ruler => "ruler",
            ScaleMethod::Rectified => "rectified",
            ScaleMethod::Target => "target",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            ScaleMethod::Span => "Scale points (span)",
            ScaleMethod::Ruler => "Ruler model at the markers",
            ScaleMethod::Rectified => "Ruler + perspective correction",
            ScaleMethod::Target => "Calibration target",
        }
    }

    /// Whether the method reads the ruler model rather than the two scale points.
    pub fn needs_ruler_model(self) -> bool {
        matches!(self, ScaleMethod::Ruler | ScaleMethod::Rectified)
    }
}

impl fmt::Display for ScaleMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// An unknown scale method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scale method '{0}' (expected span, ruler, rectified or target)")]
pub struct UnknownScaleMethod(pub String);

impl FromStr for ScaleMethod {
    type Err = UnknownScaleMethod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        ScaleMethod::ALL
            .into_iter()
            .find(|m| m.key() == t)
            .ok_or_else(|| UnknownScaleMethod(s.to_owned()))
    }
}

/// Why an image's markers could not be put in mm.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ScaleError {
    #[error(
        "the {0} scale needs a ruler model, and this image has none (its scale points were placed by hand, or its ruler was not detected): detect its ruler or use the span scale"
    )]
    NoRulerModel(ScaleMethod),
    #[error(
        "the ruler model is not usable (not finite, or mm/px not positive along the graduation)"
    )]
    InvalidRulerModel,
    #[error("perspective correction needs the image size")]
    NoImageSize,
    #[error("the 35 mm-equivalent focal length must be between 8 and 2000 mm, got {0}")]
    InvalidFocalLength(f64),
    #[error("perspective correction: {0}")]
    Rectify(RectifyError),
    #[error(
        "marker {0} lies beyond the horizon of the plane the ruler implies: the ruler model is wrong for this photo"
    )]
    BeyondHorizon(usize),
    #[error(
        "the target scale needs a calibration-target model, and this image has none: detect the target in it (or give it the model of a calibration photo from the same camera position), or use another scale method"
    )]
    NoTargetModel,
    #[error("the calibration-target model is not usable (not finite, or its map not invertible)")]
    InvalidTargetModel,
    #[error(
        "marker {0} lies beyond the horizon of the plane the calibration target implies: the target model is wrong for this photo"
    )]
    BeyondTargetHorizon(usize),
}

/// One photo's scale under a method, ready to map its markers.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageScale {
    method: ScaleMethod,
    /// Span: scale points and scale length.
    span: Option<(ScalePoints, f64)>,
    ruler: Option<RulerModel>,
    target: Option<TargetModel>,
    camera: Option<Camera>,
    /// Relative standard uncertainty of the focal length.
    focal_rel_sigma: f64,
}

/// Where a photo's focal length came from, which sets its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FocalSource {
    /// Given by the user for the project.
    User,
    /// Read from the photo's EXIF.
    Exif,
    /// [`DEFAULT_FOCAL_35MM`]: nothing better known.
    Default,
}

impl FocalSource {
    /// Relative standard uncertainty assumed for a focal length from this source: 5 % for a
    /// stated one (EXIF rounds, zoom lenses breathe), 25 % for the default (phones span 24–28 mm
    /// equivalent, compact cameras and zooms much more).
    pub fn relative_sigma(self) -> f64 {
        match self {
            FocalSource::User | FocalSource::Exif => 0.05,
            FocalSource::Default => 0.25,
        }
    }
}

impl ImageScale {
    /// The scale of one photo. `span` = its two scale points (if any) and the project's scale
    /// length; `size` = its width and height in px; `focal_35mm` with where it came from.
    pub fn new(
        method: ScaleMethod,
        span: Option<(ScalePoints, f64)>,
        ruler: Option<RulerModel>,
        target: Option<TargetModel>,
        size: Option<[u32; 2]>,
        focal_35mm: (f64, FocalSource),
    ) -> Result<ImageScale, ScaleError> {
        if method.needs_ruler_model() {
            match ruler {
                None => return Err(ScaleError::NoRulerModel(method)),
                Some(r) if !r.is_valid() => return Err(ScaleError::InvalidRulerModel),
                Some(_) => {}
            }
        }
        if method == ScaleMethod::Target {
            match &target {
                None => return Err(ScaleError::NoTargetModel),
                Some(t) if !t.is_valid() => return Err(ScaleError::InvalidTargetModel),
                Some(_) => {}
            }
        }
        let (f35, source) = focal_35mm;
        if !FOCAL_35MM_RANGE.contains(&f35) {
            return Err(ScaleError::InvalidFocalLength(f35));
        }
        let camera = size.map(|[width, height]| Camera {
            width,
            height,
            focal_px: focal_px_from_35mm(f35, width, height),
        });
        if method == ScaleMethod::Rectified && camera.is_none() {
            return Err(ScaleError::NoImageSize);
        }
        Ok(ImageScale {
            method,
            span,
            ruler: ruler.filter(RulerModel::is_valid),
            target: target.filter(TargetModel::is_valid),
            camera,
            focal_rel_sigma: source.relative_sigma(),
        })
    }

    pub fn method(&self) -> ScaleMethod {
        self.method
    }

    pub fn ruler(&self) -> Option<&RulerModel> {
        self.ruler.as_ref()
    }

    pub fn target(&self) -> Option<&TargetModel> {
        self.target.as_ref()
    }

    /// Scale points and length, when the method is the span.
    pub(crate) fn span(&self) -> Option<(ScalePoints, f64)> {
        self.span
    }

    pub(crate) fn focal_rel_sigma(&self) -> f64 {
        self.focal_rel_sigma
    }

    /// Whether the photo could also be mapped by `method` (for comparisons in the budget).
    pub(crate) fn supports(&self, method: ScaleMethod) -> bool {
        match method {
            ScaleMethod::Span => self.span.is_some(),
            ScaleMethod::Ruler => self.ruler.is_some(),
            ScaleMethod::Rectified => self.ruler.is_some() && self.camera.is_some(),
            ScaleMethod::Target => self.target.is_some(),
        }
    }

    /// The markers in mm under the photo's method.
    pub fn to_mm(&self, markers: &Fiducials) -> Result<[Point; 5], ScaleError> {
        self.map(markers, &Variant::default())
    }

    /// The markers in mm under a variant of the scale (another method, perturbed ruler
    /// coefficients, a scaled focal length).
    pub(crate) fn map(&self, markers: &Fiducials, v: &Variant) -> Result<[Point; 5], ScaleError> {
        let method = v.method.unwrap_or(self.method);
        let ruler = || -> Result<RulerModel, ScaleError> {
            let r = self.ruler.ok_or(ScaleError::NoRulerModel(method))?;
            let r = v.coef.map_or(r, |c| r.with_coef(c));
            Ok(v.tick_tan.map_or(r, |t| r.with_tick_tan(t)))
        };
        match method {
            ScaleMethod::Span => {
                let (points, length) = self.span.ok_or(ScaleError::NoRulerModel(method))?;
                let c = length / points.length_px();
                let s0 = points.points()[0];
                Ok(markers
                    .points()
                    .map(|p| Point::new((p.x - s0.x) * c, (p.y - s0.y) * c)))
            }
            ScaleMethod::Ruler => {
                let (_, c) = ruler()?.scale_at_markers(markers);
                if !(c > 0.0 && c.is_finite()) {
                    return Err(ScaleError::InvalidRulerModel);
                }
                Ok(markers.points().map(|p| Point::new(p.x * c, p.y * c)))
            }
            ScaleMethod::Rectified => {
                let mut camera = self.camera.ok_or(ScaleError::NoImageSize)?;
                camera.focal_px *= v.focal_factor;
                let rect = Rectification::from_ruler_with(&ruler()?, &camera, v.about_ruler)
                    .map_err(ScaleError::Rectify)?;
                let mut out = [Point::default(); 5];
                for (i, p) in markers.points().iter().enumerate() {
                    out[i] = rect.to_plane(*p).ok_or(ScaleError::BeyondHorizon(i))?;
                }
                Ok(out)
            }
            ScaleMethod::Target => {
                let t = self.target.as_ref().ok_or(ScaleError::NoTargetModel)?;
                let perturbed;
                let t = match &v.target_params {
                    Some(p) => {
                        perturbed = t.with_params(p);
                        &perturbed
                    }
                    None => t,
                };
                let mm = t
                    .to_plane(markers.points())
                    .map_err(ScaleError::BeyondTargetHorizon)?;
                let mut out = [Point::default(); 5];
                out.copy_from_slice(&mm);
                Ok(out)
            }
        }
    }

    /// Local mm/px at the markers under the photo's method: the uniform scale, or for a
    /// rectification the square root of the map's area ratio at the centre marker.
    pub fn mm_per_px(&self, markers: &Fiducials, mm: &[Point; 5]) -> f64 {
        match self.method {
            ScaleMethod::Span | ScaleMethod::Ruler => {
                // Uniform: any distance between two markers gives it.
                let p = markers.points();
                let (a, b) = (p[0], p[2]);
                mm[0].distance(mm[2]) / a.distance(b).max(f64::MIN_POSITIVE)
            }
            ScaleMethod::Rectified | ScaleMethod::Target => {
                let p = markers.points();
                // Mean over the four edges of |edge mm| / |edge px|.
                (0..4)
                    .map(|i| {
                        let px = p[i].distance(p[4]);
                        mm[i].distance(mm[4]) / px.max(f64::MIN_POSITIVE)
                    })
                    .sum::<f64>()
                    / 4.0
            }
        }
    }
}

/// A variant of an image's scale, for sensitivities: defaults are the nominal scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Variant {
    pub method: Option<ScaleMethod>,
    /// Ruler-model coefficients.
    pub coef: Option<[f64; 3]>,
    /// Tick-direction coefficients of the ruler model (ignored when it has none).
    pub tick_tan: Option<[f64; 2]>,
    /// How the rectification applies the turn about the ruler the tick directions show.
    pub about_ruler: AboutRuler,
    pub focal_factor: f64,
    /// Target-model parameters `[h₀ … h₇, k₁]`.
    pub target_params: Option<TargetParams>,
}

impl Default for Variant {
    fn default() -> Self {
        Self {
            method: None,
            coef: None,
            tick_tan: None,
            about_ruler: AboutRuler::Significant,
            focal_factor: 1.0,
            target_params: None,
        }
    }
}
