//! Calibration-target detection: a printed grid of dark dots of known pitch.
//!
//! 1. **Dots.** Dark blobs against the local mean (the same mask and components as the marker
//!    search, on a working copy of at most ~4 MP), kept when round enough (axis ratio ≤ 2, fill
//!    ≥ 0.6: the graduation lines and digits of a ruler are not), then each refined at full
//!    resolution to its grey-weighted centre ([`super::blobs::refine`]).
//! 2. **Lattice.** Every dot's nearest neighbours give difference vectors; their directions
//!    (folded to a half turn) have two peaks, the grid's two axes. A dot whose four nearest
//!    neighbours sit at ± both axis vectors, whose size is the median size, and which is
//!    nearest the middle of such dots seeds the grid.
//! 3. **Growth.** From the seed, breadth first, each dot predicts its four neighbours from the
//!    steps its own neighbours were found at (so perspective, which shrinks the steps across the
//!    image, is followed), and the nearest dot of a similar size within 30 % of a step is given
//!    the next grid index. Markers, ruler marks and dirt are not on the lattice and are never
//!    reached.
//! 4. **Fit.** [`TargetModel::fit`] on the grown grid; dots more than 5× the robust residual
//!    (at least 1 px) from the fitted map are dropped and the model refitted.
//!
//! The seed is dot (0, 0); columns count to the right and rows down the image. The model's
//! frame does not depend on either (see [`crate::scale::target`]).

use super::blobs;
use super::plane::{self, AsLuma, LumaView};
use crate::points::Point;
use crate::scale::{GridDot, MIN_TARGET_DOTS, TargetError, TargetModel};
use std::collections::{HashMap, VecDeque};

/// What to look for.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetOptions {
    /// Distance between neighbouring dots' centres, mm.
    pub pitch_mm: f64,
    /// Allow the radial-distortion term (kept only where significant).
    pub radial: bool,
}

impl Default for TargetOptions {
    fn default() -> Self {
        Self {
            pitch_mm: 5.0,
            radial: true,
        }
    }
}

/// A detected target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetDetection {
    pub model: TargetModel,
    /// The dots used, with their grid index.
    pub dots: Vec<GridDot>,
    /// Dots on the lattice dropped as outliers of the fit.
    pub rejected: usize,
}

impl TargetDetection {
    /// The target's card in the image: the grid of the dots used grown by one pitch on every
    /// side, through the model (for [`super::MarkerOptions::exclude`]). `None` when a corner lies
    /// beyond the horizon.
    pub fn outline(&self) -> Option<[Point; 4]> {
        let (mut i0, mut j0, mut i1, mut j1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
        for d in &self.dots {
            i0 = i0.min(d.index[0]);
            i1 = i1.max(d.index[0]);
            j0 = j0.min(d.index[1]);
            j1 = j1.max(d.index[1]);
        }
        let p = self.model.pitch_mm;
        let corner = |i: i32, j: i32| {
            self.model
                .project(Point::new(f64::from(i) * p, f64::from(j) * p))
        };
        Some([
            corner(i0 - 1, j0 - 1)?,
            corner(i1 + 1, j0 - 1)?,
            corner(i1 + 1, j1 + 1)?,
            corner(i0 - 1, j1 + 1)?,
        ])
    }
}

/// Why no target was found.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum TargetDetectError {
    #[error("no dot grid found ({dots} round dark dots, none with four neighbours on a lattice)")]
    NoGrid { dots: usize },
    #[error("{0}")]
    Fit(#[from] TargetError),
}

/// A dot candidate, full-resolution px.
#[derive(Debug, Clone, Copy)]
struct Dot {
    p: Point,
    size: f64,
}

/// Find a dot-grid calibration target in `image` and fit its model.
///
/// # Errors
///
/// [`TargetDetectError::NoGrid`] when there is no lattice of dots, [`TargetDetectError::Fit`]
/// when too few dots were found or they do not fix a map. Never panics.
pub fn detect_target<I: AsLuma + ?Sized>(
    image: &I,
    opts: &TargetOptions,
) -> Result<TargetDetection, TargetDetectError> {
    if !(opts.pitch_mm > 0.0 && opts.pitch_mm.is_finite()) {
        return Err(TargetError::InvalidPitch(opts.pitch_mm).into());
    }
    let view = image.luma_view();
    let (w, h) = view.dimensions();
    let dots = find_dots(&view);
    let grid = grow_grid(&dots).ok_or(TargetDetectError::NoGrid { dots: dots.len() })?;
    if grid.len() < MIN_TARGET_DOTS {
        return Err(TargetError::TooFewDots {
            found: grid.len(),
            needed: MIN_TARGET_DOTS,
        }
        .into());
    }
    let mut used = grid;
    let mut rejected = 0;
    loop {
        let model = TargetModel::fit(&used, opts.pitch_mm, [w, h], false)?;
        let errors: Vec<f64> = used
            .iter()
            .map(|d| {
                let plane = Point::new(
                    f64::from(d.index[0]) * opts.pitch_mm,
                    f64::from(d.index[1]) * opts.pitch_mm,
                );
                model
                    .project(plane)
                    .map_or(f64::INFINITY, |q| q.distance(d.image))
            })
            .collect();
        let mut sorted = errors.clone();
        sorted.sort_by(f64::total_cmp);
        let robust = sorted[sorted.len() / 2] * 1.4826 * 1.18;
        let limit = (5.0 * robust).max(1.0);
        let keep: Vec<GridDot> = used
            .iter()
            .zip(&errors)
            .filter(|(_, e)| **e <= limit)
            .map(|(d, _)| *d)
            .collect();
        if keep.len() == used.len() {
            let model = TargetModel::fit(&used, opts.pitch_mm, [w, h], opts.radial)?;
            let mut found = TargetDetection {
                model,
                dots: used,
                rejected,
            };
            found.model.outline = found.outline();
            return Ok(found);
        }
        rejected += used.len() - keep.len();
        used = keep;
    }
}

/// Round dark blobs, refined to sub-pixel centres.
fn find_dots(view: &LumaView<'_>) -> Vec<Dot> {
    let (w, h) = (view.w, view.h);
    // A working copy of at most ~4 MP.
    let f = ((w * h) as f64 / 4.0e6).sqrt().ceil().max(1.0) as usize;
    let work = view.coarse(0, 0, w, h, f);
    if work.w < 16 || work.h < 16 {
        return Vec::new();
    }
    let r = (work.w.min(work.h) / 24).max(8);
    let bg = plane::local_mean(&work, r);
    let mask = plane::dark_mask(&work, &bg, 12, 0.2);
    let comps = plane::components(&mask, &work, &bg, 4_000_000);
    let scale = f as f64;
    let mut out = Vec::new();
    for c in comps {
        if c.border || c.n < 6.0 || c.n > 0.002 * (work.w * work.h) as f64 {
            continue;
        }
        let s = c.shape();
        if s.major > 2.0 * s.minor || s.fill < 0.6 {
            continue;
        }
        let (cx, cy) = ((s.cx + 0.5) * scale - 0.5, (s.cy + 0.5) * scale - 0.5);
        let Some(refined) = blobs::refine(view, cx, cy, s.major * scale, s.minor * scale) else {
            continue;
        };
        if refined.major > 2.0 * refined.minor
            || refined.point.distance(Point::new(cx, cy)) > scale * s.major
        {
            continue;
        }
        out.push(Dot {
            p: refined.point,
            size: (refined.major * refined.minor).sqrt(),
        });
    }
    out
}

/// The `k` nearest other dots of each dot (by index), with a uniform bucket grid.
fn neighbours(dots: &[Dot], k: usize) -> Vec<Vec<usize>> {
    let n = dots.len();
    if n < 2 {
        return vec![Vec::new(); n];
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for d in dots {
        x0 = x0.min(d.p.x);
        y0 = y0.min(d.p.y);
        x1 = x1.max(d.p.x);
        y1 = y1.max(d.p.y);
    }
    let cell = (((x1 - x0) * (y1 - y0)).max(1.0) / n as f64)
        .sqrt()
        .max(1.0)
        * 2.0;
    let key = |p: Point| (((p.x - x0) / cell) as i64, ((p.y - y0) / cell) as i64);
    let mut buckets: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (i, d) in dots.iter().enumerate() {
        buckets.entry(key(d.p)).or_default().push(i);
    }
    dots.iter()
        .enumerate()
        .map(|(i, d)| {
            let (bx, by) = key(d.p);
            let mut found: Vec<(f64, usize)> = Vec::new();
            let mut ring = 1;
            loop {
                found.clear();
                for gx in bx - ring..=bx + ring {
                    for gy in by - ring..=by + ring {
                        if let Some(b) = buckets.get(&(gx, gy)) {
                            found.extend(
                                b.iter()
                                    .filter(|&&j| j != i)
                                    .map(|&j| (dots[j].p.distance(d.p), j)),
                            );
                        }
                    }
                }
                // Enough found, and all within the ring's sure radius (or the ring covers all).
                found.sort_by(|a, b| a.0.total_cmp(&b.0));
                let sure = ring as f64 * cell;
                if (found.len() >= k && found[k - 1].0 <= sure) || found.len() == n - 1 {
                    break;
                }
                ring += 1;
                if ring > 64 {
                    break;
                }
            }
            found.iter().take(k).map(|&(_, j)| j).collect()
        })
        .collect()
}

/// The two lattice axis vectors (px), from the dominant directions of neighbour steps.
fn lattice_axes(dots: &[Dot], near: &[Vec<usize>]) -> Option<[[f64; 2]; 2]> {
    const BINS: usize = 90;
    let mut hist = [0.0f64; BINS];
    let mut steps: Vec<(f64, f64, f64)> = Vec::new();
    for (i, ns) in near.iter().enumerate() {
        let Some(&first) = ns.first() else { continue };
        let d0 = dots[first].p.distance(dots[i].p);
        for &j in ns {
            let (dx, dy) = (dots[j].p.x - dots[i].p.x, dots[j].p.y - dots[i].p.y);
            let len = dx.hypot(dy);
            if len > 1.35 * d0 {
                continue;
            }
            let a = dy.atan2(dx).rem_euclid(std::f64::consts::PI);
            let b = ((a / std::f64::consts::PI * BINS as f64) as usize).min(BINS - 1);
            hist[b] += 1.0;
            steps.push((a, len, 0.0));
        }
    }
    // Smooth circularly and take two peaks at least 30° apart.
    let smooth: Vec<f64> = (0..BINS)
        .map(|b| hist[(b + BINS - 1) % BINS] + 2.0 * hist[b] + hist[(b + 1) % BINS])
        .collect();
    let p1 = (0..BINS).max_by(|&a, &b| smooth[a].total_cmp(&smooth[b]))?;
    let sep = |a: usize, b: usize| {
        let d = a.abs_diff(b);
        d.min(BINS - d)
    };
    let p2 = (0..BINS)
        .filter(|&b| sep(b, p1) >= BINS / 6)
        .max_by(|&a, &b| smooth[a].total_cmp(&smooth[b]))?;
    if smooth[p2] < 4.0 {
        return None;
    }
    let axis = |peak: usize| -> Option<[f64; 2]> {
        let centre = (peak as f64 + 0.5) / BINS as f64 * std::f64::consts::PI;
        let mut along: Vec<(f64, f64)> = steps
            .iter()
            .filter_map(|&(a, len, _)| {
                let mut d = a - centre;
                if d > std::f64::consts::FRAC_PI_2 {
                    d -= std::f64::consts::PI;
                } else if d < -std::f64::consts::FRAC_PI_2 {
                    d += std::f64::consts::PI;
                }
                (d.abs() < 0.1).then_some((centre + d, len))
            })
            .collect();
        if along.is_empty() {
            return None;
        }
        along.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (a, len) = along[along.len() / 2];
        Some([len * a.cos(), len * a.sin()])
    };
    Some([axis(p1)?, axis(p2)?])
}

/// Grid indices for the dots on the lattice reached from the best seed.
fn grow_grid(dots: &[Dot]) -> Option<Vec<GridDot>> {
    if dots.len() < 5 {
        return None;
    }
    let near = neighbours(dots, 8);
    let [u, v] = lattice_axes(dots, &near)?;
    let close = |a: Point, b: Point, step: [f64; 2]| a.distance(b) <= 0.3 * step[0].hypot(step[1]);
    // Seeds: four neighbours at ± both axes.
    let mut seeds: Vec<usize> = (0..dots.len())
        .filter(|&i| {
            let p = dots[i].p;
            [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
                .iter()
                .all(|s| {
                    let q = Point::new(
                        p.x + s[0] * u[0] + s[1] * v[0],
                        p.y + s[0] * u[1] + s[1] * v[1],
                    );
                    near[i]
                        .iter()
                        .any(|&j| close(dots[j].p, q, if s[0] != 0.0 { u } else { v }))
                })
        })
        .collect();
    if seeds.is_empty() {
        return None;
    }
    let mut sizes: Vec<f64> = seeds.iter().map(|&i| dots[i].size).collect();
    sizes.sort_by(f64::total_cmp);
    let size = sizes[sizes.len() / 2];
    seeds.retain(|&i| (dots[i].size / size - 1.0).abs() < 0.35);
    let n = seeds.len().max(1) as f64;
    let mid = seeds.iter().fold(Point::new(0.0, 0.0), |a, &i| {
        Point::new(a.x + dots[i].p.x / n, a.y + dots[i].p.y / n)
    });
    let seed = *seeds
        .iter()
        .min_by(|&&a, &&b| dots[a].p.distance(mid).total_cmp(&dots[b].p.distance(mid)))?;

    let similar = |j: usize| (dots[j].size / size - 1.0).abs() < 0.5;
    let mut index_of: HashMap<[i32; 2], usize> = HashMap::new();
    let mut assigned: HashMap<usize, [i32; 2]> = HashMap::new();
    let mut queue = VecDeque::new();
    index_of.insert([0, 0], seed);
    assigned.insert(seed, [0, 0]);
    queue.push_back(seed);
    while let Some(i) = queue.pop_front() {
        let [a, b] = assigned[&i];
        let p = dots[i].p;
        for (da, db) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
            let target = [a + da, b + db];
            if index_of.contains_key(&target) {
                continue;
            }
            // The local step along this axis: from this dot's found neighbours on it.
            let axis = if da != 0 { u } else { v };
            let sign = f64::from(da + db);
            let along = |o: i32| -> Option<[f64; 2]> {
                let key = if da != 0 { [a + o, b] } else { [a, b + o] };
                index_of.get(&key).map(|&j| {
                    let q = dots[j].p;
                    [(q.x - p.x) / f64::from(o), (q.y - p.y) / f64::from(o)]
                })
            };
            let step = along(-sign as i32)
                .or_else(|| along(sign as i32))
                .unwrap_or(axis);
            let predicted = Point::new(p.x + sign * step[0], p.y + sign * step[1]);
            let best = near[i]
                .iter()
                .copied()
                .filter(|&j| !assigned.contains_key(&j) && similar(j))
                .filter(|&j| close(dots[j].p, predicted, step))
                .min_by(|&x, &y| {
                    dots[x]
                        .p
                        .distance(predicted)
                        .total_cmp(&dots[y].p.distance(predicted))
                });
            if let Some(j) = best {
                index_of.insert(target, j);
                assigned.insert(j, target);
                queue.push_back(j);
            }
        }
    }
    // Count columns to the right and rows down the image, as a person reads the grid (the
    // model does not depend on it).
    let swap = u[1].abs() > u[0].abs();
    let (right, down) = if swap { (v, u) } else { (u, v) };
    let (si, sj) = (
        if right[0] < 0.0 { -1 } else { 1 },
        if down[1] < 0.0 { -1 } else { 1 },
    );
    let mut grid: Vec<GridDot> = assigned
        .iter()
        .map(|(&i, &[a, b])| {
            let (c, r) = if swap { (b, a) } else { (a, b) };
            GridDot {
                index: [si * c, sj * r],
                image: dots[i].p,
            }
        })
        .collect();
    grid.sort_by_key(|d| (d.index[1], d.index[0]));
    Some(grid)
}

#[cfg(test)]
mod tests;
