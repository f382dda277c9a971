//! `linregress` against `scipy.stats.linregress` (numbers in `data/scipy_linregress.json`,
//! written by `tools/scipy_reference.py`), to 1e-9 relative.

use serde_json::Value;
use strain_seer_engine::{RegressionError, linregress};

const REFERENCE: &str = include_str!("data/scipy_linregress.json");

fn cases() -> Vec<Value> {
    let doc: Value = serde_json::from_str(REFERENCE).expect("reference JSON parses");
    doc["cases"].as_array().expect("cases").clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// |got − want| ≤ 1e-9·|want| (or ≤ 1e-18 when scipy's value is 0).
fn close(name: &str, field: &str, got: f64, want: f64) {
    let tol = if want == 0.0 {
        1e-18
    } else {
        1e-9 * want.abs()
    };
    assert!(
        (got - want).abs() <= tol,
        "{name}: {field} = {got:e}, scipy {want:e} (rel. diff {:e})",
        ((got - want) / want).abs()
    );
}

#[test]
fn matches_scipy_on_every_regular_case() {
    let mut checked = 0;
    let mut worst = 0.0f64;
    for case in cases() {
        let name = case["name"].as_str().expect("name");
        if name.starts_with("perfect") || name.starts_with("constant") {
            continue;
        }
        let r = linregress(&floats(&case["x"]), &floats(&case["y"])).expect(name);
        let want = |k: &str| case[k].as_f64().expect(k);
        let ci = floats(&case["slope_ci95"]);
        let pairs = [
            ("slope", r.slope, want("slope")),
            ("intercept", r.intercept, want("intercept")),
            ("r_value", r.r_value, want("r_value")),
            ("r_squared", r.r_squared, want("r_value").powi(2)),
            ("p_value", r.p_value, want("p_value")),
            ("stderr", r.stderr, want("stderr")),
            (
                "intercept_stderr",
                r.intercept_stderr,
                want("intercept_stderr"),
            ),
            ("ci low", r.slope_ci95[0], ci[0]),
            ("ci high", r.slope_ci95[1], ci[1]),
        ];
        for (field, got, expected) in pairs {
            close(name, field, got, expected);
            if expected != 0.0 {
                worst = worst.max(((got - expected) / expected).abs());
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 12);
    eprintln!("largest relative difference from scipy: {worst:e}");
}

#[test]
fn perfect_fit_gives_r2_one_and_p_zero() {
    for case in cases()
        .iter()
        .filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with("perfect")))
    {
        let name = case["name"].as_str().expect("name");
        let r = linregress(&floats(&case["x"]), &floats(&case["y"])).expect(name);
        close(
            name,
            "slope",
            r.slope,
            case["slope"].as_f64().expect("slope"),
        );
        close(
            name,
            "intercept",
            r.intercept,
            case["intercept"].as_f64().expect("intercept"),
        );
        assert_eq!(r.r_value, 1.0);
        assert_eq!(r.r_squared, 1.0);
        assert_eq!(r.p_value, 0.0, "{name}");
        assert_eq!(r.stderr, 0.0);
        assert_eq!(r.intercept_stderr, 0.0);
        assert_eq!(r.slope_ci95, [r.slope, r.slope]);
        // scipy's p here is an artefact of its 1e-20 regulariser: tiny, but not 0.
        assert!(case["p_value"].as_f64().expect("p") < 1e-9);
    }
}

#[test]
fn constant_y_gives_slope_zero_r2_zero_p_one() {
    for case in cases().iter().filter(|c| {
        c["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("constant"))
    }) {
        let name = case["name"].as_str().expect("name");
        let y = floats(&case["y"]);
        let r = linregress(&floats(&case["x"]), &y).expect(name);
        assert_eq!(r.slope, case["slope"].as_f64().expect("scipy's slope"));
        assert_eq!(r.slope, 0.0);
        assert_eq!(r.intercept, y[0]);
        assert_eq!((r.r_value, r.r_squared, r.p_value), (0.0, 0.0, 1.0));
        assert_eq!((r.stderr, r.intercept_stderr), (0.0, 0.0));
        assert_eq!(r.slope_ci95, [0.0, 0.0]);
    }
}

#[test]
fn negative_slope_keeps_its_sign_in_r() {
    let r = linregress(&[0.0, 1.0, 2.0, 3.0], &[0.0, -1.1, -1.9, -3.2]).expect("fit");
    assert!(r.slope < 0.0 && r.r_value < 0.0 && r.r_squared > 0.98);
    assert!(r.slope_ci95[0] < r.slope && r.slope < r.slope_ci95[1]);
}

#[test]
fn bad_inputs_are_typed_errors() {
    assert_eq!(
        linregress(&[0.0, 1.0], &[0.0, 1.0]),
        Err(RegressionError::TooFewPoints { n: 2 })
    );
    assert_eq!(
        linregress(&[0.0, 1.0, 2.0], &[0.0, 1.0]),
        Err(RegressionError::LengthMismatch { x: 3, y: 2 })
    );
    assert_eq!(
        linregress(&[5.0, 5.0, 5.0], &[0.0, 1.0, 2.0]),
        Err(RegressionError::ConstantX { x: 5.0 })
    );
    assert_eq!(
        linregress(&[0.0, 1.0, 2.0], &[0.0, f64::NAN, 2.0]),
        Err(RegressionError::NonFinite { index: 1 })
    );
    assert_eq!(
        linregress(&[0.0, f64::INFINITY, 2.0], &[0.0, 1.0, 2.0]),
        Err(RegressionError::NonFinite { index: 1 })
    );
    let e = linregress(&[1.0, 1.0, 1.0], &[0.0, 1.0, 2.0]).expect_err("constant x");
    assert_eq!(
        e.to_string(),
        "all deformation distances are equal (1 mm): the slope is undefined"
    );
}
