//! The synthetic steel rule: a 16 mm wide body with millimetre ticks on both long edges (longer
//! every 5 and 10 mm, half-millimetre ticks on one edge) and blocky 7-segment digits at the
//! centimetre lines, laid out in ruler coordinates (along, across; mm) and painted through a
//! homography, and through an optional lens warp whose straight edges are first cut into short
//! pieces ([`subdivided`]) so that they bend as a real lens bends them. [`super::scene`] paints
//! its ruler with the same code.

use super::{Canvas, SynthRuler, mul3};
use crate::points::Point;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub(super) fn draw_ruler(c: &mut Canvas, rng: &mut ChaCha8Rng, short: f64) -> SynthRuler {
    let (wf, hf) = (c.w as f64, c.h as f64);
    let width_mm = 16.0;
    let length_mm = 200.0;
    // Scale so that about 55–70 mm fit the image height (7–9 px/mm at 480 px).
    let k = hf / rng.random_range(55.0..70.0);
    let angle = rng.random_range(-4.0f64..4.0).to_radians();
    // Ruler frame: along = up the image, across = to the right.
    let (ux, uy) = (angle.sin(), -angle.cos());
    let (vx, vy) = (angle.cos(), angle.sin());
    let origin = (
        rng.random_range(0.68..0.74) * wf,
        hf * rng.random_range(0.96..0.99),
    );
    // Perspective: scale changes by up to ±8 % along the visible part.
    let q = rng.random_range(-0.08..0.08) / (hf / k);
    let affine = [
        vx * k,
        ux * k,
        origin.0,
        vy * k,
        uy * k,
        origin.1,
        0.0,
        0.0,
        1.0,
    ];
    // (along, across) → frame with the across axis first in the affine above.
    let swap = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, q, 0.0, 1.0];
    let hm = mul3(&affine, &swap);
    let half_mm = rng.random_bool(0.5);
    let ruler = SynthRuler {
        homography: hm,
        length_mm,
        width_mm,
        half_mm,
    };
    let metal = rng.random_range(115.0..150.0) as f32;
    let ink = rng.random_range(10.0..40.0) as f32;
    // Lines 0.25 mm wide, and at least 1.6 px (a thinner line is not resolved by the camera).
    let tick_w = (0.25 * (short / 480.0).clamp(0.8, 1.5)).max(1.6 / k);
    paint_ruler(
        c,
        &ruler,
        &RulerLook {
            metal,
            ink,
            tick_w_mm: tick_w,
        },
        None,
    );
    ruler
}

/// Grey levels and line width of a painted ruler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(in crate::detect) struct RulerLook {
    /// Grey level of the ruler's body.
    pub(in crate::detect) metal: f32,
    /// Grey level of its ticks and digits.
    pub(in crate::detect) ink: f32,
    /// Width of the graduation lines, mm.
    pub(in crate::detect) tick_w_mm: f64,
}

/// Paint `ruler` (body from −5 mm to `length_mm`, ticks on both edges, digits at the
/// centimetre lines) on the canvas. Without `warp`, every shape is the convex image of its ruler
/// rectangle under the ruler's homography. With `warp` (e.g. lens distortion, applied to image
/// points after the homography), the body's outline is subdivided into segments of at most 20 px
/// before warping and filled as a general polygon, and each tick or digit segment is the convex
/// quadrilateral through its four warped corners.
pub(in crate::detect) fn paint_ruler(
    c: &mut Canvas,
    ruler: &SynthRuler,
    look: &RulerLook,
    warp: Option<&dyn Fn(Point) -> Point>,
) {
    let (length_mm, width_mm, half_mm) = (ruler.length_mm, ruler.width_mm, ruler.half_mm);
    let (metal, ink, tick_w) = (look.metal, look.ink, look.tick_w_mm);
    let quad = |r: &SynthRuler, s0: f64, s1: f64, t0: f64, t1: f64| -> Vec<(f64, f64)> {
        [(s0, t0), (s1, t0), (s1, t1), (s0, t1)]
            .iter()
            .map(|&(s, t)| {
                let p = r.to_image(s, t);
                let p = warp.map_or(p, |f| f(p));
                (p.x, p.y)
            })
            .collect()
    };
    let start = -5.0;
    match warp {
        None => c.polygon(&quad(ruler, start, length_mm, 0.0, width_mm), metal),
        Some(f) => {
            let corners = [
                (start, 0.0),
                (length_mm, 0.0),
                (length_mm, width_mm),
                (start, width_mm),
            ];
            let outline = subdivided(&corners, 20.0, &|s, t| ruler.to_image(s, t), f);
            c.fill_path(&outline, metal);
        }
    }
    for mm2 in 0..(2 * length_mm as i64) {
        let s = mm2 as f64 * 0.5;
        let whole = mm2 % 2 == 0;
        let mm = mm2 / 2;
        // Right edge (across = width): whole millimetres only.
        if whole {
            let len = if mm % 10 == 0 {
                5.0
            } else if mm % 5 == 0 {
                3.5
            } else {
                2.2
            };
            c.polygon(
                &quad(
                    ruler,
                    s - tick_w / 2.0,
                    s + tick_w / 2.0,
                    width_mm - len,
                    width_mm,
                ),
                ink,
            );
        }
        // Left edge: whole (and half, if chosen) millimetres.
        if whole || half_mm {
            let len = if !whole {
                1.2
            } else if mm % 10 == 0 {
                5.0
            } else if mm % 5 == 0 {
                3.0
            } else {
                2.0
            };
            c.polygon(
                &quad(ruler, s - tick_w / 2.0, s + tick_w / 2.0, 0.0, len),
                ink,
            );
        }
        // Digits at the centimetre lines.
        if whole && mm % 10 == 0 && mm > 0 {
            let digit = ((mm / 10) % 10) as usize;
            let seg = SEGMENTS[digit];
            // Segment rectangles in (along, across) around (s, 8 mm): 3 mm tall (across) digits
            // written along the ruler.
            let (s0, t0, dh, dw, th) = (s - 1.2, 6.8, 2.4, 3.2, 0.45);
            let rects = [
                (s0 + dh - th, s0 + dh, t0, t0 + dw),
                (s0 + dh / 2.0, s0 + dh, t0 + dw - th, t0 + dw),
                (s0, s0 + dh / 2.0, t0 + dw - th, t0 + dw),
                (s0, s0 + th, t0, t0 + dw),
                (s0, s0 + dh / 2.0, t0, t0 + th),
                (s0 + dh / 2.0, s0 + dh, t0, t0 + th),
                (
                    s0 + dh / 2.0 - th / 2.0,
                    s0 + dh / 2.0 + th / 2.0,
                    t0,
                    t0 + dw,
                ),
            ];
            for (bit, r) in rects.iter().enumerate() {
                if seg & (1 << bit) != 0 {
                    c.polygon(&quad(ruler, r.0, r.1, r.2, r.3), ink);
                }
            }
        }
    }
}

/// The closed outline through `corners` (in some source coordinates), each edge cut into pieces
/// of at most `max_px` in the image of `map`, every vertex then passed through `warp`.
pub(in crate::detect) fn subdivided(
    corners: &[(f64, f64)],
    max_px: f64,
    map: &dyn Fn(f64, f64) -> Point,
    warp: &dyn Fn(Point) -> Point,
) -> Vec<(f64, f64)> {
    let n = corners.len();
    let mut out = Vec::new();
    for i in 0..n {
        let (a, b) = (corners[i], corners[(i + 1) % n]);
        let len = map(a.0, a.1).distance(map(b.0, b.1));
        let pieces = if len.is_finite() {
            (len / max_px).ceil().clamp(1.0, 10_000.0) as usize
        } else {
            1
        };
        for k in 0..pieces {
            let t = k as f64 / pieces as f64;
            let p = warp(map(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
            out.push((p.x, p.y));
        }
    }
    out
}

/// 7-segment digit segments (a..g) lit for 0–9.
const SEGMENTS: [u8; 10] = [0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f];
