//! Sub-pixel marker centres at full resolution: around a coarse candidate, a local mid-level
//! threshold between the marker's and the background's grey levels (histogram percentiles), an
//! opening that cuts thin lines touching the marker, the component nearest the seed dilated by
//! 2 px, and the coverage-weighted centroid over it with its moment ellipse and a 0..1 quality.
//! [`snap`] does the same around a predicted point when tracking.

use super::blob_score;
use crate::detect::plane::{self, LumaView};
use crate::points::Point;

/// A marker centre refined at full resolution.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refined {
    pub point: Point,
    pub major: f64,
    pub minor: f64,
    pub angle: f64,
    pub contrast: f64,
    /// 0..1 marker-likeness of the refined blob.
    pub quality: f64,
}

/// Histogram percentile (0..1) of a set of bytes.
fn percentile(hist: &[u32; 256], total: u32, q: f64) -> u8 {
    let target = ((total as f64) * q).floor() as u32;
    let mut acc = 0u32;
    for (v, &c) in hist.iter().enumerate() {
        acc += c;
        if acc > target {
            return v as u8;
        }
    }
    255
}

/// Refine a blob around (`cx`, `cy`) of roughly `major` × `minor` px: local mid-level threshold,
/// opening (cuts thin lines that touch the marker), the component nearest the seed, dilated by
/// 2 px, and the coverage-weighted centroid over it.
pub(crate) fn refine(
    p: &LumaView<'_>,
    cx: f64,
    cy: f64,
    major: f64,
    minor: f64,
) -> Option<Refined> {
    if !(cx.is_finite() && cy.is_finite() && major.is_finite() && minor.is_finite()) {
        return None;
    }
    let r = (0.75 * major + 4.0).ceil().clamp(4.0, 4096.0);
    let x0 = (cx - r).floor().max(0.0) as usize;
    let y0 = (cy - r).floor().max(0.0) as usize;
    let x1 = ((cx + r).ceil().max(0.0) as usize)
        .saturating_add(1)
        .min(p.w);
    let y1 = ((cy + r).ceil().max(0.0) as usize)
        .saturating_add(1)
        .min(p.h);
    if x1 < x0.saturating_add(5) || y1 < y0.saturating_add(5) {
        return None;
    }
    let win = p.crop(x0, y0, x1, y1);
    let (w, h) = (win.w, win.h);
    // Background: median of the window's border; foreground: 2nd percentile of the window.
    let mut border = [0u32; 256];
    let mut nb = 0u32;
    let mut all = [0u32; 256];
    for y in 0..h {
        for x in 0..w {
            let v = win.data[y * w + x];
            all[v as usize] += 1;
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                border[v as usize] += 1;
                nb += 1;
            }
        }
    }
    let bg = percentile(&border, nb, 0.5) as f64;
    let fg = percentile(&all, (w * h) as u32, 0.02) as f64;
    if bg - fg < 8.0 {
        return None;
    }
    let level = 0.5 * (bg + fg);
    let mask: Vec<bool> = win.data.iter().map(|&v| (v as f64) < level).collect();
    let r_open = (minor * 0.15).round().clamp(1.0, 4.0) as usize;
    let seed = (cx - x0 as f64, cy - y0 as f64);
    let expected = std::f64::consts::FRAC_PI_4 * major * minor;
    let bgv = vec![bg.round().clamp(0.0, 255.0) as u8; w * h];
    let pick = |m: &[bool]| -> Option<(Vec<u32>, u32)> {
        let mut labels = Vec::new();
        let comps = plane::components_labelled(m, &win, &bgv, &mut labels);
        let best = comps
            .iter()
            .enumerate()
            .filter(|(_, c)| c.n >= 0.15 * expected.max(4.0))
            .map(|(i, c)| {
                let s = c.shape();
                (i, (s.cx - seed.0).hypot(s.cy - seed.1))
            })
            .filter(|&(_, d)| d <= 0.5 * major + 2.0)
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        Some((labels, best.0 as u32 + 1))
    };
    let opened = plane::open_mask(&mask, w, h, r_open);
    let (labels, id) = pick(&opened).or_else(|| pick(&mask))?;
    let comp: Vec<bool> = labels.iter().map(|&l| l == id).collect();
    let support = plane::dilate_mask(&comp, w, h, 2);
    let span = bg - fg;
    let (mut sw, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let mut touches = false;
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if !support[i] {
                continue;
            }
            let wgt = ((bg - win.data[i] as f64) / span).clamp(0.0, 1.0);
            if wgt <= 0.0 {
                continue;
            }
            if comp[i] && (x == 0 || y == 0 || x + 1 == w || y + 1 == h) {
                touches = true;
            }
            let (xf, yf) = (x as f64, y as f64);
            sw += wgt;
            sx += wgt * xf;
            sy += wgt * yf;
            sxx += wgt * xf * xf;
            syy += wgt * yf * yf;
            sxy += wgt * xf * yf;
        }
    }
    if sw < 1.0 {
        return None;
    }
    let (mx, my) = (sx / sw, sy / sw);
    let vxx = (sxx / sw - mx * mx).max(0.0);
    let vyy = (syy / sw - my * my).max(0.0);
    let vxy = sxy / sw - mx * my;
    let (l1, l2, angle) = plane::eigen2(vxx, vyy, vxy);
    let rmajor = 4.0 * l1.max(1.0 / 12.0).sqrt();
    let rminor = 4.0 * l2.max(1.0 / 12.0).sqrt();
    let fill = sw / (std::f64::consts::FRAC_PI_4 * rmajor * rminor);
    let contrast = if bg > 0.0 {
        (span / bg).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut quality = blob_score(contrast, fill, rmajor / rminor.max(1e-9), 5.0);
    if touches {
        quality *= 0.5;
    }
    Some(Refined {
        point: Point::new(mx + x0 as f64, my + y0 as f64),
        major: rmajor,
        minor: rminor,
        angle,
        contrast,
        quality,
    })
}

/// Find the marker-like blob nearest `point` within `radius` and refine it.
pub(crate) fn snap(p: &LumaView<'_>, point: Point, radius: f64) -> Option<Refined> {
    let r = radius.min(4096.0);
    let x0 = (point.x - r).floor().max(0.0) as usize;
    let y0 = (point.y - r).floor().max(0.0) as usize;
    let x1 = ((point.x + r).ceil().max(0.0) as usize)
        .saturating_add(1)
        .min(p.w);
    let y1 = ((point.y + r).ceil().max(0.0) as usize)
        .saturating_add(1)
        .min(p.h);
    if x1 < x0.saturating_add(5) || y1 < y0.saturating_add(5) {
        return None;
    }
    let win = p.crop(x0, y0, x1, y1);
    let mut hist = [0u32; 256];
    for &v in &win.data {
        hist[v as usize] += 1;
    }
    let total = win.data.len() as u32;
    let bg = percentile(&hist, total, 0.6) as f64;
    let fg = percentile(&hist, total, 0.01) as f64;
    if bg - fg < 12.0 {
        return None;
    }
    let level = 0.5 * (bg + fg);
    let mask: Vec<bool> = win.data.iter().map(|&v| (v as f64) < level).collect();
    let mask = plane::open3(&mask, win.w, win.h);
    let bgv = vec![bg as u8; win.data.len()];
    let comps = plane::components(&mask, &win, &bgv, usize::MAX);
    let (px, py) = (point.x - x0 as f64, point.y - y0 as f64);
    let best = comps
        .iter()
        .filter(|c| c.n >= 4.0)
        .map(|c| (c, c.shape()))
        .filter(|(_, s)| s.fill >= 0.5 && s.major / s.minor.max(1e-9) <= 6.0)
        .map(|(c, s)| {
            let d = (s.cx - px).hypot(s.cy - py);
            // Prefer blobs that do not run off the window (whole markers).
            let penalty = if c.border { r } else { 0.0 };
            (s, d + penalty)
        })
        .filter(|(_, d)| *d <= r)
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let s = best.0;
    let refined = refine(p, s.cx + x0 as f64, s.cy + y0 as f64, s.major, s.minor)?;
    (refined.point.distance(point) <= r + 1.0).then_some(refined)
}
