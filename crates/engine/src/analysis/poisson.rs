//! Poisson's ratio from the per-image strains and the two normal-strain regressions.

use super::{Axis, ImageResult};
use crate::regression::Regression;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poisson {
    pub loading_axis: Axis,
    /// True when the axis was chosen by the engine (largest strain change).
    pub auto_axis: bool,
    /// −ε_lateral/ε_axial per result row (`None` where ε_axial = 0, e.g. the reference).
    pub per_image: Vec<Option<f64>>,
    /// −(slope lateral)/(slope axial).
    pub from_slopes: f64,
    /// Standard error of `from_slopes` (first-order propagation of the two slope errors).
    pub from_slopes_stderr: f64,
}

/// Poisson's ratio ν = −ε_lateral/ε_axial, per image and from the two regression slopes.
///
/// The axial axis is `axis`, or (automatic) the one whose small normal strain has the larger
/// |slope| against distance (x on a tie). From the slopes, `ν = −b_lat/b_ax` with first-order
/// standard error `σ_ν² = (σ_lat² + ν²σ_ax² + 2ν·cov)/b_ax²`, where the covariance of the two
/// slopes, `cov = Σ e_lat,i e_ax,i / ((n − 2)·Σ(d_i − d̄)²)` (e = fit residuals), is included:
/// εxx and εyy of one image come from the same F and their errors are correlated.
/// `None` when the axial slope is 0 (or the result is not finite). The per-image ratios cover
/// every row; the slopes and the covariance only the fitted ones ([`ImageResult::is_fitted`]).
pub(super) fn poisson_ratio(
    rows: &[ImageResult],
    axis: Option<Axis>,
    fit_x: &Regression,
    fit_y: &Regression,
) -> Option<Poisson> {
    let (loading_axis, auto_axis) = match axis {
        Some(a) => (a, false),
        None if fit_y.slope.abs() > fit_x.slope.abs() => (Axis::Y, true),
        None => (Axis::X, true),
    };
    let (axial, lateral) = match loading_axis {
        Axis::X => (fit_x, fit_y),
        Axis::Y => (fit_y, fit_x),
    };
    if axial.slope == 0.0 {
        return None;
    }
    let (ax_c, lat_c) = (loading_axis.component(), loading_axis.other().component());
    let per_image = rows
        .iter()
        .map(|r| {
            let ax = ax_c.value(&r.measures);
            let lat = lat_c.value(&r.measures);
            let nu = -lat / ax;
            (ax != 0.0 && nu.is_finite()).then_some(nu + 0.0)
        })
        .collect();
    let fitted = || rows.iter().filter(|r| r.is_fitted());
    let n = fitted().count() as f64;
    let mean_d = fitted().map(|r| r.deformation).sum::<f64>() / n;
    let (mut sxx, mut cross) = (0.0, 0.0);
    for r in fitted() {
        let d = r.deformation;
        let e_ax = ax_c.value(&r.measures) - (axial.intercept + axial.slope * d);
        let e_lat = lat_c.value(&r.measures) - (lateral.intercept + lateral.slope * d);
        sxx += (d - mean_d) * (d - mean_d);
        cross += e_ax * e_lat;
    }
    let cov = cross / ((n - 2.0) * sxx);
    let nu = -lateral.slope / axial.slope;
    let var = (lateral.stderr.powi(2) + nu * nu * axial.stderr.powi(2) + 2.0 * nu * cov)
        / axial.slope.powi(2);
    let stderr = var.max(0.0).sqrt();
    (nu.is_finite() && stderr.is_finite()).then_some(Poisson {
        loading_axis,
        auto_axis,
        per_image,
        from_slopes: nu + 0.0,
        from_slopes_stderr: stderr,
    })
}
