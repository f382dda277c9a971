//! The report `analyze --format table` prints: aligned tables of strains, the uncertainty
//! budget, large-deformation measures, the fits and Poisson's ratio.

use crate::app::load::{FrameColumns, stress_fit_text};
use std::fmt::Write as _;
use strain_seer_engine::Analysis;
use strain_seer_engine::analysis::ImageResult;
use strain_seer_formats::{FileFormat, Project, tables};

/// `+0.106214 ± 0.002873`.
fn with_sd(value: f64, sd: f64, decimals: usize) -> String {
    format!("{value:+.decimals$} ± {sd:.decimals$}")
}

/// Scientific notation with 4 significant digits: `9.1001e-3`.
fn sci(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.4e}")
    } else {
        format!("{v}")
    }
}

/// Columns separated by two spaces, the header underlined; text columns (`left`) are
/// left-aligned, numbers right-aligned.
fn aligned(out: &mut String, header: &[&str], left: &[usize], rows: &[Vec<String>]) {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| -> String {
        let mut text = String::from(" ");
        for (i, cell) in cells.iter().enumerate().take(columns) {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            text.push_str("  ");
            if left.contains(&i) {
                text.push_str(cell);
                text.push_str(&pad);
            } else {
                text.push_str(&pad);
                text.push_str(cell);
            }
        }
        text.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(header));
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    let _ = writeln!(
        out,
        "{}",
        line(&rule.iter().map(String::as_str).collect::<Vec<_>>())
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{}",
            line(&row.iter().map(String::as_str).collect::<Vec<_>>())
        );
    }
}

/// A table with one line per analysed image: its number (from 1), its name (with ` *` on the
/// reference when `mark_reference`), then `cells(i, row)`; the name column left-aligned.
fn image_table(
    out: &mut String,
    header: &[&str],
    analysis: &Analysis,
    mark_reference: bool,
    cells: impl Fn(usize, &ImageResult) -> Vec<String>,
) {
    let rows: Vec<Vec<String>> = analysis
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mark = if mark_reference && row.index == analysis.reference {
                " *"
            } else {
                ""
            };
            let mut line = vec![(i + 1).to_string(), format!("{}{mark}", row.name)];
            line.extend(cells(i, row));
            line
        })
        .collect();
    aligned(out, header, &[1], &rows);
}

/// The human-readable report printed by `--format table`.
pub(super) fn render_table(
    analysis: &Analysis,
    project: &Project,
    frames: &FrameColumns,
    file: &str,
    format: FileFormat,
) -> String {
    let mut out = String::new();
    let reference_how = if project.reference.is_some() {
        "chosen"
    } else {
        "smallest deformation distance"
    };
    let _ = writeln!(out, "Strain Seer analysis of '{file}' ({})", format.name());
    let _ = writeln!(
        out,
        "{} of {} images analysed · scale: {} · scale length {} mm · σ = {} px · reference: {} ({reference_how})",
        analysis.rows.len(),
        analysis.rows.len() + analysis.excluded.len(),
        analysis.scale_method.label(),
        analysis.scale_length,
        analysis.sigma_px,
        analysis.reference_name
    );
    for (name, status) in &analysis.excluded {
        let _ = writeln!(out, "left out: '{name}' ({status})");
    }

    let _ = writeln!(
        out,
        "\nSmall strain relative to the reference (± 1 standard uncertainty; * = reference)"
    );
    let header = [
        "#",
        "image",
        "d (mm)",
        "mm/px",
        "εxx",
        "εyy",
        "εxy",
        "residual (mm)",
    ];
    image_table(&mut out, &header, analysis, true, |_, row| {
        let m = &row.measures;
        let u = &row.uncertainty;
        vec![
            format!("{:.3}", row.deformation),
            format!("{:.6}", row.mm_per_px),
            with_sd(m.small.xx, u.small.xx, 6),
            with_sd(m.small.yy, u.small.yy, 6),
            with_sd(m.small.xy, u.small.xy, 6),
            format!("{:.4}", m.residual_mm),
        ]
    });
    if frames.any() {
        render_frames(&mut out, analysis, frames);
    }

    let _ = writeln!(
        out,
        "\nUncertainty budget of εxx / εyy (standard uncertainties; see docs/strain.md)"
    );
    let header = [
        "#",
        "image",
        "points",
        "scale model",
        "scale variation",
        "combined",
    ];
    let pair = |a: f64, b: f64| format!("{a:.4} / {b:.4}");
    image_table(&mut out, &header, analysis, false, |_, row| {
        let b = &row.budget;
        vec![
            pair(b.points.small.xx, b.points.small.yy),
            pair(b.scale_model.small.xx, b.scale_model.small.yy),
            pair(b.scale_variation.small.xx, b.scale_variation.small.yy),
            pair(row.uncertainty.small.xx, row.uncertainty.small.yy),
        ]
    });

    let _ = writeln!(out, "\nLarge-deformation measures");
    let header = [
        "#",
        "image",
        "Exx",
        "Eyy",
        "Exy",
        "ε1",
        "ε2",
        "θε (°)",
        "J",
        "rotation (°)",
    ];
    image_table(&mut out, &header, analysis, false, |_, row| {
        let m = &row.measures;
        vec![
            format!("{:+.6}", m.green.xx),
            format!("{:+.6}", m.green.yy),
            format!("{:+.6}", m.green.xy),
            format!("{:+.6}", m.small_principal.e1),
            format!("{:+.6}", m.small_principal.e2),
            format!("{:+.2}", m.small_principal.angle_deg),
            format!("{:.6}", m.j),
            format!("{:+.3}", m.rotation_deg),
        ]
    });

    let n = analysis.regressions.first().map_or(0, |cr| cr.regression.n);
    let _ = writeln!(
        out,
        "\nLinear fit against deformation distance (n = {n}, slope per mm)"
    );
    let header = [
        "component",
        "",
        "slope",
        "± stderr",
        "95 % CI of slope",
        "intercept",
        "r²",
        "p-value",
    ];
    let rows: Vec<Vec<String>> = analysis
        .regressions
        .iter()
        .map(|cr| {
            let r = &cr.regression;
            let symbol = cr
                .component
                .label()
                .split(" (")
                .next()
                .unwrap_or("")
                .to_owned();
            vec![
                tables::regression_name(cr.component).to_owned(),
                symbol,
                sci(r.slope),
                sci(r.stderr),
                format!("[{}, {}]", sci(r.slope_ci95[0]), sci(r.slope_ci95[1])),
                sci(r.intercept),
                format!("{:.6}", r.r_squared),
                sci(r.p_value),
            ]
        })
        .collect();
    aligned(&mut out, &header, &[0, 1], &rows);

    match &analysis.poisson {
        Some(p) => {
            let axial = p.loading_axis;
            let lateral = axial.other();
            let how = if p.auto_axis {
                "chosen automatically: its strain changes most"
            } else {
                "given"
            };
            let _ = writeln!(
                out,
                "\nPoisson's ratio ν = −slope(ε{lateral}{lateral})/slope(ε{axial}{axial}) = {:.4} ± {:.4} \
                 (loading axis {axial}, {how})",
                p.from_slopes, p.from_slopes_stderr
            );
            let per_image: Vec<String> = analysis
                .rows
                .iter()
                .zip(&p.per_image)
                .filter_map(|(row, v)| v.map(|v| format!("{} {:.4}", row.name, v)))
                .collect();
            if !per_image.is_empty() {
                let _ = writeln!(
                    out,
                    "per image −ε{lateral}{lateral}/ε{axial}{axial}: {}",
                    per_image.join(", ")
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "\nPoisson's ratio: undefined (the axial strain does not change)"
            );
        }
    }
    out
}

/// Film frames: time, force and stress per row, and the stress–strain fit.
fn render_frames(out: &mut String, analysis: &Analysis, frames: &FrameColumns) {
    let area = frames.area_mm2.map_or_else(
        || "no cross-section area (--area)".to_owned(),
        |a| format!("cross-section area {a} mm²"),
    );
    let _ = writeln!(out, "\nFilm frames and the test machine's log ({area})");
    let header = ["#", "image", "t (s)", "F (N)", "σ (MPa)"];
    let opt = |v: Option<f64>, decimals: usize| {
        v.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
    };
    image_table(out, &header, analysis, false, |i, _| {
        let [t, f, s] = frames.row(i);
        vec![opt(t, 3), opt(f, 2), opt(s, 4)]
    });
    if let Some(fit) = &frames.stress_strain {
        let _ = writeln!(out, "Stress–strain fit {}", stress_fit_text(fit));
    } else if let Some(note) = &frames.stress_strain_note {
        let _ = writeln!(out, "No stress–strain fit: {note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_columns() {
        let mut out = String::new();
        aligned(
            &mut out,
            &["a", "bb"],
            &[0],
            &[
                vec!["xxx".into(), "y".into()],
                vec!["1".into(), "εxx".into()],
            ],
        );
        assert_eq!(out, "   a     bb\n   ───  ───\n   xxx    y\n   1    εxx\n");
    }
}
