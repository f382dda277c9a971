//! A project's images → per-image strain table, uncertainties, regressions, Poisson's ratio.

use crate::budget::{Budget, Side, budget};
use crate::points::{Fiducials, ImageStatus, ScalePoints};
use crate::regression::{MIN_POINTS, Regression, linregress};
use crate::scale::{
    DEFAULT_FOCAL_35MM, FocalSource, ImageScale, RulerModel, ScaleMethod, TargetModel,
};
use crate::strain::{Component, Deformation, StrainError, StrainMeasures, deformation_gradient};
use crate::uncertainty::Frame;
use serde::{Deserialize, Serialize};
use std::fmt;

mod error;
mod poisson;

pub use error::{AnalysisError, AnalysisErrorKind};
pub use poisson::Poisson;
use poisson::poisson_ratio;

/// One image as the engine sees it. Partial annotations are `None` (status says which).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageInput {
    pub name: String,
    pub fiducials: Option<Fiducials>,
    pub scale: Option<ScalePoints>,
    /// Deformation distance in mm.
    pub deformation: Option<f64>,
    /// How many points are placed even when incomplete (for the status); `None` = derive from the Options.
    pub placed: Option<(usize, usize)>,
    /// The ruler's graduation as fitted by the detector (needed by the ruler-model scales).
    pub ruler: Option<RulerModel>,
    /// Width and height of the photo, px (needed by the perspective correction).
    pub size: Option<[u32; 2]>,
    /// 35 mm-equivalent focal length from the photo's EXIF, mm.
    pub focal_35mm: Option<f64>,
    /// The calibration target's map, when one was detected in the photo (or given to it from a
    /// calibration photo taken from the same camera position).
    pub target: Option<TargetModel>,
    /// Left out of the fits and Poisson's ratio by the user, with the reason given (possibly
    /// empty). The image's strains are still computed and reported, marked.
    pub excluded: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    X,
    Y,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisOptions {
    /// Real distance between the two scale points, mm (> 0).
    pub scale_length: f64,
    /// Name of the reference image; `None` = smallest deformation distance, ties by order.
    pub reference: Option<String>,
    /// Point-placement uncertainty, px (≥ 0).
    pub sigma_px: f64,
    /// Loading axis for Poisson's ratio; `None` = the axis whose small strain changes most.
    pub loading_axis: Option<Axis>,
    /// Components to regress; the default is εxx, εyy, εxy.
    pub components: Vec<Component>,
    /// How pixels become mm ([`crate::scale`]); `None` = [`auto_scale_method`].
    pub scale_method: Option<ScaleMethod>,
    /// 35 mm-equivalent focal length for the perspective correction, mm; `None` = each photo's
    /// EXIF value, else [`DEFAULT_FOCAL_35MM`].
    pub focal_35mm: Option<f64>,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self {
            scale_length: 10.0,
            reference: None,
            sigma_px: 1.0,
            loading_axis: None,
            components: Component::DEFAULT.to_vec(),
            scale_method: None,
            focal_35mm: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageResult {
    /// Index into the input slice.
    pub index: usize,
    pub name: String,
    pub deformation: f64,
    /// Local mm/px at the markers under the scale method.
    pub mm_per_px: f64,
    pub measures: StrainMeasures,
    /// One combined standard uncertainty per field of `measures`: the root sum of squares of
    /// the three terms of `budget`.
    pub uncertainty: StrainMeasures,
    /// What each source contributes ([`crate::budget`]).
    pub budget: Budget,
    /// 35 mm-equivalent focal length used (perspective correction only), and where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focal_35mm: Option<(f64, FocalSource)>,
    /// Excluded by the user from the fits and Poisson's ratio, with the reason (see
    /// [`ImageInput::excluded`]); `None` = the image is fitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

impl ImageResult {
    /// True when the image takes part in the regressions and Poisson's ratio.
    pub fn is_fitted(&self) -> bool {
        self.excluded.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentRegression {
    pub component: Component,
    pub regression: Regression,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Index (into the input slice) of the reference image.
    pub reference: usize,
    pub reference_name: String,
    pub scale_length: f64,
    pub sigma_px: f64,
    pub scale_method: ScaleMethod,
    /// One row per complete image, in input order, the reference included.
    pub rows: Vec<ImageResult>,
    pub regressions: Vec<ComponentRegression>,
    /// `None` when the axial slope is 0.
    pub poisson: Option<Poisson>,
    /// Images left out of the analysis and why.
    pub excluded: Vec<(String, ImageStatus)>,
}

/// Accepted scale lengths, mm: 1 pm to 1000 km; anything outside is a typing error (and
/// would take the arithmetic near underflow or overflow).
pub const SCALE_LENGTH_RANGE_MM: std::ops::RangeInclusive<f64> = 1e-9..=1e9;

/// Accepted point-placement uncertainties, px.
pub const SIGMA_RANGE_PX: std::ops::RangeInclusive<f64> = 0.0..=1e6;

impl ImageInput {
    /// A complete image: five fiducials, two scale points and a deformation distance (mm).
    pub fn complete(
        name: impl Into<String>,
        fiducials: Fiducials,
        scale: ScalePoints,
        deformation: f64,
    ) -> Self {
        Self {
            name: name.into(),
            fiducials: Some(fiducials),
            scale: Some(scale),
            deformation: Some(deformation),
            placed: None,
            ruler: None,
            size: None,
            focal_35mm: None,
            target: None,
            excluded: None,
        }
    }

    /// Annotation status (docs/strain.md §1). Complete exactly when fiducials, scale points and distance
    /// are all present; otherwise derived from `placed` (or, when `None`, from which point sets
    /// are present), never Complete.
    pub fn status(&self) -> ImageStatus {
        if self.fiducials.is_some() && self.scale.is_some() && self.deformation.is_some() {
            return ImageStatus::Complete;
        }
        let (f, s) = self.placed.unwrap_or((
            if self.fiducials.is_some() {
                Fiducials::COUNT
            } else {
                0
            },
            if self.scale.is_some() {
                ScalePoints::COUNT
            } else {
                0
            },
        ));
        match ImageStatus::from_counts(f, s, self.deformation.is_some()) {
            ImageStatus::Complete => ImageStatus::Incomplete,
            status => status,
        }
    }
}

impl Axis {
    /// The other in-plane axis.
    pub fn other(self) -> Axis {
        match self {
            Axis::X => Axis::Y,
            Axis::Y => Axis::X,
        }
    }

    /// The small-strain normal component along this axis.
    pub fn component(self) -> Component {
        match self {
            Axis::X => Component::EpsXx,
            Axis::Y => Component::EpsYy,
        }
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::X => "x",
            Axis::Y => "y",
        })
    }
}

impl Analysis {
    /// The regression of `component`, if it was requested.
    pub fn regression(&self, component: Component) -> Option<&Regression> {
        self.regressions
            .iter()
            .find(|r| r.component == component)
            .map(|r| &r.regression)
    }
}

/// One image's scale, the focal length it used (perspective correction only) and its markers
/// in mm.
type Scaled = (ImageScale, Option<(f64, FocalSource)>, Frame);

/// A complete image, unpacked.
struct Complete<'a> {
    index: usize,
    name: &'a str,
    fiducials: &'a Fiducials,
    scale: &'a ScalePoints,
    deformation: f64,
    image: &'a ImageInput,
}

/// Images per parallel task of [`analyze`]: below this, one thread does them all.
const PARALLEL_CHUNK: usize = 256;

/// Strain of every complete image relative to the reference, its uncertainty, the regression
/// of each requested component against deformation distance and Poisson's ratio.
///
/// Steps: validate the options (scale length in [`SCALE_LENGTH_RANGE_MM`], σ in
/// [`SIGMA_RANGE_PX`]) and every given distance (finite); collect the complete images in input
/// order (the others go to `excluded` with their status); resolve the reference (named, which must exist and be
/// complete, or the smallest distance, ties by order); require at least 3 complete images and
/// two different distances; compute F, the measures and their uncertainty per image, in
/// parallel and collected in image order (the reference row is exactly [`StrainMeasures::identity`] with zero uncertainty); regress each
/// requested component over all complete images, reference included; Poisson's ratio.
///
/// Errors name the image they concern ([`AnalysisError::image`]). The result never holds NaN
/// or infinity.
pub fn analyze(
    images: &[ImageInput],
    options: &AnalysisOptions,
) -> Result<Analysis, AnalysisError> {
    use AnalysisErrorKind as K;
    if !SCALE_LENGTH_RANGE_MM.contains(&options.scale_length) {
        return Err(AnalysisError::general(K::InvalidScaleLength(
            options.scale_length,
        )));
    }
    if !SIGMA_RANGE_PX.contains(&options.sigma_px) {
        return Err(AnalysisError::general(K::InvalidSigma(options.sigma_px)));
    }
    let mut complete = Vec::new();
    let mut excluded = Vec::new();
    for (index, image) in images.iter().enumerate() {
        if let Some(d) = image.deformation
            && !d.is_finite()
        {
            return Err(AnalysisError::for_image(
                &image.name,
                K::NonFiniteDistance(d),
            ));
        }
        match (&image.fiducials, &image.scale, image.deformation) {
            (Some(fiducials), Some(scale), Some(deformation)) => complete.push(Complete {
                index,
                name: &image.name,
                fiducials,
                scale,
                deformation,
                image,
            }),
            _ => excluded.push((image.name.clone(), image.status())),
        }
    }

    let reference_pos = match &options.reference {
        Some(name) => {
            let Some(image) = images.iter().find(|im| &im.name == name) else {
                return Err(AnalysisError::general(K::UnknownReference(name.clone())));
            };
            let status = image.status();
            match complete.iter().position(|c| c.name == name.as_str()) {
                Some(pos) if status.is_complete() => Some(pos),
                _ => {
                    return Err(AnalysisError::for_image(
                        name,
                        K::ReferenceIncomplete(status),
                    ));
                }
            }
        }
        None => None,
    };
    if complete.len() < MIN_POINTS {
        return Err(AnalysisError::general(K::TooFewComplete {
            complete: complete.len(),
            required: MIN_POINTS,
            incomplete: excluded,
        }));
    }
    let first_d = complete[0].deformation;
    if complete.iter().all(|c| c.deformation == first_d) {
        return Err(AnalysisError::general(K::AllDistancesEqual(first_d)));
    }
    let reference_pos = reference_pos.unwrap_or_else(|| {
        // Smallest distance; `fold` keeps the first of equal values.
        (1..complete.len()).fold(0, |best, i| {
            if complete[i].deformation < complete[best].deformation {
                i
            } else {
                best
            }
        })
    });
    let reference = &complete[reference_pos];
    let method = options
        .scale_method
        .unwrap_or_else(|| auto_scale_method(images));
    let strain_error = |name: &str, e: StrainError| AnalysisError::for_image(name, K::Strain(e));
    let scale_of = |c: &Complete<'_>| -> Result<Scaled, AnalysisError> {
        let focal = match (options.focal_35mm, c.image.focal_35mm) {
            (Some(f), _) => (f, FocalSource::User),
            (None, Some(f)) => (f, FocalSource::Exif),
            (None, None) => (DEFAULT_FOCAL_35MM, FocalSource::Default),
        };
        let scale = ImageScale::new(
            method,
            Some((*c.scale, options.scale_length)),
            c.image.ruler,
            c.image.target.clone(),
            c.image.size,
            focal,
        )
        .map_err(|e| AnalysisError::for_image(c.name, K::Scale(e)))?;
        let frame = Frame::from_scale(c.fiducials, &scale)
            .map_err(|e| AnalysisError::for_image(c.name, K::Scale(e)))?;
        let used = (method == ScaleMethod::Rectified).then_some(focal);
        Ok((scale, used, frame))
    };
    let (reference_scale, _, reference_frame) = scale_of(reference)?;
    // The reference markers must span an area: checked once, the error names the reference.
    deformation_gradient(&reference_frame.mm, &reference_frame.mm)
        .map_err(|e| strain_error(reference.name, e))?;
    let reference_side = Side {
        markers: reference.fiducials,
        scale: &reference_scale,
        frame: &reference_frame,
    };

    // Each row depends only on its image and the reference: computed in parallel, collected
    // in image order; the first error in image order is the one reported, as in a loop.
    let row_of = |pos: usize, image: &Complete<'_>| -> Result<ImageResult, AnalysisError> {
        let (scale, focal_35mm, frame) = scale_of(image)?;
        let (measures, uncertainty, budget) = if pos == reference_pos {
            (
                StrainMeasures::identity(),
                StrainMeasures::default(),
                Budget::default(),
            )
        } else {
            let deformation: Deformation = deformation_gradient(&reference_frame.mm, &frame.mm)
                .map_err(|e| strain_error(image.name, e))?;
            let measures = StrainMeasures::from_gradient(&deformation);
            let side = Side {
                markers: image.fiducials,
                scale: &scale,
                frame: &frame,
            };
            let (uncertainty, budget) =
                budget(reference_side, side, &deformation, options.sigma_px)
                    .map_err(|kind| AnalysisError::for_image(image.name, kind))?;
            (measures, uncertainty, budget)
        };
        if !(measures.is_finite() && uncertainty.is_finite() && frame.mm_per_px.is_finite()) {
            return Err(strain_error(image.name, StrainError::NonFinite));
        }
        Ok(ImageResult {
            index: image.index,
            name: image.name.to_owned(),
            deformation: image.deformation,
            mm_per_px: frame.mm_per_px,
            measures,
            uncertainty,
            budget,
            focal_35mm,
            excluded: image.image.excluded.clone(),
        })
    };
    let rows: Vec<Result<ImageResult, AnalysisError>> = {
        use rayon::prelude::*;
        complete
            .par_iter()
            .enumerate()
            .with_min_len(PARALLEL_CHUNK)
            .map(|(pos, image)| row_of(pos, image))
            .collect()
    };
    let rows = rows
        .into_iter()
        .collect::<Result<Vec<ImageResult>, AnalysisError>>()?;

    // The fits use the images the user did not exclude.
    let fitted: Vec<&ImageResult> = rows.iter().filter(|r| r.is_fitted()).collect();
    let distances: Vec<f64> = fitted.iter().map(|r| r.deformation).collect();
    let excluded_by_user = rows.len() - fitted.len();
    if excluded_by_user > 0
        && (fitted.len() < MIN_POINTS || distances.iter().all(|&d| d == distances[0]))
    {
        return Err(AnalysisError::general(K::TooFewFitted {
            fitted: fitted.len(),
            required: MIN_POINTS,
            excluded_by_user,
        }));
    }
    let regress = |component: Component| {
        let y: Vec<f64> = fitted
            .iter()
            .map(|r| component.value(&r.measures))
            .collect();
        linregress(&distances, &y)
            .map_err(|error| AnalysisError::general(K::Regression { component, error }))
    };
    let mut regressions = Vec::with_capacity(options.components.len());
    for &component in &options.components {
        regressions.push(ComponentRegression {
            component,
            regression: regress(component)?,
        });
    }
    let find_or_regress =
        |component: Component| match regressions.iter().find(|r| r.component == component) {
            Some(r) => Ok(r.regression),
            None => regress(component),
        };
    let fit_x = find_or_regress(Component::EpsXx)?;
    let fit_y = find_or_regress(Component::EpsYy)?;
    let poisson = poisson_ratio(&rows, options.loading_axis, &fit_x, &fit_y);

    Ok(Analysis {
        reference: reference.index,
        reference_name: reference.name.to_owned(),
        scale_length: options.scale_length,
        sigma_px: options.sigma_px,
        scale_method: method,
        rows,
        regressions,
        poisson,
        excluded,
    })
}

/// The scale method used when none is chosen: the best the annotations allow.
/// [`ScaleMethod::Target`] when every complete image has a calibration-target model, else
/// [`ScaleMethod::Rectified`] when every one has a ruler model and a known size (its ruler was
/// detected), else [`ScaleMethod::Span`] (hand-placed scale points, files from the Python tool).
pub fn auto_scale_method(images: &[ImageInput]) -> ScaleMethod {
    let complete: Vec<&ImageInput> = images
        .iter()
        .filter(|im| im.status().is_complete())
        .collect();
    if complete.is_empty() {
        ScaleMethod::Span
    } else if complete.iter().all(|im| im.target.is_some()) {
        ScaleMethod::Target
    } else if complete
        .iter()
        .all(|im| im.ruler.is_some() && im.size.is_some())
    {
        ScaleMethod::Rectified
    } else {
        ScaleMethod::Span
    }
}
