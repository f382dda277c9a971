//! Shared helpers for the engine's integration tests: "photograph" a marker layout given in mm
//! with a camera (px per mm, rotation, translation), ruler included.

#![allow(dead_code)]

use strain_seer_engine::{Fiducials, ImageInput, Point, ScalePoints};

/// Marker layout of a 16 mm × 32 mm block (TL, TR, BR, BL, centre), mm, y down.
pub const LAYOUT: [[f64; 2]; 5] = [
    [-8.0, -16.0],
    [8.0, -16.0],
    [8.0, 16.0],
    [-8.0, 16.0],
    [0.0, 0.0],
];

/// The ruler: two points 40 mm apart, beside the block.
pub const RULER: [[f64; 2]; 2] = [[30.0, 20.0], [30.0, -20.0]];
pub const RULER_MM: f64 = 40.0;

/// A camera: `px = t + zoom·Rot(angle)·mm`.
#[derive(Debug, Clone, Copy)]
pub struct Camera {
    pub zoom: f64,
    pub angle_deg: f64,
    pub tx: f64,
    pub ty: f64,
}

impl Camera {
    pub const PLAIN: Camera = Camera {
        zoom: 15.0,
        angle_deg: 0.0,
        tx: 500.0,
        ty: 600.0,
    };

    pub fn project(&self, p: [f64; 2]) -> Point {
        let (s, c) = self.angle_deg.to_radians().sin_cos();
        Point::new(
            self.tx + self.zoom * (c * p[0] - s * p[1]),
            self.ty + self.zoom * (s * p[0] + c * p[1]),
        )
    }
}

/// Apply F (row-major) to a mm point.
pub fn apply(f: [[f64; 2]; 2], p: [f64; 2]) -> [f64; 2] {
    [
        f[0][0] * p[0] + f[0][1] * p[1],
        f[1][0] * p[0] + f[1][1] * p[1],
    ]
}

/// Markers of `layout` deformed by `f`, and the (undeformed) ruler, seen by `camera`.
pub fn shot(layout: &[[f64; 2]; 5], f: [[f64; 2]; 2], camera: Camera) -> (Fiducials, ScalePoints) {
    let markers = layout.map(|p| camera.project(apply(f, p)));
    let ruler = RULER.map(|p| camera.project(p));
    (
        Fiducials::new(markers).expect("finite markers"),
        ScalePoints::new(ruler).expect("distinct ruler points"),
    )
}

pub fn image(name: &str, d: f64, (fiducials, scale): (Fiducials, ScalePoints)) -> ImageInput {
    ImageInput::complete(name, fiducials, scale, d)
}

pub const IDENTITY: [[f64; 2]; 2] = [[1.0, 0.0], [0.0, 1.0]];

pub fn stretch(x: f64, y: f64) -> [[f64; 2]; 2] {
    [[x, 0.0], [0.0, y]]
}

pub fn rotation(deg: f64) -> [[f64; 2]; 2] {
    let (s, c) = deg.to_radians().sin_cos();
    [[c, -s], [s, c]]
}

pub fn mul(a: [[f64; 2]; 2], b: [[f64; 2]; 2]) -> [[f64; 2]; 2] {
    [
        [
            a[0][0] * b[0][0] + a[0][1] * b[1][0],
            a[0][0] * b[0][1] + a[0][1] * b[1][1],
        ],
        [
            a[1][0] * b[0][0] + a[1][1] * b[1][0],
            a[1][0] * b[0][1] + a[1][1] * b[1][1],
        ],
    ]
}
