//! Graduation columns: ticks whose ends line up, indexed by the period of the tick train, and the
//! index → position models (linear, projective, local) fitted to them.

use super::*;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// Groups of ticks whose low (or high) end lies on one line: the graduation columns along the
/// ruler's edges. The edge line may be tilted against the ticks' normal (perspective narrows a
/// ruler), so the line is searched over slopes. Ticks longer than the column's typical tick
/// whose end lies a little inside the edge (centimetre lines drawn apart from the edge) join it
/// too. Each group is indexed; irregular groups are dropped.
pub(super) fn columns(ticks: &[Tick], min_ticks: usize) -> Vec<Column> {
    let widths: Vec<f64> = ticks.iter().map(|t| t.width).collect();
    let tol = (1.5 * median(&widths)).max(4.0);
    let mut out = Vec::new();
    for side in [-1.0f64, 1.0] {
        let end = |t: &Tick| t.v + side * 0.5 * t.len;
        let mut remaining: Vec<Tick> = ticks.to_vec();
        for _ in 0..3 {
            if remaining.len() < min_ticks {
                break;
            }
            let ends: Vec<f64> = remaining.iter().map(end).collect();
            // Seed: the (slope, offset) line through the ends of the most ticks.
            let (mut best, mut e0, mut k) = (0usize, 0.0, 0.0);
            for ks in -12..=12 {
                let kk = ks as f64 * 0.01;
                let mut sorted: Vec<f64> = (0..remaining.len())
                    .map(|i| ends[i] - kk * remaining[i].u)
                    .collect();
                sorted.sort_by(f64::total_cmp);
                let mut j = 0usize;
                for i in 0..sorted.len() {
                    while sorted[i] - sorted[j] > 2.0 * tol {
                        j += 1;
                    }
                    if i + 1 - j > best {
                        best = i + 1 - j;
                        e0 = 0.5 * (sorted[i] + sorted[j]);
                        k = kk;
                    }
                }
            }
            if best < min_ticks {
                break;
            }
            // Refine the line by least squares over its members.
            let mut members: Vec<usize> = Vec::new();
            for _ in 0..3 {
                members = (0..remaining.len())
                    .filter(|&i| (ends[i] - (e0 + k * remaining[i].u)).abs() <= tol)
                    .collect();
                if members.len() < 3 {
                    break;
                }
                let n = members.len() as f64;
                let mu = members.iter().map(|&i| remaining[i].u).sum::<f64>() / n;
                let me = members.iter().map(|&i| ends[i]).sum::<f64>() / n;
                let (mut sxy, mut sxx) = (0.0, 0.0);
                for &i in &members {
                    let du = remaining[i].u - mu;
                    sxy += du * (ends[i] - me);
                    sxx += du * du;
                }
                k = if sxx > 0.0 {
                    (sxy / sxx).clamp(-0.15, 0.15)
                } else {
                    k
                };
                e0 = me - k * mu;
            }
            if members.len() < min_ticks {
                break;
            }
            // Longer ticks starting a little inside the edge.
            let lens: Vec<f64> = members.iter().map(|&i| remaining[i].len).collect();
            let typical = median(&lens);
            for i in 0..remaining.len() {
                let inside = -side * (ends[i] - (e0 + k * remaining[i].u));
                if !members.contains(&i)
                    && remaining[i].len > 1.2 * typical
                    && inside > 0.0
                    && inside < 0.5 * typical
                {
                    members.push(i);
                }
            }
            let group: Vec<Tick> = members.iter().map(|&i| remaining[i]).collect();
            let keep: Vec<Tick> = (0..remaining.len())
                .filter(|i| !members.contains(i))
                .map(|i| remaining[i])
                .collect();
            remaining = keep;
            if let Some(c) = index_column(group, min_ticks, side) {
                out.push(c);
            }
        }
    }
    out
}

/// Period of a set of positions from the autocorrelation of their impulse train (FFT),
/// refined by parabolic interpolation; searched between `lo` and `hi` px.
fn fft_period(u: &[f64], lo: f64, hi: f64) -> Option<f64> {
    let (min, max) = u.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, &x| {
        (a.0.min(x), a.1.max(x))
    });
    let step = 0.25;
    let bins = ((max - min) / step).ceil() as usize + 2;
    if !(8..=1 << 22).contains(&bins) {
        return None;
    }
    let n = (2 * bins).next_power_of_two();
    let mut buf = vec![Complex::new(0.0f64, 0.0); n];
    for &x in u {
        // Gaussian spread of 1 px keeps the peak smooth under perspective drift.
        let c = (x - min) / step;
        let lo_b = (c - 8.0).floor().max(0.0) as usize;
        let hi_b = ((c + 8.0).ceil() as usize).min(bins - 1);
        for (b, slot) in buf.iter_mut().enumerate().take(hi_b + 1).skip(lo_b) {
            let d = (b as f64 - c) * step;
            slot.re += (-0.5 * d * d).exp();
        }
    }
    let mut planner = FftPlanner::new();
    planner.plan_fft_forward(n).process(&mut buf);
    for c in buf.iter_mut() {
        *c = Complex::new(c.norm_sqr(), 0.0);
    }
    planner.plan_fft_inverse(n).process(&mut buf);
    let ac: Vec<f64> = buf.iter().map(|c| c.re).collect();
    let a = (lo / step).floor().max(2.0) as usize;
    let b = ((hi / step).ceil() as usize).min(bins.saturating_sub(2));
    if a + 2 >= b {
        return None;
    }
    let peak = (a..=b).max_by(|&i, &j| ac[i].total_cmp(&ac[j]))?;
    // The first lag whose local maximum reaches 70 % of the highest one is the base period.
    let thresh = 0.7 * ac[peak];
    let first = (a..=b).find(|&i| ac[i] >= thresh && ac[i] >= ac[i - 1] && ac[i] >= ac[i + 1])?;
    let (y0, y1, y2) = (ac[first - 1], ac[first], ac[first + 1]);
    let den = y0 - 2.0 * y1 + y2;
    let delta = if den.abs() > 1e-12 {
        (0.5 * (y0 - y2) / den).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    Some((first as f64 + delta) * step)
}

/// Sort a column by position, drop duplicates, and give every tick an integer index by walking
/// from the middle with a locally updated period.
fn index_column(mut ticks: Vec<Tick>, min_ticks: usize, side: f64) -> Option<Column> {
    ticks.sort_by(|a, b| a.u.total_cmp(&b.u));
    let gaps: Vec<f64> = ticks.windows(2).map(|w| w[1].u - w[0].u).collect();
    let g_med = median(&gaps);
    if !(g_med.is_finite() && g_med >= 2.0) {
        return None;
    }
    let us: Vec<f64> = ticks.iter().map(|t| t.u).collect();
    let period = match fft_period(&us, 0.6 * g_med, 3.0 * g_med) {
        Some(p) if (p / g_med - 1.0).abs() < 0.25 => p,
        _ => g_med,
    };
    // Drop duplicates (a tick broken in two): keep the longer.
    let mut dedup: Vec<Tick> = Vec::with_capacity(ticks.len());
    for t in ticks {
        match dedup.last_mut() {
            Some(last) if t.u - last.u < 0.4 * period => {
                if t.len > last.len {
                    *last = t;
                }
            }
            _ => dedup.push(t),
        }
    }
    // Keep the longest run without a hole of more than 4 periods (stray marks beyond the
    // graduation, other rulers' ticks).
    let mut best = (0usize, 0usize);
    let mut start = 0usize;
    for i in 1..=dedup.len() {
        if i == dedup.len() || dedup[i].u - dedup[i - 1].u > 4.0 * period {
            if i - start > best.1 - best.0 {
                best = (start, i);
            }
            start = i;
        }
    }
    let ticks: Vec<Tick> = dedup[best.0..best.1].to_vec();
    if ticks.len() < min_ticks {
        return None;
    }
    // Indices by region growing from the middle tick: fit the index → position model on the
    // ticks indexed so far (linear, then projective), widen the window, index the ticks in it by
    // inverting the model. Unlike a walk over consecutive gaps, a missing or doubled tick cannot
    // shift every index beyond it.
    let us: Vec<f64> = ticks.iter().map(|t| t.u).collect();
    let u_mid = us[ticks.len() / 2];
    let mut n: Vec<Option<i64>> = vec![None; ticks.len()];
    let mut half = 6.0 * period;
    let mut model = Model::Linear {
        u0: u_mid,
        p: period,
    };
    loop {
        for (i, &u) in us.iter().enumerate() {
            if (u - u_mid).abs() <= half {
                let k = model.index(u).round();
                n[i] = (k.is_finite() && (model.position(k) - u).abs() <= 0.3 * period)
                    .then_some(k as i64);
            }
        }
        let idx: Vec<f64> = n.iter().flatten().map(|&k| k as f64).collect();
        let pos: Vec<f64> = n
            .iter()
            .zip(&us)
            .filter(|(k, _)| k.is_some())
            .map(|(_, &u)| u)
            .collect();
        if let Some(m) = Model::fit(&idx, &pos) {
            model = m;
        }
        if us.iter().all(|&u| (u - u_mid).abs() <= half) {
            break;
        }
        half *= 1.5;
    }
    let irregular = n.iter().filter(|k| k.is_none()).count();
    if irregular * 5 > ticks.len() {
        return None;
    }
    let (ticks, n): (Vec<Tick>, Vec<i64>) = ticks
        .into_iter()
        .zip(n)
        .filter_map(|(t, k)| Some((t, k?)))
        .unzip();
    // Two ticks on one index: keep the one nearer the model.
    let mut pairs: Vec<(Tick, i64)> = ticks.into_iter().zip(n).collect();
    pairs.sort_by(|a, b| {
        a.1.cmp(&b.1).then(
            (model.position(a.1 as f64) - a.0.u)
                .abs()
                .total_cmp(&(model.position(b.1 as f64) - b.0.u).abs()),
        )
    });
    pairs.dedup_by_key(|p| p.1);
    if pairs.len() < min_ticks {
        return None;
    }
    let (ticks, n): (Vec<Tick>, Vec<i64>) = pairs.into_iter().unzip();
    // A graduation has a tick at nearly every index (centimetre lines drawn apart from the edge
    // may be missing); a set of marks that only happens to line up leaves many holes.
    let (lo, hi) = (n.iter().min().copied()?, n.iter().max().copied()?);
    let fill = n.len() as f64 / (hi - lo + 1) as f64;
    if fill < MIN_INDEX_FILL {
        return None;
    }
    Some(Column {
        ticks,
        n,
        period,
        irregular,
        side,
    })
}

/// Fewest ticks per index of a graduation column's index range.
const MIN_INDEX_FILL: f64 = 0.5;
/// Largest RMS residual of the ticks from the index → position model, in periods: a real
/// graduation is far more regular; marks that only happen to line up are not.
pub(super) const MAX_FIT_RMS: f64 = 0.08;

/// Index → position model of a graduation.
#[derive(Debug, Clone, Copy)]
enum Model {
    Linear { u0: f64, p: f64 },
    Projective([f64; 3]),
}

impl Model {
    fn position(&self, n: f64) -> f64 {
        match *self {
            Model::Linear { u0, p } => u0 + p * n,
            Model::Projective(c) => projective_eval(&c, n),
        }
    }

    fn index(&self, u: f64) -> f64 {
        match *self {
            Model::Linear { u0, p } => (u - u0) / p,
            // u = (α n + β) / (γ n + 1)  ⇒  n = (u − β) / (α − γ u)
            Model::Projective([a, b, g]) => (u - b) / (a - g * u),
        }
    }

    /// Linear below 8 ticks or 10 indices of range, projective beyond.
    fn fit(n: &[f64], u: &[f64]) -> Option<Model> {
        if n.len() < 2 {
            return None;
        }
        let (lo, hi) = n.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |r, &k| {
            (r.0.min(k), r.1.max(k))
        });
        if n.len() >= 8 && hi - lo >= 10.0 {
            let keep = vec![true; n.len()];
            if let Some(c) = projective_fit(n, u, &keep) {
                return Some(Model::Projective(c));
            }
        }
        let k = n.len() as f64;
        let (mn, mu) = (n.iter().sum::<f64>() / k, u.iter().sum::<f64>() / k);
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (a, b) in n.iter().zip(u) {
            sxy += (a - mn) * (b - mu);
            sxx += (a - mn) * (a - mn);
        }
        (sxx > 0.0).then(|| Model::Linear {
            u0: mu - sxy / sxx * mn,
            p: sxy / sxx,
        })
    }
}

/// The line `v = v0 + slope·u` through the reading points `(u, v)`: least squares, then again
/// without points more than 3 robust standard deviations off; constant (the median) when the
/// points do not determine a slope.
pub(super) fn reading_line(points: &[(f64, f64)]) -> (f64, f64) {
    let vs: Vec<f64> = points.iter().map(|p| p.1).collect();
    let flat = (median(&vs), 0.0);
    let fit = |sel: &[(f64, f64)]| -> Option<(f64, f64)> {
        let k = sel.len() as f64;
        if sel.len() < 3 {
            return None;
        }
        let (mu, mv) = (
            sel.iter().map(|p| p.0).sum::<f64>() / k,
            sel.iter().map(|p| p.1).sum::<f64>() / k,
        );
        let (sxx, sxy) = sel.iter().fold((0.0, 0.0), |(a, b), p| {
            (a + (p.0 - mu).powi(2), b + (p.0 - mu) * (p.1 - mv))
        });
        (sxx > 1e-9).then(|| {
            let slope = sxy / sxx;
            (mv - slope * mu, slope)
        })
    };
    let Some((v0, slope)) = fit(points) else {
        return flat;
    };
    let res: Vec<f64> = points
        .iter()
        .map(|p| (p.1 - v0 - slope * p.0).abs())
        .collect();
    let limit = (3.0 * 1.4826 * median(&res)).max(0.5);
    let kept: Vec<(f64, f64)> = points
        .iter()
        .zip(&res)
        .filter(|(_, r)| **r <= limit)
        .map(|(p, _)| *p)
        .collect();
    let (v0, slope) = fit(&kept).unwrap_or((v0, slope));
    // A ruler's edge is within a few degrees of square to its ticks; beyond, the fit is noise.
    if slope.abs() > 0.2 { flat } else { (v0, slope) }
}

/// Weighted least squares of u = α n + β − γ n u (projective map index → position).
fn projective_fit(n: &[f64], u: &[f64], keep: &[bool]) -> Option<[f64; 3]> {
    let mut ata = nalgebra::Matrix3::<f64>::zeros();
    let mut atb = nalgebra::Vector3::<f64>::zeros();
    for i in 0..n.len() {
        if !keep[i] {
            continue;
        }
        let row = nalgebra::Vector3::new(n[i], 1.0, -n[i] * u[i]);
        ata += row * row.transpose();
        atb += row * u[i];
    }
    let sol = ata.lu().solve(&atb)?;
    Some([sol[0], sol[1], sol[2]])
}

pub(super) fn projective_eval(c: &[f64; 3], n: f64) -> f64 {
    (c[0] * n + c[1]) / (c[2] * n + 1.0)
}

/// Local linear fit of u against n over ticks within `half` index units of `at`: (u(at), du/dn).
pub(super) fn local_fit(
    ns: &[f64],
    us: &[f64],
    keep: &[bool],
    at: f64,
    half: f64,
) -> Option<(f64, f64)> {
    let mut h = half;
    for _ in 0..3 {
        let sel: Vec<usize> = (0..ns.len())
            .filter(|&i| keep[i] && (ns[i] - at).abs() <= h)
            .collect();
        if sel.len() >= 3 {
            let k = sel.len() as f64;
            let mn = sel.iter().map(|&i| ns[i]).sum::<f64>() / k;
            let mu = sel.iter().map(|&i| us[i]).sum::<f64>() / k;
            let (mut sxy, mut sxx) = (0.0, 0.0);
            for &i in &sel {
                sxy += (ns[i] - mn) * (us[i] - mu);
                sxx += (ns[i] - mn).powi(2);
            }
            if sxx > 0.0 {
                let slope = sxy / sxx;
                return Some((mu + slope * (at - mn), slope));
            }
        }
        h *= 2.0;
    }
    None
}

/// Projective index → position fit with outlier rejection: (coefficients, kept, RMS residual).
pub(super) fn robust_fit(
    ns: &[f64],
    us: &[f64],
    period: f64,
) -> Option<([f64; 3], Vec<bool>, f64)> {
    let mut keep = vec![true; ns.len()];
    let mut out = None;
    for _ in 0..3 {
        let c = projective_fit(ns, us, &keep)?;
        let res: Vec<f64> = (0..ns.len())
            .map(|i| us[i] - projective_eval(&c, ns[i]))
            .collect();
        let kept: Vec<f64> = (0..ns.len())
            .filter(|&i| keep[i])
            .map(|i| res[i].abs())
            .collect();
        let sigma = (1.4826 * median(&kept)).max(0.05);
        for i in 0..ns.len() {
            keep[i] = res[i].abs() <= (3.0 * sigma).max(0.1 * period).min(0.3 * period);
        }
        let kept_sq: Vec<f64> = (0..ns.len())
            .filter(|&i| keep[i])
            .map(|i| res[i] * res[i])
            .collect();
        let rms = (kept_sq.iter().sum::<f64>() / kept_sq.len().max(1) as f64).sqrt();
        out = Some((c, keep.clone(), rms));
    }
    out
}
