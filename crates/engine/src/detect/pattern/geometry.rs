//! Plane geometry of five labelled points: orientation and midpoints, how far the centre sits
//! from the diagonals' midpoints, and least-squares fits between two sets of points (the affine
//! map's relative residual, the similarity's rotation and scale), all on centred coordinates.

use crate::points::Point;

/// Mean of the points (each term divided by n before summing, as the fits always did).
fn centroid(points: &[Point]) -> (f64, f64) {
    let n = points.len() as f64;
    points
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.x / n, a.1 + p.y / n))
}

/// RMS residual of the least-squares affine map `from` → `to`, relative to the RMS spread of
/// `to` about its centroid.
pub(crate) fn affine_residual(from: &[Point; 5], to: &[Point; 5]) -> Option<f64> {
    let (fx, fy) = centroid(from);
    let (tx, ty) = centroid(to);
    // Centred coordinates: to = A · from, A = (Σ t fᵀ)(Σ f fᵀ)⁻¹.
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    let (mut uxx, mut uxy, mut uyx, mut uyy) = (0.0, 0.0, 0.0, 0.0);
    let mut spread = 0.0;
    for (f, t) in from.iter().zip(to) {
        let (ax, ay) = (f.x - fx, f.y - fy);
        let (bx, by) = (t.x - tx, t.y - ty);
        sxx += ax * ax;
        sxy += ax * ay;
        syy += ay * ay;
        uxx += bx * ax;
        uxy += bx * ay;
        uyx += by * ax;
        uyy += by * ay;
        spread += bx * bx + by * by;
    }
    let det = sxx * syy - sxy * sxy;
    if det.abs() <= 1e-12 * (sxx * syy).max(1e-300) || spread <= 0.0 {
        return None;
    }
    let (i00, i01, i11) = (syy / det, -sxy / det, sxx / det);
    let a = [
        uxx * i00 + uxy * i01,
        uxx * i01 + uxy * i11,
        uyx * i00 + uyy * i01,
        uyx * i01 + uyy * i11,
    ];
    let mut res = 0.0;
    for (f, t) in from.iter().zip(to) {
        let (ax, ay) = (f.x - fx, f.y - fy);
        let (bx, by) = (t.x - tx, t.y - ty);
        res += (a[0] * ax + a[1] * ay - bx).powi(2) + (a[2] * ax + a[3] * ay - by).powi(2);
    }
    Some((res / spread).sqrt())
}

/// Rotation (radians) and scale of the least-squares similarity mapping `from` onto `to`.
pub(crate) fn similarity(from: &[Point; 5], to: &[Point; 5]) -> Option<(f64, f64)> {
    let [zr, zi, _, _] = fit_similarity(from, to)?;
    let scale = zr.hypot(zi);
    (scale > 1e-9 && scale.is_finite()).then(|| (zi.atan2(zr), scale))
}

/// Least-squares similarity `to ≈ s R from + t` on matching points: returns (a, b, tx, ty) with
/// x' = a x − b y + tx, y' = b x + a y + ty.
pub(crate) fn fit_similarity(from: &[Point], to: &[Point]) -> Option<[f64; 4]> {
    if from.len() < 2 || from.len() != to.len() {
        return None;
    }
    let (fx, fy) = centroid(from);
    let (tx, ty) = centroid(to);
    let (mut re, mut im, mut norm) = (0.0, 0.0, 0.0);
    for (f, t) in from.iter().zip(to) {
        let (ax, ay) = (f.x - fx, f.y - fy);
        let (bx, by) = (t.x - tx, t.y - ty);
        re += bx * ax + by * ay;
        im += by * ax - bx * ay;
        norm += ax * ax + ay * ay;
    }
    if norm <= 1e-12 {
        return None;
    }
    let (a, b) = (re / norm, im / norm);
    Some([a, b, tx - (a * fx - b * fy), ty - (b * fx + a * fy)])
}

pub(super) fn orient(a: Point, b: Point, c: Point) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

pub(super) fn mid(a: Point, b: Point) -> Point {
    Point::new(0.5 * (a.x + b.x), 0.5 * (a.y + b.y))
}

/// Smallest absolute difference between two angles (radians).
pub(super) fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(std::f64::consts::TAU);
    d.min(std::f64::consts::TAU - d)
}

/// Offsets of the centre from the two diagonals' midpoints, as fractions of each diagonal,
/// for labelled points (diagonals 0–2 and 1–3).
pub(crate) fn centre_offsets(p: &[Point; 5]) -> [f64; 2] {
    let off = |a: Point, b: Point| {
        let len = a.distance(b);
        if len <= 0.0 {
            f64::INFINITY
        } else {
            mid(a, b).distance(p[4]) / len
        }
    };
    [off(p[0], p[2]), off(p[1], p[3])]
}
