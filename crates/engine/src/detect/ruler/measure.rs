//! From one indexed tick column to a scale: fit the index → position map robustly, decide the
//! finest graduation (half-millimetre when alternate ticks are clearly shorter, or when the 5 mm
//! lines stand out between the centimetre lines), find the centimetre lines, fit the reading line
//! across the ruler and carry every tick along its own direction onto it, place the two scale
//! points a whole number of millimetres apart (on centimetre lines where possible, near the
//! markers when they are known), and build the [`RulerModel`] with its covariance and a
//! confidence from the tick count, the fit, the centimetre pattern and the irregular gaps.

use super::directions::{along_direction, tick_directions, tilt_model};
use super::graduation::{MAX_FIT_RMS, local_fit, projective_eval, reading_line, robust_fit};
use super::plane::Plane;
use super::{Column, DetectError, Graduation, RulerDetection, RulerOptions, RulerSpan, median};
use crate::points::{Point, ScalePoints};
use crate::scale::RulerModel;

/// Turn an indexed column into a scale; with `work` (the working image), also measure the
/// ticks' directions for the ruler model ([`tick_directions`]).
pub(super) fn measure(
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
