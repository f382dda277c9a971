//! Ruler scale: find a millimetre graduation and place two scale points a whole number of
//! millimetres apart on it.

use super::plane::{self, Plane};
use super::{AsLuma, DetectError, check_size};
use crate::points::{Fiducials, Point, ScalePoints};
use crate::scale::{RulerModel, TickDirections};
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;
use serde::{Deserialize, Serialize};

/// Options of [`detect_ruler`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RulerOptions {
    /// Distance between the two scale points in whole millimetres. `None`: the longest whole
    /// number of centimetres the visible graduation offers (or of millimetres when no
    /// centimetre lines are recognised).
    pub span_mm: Option<u32>,
    /// Centre the span on these markers' extent along the ruler, so that the scale is measured
    /// at the markers' height (perspective makes mm/px vary along a ruler). `None`: centre it on
    /// the visible graduation.
    pub near_markers: Option<Fiducials>,
    /// Fewest ticks a graduation needs. Default 15.
    pub min_ticks: usize,
    /// Ticks are found on a copy box-downscaled so that its long side is at most this many
    /// pixels. Default 2400 (photos up to ~2400 px are used at full resolution); 64 to 4096.
    pub working_max_side: u32,
}

impl Default for RulerOptions {
    fn default() -> Self {
        Self {
            span_mm: None,
            near_markers: None,
            min_ticks: 15,
            working_max_side: 2400,
        }
    }
}

/// The finest graduation of the ruler edge that was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Graduation {
    Millimetre,
    HalfMillimetre,
}

/// What the two scale points sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RulerSpan {
    /// Two centimetre lines (the longest graduation lines).
    CentimetreLines,
    /// Two millimetre lines (no centimetre lines recognised, or a span that is not whole cm).
    MillimetreLines,
}

/// A ruler found in a photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RulerDetection {
    /// Two points on graduation lines, `span_mm` apart along the ruler.
    pub scale_points: ScalePoints,
    /// Real distance between the scale points (mm).
    pub span_mm: u32,
    /// `span_mm` / pixel distance of the scale points: the scale averaged over the span.
    pub mm_per_px: f64,
    pub px_per_mm: f64,
    pub span: RulerSpan,
    /// True when the span was centred on `near_markers` and covers at least half of their
    /// extent along the ruler.
    pub local_to_markers: bool,
    /// Local mm/px of the graduation at the middle of the markers' extent along the ruler (the
    /// slope of the graduation there), when markers were given and lie alongside the graduation.
    pub local_mm_per_px_at_markers: Option<f64>,
    /// Smallest and largest local mm/px along the visible graduation (perspective).
    pub mm_per_px_range: [f64; 2],
    pub graduation: Graduation,
    /// Direction of the ruler's axis, degrees from +x towards +y, in (−90, 90].
    pub axis_angle_deg: f64,
    /// Graduation ticks used.
    pub ticks: usize,
    /// RMS distance (px) of the ticks from a smooth (projective) index → position model.
    pub fit_rms_px: f64,
    /// Length of the visible graduation (whole mm).
    pub visible_mm: u32,
    /// Every centimetre line found, in order along the ruler (points on the lines).
    pub cm_lines: Vec<Point>,
    /// 0..1.
    pub confidence: f64,
    /// The whole graduation as one 1-D projective map with its covariance: the scale anywhere
    /// along the ruler, independent of the span chosen for the two scale points.
    pub model: RulerModel,
}

#[derive(Debug, Clone, Copy)]
struct Tick {
    /// Position along the ruler axis and across it (working px).
    u: f64,
    v: f64,
    len: f64,
    width: f64,
    angle: f64,
}

/// One graduation: ticks with an aligned end, indexed in units of the base period.
#[derive(Debug, Clone)]
struct Column {
    ticks: Vec<Tick>,
    /// Integer index of each tick (units of the finest graduation of this column).
    n: Vec<i64>,
    period: f64,
    irregular: usize,
    /// −1 when the ticks' low-v ends are aligned on the ruler's edge, +1 for the high-v ends.
    side: f64,
}

/// Find a millimetre ruler and place two scale points on it.
///
/// # Errors
///
/// [`DetectError::NoRuler`] (with the reason) when no regular graduation is found,
/// [`DetectError::RulerTooShort`] when the visible graduation is shorter than
/// [`RulerOptions::span_mm`], [`DetectError::ImageTooSmall`], [`DetectError::InvalidOption`].
pub fn detect_ruler<I: AsLuma + ?Sized>(
    image: &I,
    opts: &RulerOptions,
) -> Result<RulerDetection, DetectError> {
    if opts.span_mm == Some(0) {
        return Err(DetectError::InvalidOption {
            name: "span_mm",
            reason: "must be at least 1 mm".into(),
        });
    }
    if !(64..=4096).contains(&opts.working_max_side) {
        return Err(DetectError::InvalidOption {
            name: "working_max_side",
            reason: "must be between 64 and 4096".into(),
        });
    }
    let pixels = image.luma_view();
    let (w, h) = pixels.dimensions();
    check_size(w, h)?;
    let long = w.max(h) as usize;
    let f = long.div_ceil(opts.working_max_side as usize).max(1);
    let work = pixels.coarse(0, 0, w as usize, h as usize, f);
    let ticks = find_ticks(&work)?;
    let (theta, aligned) = dominant_direction(&ticks, opts.min_ticks)?;
    let columns = columns(&aligned, opts.min_ticks);
    if columns.is_empty() {
        return Err(DetectError::NoRuler {
            reason: format!(
                "{} parallel tick-like marks but no regular graduation of at least {} ticks",
                aligned.len(),
                opts.min_ticks
            ),
        });
    }
    // Columns of one ruler agree on its scale. The scale each column implies (over its longest
    // span, centred) is compared with the tick-weighted median of all columns; a column more than
    // 10 % off is not a graduation (e.g. the inner ends of two tick families that happen to line
    // up, read with the wrong unit) and is dropped when any column agrees.
    let probe_opts = RulerOptions {
        span_mm: None,
        near_markers: None,
        ..opts.clone()
    };
    let probes: Vec<Option<(f64, f64)>> = columns
        .iter()
        .map(|c| {
            measure(c, None, theta, f, &probe_opts)
                .ok()
                .map(|d| (d.mm_per_px, d.ticks as f64))
        })
        .collect();
    let consensus = {
        let mut v: Vec<(f64, f64)> = probes.iter().flatten().copied().collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = v.iter().map(|x| x.1).sum();
        let mut acc = 0.0;
        v.iter()
            .find(|x| {
                acc += x.1;
                acc >= 0.5 * total
            })
            .map(|x| x.0)
    };
    let agrees = |i: usize| match (probes[i], consensus) {
        (Some((m, _)), Some(c)) => (m / c - 1.0).abs() <= 0.1,
        _ => false,
    };
    let any_agree = (0..columns.len()).any(agrees);
    let mut best: Option<(f64, usize, Result<RulerDetection, DetectError>)> = None;
    for (i, col) in columns.iter().enumerate() {
        if any_agree && !agrees(i) {
            continue;
        }
        let res = measure(col, None, theta, f, opts);
        let rank = match &res {
            Ok(d) => 1.0 + d.confidence * (d.ticks as f64).sqrt(),
            Err(DetectError::RulerTooShort { .. }) => 0.5,
            Err(_) => 0.0,
        };
        if best.as_ref().is_none_or(|b| rank > b.0) {
            best = Some((rank, i, res));
        }
    }
    match best {
        // The chosen column again, now also measuring its lines' directions (the same
        // detection otherwise; measured once rather than for every column tried).
        Some((_, i, Ok(_))) => measure(&columns[i], Some(&work), theta, f, opts),
        Some((_, _, res)) => res,
        None => Err(DetectError::NoRuler {
            reason: "no graduation could be measured".into(),
        }),
    }
}

/// Thin, elongated dark components: the graduation ticks.
///
/// Ticks usually touch a dark line along the ruler's edge, which joins them into one comb-shaped
/// component. So ticks are found twice: a first pass gives the dominant tick direction from the
/// ticks that stand alone (centimetre lines, ticks on a clean edge); then only mask pixels on runs
/// of at least a few pixels along that direction are kept, which cuts the edge line away, and the
/// ticks are found again.
fn find_ticks(work: &Plane) -> Result<Vec<Tick>, DetectError> {
    let short = work.w.min(work.h);
    let r = (short / 60).clamp(8, 40);
    let bg = plane::local_mean(work, r);
    let mask = plane::dark_mask(work, &bg, 12, 0.15);
    let max_width = (short as f64 * 0.012).max(4.0);
    let first = ticks_of(&mask, work, &bg, max_width);
    if first.len() < 5 {
        return Err(DetectError::NoRuler {
            reason: format!("only {} tick-like marks in the image", first.len()),
        });
    }
    let (theta, aligned) = dominant_direction(&first, 5)?;
    let widths: Vec<f64> = aligned.iter().map(|t| t.width).collect();
    let min_run = (2.5 * median(&widths)).max(6.0);
    let cut = directional_runs(&mask, work.w, work.h, theta, min_run);
    let ticks = ticks_of(&cut, work, &bg, max_width);
    Ok(if ticks.len() >= first.len() {
        ticks
    } else {
        first
    })
}

fn ticks_of(mask: &[bool], work: &Plane, bg: &[u8], max_width: f64) -> Vec<Tick> {
    let comps = plane::components(mask, work, bg, work.w * work.h / 4 + 16);
    comps
        .iter()
        .filter(|c| !c.border && c.n >= 6.0 && c.wsum > 0.0)
        .filter_map(|c| {
            let s = c.shape();
            let len = s.major / 1.1547;
            let width = s.minor / 1.1547;
            if len < 5.0 || len < 3.0 * width || width > max_width || !(0.6..=1.3).contains(&s.fill)
            {
                return None;
            }
            Some(Tick {
                u: c.wx / c.wsum,
                v: c.wy / c.wsum,
                len,
                width,
                angle: s.angle.rem_euclid(std::f64::consts::PI),
            })
        })
        .collect()
}

/// Keep only mask pixels lying on a run of at least `min_len` px along direction `theta`
/// (a morphological opening with a line): lines across that direction thinner than `min_len`
/// disappear, lines along it stay whole. Digital lines are sheared rows (or columns), so this is
/// one pass over the mask.
fn directional_runs(mask: &[bool], w: usize, h: usize, theta: f64, min_len: f64) -> Vec<bool> {
    let (dx, dy) = (theta.cos(), theta.sin());
    // Step along the major coordinate; the minor one follows the slope.
    if dx.abs() >= dy.abs() {
        sheared_runs::<true>(
            mask,
            w,
            h,
            dy / dx,
            (min_len * dx.abs()).ceil().max(1.0) as usize,
        )
    } else {
        sheared_runs::<false>(
            mask,
            w,
            h,
            dx / dy,
            (min_len * dy.abs()).ceil().max(1.0) as usize,
        )
    }
}

/// [`directional_runs`] along sheared rows (`ROWS`: major coordinate x) or sheared columns.
fn sheared_runs<const ROWS: bool>(
    mask: &[bool],
    w: usize,
    h: usize,
    slope: f64,
    steps: usize,
) -> Vec<bool> {
    let mut out = vec![false; w * h];
    let (n_major, n_minor) = if ROWS { (w, h) } else { (h, w) };
    let offsets: Vec<i64> = (0..n_major)
        .map(|k| (k as f64 * slope).round() as i64)
        .collect();
    let (lo, hi) = offsets
        .iter()
        .fold((0i64, 0i64), |a, &o| (a.0.min(o), a.1.max(o)));
    let idx = |major: usize, minor: usize| {
        if ROWS {
            minor * w + major
        } else {
            major * w + minor
        }
    };
    let fill = |out: &mut [bool], r: i64, end: usize, len: usize| {
        for kk in end - len..end {
            out[idx(kk, (r + offsets[kk]) as usize)] = true;
        }
    };
    for r in -hi..(n_minor as i64 - lo) {
        let mut run = 0usize;
        for (k, &o) in offsets.iter().enumerate() {
            // A negative minor coordinate wraps to a huge usize and fails the bound check.
            let m = (r + o) as usize;
            if m < n_minor && mask[idx(k, m)] {
                run += 1;
            } else {
                if run >= steps {
                    fill(&mut out, r, k, run);
                }
                run = 0;
            }
        }
        if run >= steps {
            fill(&mut out, r, n_major, run);
        }
    }
    out
}

/// The dominant tick direction (radians, [0, π)) and the ticks within 4° of it, with (u, v)
/// rewritten as (along the ruler axis, along the tick direction).
fn dominant_direction(ticks: &[Tick], min_ticks: usize) -> Result<(f64, Vec<Tick>), DetectError> {
    use std::f64::consts::PI;
    let mut hist = [0.0f64; 180];
    for t in ticks {
        let bin = ((t.angle / PI * 180.0) as usize).min(179);
        hist[bin] += t.len;
    }
    let smooth = |i: usize| {
        (-2i64..=2)
            .map(|k| hist[(i as i64 + k).rem_euclid(180) as usize])
            .sum::<f64>()
    };
    let peak = (0..180)
        .max_by(|&a, &b| smooth(a).total_cmp(&smooth(b)))
        .unwrap_or(0);
    let centre = (peak as f64 + 0.5) * PI / 180.0;
    let near = |a: f64| {
        let d = (a - centre).rem_euclid(PI);
        d.min(PI - d) <= 4f64.to_radians()
    };
    let chosen: Vec<&Tick> = ticks.iter().filter(|t| near(t.angle)).collect();
    if chosen.len() < min_ticks {
        return Err(DetectError::NoRuler {
            reason: format!(
                "only {} parallel tick-like marks (need {min_ticks})",
                chosen.len()
            ),
        });
    }
    // Weighted mean of doubled angles.
    let (mut sc, mut ss) = (0.0, 0.0);
    for t in &chosen {
        sc += t.len * (2.0 * t.angle).cos();
        ss += t.len * (2.0 * t.angle).sin();
    }
    let theta = (0.5 * ss.atan2(sc)).rem_euclid(PI);
    let (d, a) = ((theta.cos(), theta.sin()), (-theta.sin(), theta.cos()));
    let out = chosen
        .iter()
        .map(|t| Tick {
            u: t.u * a.0 + t.v * a.1,
            v: t.u * d.0 + t.v * d.1,
            ..**t
        })
        .collect();
    Ok((theta, out))
}

/// Median of a slice (copied).
fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        0.5 * (s[m - 1] + s[m])
    }
}

/// Groups of ticks whose low (or high) end lies on one line: the graduation columns along the
/// ruler's edges. The edge line may be tilted against the ticks' normal (perspective narrows a
/// ruler), so the line is searched over slopes. Ticks longer than the column's typical tick
/// whose end lies a little inside the edge (centimetre lines drawn apart from the edge) join it
/// too. Each group is indexed; irregular groups are dropped.
fn columns(ticks: &[Tick], min_ticks: usize) -> Vec<Column> {
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
const MAX_FIT_RMS: f64 = 0.08;

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
fn reading_line(points: &[(f64, f64)]) -> (f64, f64) {
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

fn projective_eval(c: &[f64; 3], n: f64) -> f64 {
    (c[0] * n + c[1]) / (c[2] * n + 1.0)
}

/// Local linear fit of u against n over ticks within `half` index units of `at`: (u(at), du/dn).
fn local_fit(ns: &[f64], us: &[f64], keep: &[bool], at: f64, half: f64) -> Option<(f64, f64)> {
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
fn robust_fit(ns: &[f64], us: &[f64], period: f64) -> Option<([f64; 3], Vec<bool>, f64)> {
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

/// Where the graduation line through image point `p` meets the model's reading line (px from its
/// origin), following the line's measured direction (`tan δ` at the meeting point: three fixed-
/// point steps from `p`'s projection, plenty for directions that change by a few degrees along
/// the whole ruler).
fn along_direction(model: &RulerModel, directions: &TickDirections, p: Point) -> f64 {
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
fn tilt_model(col: &Column, keep: &[bool], theta: f64) -> (f64, f64) {
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
fn tick_directions(
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

/// Turn an indexed column into a scale; with `work` (the working image), also measure the
/// ticks' directions for the ruler model ([`tick_directions`]).
fn measure(
    col: &Column,
    work: Option<&Plane>,
    theta: f64,
    f: usize,
    opts: &RulerOptions,
) -> Result<RulerDetection, DetectError> {
    let no = |reason: &str| DetectError::NoRuler {
        reason: reason.into(),
    };
    let ns: Vec<f64> = col.n.iter().map(|&n| n as f64).collect();
    let raw_u: Vec<f64> = col.ticks.iter().map(|t| t.u).collect();
    let (coef0, keep, _) =
        robust_fit(&ns, &raw_u, col.period).ok_or_else(|| no("degenerate graduation"))?;
    let used = keep.iter().filter(|&&k| k).count();
    if used < opts.min_ticks {
        return Err(no("too few ticks fit a regular graduation"));
    }
    {
        let res: Vec<f64> = (0..ns.len())
            .filter(|&i| keep[i])
            .map(|i| raw_u[i] - projective_eval(&coef0, ns[i]))
            .collect();
        let rms0 = (res.iter().map(|r| r * r).sum::<f64>() / res.len().max(1) as f64).sqrt();
        if rms0 > MAX_FIT_RMS * col.period {
            return Err(no("the tick marks are not a regular graduation"));
        }
    }
    // Finest graduation: half-millimetre when alternate ticks are clearly shorter.
    let lens: Vec<(i64, f64)> = (0..ns.len())
        .filter(|&i| keep[i])
        .map(|i| (col.n[i], col.ticks[i].len))
        .collect();
    let even: Vec<f64> = lens
        .iter()
        .filter(|(n, _)| n.rem_euclid(2) == 0)
        .map(|x| x.1)
        .collect();
    let odd: Vec<f64> = lens
        .iter()
        .filter(|(n, _)| n.rem_euclid(2) == 1)
        .map(|x| x.1)
        .collect();
    let (me, mo) = (median(&even), median(&odd));
    let parity_half = even.len() * 10 >= lens.len() * 3
        && odd.len() * 10 >= lens.len() * 3
        && (me / mo >= 1.25 || mo / me >= 1.25);
    // Also half-millimetre when, over 20 indices, the longest class (centimetre) is followed 10
    // indices later by a clearly shorter but still long class (the 5 mm line): in a millimetre
    // column both would be centimetre lines of equal length. This catches half-millimetre
    // columns whose short ticks were mostly lost.
    let structure_half = {
        let mut sums = [(0.0f64, 0usize); 20];
        for (n, l) in &lens {
            let c = &mut sums[n.rem_euclid(20) as usize];
            c.0 += l;
            c.1 += 1;
        }
        let mean = |r: usize| (sums[r].1 > 0).then(|| sums[r].0 / sums[r].1 as f64);
        let all: Vec<f64> = lens.iter().map(|x| x.1).collect();
        let base = median(&all);
        let r = (0..20).max_by(|&a, &b| mean(a).unwrap_or(0.0).total_cmp(&mean(b).unwrap_or(0.0)));
        r.and_then(|r| Some((mean(r)?, mean((r + 10) % 20)?)))
            .is_some_and(|(cm, five)| five < 0.88 * cm && five > 1.1 * base)
    };
    let half = parity_half || structure_half;
    // In a half-mm column, whole-mm ticks are the longer parity.
    let (unit_mm, modulus, mm_parity) = if half {
        (0.5, 20i64, if me > mo { 0 } else { 1 })
    } else {
        (1.0, 10i64, 0)
    };
    // Centimetre residue: the residue class with the longest ticks, if clearly longest.
    let all_len: Vec<f64> = lens.iter().map(|x| x.1).collect();
    let med_len = median(&all_len);
    let mut class_len = vec![Vec::new(); modulus as usize];
    for (n, l) in &lens {
        class_len[n.rem_euclid(modulus) as usize].push(*l);
    }
    let class_mean: Vec<f64> = class_len
        .iter()
        .map(|v| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        })
        .collect();
    let (cm_res, cm_len) = class_mean
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(r, &l)| (r as i64, l))
        .unwrap_or((0, 0.0));
    let second = class_mean
        .iter()
        .enumerate()
        .filter(|(r, _)| *r as i64 != cm_res)
        .map(|(_, &l)| l)
        .fold(0.0, f64::max);
    let half_res = (cm_res + modulus / 2).rem_euclid(modulus);
    let has_cm = cm_len >= 1.2 * med_len && class_len[cm_res as usize].len() >= 2;
    let five_ok = has_cm && (class_mean[half_res as usize] - second).abs() < 1e-9;
    // Where across the ruler the scale is read: on the line through the centimetre lines' ends
    // towards the middle of the ruler (the longest ticks), a little inside them. That line is
    // the image of a line along the ruler; under perspective it is not square to the ticks'
    // mean direction, so it is fitted (`v = v0 + slope·u`), not taken as constant. Perspective
    // also makes the ticks converge, so every tick's position is carried along its own (fitted)
    // direction to that line before the index → position model is fitted.
    let is_long = |i: usize| !has_cm || (col.n[i] - cm_res).rem_euclid(modulus) == 0;
    let inner: Vec<(f64, f64)> = (0..ns.len())
        .filter(|&i| keep[i] && is_long(i))
        .map(|i| {
            let t = &col.ticks[i];
            (t.u, t.v - col.side * (0.5 * t.len - 1.5 * t.width))
        })
        .collect();
    let (v0, slope) = reading_line(&inner);
    let v_at = |u: f64| v0 + slope * u;
    let tilt = tilt_model(col, &keep, theta);
    let us: Vec<f64> = (0..ns.len())
        .map(|i| {
            // The tick through (u, v) with direction δ meets v = v0 + slope·u at this u.
            let t = &col.ticks[i];
            let tan = (tilt.0 + tilt.1 * ns[i]).tan();
            let v = (v0 + slope * (t.u - t.v * tan)) / (1.0 - slope * tan);
            t.u + (v - t.v) * tan
        })
        .collect();
    let (coef, keep2, rms) =
        robust_fit(&ns, &us, col.period).ok_or_else(|| no("degenerate graduation"))?;
    let keep: Vec<bool> = keep.iter().zip(&keep2).map(|(a, b)| *a && *b).collect();
    let n_min = (0..ns.len())
        .filter(|&i| keep[i])
        .map(|i| col.n[i])
        .min()
        .unwrap_or(0);
    let n_max = (0..ns.len())
        .filter(|&i| keep[i])
        .map(|i| col.n[i])
        .max()
        .unwrap_or(0);
    let per_mm = (1.0 / unit_mm) as i64;
    let visible_mm = ((n_max - n_min) as f64 * unit_mm).floor() as u32;
    // Axis geometry.
    let (d, a) = ((theta.cos(), theta.sin()), (-theta.sin(), theta.cos()));
    let ff = f as f64;
    let to_full = |u: f64, v: f64| {
        let x = u * a.0 + v * d.0;
        let y = u * a.1 + v * d.1;
        Point::new((x + 0.5) * ff - 0.5, (y + 0.5) * ff - 0.5)
    };
    let marker_range = opts.near_markers.map(|m| {
        let us: Vec<f64> = m
            .points()
            .iter()
            .map(|p| ((p.x + 0.5) / ff - 0.5) * a.0 + ((p.y + 0.5) / ff - 0.5) * a.1)
            .collect();
        us.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |r, &u| {
            (r.0.min(u), r.1.max(u))
        })
    });
    // Span in index units, and which start indices are allowed.
    let span_half_units = (modulus / 2) as f64;
    let pos = |n: i64| local_fit(&ns, &us, &keep, n as f64, span_half_units);
    let target = match marker_range {
        Some((lo, hi)) => 0.5 * (lo + hi),
        None => 0.5 * (projective_eval(&coef, n_min as f64) + projective_eval(&coef, n_max as f64)),
    };
    // A scale point must have graduation ticks on both sides: not extrapolated past the visible
    // graduation, and not on the ruler's end (often drawn as a long line at 0).
    let kept_n: Vec<i64> = (0..ns.len())
        .filter(|&i| keep[i])
        .map(|i| col.n[i])
        .collect();
    let bracketed = |n: i64| {
        let below = kept_n
            .iter()
            .filter(|&&k| k < n && n - k <= modulus / 2)
            .count();
        let above = kept_n
            .iter()
            .filter(|&&k| k > n && k - n <= modulus / 2)
            .count();
        below >= 2 && above >= 2
    };
    // The placement of a span (whole mm) nearest the target: (start index, on cm lines).
    let place = |span_mm: u32| -> Option<(i64, bool)> {
        let span_units = span_mm as i64 * per_mm;
        let on_cm = has_cm && span_mm.is_multiple_of(10);
        let allowed = |n: i64| {
            if on_cm {
                (n - cm_res).rem_euclid(modulus) == 0
            } else {
                (n - mm_parity).rem_euclid(per_mm) == 0
            }
        };
        let mut choice: Option<(f64, i64)> = None;
        for s in n_min..=n_max - span_units {
            if !allowed(s) || !bracketed(s) || !bracketed(s + span_units) {
                continue;
            }
            let (Some((ua, _)), Some((ub, _))) = (pos(s), pos(s + span_units)) else {
                continue;
            };
            let dist = (0.5 * (ua + ub) - target).abs();
            if choice.is_none_or(|c| dist < c.0) {
                choice = Some((dist, s));
            }
        }
        choice.map(|(_, s)| (s, on_cm))
    };
    let (span_mm, s, on_cm) = match opts.span_mm {
        Some(span) => match place(span) {
            Some((s, on_cm)) => (span, s, on_cm),
            None => {
                let step = if has_cm && span % 10 == 0 { 10 } else { 1 };
                let available = (1..=visible_mm / step)
                    .rev()
                    .find(|&k| place(k * step).is_some())
                    .map_or(0, |k| k * step);
                return Err(DetectError::RulerTooShort {
                    requested_mm: span,
                    available_mm: available,
                });
            }
        },
        // The longest whole number of centimetres (or, without centimetre lines, millimetres).
        None => {
            let step = if has_cm { 10 } else { 1 };
            let found = (1..=visible_mm / step)
                .rev()
                .find_map(|k| place(k * step).map(|(s, on_cm)| (k * step, s, on_cm)));
            found.ok_or_else(|| no("the visible graduation is too short for a scale"))?
        }
    };
    let span_units = span_mm as i64 * per_mm;
    let (ua, _) = pos(s).ok_or_else(|| no("graduation fit failed"))?;
    let (ub, _) = pos(s + span_units).ok_or_else(|| no("graduation fit failed"))?;
    let p0 = to_full(ua, v_at(ua));
    let p1 = to_full(ub, v_at(ub));
    let scale_points = ScalePoints::new([p0, p1]).map_err(|_| no("scale points coincide"))?;
    let dist_px = (ub - ua).abs() * ff;
    let mm_per_px = span_mm as f64 / dist_px;
    // Local scale along the graduation.
    let local = |u_target: f64| -> Option<f64> {
        // Index at that position by inverting the model numerically (monotone).
        let mut best: Option<(f64, f64)> = None;
        for n in n_min..=n_max {
            let u = projective_eval(&coef, n as f64);
            if best.is_none_or(|b| (u - u_target).abs() < (b.1 - u_target).abs()) {
                best = Some((n as f64, u));
            }
        }
        let (n, _) = best?;
        let (_, slope) = local_fit(&ns, &us, &keep, n, span_half_units)?;
        (slope.abs() > 0.0).then(|| unit_mm / (slope.abs() * ff))
    };
    let samples: Vec<f64> = (0..=8)
        .filter_map(|k| {
            let n = n_min as f64 + (n_max - n_min) as f64 * k as f64 / 8.0;
            local_fit(&ns, &us, &keep, n, span_half_units).map(|(_, s)| unit_mm / (s.abs() * ff))
        })
        .filter(|v| v.is_finite())
        .collect();
    let range = samples
        .iter()
        .fold([f64::INFINITY, f64::NEG_INFINITY], |r, &v| {
            [r[0].min(v), r[1].max(v)]
        });
    let (u_lo, u_hi) = (
        projective_eval(&coef, n_min as f64),
        projective_eval(&coef, n_max as f64),
    );
    let (u_lo, u_hi) = (u_lo.min(u_hi), u_lo.max(u_hi));
    let local_at = marker_range.and_then(|(lo, hi)| {
        let mid = 0.5 * (lo + hi);
        (mid >= u_lo && mid <= u_hi).then(|| local(mid)).flatten()
    });
    let local_to_markers = marker_range.is_some_and(|(lo, hi)| {
        let (a0, a1) = (ua.min(ub), ua.max(ub));
        let overlap = (a1.min(hi) - a0.max(lo)).max(0.0);
        hi > lo && overlap >= 0.5 * (hi - lo)
    });
    let model = {
        let kept: Vec<usize> = (0..ns.len()).filter(|&i| keep[i]).collect();
        let mm: Vec<f64> = kept.iter().map(|&i| ns[i] * unit_mm).collect();
        // Positions along the reading line, full-resolution px.
        let stretch = slope.hypot(1.0);
        let u: Vec<f64> = kept.iter().map(|&i| us[i] * ff * stretch).collect();
        let phase = has_cm.then(|| (cm_res as f64 * unit_mm).rem_euclid(10.0));
        let dir = [a.0 + slope * d.0, a.1 + slope * d.1];
        let mut model = RulerModel::fit(to_full(0.0, v0), dir, &mm, &u, phase)
            .map_err(|e| no(&format!("graduation model: {e}")))?;
        if let Some(work) = work {
            model.tick_directions = tick_directions(col, work, &keep, theta, &model, |i| {
                to_full(us[i], v_at(us[i]))
            });
        }
        // With the lines' measured directions, carry every line to the reading line along its
        // own direction and fit the model again: the shape-based directions used above lean
        // towards their mean, which skews the positions when the camera is turned about the
        // ruler. (The two scale points stay where the first fit put them.)
        if let Some(directions) = model.tick_directions {
            let positions: Vec<f64> = kept
                .iter()
                .map(|&i| {
                    let t = &col.ticks[i];
                    along_direction(&model, &directions, to_full(t.u, t.v))
                })
                .collect();
            if let Ok(refit) =
                RulerModel::fit(model.origin, model.direction, &mm, &positions, phase)
            {
                model = RulerModel {
                    tick_directions: Some(directions),
                    ..refit
                };
            }
        }
        model
    };
    let cm_lines: Vec<Point> = if has_cm {
        (n_min..=n_max)
            .filter(|n| (n - cm_res).rem_euclid(modulus) == 0)
            .filter_map(|n| pos(n).map(|(u, _)| to_full(u, v_at(u))))
            .collect()
    } else {
        Vec::new()
    };
    // Confidence: enough ticks, a tight fit, a clear centimetre pattern, few irregular gaps.
    let c_ticks = (used as f64 / 40.0).min(1.0);
    let c_fit = (1.0 - (rms / col.period - 0.03).max(0.0) * 5.0).clamp(0.0, 1.0);
    let c_cm = if has_cm {
        if five_ok { 1.0 } else { 0.8 }
    } else {
        0.6
    };
    let c_reg = 1.0 - (col.irregular as f64 / col.ticks.len() as f64).min(1.0);
    let confidence = (c_ticks * c_fit * c_cm * c_reg).clamp(0.0, 1.0);
    let mut axis = (theta + std::f64::consts::FRAC_PI_2).to_degrees();
    while axis > 90.0 {
        axis -= 180.0;
    }
    while axis <= -90.0 {
        axis += 180.0;
    }
    Ok(RulerDetection {
        scale_points,
        span_mm,
        mm_per_px,
        px_per_mm: 1.0 / mm_per_px,
        span: if on_cm {
            RulerSpan::CentimetreLines
        } else {
            RulerSpan::MillimetreLines
        },
        local_to_markers,
        local_mm_per_px_at_markers: local_at,
        mm_per_px_range: if range[0].is_finite() {
            range
        } else {
            [mm_per_px, mm_per_px]
        },
        graduation: if half {
            Graduation::HalfMillimetre
        } else {
            Graduation::Millimetre
        },
        axis_angle_deg: axis,
        ticks: used,
        fit_rms_px: rms * ff,
        visible_mm,
        cm_lines,
        confidence,
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
