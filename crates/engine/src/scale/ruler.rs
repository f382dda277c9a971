//! The ruler model: the whole visible graduation as one 1-D projective map.
//!
//! A straight ruler photographed by a pinhole camera is a line, and the map from a position on
//! it in mm, `m`, to the position along its image in px, `u`, is a 1-D projective map
//!
//! ```text
//! u(m) = (c₀·m + c₁) / (c₂·m + 1)
//! ```
//!
//! (`c₂ = 0` is a fronto-parallel ruler, where mm/px is the same everywhere). Fitting every
//! graduation line the detector found, not two of them, gives the scale *anywhere* along the
//! ruler, `dm/du = (c₀ − c₂c₁)/(c₀ − c₂u)²`, with an uncertainty from the fit. The scale used for
//! a photo is then read where the markers are (their projection onto the ruler's axis), whatever
//! span the user chose for the two displayed scale points.
//!
//! The fit is least squares of the tick positions `u_i` (px) over the three coefficients,
//! started from the linear (DLT) solution of `u = c₀m + c₁ − c₂mu` and refined by Gauss–Newton
//! on the true residual `u_i − u(m_i)`. Its covariance is the sum of two estimates: `s²(JᵀJ)⁻¹`
//! with `s²` the residual variance (`RSS/(n − 3)`, at least [`MIN_TICK_SIGMA_PX`]²), which is
//! right for independent tick errors, and a delete-a-block jackknife over eight stretches of the
//! graduation, which also sees errors shared by neighbouring lines (blur, uneven light, lens
//! distortion) and the extrapolation beyond the lines seen. Their sum errs on the safe side.
//!
//! **Tick directions.** The graduation lines are images of plane lines square to the ruler; under
//! perspective they are not parallel but converge to one vanishing point, and which way they
//! converge shows how the plane is turned *about the ruler itself*, which the positions along the
//! ruler cannot show ([`super::rectify`]). The model keeps their directions as
//! [`TickDirections`]: `tan δ(u) = t₀ + t₁·u`, with `δ` the angle of the line through the reading
//! line's point `u` from the reading line's normal. Every line through one point `V` meets the
//! reading line at `u` with `tan δ = (u_V − u)/w_V` (`u_V`, `w_V` the coordinates of `V` along and
//! across the reading line), so this form is exact for any vanishing point, at infinity too
//! (`t₁ = 0`: parallel lines), and `V` is `(t₀, 1, −t₁)` in homogeneous (along, across)
//! coordinates ([`RulerModel::tick_vanishing_point`]). Its covariance is that of a weighted line
//! fit to the lines' measured directions.

use crate::points::{Fiducials, Point, ScalePoints};
use nalgebra::{Matrix3, Vector3};
use serde::{Deserialize, Serialize};

/// Floor of the tick-position σ used for the covariance, px: no graduation line is located
/// better than this, however well a few ticks happen to fit.
pub const MIN_TICK_SIGMA_PX: f64 = 0.05;

/// Fewest graduation lines a model is fitted to.
pub const MIN_MODEL_TICKS: usize = 6;

/// A ruler's graduation in one photo: mm along the ruler ↔ px along its image.
///
/// Positions along the ruler are measured on the *reading line* (the line through the tick ends
/// where the detector reads the scale): the image point of the `m`-mm line is
/// `origin + u(m)·direction`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RulerModel {
    /// The point of the reading line where `u = 0` (image px).
    pub origin: Point,
    /// Unit vector along the ruler's image, towards increasing mm.
    pub direction: [f64; 2],
    /// `[c₀, c₁, c₂]` of `u(m) = (c₀m + c₁)/(c₂m + 1)`, `u` in px, `m` in mm.
    pub coef: [f64; 3],
    /// Covariance of `coef` from the fit.
    pub covariance: [[f64; 3]; 3],
    /// First and last graduation line used, mm.
    pub mm_range: [f64; 2],
    /// Value (mm, in 0..10) of the centimetre lines modulo 10, when they were recognised.
    pub cm_phase_mm: Option<f64>,
    /// Graduation lines used by the fit.
    pub ticks: u32,
    /// RMS residual of the lines from the model, px.
    pub rms_px: f64,
    /// Directions of the graduation lines (their convergence), when the detector measured them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_directions: Option<TickDirections>,
}

/// The directions of a ruler's graduation lines in the image, as a function of where they cross
/// the reading line (see the module documentation).
///
/// The line through the reading line's point `u` (px from [`RulerModel::origin`] along
/// [`RulerModel::direction`] `d`) has the direction `cos δ·n + sin δ·d`, with
/// `n = (−d_y, d_x)` the reading line's normal (`d` turned by +90°, from +x towards +y in image
/// axes) and `tan δ = t₀ + t₁·u`. A positive `δ` leans the line from the normal towards
/// increasing mm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TickDirections {
    /// `[t₀, t₁]` of `tan δ(u) = t₀ + t₁·u` (`t₁` per px).
    pub tan: [f64; 2],
    /// Covariance of `tan`.
    pub covariance: [[f64; 2]; 2],
}

impl TickDirections {
    /// Every number finite, the variances not negative.
    pub fn is_valid(&self) -> bool {
        self.tan
            .iter()
            .chain(self.covariance.iter().flatten())
            .all(|v| v.is_finite())
            && self.covariance[0][0] >= 0.0
            && self.covariance[1][1] >= 0.0
    }

    /// `tan δ` of the graduation line through the reading line's point `u`.
    pub fn tan_at_u(&self, u: f64) -> f64 {
        self.tan[0] + self.tan[1] * u
    }

    /// The exact tick directions of `ruler`'s graduation lines converging to the image point
    /// `vp` (homogeneous `(x, y, w)`; `w = 0` for parallel lines), with zero covariance. `None`
    /// when `vp` lies on the reading line (lines along the ruler) or is not finite.
    pub fn toward(ruler: &RulerModel, vp: [f64; 3]) -> Option<TickDirections> {
        let (o, d) = (ruler.origin, ruler.direction);
        let (x, y) = (vp[0] - vp[2] * o.x, vp[1] - vp[2] * o.y);
        let along = x * d[0] + y * d[1];
        let across = -x * d[1] + y * d[0];
        let scale = along.hypot(across).hypot(vp[2]);
        if !(scale.is_finite() && across.abs() > 1e-12 * scale) {
            return None;
        }
        let t = TickDirections {
            tan: [along / across, -vp[2] / across],
            covariance: [[0.0; 2]; 2],
        };
        t.is_valid().then_some(t)
    }
}

/// Why a ruler model could not be fitted.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum RulerModelError {
    #[error("a ruler model needs at least {MIN_MODEL_TICKS} graduation lines, got {0}")]
    TooFewTicks(usize),
    #[error(
        "the graduation lines do not determine a ruler model (all at one position, or not finite)"
    )]
    Degenerate,
}

impl RulerModel {
    /// Fit the model to graduation lines: line `mm[i]` (mm) seen at `u[i]` px along `direction`
    /// from `origin`. `direction` need not be normalised; it is flipped when the mm values
    /// decrease along it.
    pub fn fit(
        origin: Point,
        direction: [f64; 2],
        mm: &[f64],
        u: &[f64],
        cm_phase_mm: Option<f64>,
    ) -> Result<RulerModel, RulerModelError> {
        let n = mm.len().min(u.len());
        if n < MIN_MODEL_TICKS {
            return Err(RulerModelError::TooFewTicks(n));
        }
        let norm = direction[0].hypot(direction[1]);
        if !(norm > 0.0 && norm.is_finite() && origin.is_finite())
            || mm[..n].iter().chain(&u[..n]).any(|v| !v.is_finite())
        {
            return Err(RulerModelError::Degenerate);
        }
        let mut dir = [direction[0] / norm, direction[1] / norm];
        let mut u: Vec<f64> = u[..n].to_vec();
        let mm = &mm[..n];
        // Orient the axis towards increasing mm (the sign of the position–mm covariance).
        let (mm_mean, u_mean) = (
            mm.iter().sum::<f64>() / n as f64,
            u.iter().sum::<f64>() / n as f64,
        );
        let cov: f64 = mm
            .iter()
            .zip(&u)
            .map(|(m, x)| (m - mm_mean) * (x - u_mean))
            .sum();
        if cov == 0.0 {
            return Err(RulerModelError::Degenerate);
        }
        if cov < 0.0 {
            dir = [-dir[0], -dir[1]];
            u.iter_mut().for_each(|x| *x = -*x);
        }
        let start = dlt(mm, &u).ok_or(RulerModelError::Degenerate)?;
        let coef = refine(start, mm, &u);
        let (jtj, _, rss) = normal_equations(&coef, mm, &u);
        let dof = (n - 3).max(1) as f64;
        let s2 = (rss / dof).max(MIN_TICK_SIGMA_PX * MIN_TICK_SIGMA_PX);
        let inv = jtj.try_inverse().ok_or(RulerModelError::Degenerate)?;
        let jack = block_jackknife(&coef, mm, &u);
        let covariance =
            std::array::from_fn(|i| std::array::from_fn(|j| s2 * inv[(i, j)] + jack[(i, j)]));
        let (lo, hi) = mm.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |r, &m| {
            (r.0.min(m), r.1.max(m))
        });
        let model = RulerModel {
            origin,
            direction: dir,
            coef,
            covariance,
            mm_range: [lo, hi],
            cm_phase_mm: cm_phase_mm.map(|p| p.rem_euclid(10.0)),
            ticks: n as u32,
            rms_px: (rss / n as f64).sqrt(),
            tick_directions: None,
        };
        if model.is_valid() {
            Ok(model)
        } else {
            Err(RulerModelError::Degenerate)
        }
    }

    /// Every number finite, the direction a unit vector, mm/px positive and finite over the
    /// whole graduation seen (the map has no pole there), the tick directions (if any) valid.
    pub fn is_valid(&self) -> bool {
        let finite = self.origin.is_finite()
            && self.direction.iter().all(|v| v.is_finite())
            && self.coef.iter().all(|v| v.is_finite())
            && self.covariance.iter().flatten().all(|v| v.is_finite())
            && self.mm_range.iter().all(|v| v.is_finite())
            && self.rms_px.is_finite()
            && self.tick_directions.is_none_or(|t| t.is_valid());
        finite
            && (self.direction[0].hypot(self.direction[1]) - 1.0).abs() < 1e-6
            && self.mm_range[0] < self.mm_range[1]
            && self.mm_range.iter().all(|&m| {
                let w = self.coef[2] * m + 1.0;
                w > 0.0 && self.mm_per_px_at_u(self.u_at_mm(m)) > 0.0
            })
    }

    /// Position along the ruler's image (px from `origin`) of the `m`-mm line.
    pub fn u_at_mm(&self, m: f64) -> f64 {
        let [c0, c1, c2] = self.coef;
        (c0 * m + c1) / (c2 * m + 1.0)
    }

    /// Image point of the `m`-mm line on the reading line.
    pub fn point_at_mm(&self, m: f64) -> Point {
        let u = self.u_at_mm(m);
        Point::new(
            self.origin.x + u * self.direction[0],
            self.origin.y + u * self.direction[1],
        )
    }

    /// Position of `p` projected onto the ruler's axis, px from `origin`.
    pub fn along(&self, p: Point) -> f64 {
        (p.x - self.origin.x) * self.direction[0] + (p.y - self.origin.y) * self.direction[1]
    }

    /// The mm value at position `u` along the ruler (the inverse map).
    pub fn mm_at_u(&self, u: f64) -> f64 {
        let [c0, c1, c2] = self.coef;
        (u - c1) / (c0 - c2 * u)
    }

    /// Local scale `dm/du` (mm per px) at position `u` along the ruler.
    pub fn mm_per_px_at_u(&self, u: f64) -> f64 {
        let [c0, c1, c2] = self.coef;
        (c0 - c2 * c1) / (c0 - c2 * u).powi(2)
    }

    /// Local scale of the ruler at the projection of `p` onto its axis, mm/px.
    pub fn mm_per_px_at(&self, p: Point) -> f64 {
        self.mm_per_px_at_u(self.along(p))
    }

    /// Gradient of `ln(mm/px)` at position `u` over the three coefficients.
    pub fn ln_scale_gradient(&self, u: f64) -> [f64; 3] {
        let [c0, c1, c2] = self.coef;
        let num = c0 - c2 * c1;
        let den = c0 - c2 * u;
        [1.0 / num - 2.0 / den, -c2 / num, -c1 / num + 2.0 * u / den]
    }

    /// Variance of `ln(mm/px)` at position `u` from the model's covariance.
    pub fn ln_scale_variance(&self, u: f64) -> f64 {
        let g = Vector3::from(self.ln_scale_gradient(u));
        let c = Matrix3::from_fn(|i, j| self.covariance[i][j]);
        (g.transpose() * c * g)[(0, 0)].max(0.0)
    }

    /// The same ruler with other coefficients (for sensitivity analysis).
    pub fn with_coef(&self, coef: [f64; 3]) -> RulerModel {
        RulerModel { coef, ..*self }
    }

    /// The same ruler with other tick-direction coefficients (for sensitivity analysis); no
    /// change without a tick-direction model.
    pub fn with_tick_tan(&self, tan: [f64; 2]) -> RulerModel {
        RulerModel {
            tick_directions: self.tick_directions.map(|t| TickDirections { tan, ..t }),
            ..*self
        }
    }

    /// The vanishing point of the graduation lines, homogeneous image coordinates `(x, y, w)`
    /// (`w = 0`: parallel lines), when the tick directions are known.
    pub fn tick_vanishing_point(&self) -> Option<[f64; 3]> {
        let [t0, t1] = self.tick_directions?.tan;
        let (o, d) = (self.origin, self.direction);
        let n = [-d[1], d[0]];
        // (t₀, 1, −t₁) in (along, across, 1) coordinates of the reading line.
        Some([
            t0 * d[0] + n[0] - t1 * o.x,
            t0 * d[1] + n[1] - t1 * o.y,
            -t1,
        ])
    }

    /// Local scale (mm/px) at each marker's projection onto the ruler, and at their mean
    /// position (the pattern's middle along the ruler).
    pub fn scale_at_markers(&self, markers: &Fiducials) -> ([f64; 5], f64) {
        let us = markers.points().map(|p| self.along(p));
        let mid = us.iter().sum::<f64>() / 5.0;
        (us.map(|u| self.mm_per_px_at_u(u)), self.mm_per_px_at_u(mid))
    }

    /// Two scale points `span_mm` apart on graduation lines of the model, as close as the
    /// visible graduation allows to `near` (the markers' middle along the ruler; the middle of
    /// the graduation when `None`). On centimetre lines when the span is a whole number of
    /// centimetres and they were recognised, else on millimetre lines. `None` when the visible
    /// graduation is shorter than the span.
    pub fn scale_points(&self, span_mm: f64, near: Option<&Fiducials>) -> Option<ScalePoints> {
        let [lo, hi] = self.mm_range;
        if !(span_mm > 0.0 && span_mm.is_finite()) || hi - lo < span_mm - 1e-9 {
            return None;
        }
        let target_mm = match near {
            Some(f) => {
                let mid = f.points().iter().map(|&p| self.along(p)).sum::<f64>() / 5.0;
                self.mm_at_u(mid)
            }
            None => 0.5 * (lo + hi),
        };
        // Candidate starts: whole mm (or cm lines) with the span inside [lo, hi].
        let whole_cm = (span_mm / 10.0).fract().abs() < 1e-9;
        let (step, phase) = match self.cm_phase_mm {
            Some(p) if whole_cm => (10.0, p),
            _ => (1.0, lo.rem_euclid(1.0)),
        };
        let first = ((lo - phase) / step).ceil() * step + phase;
        let mut best: Option<(f64, f64)> = None;
        let mut s = first;
        while s + span_mm <= hi + 1e-9 {
            let dist = (s + 0.5 * span_mm - target_mm).abs();
            if best.is_none_or(|b| dist < b.0) {
                best = Some((dist, s));
            }
            s += step;
        }
        let (_, s) = best?;
        ScalePoints::new([self.point_at_mm(s), self.point_at_mm(s + span_mm)]).ok()
    }
}

/// Gauss–Newton on the true residual from `coef`.
fn refine(mut coef: [f64; 3], mm: &[f64], u: &[f64]) -> [f64; 3] {
    for _ in 0..8 {
        let (jtj, jtr, _) = normal_equations(&coef, mm, u);
        let Some(step) = jtj.lu().solve(&jtr) else {
            break;
        };
        coef = [coef[0] + step[0], coef[1] + step[1], coef[2] + step[2]];
        if step.norm() <= 1e-12 * (1.0 + coef[0].abs() + coef[1].abs()) {
            break;
        }
    }
    coef
}

/// Blocks of the delete-a-block jackknife.
const JACKKNIFE_BLOCKS: usize = 8;

/// Covariance of the coefficients by the delete-a-block jackknife over [`JACKKNIFE_BLOCKS`]
/// stretches of the graduation: tick errors are not independent (blur, lighting, the ruler's
/// own printing and lens distortion shift neighbouring lines alike), and what they do to the
/// model shows when a stretch is left out. Zero for fewer than 4 lines per block.
fn block_jackknife(coef: &[f64; 3], mm: &[f64], u: &[f64]) -> Matrix3<f64> {
    let n = mm.len();
    if n < 4 * JACKKNIFE_BLOCKS {
        return Matrix3::zeros();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| mm[a].total_cmp(&mm[b]));
    let mut fits = Vec::with_capacity(JACKKNIFE_BLOCKS);
    for b in 0..JACKKNIFE_BLOCKS {
        let (lo, hi) = (b * n / JACKKNIFE_BLOCKS, (b + 1) * n / JACKKNIFE_BLOCKS);
        let keep: Vec<usize> = order[..lo].iter().chain(&order[hi..]).copied().collect();
        let m: Vec<f64> = keep.iter().map(|&i| mm[i]).collect();
        let x: Vec<f64> = keep.iter().map(|&i| u[i]).collect();
        let c = refine(*coef, &m, &x);
        if c.iter().all(|v| v.is_finite()) {
            fits.push(Vector3::from(c));
        }
    }
    if fits.len() < JACKKNIFE_BLOCKS {
        return Matrix3::zeros();
    }
    let k = fits.len() as f64;
    let mean = fits.iter().sum::<Vector3<f64>>() / k;
    fits.iter()
        .map(|c| (c - mean) * (c - mean).transpose())
        .sum::<Matrix3<f64>>()
        * ((k - 1.0) / k)
}

/// Linear least squares of `u = c₀m + c₁ − c₂mu`: the start of the Gauss–Newton refinement.
fn dlt(mm: &[f64], u: &[f64]) -> Option<[f64; 3]> {
    let mut ata = Matrix3::<f64>::zeros();
    let mut atb = Vector3::<f64>::zeros();
    for (&m, &x) in mm.iter().zip(u) {
        let row = Vector3::new(m, 1.0, -m * x);
        ata += row * row.transpose();
        atb += row * x;
    }
    let sol = ata.lu().solve(&atb)?;
    sol.iter()
        .all(|v| v.is_finite())
        .then(|| [sol[0], sol[1], sol[2]])
}

/// `JᵀJ`, `Jᵀr` and the residual sum of squares of the true residual `u_i − u(m_i)`.
fn normal_equations(coef: &[f64; 3], mm: &[f64], u: &[f64]) -> (Matrix3<f64>, Vector3<f64>, f64) {
    let [c0, c1, c2] = *coef;
    let mut jtj = Matrix3::zeros();
    let mut jtr = Vector3::zeros();
    let mut rss = 0.0;
    for (&m, &x) in mm.iter().zip(u) {
        let w = c2 * m + 1.0;
        let model = (c0 * m + c1) / w;
        let r = x - model;
        let j = Vector3::new(m / w, 1.0 / w, -model * m / w);
        jtj += j * j.transpose();
        jtr += j * r;
        rss += r * r;
    }
    (jtj, jtr, rss)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ruler seen with perspective: 12 px/mm at its 0 line, mm/px growing along it.
    fn truth() -> RulerModel {
        RulerModel {
            origin: Point::new(100.0, 900.0),
            direction: [0.0, -1.0],
            coef: [12.0, 0.0, 0.002],
            covariance: [[0.0; 3]; 3],
            mm_range: [0.0, 60.0],
            cm_phase_mm: Some(0.0),
            ticks: 61,
            rms_px: 0.0,
            tick_directions: None,
        }
    }

    fn samples(t: &RulerModel, noise: impl Fn(usize) -> f64) -> (Vec<f64>, Vec<f64>) {
        let mm: Vec<f64> = (0..=60).map(f64::from).collect();
        let u = mm
            .iter()
            .enumerate()
            .map(|(i, &m)| t.u_at_mm(m) + noise(i))
            .collect();
        (mm, u)
    }

    #[test]
    fn exact_lines_recover_the_map() {
        let t = truth();
        let (mm, u) = samples(&t, |_| 0.0);
        let fit = RulerModel::fit(t.origin, t.direction, &mm, &u, Some(0.0)).unwrap();
        for (a, b) in fit.coef.iter().zip(&t.coef) {
            assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{:?}", fit.coef);
        }
        assert!(fit.rms_px < 1e-9);
        // The covariance is the floor σ² (JᵀJ)⁻¹: positive, small.
        assert!(fit.covariance[0][0] > 0.0 && fit.covariance[0][0] < 1e-4);
        // Inverse and local scale agree with finite differences of the forward map.
        for m in [0.0, 17.3, 60.0] {
            let u = fit.u_at_mm(m);
            assert!((fit.mm_at_u(u) - m).abs() < 1e-9);
            let h = 1e-4;
            let fd = 2.0 * h / (fit.u_at_mm(m + h) - fit.u_at_mm(m - h));
            assert!((fit.mm_per_px_at_u(u) / fd - 1.0).abs() < 1e-8);
        }
        // mm/px changes along the ruler (perspective): 1/12 at 0, larger at 60 mm.
        assert!((fit.mm_per_px_at_u(0.0) - 1.0 / 12.0).abs() < 1e-9);
        assert!(fit.mm_per_px_at_u(fit.u_at_mm(60.0)) > 1.2 / 12.0);
    }

    #[test]
    fn reversed_direction_is_flipped_to_increasing_mm() {
        let t = truth();
        let (mm, u) = samples(&t, |_| 0.0);
        let neg: Vec<f64> = u.iter().map(|x| -x).collect();
        let fit = RulerModel::fit(t.origin, [0.0, 5.0], &mm, &neg, None).unwrap();
        assert_eq!(fit.direction, [0.0, -1.0]);
        for m in [3.0, 44.0] {
            assert!(fit.point_at_mm(m).distance(t.point_at_mm(m)) < 1e-9);
        }
    }

    #[test]
    fn covariance_covers_the_scatter_of_noisy_fits() {
        // Tick noise of 0.3 px: the covariance of one fit bounds the spread of many.
        let t = truth();
        let mut state = 12345u64;
        let mut normal = move || {
            // Box–Muller on a SplitMix64 stream.
            let mut next = || {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
            };
            let (a, b) = (next().max(1e-300), next());
            (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
        };
        let at = t.u_at_mm(30.0);
        let mut logs = Vec::new();
        let mut predicted = Vec::new();
        for _ in 0..400 {
            let noise: Vec<f64> = (0..61).map(|_| 0.3 * normal()).collect();
            let (mm, u) = samples(&t, |i| noise[i]);
            let fit = RulerModel::fit(t.origin, t.direction, &mm, &u, None).unwrap();
            logs.push(fit.mm_per_px_at_u(at).ln());
            predicted.push(fit.ln_scale_variance(at));
        }
        let mean = logs.iter().sum::<f64>() / logs.len() as f64;
        let var = logs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (logs.len() - 1) as f64;
        let pred = predicted.iter().sum::<f64>() / predicted.len() as f64;
        // Independent tick noise: the fit's own covariance alone would match the scatter; the
        // block jackknife added to it makes the prediction conservative (here about 3× the
        // variance, 1.8× the σ), never smaller.
        assert!(
            var <= pred && pred <= 4.0 * var,
            "scatter {var:e}, predicted {pred:e}"
        );
        // And the fits are unbiased to well within their spread.
        assert!((mean - t.mm_per_px_at_u(at).ln()).abs() < 3.0 * (pred / 400.0).sqrt());
    }

    #[test]
    fn degenerate_input_is_an_error() {
        let t = truth();
        assert_eq!(
            RulerModel::fit(t.origin, t.direction, &[1.0, 2.0], &[1.0, 2.0], None),
            Err(RulerModelError::TooFewTicks(2))
        );
        let same = [5.0; 8];
        let mm: Vec<f64> = (0..8).map(f64::from).collect();
        assert!(RulerModel::fit(t.origin, t.direction, &mm, &same, None).is_err());
        let mut u: Vec<f64> = mm.iter().map(|m| 10.0 * m).collect();
        u[3] = f64::NAN;
        assert!(RulerModel::fit(t.origin, t.direction, &mm, &u, None).is_err());
        assert!(RulerModel::fit(t.origin, [0.0, 0.0], &mm, &mm, None).is_err());
    }

    #[test]
    fn scale_points_follow_the_span_and_the_markers() {
        let t = truth();
        let (mm, u) = samples(&t, |_| 0.0);
        let fit = RulerModel::fit(t.origin, t.direction, &mm, &u, Some(0.0)).unwrap();
        // 40 mm on cm lines: 0–40, 10–50 or 20–60; markers near the 45 mm line pick 20–60.
        let near = |m: f64| {
            let c = fit.point_at_mm(m);
            let d = |dx: f64, dy: f64| Point::new(c.x + dx, c.y + dy);
            Fiducials::new([
                d(-30.0, -20.0),
                d(30.0, -20.0),
                d(30.0, 20.0),
                d(-30.0, 20.0),
                c,
            ])
            .unwrap()
        };
        let sp = fit.scale_points(40.0, Some(&near(45.0))).unwrap();
        let [a, b] = *sp.points();
        assert!((fit.mm_at_u(fit.along(a)) - 20.0).abs() < 1e-9);
        assert!((fit.mm_at_u(fit.along(b)) - 60.0).abs() < 1e-9);
        // 7 mm (not whole cm) on mm lines, centred on the markers at 12 mm: 9–16 (8.5 ± 3.5).
        let sp = fit.scale_points(7.0, Some(&near(12.0))).unwrap();
        let s = fit.mm_at_u(fit.along(sp.points()[0]));
        assert!((s - 8.0).abs() < 1e-9 || (s - 9.0).abs() < 1e-9, "{s}");
        // Longer than the graduation: none.
        assert!(fit.scale_points(70.0, None).is_none());
        assert!(fit.scale_points(0.0, None).is_none());
    }

    #[test]
    fn tick_directions_are_the_pencil_through_their_vanishing_point() {
        let t = truth();
        // A finite vanishing point off to the right of the (vertical) ruler, and one at infinity.
        for vp in [
            [3000.0, 400.0, 1.0],
            [-2500.0, 1200.0, 1.0],
            [1.0, 0.05, 0.0],
        ] {
            let ticks = TickDirections::toward(&t, vp).unwrap();
            let m = RulerModel {
                tick_directions: Some(ticks),
                ..t
            };
            assert!(m.is_valid());
            // The line through each graduation line's point with direction cos δ·n + sin δ·d
            // passes through the vanishing point.
            let (d, n) = (m.direction, [-m.direction[1], m.direction[0]]);
            for mm in [0.0, 17.0, 60.0] {
                let p = m.point_at_mm(mm);
                let delta = ticks.tan_at_u(m.u_at_mm(mm)).atan();
                let line = [
                    delta.cos() * n[0] + delta.sin() * d[0],
                    delta.cos() * n[1] + delta.sin() * d[1],
                ];
                // Homogeneous line through p along `line`, against the vanishing point.
                let l = [line[1], -line[0], line[0] * p.y - line[1] * p.x];
                let dist = (l[0] * vp[0] + l[1] * vp[1] + l[2] * vp[2])
                    / (vp[0].hypot(vp[1]).hypot(vp[2]));
                assert!(dist.abs() < 1e-9, "{vp:?} {mm}: {dist}");
            }
            // And the vanishing point comes back (up to scale).
            let back = m.tick_vanishing_point().unwrap();
            let cross = [
                back[1] * vp[2] - back[2] * vp[1],
                back[2] * vp[0] - back[0] * vp[2],
                back[0] * vp[1] - back[1] * vp[0],
            ];
            let scale = back.iter().map(|v| v * v).sum::<f64>().sqrt()
                * vp.iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!(
                cross.iter().all(|c| c.abs() < 1e-12 * scale),
                "{back:?} vs {vp:?}"
            );
        }
        // On the reading line (lines along the ruler), or not finite: none.
        let on_line = t.point_at_mm(30.0);
        assert!(TickDirections::toward(&t, [on_line.x, on_line.y, 1.0]).is_none());
        assert!(TickDirections::toward(&t, [f64::NAN, 0.0, 1.0]).is_none());
        // Without tick directions there is no vanishing point, and other tick coefficients
        // change nothing.
        assert!(t.tick_vanishing_point().is_none());
        assert_eq!(t.with_tick_tan([0.1, 0.2]), t);
    }

    #[test]
    fn tick_directions_are_validated() {
        let t = truth();
        let ticks = TickDirections {
            tan: [0.01, -2e-5],
            covariance: [[1e-6, 0.0], [0.0, 1e-12]],
        };
        assert!(
            RulerModel {
                tick_directions: Some(ticks),
                ..t
            }
            .is_valid()
        );
        for bad in [
            TickDirections {
                tan: [f64::NAN, 0.0],
                ..ticks
            },
            TickDirections {
                covariance: [[-1e-6, 0.0], [0.0, 1e-12]],
                ..ticks
            },
            TickDirections {
                covariance: [[1e-6, f64::INFINITY], [0.0, 1e-12]],
                ..ticks
            },
        ] {
            assert!(
                !RulerModel {
                    tick_directions: Some(bad),
                    ..t
                }
                .is_valid()
            );
        }
    }

    #[test]
    fn tick_directions_are_optional_in_json() {
        let t = truth();
        // Without them the JSON is what it always was, and such JSON still loads.
        let old = serde_json::to_value(t).unwrap();
        assert!(old.get("tick_directions").is_none());
        let back: RulerModel = serde_json::from_value(old).unwrap();
        assert_eq!(back, t);
        // With them they round-trip.
        let with = RulerModel {
            tick_directions: Some(TickDirections {
                tan: [0.0125, -3.5e-5],
                covariance: [[2e-6, -1e-9], [-1e-9, 4e-12]],
            }),
            ..t
        };
        let json = serde_json::to_string(&with).unwrap();
        assert!(json.contains("\"tick_directions\":{\"tan\":"));
        assert_eq!(serde_json::from_str::<RulerModel>(&json).unwrap(), with);
    }
}
