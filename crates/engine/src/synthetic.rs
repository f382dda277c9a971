//! Synthetic projects for benchmarks and tests: a rectangular pattern of five markers deformed
//! by a known affine map that grows linearly with the deformation distance, photographed by a
//! camera that moves and zooms between shots, with sub-pixel placement noise. Deterministic
//! for a given seed.

use crate::analysis::ImageInput;
use crate::points::{Fiducials, Point, ScalePoints};

/// Scale length (mm) of the synthetic ruler points.
pub const SCALE_LENGTH_MM: f64 = 40.0;

/// Largest deformation distance (mm) of a synthetic project; image k of n is at
/// `MAX_DISTANCE_MM · k/(n − 1)`.
pub const MAX_DISTANCE_MM: f64 = 30.0;

/// Standard deviation (px) of the placement noise added to every synthetic point.
pub const NOISE_PX: f64 = 0.3;

/// The true deformation gradient at deformation distance `d` mm: stretch along x, compression
/// along y and a little shear, `[[1 + 0.009d, 0.0005d], [−0.0008d, 1 − 0.015d]]`.
pub fn true_gradient(d: f64) -> [[f64; 2]; 2] {
    [
        [1.0 + 0.009 * d, 0.0005 * d],
        [-0.0008 * d, 1.0 - 0.015 * d],
    ]
}

/// `n` complete images (`synthetic-000000.png`, …) in distance order, scale length
/// [`SCALE_LENGTH_MM`].
pub fn synthetic_images(n: usize, seed: u64) -> Vec<ImageInput> {
    let mut rng = SplitMix64(seed);
    // Reference marker layout in mm relative to the centre marker (y down): TL, TR, BR, BL, C.
    let layout = [
        (-8.0, -16.0),
        (8.0, -16.0),
        (8.0, 16.0),
        (-8.0, 16.0),
        (0.0, 0.0),
    ];
    let px_per_mm = 15.0;
    (0..n)
        .map(|k| {
            let d = if n > 1 {
                MAX_DISTANCE_MM * k as f64 / (n - 1) as f64
            } else {
                0.0
            };
            let f = true_gradient(d);
            let zoom = 0.85 + 0.3 * rng.uniform();
            let (tx, ty) = (100.0 * rng.uniform() - 50.0, 100.0 * rng.uniform() - 50.0);
            let mut noise = || NOISE_PX * rng.normal();
            let points = layout.map(|(x, y)| {
                let u = f[0][0] * x + f[0][1] * y;
                let v = f[1][0] * x + f[1][1] * y;
                Point::new(
                    460.0 + tx + zoom * px_per_mm * u + noise(),
                    640.0 + ty + zoom * px_per_mm * v + noise(),
                )
            });
            let s0 = Point::new(1000.0 + tx + noise(), 860.0 + ty + noise());
            let s1 = Point::new(
                s0.x + noise(),
                s0.y - SCALE_LENGTH_MM * px_per_mm * zoom + noise(),
            );
            ImageInput {
                name: format!("synthetic-{k:06}.png"),
                fiducials: Fiducials::new(points).ok(),
                scale: ScalePoints::new([s0, s1]).ok(),
                deformation: Some(d),
                ..ImageInput::default()
            }
        })
        .collect()
}

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, good enough for test data.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}
