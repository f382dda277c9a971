//! Synthetic test photos with known marker centres and a known ruler, deterministic from a seed.
//!
//! A scene is a lighter specimen on a grey background with five dark elliptical markers
//! (corners of a quadrilateral around a centre marker), optionally a steel-grey ruler with
//! millimetre ticks (longer every 5 and 10 mm, half-millimetre ticks on one edge, blocky digits)
//! and distractors (specks, a dark contact line, a soft shadow). The pattern is rotated, put in
//! perspective and the lower markers squashed; the picture is then unevenly lit, blurred and
//! given Gaussian noise.
//!
//! Every shape is drawn with exact area coverage (8×8 supersampling of the boundary pixels), and
//! each marker ellipse is drawn centred on the true (perspective-mapped) centre, so
//! [`SynthImage::markers`] is the centre of what is drawn, not an approximation.

pub(super) use super::canvas::Canvas;
use crate::points::Point;
use image::GrayImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod ruler;

use ruler::draw_ruler;
pub(in crate::detect) use ruler::{RulerLook, paint_ruler, subdivided};

/// What to draw. Ranges are `[low, high]`, sampled uniformly per image.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    pub width: u32,
    pub height: u32,
    /// Diameter of the (unsquashed) markers, px.
    pub marker_diameter: [f64; 2],
    /// Height / width of the bottom and centre markers (1 = round, 0.35 = flat ellipse).
    pub squash: [f64; 2],
    /// Largest rotation of the pattern, degrees (either way).
    pub max_rotation_deg: f64,
    /// Strength of the perspective distortion of the pattern (0 = none, 0.15 = strong).
    pub perspective: f64,
    /// Gaussian blur sigma, px.
    pub blur_sigma: [f64; 2],
    /// Gaussian noise sigma, grey levels.
    pub noise_sigma: [f64; 2],
    /// Amplitude of the multiplicative lighting variation across the image (0..0.5).
    pub lighting: f64,
    /// Draw a ruler to the right of the specimen.
    pub ruler: bool,
    /// Number of random dark specks, plus a contact line and a soft shadow when non-zero.
    pub distractors: usize,
    /// How many markers to draw (5 normally; fewer for degenerate tests: 0 TL, 1 TR, … first).
    pub marker_count: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            marker_diameter: [14.0, 30.0],
            squash: [0.4, 1.0],
            max_rotation_deg: 20.0,
            perspective: 0.1,
            blur_sigma: [0.4, 1.5],
            noise_sigma: [1.0, 6.0],
            lighting: 0.3,
            ruler: true,
            distractors: 12,
            marker_count: 5,
        }
    }
}

/// The ruler drawn in a synthetic image: a projective map from ruler millimetres
/// (along the graduation, across from the ticked edge) to image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthRuler {
    /// Row-major 3×3 homography (along_mm, across_mm, 1) → (x, y, w).
    pub homography: [f64; 9],
    /// Graduation drawn from 0 to this many mm.
    pub length_mm: f64,
    /// Width of the ruler, mm.
    pub width_mm: f64,
    /// Whether the left edge carries half-millimetre ticks.
    pub half_mm: bool,
}

impl SynthRuler {
    /// Image position of a ruler point.
    pub fn to_image(&self, along_mm: f64, across_mm: f64) -> Point {
        let h = &self.homography;
        let w = h[6] * along_mm + h[7] * across_mm + h[8];
        Point::new(
            (h[0] * along_mm + h[1] * across_mm + h[2]) / w,
            (h[3] * along_mm + h[4] * across_mm + h[5]) / w,
        )
    }

    /// Ruler coordinates (along, across) in mm of an image point.
    pub fn to_ruler(&self, p: Point) -> (f64, f64) {
        let inv = invert3(&self.homography);
        let w = inv[6] * p.x + inv[7] * p.y + inv[8];
        (
            (inv[0] * p.x + inv[1] * p.y + inv[2]) / w,
            (inv[3] * p.x + inv[4] * p.y + inv[5]) / w,
        )
    }
}

/// A synthetic photo and its truth.
#[derive(Debug, Clone)]
pub struct SynthImage {
    pub image: GrayImage,
    /// True marker centres, 0 TL, 1 TR, 2 BR, 3 BL, 4 centre (all five, even when fewer are
    /// drawn).
    pub markers: [Point; 5],
    pub ruler: Option<SynthRuler>,
}

fn invert3(m: &[f64; 9]) -> [f64; 9] {
    let [a, b, c, d, e, f, g, h, i] = *m;
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    let s = if det.abs() < 1e-300 { 0.0 } else { 1.0 / det };
    [
        (e * i - f * h) * s,
        (c * h - b * i) * s,
        (b * f - c * e) * s,
        (f * g - d * i) * s,
        (a * i - c * g) * s,
        (c * d - a * f) * s,
        (d * h - e * g) * s,
        (b * g - a * h) * s,
        (a * e - b * d) * s,
    ]
}

pub(super) fn mul3(a: &[f64; 9], b: &[f64; 9]) -> [f64; 9] {
    let mut out = [0.0; 9];
    for r in 0..3 {
        for c in 0..3 {
            out[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
        }
    }
    out
}

pub(super) fn apply_h(h: &[f64; 9], x: f64, y: f64) -> (f64, f64) {
    let w = h[6] * x + h[7] * y + h[8];
    (
        (h[0] * x + h[1] * y + h[2]) / w,
        (h[3] * x + h[4] * y + h[5]) / w,
    )
}

pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(1e-12..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn range(rng: &mut ChaCha8Rng, r: [f64; 2]) -> f64 {
    if r[1] > r[0] {
        rng.random_range(r[0]..r[1])
    } else {
        r[0]
    }
}

/// Draw one synthetic photo.
pub fn generate(seed: u64, cfg: &SynthConfig) -> SynthImage {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (w, h) = (cfg.width.max(32) as usize, cfg.height.max(32) as usize);
    let (wf, hf) = (w as f64, h as f64);
    let background = rng.random_range(120.0..160.0) as f32;
    let mut c = Canvas {
        w,
        h,
        px: vec![background; w * h],
    };
    // Pattern geometry in its own frame.
    let diameter = range(&mut rng, cfg.marker_diameter);
    let short = wf.min(hf);
    let half_w = rng.random_range(0.13..0.2) * short.min(0.6 * wf);
    let half_h = half_w * rng.random_range(0.8..1.6);
    let half_h = half_h.min(0.3 * hf);
    let jitter = |rng: &mut ChaCha8Rng, s: f64| rng.random_range(-s..s);
    let mut local = [
        (-half_w, -half_h),
        (half_w, -half_h),
        (half_w, half_h),
        (-half_w, half_h),
        (0.0, 0.0),
    ];
    for p in local.iter_mut().take(4) {
        p.0 += jitter(&mut rng, 0.06 * half_w);
        p.1 += jitter(&mut rng, 0.06 * half_h);
    }
    local[4].0 += jitter(&mut rng, 0.1 * half_w);
    local[4].1 += jitter(&mut rng, 0.15 * half_h);
    let rot = jitter(&mut rng, cfg.max_rotation_deg.max(1e-9)).to_radians();
    let centre = (
        rng.random_range(0.3..0.36) * wf + if cfg.ruler { 0.0 } else { 0.15 * wf },
        rng.random_range(0.45..0.55) * hf,
    );
    let ps = cfg.perspective / (half_w + half_h);
    let (p1, p2) = (
        jitter(&mut rng, ps.max(1e-12)),
        jitter(&mut rng, ps.max(1e-12)),
    );
    // Homography: perspective in the pattern frame, then rotation and translation.
    let persp = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, p1, p2, 1.0];
    let (cr, sr) = (rot.cos(), rot.sin());
    let rigid = [cr, -sr, centre.0, sr, cr, centre.1, 0.0, 0.0, 1.0];
    let hm = mul3(&rigid, &persp);
    // Specimen: the pattern's frame rectangle, grown.
    let grow = (half_w + diameter * 1.5, half_h + diameter * 1.5);
    let specimen: Vec<(f64, f64)> = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
        .iter()
        .map(|(sx, sy)| apply_h(&hm, sx * grow.0, sy * grow.1))
        .collect();
    let specimen_level = (background + rng.random_range(35.0..70.0)).min(235.0);
    // A soft shadow on the table (drawn before the specimen, which covers it), away from the
    // markers.
    if cfg.distractors > 0 {
        let centres: Vec<(f64, f64)> = local.iter().map(|&(x, y)| apply_h(&hm, x, y)).collect();
        for _ in 0..20 {
            let sx = rng.random_range(0.05..0.95) * wf;
            let sy = rng.random_range(0.05..0.95) * hf;
            let clear = centres.iter().all(|c| {
                ((c.0 - sx) / (0.12 * short + diameter)).powi(2)
                    + ((c.1 - sy) / (0.05 * short + diameter)).powi(2)
                    > 1.0
            });
            if clear {
                c.ellipse(
                    Point::new(sx, sy),
                    0.12 * short,
                    0.05 * short,
                    0.0,
                    background * 0.8,
                );
                break;
            }
        }
    }
    c.polygon(&specimen, specimen_level);
    // A dark contact line along the specimen's bottom edge.
    if cfg.distractors > 0 {
        let (a, b) = (specimen[3], specimen[2]);
        let t = rng.random_range(1.0..2.5);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy).max(1e-9);
        let (nx, ny) = (-dy / len * t * 0.5, dx / len * t * 0.5);
        c.polygon(
            &[
                (a.0 + nx, a.1 + ny),
                (b.0 + nx, b.1 + ny),
                (b.0 - nx, b.1 - ny),
                (a.0 - nx, a.1 - ny),
            ],
            50.0,
        );
    }
    // Markers: ellipses centred on the mapped centres, shaped by the local Jacobian.
    let mut truth = [Point::default(); 5];
    let marker_level = rng.random_range(10.0..45.0) as f32;
    for (i, &(lx, ly)) in local.iter().enumerate() {
        let (x, y) = apply_h(&hm, lx, ly);
        truth[i] = Point::new(x, y);
        if i >= cfg.marker_count {
            continue;
        }
        // Squashed markers keep a height of at least 7 px (the demo's flattest is 12 px).
        let squash = if i == 0 || i == 1 {
            rng.random_range(0.85..1.0)
        } else {
            range(&mut rng, cfg.squash).max(7.0 / diameter)
        };
        let r = 0.5 * diameter * rng.random_range(0.9..1.1);
        // Local Jacobian of the homography at the marker.
        let e = 1e-3;
        let (xa, ya) = apply_h(&hm, lx + e, ly);
        let (xb, yb) = apply_h(&hm, lx, ly + e);
        let j = [(xa - x) / e, (xb - x) / e, (ya - y) / e, (yb - y) / e];
        // Ellipse in the pattern frame: semi-axes r (x) and r·squash (y), turned a little.
        let tilt: f64 = rng.random_range(-0.2..0.2);
        let (ct, st) = (tilt.cos(), tilt.sin());
        let m = [r * ct, -r * squash * st, r * st, r * squash * ct];
        // Image-space shape matrix A = J·M; the ellipse is {A u : |u| ≤ 1}.
        let a = [
            j[0] * m[0] + j[1] * m[2],
            j[0] * m[1] + j[1] * m[3],
            j[2] * m[0] + j[3] * m[2],
            j[2] * m[1] + j[3] * m[3],
        ];
        c.ellipse_affine(truth[i], a, marker_level);
    }
    // Ruler.
    let ruler = cfg.ruler.then(|| draw_ruler(&mut c, &mut rng, short));
    // Specks: too small to be markers.
    for _ in 0..cfg.distractors {
        let p = Point::new(rng.random_range(0.0..wf), rng.random_range(0.0..hf));
        let r = rng.random_range(0.6..2.0);
        c.ellipse(
            p,
            r,
            r * rng.random_range(0.5..1.0),
            0.0,
            rng.random_range(30.0..90.0),
        );
    }
    // Lighting, blur, noise.
    let image = finish(c, &mut rng, cfg.lighting, cfg.blur_sigma, cfg.noise_sigma);
    SynthImage {
        image,
        markers: truth,
        ruler,
    }
}

/// Uneven lighting (a gradient and a radial fall-off of amplitude `lighting`), Gaussian blur and
/// Gaussian noise (sigmas drawn from the ranges), then rounding to 8 bits.
pub(super) fn finish(
    mut c: Canvas,
    rng: &mut ChaCha8Rng,
    lighting: f64,
    blur_sigma: [f64; 2],
    noise_sigma: [f64; 2],
) -> GrayImage {
    let (w, h) = (c.w, c.h);
    let (wf, hf) = (w as f64, h as f64);
    let jitter = |rng: &mut ChaCha8Rng, s: f64| rng.random_range(-s..s);
    let (gx, gy) = (jitter(rng, 1.0) * lighting, jitter(rng, 1.0) * lighting);
    let (lcx, lcy) = (rng.random_range(0.0..wf), rng.random_range(0.0..hf));
    let radial = lighting * 0.5;
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (x as f64 / wf - 0.5, y as f64 / hf - 0.5);
            let r2 = ((x as f64 - lcx).powi(2) + (y as f64 - lcy).powi(2)) / (wf * wf + hf * hf);
            let l = (1.0 + gx * u + gy * v - radial * r2).max(0.2);
            c.px[y * w + x] *= l as f32;
        }
    }
    let sigma = range(rng, blur_sigma);
    c.blur(sigma);
    let noise = range(rng, noise_sigma);
    let data: Vec<u8> =
        c.px.iter()
            .map(|&v| (v as f64 + noise * normal(rng)).round().clamp(0.0, 255.0) as u8)
            .collect();
    GrayImage::from_raw(w as u32, h as u32, data)
        .unwrap_or_else(|| GrayImage::new(w as u32, h as u32))
}
