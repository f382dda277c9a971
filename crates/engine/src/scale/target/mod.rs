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
use nalgebra::Vector3;
use serde::{Deserialize, Serialize};

mod fit;

use fit::{Geometry, above, dlt, h_matrix, project, refine};

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

#[cfg(test)]
mod tests;
