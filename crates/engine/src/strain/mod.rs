//! Pixels → millimetres → deformation gradient F → strain measures (docs/strain.md §3–4).
//!
//! CONTRACT (fixed; other crates depend on these names):
//! - `to_mm(fiducials, scale, scale_length) -> [Point; 5]` (mm, origin at scale point 0)
//! - `deformation_gradient(reference_mm, current_mm) -> Result<Deformation, StrainError>`
//! - `StrainMeasures::from_gradient(&Deformation) -> StrainMeasures`
//! - `Component` enumerates every reported scalar. Methods: `Component::DEFAULT` (εxx, εyy, εxy),
//!   `Component::ALL`, `key()` ("eps_xx", the serde name), `from_key(&str) -> Option<Self>`,
//!   `label()` (human, e.g. "εxx (small strain)"), `legacy_name()` (Some("x_axis"|"y_axis"|"shear")
//!   for EpsXx/EpsYy/EpsXy, the Python tool's names), `unit()` ("" for strains, "°" for angles),
//!   `value(&StrainMeasures) -> f64`.

use crate::points::{Fiducials, Point, ScalePoints};
use nalgebra::{Matrix2, Vector2};
use serde::{Deserialize, Serialize};

mod component;

pub use component::Component;

/// A symmetric 2×2 tensor by its components (tensor shear, not engineering shear).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Tensor2 {
    pub xx: f64,
    pub yy: f64,
    pub xy: f64,
}

/// Principal values of a [`Tensor2`]: e1 ≥ e2, angle of e1 from the x axis (degrees, image axes,
/// y down), and the maximum in-plane shear (e1 − e2)/2.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Principal {
    pub e1: f64,
    pub e2: f64,
    pub angle_deg: f64,
    pub max_shear: f64,
}

/// Least-squares deformation gradient from reference to current configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Deformation {
    /// Row-major F: `f[row][col]`.
    pub f: [[f64; 2]; 2],
    /// RMS of `F X_i − x_i` over the four edge vectors, in mm.
    pub residual_mm: f64,
}

/// Every strain measure of one image relative to the reference.
/// The same struct also carries standard uncertainties (one σ per field) in analysis results.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StrainMeasures {
    pub f: [[f64; 2]; 2],
    pub residual_mm: f64,
    /// ε = ½(F + Fᵀ) − I
    pub small: Tensor2,
    /// E = ½(FᵀF − I)
    pub green: Tensor2,
    /// H = ln U, U = √(FᵀF)
    pub hencky: Tensor2,
    pub small_principal: Principal,
    pub green_principal: Principal,
    pub hencky_principal: Principal,
    /// J = det F
    pub j: f64,
    /// Rigid rotation angle of R in F = R U, degrees.
    pub rotation_deg: f64,
}

/// Why F could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrainError {
    /// Σ X Xᵀ is singular or badly conditioned: reference markers collinear or coincident.
    #[error("the reference markers are collinear or coincident (condition number {condition:.3e})")]
    DegenerateReference { condition: f64 },
    /// det F ≤ 0 or not finite, or the current markers are collinear (their spread matrix
    /// Σ x xᵀ has a condition number above [`MAX_CONDITION`]), or an entry of F exceeds
    /// [`MAX_GRADIENT`]: the current markers are folded over, collinear or coincident.
    #[error("the markers are folded over, collinear or coincident (det F = {det:.3e})")]
    DegenerateCurrent { det: f64 },
    /// A result overflowed to infinity or NaN: coordinates, scale length or σ are far outside
    /// any physical range (e.g. points at 1e300 px).
    #[error(
        "the numbers are out of range: a result is not finite (check coordinates, scale length and sigma)"
    )]
    NonFinite,
}

/// Largest accepted condition number (λmax/λmin) of the marker spread matrix Σ X Xᵀ.
///
/// For a rectangular marker pattern of width w and height h the condition number is (w/h)², so
/// 1e6 means an aspect ratio of 1000 : 1: anything thinner is a line of markers, not an area,
/// and one of the two strain directions would be decided by rounding. Applies to the reference
/// markers ([`StrainError::DegenerateReference`]) and to the current ones
/// ([`StrainError::DegenerateCurrent`]).
pub const MAX_CONDITION: f64 = 1e6;

/// Largest accepted magnitude of an entry of F (a million-fold stretch): beyond it the scale or
/// the markers are wrong, and squares of F would approach overflow.
pub const MAX_GRADIENT: f64 = 1e6;

/// Millimetres per pixel of an image: `L / |s1 − s0|`.
pub fn mm_per_px(scale: &ScalePoints, scale_length: f64) -> f64 {
    scale_length / scale.length_px()
}

/// Map mm coordinates of the five fiducials: `q = (p − s0) · L / |s1 − s0|`.
pub fn to_mm(fiducials: &Fiducials, scale: &ScalePoints, scale_length: f64) -> [Point; 5] {
    let c = mm_per_px(scale, scale_length);
    let s0 = scale.points()[0];
    fiducials
        .points()
        .map(|p| Point::new((p.x - s0.x) * c, (p.y - s0.y) * c))
}

/// Condition number λmax/λmin of a symmetric positive semi-definite 2×2 matrix; `INFINITY` when
/// it is singular, not finite or not positive definite.
pub(crate) fn condition_number(m: &Matrix2<f64>) -> f64 {
    let (a, b, c) = (m[(0, 0)], m[(1, 1)], m[(0, 1)]);
    let lmax = 0.5 * (a + b) + (0.5 * (a - b)).hypot(c);
    if !(lmax > 0.0 && lmax.is_finite()) {
        return f64::INFINITY;
    }
    let lmin = (a * b - c * c) / lmax;
    if lmin > 0.0 {
        lmax / lmin
    } else {
        f64::INFINITY
    }
}

/// The four centre→corner edge vectors `q_i − q_4`, i = 0..3.
pub(crate) fn edges(q: &[Point; 5]) -> [Vector2<f64>; 4] {
    let c = q[Fiducials::CENTRE];
    [0, 1, 2, 3].map(|i| Vector2::new(q[i].x - c.x, q[i].y - c.y))
}

/// `Σ v vᵀ` over the four vectors.
pub(crate) fn spread(v: &[Vector2<f64>; 4]) -> Matrix2<f64> {
    v.iter()
        .fold(Matrix2::zeros(), |acc, x| acc + x * x.transpose())
}

/// `F = (Σ x_i X_iᵀ)(Σ X_i X_iᵀ)⁻¹` over the four centre→corner vectors.
///
/// Computed as `F = I + (Σ (x_i − X_i) X_iᵀ)(Σ X_i X_iᵀ)⁻¹`, which is the same matrix but keeps
/// small displacements exact: identical edge vectors give exactly F = I and residual 0.
///
/// Errors: [`StrainError::DegenerateReference`] when `Σ X Xᵀ` has a condition number above
/// [`MAX_CONDITION`] (reference markers collinear or coincident);
/// [`StrainError::DegenerateCurrent`] when det F ≤ 0, F is not finite, an entry of F exceeds
/// [`MAX_GRADIENT`] or the current markers are collinear by the same condition-number test.
pub fn deformation_gradient(
    reference_mm: &[Point; 5],
    current_mm: &[Point; 5],
) -> Result<Deformation, StrainError> {
    let xr = edges(reference_mm);
    let xc = edges(current_mm);
    let a = spread(&xr);
    let condition = condition_number(&a);
    if condition > MAX_CONDITION {
        return Err(StrainError::DegenerateReference { condition });
    }
    let a_inv = a
        .try_inverse()
        .ok_or(StrainError::DegenerateReference { condition })?;
    let g = xr
        .iter()
        .zip(&xc)
        .fold(Matrix2::zeros(), |acc: Matrix2<f64>, (big, small)| {
            acc + (small - big) * big.transpose()
        });
    let f = Matrix2::identity() + g * a_inv;
    let det = f.determinant();
    let in_range = f.iter().all(|v| v.is_finite() && v.abs() <= MAX_GRADIENT);
    if !(det > 0.0
        && det.is_finite()
        && in_range
        && condition_number(&spread(&xc)) <= MAX_CONDITION)
    {
        return Err(StrainError::DegenerateCurrent { det });
    }
    let sum_sq: f64 = xr
        .iter()
        .zip(&xc)
        .map(|(big, small)| (f * big - small).norm_squared())
        .sum();
    let residual_mm = (sum_sq / 4.0).sqrt();
    if !residual_mm.is_finite() {
        return Err(StrainError::NonFinite);
    }
    Ok(Deformation {
        f: [[f[(0, 0)], f[(0, 1)]], [f[(1, 0)], f[(1, 1)]]],
        residual_mm,
    })
}

impl Deformation {
    /// F = I with zero residual: the reference image against itself.
    pub const IDENTITY: Deformation = Deformation {
        f: [[1.0, 0.0], [0.0, 1.0]],
        residual_mm: 0.0,
    };

    /// det F.
    pub fn det(&self) -> f64 {
        let [[a, b], [c, d]] = self.f;
        a * d - b * c
    }
}

impl Tensor2 {
    /// Principal values and direction: `e1,2 = (a+b)/2 ± √(((a−b)/2)² + c²)`,
    /// `θ = ½·atan2(2c, a−b)` in degrees, normalised to (−90°, 90°], max shear = (e1 − e2)/2.
    ///
    /// θ is measured from the +x axis towards +y; with image axes (y down) a positive angle is
    /// clockwise on screen. For an isotropic tensor (a = b, c = 0) the direction is undefined and
    /// θ = 0 is reported.
    pub fn principal(&self) -> Principal {
        let m = 0.5 * (self.xx + self.yy);
        let half_diff = 0.5 * (self.xx - self.yy);
        let r = half_diff.hypot(self.xy);
        let angle_deg = if r == 0.0 {
            0.0
        } else {
            normalise_half_turn(0.5 * (2.0 * self.xy).atan2(self.xx - self.yy).to_degrees())
        };
        Principal {
            e1: m + r,
            e2: m - r,
            angle_deg,
            max_shear: r,
        }
    }
}

/// An axis direction in degrees mapped to (−90°, 90°] (directions repeat every 180°).
/// Values already in range are returned unchanged (bit for bit, −0 becomes +0).
pub(crate) fn normalise_half_turn(deg: f64) -> f64 {
    wrap(deg, 180.0)
}

/// `deg` mapped to (−period/2, period/2]; unchanged when already there; NaN stays NaN.
pub(crate) fn wrap(deg: f64, period: f64) -> f64 {
    let half = 0.5 * period;
    if deg > -half && deg <= half {
        return deg + 0.0;
    }
    let r = (deg + half).rem_euclid(period) - half;
    if r == -half { half } else { r + 0.0 }
}

impl StrainMeasures {
    /// Number of scalar fields, in the order of [`to_array`](Self::to_array).
    pub const FIELD_COUNT: usize = 28;

    /// Indices (in [`to_array`](Self::to_array) order) of the three angle fields of the
    /// principal tensors and of the rotation; all in degrees.
    pub(crate) const HALF_TURN_ANGLES: [usize; 3] = [16, 20, 24];
    pub(crate) const ROTATION: usize = 27;
    pub(crate) const RESIDUAL: usize = 4;

    /// Every measure derived from F (docs/strain.md §3–4):
    /// - small strain `ε = ½(F + Fᵀ) − I`;
    /// - Green–Lagrange `E = ½(FᵀF − I)`, computed as `½((F₀₀−1)(F₀₀+1) + F₁₀²)` etc. so that
    ///   small strains keep their digits;
    /// - Hencky `H = ln U`, `U = √(FᵀF)`: FᵀF = I + 2E has the eigenvectors of E and eigenvalues
    ///   `1 + 2E_i`, so `H_i = ½ ln(1 + 2E_i)` along the principal directions of E;
    /// - principal values, direction and maximum shear of each tensor ([`Tensor2::principal`]);
    /// - `J = det F`;
    /// - rigid rotation of `F = RU`: for 2×2 with det F > 0, R is proportional to
    ///   `F + det(F)·F⁻ᵀ`, so the angle is `atan2(F₁₀ − F₀₁, F₀₀ + F₁₁)` (degrees, from +x
    ///   towards +y, i.e. clockwise on screen since y points down).
    ///
    /// F = I gives exactly 0 for every strain, J = 1 and rotation 0. F must have det F > 0, as
    /// [`deformation_gradient`] guarantees; otherwise Hencky and rotation are meaningless.
    pub fn from_gradient(d: &Deformation) -> StrainMeasures {
        let [[f00, f01], [f10, f11]] = d.f;
        let small = Tensor2 {
            xx: f00 - 1.0,
            yy: f11 - 1.0,
            xy: 0.5 * (f01 + f10),
        };
        let green = Tensor2 {
            xx: 0.5 * ((f00 - 1.0) * (f00 + 1.0) + f10 * f10),
            yy: 0.5 * (f01 * f01 + (f11 - 1.0) * (f11 + 1.0)),
            xy: 0.5 * (f00 * f01 + f10 * f11),
        };
        let j = f00 * f11 - f01 * f10;
        let small_principal = small.principal();
        let green_principal = green.principal();

        // Hencky along the principal directions of E.
        let h1 = 0.5 * (2.0 * green_principal.e1).ln_1p();
        let h2 = if 2.0 * green_principal.e2 > -0.5 {
            0.5 * (2.0 * green_principal.e2).ln_1p()
        } else {
            // λ1·λ2 = det(FᵀF) = J²: avoids the cancellation in 1 + 2E₂ when λ2 ≪ 1.
            j.abs().ln() - h1
        };
        let hm = 0.5 * (h1 + h2);
        let hr = 0.5 * (h1 - h2);
        let hencky = if green_principal.max_shear > 0.0 {
            let cos2 = 0.5 * (green.xx - green.yy) / green_principal.max_shear;
            let sin2 = green.xy / green_principal.max_shear;
            Tensor2 {
                xx: hm + hr * cos2,
                yy: hm - hr * cos2,
                xy: hr * sin2,
            }
        } else {
            Tensor2 {
                xx: hm,
                yy: hm,
                xy: 0.0,
            }
        };
        let hencky_principal = Principal {
            e1: h1,
            e2: h2,
            angle_deg: green_principal.angle_deg,
            max_shear: hr,
        };
        let rotation_deg = (f10 - f01).atan2(f00 + f11).to_degrees() + 0.0;
        StrainMeasures {
            f: d.f,
            residual_mm: d.residual_mm,
            small,
            green,
            hencky,
            small_principal,
            green_principal,
            hencky_principal,
            j,
            rotation_deg,
        }
    }

    /// The measures of the reference image against itself: F = I, every strain exactly 0,
    /// J = 1, rotation 0.
    pub fn identity() -> StrainMeasures {
        Self::from_gradient(&Deformation::IDENTITY)
    }

    /// True when every field is finite.
    pub fn is_finite(&self) -> bool {
        self.to_array().iter().all(|v| v.is_finite())
    }

    /// Every field as a flat array: F₀₀, F₀₁, F₁₀, F₁₁, residual, small (xx, yy, xy), green,
    /// hencky, small principal (e1, e2, angle, max shear), green principal, hencky principal,
    /// J, rotation.
    pub fn to_array(&self) -> [f64; Self::FIELD_COUNT] {
        let t = |t: &Tensor2| [t.xx, t.yy, t.xy];
        let p = |p: &Principal| [p.e1, p.e2, p.angle_deg, p.max_shear];
        let [[f00, f01], [f10, f11]] = self.f;
        let (s, g, h) = (t(&self.small), t(&self.green), t(&self.hencky));
        let (sp, gp, hp) = (
            p(&self.small_principal),
            p(&self.green_principal),
            p(&self.hencky_principal),
        );
        [
            f00,
            f01,
            f10,
            f11,
            self.residual_mm,
            s[0],
            s[1],
            s[2],
            g[0],
            g[1],
            g[2],
            h[0],
            h[1],
            h[2],
            sp[0],
            sp[1],
            sp[2],
            sp[3],
            gp[0],
            gp[1],
            gp[2],
            gp[3],
            hp[0],
            hp[1],
            hp[2],
            hp[3],
            self.j,
            self.rotation_deg,
        ]
    }

    /// The inverse of [`to_array`](Self::to_array).
    pub fn from_array(a: &[f64; Self::FIELD_COUNT]) -> StrainMeasures {
        let t = |i: usize| Tensor2 {
            xx: a[i],
            yy: a[i + 1],
            xy: a[i + 2],
        };
        let p = |i: usize| Principal {
            e1: a[i],
            e2: a[i + 1],
            angle_deg: a[i + 2],
            max_shear: a[i + 3],
        };
        StrainMeasures {
            f: [[a[0], a[1]], [a[2], a[3]]],
            residual_mm: a[4],
            small: t(5),
            green: t(8),
            hencky: t(11),
            small_principal: p(14),
            green_principal: p(18),
            hencky_principal: p(22),
            j: a[26],
            rotation_deg: a[27],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_keys_are_the_serde_names_and_round_trip() {
        for c in Component::ALL {
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.key())
            );
            assert_eq!(Component::from_key(c.key()), Some(c));
            let back: Component = serde_json::from_str(&format!("\"{}\"", c.key())).unwrap();
            assert_eq!(back, c);
        }
        let mut keys: Vec<_> = Component::ALL.iter().map(|c| c.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Component::ALL.len());
        assert_eq!(Component::from_key("x_axis"), None);
        assert_eq!(Component::from_key("EPS_XX"), None);
    }

    #[test]
    fn legacy_names_labels_and_units() {
        let legacy: Vec<_> = Component::DEFAULT.iter().map(|c| c.legacy_name()).collect();
        assert_eq!(legacy, [Some("x_axis"), Some("y_axis"), Some("shear")]);
        assert_eq!(Component::from_legacy_name("shear"), Some(Component::EpsXy));
        assert_eq!(Component::Exx.legacy_name(), None);
        assert_eq!(Component::EpsXx.label(), "εxx (small strain)");
        assert_eq!(Component::EpsXx.to_string(), "εxx (small strain)");
        let angles: Vec<_> = Component::ALL
            .into_iter()
            .filter(|c| c.unit() == "°")
            .collect();
        assert_eq!(
            angles,
            [
                Component::EpsAngle,
                Component::EAngle,
                Component::Rotation,
                Component::HAngle
            ]
        );
        assert_eq!(Component::J.unit(), "");
    }

    #[test]
    fn component_values_pick_the_right_field() {
        let arr: [f64; StrainMeasures::FIELD_COUNT] = std::array::from_fn(|i| i as f64 + 0.5);
        let m = StrainMeasures::from_array(&arr);
        assert_eq!(m.to_array(), arr);
        let expected = [
            (Component::EpsXx, 5.5),
            (Component::EpsYy, 6.5),
            (Component::EpsXy, 7.5),
            (Component::GammaXy, 15.0),
            (Component::Exx, 8.5),
            (Component::Eyy, 9.5),
            (Component::Exy, 10.5),
            (Component::HenckyXx, 11.5),
            (Component::HenckyYy, 12.5),
            (Component::HenckyXy, 13.5),
            (Component::Eps1, 14.5),
            (Component::Eps2, 15.5),
            (Component::EpsAngle, 16.5),
            (Component::EpsMaxShear, 17.5),
            (Component::E1, 18.5),
            (Component::E2, 19.5),
            (Component::EAngle, 20.5),
            (Component::EMaxShear, 21.5),
            (Component::J, 26.5),
            (Component::Rotation, 27.5),
            (Component::H1, 22.5),
            (Component::H2, 23.5),
            (Component::HAngle, 24.5),
            (Component::HMaxShear, 25.5),
        ];
        assert_eq!(expected.len(), Component::ALL.len());
        for (c, v) in expected {
            assert_eq!(c.value(&m), v, "{c:?}");
        }
        assert_eq!(
            m.small_principal.angle_deg,
            arr[StrainMeasures::HALF_TURN_ANGLES[0]]
        );
        assert_eq!(
            m.green_principal.angle_deg,
            arr[StrainMeasures::HALF_TURN_ANGLES[1]]
        );
        assert_eq!(
            m.hencky_principal.angle_deg,
            arr[StrainMeasures::HALF_TURN_ANGLES[2]]
        );
        assert_eq!(m.rotation_deg, arr[StrainMeasures::ROTATION]);
        assert_eq!(m.residual_mm, arr[StrainMeasures::RESIDUAL]);
    }

    #[test]
    fn wrap_keeps_in_range_values_bit_for_bit() {
        assert_eq!(normalise_half_turn(0.1), 0.1);
        assert_eq!(normalise_half_turn(-90.0), 90.0);
        assert_eq!(normalise_half_turn(135.0), -45.0);
        assert_eq!(normalise_half_turn(-0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(wrap(190.0, 360.0), -170.0);
        assert!(wrap(f64::NAN, 180.0).is_nan());
        assert!(wrap(f64::INFINITY, 180.0).is_nan());
    }

    #[test]
    fn condition_number_of_degenerate_matrices_is_infinite() {
        assert_eq!(condition_number(&Matrix2::zeros()), f64::INFINITY);
        assert_eq!(
            condition_number(&Matrix2::new(1.0, 1.0, 1.0, 1.0)),
            f64::INFINITY
        );
        assert_eq!(
            condition_number(&Matrix2::new(f64::NAN, 0.0, 0.0, 1.0)),
            f64::INFINITY
        );
        assert_eq!(condition_number(&Matrix2::new(4.0, 0.0, 0.0, 1.0)), 4.0);
    }
}
