//! Plane rectification from the ruler alone: undo the camera's tilt, not just the scale.
//!
//! **Camera model.** A pinhole camera with square pixels, focal length `f` px and its principal
//! point at the image centre, no lens distortion. The specimen's surface and the ruler lie in one
//! plane. The plane→image map is then a homography `H = K [r₁ r₂ t]` with
//! `K = [[f, 0, cₓ], [0, f, c_y], [0, 0, 1]]`, `r₁, r₂` the plane's axes and `t` its origin in
//! camera coordinates.
//!
//! **What the ruler gives.** Take the plane's X axis along the ruler, X in mm from its 0 line.
//! The ruler model ([`RulerModel`]) is `H` restricted to that axis: the image of the `m`-mm line
//! is `m·h₁ + h₃` in homogeneous coordinates, with `h₁ = (c₂·o + c₀·d, c₂)` and
//! `h₃ = (o + c₁·d, 1)` (`o`, `d` the model's origin and direction). With `K` known,
//! `K⁻¹h₁ ∝ r₁` and `K⁻¹h₃ ∝ t`, and because `r₁` is a unit vector both are fixed: the ruler's
//! direction in space and the plane's distance. One thing the ruler cannot show is how far the
//! plane is turned *about the ruler itself*; the model takes the least tilted plane that contains
//! the ruler, `r₃ ∝ e_z − (e_z·r₁)r₁`, `r₂ = r₃ × r₁`. So:
//!
//! - a camera tilted about an axis **across** the ruler (the ruler recedes: its mm/px changes
//!   along it) is corrected completely, given `f`;
//! - a camera tilted about an axis **along** the ruler is not seen at all; its error is second
//!   order in the angle (1 − cos, 1.5 % at 10°) for the scale, first order for the change of scale
//!   across the specimen. Use a calibration target, or keep the camera square to the specimen
//!   about that axis.
//!
//! **The focal length** enters through `tan θ ≈ c₂·(dm/du)·f`: the tilt θ the ruler's
//! perspective implies depends on it. It comes from the photo's EXIF (35 mm-equivalent focal
//! length) where present, else from a stated default the user can override; see
//! [`focal_px_from_35mm`].
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
}

impl Rectification {
    /// Rectification of the plane that holds `ruler`, seen by `camera`.
    pub fn from_ruler(ruler: &RulerModel, camera: &Camera) -> Result<Rectification, RectifyError> {
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
        let r3 = normal.normalize();
        let r2 = r3.cross(&r1);
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
