//! Plane rectification from the ruler alone: undo the camera's tilt, not just the scale.
//!
//! **Camera model.** A pinhole camera with square pixels, focal length `f` px and its principal
//! point at the image centre, no lens distortion. The specimen's surface and the ruler lie in one
//! plane. The plane→image map is then a homography `H = K [r₁ r₂ t]` with
//! `K = [[f, 0, cₓ], [0, f, c_y], [0, 0, 1]]`, `r₁, r₂` the plane's axes and `t` its origin in
//! camera coordinates.
//!
//! **What the ruler's positions give.** Take the plane's X axis along the ruler, X in mm from its
//! 0 line. The ruler model ([`RulerModel`]) is `H` restricted to that axis: the image of the
//! `m`-mm line is `m·h₁ + h₃` in homogeneous coordinates, with `h₁ = (c₂·o + c₀·d, c₂)` and
//! `h₃ = (o + c₁·d, 1)` (`o`, `d` the model's origin and direction). With `K` known,
//! `K⁻¹h₁ ∝ r₁` and `K⁻¹h₃ ∝ t`, and because `r₁` is a unit vector both are fixed: the ruler's
//! direction in space and the plane's distance. What the positions along the ruler cannot show
//! is how far the plane is turned *about the ruler itself*.
//!
//! **What the graduation lines' directions give.** The graduation lines are images of plane
//! lines square to the ruler, all parallel to `r₂`; their images converge to its vanishing point
//! `V = K r₂` (at infinity, parallel lines, when `r₂` is square to the camera axis). The ruler
//! model's [`TickDirections`](super::ruler::TickDirections) are exactly that pencil of lines, so
//! `r₂′ ∝ K⁻¹V` in homogeneous form; it is made square to `r₁` (removing what a slightly wrong
//! focal length or noisy directions leave along the ruler), its sign chosen to agree with the
//! least tilted plane below, and `r₃ = r₁ × r₂`. The plane's turn about the ruler, relative to
//! the least tilted plane, is reported as [`Rectification::turn_about_ruler`]. So:
//!
//! - a camera tilted about an axis **across** the ruler (the ruler recedes: its mm/px changes
//!   along it) is corrected from the positions, given `f`;
//! - a camera tilted about an axis **along** the ruler is corrected from the lines' convergence,
//!   given `f`. How well depends on how well their directions are measured: the convergence over
//!   the graduation seen is small (about `ℓ·tan ψ / f` radians over `ℓ` px of ruler for a tilt
//!   `ψ`: 0.2 rad for 15°, 0.013 rad for 1°, over 750 px at `f` = 933 px), and short, blurred or
//!   few lines give noisy directions (on the synthetic scenes of [`crate::detect::scene`], 2 mm
//!   ticks 13 px long, σ of the turn mostly 0.1–0.3°, up to 0.9°). Their fit's covariance enters the uncertainty
//!   budget.
//! - Only a **significant** turn is applied ([`AboutRuler::Significant`]): with `z` the turn over
//!   its own σ, none of it for `z ≤ 1`, all of it for `z ≥ 3`, a smooth step between. On a photo
//!   square to the specimen about the ruler, the lines' noise would otherwise only add error
//!   (on the synthetic scenes tilted across the ruler alone, it raised the 95th percentile of the
//!   strain error from 0.0005 to 0.002); for turns of a few σ and more it changes nothing. The
//!   budget still counts the turn's σ in full.
//! - **Lens distortion** bends the lines and turns them along the ruler much as a tilt does: it
//!   is not modelled. A radial `k₁ = ±0.05` made the ruler of the synthetic scenes (about 170 px
//!   off the image centre) look turned by 0.4–1.4° (more the farther the ruler is from the
//!   centre); photos with strong distortion should be undistorted first.
//!
//! Without tick directions (hand-placed models, older files, or a detector that found the
//! lines' directions implausible), or when their vanishing point is degenerate (within 60° of
//! the ruler's own direction in space, or implying a plane turned more than 75° from the least
//! tilted one), the plane is the **least tilted** plane that contains the ruler,
//! `r₃ ∝ e_z − (e_z·r₁)r₁`, `r₂ = r₃ × r₁`: a tilt about the ruler is then not seen at all; its
//! error is second order in the angle (1 − cos, 1.5 % at 10°) for the scale, first order for the
//! change of scale across the specimen.
//!
//! **The focal length** enters through `tan θ ≈ c₂·(dm/du)·f`: the tilt θ the ruler's
//! perspective implies depends on it, and likewise the tilt its lines' convergence implies. It
//! comes from the photo's EXIF (35 mm-equivalent focal length) where present, else from a stated
//! default the user can override; see [`focal_px_from_35mm`].
//!
//! The rectified coordinates are turned in-plane so that their X axis is the camera's x axis
//! projected onto the plane: for an untilted camera, rectified mm are exactly the pixel
//! coordinates times a uniform scale, and the strain components keep the photo's axes as their
//! axes (for a tilted one, the axes the photo would have if the camera were turned square to the
//! specimen about the tilt's own axis).

use super::ruler::RulerModel;
use crate::points::Point;
use nalgebra::{Matrix3, Vector3};
use serde::{Deserialize, Serialize};

/// Diagonal of the 35 mm film frame (36 × 24 mm), mm.
pub const FULL_FRAME_DIAGONAL_MM: f64 = 43.266_615_305_567_87;

/// 35 mm-equivalent focal length assumed when neither the photo nor the user gives one: the
/// main camera of most phones (24–28 mm) and a standard zoom's wide end.
pub const DEFAULT_FOCAL_35MM: f64 = 28.0;

/// Accepted 35 mm-equivalent focal lengths, mm (fisheye to a long telephoto).
pub const FOCAL_35MM_RANGE: std::ops::RangeInclusive<f64> = 8.0..=2000.0;

/// Focal length in px of an image `width × height` px taken at a 35 mm-equivalent focal length
/// (defined over the diagonal, as the crop factor is).
pub fn focal_px_from_35mm(focal_35mm: f64, width: u32, height: u32) -> f64 {
    let diagonal = f64::from(width).hypot(f64::from(height));
    focal_35mm * diagonal / FULL_FRAME_DIAGONAL_MM
}

/// The camera of one photo, as far as rectification needs it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    pub width: u32,
    pub height: u32,
    /// Focal length, px.
    pub focal_px: f64,
}

impl Camera {
    /// Principal point: the image centre (pixel centres at integer coordinates).
    pub fn principal_point(&self) -> (f64, f64) {
        (
            0.5 * (f64::from(self.width) - 1.0),
            0.5 * (f64::from(self.height) - 1.0),
        )
    }
}

/// Why a ruler does not give a rectification.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum RectifyError {
    #[error("the focal length must be a positive number of px, got {0}")]
    InvalidFocal(f64),
    #[error("the ruler points along the camera's axis: the plane cannot be recovered")]
    RulerAlongAxis,
    #[error("the ruler model implies a plane behind the camera or seen edge-on")]
    Degenerate,
}

/// The map from image px to plane mm that one ruler and one camera give.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rectification {
    /// Image (x, y, 1) → plane (X, Y, W), then dehomogenised.
    inverse: Matrix3<f64>,
    /// Direction of the camera's x axis in the plane (unit, plane axes): the rectified axes are
    /// turned so that it is their X axis.
    turn: [f64; 2],
    /// Angle between the plane's normal and the camera axis, degrees.
    tilt_deg: f64,
    /// The turn about the ruler the tick directions show, when they gave one.
    about_ruler: Option<TurnAboutRuler>,
}

/// How much of the turn about the ruler that the graduation lines' convergence shows is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AboutRuler {
    /// Weighted by its significance against its own uncertainty (see
    /// [`TurnAboutRuler::weight`]).
    #[default]
    Significant,
    /// All of it, however uncertain (the uncertainty budget's sensitivities).
    Full,
    /// None: the least tilted plane, as without tick directions.
    LeastTilted,
}

/// The turn of the plane about the ruler, from the least tilted plane that contains it, that the
/// graduation lines' convergence shows. Angles in degrees, right-handed about the direction of
/// increasing mm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TurnAboutRuler {
    /// The turn the lines' vanishing point implies.
    pub estimate_deg: f64,
    /// Its standard uncertainty from the tick directions' covariance (0 for an exact model;
    /// infinite, and the weight 0, when a step of the coefficients makes the directions
    /// degenerate).
    pub sigma_deg: f64,
    /// The fraction of it applied: with `z = |estimate|/σ`, 0 for `z ≤ 1`, 1 for `z ≥ 3` and a
    /// smooth step between ([`AboutRuler::Significant`]); 1 for [`AboutRuler::Full`] or an
    /// exact model. A turn that the directions' noise could have made is not applied: on a
    /// photo square to the specimen about the ruler it would only add that noise.
    pub weight: f64,
}

impl TurnAboutRuler {
    /// The turn applied, degrees.
    pub fn applied_deg(&self) -> f64 {
        self.weight * self.estimate_deg
    }
}

/// `z = |turn|/σ` below which the tick directions' turn is not applied at all, and above which it
/// is applied in full ([`AboutRuler::Significant`]).
const SIGNIFICANCE_Z: [f64; 2] = [1.0, 3.0];

/// Largest `|cos|` of the angle between the ticks' direction in space and the ruler's: beyond
/// (closer than 60° to the ruler) the tick directions are taken as degenerate.
const MAX_TICK_RULER_COS: f64 = 0.5;

/// Largest turn about the ruler from the least tilted plane taken from the tick directions,
/// degrees: beyond, the plane would be seen nearly edge-on, and the directions are taken as
/// degenerate.
const MAX_TURN_ABOUT_RULER_DEG: f64 = 75.0;

impl Rectification {
    /// Rectification of the plane that holds `ruler`, seen by `camera`; the turn about the ruler
    /// its tick directions show (if any) applied as far as it is significant
    /// ([`AboutRuler::Significant`]).
    pub fn from_ruler(ruler: &RulerModel, camera: &Camera) -> Result<Rectification, RectifyError> {
        Self::from_ruler_with(ruler, camera, AboutRuler::Significant)
    }

    /// Rectification of the plane that holds `ruler`, seen by `camera`, with the turn about the
    /// ruler applied as `about` says.
    pub fn from_ruler_with(
        ruler: &RulerModel,
        camera: &Camera,
        about: AboutRuler,
    ) -> Result<Rectification, RectifyError> {
        let f = camera.focal_px;
        if !(f > 0.0 && f.is_finite()) {
            return Err(RectifyError::InvalidFocal(f));
        }
        let (cx, cy) = camera.principal_point();
        let [c0, c1, c2] = ruler.coef;
        let (o, d) = (ruler.origin, ruler.direction);
        let h1 = Vector3::new(c2 * o.x + c0 * d[0], c2 * o.y + c0 * d[1], c2);
        let h3 = Vector3::new(o.x + c1 * d[0], o.y + c1 * d[1], 1.0);
        let k_inv = |h: Vector3<f64>| Vector3::new((h.x - cx * h.z) / f, (h.y - cy * h.z) / f, h.z);
        let (k1, k3) = (k_inv(h1), k_inv(h3));
        let mut lambda = 1.0 / k1.norm();
        if !lambda.is_finite() {
            return Err(RectifyError::Degenerate);
        }
        if k3.z * lambda < 0.0 {
            lambda = -lambda;
        }
        let r1 = k1 * lambda;
        let t = k3 * lambda;
        let ez = Vector3::z();
        let normal = ez - r1 * ez.dot(&r1);
        if normal.norm() < 1e-6 {
            return Err(RectifyError::RulerAlongAxis);
        }
        // The least tilted plane through the ruler, then turned about the ruler by what the
        // tick directions show.
        let r3_flat = normal.normalize();
        let r2_flat = r3_flat.cross(&r1);
        let psi_of = |r: &RulerModel| {
            r.tick_vanishing_point()
                .and_then(|vp| turn_about_ruler(k_inv(Vector3::from(vp)), &r1, &r2_flat, &r3_flat))
        };
        let about_ruler = match (about, ruler.tick_directions) {
            (AboutRuler::LeastTilted, _) | (_, None) => None,
            (_, Some(ticks)) => psi_of(ruler).map(|psi| {
                // σ of the turn: its gradient over the two coefficients (central differences),
                // through their covariance.
                let c = ticks.covariance;
                let mut grad = [0.0; 2];
                let mut known = true;
                for (k, g) in grad.iter_mut().enumerate() {
                    let h = 1e-3 * c[k][k].max(0.0).sqrt();
                    if h > 0.0 {
                        let at = |step: f64| {
                            let mut tan = ticks.tan;
                            tan[k] += step;
                            psi_of(&ruler.with_tick_tan(tan))
                        };
                        match (at(h), at(-h)) {
                            (Some(a), Some(b)) => *g = (a - b) / (2.0 * h),
                            _ => known = false,
                        }
                    }
                }
                let var = (0..2)
                    .flat_map(|i| (0..2).map(move |j| (i, j)))
                    .map(|(i, j)| grad[i] * c[i][j] * grad[j])
                    .sum::<f64>();
                let sigma = if known {
                    var.max(0.0).sqrt()
                } else {
                    f64::INFINITY
                };
                let weight = match about {
                    AboutRuler::Full => 1.0,
                    _ if sigma == 0.0 => 1.0,
                    _ => {
                        let z = psi.abs() / sigma;
                        let x = ((z - SIGNIFICANCE_Z[0]) / (SIGNIFICANCE_Z[1] - SIGNIFICANCE_Z[0]))
                            .clamp(0.0, 1.0);
                        x * x * (3.0 - 2.0 * x)
                    }
                };
                TurnAboutRuler {
                    estimate_deg: psi.to_degrees(),
                    sigma_deg: sigma.to_degrees(),
                    weight,
                }
            }),
        };
        let (r2, r3) = match about_ruler {
            Some(turn) if turn.weight > 0.0 => {
                let (s, c) = turn.applied_deg().to_radians().sin_cos();
                (c * r2_flat + s * r3_flat, c * r3_flat - s * r2_flat)
            }
            _ => (r2_flat, r3_flat),
        };
        let k = Matrix3::new(f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0);
        let h = k * Matrix3::from_columns(&[r1, r2, t]);
        let inverse = h.try_inverse().ok_or(RectifyError::Degenerate)?;
        if !(t.z > 0.0 && inverse.iter().all(|v| v.is_finite())) {
            return Err(RectifyError::Degenerate);
        }
        // The camera's x axis projected onto the plane: for an untilted camera it is the photo's
        // x axis, for a camera turned about its x axis it lies in the plane.
        let (cx_plane, cy_plane) = (r1.x, r2.x);
        let norm = cx_plane.hypot(cy_plane);
        if norm.is_nan() || norm <= 1e-9 {
            return Err(RectifyError::Degenerate);
        }
        Ok(Rectification {
            inverse,
            turn: [cx_plane / norm, cy_plane / norm],
            tilt_deg: r3.z.clamp(-1.0, 1.0).acos().to_degrees(),
            about_ruler,
        })
    }

    /// Plane coordinates (mm) of image point `p`, turned to the photo's axes. `None` for a point
    /// on or beyond the plane's horizon.
    pub fn to_plane(&self, p: Point) -> Option<Point> {
        let v = self.inverse * Vector3::new(p.x, p.y, 1.0);
        if v.z.is_nan() || v.z <= 0.0 {
            return None;
        }
        let (x, y) = (v.x / v.z, v.y / v.z);
        let [c, s] = self.turn;
        let q = Point::new(c * x + s * y, -s * x + c * y);
        q.is_finite().then_some(q)
    }

    /// Angle between the plane's normal and the camera's axis, degrees (0 = square to it).
    pub fn tilt_deg(&self) -> f64 {
        self.tilt_deg
    }

    /// The turn of the plane about the ruler that the graduation lines' convergence shows, and
    /// how much of it was applied; `None` when the least tilted plane was used (no tick
    /// directions, degenerate ones, or [`AboutRuler::LeastTilted`]).
    pub fn turn_about_ruler(&self) -> Option<TurnAboutRuler> {
        self.about_ruler
    }

    /// The turn about the ruler applied, degrees (0 for the least tilted plane).
    pub fn tilt_about_ruler_deg(&self) -> f64 {
        self.about_ruler.map_or(0.0, |t| t.applied_deg())
    }
}

/// The turn about `r1` (radians) from the least tilted plane (`r2_flat`, `r3_flat`) to the plane
/// whose second axis points to the ticks' vanishing point, `v ∝ K⁻¹V` (either sign). `None` when
/// `v` is not finite, too close to the ruler's direction, or turns the plane too far.
fn turn_about_ruler(
    v: Vector3<f64>,
    r1: &Vector3<f64>,
    r2_flat: &Vector3<f64>,
    r3_flat: &Vector3<f64>,
) -> Option<f64> {
    let norm = v.norm();
    if !(norm.is_finite() && norm > 0.0) {
        return None;
    }
    let v = v / norm;
    if v.dot(r1).abs() > MAX_TICK_RULER_COS {
        return None;
    }
    // The part of v square to r1, in the (r2_flat, r3_flat) basis, turned to agree with r2_flat.
    let (mut c, mut s) = (v.dot(r2_flat), v.dot(r3_flat));
    if c < 0.0 {
        (c, s) = (-c, -s);
    }
    let psi = s.atan2(c);
    (psi.is_finite() && psi.abs() <= MAX_TURN_ABOUT_RULER_DEG.to_radians()).then_some(psi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scale::TickDirections;

    /// Camera looking at the plane z = D after turning it by `tilt` about the image x axis.
    fn homography(
        f: f64,
        (cx, cy): (f64, f64),
        tilt_deg: f64,
        roll_deg: f64,
        d: f64,
    ) -> Matrix3<f64> {
        let (a, b) = (tilt_deg.to_radians(), roll_deg.to_radians());
        let rx = Matrix3::new(1.0, 0.0, 0.0, 0.0, a.cos(), -a.sin(), 0.0, a.sin(), a.cos());
        let rz = Matrix3::new(b.cos(), -b.sin(), 0.0, b.sin(), b.cos(), 0.0, 0.0, 0.0, 1.0);
        let r = rz * rx;
        let t = Vector3::new(-20.0, 5.0, d);
        let k = Matrix3::new(f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0);
        k * Matrix3::from_columns(&[r.column(0).into(), r.column(1).into(), t])
    }

    fn apply(h: &Matrix3<f64>, x: f64, y: f64) -> Point {
        let v = h * Vector3::new(x, y, 1.0);
        Point::new(v.x / v.z, v.y / v.z)
    }

    /// The ruler model a detector would fit to a ruler along the plane's Y axis at X = 30.
    fn ruler_of(h: &Matrix3<f64>) -> RulerModel {
        let at = |m: f64| apply(h, 30.0, -m);
        let origin = at(0.0);
        let end = at(60.0);
        let dir = [end.x - origin.x, end.y - origin.y];
        let mm: Vec<f64> = (0..=60).map(f64::from).collect();
        let u: Vec<f64> = mm
            .iter()
            .map(|&m| {
                let p = at(m);
                (p.x - origin.x) * dir[0] + (p.y - origin.y) * dir[1]
            })
            .map(|v| v / dir[0].hypot(dir[1]))
            .collect();
        RulerModel::fit(origin, dir, &mm, &u, Some(0.0)).unwrap()
    }

    /// Camera turned by `tilt_x` about the image x axis, `tilt_y` about its y axis (applied
    /// first) and `roll` about its axis, degrees.
    fn homography_xy(
        f: f64,
        (cx, cy): (f64, f64),
        (tilt_x, tilt_y, roll): (f64, f64, f64),
        d: f64,
    ) -> Matrix3<f64> {
        let (a, b, c) = (tilt_x.to_radians(), tilt_y.to_radians(), roll.to_radians());
        let rx = Matrix3::new(1.0, 0.0, 0.0, 0.0, a.cos(), -a.sin(), 0.0, a.sin(), a.cos());
        let ry = Matrix3::new(b.cos(), 0.0, b.sin(), 0.0, 1.0, 0.0, -b.sin(), 0.0, b.cos());
        let rz = Matrix3::new(c.cos(), -c.sin(), 0.0, c.sin(), c.cos(), 0.0, 0.0, 0.0, 1.0);
        let r = rz * rx * ry;
        let t = Vector3::new(-20.0, 5.0, d);
        let k = Matrix3::new(f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0);
        k * Matrix3::from_columns(&[r.column(0).into(), r.column(1).into(), t])
    }

    /// [`ruler_of`] with the exact directions of its graduation lines (plane lines along X,
    /// converging to the image of X's direction).
    fn ruler_with_ticks(h: &Matrix3<f64>) -> RulerModel {
        let ruler = ruler_of(h);
        let vp = [h[(0, 0)], h[(1, 0)], h[(2, 0)]];
        RulerModel {
            tick_directions: Some(TickDirections::toward(&ruler, vp).unwrap()),
            ..ruler
        }
    }

    const PLANE_POINTS: [(f64, f64); 5] = [
        (-10.0, -8.0),
        (12.0, -9.0),
        (11.0, 14.0),
        (-9.0, 13.0),
        (0.5, 0.2),
    ];

    /// Worst error of the distances between [`PLANE_POINTS`] mapped to the image by `h` and
    /// back by `rect`, and whether every triangle keeps its orientation (no mirror).
    fn rigid_error(h: &Matrix3<f64>, rect: &Rectification) -> (f64, bool) {
        let back: Vec<Point> = PLANE_POINTS
            .iter()
            .map(|&(x, y)| rect.to_plane(apply(h, x, y)).unwrap())
            .collect();
        let mut worst = 0.0f64;
        let mut oriented = true;
        for i in 0..5 {
            for j in 0..i {
                let (a, b) = (PLANE_POINTS[i], PLANE_POINTS[j]);
                let truth = (a.0 - b.0).hypot(a.1 - b.1);
                worst = worst.max((back[i].distance(back[j]) - truth).abs());
                let k = (i + 1) % 5;
                let c = PLANE_POINTS[k];
                let area = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
                let got = (back[j].x - back[i].x) * (back[k].y - back[i].y)
                    - (back[j].y - back[i].y) * (back[k].x - back[i].x);
                oriented &= area * got > 0.0 || area == 0.0;
            }
        }
        (worst, oriented)
    }

    #[test]
    fn a_tilt_about_any_axis_is_undone_with_the_tick_directions() {
        let cam = Camera {
            width: 1200,
            height: 900,
            focal_px: 1000.0,
        };
        for pose in [
            (0.0, 12.0, 0.0),
            (0.0, -15.0, 0.0),
            (-9.0, 14.0, 0.0),
            (15.0, -10.0, 20.0),
            (5.0, 5.0, -30.0),
            (-18.0, -20.0, 7.0),
        ] {
            let h = homography_xy(cam.focal_px, cam.principal_point(), pose, 700.0);
            let rect = Rectification::from_ruler(&ruler_with_ticks(&h), &cam).unwrap();
            let (err, oriented) = rigid_error(&h, &rect);
            assert!(err < 1e-9, "{pose:?}: {err:e}");
            assert!(oriented, "{pose:?}: mirrored");
            // The plane's tilt is the camera's, and all of the turn about the ruler is applied
            // (an exact model: no uncertainty).
            let (a, b) = (pose.0.to_radians(), pose.1.to_radians());
            let truth = (a.cos() * b.cos()).acos().to_degrees();
            assert!((rect.tilt_deg() - truth).abs() < 1e-6, "{pose:?}");
            let turn = rect.turn_about_ruler().unwrap();
            assert_eq!(turn.weight, 1.0);
            assert_eq!(turn.sigma_deg, 0.0);
            // Without the tick directions the turn about the ruler is not seen.
            let flat = Rectification::from_ruler(&ruler_of(&h), &cam).unwrap();
            assert!(flat.turn_about_ruler().is_none());
            if pose.1 != 0.0 {
                assert!(rigid_error(&h, &flat).0 > 1e-3, "{pose:?}");
                assert!(turn.estimate_deg.abs() > 1.0, "{pose:?}: {turn:?}");
            }
        }
    }

    #[test]
    fn an_untilted_camera_is_the_same_with_or_without_tick_directions() {
        let cam = Camera {
            width: 800,
            height: 600,
            focal_px: 900.0,
        };
        for roll in [0.0, 9.0, -35.0] {
            let h = homography_xy(cam.focal_px, cam.principal_point(), (0.0, 0.0, roll), 450.0);
            let with = Rectification::from_ruler(&ruler_with_ticks(&h), &cam).unwrap();
            let without = Rectification::from_ruler(&ruler_of(&h), &cam).unwrap();
            assert!(with.turn_about_ruler().unwrap().estimate_deg.abs() < 1e-9);
            for p in [
                Point::new(100.0, 200.0),
                Point::new(400.0, 260.0),
                Point::new(700.0, 20.0),
            ] {
                let (a, b) = (with.to_plane(p).unwrap(), without.to_plane(p).unwrap());
                assert!(a.distance(b) < 1e-10, "{roll}: {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn degenerate_tick_directions_fall_back_to_the_least_tilted_plane() {
        let cam = Camera {
            width: 800,
            height: 600,
            focal_px: 900.0,
        };
        let (cx, cy) = cam.principal_point();
        let f = cam.focal_px;
        for pose in [(0.0, 0.0, 0.0), (10.0, 0.0, 0.0)] {
            let h = homography_xy(f, (cx, cy), pose, 450.0);
            let ruler = ruler_of(&h);
            let flat = Rectification::from_ruler(&ruler, &cam).unwrap();
            let with_vp = |vp: [f64; 3]| RulerModel {
                tick_directions: TickDirections::toward(&ruler, vp),
                ..ruler
            };
            // Lines converging 17° off the ruler's own direction in space (not square to it).
            let near_ruler = h * Vector3::new(0.3, -1.0, 0.0);
            // A plane turned 80° about the ruler from the least tilted one: seen edge-on. For
            // the untilted camera the least tilted plane's axes are (1, 0, 0) and (0, 0, 1).
            let (s, c) = 80f64.to_radians().sin_cos();
            let edge_on = [f * c + cx * s, cy * s, s];
            let mut models = vec![with_vp([near_ruler.x, near_ruler.y, near_ruler.z])];
            if pose.0 == 0.0 {
                models.push(with_vp(edge_on));
            }
            // Not finite (a model built by hand; `is_valid` rejects it).
            models.push(RulerModel {
                tick_directions: Some(TickDirections {
                    tan: [f64::NAN, 0.0],
                    covariance: [[0.0; 2]; 2],
                }),
                ..ruler
            });
            for model in models {
                assert!(model.tick_directions.is_some());
                let rect = Rectification::from_ruler(&model, &cam).unwrap();
                assert!(rect.turn_about_ruler().is_none(), "{pose:?} {model:?}");
                assert_eq!(rect, flat);
            }
        }
    }

    #[test]
    fn an_insignificant_turn_about_the_ruler_is_not_applied() {
        let cam = Camera {
            width: 1200,
            height: 900,
            focal_px: 1000.0,
        };
        let h = homography_xy(cam.focal_px, cam.principal_point(), (6.0, 4.0, 0.0), 700.0);
        let exact = ruler_with_ticks(&h);
        let ticks = exact.tick_directions.unwrap();
        let at = |about: AboutRuler, scale: f64| {
            let model = RulerModel {
                tick_directions: Some(TickDirections {
                    covariance: [[scale * 1e-6, 0.0], [0.0, scale * 1e-12]],
                    ..ticks
                }),
                ..exact
            };
            Rectification::from_ruler_with(&model, &cam, about).unwrap()
        };
        let flat = Rectification::from_ruler(&ruler_of(&h), &cam).unwrap();
        let full = at(AboutRuler::Full, 1.0);
        assert!(rigid_error(&h, &full).0 < 1e-9);
        // Covariances that make z = |turn|/σ 10, 2 and 0.5 (σ grows as √scale).
        let z1 = {
            let t = at(AboutRuler::Significant, 1.0).turn_about_ruler().unwrap();
            t.estimate_deg.abs() / t.sigma_deg
        };
        let mut seen_partial = false;
        for z in [10.0, 2.0, 0.5] {
            let scale = (z1 / z) * (z1 / z);
            let rect = at(AboutRuler::Significant, scale);
            let turn = rect.turn_about_ruler().unwrap();
            assert!((turn.estimate_deg.abs() / turn.sigma_deg - z).abs() < 1e-6 * z);
            if z >= 3.0 {
                assert_eq!(turn.weight, 1.0);
                assert!(rigid_error(&h, &rect).0 < 1e-9);
            } else if z <= 1.0 {
                // The least tilted plane, exactly.
                assert_eq!(turn.weight, 0.0);
                assert_eq!(rect.tilt_about_ruler_deg(), 0.0);
                let p = Point::new(500.0, 300.0);
                assert_eq!(rect.to_plane(p), flat.to_plane(p));
            } else {
                seen_partial = true;
                assert!(turn.weight > 0.0 && turn.weight < 1.0, "{turn:?}");
                let applied = rect.tilt_about_ruler_deg();
                assert!((applied - turn.weight * turn.estimate_deg).abs() < 1e-12);
            }
            // The estimate and its σ do not depend on how much is applied.
            let full = at(AboutRuler::Full, scale).turn_about_ruler().unwrap();
            assert_eq!(full.estimate_deg, turn.estimate_deg);
            assert_eq!(full.weight, 1.0);
            assert!(
                at(AboutRuler::LeastTilted, scale)
                    .turn_about_ruler()
                    .is_none()
            );
        }
        assert!(seen_partial);
    }

    #[test]
    fn a_tilt_across_the_ruler_is_undone() {
        let cam = Camera {
            width: 1200,
            height: 900,
            focal_px: 1000.0,
        };
        for (tilt, roll) in [(0.0, 0.0), (12.0, 0.0), (-18.0, 7.0), (5.0, -30.0)] {
            let h = homography(cam.focal_px, cam.principal_point(), tilt, roll, 700.0);
            let rect = Rectification::from_ruler(&ruler_of(&h), &cam).unwrap();
            assert!(
                (rect.tilt_deg() - f64::abs(tilt)).abs() < 1e-6,
                "{}",
                rect.tilt_deg()
            );
            // Distances between any plane points come back exactly (rigid up to a turn).
            let pts = [
                (-10.0, -8.0),
                (12.0, -9.0),
                (11.0, 14.0),
                (-9.0, 13.0),
                (0.5, 0.2),
            ];
            let back: Vec<Point> = pts
                .iter()
                .map(|&(x, y)| rect.to_plane(apply(&h, x, y)).unwrap())
                .collect();
            for i in 0..5 {
                for j in 0..i {
                    let truth = (pts[i].0 - pts[j].0).hypot(pts[i].1 - pts[j].1);
                    let got = back[i].distance(back[j]);
                    assert!(
                        (got - truth).abs() < 1e-9 * truth.max(1.0),
                        "{tilt} {roll}: {got} vs {truth}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_untilted_camera_gives_scaled_pixel_axes() {
        let cam = Camera {
            width: 800,
            height: 600,
            focal_px: 900.0,
        };
        let h = homography(cam.focal_px, cam.principal_point(), 0.0, 9.0, 450.0);
        let rect = Rectification::from_ruler(&ruler_of(&h), &cam).unwrap();
        let s = 450.0 / 900.0;
        let (p, q) = (Point::new(100.0, 200.0), Point::new(400.0, 260.0));
        let (a, b) = (rect.to_plane(p).unwrap(), rect.to_plane(q).unwrap());
        assert!(((b.x - a.x) - s * (q.x - p.x)).abs() < 1e-9);
        assert!(((b.y - a.y) - s * (q.y - p.y)).abs() < 1e-9);
    }

    #[test]
    fn bad_focal_lengths_are_errors() {
        let cam = Camera {
            width: 800,
            height: 600,
            focal_px: 900.0,
        };
        let h = homography(900.0, cam.principal_point(), 10.0, 0.0, 450.0);
        let ruler = ruler_of(&h);
        for f in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let cam = Camera { focal_px: f, ..cam };
            assert!(matches!(
                Rectification::from_ruler(&ruler, &cam),
                Err(RectifyError::InvalidFocal(_))
            ));
        }
    }

    #[test]
    fn focal_from_35mm_equivalent() {
        // A full-frame 36 × 24 sensor of 3600 × 2400 px at 50 mm: 100 px/mm → 5000 px.
        assert!((focal_px_from_35mm(50.0, 3600, 2400) - 5000.0).abs() < 1e-9);
    }
}
