//! Fitting a [`super::TargetModel`]'s parameters: the normalised DLT for a first homography
//! (Hartley normalisation of both point sets, the null vector of AᵀA), then Levenberg–Marquardt
//! with Marquardt's diagonal scaling on the reprojection error in px, with or without the radial
//! term, and the equilibrated inverse of JᵀJ that the covariance comes from.

use super::{MIN_DOT_SIGMA_PX, TargetError, TargetParams};
use crate::points::Point;
use nalgebra::{DMatrix, DVector, Matrix3, SymmetricEigen};

/// Where the distortion is centred and how it is normalised.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    pub(super) centre: Point,
    pub(super) radius_px: f64,
}

/// `x > limit`, false for NaN.
pub(super) fn above(x: f64, limit: f64) -> bool {
    x > limit
}

pub(super) fn h_matrix(h: &[f64; 9]) -> Matrix3<f64> {
    Matrix3::new(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8])
}

/// Plane → distorted image under parameters `p`.
pub(super) fn project(p: &TargetParams, g: &Geometry, x: Point) -> Option<Point> {
    let w = p[6] * x.x + p[7] * x.y + 1.0;
    if !above(w, 1e-12) {
        return None;
    }
    let q = Point::new(
        (p[0] * x.x + p[1] * x.y + p[2]) / w,
        (p[3] * x.x + p[4] * x.y + p[5]) / w,
    );
    let (dx, dy) = (q.x - g.centre.x, q.y - g.centre.y);
    let f = 1.0 + p[8] * (dx * dx + dy * dy) / (g.radius_px * g.radius_px);
    Some(Point::new(g.centre.x + dx * f, g.centre.y + dy * f))
}

/// Residuals (2n) and Jacobian (2n × m, m = 8 or 9) of the reprojection at `p`.
pub(super) fn residuals(
    plane: &[Point],
    image: &[Point],
    p: &TargetParams,
    radial: bool,
    g: &Geometry,
) -> Option<(DVector<f64>, DMatrix<f64>)> {
    let m = if radial { 9 } else { 8 };
    let n = plane.len();
    let mut r = DVector::zeros(2 * n);
    let mut j = DMatrix::zeros(2 * n, m);
    let r2 = g.radius_px * g.radius_px;
    for (i, (x, obs)) in plane.iter().zip(image).enumerate() {
        let w = p[6] * x.x + p[7] * x.y + 1.0;
        if !above(w, 1e-12) {
            return None;
        }
        let qx = (p[0] * x.x + p[1] * x.y + p[2]) / w;
        let qy = (p[3] * x.x + p[4] * x.y + p[5]) / w;
        // ∂q/∂h (2 × 8).
        let mut jq = [[0.0; 8]; 2];
        jq[0][0] = x.x / w;
        jq[0][1] = x.y / w;
        jq[0][2] = 1.0 / w;
        jq[0][6] = -qx * x.x / w;
        jq[0][7] = -qx * x.y / w;
        jq[1][3] = x.x / w;
        jq[1][4] = x.y / w;
        jq[1][5] = 1.0 / w;
        jq[1][6] = -qy * x.x / w;
        jq[1][7] = -qy * x.y / w;
        let (dx, dy) = (qx - g.centre.x, qy - g.centre.y);
        let s = (dx * dx + dy * dy) / r2;
        let k = p[8];
        let f = 1.0 + k * s;
        // ∂p/∂q = f·I + (2k/R²)·d dᵀ.
        let dpdq = [
            [f + 2.0 * k * dx * dx / r2, 2.0 * k * dx * dy / r2],
            [2.0 * k * dx * dy / r2, f + 2.0 * k * dy * dy / r2],
        ];
        r[2 * i] = g.centre.x + dx * f - obs.x;
        r[2 * i + 1] = g.centre.y + dy * f - obs.y;
        for row in 0..2 {
            for col in 0..8 {
                j[(2 * i + row, col)] = dpdq[row][0] * jq[0][col] + dpdq[row][1] * jq[1][col];
            }
        }
        if radial {
            j[(2 * i, 8)] = dx * s;
            j[(2 * i + 1, 8)] = dy * s;
        }
    }
    Some((r, j))
}

/// A refined fit.
pub(super) struct Refined {
    pub(super) params: TargetParams,
    pub(super) rms: f64,
    pub(super) covariance: Vec<f64>,
}

impl Refined {
    pub(super) fn covariance_at(&self, i: usize, j: usize) -> f64 {
        let n = if self.covariance.len() == 81 { 9 } else { 8 };
        self.covariance[i * n + j]
    }
}

/// `(A)⁻¹` of a symmetric positive definite matrix with its diagonal equilibrated first.
pub(super) fn equilibrated_inverse(a: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = a.nrows();
    let d: Vec<f64> = (0..n).map(|i| a[(i, i)].max(1e-300).sqrt()).collect();
    let scaled = DMatrix::from_fn(n, n, |i, j| a[(i, j)] / (d[i] * d[j]));
    let inv = scaled.cholesky()?.inverse();
    Some(DMatrix::from_fn(n, n, |i, j| inv[(i, j)] / (d[i] * d[j])))
}

/// Levenberg–Marquardt on the reprojection error from `start`.
pub(super) fn refine(
    plane: &[Point],
    image: &[Point],
    start: TargetParams,
    radial: bool,
    g: &Geometry,
) -> Result<Refined, TargetError> {
    let m = if radial { 9 } else { 8 };
    let mut p = start;
    if !radial {
        p[8] = 0.0;
    }
    let (mut r, mut j) = residuals(plane, image, &p, radial, g).ok_or(TargetError::Degenerate)?;
    let mut cost = r.norm_squared();
    let mut lambda = 1e-3;
    for _ in 0..100 {
        let jtj = j.transpose() * &j;
        let grad = j.transpose() * &r;
        let mut a = jtj.clone();
        for i in 0..m {
            a[(i, i)] += lambda * jtj[(i, i)].max(1e-300);
        }
        let Some(inv) = equilibrated_inverse(&a) else {
            lambda *= 10.0;
            if lambda > 1e12 {
                return Err(TargetError::Degenerate);
            }
            continue;
        };
        let step = -(inv * grad);
        let mut trial = p;
        for i in 0..m {
            trial[i] += step[i];
        }
        match residuals(plane, image, &trial, radial, g) {
            Some((r2, j2)) if r2.norm_squared() <= cost => {
                let improvement = cost - r2.norm_squared();
                p = trial;
                r = r2;
                j = j2;
                cost = r.norm_squared();
                lambda = (lambda / 10.0).max(1e-12);
                if improvement <= 1e-14 * cost.max(1e-30) {
                    break;
                }
            }
            _ => {
                lambda *= 10.0;
                if lambda > 1e12 {
                    break;
                }
            }
        }
    }
    if !p.iter().all(|v| v.is_finite()) {
        return Err(TargetError::NotConverged);
    }
    let n = plane.len();
    let dof = (2 * n).saturating_sub(m).max(1) as f64;
    let s2 = (cost / dof).max(MIN_DOT_SIGMA_PX * MIN_DOT_SIGMA_PX);
    let jtj = j.transpose() * &j;
    let inv = equilibrated_inverse(&jtj).ok_or(TargetError::Degenerate)?;
    let covariance = (0..m * m).map(|k| s2 * inv[(k / m, k % m)]).collect();
    Ok(Refined {
        params: p,
        rms: (cost / n as f64).sqrt(),
        covariance,
    })
}

/// Similarity moving points to their centroid with a mean distance of √2: (scale, centre).
pub(super) fn normalisation(points: &[Point]) -> Option<(f64, Point)> {
    let n = points.len() as f64;
    let c = points.iter().fold(Point::new(0.0, 0.0), |a, p| {
        Point::new(a.x + p.x, a.y + p.y)
    });
    let c = Point::new(c.x / n, c.y / n);
    let mean = points.iter().map(|p| p.distance(c)).sum::<f64>() / n;
    (mean > 0.0 && mean.is_finite()).then(|| (std::f64::consts::SQRT_2 / mean, c))
}

/// Normalised DLT: the homography plane → image (last entry 1), or `None` when degenerate.
pub(super) fn dlt(plane: &[Point], image: &[Point]) -> Option<[f64; 9]> {
    let (sp, cp) = normalisation(plane)?;
    let (si, ci) = normalisation(image)?;
    let mut ata = nalgebra::SMatrix::<f64, 9, 9>::zeros();
    for (x, u) in plane.iter().zip(image) {
        let (x, y) = ((x.x - cp.x) * sp, (x.y - cp.y) * sp);
        let (u, v) = ((u.x - ci.x) * si, (u.y - ci.y) * si);
        let rows = [
            [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, -u],
            [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, -v],
        ];
        for row in rows {
            let r = nalgebra::SVector::<f64, 9>::from_row_slice(&row);
            ata += r * r.transpose();
        }
    }
    let eig = SymmetricEigen::new(ata);
    let (k, _) = eig
        .eigenvalues
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))?;
    // The second smallest must be clearly larger, else the points do not fix a homography.
    let mut sorted: Vec<f64> = eig.eigenvalues.iter().copied().collect();
    sorted.sort_by(f64::total_cmp);
    if !above(sorted[1], 1e-9 * sorted[8]) {
        return None;
    }
    let v = eig.eigenvectors.column(k);
    let hn = Matrix3::new(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
    let tp = Matrix3::new(sp, 0.0, -sp * cp.x, 0.0, sp, -sp * cp.y, 0.0, 0.0, 1.0);
    let ti_inv = Matrix3::new(1.0 / si, 0.0, ci.x, 0.0, 1.0 / si, ci.y, 0.0, 0.0, 1.0);
    let h = ti_inv * hn * tp;
    let s = h[(2, 2)];
    if !above(s.abs(), 1e-300) {
        return None;
    }
    let h = h / s;
    let out = [
        h[(0, 0)],
        h[(0, 1)],
        h[(0, 2)],
        h[(1, 0)],
        h[(1, 1)],
        h[(1, 2)],
        h[(2, 0)],
        h[(2, 1)],
        1.0,
    ];
    out.iter().all(|v| v.is_finite()).then_some(out)
}
