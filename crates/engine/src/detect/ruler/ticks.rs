//! Tick candidates: thin, elongated dark components at full resolution, their dominant direction,
//! and a directional opening that cuts the ruler's edge line away from them.

use super::*;

/// Thin, elongated dark components: the graduation ticks.
///
/// Ticks usually touch a dark line along the ruler's edge, which joins them into one comb-shaped
/// component. So ticks are found twice: a first pass gives the dominant tick direction from the
/// ticks that stand alone (centimetre lines, ticks on a clean edge); then only mask pixels on runs
/// of at least a few pixels along that direction are kept, which cuts the edge line away, and the
/// ticks are found again.
pub(super) fn find_ticks(work: &Plane) -> Result<Vec<Tick>, DetectError> {
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
pub(super) fn dominant_direction(
    ticks: &[Tick],
    min_ticks: usize,
) -> Result<(f64, Vec<Tick>), DetectError> {
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
