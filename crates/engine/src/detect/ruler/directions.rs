//! The directions of a ruler's graduation lines: measured from grey-level profiles across each
//! line (the shape of a tick blob leans towards the mean direction once the ruler's edge line is
//! cut away), fitted as `tan δ = t₀ + t₁·u` along the reading line with their covariance, and used
//! to carry every line to the reading line. Under perspective the lines converge to the vanishing
//! point of the plane's across-ruler direction, which shows how far the camera is turned about
//! the ruler ([`crate::scale::rectify`]).

use super::*;

/// Where the graduation line through image point `p` meets the model's reading line (px from its
/// origin), following the line's measured direction (`tan δ` at the meeting point: three fixed-
/// point steps from `p`'s projection, plenty for directions that change by a few degrees along
/// the whole ruler).
pub(super) fn along_direction(model: &RulerModel, directions: &TickDirections, p: Point) -> f64 {
    let (o, d) = (model.origin, model.direction);
    let n = [-d[1], d[0]];
    let (cx, cy) = (p.x - o.x, p.y - o.y);
    let mut s = model.along(p);
    for _ in 0..3 {
        let tan = directions.tan_at_u(s);
        let k = 1.0 / tan.hypot(1.0);
        let w = [k * (n[0] + tan * d[0]), k * (n[1] + tan * d[1])];
        let across = d[0] * w[1] - d[1] * w[0];
        if across.abs() < 1e-9 {
            break;
        }
        s = (cx * w[1] - cy * w[0]) / across;
    }
    s
}

/// A weighted least-squares line `y = a + b·x`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LineFit {
    /// `[a, b]`.
    coef: [f64; 2],
    /// Covariance of `coef`: `s²(XᵀWX)⁻¹` with `s² = Σwr²/(k − 2)` the weighted residual
    /// variance (the weights are relative); `None` for fewer than 3 points or no spread in `x`.
    covariance: Option<[[f64; 2]; 2]>,
    /// Weighted mean of `x`.
    mean_x: f64,
}

/// Weighted least squares of `y = a + b·x` over `(x, y, w)`; `b = 0` (and no covariance) when the
/// `x` do not spread. `None` without positive weight.
fn weighted_line(points: &[(f64, f64, f64)]) -> Option<LineFit> {
    let (mut sw, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, y, w) in points {
        sw += w;
        sx += w * x;
        sy += w * y;
        sxx += w * x * x;
        sxy += w * x * y;
    }
    if sw <= 0.0 {
        return None;
    }
    let (mx, my) = (sx / sw, sy / sw);
    let var = sxx / sw - mx * mx;
    let b = if var > 1e-9 {
        (sxy / sw - mx * my) / var
    } else {
        0.0
    };
    let a = my - b * mx;
    let k = points.len();
    let covariance = (var > 1e-9 && k >= 3).then(|| {
        let rss: f64 = points
            .iter()
            .map(|&(x, y, w)| w * (y - a - b * x).powi(2))
            .sum();
        let s2 = rss / (k - 2) as f64;
        // (XᵀWX)⁻¹ = [[Σwx², −Σwx], [−Σwx, Σw]] / (Σw·Σwx² − (Σwx)²), the determinant sw²·var.
        let det = sw * sw * var;
        [
            [s2 * sxx / det, -s2 * sx / det],
            [-s2 * sx / det, s2 * sw / det],
        ]
    });
    Some(LineFit {
        coef: [a, b],
        covariance,
        mean_x: mx,
    })
}

/// Blocks of the delete-a-block jackknife of the tick directions.
const DIRECTION_JACKKNIFE_BLOCKS: usize = 8;

/// Covariance of a weighted line fit's `[a, b]` by the delete-a-block jackknife over
/// [`DIRECTION_JACKKNIFE_BLOCKS`] stretches of `x` (as the ruler model's positions,
/// [`RulerModel::fit`]): errors shared by neighbouring ticks (blur, lighting, how the lines sit
/// on the pixel grid) do not average out over the graduation, and what they do to the fit shows
/// when a stretch is left out. Zero for fewer than 4 points per block.
fn line_jackknife(points: &[(f64, f64, f64)]) -> [[f64; 2]; 2] {
    let n = points.len();
    let k = DIRECTION_JACKKNIFE_BLOCKS;
    let mut out = [[0.0; 2]; 2];
    if n < 4 * k {
        return out;
    }
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let fits: Vec<[f64; 2]> = (0..k)
        .filter_map(|b| {
            let (lo, hi) = (b * n / k, (b + 1) * n / k);
            let rest: Vec<(f64, f64, f64)> =
                sorted[..lo].iter().chain(&sorted[hi..]).copied().collect();
            weighted_line(&rest).map(|f| f.coef)
        })
        .collect();
    if fits.len() < k {
        return out;
    }
    let kf = k as f64;
    let mean = [
        fits.iter().map(|f| f[0]).sum::<f64>() / kf,
        fits.iter().map(|f| f[1]).sum::<f64>() / kf,
    ];
    for f in &fits {
        for i in 0..2 {
            for j in 0..2 {
                out[i][j] += (f[i] - mean[i]) * (f[j] - mean[j]) * (kf - 1.0) / kf;
            }
        }
    }
    out
}

/// Largest angle of the graduation lines from the ruler's normal, radians (about 10°): beyond,
/// measured directions are not a ruler's perspective.
const MAX_TICK_ANGLE: f64 = 0.18;

/// A tick's direction relative to `theta`, radians in (−π/2, π/2].
fn tick_delta(t: &Tick, theta: f64) -> f64 {
    use std::f64::consts::PI;
    let mut d = (t.angle - theta).rem_euclid(PI);
    if d > PI / 2.0 {
        d -= PI;
    }
    d
}

/// Tick direction relative to `theta` as a linear function of the index, (a, b): δ(n) = a + b·n
/// radians, weighted by squared tick length (long ticks give precise directions); (0, 0) when
/// the direction at the ticks' (weighted) middle is beyond [`MAX_TICK_ANGLE`].
pub(super) fn tilt_model(col: &Column, keep: &[bool], theta: f64) -> (f64, f64) {
    let points: Vec<(f64, f64, f64)> = col
        .ticks
        .iter()
        .enumerate()
        .filter(|&(i, _)| keep[i])
        .map(|(i, t)| (col.n[i] as f64, tick_delta(t, theta), t.len * t.len))
        .collect();
    let Some(fit) = weighted_line(&points) else {
        return (0.0, 0.0);
    };
    let [a, b] = fit.coef;
    // Directions beyond ±10° are not a ruler's perspective: ignore the model then.
    if (a + b * fit.mean_x).abs() > MAX_TICK_ANGLE {
        (0.0, 0.0)
    } else {
        (a, b)
    }
}

/// Grey level of `p` at `(x, y)` (pixel centres at integers), bilinear; `None` outside.
fn bilinear(p: &Plane, x: f64, y: f64) -> Option<f64> {
    let (x0, y0) = (x.floor(), y.floor());
    if !(x0 >= 0.0 && y0 >= 0.0 && x0 + 1.0 < p.w as f64 && y0 + 1.0 < p.h as f64) {
        return None;
    }
    let (fx, fy) = (x - x0, y - y0);
    let (i, j) = (x0 as usize, y0 as usize);
    let at = |i: usize, j: usize| f64::from(p.data[j * p.w + i]);
    Some(
        (1.0 - fy) * ((1.0 - fx) * at(i, j) + fx * at(i + 1, j))
            + fy * ((1.0 - fx) * at(i, j + 1) + fx * at(i + 1, j + 1)),
    )
}

/// Centre of the dip of a profile `(position, grey)` whose darkest point lies within `core` of
/// 0: the centroid of the contiguous part around that point darker than half way to the
/// profile's brightest level (weights: how much darker), which does not depend on where the dip
/// sits in the window. `None` when the dip is shallower than 8 grey levels or its half-depth
/// part reaches the window's ends (on the ruler's edge line, which runs along the profile).
fn dip_centre(profile: &[(f64, f64)], core: f64) -> Option<f64> {
    let hi = profile
        .iter()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let (min_at, lo) = profile
        .iter()
        .enumerate()
        .filter(|(_, p)| p.0.abs() <= core)
        .map(|(i, p)| (i, p.1))
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    if hi - lo < 8.0 {
        return None;
    }
    let level = 0.5 * (hi + lo);
    let mut first = min_at;
    while first > 0 && profile[first - 1].1 < level {
        first -= 1;
    }
    let mut last = min_at;
    while last + 1 < profile.len() && profile[last + 1].1 < level {
        last += 1;
    }
    if first == 0 || last + 1 == profile.len() {
        return None;
    }
    let (mut sw, mut sr) = (0.0, 0.0);
    for p in &profile[first..=last] {
        sw += level - p.1;
        sr += (level - p.1) * p.0;
    }
    (sw > 0.0).then(|| sr / sw)
}

/// A tick's direction measured again from the grey levels: `tan δ` of its angle from `normal`
/// towards `dir` (the reading line's normal and direction, unit vectors in image axes), and the
/// length over which it was measured.
///
/// The tick's shape moments give its direction only roughly: the mask is thresholded, and the
/// opening along `theta` that cuts the ticks from the ruler's edge line trims each tick's
/// corners towards `theta`, which pulls every direction towards it and hides much of the ticks'
/// convergence. Here profiles along the ruler, one every px across it (away from the tick's
/// ends), each give where the tick crosses them ([`dip_centre`]), and a line through those
/// points gives the direction. Profiles along the ruler rather than square to the tick because
/// the tick's ends are parallel to the ruler (its edge, and the end of the printed line): a
/// profile square to a converging tick would cut its blurred end obliquely, which pulls its
/// centre towards the ruler's normal. Three times, each time with the profiles centred on the
/// line before. `None` when fewer than 5 profiles show the tick.
fn measured_tick_tan(
    work: &Plane,
    t: &Tick,
    theta: f64,
    period: f64,
    dir: [f64; 2],
    normal: [f64; 2],
) -> Option<(f64, f64)> {
    let (d, a) = ((theta.cos(), theta.sin()), (-theta.sin(), theta.cos()));
    // The tick's centre in image px, and its direction from the shape moments.
    let mut centre = [t.u * a.0 + t.v * d.0, t.u * a.1 + t.v * d.1];
    let delta = tick_delta(t, theta);
    let line = [
        delta.cos() * d.0 + delta.sin() * a.0,
        delta.cos() * d.1 + delta.sin() * a.1,
    ];
    let across = line[0] * normal[0] + line[1] * normal[1];
    if across.abs() < 0.5 {
        return None;
    }
    let mut tan = (line[0] * dir[0] + line[1] * dir[1]) / across;
    // Wide enough to reach the paper between this tick and its neighbours whatever its blur;
    // the dip itself is looked for within `core` of the centre.
    let half_window = (0.75 * period).max(t.width + 2.0);
    let core = (0.4 * period).max(1.0);
    let half_len = 0.5 * t.len * across.abs() - t.width.max(1.5);
    if half_len < 2.0 {
        return None;
    }
    let steps = (2.0 * half_window / 0.25).round() as i64;
    for _ in 0..3 {
        let mut fit: Vec<(f64, f64)> = Vec::new();
        let mut q = -half_len;
        while q <= half_len {
            // The profile through the current line's point q px across the ruler.
            let base = [
                centre[0] + q * normal[0] + q * tan * dir[0],
                centre[1] + q * normal[1] + q * tan * dir[1],
            ];
            let profile: Option<Vec<(f64, f64)>> = (0..=steps)
                .map(|k| {
                    let r = -half_window + 0.25 * k as f64;
                    bilinear(work, base[0] + r * dir[0], base[1] + r * dir[1]).map(|g| (r, g))
                })
                .collect();
            if let Some(r) = profile.and_then(|p| dip_centre(&p, core)) {
                fit.push((q, q * tan + r));
            }
            q += 1.0;
        }
        if fit.len() < 5 {
            return None;
        }
        let k = fit.len() as f64;
        let (mq, mr) = (
            fit.iter().map(|p| p.0).sum::<f64>() / k,
            fit.iter().map(|p| p.1).sum::<f64>() / k,
        );
        let (sqq, sqr) = fit.iter().fold((0.0, 0.0), |acc, p| {
            (acc.0 + (p.0 - mq).powi(2), acc.1 + (p.0 - mq) * (p.1 - mr))
        });
        if sqq <= 0.0 {
            return None;
        }
        tan = sqr / sqq;
        // The fitted line's point at the profiles' middle becomes the new centre.
        centre = [
            centre[0] + mq * normal[0] + mr * dir[0],
            centre[1] + mq * normal[1] + mr * dir[1],
        ];
    }
    tan.is_finite().then_some((tan, 2.0 * half_len))
}

/// The ruler model's [`TickDirections`]: `tan δ` of each kept tick's direction (measured again
/// from the grey levels, [`measured_tick_tan`]) from the reading line's normal against its
/// position `u` along the reading line (full px from the model's origin), fitted as a weighted
/// line (weights: squared length measured), once more without the ticks more than 3.5 robust
/// standard deviations off. `None` without a covariance (too few ticks, no spread) or when the
/// direction at the ticks' middle is beyond [`MAX_TICK_ANGLE`], like [`tilt_model`].
///
/// `to_image(i)`: tick `i`'s point on the reading line, full px. The working frame only scales
/// the image, so directions measured in it are the image's.
pub(super) fn tick_directions(
    col: &Column,
    work: &Plane,
    keep: &[bool],
    theta: f64,
    model: &RulerModel,
    to_image: impl Fn(usize) -> Point,
) -> Option<TickDirections> {
    let dir = model.direction;
    let normal = [-dir[1], dir[0]];
    let points: Vec<(f64, f64, f64)> = col
        .ticks
        .iter()
        .enumerate()
        .filter(|&(i, _)| keep[i])
        .filter_map(|(i, t)| {
            let (tan, len) = measured_tick_tan(work, t, theta, col.period, dir, normal)?;
            Some((model.along(to_image(i)), tan, len * len))
        })
        .collect();
    let first = weighted_line(&points)?;
    // Residuals scaled to a common σ (a direction's σ goes as 1/length).
    let z: Vec<f64> = points
        .iter()
        .map(|&(x, y, w)| (y - first.coef[0] - first.coef[1] * x) * w.sqrt())
        .collect();
    let abs: Vec<f64> = z.iter().map(|v| v.abs()).collect();
    let limit = 3.5 * 1.4826 * median(&abs);
    let kept: Vec<(f64, f64, f64)> = points
        .iter()
        .zip(&z)
        .filter(|(_, z)| z.abs() <= limit)
        .map(|(p, _)| *p)
        .collect();
    let fit = weighted_line(&kept)?;
    let own = fit.covariance?;
    let [t0, t1] = fit.coef;
    if (t0 + t1 * fit.mean_x).atan().abs() > MAX_TICK_ANGLE {
        return None;
    }
    let jack = line_jackknife(&kept);
    let t = TickDirections {
        tan: fit.coef,
        covariance: std::array::from_fn(|i| std::array::from_fn(|j| own[i][j] + jack[i][j])),
    };
    t.is_valid().then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::ruler::{RulerOptions, detect_ruler};
    use crate::detect::scene::{Pose, SceneConfig, render_scene, square_markers};
    use crate::scale::{Camera, Rectification};

    #[test]
    fn weighted_line_and_its_covariance() {
        // y = 2 + 0.5x with residuals ±0.1, weights 1 and 4 alternating.
        let points: Vec<(f64, f64, f64)> = (0..20)
            .map(|i| {
                let x = f64::from(i);
                let r = if i % 2 == 0 { 0.1 } else { -0.1 };
                (x, 2.0 + 0.5 * x + r, if i % 4 < 2 { 1.0 } else { 4.0 })
            })
            .collect();
        let fit = weighted_line(&points).unwrap();
        // Against the normal equations solved directly.
        let xtwx = nalgebra::Matrix2::from_fn(|i, j| {
            points
                .iter()
                .map(|p| p.2 * p.0.powi(i as i32 + j as i32))
                .sum::<f64>()
        });
        let xtwy = nalgebra::Vector2::from_fn(|i, _| {
            points
                .iter()
                .map(|p| p.2 * p.0.powi(i as i32) * p.1)
                .sum::<f64>()
        });
        let coef = xtwx.lu().solve(&xtwy).unwrap();
        assert!((fit.coef[0] - coef[0]).abs() < 1e-12 && (fit.coef[1] - coef[1]).abs() < 1e-12);
        let rss: f64 = points
            .iter()
            .map(|p| p.2 * (p.1 - coef[0] - coef[1] * p.0).powi(2))
            .sum();
        let cov = xtwx.try_inverse().unwrap() * (rss / 18.0);
        let got = fit.covariance.unwrap();
        for i in 0..2 {
            for j in 0..2 {
                assert!(
                    (got[i][j] - cov[(i, j)]).abs() < 1e-9 * cov[(i, i)].abs(),
                    "{got:?}"
                );
            }
        }
        // No spread in x: no slope, no covariance.
        let flat = weighted_line(&[(1.0, 2.0, 1.0), (1.0, 3.0, 1.0), (1.0, 4.0, 1.0)]).unwrap();
        assert_eq!(flat.coef, [3.0, 0.0]);
        assert!(flat.covariance.is_none());
    }

    /// A tick `len` px long and 1.9 px wide at `angle` from +x, ends parallel to the y axis (the
    /// ruler), blurred by `sigma`, centred at `c`, on a 200 grey background.
    fn tick_image(c: (f64, f64), angle: f64, len: f64, sigma: f64) -> Plane {
        let phi = |x: f64| 0.5 * (1.0 + statrs::function::erf::erf(x / std::f64::consts::SQRT_2));
        let s = (sigma * sigma + 1.0 / 12.0).sqrt();
        let (w, h) = (80usize, 80usize);
        let mut data = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 - c.0, y as f64 - c.1);
                let across = -dx * angle.sin() + dy * angle.cos();
                let along = phi((0.5 * len - dx) / s) - phi((-0.5 * len - dx) / s);
                let line = phi((0.95 - across) / s) - phi((-0.95 - across) / s);
                data[y * w + x] = (200.0 - 150.0 * along * line).round() as u8;
            }
        }
        Plane { w, h, data }
    }

    #[test]
    fn tick_directions_are_measured_without_bias() {
        // The ruler along y: reading line direction (0, 1), normal (−1, 0); a tick at angle α
        // from +x has tan δ = −tan α. The shape moments start it at 0 (the worst case: every
        // tick pulled to the mean direction).
        for sigma in [0.4, 0.8, 1.5] {
            for deg in [0.5f64, 2.0, -4.0, 8.0] {
                let mut errs = Vec::new();
                for k in 0..5 {
                    let c = (40.3 + 0.13 * f64::from(k), 40.6 + 0.21 * f64::from(k));
                    let plane = tick_image(c, deg.to_radians(), 24.0, sigma);
                    let tick = Tick {
                        u: c.1,
                        v: c.0,
                        len: 24.0,
                        width: 1.9,
                        angle: 0.0,
                    };
                    let (tan, len) =
                        measured_tick_tan(&plane, &tick, 0.0, 8.0, [0.0, 1.0], [-1.0, 0.0])
                            .unwrap();
                    assert!(len > 15.0);
                    errs.push((-tan).atan().to_degrees() - deg);
                }
                let mean = errs.iter().sum::<f64>() / errs.len() as f64;
                // Each tick alone within 0.25° (the half-depth centroid locks to the pixel grid:
                // up to 0.2° at σ = 0.4 px, 0.1° at 0.8), which averages out over ticks at
                // different sub-pixel positions: their mean within 0.03°.
                assert!(mean.abs() < 0.03, "σ {sigma}, {deg}°: {errs:?}");
                assert!(
                    errs.iter().all(|e| e.abs() < 0.25),
                    "σ {sigma}, {deg}°: {errs:?}"
                );
            }
        }
        // Nothing there: no direction.
        let blank = Plane {
            w: 80,
            h: 80,
            data: vec![200; 6400],
        };
        let tick = Tick {
            u: 40.0,
            v: 40.0,
            len: 24.0,
            width: 1.9,
            angle: 0.0,
        };
        assert!(measured_tick_tan(&blank, &tick, 0.0, 8.0, [0.0, 1.0], [-1.0, 0.0]).is_none());
    }

    /// Detected tick directions against the scene's truth: the turn about the ruler they imply
    /// (through the rectification) and its σ.
    fn turn_error(pose: Pose, seed: u64) -> (f64, f64, f64) {
        let cfg = SceneConfig::default();
        let scene = render_scene(
            seed,
            &cfg,
            &square_markers(12.0),
            [[1.0, 0.0], [0.0, 1.0]],
            &pose,
        );
        let found = detect_ruler(&scene.image, &RulerOptions::default()).unwrap();
        let model = found.model;
        let h = scene.homography;
        let truth = RulerModel {
            tick_directions: TickDirections::toward(&model, [h[0], h[3], h[6]]),
            ..model
        };
        let camera = Camera {
            width: cfg.width,
            height: cfg.height,
            focal_px: scene.focal_px,
        };
        let turn = |m: &RulerModel| {
            Rectification::from_ruler(m, &camera)
                .unwrap()
                .turn_about_ruler()
                .unwrap()
        };
        let (got, want) = (turn(&model), turn(&truth));
        (want.estimate_deg, got.estimate_deg, got.sigma_deg)
    }

    #[test]
    fn detected_tick_directions_show_the_turn_about_the_ruler() {
        for (k, (tilt_x, tilt_y)) in [(0.0, 0.0), (0.0, 12.0), (0.0, -7.0), (9.0, -11.0)]
            .into_iter()
            .enumerate()
        {
            let pose = Pose {
                tilt_x_deg: tilt_x,
                tilt_y_deg: tilt_y,
                ..Pose::default()
            };
            let (want, got, sigma) = turn_error(pose, 40 + k as u64);
            // The truth is the pose (up to the sign of the model's mm axis) for a tilt about the
            // ruler alone (the scene's principal point is half a pixel off the camera's).
            if tilt_x == 0.0 {
                assert!((want.abs() - f64::abs(tilt_y)).abs() < 0.01, "{want}");
            }
            assert!(sigma > 0.0 && sigma < 0.6, "σ {sigma}");
            assert!(
                (got - want).abs() < 0.6 && (got - want).abs() < 4.0 * sigma,
                "{tilt_x}/{tilt_y}: {got} ± {sigma} vs {want}"
            );
        }
    }
}
