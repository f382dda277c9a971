//! The four demo photos (plasticine block compressed 0, 10, 20, 30 mm) analysed end to end from
//! their hand-verified points, checked against `data/demo_truth.json` (copied from the shared
//! demo folder, MIT licence in `data/DEMO-LICENSE`).

use approx::assert_relative_eq;
use serde_json::Value;
use strain_seer_engine::{
    AnalysisOptions, Axis, Component, Fiducials, ImageInput, Point, ScalePoints, analyze,
};

const TRUTH: &str = include_str!("data/demo_truth.json");

fn points(v: &Value) -> Vec<Point> {
    v.as_array()
        .expect("array of points")
        .iter()
        .map(|p| Point::new(p[0].as_f64().expect("x"), p[1].as_f64().expect("y")))
        .collect()
}

fn demo() -> (Value, Vec<ImageInput>) {
    let truth: Value = serde_json::from_str(TRUTH).expect("truth.json parses");
    let images = truth["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|im| {
            ImageInput::complete(
                im["filename"].as_str().expect("filename"),
                Fiducials::try_from(points(&im["markers"])).expect("5 markers"),
                ScalePoints::try_from(points(&im["scale_points"])).expect("2 scale points"),
                im["deformation_mm"].as_f64().expect("distance"),
            )
        })
        .collect();
    (truth, images)
}

fn options() -> AnalysisOptions {
    AnalysisOptions {
        scale_length: 40.0,
        ..AnalysisOptions::default()
    }
}

#[test]
fn demo_strains_match_truth_to_1e_6() {
    let (truth, images) = demo();
    let analysis = analyze(&images, &options()).expect("demo analyses");
    assert_eq!(analysis.reference, 0);
    assert_eq!(analysis.reference_name, "deformation-00mm-force.png");
    assert_eq!(analysis.rows.len(), 4);
    assert!(analysis.excluded.is_empty());
    for (row, im) in analysis
        .rows
        .iter()
        .zip(truth["images"].as_array().expect("images"))
    {
        let s = &im["strain"];
        let m = &row.measures;
        let expect = |key: &str| s[key].as_f64().expect("strain value");
        for (got, key) in [
            (m.small.xx, "eps_xx"),
            (m.small.yy, "eps_yy"),
            (m.small.xy, "eps_xy"),
            (m.green.xx, "E_xx"),
            (m.green.yy, "E_yy"),
            (m.green.xy, "E_xy"),
            (m.j, "J"),
        ] {
            assert!(
                (got - expect(key)).abs() <= 1e-6,
                "{} {key}: got {got}, truth {}",
                row.name,
                expect(key)
            );
        }
        // mm/px is the inverse of the truth's px/mm (given to 6 decimals).
        assert_relative_eq!(
            1.0 / row.mm_per_px,
            im["px_per_mm"].as_f64().expect("px_per_mm"),
            max_relative = 1e-6
        );
    }
    // The reference row is exactly zero (truth.json has 2.6e-18 of rounding in eps_xy there).
    let m0 = analysis.rows[0].measures;
    assert_eq!(
        [
            m0.small.xx,
            m0.small.yy,
            m0.small.xy,
            m0.green.xy,
            m0.hencky.xy,
            m0.rotation_deg
        ],
        [0.0; 6]
    );
    assert_eq!(m0.j, 1.0);
    assert_eq!(analysis.rows[0].uncertainty, Default::default());
}

#[test]
fn demo_regression_matches_truth_to_1e_9_relative() {
    let (truth, images) = demo();
    let analysis = analyze(&images, &options()).expect("demo analyses");
    for component in Component::DEFAULT {
        let key = component
            .legacy_name()
            .expect("default components have legacy names");
        let t = &truth["regression"][key];
        let r = analysis
            .regression(component)
            .expect("default component regressed");
        assert_eq!(r.n, 4);
        for (got, field) in [
            (r.slope, "slope"),
            (r.intercept, "intercept"),
            (r.r_squared, "r_squared"),
            (r.p_value, "p_value"),
            (r.stderr, "stderr"),
            (r.intercept_stderr, "intercept_stderr"),
        ] {
            let want = t[field].as_f64().expect("regression value");
            assert_relative_eq!(got, want, max_relative = 1e-9);
        }
    }
}

#[test]
fn demo_poisson_ratio_and_uncertainty_are_sensible() {
    let (_, images) = demo();
    let analysis = analyze(&images, &options()).expect("demo analyses");
    // Compression along y is the larger change: y is the loading axis, ν = −slope_x/slope_y.
    let p = analysis.poisson.as_ref().expect("Poisson's ratio");
    assert_eq!(p.loading_axis, Axis::Y);
    assert!(p.auto_axis);
    let sx = analysis.regression(Component::EpsXx).expect("εxx").slope;
    let sy = analysis.regression(Component::EpsYy).expect("εyy").slope;
    assert_relative_eq!(p.from_slopes, -sx / sy, max_relative = 1e-12);
    assert!(
        p.from_slopes > 0.5 && p.from_slopes < 0.65,
        "ν = {}",
        p.from_slopes
    );
    assert!(p.from_slopes_stderr > 0.0 && p.from_slopes_stderr < 0.1);
    assert_eq!(p.per_image[0], None);
    for (nu, row) in p.per_image.iter().zip(&analysis.rows).skip(1) {
        let nu = nu.expect("non-reference rows have ν");
        assert_relative_eq!(
            nu,
            -row.measures.small.xx / row.measures.small.yy,
            max_relative = 1e-15
        );
    }
    // σ = 1 px on points ~250 px apart: strain uncertainty of order 0.005, never 0 off the reference.
    for row in &analysis.rows[1..] {
        let u = row.uncertainty;
        for v in [u.small.xx, u.small.yy, u.small.xy, u.green.xx, u.j] {
            assert!(v > 1e-4 && v < 0.05, "{}: σ = {v}", row.name);
        }
        assert!(u.residual_mm > 0.0);
    }
}
