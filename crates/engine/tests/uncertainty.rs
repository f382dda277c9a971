//! Linearised uncertainty propagation checked against a brute-force numerical Jacobian over all
//! 28 placed coordinates and against Monte Carlo simulation.

mod common;

use common::*;
use strain_seer_engine::strain::{deformation_gradient, to_mm};
use strain_seer_engine::uncertainty::{MAX_ANGLE_UNCERTAINTY_DEG, PhotoPair};
use strain_seer_engine::{Fiducials, Point, ScalePoints, StrainMeasures};

type Frame = (Fiducials, ScalePoints);

/// Reference and a clearly anisotropic, sheared, rotated current frame with another camera.
fn frames() -> (Frame, Frame) {
    let reference = shot(&LAYOUT, IDENTITY, Camera::PLAIN);
    let camera = Camera {
        zoom: 12.5,
        angle_deg: 0.0,
        tx: 420.0,
        ty: 610.0,
    };
    let current = shot(
        &LAYOUT,
        mul(rotation(4.0), [[1.12, 0.05], [0.02, 0.83]]),
        camera,
    );
    (reference, current)
}

/// The two frames' points as the propagation takes them, with the ruler's length.
fn pair<'a>(r: &'a Frame, c: &'a Frame) -> PhotoPair<'a> {
    PhotoPair {
        reference: &r.0,
        reference_scale: &r.1,
        current: &c.0,
        current_scale: &c.1,
        scale_length: RULER_MM,
    }
}

fn flatten(r: &Frame, c: &Frame) -> [f64; 28] {
    let mut v = [0.0; 28];
    let pts =
        r.0.points()
            .iter()
            .chain(r.1.points())
            .chain(c.0.points())
            .chain(c.1.points());
    for (i, p) in pts.enumerate() {
        v[2 * i] = p.x;
        v[2 * i + 1] = p.y;
    }
    v
}

fn unflatten(v: &[f64; 28]) -> Option<(Frame, Frame)> {
    let p = |i: usize| Point::new(v[2 * i], v[2 * i + 1]);
    let rf = Fiducials::new([p(0), p(1), p(2), p(3), p(4)]).ok()?;
    let rs = ScalePoints::new([p(5), p(6)]).ok()?;
    let cf = Fiducials::new([p(7), p(8), p(9), p(10), p(11)]).ok()?;
    let cs = ScalePoints::new([p(12), p(13)]).ok()?;
    Some(((rf, rs), (cf, cs)))
}

fn strain(v: &[f64; 28]) -> [f64; StrainMeasures::FIELD_COUNT] {
    let (r, c) = unflatten(v).expect("valid points");
    let d = deformation_gradient(&to_mm(&r.0, &r.1, RULER_MM), &to_mm(&c.0, &c.1, RULER_MM))
        .expect("valid");
    StrainMeasures::from_gradient(&d).to_array()
}

fn linearised(r: &Frame, c: &Frame, sigma: f64) -> [f64; StrainMeasures::FIELD_COUNT] {
    pair(r, c).propagate(sigma).expect("valid").to_array()
}

#[test]
fn analytic_chain_matches_brute_force_jacobian_over_all_28_coordinates() {
    let (r, c) = frames();
    let sigma = 0.7;
    let base = flatten(&r, &c);
    let h = 1e-4;
    let mut var = [0.0; StrainMeasures::FIELD_COUNT];
    for j in 0..28 {
        let (mut plus, mut minus) = (base, base);
        plus[j] += h;
        minus[j] -= h;
        let (a, b) = (strain(&plus), strain(&minus));
        for k in 0..StrainMeasures::FIELD_COUNT {
            let g = (a[k] - b[k]) / (2.0 * h);
            var[k] += (sigma * g).powi(2);
        }
    }
    let lin = linearised(&r, &c, sigma);
    for k in 0..StrainMeasures::FIELD_COUNT {
        if k == 4 {
            continue; // residual: reported as the noise floor, checked by Monte Carlo below
        }
        let brute = var[k].sqrt();
        assert!(
            (lin[k] - brute).abs() <= 1e-6 * brute.max(1e-12),
            "field {k}: linearised {} vs brute force {brute}",
            lin[k]
        );
        assert!(lin[k] > 0.0, "field {k} has zero uncertainty");
    }
}

#[test]
fn f_covariance_is_symmetric_and_positive() {
    let (r, c) = frames();
    let cov = pair(&r, &c).gradient_covariance(1.0).expect("valid");
    for i in 0..4 {
        assert!(cov[i][i] > 0.0);
        for j in 0..4 {
            assert!((cov[i][j] - cov[j][i]).abs() <= 1e-15 * cov[i][i].max(cov[j][j]));
        }
    }
}

#[test]
fn uncertainty_scales_linearly_with_sigma_and_vanishes_at_zero() {
    let (r, c) = frames();
    let one = linearised(&r, &c, 1.0);
    let three = linearised(&r, &c, 3.0);
    for (a, b) in one.iter().zip(&three) {
        assert!((3.0 * a - b).abs() <= 1e-9 * b.abs().max(1e-300));
    }
    assert_eq!(linearised(&r, &c, 0.0), [0.0; StrainMeasures::FIELD_COUNT]);
}

/// SplitMix64 + Box–Muller.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

#[test]
fn linearised_sigma_matches_monte_carlo() {
    let (r, c) = frames();
    let sigma = 0.5;
    let base = flatten(&r, &c);
    let lin = linearised(&r, &c, sigma);
    let mut rng = Rng(7);
    let trials = 20_000;
    let mut sum = [0.0; StrainMeasures::FIELD_COUNT];
    let mut sum_sq = [0.0; StrainMeasures::FIELD_COUNT];
    for _ in 0..trials {
        let mut v = base;
        for x in v.iter_mut() {
            *x += sigma * rng.normal();
        }
        let m = strain(&v);
        for k in 0..StrainMeasures::FIELD_COUNT {
            sum[k] += m[k];
            sum_sq[k] += m[k] * m[k];
        }
    }
    let n = trials as f64;
    for k in 0..StrainMeasures::FIELD_COUNT {
        if k == 4 {
            // The residual's RMS over the trials is the noise floor.
            let rms = (sum_sq[k] / n).sqrt();
            assert!(
                (rms / lin[k] - 1.0).abs() < 0.03,
                "residual floor {} vs Monte Carlo {rms}",
                lin[k]
            );
            continue;
        }
        let mean = sum[k] / n;
        let sd = ((sum_sq[k] / n - mean * mean) * n / (n - 1.0)).sqrt();
        assert!(
            (sd / lin[k] - 1.0).abs() < 0.03,
            "field {k}: linearised {} vs Monte Carlo {sd}",
            lin[k]
        );
    }
}

#[test]
fn principal_angle_of_an_isotropic_state_is_capped_not_infinite() {
    // Identical marker layouts in two images: the strain is isotropic (0), its direction undefined.
    let r = shot(&LAYOUT, IDENTITY, Camera::PLAIN);
    let c = shot(&LAYOUT, IDENTITY, Camera::PLAIN);
    let u = pair(&r, &c).propagate(1.0).expect("valid");
    assert!(u.is_finite());
    for angle in [
        u.small_principal.angle_deg,
        u.green_principal.angle_deg,
        u.hencky_principal.angle_deg,
    ] {
        assert!(angle > 0.0 && angle <= MAX_ANGLE_UNCERTAINTY_DEG);
    }
    assert!(u.small.xx > 0.0 && u.residual_mm > 0.0);
}
