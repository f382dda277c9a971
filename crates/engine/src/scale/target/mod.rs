//! The calibration-target model: a flat dot grid of known pitch in the specimen plane, and the
//! plane ↔ image map it gives.
//!
//! Under a pinhole camera a plane maps to the image by a homography `H` (8 parameters); a real
//! lens adds radial distortion, modelled here by one term about the image centre `c`:
//!
//! ```text
//! q = H·(X, Y, 1)                      (undistorted image point, px)
//! p = c + (q − c)·(1 + k₁·|q − c|²/R²)  (R = half the image diagonal, so k₁ is dimensionless)
//! ```
//!
//! **Fit.** The dots' grid positions `(i·pitch, j·pitch)` and their image centres give `H` by the
//! normalised DLT (Hartley: both point sets moved to their centroid and scaled to a mean distance
//! of √2, the null vector of the 2n × 9 system by the eigen-decomposition of AᵀA), refined with
//! `k₁` by Levenberg–Marquardt on the true reprojection error in px (Marquardt's diagonal
//! scaling, so the very different sizes of H's entries do not matter). `k₁` is kept only where
//! it is significant (|k₁| > 3σ) and the grid covers enough of the image to tell it from a
//! homography; otherwise the plain homography is used. The covariance of the parameters is
//! `s²(JᵀJ)⁻¹` with `s²` the residual variance (`RSS/(2n − p)`, at least
//! [`MIN_DOT_SIGMA_PX`]²).
//!
//! **From a marker to mm.** Undistort (a 1-D Newton solve of the radial term), apply `H⁻¹`, then
//! put the plane's axes where the ruler-based correction puts them: X along the image's x axis
//! at the image centre, Y turned +90° from it (towards +y, as in the image), origin at the image
//! centre. Which grid dot the detector called (0, 0), and whether it counted the rows up or down,
//! therefore do not matter: a target placed at any angle gives the same frame, the one strain
//! components are reported in.
//!
//! **Assumptions.** The target lies in the specimen's plane (a printed sheet under or beside a
//! flat specimen; a thickness step of t mm at a distance D mm changes the scale by t/D, the same
//! in every photo from one camera position, and that cancels in the strain), its pitch is what
//! was printed (check the printed scale bar: a uniform print scale also cancels), and the lens is
//! a pinhole plus the one radial term.

use crate::points::Point;
use nalgebra::{DMatrix, DVector, Matrix3, SymmetricEigen, Vector3};
use serde::{Deserialize, Serialize};

/// Floor of the dot-centre σ used for the covariance, px.
pub const MIN_DOT_SIGMA_PX: f64 = 0.02;

/// Fewest dots a target model is fitted to.
pub const MIN_TARGET_DOTS: usize = 12;

/// Significance (in σ) a radial term needs to be kept.
const RADIAL_SIGNIFICANCE: f64 = 3.0;

/// A calibration target's plane ↔ image map in one photo (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetModel {
    /// Plane (grid mm) → undistorted image (px), row-major, last entry 1.
    pub homography: [f64; 9],
    /// Radial distortion `k₁` (0 when not fitted).
    pub radial_k1: f64,
    /// Centre of the distortion and of the axes' orientation: the image centre, px.
    pub centre: Point,
    /// `R`: half the image diagonal, px.
    pub radius_px: f64,
    /// Grid pitch, mm.
    pub pitch_mm: f64,
    /// Dots used by the fit.
    pub dots: u32,
    /// Grid extent in dots (columns, rows) of the dots used.
    pub grid: [u32; 2],
    /// RMS reprojection distance of the dots from the model, px.
    pub rms_px: f64,
    /// Covariance of `[h₀ … h₇]` (8 × 8) or `[h₀ … h₇, k₁]` (9 × 9, when `k₁` was fitted),
    /// row-major.
    pub covariance: Vec<f64>,
    /// Where the target's card is in the image (the dots' grid grown by one pitch), px, when
    /// a detector found it: for display, and to keep the marker search off it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outline: Option<[Point; 4]>,
}

/// Why a target model could not be fitted.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("only {found} target dots, at least {needed} are needed")]
    TooFewDots { found: usize, needed: usize },
    #[error("the target dots are degenerate (on one line, or repeated)")]
    Degenerate,
    #[error("the target fit did not converge")]
    NotConverged,
    #[error("the target's pitch must be a positive number of mm, got {0}")]
    InvalidPitch(f64),
}

/// One dot: its grid index (column, row) and its image centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridDot {
    pub index: [i32; 2],
    pub image: Point,
}

/// The model's parameters: the 8 free homography entries and k₁.
pub type TargetParams = [f64; 9];

impl TargetModel {
    /// Fit a model to dots (grid index + image centre) of a grid of `pitch_mm` seen in an image
    /// of `size` px. `radial`: allow the radial term (kept only where significant).
    pub fn fit(
        dots: &[GridDot],
        pitch_mm: f64,
        size: [u32; 2],
        radial: bool,
    ) -> Result<TargetModel, TargetError> {
        if !(pitch_mm > 0.0 && pitch_mm.is_finite()) {
            return Err(TargetError::InvalidPitch(pitch_mm));
        }
        if dots.len() < MIN_TARGET_DOTS {
            return Err(TargetError::TooFewDots {
                found: dots.len(),
                needed: MIN_TARGET_DOTS,
            });
        }
        let plane: Vec<Point> = dots
            .iter()
            .map(|d| {
                Point::new(
                    f64::from(d.index[0]) * pitch_mm,
                    f64::from(d.index[1]) * pitch_mm,
                )
            })
            .collect();
        let image: Vec<Point> = dots.iter().map(|d| d.image).collect();
        let centre = Point::new(f64::from(size[0]) / 2.0, f64::from(size[1]) / 2.0);
        let radius_px = centre.x.hypot(centre.y).max(1.0);
        let h0 = dlt(&plane, &image).ok_or(TargetError::Degenerate)?;
        let geometry = Geometry { centre, radius_px };
        let mut start = [0.0; 9];
        start[..8].copy_from_slice(&h0[..8]);
        let plain = refine(&plane, &image, start, false, &geometry)?;
        let chosen = if radial && dots.len() >= 2 * MIN_TARGET_DOTS {
            match refine(&plane, &image, plain.params, true, &geometry) {
                Ok(r) if r.params[8].abs() > RADIAL_SIGNIFICANCE * r.covariance_at(8, 8).sqrt() => {
                    r
                }
                _ => plain,
            }
        } else {
            plain
        };
        let mut homography = [0.0; 9];
        homography[..8].copy_from_slice(&chosen.params[..8]);
        homography[8] = 1.0;
        let (cols, rows) =
            dots.iter()
                .fold(((i32::MAX, i32::MIN), (i32::MAX, i32::MIN)), |(c, r), d| {
                    (
                        (c.0.min(d.index[0]), c.1.max(d.index[0])),
                        (r.0.min(d.index[1]), r.1.max(d.index[1])),
                    )
                });
        Ok(TargetModel {
            homography,
            radial_k1: chosen.params[8],
            centre,
            radius_px,
            pitch_mm,
            dots: dots.len() as u32,
            grid: [(cols.1 - cols.0 + 1) as u32, (rows.1 - rows.0 + 1) as u32],
            rms_px: chosen.rms,
            covariance: chosen.covariance,
            outline: None,
        })
    }

    /// Whether the model can be used: finite entries, a positive pitch and radius, a covariance
    /// of the right size, and an invertible homography.
    pub fn is_valid(&self) -> bool {
        let n = self.parameter_count();
        self.homography.iter().all(|v| v.is_finite())
            && (self.homography[8] - 1.0).abs() < 1e-9
            && self.radial_k1.is_finite()
            && self.centre.is_finite()
            && self.radius_px > 0.0
            && self.pitch_mm > 0.0
            && self.pitch_mm.is_finite()
            && self.rms_px.is_finite()
            && (self.covariance.len() == 64 || self.covariance.len() == 81)
            && self.covariance.iter().all(|v| v.is_finite())
            && (0..n).all(|i| self.covariance[i * n + i] >= 0.0)
            && h_matrix(&self.homography).try_inverse().is_some()
            && self.outline.is_none_or(|o| o.iter().all(|p| p.is_finite()))
    }

    /// Whether the radial term was fitted.
    pub fn has_radial(&self) -> bool {
        self.covariance.len() == 81
    }

    /// Number of fitted parameters (8, or 9 with the radial term).
    pub fn parameter_count(&self) -> usize {
        if self.has_radial() { 9 } else { 8 }
    }

    /// The fitted parameters `[h₀ … h₇, k₁]`.
    pub fn params(&self) -> TargetParams {
        let mut p = [0.0; 9];
        p[..8].copy_from_slice(&self.homography[..8]);
        p[8] = self.radial_k1;
        p
    }

    /// The covariance entry (i, j) of the fitted parameters.
    pub fn covariance_at(&self, i: usize, j: usize) -> f64 {
        let n = self.parameter_count();
        if i < n && j < n {
            self.covariance[i * n + j]
        } else {
            0.0
        }
    }

    /// The model with other parameters (for sensitivities).
    pub fn with_params(&self, p: &TargetParams) -> TargetModel {
        let mut m = self.clone();
        m.homography[..8].copy_from_slice(&p[..8]);
        m.radial_k1 = p[8];
        m
    }

    /// Image position (px, with distortion) of a grid point (mm).
    pub fn project(&self, plane: Point) -> Option<Point> {
        let g = Geometry {
            centre: self.centre,
            radius_px: self.radius_px,
        };
        project(&self.params(), &g, plane)
    }

    /// The grid point (mm, in the grid's own frame) an image point shows; `None` beyond the
    /// plane's horizon.
    pub fn to_grid(&self, p: Point) -> Option<Point> {
        let q = self.undistort(p)?;
        let inv = h_matrix(&self.homography).try_inverse()?;
        let v = inv * Vector3::new(q.x, q.y, 1.0);
        if !above(v.z.abs(), 1e-300) {
            return None;
        }
        let g = Point::new(v.x / v.z, v.y / v.z);
        // In front of the camera: the homography's w of the plane point has the sign of the
        // grid's own points (positive, as the fit scales h₈ = 1 and the grid is in view).
        let w = self.homography[6] * g.x + self.homography[7] * g.y + 1.0;
        (w > 0.0 && g.is_finite()).then_some(g)
    }

    /// The undistorted image point of a (distorted) image point.
    pub fn undistort(&self, p: Point) -> Option<Point> {
        let k = self.radial_k1;
        if k == 0.0 {
            return Some(p);
        }
        let (dx, dy) = (p.x - self.centre.x, p.y - self.centre.y);
        let rd = dx.hypot(dy) / self.radius_px;
        if rd == 0.0 {
            return Some(p);
        }
        // ρ(1 + kρ²) = rd, Newton from ρ = rd.
        let mut r = rd;
        for _ in 0..30 {
            let f = r * (1.0 + k * r * r) - rd;
            let df = 1.0 + 3.0 * k * r * r;
            if df <= 0.0 {
                return None;
            }
            let step = f / df;
            r -= step;
            if step.abs() < 1e-15 {
                break;
            }
        }
        let s = r / rd;
        (s.is_finite() && r > 0.0)
            .then(|| Point::new(self.centre.x + dx * s, self.centre.y + dy * s))
    }

    /// The plane frame strain is reported in (module documentation): a rigid map of the grid
    /// frame, `(origin, [cos θ, sin θ], mirror)`.
    fn frame(&self) -> Option<(Point, [f64; 2], bool)> {
        let c = self.centre;
        let o = self.to_grid(c)?;
        let ex = self.to_grid(Point::new(c.x + 1.0, c.y))?;
        let ey = self.to_grid(Point::new(c.x, c.y + 1.0))?;
        let (ax, ay) = (ex.x - o.x, ex.y - o.y);
        let (bx, by) = (ey.x - o.x, ey.y - o.y);
        let mirror = ax * by - ay * bx < 0.0;
        let ay = if mirror { -ay } else { ay };
        let n = ax.hypot(ay);
        (n > 0.0).then(|| (o, [ax / n, ay / n], mirror))
    }

    /// Image points (px) to the plane in mm, in the frame strain is reported in. `None` at the
    /// index of the first point beyond the horizon.
    pub fn to_plane(&self, points: &[Point]) -> Result<Vec<Point>, usize> {
        let (o, [c, s], mirror) = self.frame().ok_or(0usize)?;
        points
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let g = self.to_grid(p).ok_or(i)?;
                let (x, y) = (g.x - o.x, g.y - o.y);
                let y = if mirror { -y } else { y };
                Ok(Point::new(c * x + s * y, -s * x + c * y))
            })
            .collect()
    }

    /// Local mm/px at an image point: the square root of the map's area ratio there.
    pub fn mm_per_px_at(&self, p: Point) -> Option<f64> {
        let a = self.to_grid(p)?;
        let b = self.to_grid(Point::new(p.x + 1.0, p.y))?;
        let c = self.to_grid(Point::new(p.x, p.y + 1.0))?;
        let area = ((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)).abs();
        Some(area.sqrt())
    }
}

/// Where the distortion is centred and how it is normalised.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    centre: Point,
    radius_px: f64,
}

/// `x > limit`, false for NaN.
fn above(x: f64, limit: f64) -> bool {
    x > limit
}

fn h_matrix(h: &[f64; 9]) -> Matrix3<f64> {
    Matrix3::new(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8])
}

/// Plane → distorted image under parameters `p`.
fn project(p: &TargetParams, g: &Geometry, x: Point) -> Option<Point> {
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
fn residuals(
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
struct Refined {
    params: TargetParams,
    rms: f64,
    covariance: Vec<f64>,
}

impl Refined {
    fn covariance_at(&self, i: usize, j: usize) -> f64 {
        let n = if self.covariance.len() == 81 { 9 } else { 8 };
        self.covariance[i * n + j]
    }
}

/// `(A)⁻¹` of a symmetric positive definite matrix with its diagonal equilibrated first.
fn equilibrated_inverse(a: &DMatrix<f64>) -> Option<DMatrix<f64>> {
    let n = a.nrows();
    let d: Vec<f64> = (0..n).map(|i| a[(i, i)].max(1e-300).sqrt()).collect();
    let scaled = DMatrix::from_fn(n, n, |i, j| a[(i, j)] / (d[i] * d[j]));
    let inv = scaled.cholesky()?.inverse();
    Some(DMatrix::from_fn(n, n, |i, j| inv[(i, j)] / (d[i] * d[j])))
}

/// Levenberg–Marquardt on the reprojection error from `start`.
fn refine(
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
fn normalisation(points: &[Point]) -> Option<(f64, Point)> {
    let n = points.len() as f64;
    let c = points.iter().fold(Point::new(0.0, 0.0), |a, p| {
        Point::new(a.x + p.x, a.y + p.y)
    });
    let c = Point::new(c.x / n, c.y / n);
    let mean = points.iter().map(|p| p.distance(c)).sum::<f64>() / n;
    (mean > 0.0 && mean.is_finite()).then(|| (std::f64::consts::SQRT_2 / mean, c))
}

/// Normalised DLT: the homography plane → image (last entry 1), or `None` when degenerate.
fn dlt(plane: &[Point], image: &[Point]) -> Option<[f64; 9]> {
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

#[cfg(test)]
mod tests;
