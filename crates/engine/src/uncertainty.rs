//! Propagation of the point-placement uncertainty σ (px) to every strain measure.
//!
//! Model: every placed coordinate (x and y of the 5 fiducials and of the 2 scale points, in the
//! reference image and in the current image: 28 numbers) carries an independent error of
//! standard deviation σ px. The result is linearised (first-order) propagation, done in two
//! exact-enough steps:
//!
//! 1. points → F, analytically. With `A = Σ X Xᵀ`, `r_i = x_i − F X_i` and `s = Σ X_i`:
//!    - a current corner i moved by `e_a`: `∂F = e_a (A⁻¹X_i)ᵀ`; the current centre:
//!      `∂F = −e_a (A⁻¹s)ᵀ`;
//!    - a reference corner: `∂F = r_i (A⁻¹e_a)ᵀ − F e_a (A⁻¹X_i)ᵀ`; the reference centre:
//!      `∂F = −(Σ r_i)(A⁻¹e_a)ᵀ + F e_a (A⁻¹s)ᵀ`;
//!    - the scale points only change the ratio k = |s1 − s0|_ref / |s1 − s0|_cur of the two
//!      images' mm/px, and `F ∝ k`, so `∂F = F·δ ln k` with `Var(ln k) = 2σ²(1/ℓ_ref² + 1/ℓ_cur²)`
//!      (ℓ = ruler length in px; a point moved along the ruler changes ℓ one-for-one).
//!
//!    Fiducial errors are σ·mm/px of their image in mm. This gives the 4×4 covariance of
//!    (F₀₀, F₀₁, F₁₀, F₁₁).
//! 2. F → measures, by central differences: every field of [`StrainMeasures`] is a smooth
//!    function of F alone, so its gradient over the 4 entries of F (step 1e-6·max|F|) and the
//!    covariance give `σ² = ∇mᵀ C ∇m`.
//!
//! Special fields:
//! - `residual_mm`: the RMS residual that placement noise alone would produce on a perfectly
//!   homogeneous deformation, `√(tr(S)·(6 − sᵀA⁻¹s)/4)` with `S = σ_ref² FFᵀ + σ_cur² I`: the
//!   noise floor to compare the measured residual with (linearising the RMS itself is useless
//!   near 0, where it is not differentiable).
//! - principal angles: the direction of an almost isotropic tensor is undetermined; their
//!   uncertainty is capped at [`MAX_ANGLE_UNCERTAINTY_DEG`], the standard deviation of a
//!   direction spread uniformly over 180°. Angle differences are wrapped before differencing.
//!
//! Linearisation is accurate while σ is small against the marker spacing (it is: 1 px against
//! hundreds) and the principal strains differ by more than their uncertainty; for a nearly
//! isotropic strain state the σ of e1, e2 and the maximum shear is an underestimate.
//!
//! The reference row: its strains are 0 by definition whatever the points (reference against
//! itself), so every field of its uncertainty is exactly 0. The reference points' σ still
//! enters every other row through X_i and ℓ_ref.

use crate::points::{Fiducials, Point, ScalePoints};
use crate::scale::{ImageScale, ScaleError};
use crate::strain::{
    Deformation, StrainError, StrainMeasures, deformation_gradient, edges, mm_per_px,
    normalise_half_turn, spread, to_mm, wrap,
};
use nalgebra::{Matrix2, Matrix4, Vector2, Vector4};

/// Cap of the standard uncertainty of a principal angle: 180°/√12, the standard deviation of a
/// direction uniformly distributed over a half turn (i.e. completely undetermined).
pub const MAX_ANGLE_UNCERTAINTY_DEG: f64 = 51.961_524_227_066_32;

/// Relative step of the central differences over F.
const STEP: f64 = 1e-6;

/// One image reduced to what the propagation needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub mm: [Point; 5],
    /// Local mm/px at the markers (fiducial σ in mm = σ px × this).
    pub mm_per_px: f64,
    /// Length (px) of the two scale points when they give the scale (their σ then enters the
    /// strain through the ratio of the two images' mm/px); `None` for the ruler-model methods.
    pub scale_px: Option<f64>,
}

impl Frame {
    pub fn new(fiducials: &Fiducials, scale: &ScalePoints, scale_length: f64) -> Frame {
        Frame {
            mm: to_mm(fiducials, scale, scale_length),
            mm_per_px: mm_per_px(scale, scale_length),
            scale_px: Some(scale.length_px()),
        }
    }

    /// The markers of one photo under its scale.
    pub fn from_scale(fiducials: &Fiducials, scale: &ImageScale) -> Result<Frame, ScaleError> {
        let mm = scale.to_mm(fiducials)?;
        Ok(Frame {
            mm,
            mm_per_px: scale.mm_per_px(fiducials, &mm),
            scale_px: scale.span().map(|(points, _)| points.length_px()),
        })
    }
}

/// The placed points of two photos (a reference and a current one) and the scale length: what
/// [`PhotoPair::propagate`] and [`PhotoPair::gradient_covariance`] start from.
#[derive(Debug, Clone, Copy)]
pub struct PhotoPair<'a> {
    pub reference: &'a Fiducials,
    pub reference_scale: &'a ScalePoints,
    pub current: &'a Fiducials,
    pub current_scale: &'a ScalePoints,
    /// Real length between the two scale points, mm.
    pub scale_length: f64,
}

impl PhotoPair<'_> {
    /// Both images' frames (mm, from their own scale points) and the deformation gradient
    /// between them.
    fn frames_and_gradient(&self) -> Result<(Frame, Frame, Deformation), StrainError> {
        let r = Frame::new(self.reference, self.reference_scale, self.scale_length);
        let c = Frame::new(self.current, self.current_scale, self.scale_length);
        let d = deformation_gradient(&r.mm, &c.mm)?;
        Ok((r, c, d))
    }

    /// Standard uncertainty (one σ per field) of the strain of `current` relative to
    /// `reference` when every placed coordinate has an independent error of `sigma_px` px. See
    /// the module documentation for the method. `sigma_px = 0` gives all zeros.
    pub fn propagate(&self, sigma_px: f64) -> Result<StrainMeasures, StrainError> {
        let (r, c, d) = self.frames_and_gradient()?;
        let u = propagate_frames(&r, &c, &d, sigma_px);
        if u.is_finite() {
            Ok(u)
        } else {
            Err(StrainError::NonFinite)
        }
    }

    /// Covariance of (F₀₀, F₀₁, F₁₀, F₁₁) from independent errors of `sigma_px` on all 28
    /// placed coordinates (step 1 of the module documentation), row-major.
    pub fn gradient_covariance(&self, sigma_px: f64) -> Result<[[f64; 4]; 4], StrainError> {
        let (r, c, d) = self.frames_and_gradient()?;
        let (cov, _) = points_covariance(&r, &c, &d, sigma_px);
        let cov = cov + span_covariance(&r, &c, &d, sigma_px);
        Ok(std::array::from_fn(|i| {
            std::array::from_fn(|j| cov[(i, j)])
        }))
    }
}

/// Covariance of vec(F) from the fiducials' σ and the residual noise floor (mm).
pub(crate) fn points_covariance(
    r: &Frame,
    c: &Frame,
    d: &Deformation,
    sigma_px: f64,
) -> (Matrix4<f64>, f64) {
    let xr = edges(&r.mm);
    let xc = edges(&c.mm);
    let a_inv = spread(&xr).try_inverse().unwrap_or_else(Matrix2::zeros);
    let f = Matrix2::new(d.f[0][0], d.f[0][1], d.f[1][0], d.f[1][1]);
    let s: Vector2<f64> = xr.iter().sum();
    let a_inv_s = a_inv * s;
    let sig_r2 = (sigma_px * r.mm_per_px).powi(2);
    let sig_c2 = (sigma_px * c.mm_per_px).powi(2);

    let mut cov = Matrix4::zeros();
    // Current points: Cov(F_rs, F_tu) = σc² δ_rt G_su with G = A⁻¹ + (A⁻¹s)(A⁻¹s)ᵀ.
    let g = a_inv + a_inv_s * a_inv_s.transpose();
    for row in 0..2 {
        for s_ in 0..2 {
            for u in 0..2 {
                cov[(2 * row + s_, 2 * row + u)] += sig_c2 * g[(s_, u)];
            }
        }
    }
    // Reference points.
    let residuals: [Vector2<f64>; 4] = std::array::from_fn(|i| xc[i] - f * xr[i]);
    let residual_sum: Vector2<f64> = residuals.iter().sum();
    let vec_of = |m: Matrix2<f64>| Vector4::new(m[(0, 0)], m[(0, 1)], m[(1, 0)], m[(1, 1)]);
    for a in 0..2 {
        let e_a = if a == 0 { Vector2::x() } else { Vector2::y() };
        let a_inv_e = a_inv * e_a;
        let fe = f * e_a;
        for i in 0..4 {
            let grad = residuals[i] * a_inv_e.transpose() - fe * (a_inv * xr[i]).transpose();
            let v = vec_of(grad);
            cov += sig_r2 * v * v.transpose();
        }
        let grad = -residual_sum * a_inv_e.transpose() + fe * a_inv_s.transpose();
        let v = vec_of(grad);
        cov += sig_r2 * v * v.transpose();
    }

    let trace_s = sig_r2 * f.norm_squared() + 2.0 * sig_c2;
    let projected = (6.0 - s.dot(&a_inv_s)).max(0.0);
    let floor = (trace_s * projected / 4.0).sqrt();
    (cov, floor)
}

/// Covariance of vec(F) from the σ of the two scale points of each image, when they give the
/// scale: they only change the ratio k of the two images' mm/px, `F ∝ k`, so `δF = F·δ ln k`
/// with `Var(ln k) = 2σ²(1/ℓ_ref² + 1/ℓ_cur²)`.
pub(crate) fn span_covariance(
    r: &Frame,
    c: &Frame,
    d: &Deformation,
    sigma_px: f64,
) -> Matrix4<f64> {
    let var_ln_k = 2.0
        * sigma_px
        * sigma_px
        * (r.scale_px.map_or(0.0, |l| l.powi(-2)) + c.scale_px.map_or(0.0, |l| l.powi(-2)));
    let vf = vec_f(d);
    var_ln_k * vf * vf.transpose()
}

pub(crate) fn vec_f(d: &Deformation) -> Vector4<f64> {
    Vector4::new(d.f[0][0], d.f[0][1], d.f[1][0], d.f[1][1])
}

/// Gradient of every field of [`StrainMeasures`] over vec(F), by central differences.
pub(crate) fn measure_gradients(d: &Deformation) -> [[f64; StrainMeasures::FIELD_COUNT]; 4] {
    let f = d.f;
    let scale = f.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let h = STEP * scale.max(f64::MIN_POSITIVE);
    let mut grads = [[0.0; StrainMeasures::FIELD_COUNT]; 4];
    for (k, grad) in grads.iter_mut().enumerate() {
        let at = |sign: f64| {
            let mut g = f;
            g[k / 2][k % 2] += sign * h;
            StrainMeasures::from_gradient(&Deformation {
                f: g,
                residual_mm: 0.0,
            })
            .to_array()
        };
        let plus = at(1.0);
        let minus = at(-1.0);
        for (field, out) in grad.iter_mut().enumerate() {
            let mut diff = plus[field] - minus[field];
            if StrainMeasures::HALF_TURN_ANGLES.contains(&field) {
                diff = normalise_half_turn(diff);
            } else if field == StrainMeasures::ROTATION {
                diff = wrap(diff, 360.0);
            }
            *out = diff / (2.0 * h);
        }
    }
    grads
}

/// σ of every field from the covariance of vec(F): `σ² = ∇mᵀ C ∇m`; the entries of F from the
/// diagonal of C, principal angles capped, the residual set to `floor`.
pub(crate) fn sigmas(
    grads: &[[f64; StrainMeasures::FIELD_COUNT]; 4],
    cov: &Matrix4<f64>,
    floor: f64,
) -> StrainMeasures {
    let mut sigma = [0.0; StrainMeasures::FIELD_COUNT];
    for (field, out) in sigma.iter_mut().enumerate() {
        let v = Vector4::new(
            grads[0][field],
            grads[1][field],
            grads[2][field],
            grads[3][field],
        );
        let var = (v.transpose() * cov * v)[(0, 0)];
        *out = var.max(0.0).sqrt();
    }
    for k in 0..4 {
        sigma[k] = cov[(k, k)].max(0.0).sqrt();
    }
    for &field in &StrainMeasures::HALF_TURN_ANGLES {
        sigma[field] = sigma[field].min(MAX_ANGLE_UNCERTAINTY_DEG);
    }
    sigma[StrainMeasures::RESIDUAL] = floor;
    StrainMeasures::from_array(&sigma)
}

/// Standard uncertainty of every field of the strain `d` of frame `c` relative to frame `r`,
/// from the point-placement σ alone (fiducials and, for the span scale, the scale points).
pub(crate) fn propagate_frames(
    r: &Frame,
    c: &Frame,
    d: &Deformation,
    sigma_px: f64,
) -> StrainMeasures {
    if sigma_px == 0.0 {
        return StrainMeasures::default();
    }
    let (cov, floor) = points_covariance(r, c, d, sigma_px);
    let cov = cov + span_covariance(r, c, d, sigma_px);
    sigmas(&measure_gradients(d), &cov, floor)
}
