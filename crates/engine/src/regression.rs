//! Ordinary least squares of a strain component against deformation distance (docs/strain.md §6),
//! matching `scipy.stats.linregress` to 1e-9 relative.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    pub n: usize,
    pub slope: f64,
    pub intercept: f64,
    pub r_value: f64,
    pub r_squared: f64,
    /// Two-sided p-value of the slope (Student t, n − 2 d.o.f.).
    pub p_value: f64,
    /// Standard error of the slope (scipy's `stderr`).
    pub stderr: f64,
    pub intercept_stderr: f64,
    /// 95 % confidence interval of the slope `[low, high]`.
    pub slope_ci95: [f64; 2],
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegressionError {
    #[error("x and y have different lengths ({x} and {y})")]
    LengthMismatch { x: usize, y: usize },
    #[error("a regression needs at least 3 points, got {n}")]
    TooFewPoints { n: usize },
    #[error("all deformation distances are equal ({x} mm): the slope is undefined")]
    ConstantX { x: f64 },
    #[error("value {index} is not a finite number")]
    NonFinite { index: usize },
}

/// Minimum number of points of a regression (n − 2 ≥ 1 degrees of freedom).
pub const MIN_POINTS: usize = 3;

/// scipy's regulariser in `t = r·√(df / ((1 − r + TINY)(1 + r + TINY)))`.
const TINY: f64 = 1.0e-20;

/// A fit whose |r| is within this of 1 is perfect to rounding: r = ±1, p = 0, errors 0.
const PERFECT_FIT: f64 = 4.0 * f64::EPSILON;

/// Ordinary least squares `y = intercept + slope·x`, the same numbers as
/// `scipy.stats.linregress(x, y)` (population covariances `ssxm`, `ssym`, `ssxym`; r clipped to
/// [−1, 1]; `t = r·√(df/((1−r+1e-20)(1+r+1e-20)))`, `p = 2·sf(|t|)` of Student t with n − 2
/// degrees of freedom; `stderr = √((1−r²)·ssym/ssxm/df)`,
/// `intercept_stderr = stderr·√(ssxm + x̄²)`), plus the 95 % confidence interval of the slope
/// `slope ± t₀.₉₇₅(n−2)·stderr`.
///
/// Two edge cases follow docs/strain.md §6 rather than the newest scipy:
/// - constant y (all values equal): slope 0, intercept y, r = r² = 0, p = 1, standard errors 0
///   (older scipy reported this; scipy ≥ 1.13-ish returns NaN for r, p and the errors);
/// - a fit that is perfect to rounding (1 − |r| ≤ 4ε): r = ±1, r² = 1, p = 0, standard errors 0
///   (scipy reports a p of order 1e-10 or smaller there, an artefact of its 1e-20 regulariser).
///
/// Errors: different lengths, fewer than 3 points, a non-finite value, all x equal.
pub fn linregress(x: &[f64], y: &[f64]) -> Result<Regression, RegressionError> {
    if x.len() != y.len() {
        return Err(RegressionError::LengthMismatch {
            x: x.len(),
            y: y.len(),
        });
    }
    let n = x.len();
    if n < MIN_POINTS {
        return Err(RegressionError::TooFewPoints { n });
    }
    if let Some(index) = x
        .iter()
        .zip(y)
        .position(|(a, b)| !(a.is_finite() && b.is_finite()))
    {
        return Err(RegressionError::NonFinite { index });
    }
    if x.iter().all(|&v| v == x[0]) {
        return Err(RegressionError::ConstantX { x: x[0] });
    }
    let nf = n as f64;
    let xmean = mean(x);
    let ymean = mean(y);
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let dx = a - xmean;
        let dy = b - ymean;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let (ssxm, ssym, ssxym) = (sxx / nf, syy / nf, sxy / nf);
    let df = nf - 2.0;
    let t_dist = StudentsT::new(0.0, 1.0, df).map_err(|_| RegressionError::TooFewPoints { n })?;
    let t975 = t_dist.inverse_cdf(0.975);

    if y.iter().all(|&v| v == y[0]) {
        return Ok(Regression {
            n,
            slope: 0.0,
            intercept: y[0],
            r_value: 0.0,
            r_squared: 0.0,
            p_value: 1.0,
            stderr: 0.0,
            intercept_stderr: 0.0,
            slope_ci95: [0.0, 0.0],
        });
    }

    let mut r = if ssxm == 0.0 || ssym == 0.0 {
        0.0
    } else {
        (ssxym / (ssxm * ssym).sqrt()).clamp(-1.0, 1.0)
    };
    let slope = ssxym / ssxm;
    let intercept = ymean - slope * xmean;
    let (p_value, stderr) = if 1.0 - r.abs() <= PERFECT_FIT {
        r = r.signum();
        (0.0, 0.0)
    } else {
        let t = r * (df / ((1.0 - r + TINY) * (1.0 + r + TINY))).sqrt();
        let p = (2.0 * t_dist.sf(t.abs())).min(1.0);
        (p, ((1.0 - r * r) * ssym / ssxm / df).sqrt())
    };
    let intercept_stderr = stderr * (ssxm + xmean * xmean).sqrt();
    let half_width = t975 * stderr;
    let result = Regression {
        n,
        slope,
        intercept,
        r_value: r,
        r_squared: r * r,
        p_value,
        stderr,
        intercept_stderr,
        slope_ci95: [slope - half_width, slope + half_width],
    };
    let all_finite = [
        slope,
        intercept,
        p_value,
        stderr,
        intercept_stderr,
        half_width,
    ]
    .iter()
    .all(|v| v.is_finite());
    if all_finite {
        Ok(result)
    } else {
        // Only reachable when sums overflow (values near 1e154 or beyond): name the largest.
        let magnitude = |i: usize| x[i].abs().max(y[i].abs());
        let index = (0..n).fold(0, |best, i| {
            if magnitude(i) > magnitude(best) {
                i
            } else {
                best
            }
        });
        Err(RegressionError::NonFinite { index })
    }
}

/// Mean with one correction pass (the mean of the residuals from the first estimate).
fn mean(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    m + v.iter().map(|a| a - m).sum::<f64>() / n
}
