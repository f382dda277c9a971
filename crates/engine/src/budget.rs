//! The uncertainty budget of one image's strain: what each source contributes to its ±.
//!
//! Three independent terms, each a covariance of vec(F) (the deformation gradient's four
//! entries) turned into a standard uncertainty of every measure by the same first-order
//! propagation as [`crate::uncertainty`]; the reported ± is the root sum of squares.
//!
//! | term | span scale | ruler model | ruler + perspective | calibration target |
//! |---|---|---|---|---|
//! | `points` | σ px on the 5 markers of both images | same | same | same |
//! | `scale_model` | σ px on the two scale points (`Var ln k = 2σ²(1/ℓ_ref² + 1/ℓ_cur²)`) | the ruler fit's covariance of its 3 coefficients, both images | same, and the covariance of the 2 tick-direction coefficients (the graduation lines' convergence, which gives the tilt about the ruler) where the model has them, with the sensitivity of that tilt applied in full (also where it was not significant and not applied) | the target fit's covariance of its 8 homography entries (and k₁ where fitted), both images |
//! | `scale_variation` | what the span leaves out: the strain moved by the perspective-corrected scale (or the ruler model's scale at the markers when the image size is unknown), as a rectangular distribution of that half-width (σ = \|Δ\|/√3) | what the uniform scale leaves out: Δ to the perspective-corrected result, σ = \|Δ\|/√3 | the focal length's uncertainty (5 % when stated, 25 % for the default): central difference over ±1σ of f | 0: the target maps the whole plane, and its fit's covariance is the model term (what it cannot see — the target out of the specimen's plane, a wrong printed pitch — scales both images alike and cancels in the strain; `docs/strain.md`) |
//!
//! Without a ruler model the span's `scale_variation` cannot be known and is 0 (the docs say
//! so). The model term's sensitivities are central differences of F over each coefficient with
//! a step of 1 % of its standard deviation; the position and the direction coefficients are
//! fitted separately and taken as independent.

use crate::analysis::AnalysisErrorKind;
use crate::points::Fiducials;
use crate::scale::{AboutRuler, ImageScale, ScaleMethod, Variant};
use crate::strain::{Deformation, StrainMeasures, deformation_gradient};
use crate::uncertainty::{
    Frame, measure_gradients, points_covariance, sigmas, span_covariance, vec_f,
};
use nalgebra::{Matrix4, SMatrix, Vector4};
use serde::{Deserialize, Serialize};

/// One standard uncertainty per measure from each source (see the module documentation).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Budget {
    /// Placement of the five markers (σ px on each coordinate, both images).
    pub points: StrainMeasures,
    /// The scale itself: the two scale points' placement (span) or the ruler model's fit.
    pub scale_model: StrainMeasures,
    /// What the scale method leaves out: perspective over the markers (span, ruler model) or
    /// the focal length's uncertainty (perspective correction).
    pub scale_variation: StrainMeasures,
}

/// One image as the budget sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Side<'a> {
    pub markers: &'a Fiducials,
    pub scale: &'a ImageScale,
    pub frame: &'a Frame,
}

/// The budget of `current` against `reference`, and the combined standard uncertainty.
pub(crate) fn budget(
    r: Side<'_>,
    c: Side<'_>,
    d: &Deformation,
    sigma_px: f64,
) -> Result<(StrainMeasures, Budget), AnalysisErrorKind> {
    let grads = measure_gradients(d);
    let (cp, floor) = if sigma_px > 0.0 {
        points_covariance(r.frame, c.frame, d, sigma_px)
    } else {
        (Matrix4::zeros(), 0.0)
    };
    let cm = match r.scale.method() {
        ScaleMethod::Span if sigma_px > 0.0 => span_covariance(r.frame, c.frame, d, sigma_px),
        ScaleMethod::Span => Matrix4::zeros(),
        ScaleMethod::Ruler | ScaleMethod::Rectified => model_covariance(r, c)?,
        ScaleMethod::Target => target_covariance(r, c)?,
    };
    let cv = variation_covariance(r, c, d)?;
    let total = sigmas(&grads, &(cp + cm + cv), floor);
    let budget = Budget {
        points: sigmas(&grads, &cp, floor),
        scale_model: sigmas(&grads, &cm, 0.0),
        scale_variation: sigmas(&grads, &cv, 0.0),
    };
    Ok((total, budget))
}

/// vec(F) with each image mapped by a variant of its scale.
fn f_with(
    r: Side<'_>,
    rv: &Variant,
    c: Side<'_>,
    cv: &Variant,
) -> Result<Vector4<f64>, AnalysisErrorKind> {
    let rm = r
        .scale
        .map(r.markers, rv)
        .map_err(AnalysisErrorKind::Scale)?;
    let cm = c
        .scale
        .map(c.markers, cv)
        .map_err(AnalysisErrorKind::Scale)?;
    let d = deformation_gradient(&rm, &cm).map_err(AnalysisErrorKind::Strain)?;
    Ok(vec_f(&d))
}

/// `J Σ Jᵀ` of one image's scale parameters: J = ∂vec(F)/∂(parameters) by central differences
/// with a step of 1 % of each parameter's σ, `variant(k, step)` being the nominal scale with
/// parameter `k` moved by `step`, on the reference image or the current one.
fn propagate<const N: usize>(
    r: Side<'_>,
    c: Side<'_>,
    on_reference: bool,
    sigma: &SMatrix<f64, N, N>,
    variant: impl Fn(usize, f64) -> Variant,
) -> Result<Matrix4<f64>, AnalysisErrorKind> {
    let nominal = Variant::default();
    let mut jac = SMatrix::<f64, 4, N>::zeros();
    for k in 0..N {
        let h = 0.01 * sigma[(k, k)].max(0.0).sqrt();
        if h == 0.0 {
            continue;
        }
        let at = |step: f64| -> Result<Vector4<f64>, AnalysisErrorKind> {
            let v = variant(k, step);
            if on_reference {
                f_with(r, &v, c, &nominal)
            } else {
                f_with(r, &nominal, c, &v)
            }
        };
        jac.set_column(k, &((at(h)? - at(-h)?) / (2.0 * h)));
    }
    Ok(jac * sigma * jac.transpose())
}

/// `Σ J C Jᵀ` over both images, J = ∂vec(F)/∂(ruler coefficients, tick-direction
/// coefficients), C their covariance (block diagonal). The tick directions only matter to the
/// perspective correction.
fn model_covariance(r: Side<'_>, c: Side<'_>) -> Result<Matrix4<f64>, AnalysisErrorKind> {
    let nominal = Variant::default();
    let mut cov = Matrix4::zeros();
    for on_reference in [true, false] {
        let side = if on_reference { r } else { c };
        let Some(model) = side.scale.ruler() else {
            continue;
        };
        let ticks = model
            .tick_directions
            .filter(|_| side.scale.method() == ScaleMethod::Rectified);
        let mut sigma = SMatrix::<f64, 5, 5>::zeros();
        for i in 0..3 {
            for j in 0..3 {
                sigma[(i, j)] = model.covariance[i][j];
            }
        }
        if let Some(t) = ticks {
            for i in 0..2 {
                for j in 0..2 {
                    sigma[(3 + i, 3 + j)] = t.covariance[i][j];
                }
            }
        }
        cov += propagate(r, c, on_reference, &sigma, |k, step| {
            if k < 3 {
                let mut coef = model.coef;
                coef[k] += step;
                Variant {
                    coef: Some(coef),
                    ..nominal
                }
            } else {
                let mut tan = ticks.map_or([0.0; 2], |t| t.tan);
                tan[k - 3] += step;
                // The sensitivity of the turn the directions show, applied in full: where it is
                // not significant and so not applied, a turn of that size is what the result
                // may leave out.
                Variant {
                    tick_tan: Some(tan),
                    about_ruler: AboutRuler::Full,
                    ..nominal
                }
            }
        })?;
    }
    Ok(cov)
}

/// `Σ J C Jᵀ` over both images, J = ∂vec(F)/∂(target parameters), C their covariance.
fn target_covariance(r: Side<'_>, c: Side<'_>) -> Result<Matrix4<f64>, AnalysisErrorKind> {
    let mut cov = Matrix4::zeros();
    for on_reference in [true, false] {
        let side = if on_reference { r } else { c };
        let Some(model) = side.scale.target() else {
            continue;
        };
        let n = model.parameter_count();
        let params = model.params();
        let mut sigma = SMatrix::<f64, 9, 9>::zeros();
        for i in 0..n {
            for j in 0..n {
                sigma[(i, j)] = model.covariance_at(i, j);
            }
        }
        cov += propagate(r, c, on_reference, &sigma, |k, step| {
            let mut p = params;
            p[k] += step;
            Variant {
                target_params: Some(p),
                ..Variant::default()
            }
        })?;
    }
    Ok(cov)
}

/// The term of what the method leaves out (module documentation, last row).
fn variation_covariance(
    r: Side<'_>,
    c: Side<'_>,
    d: &Deformation,
) -> Result<Matrix4<f64>, AnalysisErrorKind> {
    let both = |m: ScaleMethod| r.scale.supports(m) && c.scale.supports(m);
    let nominal = Variant::default();
    let rectangular = |alt: ScaleMethod| -> Result<Matrix4<f64>, AnalysisErrorKind> {
        let v = Variant {
            method: Some(alt),
            ..nominal
        };
        let delta = f_with(r, &v, c, &v)? - vec_f(d);
        Ok(delta * delta.transpose() / 3.0)
    };
    match r.scale.method() {
        ScaleMethod::Span if both(ScaleMethod::Rectified) => rectangular(ScaleMethod::Rectified),
        ScaleMethod::Span if both(ScaleMethod::Ruler) => rectangular(ScaleMethod::Ruler),
        ScaleMethod::Ruler if both(ScaleMethod::Rectified) => rectangular(ScaleMethod::Rectified),
        ScaleMethod::Rectified => {
            let rel = r.scale.focal_rel_sigma().max(c.scale.focal_rel_sigma());
            let at = |factor: f64| {
                let v = Variant {
                    focal_factor: factor,
                    ..nominal
                };
                f_with(r, &v, c, &v)
            };
            let delta = (at(1.0 + rel)? - at(1.0 / (1.0 + rel))?) / 2.0;
            Ok(delta * delta.transpose())
        }
        _ => Ok(Matrix4::zeros()),
    }
}
