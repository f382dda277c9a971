//! Choosing the five blobs that form the marker pattern (four corners around a centre marker)
//! and labelling them 0 TL, 1 TR, 2 BR, 3 BL, 4 centre.

use super::blobs::{self, Blob, Found, Refined};
use super::plane::LumaView;
use super::{DetectError, MarkerOptions};
use crate::points::{Fiducials, Point};

mod finish;
mod geometry;

pub(crate) use finish::{diagnostics, finish};
pub(crate) use geometry::{affine_residual, centre_offsets, fit_similarity, similarity};
use geometry::{angle_diff, mid, orient};

/// At most this many candidates (best first) enter the combinatorial search.
pub(crate) const MAX_CANDIDATES: usize = 40;
/// At most this many diagonals (best-centred first) are kept per centre candidate.
const MAX_DIAGONALS_PER_CENTRE: usize = 150;
/// Spread of the centre-offset term (fraction of the diagonal).
const OFFSET_SIGMA: f64 = 0.15;
/// Spread of the size-similarity term (natural log of the largest / smallest major axis).
const SIZE_SIGMA: f64 = 0.5;
/// A pattern's blob-quality term is (Π blob scores)^this: one weak blob costs more than in a
/// geometric mean, so a pattern of five clear markers beats one that borrows weak blobs.
const QUALITY_EXPONENT: f64 = 0.5;
/// Smallest sine of the angle between the two diagonals (25°).
const MIN_DIAGONAL_SINE: f64 = 0.42;

/// How the four corners of a pattern get their labels.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Labeler<'a> {
    /// By direction from the centre marker (TL up-left, …): right for rotations up to ~±35°.
    ByAngle,
    /// By the labelling that needs the smallest rotation from the previous photo's markers.
    ByPrevious(&'a Fiducials),
}

/// The chosen pattern: indices into the candidate list in label order.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub idx: [usize; 5],
    pub score: f64,
    /// 0..1: how unambiguous the labelling is (1 = corners exactly where the labels expect them).
    pub label_certainty: f64,
    pub considered: usize,
    pub runner_up: Option<f64>,
    /// The five blobs refined at full resolution (label order), when verification ran.
    pub refined: [Option<Refined>; 5],
}

/// Labels for four corners given in cyclic order: returns the label order (indices into
/// `corners`, TL TR BR BL), a 0..1 certainty, and a multiplicative prior for the score.
fn label(
    corners: &[Point; 4],
    centre: Point,
    labeler: &Labeler<'_>,
) -> Option<([usize; 4], f64, f64)> {
    match labeler {
        Labeler::ByAngle => {
            use std::f64::consts::FRAC_PI_4;
            let expected = [-3.0 * FRAC_PI_4, -FRAC_PI_4, FRAC_PI_4, 3.0 * FRAC_PI_4];
            let angles = corners.map(|c| (c.y - centre.y).atan2(c.x - centre.x));
            let mut costs: Vec<(f64, usize)> = (0..4)
                .map(|s| {
                    let cost = (0..4)
                        .map(|i| angle_diff(angles[(i + s) % 4], expected[i]))
                        .sum::<f64>();
                    (cost, s)
                })
                .collect();
            costs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (best, s) = costs[0];
            let margin = (costs[1].0 - best) / std::f64::consts::TAU;
            let order = [s % 4, (s + 1) % 4, (s + 2) % 4, (s + 3) % 4];
            Some((order, (2.0 * margin).clamp(0.0, 1.0), 1.0))
        }
        Labeler::ByPrevious(prev) => {
            let prev = prev.points();
            let mut best: Option<([usize; 4], f64, f64)> = None;
            for s in 0..4 {
                let order = [s % 4, (s + 1) % 4, (s + 2) % 4, (s + 3) % 4];
                let cur = [
                    corners[order[0]],
                    corners[order[1]],
                    corners[order[2]],
                    corners[order[3]],
                    centre,
                ];
                let (rot, scale) = similarity(prev, &cur)?;
                // Between consecutive photos the pattern turns little, changes scale moderately
                // and deforms nearly affinely: a blob far from where the others put it is wrong.
                let residual = affine_residual(prev, &cur).unwrap_or(1.0);
                let prior = (-(rot / 35f64.to_radians()).powi(2)).exp()
                    * (-(scale.ln() / 0.7).powi(2)).exp()
                    * (-(residual / 0.12).powi(2)).exp();
                if best.is_none_or(|b| prior > b.2) {
                    best = Some((order, 1.0, prior));
                }
            }
            best
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Diagonal {
    a: usize,
    b: usize,
    off: f64,
}

#[derive(Debug, Clone, Copy)]
struct Scored {
    score: f64,
    idx: [usize; 5],
    label_certainty: f64,
}

/// Choose the marker pattern among the candidates (sorted best first).
pub(crate) fn choose(
    p: &LumaView<'_>,
    found: &Found,
    opts: &MarkerOptions,
    labeler: &Labeler<'_>,
) -> Result<Choice, DetectError> {
    let blobs = &found.blobs;
    let k = blobs.len().min(MAX_CANDIDATES);
    if k < 5 {
        return Err(DetectError::TooFewCandidates { found: blobs.len() });
    }
    let b = &blobs[..k];
    let pts: Vec<Point> = b.iter().map(Blob::point).collect();
    let ln_q: Vec<f64> = b.iter().map(|x| x.score.max(1e-6).ln()).collect();
    // Patterns scoring below this fraction of the best final score can neither win nor make the
    // result ambiguous: they are pruned as soon as an upper bound of their score says so.
    let keep = opts.ambiguity_ratio.min(0.5);
    let mut finals: Vec<Scored> = Vec::new();
    let mut best_final = 0.0f64;
    let mut considered = 0usize;
    // Two passes: the best few candidates first, which usually contain the pattern and so set
    // a high floor that prunes most of the full search; the second pass skips what the first
    // already scored.
    let first = k.min(FIRST_PASS);
    for (kk, done) in [(first, 0), (k, first)] {
        search(
            b,
            &pts,
            &ln_q,
            kk,
            done,
            found,
            opts,
            labeler,
            keep,
            &mut finals,
            &mut best_final,
            &mut considered,
        );
    }
    // Verification at full resolution: the blobs of the leading patterns are refined, and each
    // blob's coarse quality is replaced by the refined one where that is lower (a tick or glyph
    // fragment looks like a dot when downscaled, not at full resolution).
    finals.sort_by(|x, y| y.score.total_cmp(&x.score));
    let lead = finals.first().map_or(0.0, |s| s.score);
    finals.retain(|s| s.score >= keep * lead);
    finals.truncate(MAX_VERIFIED);
    let mut cache: Vec<Option<Option<Refined>>> = vec![None; k];
    let mut refine = |i: usize| -> Option<Refined> {
        *cache[i].get_or_insert_with(|| {
            let blob = &b[i];
            blobs::refine(p, blob.cx, blob.cy, blob.major, blob.minor)
                .filter(|r| r.point.distance(blob.point()) <= 0.5 * blob.major + 2.0)
        })
    };
    for s in finals.iter_mut() {
        let mut ratio = 1.0;
        for &i in &s.idx {
            let coarse = b[i].score.max(1e-6);
            let fine = refine(i).map_or(0.05, |r| r.quality);
            ratio *= fine.min(coarse) / coarse;
        }
        s.score *= ratio.powf(QUALITY_EXPONENT);
    }
    let best = finals
        .iter()
        .copied()
        .max_by(|x, y| x.score.total_cmp(&y.score));
    let Some(best) = best.filter(|s| s.score >= opts.min_pattern_score) else {
        return Err(DetectError::NoPattern {
            candidates: blobs.len(),
        });
    };
    // A clearly different pattern: some label lands more than two marker sizes away.
    let differs = |s: &Scored| {
        (0..5).any(|l| {
            let (x, y) = (&b[s.idx[l]], &b[best.idx[l]]);
            x.point().distance(y.point()) > 2.0 * x.major.max(y.major)
        })
    };
    let runner_up = finals
        .iter()
        .filter(|s| differs(s))
        .map(|s| s.score)
        .max_by(f64::total_cmp);
    if let Some(r) = runner_up
        && r >= opts.ambiguity_ratio * best.score
    {
        return Err(DetectError::AmbiguousPattern {
            best: best.score,
            runner_up: r,
        });
    }
    Ok(Choice {
        idx: best.idx,
        score: best.score,
        label_certainty: best.label_certainty,
        considered,
        runner_up,
        refined: best.idx.map(refine),
    })
}

/// At most this many leading patterns are verified at full resolution.
const MAX_VERIFIED: usize = 24;

/// Candidates in the first, quick pass of [`choose`].
const FIRST_PASS: usize = 12;

/// Score every pattern among the first `k` candidates that uses at least one candidate at index
/// `done` or beyond (patterns within the first `done` were scored by an earlier pass).
#[allow(clippy::too_many_arguments)]
fn search(
    b: &[Blob],
    pts: &[Point],
    ln_q: &[f64],
    k: usize,
    done: usize,
    found: &Found,
    opts: &MarkerOptions,
    labeler: &Labeler<'_>,
    keep: f64,
    finals: &mut Vec<Scored>,
    best_final: &mut f64,
    considered: &mut usize,
) {
    let mut diags: Vec<Diagonal> = Vec::new();
    for c in 0..k {
        diags.clear();
        for i in 0..k {
            if i == c || !size_compatible(&b[i], &b[c]) {
                continue;
            }
            for j in i + 1..k {
                if j == c || !size_compatible(&b[j], &b[c]) || !size_compatible(&b[i], &b[j]) {
                    continue;
                }
                let len = pts[i].distance(pts[j]);
                let big = b[i].major.max(b[j].major).max(b[c].major);
                if len < 3.0 * big {
                    continue;
                }
                let off = mid(pts[i], pts[j]).distance(pts[c]) / len;
                if off <= opts.max_centre_offset {
                    diags.push(Diagonal { a: i, b: j, off });
                }
            }
        }
        if diags.len() > MAX_DIAGONALS_PER_CENTRE {
            diags.sort_by(|x, y| x.off.total_cmp(&y.off));
            diags.truncate(MAX_DIAGONALS_PER_CENTRE);
        }
        for (n1, d1) in diags.iter().enumerate() {
            for d2 in &diags[n1 + 1..] {
                if d1.a == d2.a || d1.a == d2.b || d1.b == d2.a || d1.b == d2.b {
                    continue;
                }
                if c < done && d1.a < done && d1.b < done && d2.a < done && d2.b < done {
                    continue;
                }
                // Upper bound: centre offsets and blob quality only.
                let geom = (-(d1.off * d1.off + d2.off * d2.off)
                    / (2.0 * OFFSET_SIGMA * OFFSET_SIGMA))
                    .exp();
                let quality = (QUALITY_EXPONENT
                    * (ln_q[d1.a] + ln_q[d1.b] + ln_q[d2.a] + ln_q[d2.b] + ln_q[c]))
                    .exp();
                let floor = opts.min_pattern_score.max(keep * *best_final);
                if geom * quality < floor {
                    continue;
                }
                let Some(s) = score_pattern(b, pts, c, d1, d2, geom * quality, labeler) else {
                    continue;
                };
                *considered += 1;
                if s.score < floor {
                    continue;
                }
                // Clutter: dark things inside the quadrilateral other than the five markers.
                let f = Scored {
                    score: s.score * clutter_term(b, found, &s.idx, s.score, floor),
                    ..s
                };
                if f.score >= floor {
                    *best_final = best_final.max(f.score);
                    finals.push(f);
                }
            }
        }
    }
}

/// Markers of one pattern differ in size by at most this factor (major axis).
const MAX_SIZE_RATIO: f64 = 3.0;

fn size_compatible(a: &Blob, b: &Blob) -> bool {
    a.major <= MAX_SIZE_RATIO * b.major && b.major <= MAX_SIZE_RATIO * a.major
}

/// exp(−dark fraction / 2 %): dark area inside the quadrilateral other than the markers.
/// Patterns whose clutter term would bring `raw` below `floor` may get any value below it.
fn clutter_term(b: &[Blob], found: &Found, idx: &[usize; 5], raw: f64, floor: f64) -> f64 {
    let Some(map) = &found.clutter else {
        return 1.0;
    };
    let five = idx.map(|i| b[i]);
    let q = [
        five[0].point(),
        five[1].point(),
        five[2].point(),
        five[3].point(),
    ];
    let limit = if floor > 0.0 && raw > floor {
        CLUTTER_SCALE * (raw / floor).ln()
    } else {
        f64::INFINITY
    };
    (-map.dark_fraction(&q, &five, limit) / CLUTTER_SCALE).exp()
}

/// Dark fraction inside a pattern's quadrilateral that divides its score by e.
const CLUTTER_SCALE: f64 = 0.02;

fn score_pattern(
    b: &[Blob],
    pts: &[Point],
    c: usize,
    d1: &Diagonal,
    d2: &Diagonal,
    geom_quality: f64,
    labeler: &Labeler<'_>,
) -> Option<Scored> {
    let (pa, pb, pd, pe) = (pts[d1.a], pts[d1.b], pts[d2.a], pts[d2.b]);
    // The diagonals must cross.
    let s1 = orient(pa, pb, pd);
    let s2 = orient(pa, pb, pe);
    let s3 = orient(pd, pe, pa);
    let s4 = orient(pd, pe, pb);
    if s1 * s2 >= 0.0 || s3 * s4 >= 0.0 {
        return None;
    }
    let l1 = pa.distance(pb);
    let l2 = pd.distance(pe);
    let cross = ((pb.x - pa.x) * (pe.y - pd.y) - (pb.y - pa.y) * (pe.x - pd.x)).abs();
    if cross < MIN_DIAGONAL_SINE * l1 * l2 {
        return None;
    }
    let five = [d1.a, d1.b, d2.a, d2.b, c];
    let big = five.iter().map(|&i| b[i].major).fold(0.0, f64::max);
    for (n, &i) in five.iter().enumerate() {
        for &j in &five[n + 1..] {
            if pts[i].distance(pts[j]) < 1.5 * big {
                return None;
            }
        }
    }
    // Sizes compared by the major axis: compression squashes a dot but keeps its width.
    let sizes = five.map(|i| b[i].major);
    let (lo, hi) = sizes
        .iter()
        .fold((f64::INFINITY, 0.0f64), |a, &s| (a.0.min(s), a.1.max(s)));
    if lo <= 0.0 {
        return None;
    }
    let size_term = (-((hi / lo).ln() / SIZE_SIGMA).powi(2)).exp();
    // Corners in cyclic order around the centre.
    let centre = pts[c];
    let mut corners = [d1.a, d1.b, d2.a, d2.b];
    corners.sort_by(|&i, &j| {
        let ai = (pts[i].y - centre.y).atan2(pts[i].x - centre.x);
        let aj = (pts[j].y - centre.y).atan2(pts[j].x - centre.x);
        ai.total_cmp(&aj)
    });
    let cp = corners.map(|i| pts[i]);
    let (order, certainty, prior) = label(&cp, centre, labeler)?;
    let idx = [
        corners[order[0]],
        corners[order[1]],
        corners[order[2]],
        corners[order[3]],
        c,
    ];
    Some(Scored {
        score: geom_quality * size_term * prior,
        idx,
        label_certainty: certainty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_pattern_affine_residual_and_similarity() {
        let from = [
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(10.0, 20.0),
            Point::new(0.0, 20.0),
            Point::new(5.0, 9.0),
        ];
        let to =
            from.map(|p| Point::new(1.1 * p.x + 0.2 * p.y + 3.0, -0.1 * p.x + 0.7 * p.y - 4.0));
        assert!(affine_residual(&from, &to).unwrap() < 1e-12);
        let mut moved = to;
        moved[2].x += 5.0;
        assert!(affine_residual(&from, &moved).unwrap() > 0.1);
        let turned = from.map(|p| Point::new(-2.0 * p.y, 2.0 * p.x));
        let (rot, scale) = similarity(&from, &turned).unwrap();
        assert!((rot - std::f64::consts::FRAC_PI_2).abs() < 1e-12 && (scale - 2.0).abs() < 1e-12);
        assert!(affine_residual(&from, &[Point::new(1.0, 1.0); 5]).is_none());
    }
}
