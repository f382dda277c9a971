//! The operations on a project that the command line and the web app share: the rules that
//! are neither pure computation (the engine) nor HTTP or flag parsing. Each rule lives here
//! once; [`crate::cli`] and [`crate::web`] call it.

pub mod report;
pub mod scale;
pub mod target;

use crate::engine::Point;

/// Coordinates and confidences are stored with 3 decimals (a thousandth of a pixel), as the
/// front end writes them, so a point it sends back unchanged compares equal and keeps its
/// provenance.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A point rounded as stored ([`round3`] on both coordinates).
pub fn round_point(p: Point) -> Point {
    Point::new(round3(p.x), round3(p.y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_three_decimals() {
        assert_eq!(round3(1.23456), 1.235);
        assert_eq!(round3(-0.0004), -0.0);
        assert_eq!(
            round_point(Point::new(10.0004, 2.9996)),
            Point::new(10.0, 3.0)
        );
    }
}
