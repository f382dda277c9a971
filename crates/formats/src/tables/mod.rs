//! Result tables: the strain table CSV, the regression CSV and the regression JSON (docs/cli.md, "File formats").
//!
//! The first columns and keys are exactly those of the Python Strain Seer, so spreadsheets built
//! on its exports keep working; Strain Seer's extra columns come after them. Numbers are written
//! in full precision (the shortest text that reads back to the same 64-bit float).

//!
//! The parts: this module names the columns and keys; `number` writes a float as the Python
//! tool's `repr` did (shortest round-trip digits, laid out as Rust's `{:?}`); `rows` is the CSV
//! writer those numbers go through; `strains` writes the strain table; `regression` the
//! regression CSV and JSON.

mod number;
mod regression;
mod rows;
mod strains;

pub use number::number;
pub use regression::{fitted_count, poisson_ci95, regression_csv, regression_json};
pub use strains::{
    FRAME_LOG_COLUMNS, strain_table_csv, strain_table_csv_with_frames, write_strain_table_csv,
    write_strain_table_csv_with_frames,
};

use strain_seer_engine::{Analysis, Component};

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

/// Poisson's ratio of result row `position`, when there is one.
pub fn poisson_of_row(analysis: &Analysis, position: usize) -> Option<f64> {
    analysis
        .poisson
        .as_ref()
        .and_then(|p| p.per_image.get(position).copied().flatten())
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::demo_analysis;
    use strain_seer_engine::Axis;

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
    /// the same): every power of ten and its neighbours, the [1e-5, 1e-4) range and the positive
    /// exponents `zmij` writes differently, and random bit patterns. One exception, [`same_as_debug_but_ties`].
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
            same_as_debug_but_ties(v);
        }
    }

    /// `number(v)` is `{:?}`, except where two shortest decimals are equally close to `v`
    /// (`661175584419356.25` → `…356.2` or `…356.3`): there `{:?}` rounds the tie up and
    /// `number` to the even digit, as Python's `repr`, `ryu` and `zmij` do. Both read back to `v`.
    fn same_as_debug_but_ties(v: f64) {
        let ours = number(v);
        // The CSV writer's shortcut writes the same.
        if let Some(plain) = super::number::plain_number(v, &mut zmij::Buffer::new()) {
            assert_eq!(plain, ours);
        }
        let debug = format!("{v:?}");
        if ours == debug {
            return;
        }
        assert_eq!(ours.parse::<f64>().ok(), Some(v), "{ours} reads back");
        let (o, d) = (ours.as_bytes(), debug.as_bytes());
        let n = o.len();
        assert!(
            n == d.len() && o[..n - 1] == d[..n - 1],
            "{ours} and {debug} differ before the last digit"
        );
        let (last, up) = (o[n - 1], d[n - 1]);
        assert!(
            last.is_ascii_digit() && up == last + 1 && (last - b'0').is_multiple_of(2),
            "{ours}/{debug}: not a tie rounded to even"
        );
        // A tie: v lies exactly halfway, so its exact decimal expansion ends in 5 right after
        // the shortest digits.
        let exact = format!("{v:.40}");
        let exact = exact.trim_end_matches('0');
        assert!(
            exact.ends_with('5'),
            "{ours}/{debug}: {exact} is not halfway"
        );
    }

    /// A regression: a random run found `{:?}` and `number` disagreeing on ties (the proptest
    /// compared with `{:?}` alone). Python's `repr` writes `661175584419356.2`, as `number` does.
    #[test]
    // The literals are exact binary values lying halfway between two shortest decimals.
    #[allow(clippy::excessive_precision)]
    fn ties_round_to_even_as_pythons_repr_does() {
        assert_eq!(number(661_175_584_419_356.25), "661175584419356.2");
        assert_eq!(number(266_019_534_754_693.625), "266019534754693.62");
        assert_eq!(number(-661_175_584_419_356.25), "-661175584419356.2");
        same_as_debug_but_ties(661_175_584_419_356.25);
        same_as_debug_but_ties(266_019_534_754_693.625);
    }

    proptest::proptest! {
        #[test]
        fn random_numbers_are_laid_out_as_debug_formatting_does(bits in proptest::num::u64::ANY) {
            let v = f64::from_bits(bits);
            if v.is_finite() {
                same_as_debug_but_ties(v);
            }
        }
    }
}
