//! Grey-level planes and the low-level operations detection is built on: conversion to luma,
//! box downscaling, local mean by integral image, thresholding and connected components with
//! their moments. Written by hand (rather than with imageproc) so that every pass is a single
//! linear scan over a `&[u8]`, which keeps detection within the decode time of the photo.

use image::{DynamicImage, GrayImage, Luma, RgbImage, RgbaImage};
use std::borrow::Cow;

/// An 8-bit grey plane, row-major, `w × h`.
#[derive(Debug, Clone)]
pub(crate) struct Plane {
    pub w: usize,
    pub h: usize,
    pub data: Vec<u8>,
}

/// Something detection can run on. Implemented for [`DynamicImage`], [`GrayImage`],
/// [`RgbImage`] and [`RgbaImage`]; 8-bit grey, RGB and RGBA pixels are read in place, other pixel
/// types are converted to 8-bit luma first.
pub trait AsLuma {
    /// The image as 8-bit luma (Rec. 601 weights for colour images).
    fn as_luma(&self) -> Cow<'_, GrayImage>;

    /// The pixels as detection reads them, borrowed where possible. Luma is computed only where
    /// needed (box-averaged for the coarse search, at full resolution in small windows).
    fn luma_view(&self) -> LumaView<'_> {
        LumaView::from_gray(self.as_luma())
    }
}

impl AsLuma for GrayImage {
    fn as_luma(&self) -> Cow<'_, GrayImage> {
        Cow::Borrowed(self)
    }
}

/// `AsLuma` for an 8-bit interleaved colour image of `$channels` channels.
macro_rules! interleaved_as_luma {
    ($image:ty, $channels:expr) => {
        impl AsLuma for $image {
            fn as_luma(&self) -> Cow<'_, GrayImage> {
                Cow::Owned(luma_from_interleaved(
                    self.width(),
                    self.height(),
                    self.as_raw(),
                    $channels,
                ))
            }

            fn luma_view(&self) -> LumaView<'_> {
                LumaView::interleaved(self.width(), self.height(), self.as_raw(), $channels)
            }
        }
    };
}

interleaved_as_luma!(RgbImage, 3);
interleaved_as_luma!(RgbaImage, 4);

impl AsLuma for DynamicImage {
    fn as_luma(&self) -> Cow<'_, GrayImage> {
        match self {
            DynamicImage::ImageLuma8(g) => Cow::Borrowed(g),
            DynamicImage::ImageRgb8(rgb) => rgb.as_luma(),
            DynamicImage::ImageRgba8(rgba) => rgba.as_luma(),
            other => Cow::Owned(other.to_luma8()),
        }
    }

    fn luma_view(&self) -> LumaView<'_> {
        match self {
            DynamicImage::ImageRgb8(rgb) => rgb.luma_view(),
            DynamicImage::ImageRgba8(rgba) => rgba.luma_view(),
            _ => LumaView::from_gray(self.as_luma()),
        }
    }
}

impl<T: AsLuma + ?Sized> AsLuma for &T {
    fn as_luma(&self) -> Cow<'_, GrayImage> {
        (**self).as_luma()
    }

    fn luma_view(&self) -> LumaView<'_> {
        (**self).luma_view()
    }
}

/// A view of an image's 8-bit pixels (grey, RGB or RGBA, interleaved), see [`AsLuma::luma_view`].
#[derive(Debug, Clone)]
pub struct LumaView<'a> {
    pub(crate) w: usize,
    pub(crate) h: usize,
    channels: usize,
    data: Cow<'a, [u8]>,
    /// Read as 255 − luma (bright markers become dark ones).
    pub(crate) invert: bool,
}

impl<'a> LumaView<'a> {
    /// Grey pixels.
    pub fn from_gray(g: Cow<'a, GrayImage>) -> Self {
        let (w, h) = (g.width() as usize, g.height() as usize);
        let data = match g {
            Cow::Borrowed(g) => Cow::Borrowed(g.as_raw().as_slice()),
            Cow::Owned(g) => Cow::Owned(g.into_raw()),
        };
        Self {
            w,
            h,
            channels: 1,
            data,
            invert: false,
        }
    }

    fn interleaved(w: u32, h: u32, raw: &'a [u8], channels: usize) -> Self {
        Self {
            w: w as usize,
            h: h as usize,
            channels,
            data: Cow::Borrowed(raw),
            invert: false,
        }
    }

    /// Width and height in pixels.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.w as u32, self.h as u32)
    }

    /// Luma of the rectangle `[x0, x1) × [y0, y1)` (clipped to the image) at full resolution.
    pub(crate) fn crop(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> Plane {
        let (x1, y1) = (x1.min(self.w), y1.min(self.h));
        let (x0, y0) = (x0.min(x1), y0.min(y1));
        let (w, h) = (x1 - x0, y1 - y0);
        let mut data = vec![0u8; w * h];
        let c = self.channels;
        if w > 0 {
            for (y, out) in (y0..y1).zip(data.chunks_exact_mut(w)) {
                let row = &self.data[(y * self.w + x0) * c..(y * self.w + x1) * c];
                match c {
                    1 => out.copy_from_slice(row),
                    3 => luma_row::<3>(row, out),
                    _ => luma_row::<4>(row, out),
                }
            }
        }
        if self.invert {
            data.iter_mut().for_each(|v| *v = 255 - *v);
        }
        Plane { w, h, data }
    }

    /// Luma of the rectangle `[x0, x1) × [y0, y1)` box-averaged over `f × f` blocks (trailing
    /// partial blocks dropped). Channels are summed per block before the luma weights apply
    /// (77 ΣR + 150 ΣG + 29 ΣB, which is the block sum of the weighted pixels).
    pub(crate) fn coarse(&self, x0: usize, y0: usize, x1: usize, y1: usize, f: usize) -> Plane {
        let f = f.max(1);
        let (x1, y1) = (x1.min(self.w), y1.min(self.h));
        let (x0, y0) = (x0.min(x1), y0.min(y1));
        let (w, h) = ((x1 - x0) / f, (y1 - y0) / f);
        if f == 1 {
            return self.crop(x0, y0, x0 + w, y0 + h);
        }
        let mut data = vec![0u8; w * h];
        if w == 0 || h == 0 {
            return Plane { w, h, data };
        }
        if f == 2 && self.channels > 1 {
            // The common case (photos of 800–1600 px): pixel pairs of two rows straight into
            // one accumulator, in 16-bit weights (a block sums to at most 4 × 65 280).
            let mut acc = vec![0u32; w];
            for (by, out) in data.chunks_exact_mut(w).enumerate() {
                acc.fill(0);
                for y in [y0 + 2 * by, y0 + 2 * by + 1] {
                    let start = (y * self.w + x0) * self.channels;
                    let row = &self.data[start..start + 2 * w * self.channels];
                    if self.channels == 3 {
                        pair_sums::<3, 6>(row, &mut acc);
                    } else {
                        pair_sums::<4, 8>(row, &mut acc);
                    }
                }
                for (o, &a) in out.iter_mut().zip(&acc) {
                    let v = ((a / 4 + 128) >> 8).min(255) as u8;
                    *o = if self.invert { 255 - v } else { v };
                }
            }
            return Plane { w, h, data };
        }
        let area = (f * f) as u64;
        // One block row at a time: weighted pixel values of a source row, then block sums.
        let mut weighted = vec![0u32; w * f];
        let mut acc = vec![0u64; w];
        for (by, out) in data.chunks_exact_mut(w).enumerate() {
            acc.fill(0);
            for y in y0 + by * f..y0 + (by + 1) * f {
                let start = (y * self.w + x0) * self.channels;
                let row = &self.data[start..start + w * f * self.channels];
                match self.channels {
                    1 => weighted
                        .iter_mut()
                        .zip(row)
                        .for_each(|(o, &v)| *o = v as u32),
                    3 => weighted_row::<3>(row, &mut weighted),
                    _ => weighted_row::<4>(row, &mut weighted),
                }
                if f == 2 {
                    let (pairs, _) = weighted.as_chunks::<2>();
                    for (a, pair) in acc.iter_mut().zip(pairs) {
                        *a += (pair[0] + pair[1]) as u64;
                    }
                } else {
                    for (a, block) in acc.iter_mut().zip(weighted.chunks_exact(f)) {
                        *a += block.iter().map(|&v| v as u64).sum::<u64>();
                    }
                }
            }
            for (o, &a) in out.iter_mut().zip(&acc) {
                let v = if self.channels == 1 {
                    (a + area / 2) / area
                } else {
                    (a / area + 128) >> 8
                };
                let v = v.min(255) as u8;
                *o = if self.invert { 255 - v } else { v };
            }
        }
        Plane { w, h, data }
    }
}

/// Luma of a row of `C`-channel pixels.
fn luma_row<const C: usize>(row: &[u8], out: &mut [u8]) {
    let (pixels, _) = row.as_chunks::<C>();
    for (o, px) in out.iter_mut().zip(pixels) {
        *o = ((weighted_u16(px) + 128) >> 8) as u8;
    }
}

/// 77 R + 150 G + 29 B of a row of `C`-channel pixels (luma × 256, before rounding).
fn weighted_row<const C: usize>(row: &[u8], out: &mut [u32]) {
    let (pixels, _) = row.as_chunks::<C>();
    for (o, px) in out.iter_mut().zip(pixels) {
        *o = weighted_u16(px) as u32;
    }
}

/// Adds the weighted luma of each horizontal pixel pair of a row of `C`-channel pixels (`P` =
/// 2 `C` bytes) to `acc`.
fn pair_sums<const C: usize, const P: usize>(row: &[u8], acc: &mut [u32]) {
    let (pairs, _) = row.as_chunks::<P>();
    for (a, p) in acc.iter_mut().zip(pairs) {
        *a += weighted_u16(&p[..C]) as u32 + weighted_u16(&p[C..]) as u32;
    }
}

/// 77 R + 150 G + 29 B in 16-bit arithmetic (at most 65 280, + 128 still fits), which the
/// compiler vectorises even for baseline x86-64 (SSE2 has 16-bit but no 32-bit multiplies).
#[inline]
fn weighted_u16(px: &[u8]) -> u16 {
    77 * px[0] as u16 + 150 * px[1] as u16 + 29 * px[2] as u16
}

/// Fast integer Rec. 601 luma of one RGB(A) pixel: (77 R + 150 G + 29 B + 128) / 256.
#[inline]
fn luma_of(px: &[u8]) -> u8 {
    ((77 * px[0] as u32 + 150 * px[1] as u32 + 29 * px[2] as u32 + 128) >> 8) as u8
}

/// [`luma_of`] for every pixel of an interleaved buffer.
fn luma_from_interleaved(w: u32, h: u32, raw: &[u8], channels: usize) -> GrayImage {
    let data: Vec<u8> = raw.chunks_exact(channels).map(luma_of).collect();
    GrayImage::from_raw(w, h, data).unwrap_or_else(|| GrayImage::from_pixel(w, h, Luma([0])))
}

/// Summed-area table of a plane, `(w + 1) × (h + 1)`, for O(1) box means. `u32` is enough for
/// planes up to 16.8 million pixels; larger ones are downscaled before they get here.
#[derive(Debug)]
pub(crate) struct Integral {
    w1: usize,
    sums: Vec<u32>,
}

impl Integral {
    pub fn new(p: &Plane) -> Self {
        let w1 = p.w + 1;
        let mut sums = vec![0u32; w1 * (p.h + 1)];
        for y in 0..p.h {
            let mut row = 0u32;
            let src = &p.data[y * p.w..(y + 1) * p.w];
            let (prev, cur) = sums.split_at_mut((y + 1) * w1);
            let prev = &prev[y * w1 + 1..y * w1 + w1];
            let cur = &mut cur[1..w1];
            for ((c, &above), &v) in cur.iter_mut().zip(prev).zip(src) {
                row = row.wrapping_add(v as u32);
                *c = above.wrapping_add(row);
            }
        }
        Self { w1, sums }
    }

    /// Sum over `[x0, x1) × [y0, y1)`.
    #[inline]
    pub fn sum(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> u32 {
        let s = &self.sums;
        s[y1 * self.w1 + x1]
            .wrapping_sub(s[y0 * self.w1 + x1])
            .wrapping_sub(s[y1 * self.w1 + x0])
            .wrapping_add(s[y0 * self.w1 + x0])
    }
}

/// Local mean of `p` over a `(2r+1)²` window clipped at the borders. For large windows the
/// mean is evaluated once per block of `r/6` pixels (the background varies slowly at that scale),
/// which keeps this a small fraction of the detection time. Running column sums follow the
/// window down the image (each row is added and removed once) and a prefix sum along each
/// evaluated row gives the window sums: O(1) per pixel and no full-size summed-area table.
pub(crate) fn local_mean(p: &Plane, r: usize) -> Vec<u8> {
    let (w, h) = (p.w, p.h);
    let g = (r / 6).max(1);
    let mut out = vec![0u8; w * h];
    if w == 0 || h == 0 {
        return out;
    }
    // Column sums over the rows [lo, hi).
    let mut cols = vec![0u32; w];
    let (mut lo, mut hi) = (0usize, 0usize);
    let mut prefix = vec![0u64; w + 1];
    let mut row = vec![0u8; w];
    for by in (0..h).step_by(g) {
        let cy = (by + g / 2).min(h - 1);
        let (y0, y1) = (cy.saturating_sub(r), (cy + r + 1).min(h));
        while hi < y1 {
            for (c, &v) in cols.iter_mut().zip(&p.data[hi * w..(hi + 1) * w]) {
                *c += v as u32;
            }
            hi += 1;
        }
        while lo < y0 {
            for (c, &v) in cols.iter_mut().zip(&p.data[lo * w..(lo + 1) * w]) {
                *c -= v as u32;
            }
            lo += 1;
        }
        let rows = (y1 - y0) as u64;
        for x in 0..w {
            prefix[x + 1] = prefix[x] + cols[x] as u64;
        }
        // Away from the left and right borders every window has the same pixel count: divide
        // by multiplying with its reciprocal.
        let n_full = (2 * r + 1) as u64 * rows;
        let inv_full = 1.0 / n_full as f64;
        let mean_at = |cx: usize| {
            let (x0, x1) = (cx.saturating_sub(r), (cx + r + 1).min(w));
            let s = prefix[x1] - prefix[x0];
            if x1 - x0 == 2 * r + 1 {
                rounded_div_by(s, n_full, inv_full) as u8
            } else {
                let n = (x1 - x0) as u64 * rows;
                rounded_div_by(s, n, 1.0 / n as f64) as u8
            }
        };
        for (b, chunk) in row.chunks_mut(g).enumerate() {
            let v = mean_at((b * g + g / 2).min(w - 1));
            for o in chunk {
                *o = v;
            }
        }
        for y in by..(by + g).min(h) {
            out[y * w..(y + 1) * w].copy_from_slice(&row);
        }
    }
    out
}

/// `(s + n/2) / n` exactly.
#[cfg(test)]
fn rounded_div(s: u64, n: u64) -> u64 {
    rounded_div_by(s, n, 1.0 / n as f64)
}

/// `(s + n/2) / n` in integers (`n > 0`, both below 2⁵³) given `inv_n` ≈ 1 / `n`: a
/// floating-point multiply, then the quotient corrected to the exact one (a 64-bit integer
/// division costs ten times more).
#[inline]
fn rounded_div_by(s: u64, n: u64, inv_n: f64) -> u64 {
    let t = s + n / 2;
    // Through i64: f64 → u64 conversion is a branchy sequence on x86-64, f64 → i64 one instruction.
    let mut q = (t as f64 * inv_n) as i64 as u64;
    if q * n > t {
        q -= 1;
    } else if (q + 1) * n <= t {
        q += 1;
    }
    q
}

/// Dark-pixel mask: `bg − v ≥ max(abs_min, rel · bg)` where `bg` is the local mean.
pub(crate) fn dark_mask(p: &Plane, bg: &[u8], abs_min: u8, rel: f32) -> Vec<bool> {
    p.data
        .iter()
        .zip(bg)
        .map(|(&v, &b)| {
            let need = (abs_min as f32).max(rel * b as f32);
            (b as f32 - v as f32) >= need
        })
        .collect()
}

/// Moments and extent of one connected component. Pixel coordinates are pixel centres.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Component {
    pub n: f64,
    pub sx: f64,
    pub sy: f64,
    pub sxx: f64,
    pub syy: f64,
    pub sxy: f64,
    /// Σ of (local background − value) over the component.
    pub dark: f64,
    /// Σ of the local background over the component.
    pub bg: f64,
    /// Intensity-weighted sums (weight = background − value, clamped at 0).
    pub wsum: f64,
    pub wx: f64,
    pub wy: f64,
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
    pub border: bool,
}

/// Shape of a component from its second moments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub cx: f64,
    pub cy: f64,
    /// Full length of the major / minor axis of the ellipse with the same second moments.
    pub major: f64,
    pub minor: f64,
    /// Direction of the major axis, radians, in (−π/2, π/2].
    pub angle: f64,
    /// Area / area of that ellipse: ≈ 1 for filled ellipses, lower for rings, combs, glyphs.
    pub fill: f64,
}

impl Component {
    pub fn shape(&self) -> Shape {
        let n = self.n.max(1.0);
        let cx = self.sx / n;
        let cy = self.sy / n;
        // Pixel-sampled variance carries +1/12 of the pixel's own extent; remove it.
        let vxx = (self.sxx / n - cx * cx).max(0.0);
        let vyy = (self.syy / n - cy * cy).max(0.0);
        let vxy = self.sxy / n - cx * cy;
        let (l1, l2, angle) = eigen2(vxx, vyy, vxy);
        let major = 4.0 * l1.max(1.0 / 12.0).sqrt();
        let minor = 4.0 * l2.max(1.0 / 12.0).sqrt();
        let fill = self.n / (std::f64::consts::FRAC_PI_4 * major * minor);
        Shape {
            cx,
            cy,
            major,
            minor,
            angle,
            fill,
        }
    }

    /// Mean (background − value) / background: 1 for a black blob, 0 for none.
    pub fn contrast(&self) -> f64 {
        if self.bg <= 0.0 {
            0.0
        } else {
            (self.dark / self.bg).clamp(0.0, 1.0)
        }
    }

    fn merge(&mut self, o: &Component) {
        self.n += o.n;
        self.sx += o.sx;
        self.sy += o.sy;
        self.sxx += o.sxx;
        self.syy += o.syy;
        self.sxy += o.sxy;
        self.dark += o.dark;
        self.bg += o.bg;
        self.wsum += o.wsum;
        self.wx += o.wx;
        self.wy += o.wy;
        self.x0 = self.x0.min(o.x0);
        self.y0 = self.y0.min(o.y0);
        self.x1 = self.x1.max(o.x1);
        self.y1 = self.y1.max(o.y1);
        self.border |= o.border;
    }
}

/// Eigenvalues (l1 ≥ l2) of [[a, c], [c, b]] and the angle of the first eigenvector.
pub(crate) fn eigen2(a: f64, b: f64, c: f64) -> (f64, f64, f64) {
    let m = 0.5 * (a + b);
    let d = (0.25 * (a - b) * (a - b) + c * c).sqrt();
    let angle = 0.5 * (2.0 * c).atan2(a - b);
    (m + d, (m - d).max(0.0), angle)
}

/// A horizontal run of mask pixels `[x0, x1)` on row `y`.
#[derive(Debug, Clone, Copy)]
struct Run {
    y: usize,
    x0: usize,
    x1: usize,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi] = lo;
    }
}

/// 8-connected components of `mask` (`w × h`) with their moments. `p` and `bg` give the values
/// and local background for the contrast sums. At most `max_runs` horizontal runs are read, which
/// bounds the work on pathological masks; the rows beyond are ignored.
pub(crate) fn components(mask: &[bool], p: &Plane, bg: &[u8], max_runs: usize) -> Vec<Component> {
    components_impl(mask, p, bg, max_runs, None)
}

/// [`components`], also writing each pixel's component number + 1 (0 = background) to `labels`.
pub(crate) fn components_labelled(
    mask: &[bool],
    p: &Plane,
    bg: &[u8],
    labels: &mut Vec<u32>,
) -> Vec<Component> {
    components_impl(mask, p, bg, usize::MAX, Some(labels))
}

fn components_impl(
    mask: &[bool],
    p: &Plane,
    bg: &[u8],
    max_runs: usize,
    mut labels: Option<&mut Vec<u32>>,
) -> Vec<Component> {
    let (w, h) = (p.w, p.h);
    let mut runs: Vec<Run> = Vec::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut prev_start = 0usize;
    let mut prev_end = 0usize;
    'rows: for y in 0..h {
        let row = &mask[y * w..(y + 1) * w];
        let cur_start = runs.len();
        let mut x = 0;
        while x < w {
            if !row[x] {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < w && row[x] {
                x += 1;
            }
            let id = runs.len();
            if id >= max_runs {
                break 'rows;
            }
            runs.push(Run { y, x0, x1: x });
            parent.push(id);
            // 8-connectivity: previous-row runs overlapping [x0 − 1, x + 1).
            for (j, r) in runs.iter().enumerate().take(prev_end).skip(prev_start) {
                if r.x1 + 1 > x0 && r.x0 < x + 1 {
                    union(&mut parent, id, j);
                }
            }
        }
        prev_start = cur_start;
        prev_end = runs.len();
    }
    if let Some(l) = labels.as_deref_mut() {
        l.clear();
        l.resize(w * h, 0);
    }
    let mut index_of_root = vec![usize::MAX; runs.len()];
    let mut comps: Vec<Component> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let root = find(&mut parent, i);
        let mut c = Component {
            x0: r.x0,
            x1: r.x1 - 1,
            y0: r.y,
            y1: r.y,
            border: r.x0 == 0 || r.x1 == w || r.y == 0 || r.y + 1 == h,
            ..Component::default()
        };
        // Integer sums over the run (exact, so identical to summing f64 pixel by pixel), with
        // the coordinate moments in closed form.
        let yf = r.y as f64;
        let base = r.y * w;
        let (mut dark, mut bgs, mut wsum, mut wx) = (0i64, 0u64, 0u64, 0u64);
        for ((x, &v), &b) in (r.x0..r.x1)
            .zip(&p.data[base + r.x0..base + r.x1])
            .zip(&bg[base + r.x0..base + r.x1])
        {
            let d = b.saturating_sub(v) as u64;
            dark += b as i64 - v as i64;
            bgs += b as u64;
            wsum += d;
            wx += d * x as u64;
        }
        let (a, z) = (r.x0 as u64, r.x1 as u64);
        // Σ x and Σ x² over [a, z): differences of the sums over [0, z) and [0, a).
        let s1 = |k: u64| k * k.saturating_sub(1) / 2;
        let s2 = |k: u64| {
            let k = k as u128;
            (k * k.saturating_sub(1) * (2 * k).saturating_sub(1) / 6) as f64
        };
        c.n = (z - a) as f64;
        c.sx = (s1(z) - s1(a)) as f64;
        c.sxx = s2(z) - s2(a);
        c.sxy = c.sx * yf;
        c.dark = dark as f64;
        c.bg = bgs as f64;
        c.wsum = wsum as f64;
        c.wx = wx as f64;
        c.wy = c.wsum * yf;
        c.sy = yf * c.n;
        c.syy = yf * yf * c.n;
        let slot = &mut index_of_root[root];
        if *slot == usize::MAX {
            *slot = comps.len();
            comps.push(c);
        } else {
            comps[*slot].merge(&c);
        }
        if let Some(l) = labels.as_deref_mut() {
            let id = *slot as u32 + 1;
            l[base + r.x0..base + r.x1].iter_mut().for_each(|v| *v = id);
        }
    }
    comps
}

/// Fast 3×3 opening of a whole-image mask (erode then dilate; outside counts as unset).
pub(crate) fn open3(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    let e = pass3(mask, w, h, true);
    pass3(&e, w, h, false)
}

fn pass3(m: &[bool], w: usize, h: usize, erode: bool) -> Vec<bool> {
    let mut horiz = vec![false; w * h];
    if w >= 3 {
        for y in 0..h {
            let row = &m[y * w..(y + 1) * w];
            let out = &mut horiz[y * w..(y + 1) * w];
            for x in 1..w - 1 {
                out[x] = if erode {
                    row[x - 1] & row[x] & row[x + 1]
                } else {
                    row[x - 1] | row[x] | row[x + 1]
                };
            }
            if !erode {
                out[0] = row[0] | row[1];
                out[w - 1] = row[w - 1] | row[w - 2];
            }
        }
    }
    let mut out = vec![false; w * h];
    if h >= 3 {
        for y in 1..h - 1 {
            for x in 0..w {
                let (a, b, c) = (
                    horiz[(y - 1) * w + x],
                    horiz[y * w + x],
                    horiz[(y + 1) * w + x],
                );
                out[y * w + x] = if erode { a & b & c } else { a | b | c };
            }
        }
        if !erode {
            for x in 0..w {
                out[x] = horiz[x] | horiz[w + x];
                out[(h - 1) * w + x] = horiz[(h - 1) * w + x] | horiz[(h - 2) * w + x];
            }
        }
    }
    out
}

/// Binary erosion then dilation (opening) of a small mask with a square of half-size `r`.
/// Removes lines thinner than `2r + 1` px, such as a contact line touching a marker.
pub(crate) fn open_mask(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    if r == 0 {
        return mask.to_vec();
    }
    let eroded = morph(mask, w, h, r, true);
    morph(&eroded, w, h, r, false)
}

/// Dilation of a small mask with a square of half-size `r`.
pub(crate) fn dilate_mask(mask: &[bool], w: usize, h: usize, r: usize) -> Vec<bool> {
    morph(mask, w, h, r, false)
}

/// Separable square erosion (`erode = true`: all set) or dilation (any set). Outside the window
/// counts as unset. Sliding counts make each pass O(1) per pixel whatever `r` is: a pixel's
/// output is decided by how many of the `2r + 1` pixels around it (fewer at a clipped border)
/// are set.
fn morph(mask: &[bool], w: usize, h: usize, r: usize, erode: bool) -> Vec<bool> {
    let full = 2 * r + 1;
    let decide = |count: usize| if erode { count == full } else { count > 0 };
    let mut horiz = vec![false; w * h];
    for (row, out) in mask.chunks_exact(w).zip(horiz.chunks_exact_mut(w)) {
        let mut count: usize = row[..r.min(w)].iter().map(|&v| v as usize).sum();
        for x in 0..w {
            if x + r < w {
                count += row[x + r] as usize;
            }
            if x > r {
                count -= row[x - r - 1] as usize;
            }
            out[x] = decide(count);
        }
    }
    let mut out = vec![false; w * h];
    let mut counts = vec![0usize; w];
    let add = |counts: &mut [usize], y: usize, sign: bool| {
        for (c, &v) in counts.iter_mut().zip(&horiz[y * w..(y + 1) * w]) {
            if sign {
                *c += v as usize;
            } else {
                *c -= v as usize;
            }
        }
    };
    for y in 0..r.min(h) {
        add(&mut counts, y, true);
    }
    for y in 0..h {
        if y + r < h {
            add(&mut counts, y + r, true);
        }
        if y > r {
            add(&mut counts, y - r - 1, false);
        }
        for (o, &c) in out[y * w..(y + 1) * w].iter_mut().zip(&counts) {
            *o = decide(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Plane {
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                data.push(f(x, y));
            }
        }
        Plane { w, h, data }
    }

    #[test]
    fn detect_plane_rounded_division_is_exact() {
        for n in 1..300u64 {
            for s in (0..5000u64).chain([u32::MAX as u64, (1u64 << 52) - 1]) {
                assert_eq!(rounded_div(s, n), (s + n / 2) / n, "{s} / {n}");
            }
        }
    }

    proptest::proptest! {
        /// Every pixel's local mean is the rounded mean of its clipped window, evaluated at the
        /// centre of its `r/6` block when that is larger than a pixel.
        #[test]
        fn detect_plane_local_mean_matches_the_summed_area_table(
            w in 1usize..70,
            h in 1usize..70,
            r in 1usize..30,
            seed in proptest::prelude::any::<u32>(),
        ) {
            let p = plane(w, h, |x, y| ((x * 37 + y * 101 + seed as usize) % 256) as u8);
            let integral = Integral::new(&p);
            let g = (r / 6).max(1);
            let m = local_mean(&p, r);
            for y in 0..h {
                for x in 0..w {
                    let cy = ((y / g) * g + g / 2).min(h - 1);
                    let cx = ((x / g) * g + g / 2).min(w - 1);
                    let (x0, x1) = (cx.saturating_sub(r), (cx + r + 1).min(w));
                    let (y0, y1) = (cy.saturating_sub(r), (cy + r + 1).min(h));
                    let n = ((x1 - x0) * (y1 - y0)) as u32;
                    let want = ((integral.sum(x0, y0, x1, y1) + n / 2) / n) as u8;
                    proptest::prop_assert_eq!(m[y * w + x], want, "at ({}, {})", x, y);
                }
            }
        }
    }

    #[test]
    fn detect_plane_integral_and_local_mean() {
        let p = plane(7, 5, |x, y| (x + 10 * y) as u8);
        let integral = Integral::new(&p);
        let direct: u32 = (1..4)
            .flat_map(|y| (2..6).map(move |x| (x + 10 * y) as u32))
            .sum();
        assert_eq!(integral.sum(2, 1, 6, 4), direct);
        let m = local_mean(&plane(9, 9, |_, _| 80), 2);
        assert!(m.iter().all(|&v| v == 80));
    }

    #[test]
    fn detect_plane_components_moments_of_a_disc() {
        let p = plane(40, 40, |x, y| {
            let (dx, dy) = (x as f64 - 20.0, y as f64 - 15.0);
            if dx * dx / 100.0 + dy * dy / 25.0 <= 1.0 {
                0
            } else {
                200
            }
        });
        let bg = vec![200u8; 1600];
        let mask = dark_mask(&p, &bg, 20, 0.2);
        let comps = components(&mask, &p, &bg, usize::MAX);
        assert_eq!(comps.len(), 1);
        let s = comps[0].shape();
        assert!((s.cx - 20.0).abs() < 1e-9 && (s.cy - 15.0).abs() < 1e-9);
        assert!((s.major - 20.0).abs() < 1.0, "major {}", s.major);
        assert!((s.minor - 10.0).abs() < 1.0, "minor {}", s.minor);
        assert!(s.angle.abs() < 1e-9);
        assert!(s.fill > 0.9 && s.fill < 1.1);
        assert!((comps[0].contrast() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn detect_plane_components_are_eight_connected_and_separate() {
        // Two diagonal-touching pixels form one component; a distant pixel another.
        let mut mask = vec![false; 25];
        mask[0] = true;
        mask[6] = true;
        mask[24] = true;
        let p = plane(5, 5, |_, _| 0);
        let comps = components(&mask, &p, &[10; 25], usize::MAX);
        assert_eq!(comps.len(), 2);
        assert!(comps.iter().any(|c| c.n == 2.0 && c.border));
    }

    /// The definition: a pixel of the eroded (dilated) mask is set when every (any) pixel of the
    /// `(2r + 1)²` square around it is set, outside the mask counting as unset.
    fn morph_by_definition(mask: &[bool], w: usize, h: usize, r: usize, erode: bool) -> Vec<bool> {
        let mut out = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut all = true;
                let mut any = false;
                for dy in -(r as i64)..=r as i64 {
                    for dx in -(r as i64)..=r as i64 {
                        let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                        let v = xx >= 0
                            && yy >= 0
                            && xx < w as i64
                            && yy < h as i64
                            && mask[yy as usize * w + xx as usize];
                        all &= v;
                        any |= v;
                    }
                }
                out[y * w + x] = if erode { all } else { any };
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn detect_plane_morphology_matches_its_definition(
            w in 1usize..24,
            h in 1usize..24,
            r in 0usize..6,
            density in 0.0f64..1.0,
            seed in proptest::prelude::any::<u64>(),
        ) {
            let mut state = seed | 1;
            let mask: Vec<bool> = (0..w * h)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 1000) as f64 / 1000.0 < density
                })
                .collect();
            for erode in [true, false] {
                proptest::prop_assert_eq!(
                    morph(&mask, w, h, r, erode),
                    morph_by_definition(&mask, w, h, r, erode)
                );
            }
            if w >= 3 && h >= 3 {
                proptest::prop_assert_eq!(open3(&mask, w, h), open_mask(&mask, w, h, 1));
            }
        }
    }

    #[test]
    fn detect_plane_opening_removes_thin_lines() {
        let (w, h) = (30, 20);
        let mut mask = vec![false; w * h];
        for y in 5..15 {
            for x in 5..15 {
                mask[y * w + x] = true;
            }
        }
        for x in 0..w {
            mask[16 * w + x] = true;
        }
        let opened = open_mask(&mask, w, h, 1);
        assert!(opened[10 * w + 10]);
        assert!(!opened[16 * w + 25]);
        let dilated = dilate_mask(&opened, w, h, 1);
        assert!(dilated[4 * w + 10] && !dilated[3 * w + 10]);
    }

    proptest::proptest! {
        /// Every fast path of `coarse` (grey, RGB, RGBA; f = 1, 2, larger; an offset window;
        /// inverted) gives the block mean of the definition.
        #[test]
        fn detect_plane_coarse_matches_its_definition(
            w in 1usize..40,
            h in 1usize..40,
            f in 1usize..5,
            x0 in 0usize..5,
            y0 in 0usize..5,
            invert in proptest::prelude::any::<bool>(),
            seed in proptest::prelude::any::<u32>(),
        ) {
            let val = |x: u32, y: u32, c: u32| ((x * 31 + y * 57 + c * 101 + seed) % 256) as u8;
            let rgba = RgbaImage::from_fn(w as u32, h as u32, |x, y| {
                image::Rgba([val(x, y, 0), val(x, y, 1), val(x, y, 2), val(x, y, 3)])
            });
            let rgb = image::DynamicImage::ImageRgba8(rgba.clone()).to_rgb8();
            let gray = GrayImage::from_fn(w as u32, h as u32, |x, y| Luma([val(x, y, 0)]));
            for (mut view, colour) in [(rgba.luma_view(), true), (rgb.luma_view(), true), (gray.luma_view(), false)] {
                view.invert = invert;
                let got = view.coarse(x0, y0, w, h, f);
                let (x0, y0) = (x0.min(w), y0.min(h));
                let (cw, ch) = ((w - x0) / f, (h - y0) / f);
                proptest::prop_assert_eq!((got.w, got.h), (cw, ch));
                for by in 0..ch {
                    for bx in 0..cw {
                        let mut sum = 0u64;
                        for y in y0 + by * f..y0 + (by + 1) * f {
                            for x in x0 + bx * f..x0 + (bx + 1) * f {
                                let (x, y) = (x as u32, y as u32);
                                sum += if colour {
                                    77 * val(x, y, 0) as u64 + 150 * val(x, y, 1) as u64 + 29 * val(x, y, 2) as u64
                                } else {
                                    val(x, y, 0) as u64
                                };
                            }
                        }
                        let area = (f * f) as u64;
                        let v = if !colour {
                            (sum + area / 2) / area
                        } else if f == 1 {
                            (sum + 128) >> 8
                        } else {
                            (sum / area + 128) >> 8
                        } as u8;
                        let v = if invert { 255 - v } else { v };
                        proptest::prop_assert_eq!(got.data[by * cw + bx], v, "block ({}, {})", bx, by);
                    }
                }
            }
        }
    }

    #[test]
    fn detect_plane_coarse_view_averages_luma_blocks() {
        let rgb = RgbImage::from_fn(5, 4, |x, _| {
            if x % 2 == 0 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([100, 100, 100])
            }
        });
        let view = rgb.luma_view();
        let d = view.coarse(0, 0, 5, 4, 2);
        assert_eq!((d.w, d.h), (2, 2));
        assert!(d.data.iter().all(|&v| v == 50), "{:?}", d.data);
        let full = view.crop(1, 1, 3, 2);
        assert_eq!(full.data, vec![100, 0]);
        let mut inverted = view.clone();
        inverted.invert = true;
        assert_eq!(inverted.crop(1, 1, 2, 2).data, vec![155]);
        let gray = GrayImage::from_fn(4, 4, |x, y| Luma([(x + 4 * y) as u8]));
        let g = gray.luma_view().coarse(0, 0, 4, 4, 2);
        assert_eq!(g.data, vec![3, 5, 11, 13]);
    }
}
