//! Result tables: the strain table CSV, the regression CSV and the regression JSON (docs/cli.md, "File formats").
//!
//! The first columns and keys are exactly those of the Python Strain Seer, so spreadsheets built
//! on its exports keep working; Strain Seer's extra columns come after them. Numbers are written
//! in full precision (the shortest text that reads back to the same 64-bit float).

use crate::error::ExportError;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::io::Write;
use strain_seer_engine::{Analysis, Axis, Component, ImageResult};

/// The strain table's first columns, exactly as the Python tool wrote them.
pub const STRAIN_TABLE_BASE_COLUMNS: [&str; 5] = [
    "filename",
    "deformation_distance",
    "strain_xx",
    "strain_yy",
    "strain_xy",
];

/// The regression table's first columns, exactly as the Python tool wrote them.
pub const REGRESSION_BASE_COLUMNS: [&str; 5] =
    ["component", "slope", "intercept", "r_squared", "p_value"];

/// The regression table's extra columns, after [`REGRESSION_BASE_COLUMNS`].
pub const REGRESSION_EXTRA_COLUMNS: [&str; 6] = [
    "stderr",
    "intercept_stderr",
    "slope_ci95_low",
    "slope_ci95_high",
    "r_value",
    "n",
];

/// Column name of a component in the strain table (its standard uncertainty is `<name>_sd`).
pub fn strain_column(component: Component) -> &'static str {
    match component {
        Component::EpsXx => "strain_xx",
        Component::EpsYy => "strain_yy",
        Component::EpsXy => "strain_xy",
        Component::GammaXy => "gamma_xy",
        Component::Exx => "green_xx",
        Component::Eyy => "green_yy",
        Component::Exy => "green_xy",
        Component::HenckyXx => "hencky_xx",
        Component::HenckyYy => "hencky_yy",
        Component::HenckyXy => "hencky_xy",
        Component::Eps1 => "strain_1",
        Component::Eps2 => "strain_2",
        Component::EpsAngle => "strain_angle_deg",
        Component::EpsMaxShear => "strain_max_shear",
        Component::E1 => "green_1",
        Component::E2 => "green_2",
        Component::EAngle => "green_angle_deg",
        Component::EMaxShear => "green_max_shear",
        Component::J => "J",
        Component::Rotation => "rotation_deg",
        Component::H1 => "hencky_1",
        Component::H2 => "hencky_2",
        Component::HAngle => "hencky_angle_deg",
        Component::HMaxShear => "hencky_max_shear",
    }
}

/// Name of a component in the regression table and JSON: the Python tool's `x_axis`, `y_axis`,
/// `shear` for εxx, εyy, εxy, the component key (e.g. `exx`) for the others.
pub fn regression_name(component: Component) -> &'static str {
    component.legacy_name().unwrap_or_else(|| component.key())
}

/// Columns after the three strains that are not per-component values: the deformation
/// gradient, the fit residual, the scale, the reference flag, Poisson's ratio of the image
/// (−ε_lateral/ε_axial, empty where ε_axial = 0) and the user's exclusion (`true`/`false` and
/// the reason).
const TRAILING_COLUMNS: [&str; 10] = [
    "f_xx",
    "f_xy",
    "f_yx",
    "f_yy",
    "residual_mm",
    "mm_per_px",
    "is_reference",
    "poisson_ratio",
    "excluded",
    "excluded_reason",
];

/// The regression table's last column: the loading axis, on the Poisson's ratio row only.
pub const REGRESSION_LOADING_AXIS_COLUMN: &str = "loading_axis";

/// Name of the Poisson's ratio row of the regression table and key of the regression JSON.
pub const POISSON_NAME: &str = "poisson_ratio";

/// Components after the three default ones, in the order of their (value, sd) column pairs.
fn extra_components() -> impl Iterator<Item = Component> {
    Component::ALL
        .into_iter()
        .filter(|c| !Component::DEFAULT.contains(c))
}

/// Every column of the strain table, in order.
pub fn strain_table_columns() -> Vec<String> {
    let mut columns: Vec<String> = STRAIN_TABLE_BASE_COLUMNS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    columns.extend(
        Component::DEFAULT
            .iter()
            .map(|c| format!("{}_sd", strain_column(*c))),
    );
    for c in extra_components() {
        columns.push(strain_column(c).to_owned());
        columns.push(format!("{}_sd", strain_column(c)));
    }
    columns.extend(TRAILING_COLUMNS.iter().map(|s| (*s).to_owned()));
    columns
}

/// A number in full precision: the shortest decimal that reads back to the same float
/// (`0.1`, `2.5994328203143333e-18`, `40.0`); empty for NaN, `inf`/`-inf` for infinities.
pub fn number(v: f64) -> String {
    let mut text = String::new();
    push_number(&mut text, v, &mut ryu::Buffer::new());
    text
}

/// Appends [`number`]`(v)` to `out` without allocating: Rust's `{:?}` layout of a float
/// (decimal from 1e-4 up to 1e16, `1.5e-7`/`1e16` outside), with the digits from `ryu`.
/// `ryu` lays out [1e-5, 1e-4) as `0.0000ddd`, where `{:?}` writes `d.dde-5`; that one
/// range is rewritten.
fn push_number(out: &mut String, v: f64, ryu: &mut ryu::Buffer) {
    if v.is_nan() {
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let text = ryu.format_finite(v);
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    if let Some(digits) = unsigned.strip_prefix("0.0000") {
        // 1e-5 <= |v| < 1e-4: `digits` starts with the first significant digit.
        out.push_str(sign);
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str("e-5");
    } else {
        out.push_str(text);
    }
}

/// Poisson's ratio of result row `position`, when there is one.
pub fn poisson_of_row(analysis: &Analysis, position: usize) -> Option<f64> {
    analysis
        .poisson
        .as_ref()
        .and_then(|p| p.per_image.get(position).copied().flatten())
}

/// A CSV writer that formats numbers into one reused buffer (no `String` per cell) and counts
/// lines for its errors.
struct RowWriter<W: Write> {
    csv: csv::Writer<W>,
    ryu: ryu::Buffer,
    scratch: String,
    line: usize,
}

impl<W: Write> RowWriter<W> {
    fn new(out: W) -> Self {
        Self {
            csv: csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .buffer_capacity(1 << 16)
                .from_writer(out),
            ryu: ryu::Buffer::new(),
            scratch: String::with_capacity(32),
            line: 1,
        }
    }

    fn error(&self, err: &dyn std::fmt::Display) -> ExportError {
        ExportError::Csv {
            line: self.line,
            message: err.to_string(),
        }
    }

    fn text(&mut self, text: &str) -> Result<(), ExportError> {
        self.csv.write_field(text).map_err(|e| self.error(&e))
    }

    fn number(&mut self, v: f64) -> Result<(), ExportError> {
        self.scratch.clear();
        push_number(&mut self.scratch, v, &mut self.ryu);
        self.csv
            .write_field(self.scratch.as_bytes())
            .map_err(|e| ExportError::Csv {
                line: self.line,
                message: e.to_string(),
            })
    }

    fn opt_number(&mut self, v: Option<f64>) -> Result<(), ExportError> {
        match v {
            Some(v) => self.number(v),
            None => self.text(""),
        }
    }

    fn end(&mut self) -> Result<(), ExportError> {
        self.csv
            .write_record(None::<&[u8]>)
            .map_err(|e| self.error(&e))?;
        self.line += 1;
        Ok(())
    }

    fn header<S: AsRef<str>>(&mut self, header: &[S]) -> Result<(), ExportError> {
        for name in header {
            self.text(name.as_ref())?;
        }
        self.end()
    }

    fn finish(self) -> Result<W, ExportError> {
        let line = self.line;
        self.csv.into_inner().map_err(|e| ExportError::Csv {
            line,
            message: e.to_string(),
        })
    }
}

/// Writes the cells of one strain table row (the columns of [`strain_table_columns`]),
/// without ending the record.
fn strain_row<W: Write>(
    out: &mut RowWriter<W>,
    analysis: &Analysis,
    position: usize,
    row: &ImageResult,
) -> Result<(), ExportError> {
    let m = &row.measures;
    let u = &row.uncertainty;
    out.text(&row.name)?;
    out.number(row.deformation)?;
    for c in Component::DEFAULT {
        out.number(c.value(m))?;
    }
    for c in Component::DEFAULT {
        out.number(c.value(u))?;
    }
    for c in extra_components() {
        out.number(c.value(m))?;
        out.number(c.value(u))?;
    }
    for v in [
        m.f[0][0],
        m.f[0][1],
        m.f[1][0],
        m.f[1][1],
        m.residual_mm,
        row.mm_per_px,
    ] {
        out.number(v)?;
    }
    out.text(bool_text(row.index == analysis.reference))?;
    out.opt_number(poisson_of_row(analysis, position))?;
    out.text(bool_text(!row.is_fitted()))?;
    out.text(row.excluded.as_deref().unwrap_or_default())
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn into_text(bytes: Vec<u8>) -> Result<String, ExportError> {
    String::from_utf8(bytes).map_err(|e| ExportError::Csv {
        line: 0,
        message: e.to_string(),
    })
}

/// The strain table: one row per analysed image in image order, the columns of
/// [`strain_table_columns`]: `filename,deformation_distance,strain_xx,strain_yy,strain_xy`, the
/// standard uncertainties `strain_xx_sd,strain_yy_sd,strain_xy_sd`, every other component with its
/// `_sd`, the deformation gradient `f_xx,f_xy,f_yx,f_yy`, the fit residual (mm), the image's mm per
/// pixel, `is_reference` (`true`/`false`), the image's Poisson's ratio `poisson_ratio` (empty
/// when undefined), `excluded` (`true`/`false`: left out of the fits by the user) and
/// `excluded_reason`.
pub fn strain_table_csv(analysis: &Analysis) -> Result<String, ExportError> {
    let mut bytes = Vec::with_capacity(64 + analysis.rows.len() * 1200);
    write_strain_table_csv(analysis, &mut bytes)?;
    into_text(bytes)
}

/// [`strain_table_csv`] streamed into `out` (give it a `BufWriter` for a file).
pub fn write_strain_table_csv<W: Write>(analysis: &Analysis, out: W) -> Result<(), ExportError> {
    let mut w = RowWriter::new(out);
    w.header(&strain_table_columns())?;
    for (position, row) in analysis.rows.iter().enumerate() {
        strain_row(&mut w, analysis, position, row)?;
        w.end()?;
    }
    w.finish().map(drop)
}

/// The columns [`strain_table_csv_with_frames`] adds after the strain table's: a film frame's
/// time in the film (s), the test machine's force at that time (N) and the engineering stress
/// force / cross-section area (MPa).
pub const FRAME_LOG_COLUMNS: [&str; 3] = ["time_s", "force_N", "stress_MPa"];

/// The strain table of [`strain_table_csv`] with, when any image is a film's frame (`frames`
/// is parallel to `analysis.rows` and holds `[time_s, force_N, stress_MPa]`), the columns
/// [`FRAME_LOG_COLUMNS`] at the end (empty where a value is missing). With `frames` empty it is
/// exactly [`strain_table_csv`].
pub fn strain_table_csv_with_frames(
    analysis: &Analysis,
    frames: &[[Option<f64>; 3]],
) -> Result<String, ExportError> {
    let mut bytes = Vec::with_capacity(64 + analysis.rows.len() * 1260);
    write_strain_table_csv_with_frames(analysis, frames, &mut bytes)?;
    into_text(bytes)
}

/// [`strain_table_csv_with_frames`] streamed into `out` (give it a `BufWriter` for a file).
pub fn write_strain_table_csv_with_frames<W: Write>(
    analysis: &Analysis,
    frames: &[[Option<f64>; 3]],
    out: W,
) -> Result<(), ExportError> {
    if frames.is_empty() {
        return write_strain_table_csv(analysis, out);
    }
    let mut header = strain_table_columns();
    header.extend(FRAME_LOG_COLUMNS.iter().map(|s| (*s).to_owned()));
    let mut w = RowWriter::new(out);
    w.header(&header)?;
    for (position, row) in analysis.rows.iter().enumerate() {
        strain_row(&mut w, analysis, position, row)?;
        for v in frames.get(position).copied().unwrap_or([None; 3]) {
            w.opt_number(v)?;
        }
        w.end()?;
    }
    w.finish().map(drop)
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::demo_analysis;

    #[test]
    fn strain_table_of_the_demo() {
        let text = strain_table_csv(&demo_analysis()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].starts_with(
            "filename,deformation_distance,strain_xx,strain_yy,strain_xy,strain_xx_sd,"
        ));
        assert!(
            lines[2].starts_with(
                "deformation-10mm-force.png,10.0,0.1062140641126128,-0.19192853294356427,0.018450129500321672,0.006,"
            ),
            "{}",
            lines[2]
        );
        assert!(lines[1].ends_with(",true,,false,") && lines[2].ends_with(",false,"));
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let green = header.iter().position(|h| h == "green_xx").unwrap();
        let j = header.iter().position(|h| h == "J").unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows[3][green].parse::<f64>().unwrap(), 0.3221986551511078);
        assert_eq!(rows[3][j].parse::<f64>().unwrap(), 0.6710599072460792);
        assert!(rows.iter().all(|r| r.len() == header.len()));
    }

    #[test]
    fn film_frames_add_time_force_and_stress_columns_photos_do_not() {
        let analysis = demo_analysis();
        let plain = strain_table_csv(&analysis).unwrap();
        assert_eq!(strain_table_csv_with_frames(&analysis, &[]).unwrap(), plain);
        let frames: Vec<[Option<f64>; 3]> = analysis
            .rows
            .iter()
            .map(|r| {
                if r.name.contains("10mm") {
                    [Some(1.5), Some(500.0), Some(25.0)]
                } else {
                    [None; 3]
                }
            })
            .collect();
        let text = strain_table_csv_with_frames(&analysis, &frames).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with(",excluded,excluded_reason,time_s,force_N,stress_MPa"),
            "{}",
            lines[0]
        );
        assert!(lines[2].ends_with(",false,,1.5,500.0,25.0"), "{}", lines[2]);
        assert!(lines[1].ends_with(",false,,,,"), "{}", lines[1]);
        assert_eq!(lines[1].split(',').count(), lines[0].split(',').count());
    }

    #[test]
    fn filenames_with_commas_and_quotes_are_quoted() {
        let mut a = demo_analysis();
        a.rows[1].name = "a, \"b\".png".into();
        let text = strain_table_csv(&a).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let names: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
        assert_eq!(names[1], "a, \"b\".png");
    }

    #[test]
    fn regression_table_and_json_of_the_demo() {
        let a = demo_analysis();
        let text = regression_csv(&a).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "component,slope,intercept,r_squared,p_value,stderr,intercept_stderr,slope_ci95_low,slope_ci95_high,r_value,n,loading_axis"
        );
        assert!(lines[1].starts_with("x_axis,0.00910010373354716,0.0033337499592404063,0.9911750891251511,0.004422233512041961,"));
        assert!(
            lines[2].starts_with("y_axis,")
                && lines[3].starts_with("shear,")
                && lines[3].ends_with(",4,")
        );
        let json = regression_json(&a);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["x_axis"]["slope"], 0.00910010373354716);
        assert_eq!(v["shear"]["p_value"], 0.2409984630319192);
        assert_eq!(v["y_axis"]["n"], 4);
        let order: Vec<usize> = [
            "\"x_axis\"",
            "\"y_axis\"",
            "\"shear\"",
            "\"slope\"",
            "\"intercept\"",
            "\"r_squared\"",
            "\"p_value\"",
        ]
        .iter()
        .map(|k| json.find(k).unwrap())
        .collect();
        assert!(order[0] < order[1] && order[1] < order[2]);
        assert!(order[3] < order[4] && order[4] < order[5] && order[5] < order[6]);
        assert!(json.ends_with("}\n"));
    }

    fn with_poisson_and_an_exclusion() -> Analysis {
        let mut a = demo_analysis();
        a.rows[2].excluded = Some("blurred, out of focus".into());
        a.poisson = Some(strain_seer_engine::Poisson {
            loading_axis: Axis::Y,
            auto_axis: true,
            per_image: vec![None, Some(0.55), Some(0.52), Some(0.58)],
            from_slopes: 0.5777,
            from_slopes_stderr: 0.0324,
        });
        a
    }

    #[test]
    fn poisson_ratio_is_a_row_of_the_regression_table_and_a_key_of_the_json() {
        let a = with_poisson_and_an_exclusion();
        let text = regression_csv(&a).unwrap();
        let last = text.lines().last().unwrap();
        assert!(
            last.starts_with("poisson_ratio,0.5777,,,,0.0324,,") && last.ends_with(",,3,y"),
            "{last}"
        );
        let v: serde_json::Value = serde_json::from_str(&regression_json(&a)).unwrap();
        let p = &v["poisson_ratio"];
        assert_eq!(p["value"], 0.5777);
        assert_eq!(p["stderr"], 0.0324);
        assert_eq!(p["loading_axis"], "y");
        assert_eq!(p["n"], 3);
    }

    #[test]
    fn strain_table_has_poisson_per_image_and_the_exclusion_marked() {
        let a = with_poisson_and_an_exclusion();
        let text = strain_table_csv(&a).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][col("poisson_ratio")], "");
        assert_eq!(&rows[1][col("poisson_ratio")], "0.55");
        assert_eq!(&rows[2][col("excluded")], "true");
        assert_eq!(&rows[2][col("excluded_reason")], "blurred, out of focus");
        assert_eq!(&rows[3][col("excluded")], "false");
    }

    #[test]
    fn column_names_are_unique_and_start_with_the_python_ones() {
        let columns = strain_table_columns();
        assert_eq!(&columns[..5], STRAIN_TABLE_BASE_COLUMNS);
        assert_eq!(
            &columns[5..8],
            ["strain_xx_sd", "strain_yy_sd", "strain_xy_sd"]
        );
        let mut sorted = columns.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), columns.len());
        assert_eq!(columns.len(), 5 + 3 + 2 * 21 + 10);
        assert_eq!(
            &columns[columns.len() - 4..],
            [
                "is_reference",
                "poisson_ratio",
                "excluded",
                "excluded_reason"
            ]
        );
    }

    #[test]
    fn regression_names() {
        assert_eq!(regression_name(Component::EpsXx), "x_axis");
        assert_eq!(regression_name(Component::EpsYy), "y_axis");
        assert_eq!(regression_name(Component::EpsXy), "shear");
        assert_eq!(regression_name(Component::Exx), "exx");
    }

    #[test]
    fn numbers_are_full_precision() {
        assert_eq!(number(0.0), "0.0");
        assert_eq!(number(40.0), "40.0");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(2.5994328203143333e-18), "2.5994328203143333e-18");
        assert_eq!(number(-0.19192853294356427), "-0.19192853294356427");
        assert_eq!(number(f64::NAN), "");
        assert_eq!(number(f64::NEG_INFINITY), "-inf");
        for v in [1.0 / 3.0, 1e-300, 123_456_789.123_456_78, -7.5e22] {
            assert_eq!(number(v).parse::<f64>().unwrap(), v);
        }
    }

    /// The fast writer lays numbers out byte for byte as `{:?}` did before it (the files stay
    /// the same): every power of ten and its neighbours, the [1e-5, 1e-4) range `ryu` writes
    /// differently, and random bit patterns.
    #[test]
    fn numbers_are_laid_out_as_debug_formatting_does() {
        let mut values = vec![
            0.0,
            -0.0,
            1e-5,
            1.2e-5,
            -9.99e-5,
            1e-4,
            5e-324,
            f64::MAX,
            f64::MIN,
        ];
        for e in -320..=308 {
            let p = format!("1e{e}").parse::<f64>().unwrap();
            for v in [p, -p, p * 1.5, p * 0.999_999_9, p.next_up(), p.next_down()] {
                values.push(v);
            }
        }
        for v in values {
            assert_eq!(number(v), format!("{v:?}"), "{v:e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn random_numbers_are_laid_out_as_debug_formatting_does(bits in proptest::num::u64::ANY) {
            let v = f64::from_bits(bits);
            if v.is_finite() {
                proptest::prop_assert_eq!(number(v), format!("{v:?}"));
            }
        }
    }
}
