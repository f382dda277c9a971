//! The scene's pinhole camera: the plane → image homography `H = K·[r1 r2 t]` from the pose and
//! intrinsics (conventions in the parent module's docs), the one-term radial distortion about the
//! principal point, and the Jacobian of the full plane → distorted image map (which sizes and
//! shapes each drawn marker).

use super::{Pose, SceneConfig};
use crate::detect::synth;
use crate::points::Point;

/// The pinhole camera of a scene.
#[derive(Debug, Clone, Copy)]
pub(super) struct Camera {
    pub(super) h: [f64; 9],
    pub(super) f: f64,
    pub(super) c: Point,
    pub(super) k1: f64,
}

impl Camera {
    pub(super) fn new(cfg: &SceneConfig, pose: &Pose) -> Self {
        let (w, h) = (cfg.width.max(32) as f64, cfg.height.max(32) as f64);
        let f = cfg.focal_35mm / 36.0 * w.max(h);
        let d = f * cfg.view_height_mm / h * pose.distance;
        let (ax, ay, az) = (
            pose.tilt_x_deg.to_radians(),
            pose.tilt_y_deg.to_radians(),
            pose.roll_deg.to_radians(),
        );
        let rx = [
            1.0,
            0.0,
            0.0,
            0.0,
            ax.cos(),
            -ax.sin(),
            0.0,
            ax.sin(),
            ax.cos(),
        ];
        let ry = [
            ay.cos(),
            0.0,
            ay.sin(),
            0.0,
            1.0,
            0.0,
            -ay.sin(),
            0.0,
            ay.cos(),
        ];
        let rz = [
            az.cos(),
            -az.sin(),
            0.0,
            az.sin(),
            az.cos(),
            0.0,
            0.0,
            0.0,
            1.0,
        ];
        let r = synth::mul3(&rz, &synth::mul3(&rx, &ry));
        let t = [
            (0.42 - 0.5 + pose.shift[0]) * w * d / f,
            pose.shift[1] * h * d / f,
            d,
        ];
        let (cx, cy) = (w / 2.0, h / 2.0);
        let k = [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0];
        let m = [r[0], r[1], t[0], r[3], r[4], t[1], r[6], r[7], t[2]];
        let hm = synth::mul3(&k, &m);
        let s = if hm[8].abs() > 1e-300 {
            1.0 / hm[8]
        } else {
            1.0
        };
        Self {
            h: hm.map(|v| v * s),
            f,
            c: Point::new(cx, cy),
            k1: cfg.radial_k1,
        }
    }

    pub(super) fn undistorted(&self, p: Point) -> Point {
        let (x, y) = synth::apply_h(&self.h, p.x, p.y);
        Point::new(x, y)
    }

    /// The homogeneous w of a plane point (its depth over the origin's depth): > 0 in front.
    pub(super) fn depth(&self, p: Point) -> f64 {
        self.h[6] * p.x + self.h[7] * p.y + self.h[8]
    }

    pub(super) fn distort(&self, q: Point) -> Point {
        distort(self.c, self.f, self.k1, q)
    }

    pub(super) fn project(&self, p: Point) -> Point {
        self.distort(self.undistorted(p))
    }

    /// Jacobian (row-major 2×2, px per mm) of the full plane → distorted image map at `p`.
    pub(super) fn jacobian(&self, p: Point) -> [f64; 4] {
        let h = &self.h;
        let w = self.depth(p);
        let q = self.undistorted(p);
        let jh = [
            (h[0] - q.x * h[6]) / w,
            (h[1] - q.x * h[7]) / w,
            (h[3] - q.y * h[6]) / w,
            (h[4] - q.y * h[7]) / w,
        ];
        let (xn, yn) = ((q.x - self.c.x) / self.f, (q.y - self.c.y) / self.f);
        let k = self.k1;
        let r2 = xn * xn + yn * yn;
        let jd = [
            1.0 + k * r2 + 2.0 * k * xn * xn,
            2.0 * k * xn * yn,
            2.0 * k * xn * yn,
            1.0 + k * r2 + 2.0 * k * yn * yn,
        ];
        mul2(&jd, &jh)
    }
}

pub(super) fn mul2(a: &[f64; 4], b: &[f64; 4]) -> [f64; 4] {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
    ]
}

pub(super) fn distort(c: Point, f: f64, k1: f64, q: Point) -> Point {
    if k1 == 0.0 {
        return q;
    }
    let (xn, yn) = ((q.x - c.x) / f, (q.y - c.y) / f);
    let g = 1.0 + k1 * (xn * xn + yn * yn);
    Point::new(c.x + f * xn * g, c.y + f * yn * g)
}
