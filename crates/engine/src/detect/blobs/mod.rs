//! Marker candidates: coarse dark blobs that look like markers, and their sub-pixel refinement
//! at full resolution.

use super::MarkerOptions;
use super::plane::{self, LumaView, Plane};
use crate::points::Point;

mod refine;

pub(crate) use refine::{Refined, refine, snap};

/// A marker-like blob, in full-resolution pixel coordinates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Blob {
    pub cx: f64,
    pub cy: f64,
    pub major: f64,
    pub minor: f64,
    pub contrast: f64,
    /// 0..1 marker-likeness.
    pub score: f64,
    /// Seen at the most lenient threshold level (its size is then the marker's); a blob seen
    /// only at stricter levels is a marker's dark core, or a marker cut from a shadow or line.
    pub lenient: bool,
}

impl Blob {
    pub fn point(&self) -> Point {
        Point::new(self.cx, self.cy)
    }
}

/// Result of the coarse search.
#[derive(Debug)]
pub(crate) struct Found {
    pub blobs: Vec<Blob>,
    pub components: usize,
    pub factor: usize,
    /// Where the image is clearly dark (see `CLUTTER_LEVEL`): a marker pattern on a
    /// clean specimen has little dark area inside its quadrilateral besides its markers; one made
    /// of ruler digits and ticks has much.
    pub clutter: Option<ClutterMap>,
}

/// Summed-area table of the lenient dark mask, for the dark fraction inside a quadrilateral.
#[derive(Debug)]
pub(crate) struct ClutterMap {
    integral: plane::Integral,
    w: usize,
    h: usize,
    f: f64,
    x0: f64,
    y0: f64,
}

impl ClutterMap {
    /// Fraction of the quadrilateral `q` (cyclic order) that is dark, not counting cells within
    /// 0.8 major axes of a marker. Sampled on an 8 × 8 grid of cells. Stops early, returning a
    /// value above `limit`, once the fraction is known to exceed `limit`.
    pub fn dark_fraction(&self, q: &[Point; 4], markers: &[Blob], limit: f64) -> f64 {
        const N: usize = 8;
        let half = (self.f - 1.0) / 2.0;
        let to_coarse = |p: Point| {
            (
                (p.x - self.x0 - half) / self.f,
                (p.y - self.y0 - half) / self.f,
            )
        };
        let c = q.map(to_coarse);
        // Cell half-size: the local grid spacing.
        let hx = 0.5
            * ((c[1].0 - c[0].0).hypot(c[1].1 - c[0].1) + (c[2].0 - c[3].0).hypot(c[2].1 - c[3].1))
            / (2.0 * N as f64);
        let hy = 0.5
            * ((c[3].0 - c[0].0).hypot(c[3].1 - c[0].1) + (c[2].0 - c[1].0).hypot(c[2].1 - c[1].1))
            / (2.0 * N as f64);
        let h = hx.min(hy).max(0.5);
        let near: Vec<(f64, f64, f64)> = markers
            .iter()
            .map(|m| {
                let (x, y) = to_coarse(m.point());
                (x, y, (0.8 * m.major / self.f).powi(2))
            })
            .collect();
        let (mut dark, mut total) = (0.0, 0.0);
        for i in 0..N {
            for j in 0..N {
                let (s, t) = ((i as f64 + 0.5) / N as f64, (j as f64 + 0.5) / N as f64);
                // Bilinear point in the quad: corners 0 (s=0,t=0), 1 (s=1,t=0), 2 (1,1), 3 (0,1).
                let x = (1.0 - s) * (1.0 - t) * c[0].0
                    + s * (1.0 - t) * c[1].0
                    + s * t * c[2].0
                    + (1.0 - s) * t * c[3].0;
                let y = (1.0 - s) * (1.0 - t) * c[0].1
                    + s * (1.0 - t) * c[1].1
                    + s * t * c[2].1
                    + (1.0 - s) * t * c[3].1;
                if near
                    .iter()
                    .any(|&(mx, my, r2)| (x - mx).powi(2) + (y - my).powi(2) < r2)
                {
                    continue;
                }
                let x0 = (x - h).round().max(0.0) as usize;
                let y0 = (y - h).round().max(0.0) as usize;
                let x1 = ((x + h).round().max(0.0) as usize)
                    .saturating_add(1)
                    .min(self.w);
                let y1 = ((y + h).round().max(0.0) as usize)
                    .saturating_add(1)
                    .min(self.h);
                if x1 <= x0 || y1 <= y0 {
                    continue;
                }
                let area = ((x1 - x0) * (y1 - y0)) as f64;
                dark += self.integral.sum(x0, y0, x1, y1) as f64 / area;
                total += 1.0;
                if dark / (N * N) as f64 > limit {
                    return 2.0 * limit + 1e-9;
                }
            }
        }
        if total > 0.0 { dark / total } else { 0.0 }
    }
}

/// A rectangle `[x0, x1) × [y0, y1)` in full-resolution pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roi {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

/// Relative darkness of the mask the clutter of a pattern is measured on.
const CLUTTER_LEVEL: f32 = 0.3;

/// Marker size limits (major axis, full-resolution px) for an image whose short side is `short`.
pub(crate) fn diameter_limits(opts: &MarkerOptions, short: usize) -> (f64, f64) {
    let s = short as f64;
    let lo = opts.min_diameter_px.unwrap_or((0.008 * s).max(6.0));
    let hi = opts.max_diameter_px.unwrap_or((0.15 * s).max(lo * 2.0));
    (lo, hi.max(lo))
}

/// 0..1 marker-likeness from contrast, ellipse fill and axis ratio.
pub(crate) fn blob_score(contrast: f64, fill: f64, ratio: f64, max_ratio: f64) -> f64 {
    let s_c = (contrast / 0.6).clamp(0.0, 1.0);
    let s_f = (1.0 - ((fill - 1.0).abs() - 0.12).max(0.0) * 3.0).clamp(0.0, 1.0);
    let s_r = if ratio <= 2.0 || max_ratio <= 2.0 {
        1.0
    } else {
        (1.0 - 0.5 * (ratio - 2.0) / (max_ratio - 2.0)).clamp(0.5, 1.0)
    };
    s_c * s_f * s_r
}

/// Dark, marker-shaped blobs of `p` (markers dark), best first. `roi` limits the search (the
/// size limits still follow the whole image).
pub(crate) fn find_candidates(
    p: &LumaView<'_>,
    opts: &MarkerOptions,
    roi: Option<Roi>,
    min_contrast: f64,
) -> Found {
    let short = p.w.min(p.h);
    let (min_d, max_d) = diameter_limits(opts, short);
    let long = p.w.max(p.h);
    let by_size = long.div_ceil(opts.working_max_side.max(1) as usize).max(1);
    let by_marker = ((min_d / 3.0).floor() as usize).max(1);
    let f = by_size.min(by_marker).max(1);
    let roi = roi.unwrap_or(Roi {
        x0: 0,
        y0: 0,
        x1: p.w,
        y1: p.h,
    });
    let coarse = p.coarse(roi.x0, roi.y0, roi.x1, roi.y1, f);
    let empty = Found {
        blobs: Vec::new(),
        components: 0,
        factor: f,
        clutter: None,
    };
    if coarse.w < 8 || coarse.h < 8 {
        return empty;
    }
    let ff = f as f64;
    let r = ((max_d / ff) * 0.75).ceil().max(6.0) as usize;
    let r = r.min(coarse.w.max(coarse.h) / 2).max(1);
    let bg = plane::local_mean(&coarse, r);
    // Several threshold levels (an MSER-like sweep): a marker much darker than a shadow or a
    // contact line it touches separates from them at a stricter level.
    let base = (min_contrast * 0.6).clamp(0.05, 0.9);
    let mut levels = vec![base];
    for l in [0.45, 0.7] {
        if l > base + 0.1 {
            levels.push(l);
        }
    }
    let max_runs = coarse.w * coarse.h / 4 + 16;
    let min_minor_coarse = 2.0;
    let mut n_comps = 0;
    let mut blobs: Vec<Blob> = Vec::new();
    // Clutter: thin dark structure (pixels at least 30 % darker than their surroundings that a
    // 3 × 3 opening removes): ticks, digits' strokes, text. Shadows and stains are wide and do
    // not count; neither do the markers.
    let dark = plane::dark_mask(&coarse, &bg, 12, CLUTTER_LEVEL);
    let solid = plane::open3(&dark, coarse.w, coarse.h);
    let clutter_mask: Vec<bool> = dark.iter().zip(&solid).map(|(&d, &o)| d && !o).collect();
    let clutter = Some(ClutterMap {
        integral: plane::Integral::new(&Plane {
            w: coarse.w,
            h: coarse.h,
            data: clutter_mask.iter().map(|&m| m as u8).collect(),
        }),
        w: coarse.w,
        h: coarse.h,
        f: ff,
        x0: roi.x0 as f64,
        y0: roi.y0 as f64,
    });
    let off = (ff - 1.0) / 2.0;
    for (level, &rel) in levels.iter().enumerate() {
        let raw = plane::dark_mask(&coarse, &bg, 12, rel as f32);
        let mask = plane::open3(&raw, coarse.w, coarse.h);
        let comps = plane::components(&mask, &coarse, &bg, max_runs);
        n_comps = n_comps.max(comps.len());
        for c in comps.iter().filter(|c| !c.border && c.n >= 4.0) {
            let s = c.shape();
            let major = s.major * ff;
            let minor = s.minor * ff;
            if major < min_d || major > max_d || s.minor < min_minor_coarse {
                continue;
            }
            let ratio = major / minor.max(1e-9);
            if ratio > opts.max_axis_ratio || s.fill < opts.min_fill || s.fill > 1.35 {
                continue;
            }
            let contrast = c.contrast();
            if contrast < min_contrast {
                continue;
            }
            let ring = ring_fraction(&raw, &coarse, &s);
            if ring > 0.45 {
                continue;
            }
            let isolation = (1.0 - (ring - 0.12).max(0.0) / 0.3).clamp(0.0, 1.0);
            let score = blob_score(contrast, s.fill, ratio, opts.max_axis_ratio) * isolation;
            // Centre of coarse pixel i is full-resolution coordinate i·f + (f − 1)/2.
            let blob = Blob {
                cx: s.cx * ff + off + roi.x0 as f64,
                cy: s.cy * ff + off + roi.y0 as f64,
                major,
                minor,
                contrast,
                score,
                lenient: level == 0,
            };
            // The same blob seen at another level: keep the better score, and the size seen at
            // the most lenient level.
            match blobs.iter_mut().find(|b| {
                b.point().distance(blob.point()) < 0.5 * b.minor.min(blob.minor).max(2.0 * ff)
            }) {
                Some(b) => {
                    if blob.score > b.score {
                        b.score = blob.score;
                        b.contrast = blob.contrast;
                    }
                }
                None => blobs.push(blob),
            }
        }
    }
    // A blob seen only at stricter levels is measured at full resolution, where the opening cuts
    // it from what it touched: its coarse size is only its darkest core.
    for b in blobs.iter_mut().filter(|b| !b.lenient) {
        if let Some(r) = refine(p, b.cx, b.cy, b.major, b.minor)
            && r.point.distance(b.point()) <= 0.5 * b.major + 2.0
            && r.major >= b.major
            && r.major <= max_d
        {
            b.major = r.major;
            b.minor = r.minor.max(b.minor);
        }
    }
    blobs.retain(|b| !opts.excludes(b.point()));
    blobs.sort_by(|a, b| b.score.total_cmp(&a.score));
    Found {
        blobs,
        components: n_comps,
        factor: f,
        clutter,
    }
}

/// Fraction of set pixels of the level's mask in the square ring between 1.6 and 2.6
/// semi-major axes around a coarse component.
fn ring_fraction(mask: &[bool], coarse: &Plane, s: &plane::Shape) -> f64 {
    let r_in = 0.8 * s.major + 1.0;
    let r_out = r_in + (0.5 * s.major).max(2.0);
    let clip = |v: f64, hi: usize| (v.round().max(0.0) as usize).min(hi);
    let (ox0, oy0) = (clip(s.cx - r_out, coarse.w), clip(s.cy - r_out, coarse.h));
    let (ox1, oy1) = (
        clip(s.cx + r_out + 1.0, coarse.w),
        clip(s.cy + r_out + 1.0, coarse.h),
    );
    let (ix0, iy0) = (clip(s.cx - r_in, coarse.w), clip(s.cy - r_in, coarse.h));
    let (ix1, iy1) = (
        clip(s.cx + r_in + 1.0, coarse.w),
        clip(s.cy + r_in + 1.0, coarse.h),
    );
    let (mut set, mut total) = (0usize, 0usize);
    for y in oy0..oy1 {
        let inner_row = y >= iy0 && y < iy1;
        for x in ox0..ox1 {
            if inner_row && x >= ix0 && x < ix1 {
                continue;
            }
            total += 1;
            set += mask[y * coarse.w + x] as usize;
        }
    }
    if total == 0 {
        0.0
    } else {
        set as f64 / total as f64
    }
}
