//! Property tests: invariance of the strain under rotation, scale and translation of the
//! pixel coordinates, recovery of a known affine F, and "never panic, never NaN" for analyze.

mod common;

use common::*;
use proptest::prelude::*;
use strain_seer_engine::strain::{deformation_gradient, to_mm};
use strain_seer_engine::{
    AnalysisOptions, Fiducials, ImageInput, Point, ScalePoints, StrainMeasures, analyze,
};

/// `cases` cases, no regression files written into the source tree.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A marker layout: the block's rectangle with every marker jittered (mm).
fn layout() -> impl Strategy<Value = [[f64; 2]; 5]> {
    (
        6.0..20.0f64,
        6.0..40.0f64,
        prop::array::uniform10(-1.0..1.0f64),
    )
        .prop_map(|(w, h, j)| {
            let mut l = [[-w, -h], [w, -h], [w, h], [-w, h], [0.0, 0.0]];
            for (i, p) in l.iter_mut().enumerate() {
                p[0] += j[2 * i];
                p[1] += j[2 * i + 1];
            }
            l
        })
}

/// A deformation gradient with det F > 0 and moderate stretch (up to about ±40 %).
fn gradient() -> impl Strategy<Value = [[f64; 2]; 2]> {
    (
        0.6..1.4f64,
        0.6..1.4f64,
        -0.3..0.3f64,
        -0.3..0.3f64,
        -180.0..180.0f64,
    )
        .prop_map(|(a, d, b, c, rot)| mul(rotation(rot), [[a, b], [c, d]]))
}

fn camera() -> impl Strategy<Value = Camera> {
    (5.0..40.0f64, -500.0..500.0f64, -500.0..500.0f64).prop_map(|(zoom, tx, ty)| Camera {
        zoom,
        angle_deg: 0.0,
        tx: 800.0 + tx,
        ty: 800.0 + ty,
    })
}

fn strain(r: &(Fiducials, ScalePoints), c: &(Fiducials, ScalePoints)) -> StrainMeasures {
    let d = deformation_gradient(&to_mm(&r.0, &r.1, RULER_MM), &to_mm(&c.0, &c.1, RULER_MM))
        .expect("valid");
    StrainMeasures::from_gradient(&d)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// Transform every pixel coordinate of a frame (markers and ruler) by `t`.
fn map_frame(
    frame: &(Fiducials, ScalePoints),
    t: impl Fn(Point) -> Point,
) -> (Fiducials, ScalePoints) {
    (
        Fiducials::new(frame.0.points().map(&t)).expect("finite"),
        ScalePoints::new(frame.1.points().map(&t)).expect("distinct"),
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// A rigid rotation of the specimen after deformation changes no principal Green–Lagrange
    /// strain, no Hencky principal strain and not J.
    #[test]
    fn principal_green_lagrange_is_rotation_invariant(
        l in layout(), f in gradient(), rot in -180.0..180.0f64, cam in camera()
    ) {
        let reference = shot(&l, IDENTITY, Camera::PLAIN);
        let a = strain(&reference, &shot(&l, f, cam));
        let b = strain(&reference, &shot(&l, mul(rotation(rot), f), cam));
        prop_assert!(close(a.green_principal.e1, b.green_principal.e1, 1e-10));
        prop_assert!(close(a.green_principal.e2, b.green_principal.e2, 1e-10));
        prop_assert!(close(a.hencky_principal.e1, b.hencky_principal.e1, 1e-10));
        prop_assert!(close(a.hencky_principal.e2, b.hencky_principal.e2, 1e-10));
        prop_assert!(close(a.green.xx, b.green.xx, 1e-10) && close(a.green.xy, b.green.xy, 1e-10));
        prop_assert!(close(a.j, b.j, 1e-10));
    }

    /// Rotating the whole camera picture (both images, ruler included) rotates the principal
    /// directions by the same angle and keeps the principal values.
    #[test]
    fn observer_rotation_rotates_principal_directions(
        l in layout(), f in gradient(), phi in -80.0..80.0f64
    ) {
        let turn = |p: Point| {
            let (s, c) = phi.to_radians().sin_cos();
            Point::new(c * p.x - s * p.y, s * p.x + c * p.y)
        };
        let r = shot(&l, IDENTITY, Camera::PLAIN);
        let c = shot(&l, f, Camera::PLAIN);
        let a = strain(&r, &c);
        let b = strain(&map_frame(&r, turn), &map_frame(&c, turn));
        prop_assert!(close(a.small_principal.e1, b.small_principal.e1, 1e-9));
        prop_assert!(close(a.green_principal.e2, b.green_principal.e2, 1e-9));
        prop_assume!(a.green_principal.max_shear > 1e-3);
        let turned = (a.green_principal.angle_deg + phi + 90.0).rem_euclid(180.0) - 90.0;
        let diff = (turned - b.green_principal.angle_deg + 90.0).rem_euclid(180.0) - 90.0;
        prop_assert!(diff.abs() < 1e-6, "angle {} + {phi} vs {}", a.green_principal.angle_deg, b.green_principal.angle_deg);
    }

    /// All pixel coordinates of an image × k (camera zoom, ruler included) change nothing.
    #[test]
    fn scale_invariance(l in layout(), f in gradient(), k1 in 0.1..10.0f64, k2 in 0.1..10.0f64) {
        let r = shot(&l, IDENTITY, Camera::PLAIN);
        let c = shot(&l, f, Camera::PLAIN);
        let a = strain(&r, &c).to_array();
        let zoom = |k: f64| move |p: Point| Point::new(k * p.x, k * p.y);
        let b = strain(&map_frame(&r, zoom(k1)), &map_frame(&c, zoom(k2))).to_array();
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            prop_assert!(close(*x, *y, 1e-9), "field {i}: {x} vs {y}");
        }
    }

    /// Moving the camera sideways (every coordinate + t, ruler included) changes nothing.
    #[test]
    fn translation_invariance(
        l in layout(), f in gradient(), t1 in prop::array::uniform2(-2000.0..2000.0f64),
        t2 in prop::array::uniform2(-2000.0..2000.0f64)
    ) {
        let r = shot(&l, IDENTITY, Camera::PLAIN);
        let c = shot(&l, f, Camera::PLAIN);
        let a = strain(&r, &c).to_array();
        let shift = |t: [f64; 2]| move |p: Point| Point::new(p.x + t[0], p.y + t[1]);
        let b = strain(&map_frame(&r, shift(t1)), &map_frame(&c, shift(t2))).to_array();
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            prop_assert!(close(*x, *y, 1e-9), "field {i}: {x} vs {y}");
        }
    }

    /// Markers moved by an exact affine map give back that F with zero residual.
    #[test]
    fn recovers_a_known_affine_gradient(l in layout(), f in gradient(), c1 in camera(), c2 in camera()) {
        let r = shot(&l, IDENTITY, c1);
        let c = shot(&l, f, c2);
        let d = deformation_gradient(&to_mm(&r.0, &r.1, RULER_MM), &to_mm(&c.0, &c.1, RULER_MM)).expect("valid");
        for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            prop_assert!((d.f[i][j] - f[i][j]).abs() < 1e-10, "F[{i}][{j}] {} vs {}", d.f[i][j], f[i][j]);
        }
        prop_assert!(d.residual_mm < 1e-9);
        let m = StrainMeasures::from_gradient(&d);
        prop_assert!(m.small_principal.e1 >= m.small_principal.e2);
        prop_assert!(m.green_principal.angle_deg > -90.0 && m.green_principal.angle_deg <= 90.0);
        // Hencky and Green–Lagrange share principal directions; H_i = ½ ln(1 + 2E_i).
        prop_assert!(close(m.hencky_principal.e1, 0.5 * (2.0 * m.green_principal.e1).ln_1p(), 1e-12));
        prop_assert!(close(m.hencky_principal.e1 + m.hencky_principal.e2, m.j.ln(), 1e-12));
    }

    /// Whatever finite points, distances, scale length and σ come in, analyze returns an error
    /// or a result in which every number is finite; it never panics.
    #[test]
    fn analyze_never_panics_and_never_returns_non_finite(
        raw in prop::collection::vec(
            (prop::array::uniform14(prop_oneof![-1e3..1e3f64, -1e300..1e300f64, Just(0.0), Just(1.0)]),
             prop_oneof![-50.0..50.0f64, Just(0.0), Just(1e300)],
             any::<bool>()),
            0..7),
        scale_length in prop_oneof![0.001..1e3f64, Just(1e9), Just(1e-9)],
        sigma in prop_oneof![0.0..5.0f64, Just(1e6)],
    ) {
        let images: Vec<ImageInput> = raw
            .iter()
            .enumerate()
            .map(|(i, (c, d, has_d))| {
                let p = |k: usize| Point::new(c[2 * k], c[2 * k + 1]);
                ImageInput {
                    name: format!("p{i}.png"),
                    fiducials: Fiducials::new([p(0), p(1), p(2), p(3), p(4)]).ok(),
                    scale: ScalePoints::new([p(5), p(6)]).ok(),
                    deformation: has_d.then_some(*d),
                    ..ImageInput::default()
                }
            })
            .collect();
        let options = AnalysisOptions { scale_length, sigma_px: sigma, ..AnalysisOptions::default() };
        if let Ok(a) = analyze(&images, &options) {
            for row in &a.rows {
                prop_assert!(row.measures.is_finite() && row.uncertainty.is_finite());
                prop_assert!(row.mm_per_px.is_finite());
            }
            for r in &a.regressions {
                let g = r.regression;
                for v in [g.slope, g.intercept, g.r_squared, g.p_value, g.stderr, g.intercept_stderr, g.slope_ci95[0], g.slope_ci95[1]] {
                    prop_assert!(v.is_finite());
                }
            }
            if let Some(p) = &a.poisson {
                prop_assert!(p.from_slopes.is_finite() && p.from_slopes_stderr.is_finite());
                prop_assert!(p.per_image.iter().flatten().all(|v| v.is_finite()));
            }
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Valid projects photographed at any zoom (1e-8 … 1e100 px per mm), with extreme but
    /// accepted scale lengths and σ: the analysis succeeds and every number is finite.
    #[test]
    fn valid_projects_analyse_to_finite_numbers_at_any_magnitude(
        frames in prop::collection::vec((layout(), gradient(), -100.0..100.0f64), 3..8),
        zoom_exp in -8i32..100,
        scale_length in prop_oneof![Just(1e-9), Just(1e9), 0.01..100.0f64],
        sigma in prop_oneof![Just(0.0), Just(1e6), 0.0..3.0f64],
    ) {
        let camera = Camera { zoom: 10f64.powi(zoom_exp), angle_deg: 0.0, tx: 0.0, ty: 0.0 };
        let images: Vec<ImageInput> = frames
            .iter()
            .enumerate()
            .map(|(i, (l, f, d))| image(&format!("v{i}.png"), if i == 0 { 1000.0 } else { *d }, shot(l, *f, camera)))
            .collect();
        let options = AnalysisOptions { scale_length, sigma_px: sigma, ..AnalysisOptions::default() };
        match analyze(&images, &options) {
            Ok(a) => {
                prop_assert_eq!(a.rows.len(), images.len());
                for row in &a.rows {
                    prop_assert!(row.measures.is_finite() && row.uncertainty.is_finite());
                }
            }
            // The random layouts differ per image, so a current frame may fold over.
            Err(e) => prop_assert!(
                matches!(e.kind, strain_seer_engine::AnalysisErrorKind::Strain(_)),
                "unexpected error {}", e
            ),
        }
    }
}
