//! The regression table (CSV) and the regression JSON: one entry per regressed component,
//! the Python tool's keys first, then Poisson's ratio from the slopes when it is defined.

use super::rows::RowWriter;
use super::strains::into_text;
use super::{
    POISSON_NAME, REGRESSION_BASE_COLUMNS, REGRESSION_EXTRA_COLUMNS,
    REGRESSION_LOADING_AXIS_COLUMN, number, regression_name,
};
use crate::error::ExportError;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use strain_seer_engine::{Analysis, Axis};

/// The regression table: one row per regressed component, columns
/// `component,slope,intercept,r_squared,p_value` then [`REGRESSION_EXTRA_COLUMNS`] and
/// `loading_axis`; then, when Poisson's ratio is defined, a row `poisson_ratio` with ν in
/// `slope`, its standard error in `stderr`, ν ± 1.96·stderr in the CI columns, the number of
/// fitted images in `n` and the loading axis (`x`/`y`) in `loading_axis`.
pub fn regression_csv(analysis: &Analysis) -> Result<String, ExportError> {
    let header: Vec<String> = REGRESSION_BASE_COLUMNS
        .iter()
        .chain(REGRESSION_EXTRA_COLUMNS.iter())
        .chain(std::iter::once(&REGRESSION_LOADING_AXIS_COLUMN))
        .map(|s| (*s).to_owned())
        .collect();
    let n_fitted = fitted_count(analysis);
    let rows = analysis.regressions.iter().map(|cr| {
        let r = &cr.regression;
        let mut record = vec![regression_name(cr.component).to_owned()];
        record.extend(
            [
                r.slope,
                r.intercept,
                r.r_squared,
                r.p_value,
                r.stderr,
                r.intercept_stderr,
                r.slope_ci95[0],
                r.slope_ci95[1],
                r.r_value,
            ]
            .map(number),
        );
        record.push(r.n.to_string());
        record.push(String::new());
        record
    });
    let poisson = analysis.poisson.as_ref().map(|p| {
        let ci = poisson_ci95(p.from_slopes, p.from_slopes_stderr);
        vec![
            POISSON_NAME.to_owned(),
            number(p.from_slopes),
            String::new(),
            String::new(),
            String::new(),
            number(p.from_slopes_stderr),
            String::new(),
            number(ci[0]),
            number(ci[1]),
            String::new(),
            n_fitted.to_string(),
            p.loading_axis.to_string(),
        ]
    });
    let mut w = RowWriter::new(Vec::new());
    w.header(&header)?;
    for record in rows.chain(poisson) {
        for cell in &record {
            w.text(cell)?;
        }
        w.end()?;
    }
    into_text(w.finish()?)
}

/// Number of images in the fits (not excluded by the user).
pub fn fitted_count(analysis: &Analysis) -> usize {
    analysis.rows.iter().filter(|r| r.is_fitted()).count()
}

/// Approximate 95 % interval of Poisson's ratio: ν ± 1.96·σ_ν (first-order, normal).
pub fn poisson_ci95(nu: f64, stderr: f64) -> [f64; 2] {
    [nu - 1.96 * stderr, nu + 1.96 * stderr]
}

#[derive(Serialize)]
struct RegressionEntry {
    slope: f64,
    intercept: f64,
    r_squared: f64,
    p_value: f64,
    stderr: f64,
    intercept_stderr: f64,
    slope_ci95_low: f64,
    slope_ci95_high: f64,
    r_value: f64,
    n: usize,
}

#[derive(Serialize)]
struct PoissonEntry {
    value: f64,
    stderr: f64,
    ci95_low: f64,
    ci95_high: f64,
    loading_axis: Axis,
    auto_axis: bool,
    n: usize,
}

struct RegressionMap<'a>(&'a Analysis);

impl Serialize for RegressionMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let analysis = self.0;
        let mut map = serializer.serialize_map(None)?;
        for cr in &analysis.regressions {
            let r = &cr.regression;
            let entry = RegressionEntry {
                slope: r.slope,
                intercept: r.intercept,
                r_squared: r.r_squared,
                p_value: r.p_value,
                stderr: r.stderr,
                intercept_stderr: r.intercept_stderr,
                slope_ci95_low: r.slope_ci95[0],
                slope_ci95_high: r.slope_ci95[1],
                r_value: r.r_value,
                n: r.n,
            };
            map.serialize_entry(regression_name(cr.component), &entry)?;
        }
        if let Some(p) = &analysis.poisson {
            let [ci95_low, ci95_high] = poisson_ci95(p.from_slopes, p.from_slopes_stderr);
            let entry = PoissonEntry {
                value: p.from_slopes,
                stderr: p.from_slopes_stderr,
                ci95_low,
                ci95_high,
                loading_axis: p.loading_axis,
                auto_axis: p.auto_axis,
                n: fitted_count(analysis),
            };
            map.serialize_entry(POISSON_NAME, &entry)?;
        }
        map.end()
    }
}

/// The regression JSON: `{"x_axis": {"slope": …, "intercept": …, "r_squared": …, "p_value": …,
/// "stderr": …, "intercept_stderr": …, "slope_ci95_low": …, "slope_ci95_high": …, "r_value": …,
/// "n": …}, "y_axis": …, "shear": …}` in the order of the analysis' regressions, then, when it
/// is defined, `"poisson_ratio": {"value", "stderr", "ci95_low", "ci95_high", "loading_axis"
/// ("x"/"y"), "auto_axis", "n"}`; pretty-printed with a trailing newline. A non-finite number
/// is written as `null`.
pub fn regression_json(analysis: &Analysis) -> String {
    crate::to_pretty_json(&RegressionMap(analysis))
}
