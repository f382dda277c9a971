//! A grey-level drawing surface with exact area coverage (8×8 supersampling of boundary
//! pixels): ellipses, polygons (also non-convex), blur. Used by the synthetic photo generators
//! ([`super::synth`], [`super::scene`]).

use crate::points::Point;

/// Grey canvas of f32 levels.
pub(super) struct Canvas {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) px: Vec<f32>,
}

impl Canvas {
    /// A `w` × `h` canvas filled with `level`.
    pub(super) fn new(w: usize, h: usize, level: f32) -> Self {
        Self {
            w,
            h,
            px: vec![level; w * h],
        }
    }

    /// Paint `level` with coverage given by `inside` (8×8 supersampling where `edge` says the
    /// pixel may be partly covered; `edge` returns Some(true/false) for certainly in/out).
    pub(super) fn paint(
        &mut self,
        bbox: (f64, f64, f64, f64),
        level: f32,
        inside: &dyn Fn(f64, f64) -> bool,
        certain: &dyn Fn(f64, f64) -> Option<bool>,
    ) {
        let x0 = bbox.0.floor().max(0.0) as usize;
        let y0 = bbox.1.floor().max(0.0) as usize;
        let x1 = (bbox.2.ceil().max(0.0) as usize)
            .saturating_add(1)
            .min(self.w);
        let y1 = (bbox.3.ceil().max(0.0) as usize)
            .saturating_add(1)
            .min(self.h);
        const N: usize = 8;
        for y in y0..y1 {
            for x in x0..x1 {
                let (xf, yf) = (x as f64, y as f64);
                let cov = match certain(xf, yf) {
                    Some(true) => 1.0,
                    Some(false) => 0.0,
                    None => {
                        let mut k = 0;
                        for sy in 0..N {
                            for sx in 0..N {
                                let px = xf - 0.5 + (sx as f64 + 0.5) / N as f64;
                                let py = yf - 0.5 + (sy as f64 + 0.5) / N as f64;
                                if inside(px, py) {
                                    k += 1;
                                }
                            }
                        }
                        k as f32 / (N * N) as f32
                    }
                };
                if cov > 0.0 {
                    let p = &mut self.px[y * self.w + x];
                    *p = *p * (1.0 - cov) + level * cov;
                }
            }
        }
    }

    /// Filled ellipse centred at `c` with semi-axes `a` (along `angle`) and `b`.
    pub(super) fn ellipse(&mut self, c: Point, a: f64, b: f64, angle: f64, level: f32) {
        let (ca, sa) = (angle.cos(), angle.sin());
        let f = move |x: f64, y: f64| {
            let (dx, dy) = (x - c.x, y - c.y);
            let u = (dx * ca + dy * sa) / a;
            let v = (-dx * sa + dy * ca) / b;
            u * u + v * v
        };
        let inside = move |x: f64, y: f64| f(x, y) <= 1.0;
        let margin = 1.0 / a.min(b);
        let certain = move |x: f64, y: f64| {
            let r = f(x, y).sqrt();
            if r < 1.0 - 1.5 * margin {
                Some(true)
            } else if r > 1.0 + 1.5 * margin {
                Some(false)
            } else {
                None
            }
        };
        let ext = a.max(b) + 2.0;
        self.paint(
            (c.x - ext, c.y - ext, c.x + ext, c.y + ext),
            level,
            &inside,
            &certain,
        );
    }

    /// Filled convex polygon (vertices in order).
    pub(super) fn polygon(&mut self, v: &[(f64, f64)], level: f32) {
        let n = v.len();
        if n < 3 {
            return;
        }
        let area2: f64 = (0..n)
            .map(|i| v[i].0 * v[(i + 1) % n].1 - v[(i + 1) % n].0 * v[i].1)
            .sum();
        let sign = area2.signum();
        let edges: Vec<(f64, f64, f64)> = (0..n)
            .map(|i| {
                let (a, b) = (v[i], v[(i + 1) % n]);
                let (nx, ny) = (-(b.1 - a.1) * sign, (b.0 - a.0) * sign);
                let len = nx.hypot(ny).max(1e-12);
                (nx / len, ny / len, -(nx * a.0 + ny * a.1) / len)
            })
            .collect();
        let dist = move |x: f64, y: f64| {
            edges
                .iter()
                .map(|e| e.0 * x + e.1 * y + e.2)
                .fold(f64::INFINITY, f64::min)
        };
        let d2 = dist.clone();
        let inside = move |x: f64, y: f64| dist(x, y) >= 0.0;
        let certain = move |x: f64, y: f64| {
            let d = d2(x, y);
            if d > 0.75 {
                Some(true)
            } else if d < -0.75 {
                Some(false)
            } else {
                None
            }
        };
        let bbox = v.iter().fold(
            (
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ),
            |b, p| (b.0.min(p.0), b.1.min(p.1), b.2.max(p.0), b.3.max(p.1)),
        );
        self.paint(bbox, level, &inside, &certain);
    }

    /// Filled ellipse `{centre + A u : |u| ≤ 1}` for the row-major 2×2 shape matrix `a`
    /// (semi-axes from the eigenvalues of `A Aᵀ`; the minor one at least 0.5 px).
    pub(super) fn ellipse_affine(&mut self, centre: Point, a: [f64; 4], level: f32) {
        let s_xx = a[0] * a[0] + a[1] * a[1];
        let s_yy = a[2] * a[2] + a[3] * a[3];
        let s_xy = a[0] * a[2] + a[1] * a[3];
        let (l1, l2, ang) = super::plane::eigen2(s_xx, s_yy, s_xy);
        self.ellipse(centre, l1.sqrt(), l2.sqrt().max(0.5), ang, level);
    }

    /// Filled simple polygon, convex or not (even–odd rule), with the same 8×8 sample grid as
    /// [`Canvas::paint`] on every pixel (by scanlines, so long outlines stay cheap).
    pub(super) fn fill_path(&mut self, v: &[(f64, f64)], level: f32) {
        const N: i64 = 8;
        let n = v.len();
        if n < 3 || v.iter().any(|p| !(p.0.is_finite() && p.1.is_finite())) {
            return;
        }
        let (min_x, min_y, max_x, max_y) = v.iter().fold(
            (
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ),
            |b, p| (b.0.min(p.0), b.1.min(p.1), b.2.max(p.0), b.3.max(p.1)),
        );
        let (w, h) = (self.w as i64, self.h as i64);
        let x0 = ((min_x - 0.5).floor() as i64).clamp(0, w - 1);
        let x1 = ((max_x + 0.5).ceil() as i64).clamp(0, w - 1);
        let y0 = ((min_y - 0.5).floor() as i64).clamp(0, h - 1);
        let y1 = ((max_y + 0.5).ceil() as i64).clamp(0, h - 1);
        if max_x < -0.5 || min_x > w as f64 - 0.5 || max_y < -0.5 || min_y > h as f64 - 0.5 {
            return;
        }
        let nx = (x1 - x0 + 1) as usize;
        let mut count = vec![0u32; nx];
        let mut xs: Vec<f64> = Vec::with_capacity(16);
        // Sample g (global sub-column index) sits at x = (g + 0.5) / N − 0.5.
        let (g_min, g_max) = (x0 * N, (x1 + 1) * N - 1);
        for y in y0..=y1 {
            count.fill(0);
            for sy in 0..N {
                let py = y as f64 - 0.5 + (sy as f64 + 0.5) / N as f64;
                xs.clear();
                for i in 0..n {
                    let (a, b) = (v[i], v[(i + 1) % n]);
                    if (a.1 <= py) != (b.1 <= py) {
                        xs.push(a.0 + (py - a.1) * (b.0 - a.0) / (b.1 - a.1));
                    }
                }
                xs.sort_by(f64::total_cmp);
                for span in xs.chunks_exact(2) {
                    // Samples with span[0] ≤ x < span[1].
                    let lo = ((N as f64 * (span[0] + 0.5) - 0.5).ceil() as i64).max(g_min);
                    let hi = ((N as f64 * (span[1] + 0.5) - 0.5).ceil() as i64 - 1).min(g_max);
                    if hi < lo {
                        continue;
                    }
                    let (p_lo, p_hi) = ((lo / N - x0) as usize, (hi / N - x0) as usize);
                    if p_lo == p_hi {
                        count[p_lo] += (hi - lo + 1) as u32;
                    } else {
                        count[p_lo] += (N - lo % N) as u32;
                        count[p_hi] += (hi % N + 1) as u32;
                        for c in &mut count[p_lo + 1..p_hi] {
                            *c += N as u32;
                        }
                    }
                }
            }
            let row = y as usize * self.w + x0 as usize;
            for (i, &k) in count.iter().enumerate() {
                if k > 0 {
                    let cov = k as f32 / (N * N) as f32;
                    let p = &mut self.px[row + i];
                    *p = *p * (1.0 - cov) + level * cov;
                }
            }
        }
    }

    pub(super) fn blur(&mut self, sigma: f64) {
        if sigma < 0.05 {
            return;
        }
        let r = (3.0 * sigma).ceil() as i64;
        let k: Vec<f32> = (-r..=r)
            .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp() as f32)
            .collect();
        let sum: f32 = k.iter().sum();
        let k: Vec<f32> = k.iter().map(|v| v / sum).collect();
        let (w, h) = (self.w as i64, self.h as i64);
        let mut tmp = vec![0f32; self.px.len()];
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let xx = (x + j as i64 - r).clamp(0, w - 1);
                    acc += kv * self.px[(y * w + xx) as usize];
                }
                tmp[(y * w + x) as usize] = acc;
            }
        }
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let yy = (y + j as i64 - r).clamp(0, h - 1);
                    acc += kv * tmp[(yy * w + x) as usize];
                }
                self.px[(y * w + x) as usize] = acc;
            }
        }
    }
}
