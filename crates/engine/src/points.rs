//! Points in image pixel coordinates and the two validated point sets of docs/strain.md §1.
//!
//! Pixel coordinates: origin at the top-left of the image as stored (after EXIF
//! orientation), x to the right, y down, sub-pixel floats.
//!
//! The types make invalid states unrepresentable: a [`Fiducials`] always holds
//! exactly five finite points in the order 0 TL, 1 TR, 2 BR, 3 BL, 4 centre, and a
//! [`ScalePoints`] always holds two finite, distinct points.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A point in pixel coordinates. Serialised as `[x, y]`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "[f64; 2]", into = "[f64; 2]")]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    pub fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite()
    }

    pub fn distance(self, other: Point) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }
}

impl From<[f64; 2]> for Point {
    fn from([x, y]: [f64; 2]) -> Self {
        Self { x, y }
    }
}

impl From<Point> for [f64; 2] {
    fn from(p: Point) -> Self {
        [p.x, p.y]
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

/// Which of the two point sets a point belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointRole {
    Fiducial,
    Scale,
}

impl fmt::Display for PointRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PointRole::Fiducial => "fiducial",
            PointRole::Scale => "scale",
        })
    }
}

/// Names of the fiducial markers, by index (docs/strain.md §1).
pub const FIDUCIAL_NAMES: [&str; 5] = [
    "top-left",
    "top-right",
    "bottom-right",
    "bottom-left",
    "centre",
];

/// Why a point set was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PointError {
    /// A coordinate is NaN or infinite.
    #[error("{role} point {index} is not a finite number {point}")]
    NotFinite {
        role: PointRole,
        index: usize,
        point: Point,
    },
    /// The wrong number of points was given.
    #[error("expected {expected} {role} points, got {got}")]
    WrongCount {
        role: PointRole,
        expected: usize,
        got: usize,
    },
    /// The two scale points are the same point (or closer than 1e-9 px).
    #[error("the two scale points coincide at {0}")]
    CoincidentScalePoints(Point),
}

fn check_finite(role: PointRole, points: &[Point]) -> Result<(), PointError> {
    match points.iter().position(|p| !p.is_finite()) {
        Some(index) => Err(PointError::NotFinite {
            role,
            index,
            point: points[index],
        }),
        None => Ok(()),
    }
}

/// The five fiducial markers, in the order 0 TL, 1 TR, 2 BR, 3 BL, 4 centre; all finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Point>", into = "[Point; 5]")]
pub struct Fiducials([Point; 5]);

impl Fiducials {
    pub const COUNT: usize = 5;
    pub const CENTRE: usize = 4;

    pub fn new(points: [Point; 5]) -> Result<Self, PointError> {
        check_finite(PointRole::Fiducial, &points)?;
        Ok(Self(points))
    }

    pub fn points(&self) -> &[Point; 5] {
        &self.0
    }

    pub fn centre(&self) -> Point {
        self.0[Self::CENTRE]
    }

    /// The four corner markers 0..4 (TL, TR, BR, BL).
    pub fn corners(&self) -> [Point; 4] {
        [self.0[0], self.0[1], self.0[2], self.0[3]]
    }
}

impl TryFrom<Vec<Point>> for Fiducials {
    type Error = PointError;
    fn try_from(v: Vec<Point>) -> Result<Self, PointError> {
        Self::try_from(v.as_slice())
    }
}

impl TryFrom<&[Point]> for Fiducials {
    type Error = PointError;
    fn try_from(v: &[Point]) -> Result<Self, PointError> {
        let arr: [Point; 5] = v.try_into().map_err(|_| PointError::WrongCount {
            role: PointRole::Fiducial,
            expected: 5,
            got: v.len(),
        })?;
        Self::new(arr)
    }
}

impl From<Fiducials> for [Point; 5] {
    fn from(f: Fiducials) -> Self {
        f.0
    }
}

/// Two points on the ruler whose real distance is the project's scale length; finite and distinct.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Point>", into = "[Point; 2]")]
pub struct ScalePoints([Point; 2]);

impl ScalePoints {
    pub const COUNT: usize = 2;
    /// Scale points closer than this (px) are treated as coincident.
    pub const MIN_SEPARATION_PX: f64 = 1e-9;

    pub fn new(points: [Point; 2]) -> Result<Self, PointError> {
        check_finite(PointRole::Scale, &points)?;
        if points[0].distance(points[1]) < Self::MIN_SEPARATION_PX {
            return Err(PointError::CoincidentScalePoints(points[0]));
        }
        Ok(Self(points))
    }

    pub fn points(&self) -> &[Point; 2] {
        &self.0
    }

    /// Distance between the two scale points in pixels (always > 0).
    pub fn length_px(&self) -> f64 {
        self.0[0].distance(self.0[1])
    }
}

impl TryFrom<Vec<Point>> for ScalePoints {
    type Error = PointError;
    fn try_from(v: Vec<Point>) -> Result<Self, PointError> {
        Self::try_from(v.as_slice())
    }
}

impl TryFrom<&[Point]> for ScalePoints {
    type Error = PointError;
    fn try_from(v: &[Point]) -> Result<Self, PointError> {
        let arr: [Point; 2] = v.try_into().map_err(|_| PointError::WrongCount {
            role: PointRole::Scale,
            expected: 2,
            got: v.len(),
        })?;
        Self::new(arr)
    }
}

impl From<ScalePoints> for [Point; 2] {
    fn from(s: ScalePoints) -> Self {
        s.0
    }
}

/// Annotation status of one image, as shown to the user (docs/strain.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageStatus {
    Complete,
    Incomplete,
    #[serde(rename = "Missing Distance")]
    MissingDistance,
    Missing,
}

impl ImageStatus {
    /// Status from how many fiducial and scale points are placed and whether a distance is set.
    pub fn from_counts(fiducials: usize, scale: usize, has_distance: bool) -> Self {
        let points_done = fiducials == Fiducials::COUNT && scale == ScalePoints::COUNT;
        match (points_done, fiducials + scale, has_distance) {
            (true, _, true) => ImageStatus::Complete,
            (true, _, false) => ImageStatus::MissingDistance,
            (false, 0, false) => ImageStatus::Missing,
            _ => ImageStatus::Incomplete,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ImageStatus::Complete => "Complete",
            ImageStatus::Incomplete => "Incomplete",
            ImageStatus::MissingDistance => "Missing Distance",
            ImageStatus::Missing => "Missing",
        }
    }

    pub fn is_complete(self) -> bool {
        self == ImageStatus::Complete
    }
}

impl fmt::Display for ImageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiducials_reject_nan_and_name_the_point() {
        let mut pts = [Point::new(0.0, 0.0); 5];
        pts[3] = Point::new(f64::NAN, 1.0);
        let err = Fiducials::new(pts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "fiducial point 3 is not a finite number (NaN, 1)"
        );
    }

    #[test]
    fn fiducials_from_four_points_is_wrong_count() {
        let err = Fiducials::try_from(vec![Point::default(); 4]).unwrap_err();
        assert_eq!(err.to_string(), "expected 5 fiducial points, got 4");
    }

    #[test]
    fn coincident_scale_points_are_refused() {
        let p = Point::new(3.0, 4.0);
        assert!(matches!(
            ScalePoints::new([p, p]),
            Err(PointError::CoincidentScalePoints(_))
        ));
    }

    #[test]
    fn point_serialises_as_pair() {
        let json = serde_json::to_string(&Point::new(1.5, -2.0)).unwrap();
        assert_eq!(json, "[1.5,-2.0]");
    }

    #[test]
    fn status_from_counts() {
        assert_eq!(ImageStatus::from_counts(5, 2, true), ImageStatus::Complete);
        assert_eq!(
            ImageStatus::from_counts(5, 2, false),
            ImageStatus::MissingDistance
        );
        assert_eq!(ImageStatus::from_counts(0, 0, false), ImageStatus::Missing);
        assert_eq!(
            ImageStatus::from_counts(0, 0, true),
            ImageStatus::Incomplete
        );
        assert_eq!(
            ImageStatus::from_counts(3, 0, false),
            ImageStatus::Incomplete
        );
    }
}
