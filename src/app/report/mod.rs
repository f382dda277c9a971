//! The lab report: one analysis written up as a self-contained HTML page ([`html`]) or, with the
//! `pdf` feature, a PDF typeset in-process by typst (`pdf`).
//!
//! Both formats show the same content, built here once from a [`ReportInput`]: the settings, the method
//! with its formulas, a thumbnail of every photo with its markers, the strain and regression
//! tables, Poisson's ratio, every plot, the warnings, the photos' SHA-256 checksums, and an
//! appendix with every number of `strains.csv` and `regression.json` in full precision (the
//! shortest text that reads back to the same 64-bit float), so that the report can be checked
//! against the exports and traced to its data. Building a report does no I/O: the callers (CLI
//! and web app) load the photos' thumbnails and pass them in.

pub mod html;
#[cfg(feature = "pdf")]
pub mod pdf;
mod warnings;

use crate::app::load::{FrameColumns, stress_fit_text};
use crate::engine::{Analysis, Component};
use crate::formats::{ExportError, Project, plot, tables};
pub use warnings::{Warning, warnings};

/// A photo's thumbnail for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Thumbnail {
    /// JPEG bytes.
    pub jpeg: Vec<u8>,
    /// Size of the thumbnail, px.
    pub size: [u32; 2],
}

/// Everything a report shows. The photos are in the project's analysis order
/// ([`Project::sorted_images`]), `None` where the photo was not available.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    pub project: &'a Project,
    pub analysis: &'a Analysis,
    pub thumbnails: Vec<Option<Thumbnail>>,
    /// When the report was made, as shown (e.g. `2026-12-01 17:53 UTC`).
    pub generated: String,
    /// Where the data came from (a file name or the web app's project).
    pub source: String,
}

/// The software version written into every report.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Which output a report is written as, from a file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Html,
    Pdf,
}

impl ReportFormat {
    /// Every format, in the order offered.
    pub const ALL: [ReportFormat; 2] = [ReportFormat::Html, ReportFormat::Pdf];

    /// The format's key in URLs (`report/{key}`) and its file extension.
    pub fn key(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
        }
    }

    /// Whether this build writes the format (PDF needs the `pdf` feature).
    pub fn available(self) -> bool {
        match self {
            ReportFormat::Html => true,
            ReportFormat::Pdf => cfg!(feature = "pdf"),
        }
    }

    /// `.html`/`.htm` → HTML, `.pdf` → PDF (case-insensitive); anything else `None`.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "html" | "htm" => Some(Self::Html),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
}

/// A report that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("making the plots: {0}")]
    Plot(#[from] ExportError),
    #[error("typesetting the PDF: {0}")]
    Typeset(String),
    #[error("this strain-seer was built without PDF reports (cargo feature `pdf`)")]
    PdfNotBuilt,
}

/// One plot per regressed component, as SVG text.
pub fn plots(analysis: &Analysis) -> Result<Vec<(Component, String)>, ReportError> {
    analysis
        .regressions
        .iter()
        .map(|cr| {
            let svg = plot::to_svg(analysis, cr.component, plot::DEFAULT_SIZE)?;
            Ok::<_, ReportError>((cr.component, svg))
        })
        .collect()
}

/// The film frames' time, force and stress and the stress–strain fit ([`FrameColumns`]).
pub fn frame_columns(input: &ReportInput<'_>) -> FrameColumns {
    FrameColumns::from_project(input.analysis, input.project)
}

/// The rows of the report's test-machine table: `#`, image, t (s), F (N), σ (MPa) (`—` where
/// missing).
pub fn frame_table(analysis: &Analysis, frames: &FrameColumns) -> Vec<[String; 5]> {
    let opt = |v: Option<f64>, decimals: usize| {
        v.map_or_else(|| "—".to_owned(), |v| format!("{v:.decimals$}"))
    };
    analysis
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let [t, f, s] = frames.row(i);
            [
                (i + 1).to_string(),
                row.name.clone(),
                opt(t, 3),
                opt(f, 2),
                opt(s, 4),
            ]
        })
        .collect()
}

/// The sentence under the test-machine table: the area and the fit, or why there is none.
pub fn frame_summary(frames: &FrameColumns) -> String {
    let area = frames.area_mm2.map_or_else(
        || "No cross-section area was entered, so there is no stress.".to_owned(),
        |a| {
            format!(
                "Engineering stress σ = F / A with the cross-section area A = {} mm².",
                trim(a)
            )
        },
    );
    match (&frames.stress_strain, &frames.stress_strain_note) {
        (Some(fit), _) => format!("{area} Stress–strain fit: {}.", stress_fit_text(fit)),
        (None, Some(note)) if frames.area_mm2.is_some() => {
            format!("{area} No stress–strain fit: {note}.")
        }
        _ => area,
    }
}

/// The film frames' strain–stress plot as SVG text, when there is a stress–strain fit.
pub fn stress_plot(
    analysis: &Analysis,
    frames: &FrameColumns,
) -> Result<Option<String>, ReportError> {
    let Some(fit) = &frames.stress_strain else {
        return Ok(None);
    };
    let stresses: Vec<Option<f64>> = frames.rows.iter().map(|r| r[2]).collect();
    Ok(Some(plot::stress_strain_svg(
        analysis,
        &stresses,
        fit,
        plot::DEFAULT_SIZE,
    )?))
}

/// One block of the appendix: a title and its `(column, value)` pairs.
pub type Block = (String, Vec<(String, String)>);

/// The full-precision appendix: the strain table and the regression numbers as
/// `(row title, [(column, value)])`, numbers exactly as `strains.csv` and `regression.json`
/// write them.
pub fn full_precision(
    analysis: &Analysis,
    frames: &FrameColumns,
) -> Result<Vec<Block>, ReportError> {
    let mut blocks = Vec::new();
    let csv = tables::strain_table_csv_with_frames(analysis, &frames.rows)?;
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ExportError::Csv {
            line: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(str::to_owned)
        .collect();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ExportError::Csv {
            line: line + 2,
            message: e.to_string(),
        })?;
        let mut fields = record.iter();
        let title = fields.next().unwrap_or_default().to_owned();
        let pairs = header
            .iter()
            .skip(1)
            .zip(fields)
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| (h.clone(), v.to_owned()))
            .collect();
        blocks.push((title, pairs));
    }
    let json: serde_json::Value = serde_json::from_str(&tables::regression_json(analysis))
        .map_err(|e| ExportError::Csv {
            line: 0,
            message: e.to_string(),
        })?;
    if let Some(map) = json.as_object() {
        for (name, entry) in map {
            let pairs = entry
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            let text = match v {
                                serde_json::Value::Number(n) => {
                                    n.as_f64().map_or_else(|| n.to_string(), tables::number)
                                }
                                serde_json::Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (k.clone(), text)
                        })
                        .collect()
                })
                .unwrap_or_default();
            blocks.push((format!("regression {name}"), pairs));
        }
    }
    Ok(blocks)
}

/// A value rounded for the tables: 6 decimals, or scientific notation for very small or large
/// magnitudes; `—` for a non-finite value.
pub fn fmt_value(v: f64) -> String {
    fmt_scaled(v, |v| format!("{v:+.6}"), |v| format!("{v:+.4e}"))
}

/// A statistic (standard error, r², p-value) with 4 significant digits.
pub fn fmt_stat(v: f64) -> String {
    fmt_scaled(v, |v| format!("{v:.4}"), |v| format!("{v:.4e}"))
}

/// `fixed(v)` for 0 and magnitudes from 10⁻³ to below 10⁵ (−0 printed as 0), `scientific(v)`
/// for the rest, `—` for a non-finite value.
fn fmt_scaled(v: f64, fixed: fn(f64) -> String, scientific: fn(f64) -> String) -> String {
    if !v.is_finite() {
        "—".to_owned()
    } else if v == 0.0 || (1e-3..1e5).contains(&v.abs()) {
        fixed(v + 0.0)
    } else {
        scientific(v)
    }
}

/// The method in short, as `(heading, text)` paragraphs with formulas in plain Unicode: the same
/// words in both formats, nothing linked.
pub fn method_paragraphs(analysis: &Analysis) -> Vec<(&'static str, String)> {
    vec![
        (
            "Points",
            "On every photo five fiducial markers (0 top-left, 1 top-right, 2 bottom-right, \
             3 bottom-left, 4 centre) and two scale points are placed, by hand or detected."
                .to_owned(),
        ),
        (
            "Scale",
            format!(
                "Pixels become millimetres by the scale method “{}”: “span” uses the two scale \
                 points, s = L / |p₁ − p₀| mm/px with L = {} mm; “ruler” the ruler's fitted \
                 graduation at the markers; “rectified” also undoes the camera's tilt; “target” \
                 maps the photo onto the printed dot grid's plane by a homography.",
                analysis.scale_method,
                trim(analysis.scale_length)
            ),
        ),
        (
            "Deformation gradient",
            "F is the least-squares fit of the four edge vectors Xᵢ (marker i minus the centre, \
             reference photo) onto xᵢ (current photo): F = (Σ xᵢXᵢᵀ)(Σ XᵢXᵢᵀ)⁻¹; the fit residual \
             is the RMS of F·Xᵢ − xᵢ in mm."
                .to_owned(),
        ),
        (
            "Strain measures",
            "Small strain ε = ½(F + Fᵀ) − I; Green–Lagrange E = ½(FᵀF − I); Hencky H = ln U with \
             U = √(FᵀF); principal values e₁,₂ = (xx + yy)/2 ± √(((xx − yy)/2)² + xy²); \
             J = det F; rotation from the polar decomposition F = RU."
                .to_owned(),
        ),
        (
            "Uncertainty",
            format!(
                "Every point is taken as uncertain by σ = {} px in x and y; the uncertainty of each \
                 strain (±, one standard uncertainty) propagates σ through the scale and F to first \
                 order, with the scale model's own uncertainty added.",
                trim(analysis.sigma_px)
            ),
        ),
        (
            "Regression",
            "Each chosen component y is fitted against the deformation distance d by least \
             squares, y = a + b·d, over the images not excluded (the reference included): \
             slope b, its standard error s_b = s/√Σ(dᵢ − d̄)² with s² = Σ(yᵢ − ŷᵢ)²/(n − 2), the \
             95 % interval b ± t(0.975, n − 2)·s_b, r² and the two-sided p-value of b = 0."
                .to_owned(),
        ),
        (
            "Poisson's ratio",
            "ν = −b_lateral / b_axial from the slopes of the small normal strains along the \
             loading axis and across it, with first-order standard error \
             σ_ν² = (σ_lat² + ν²σ_ax² + 2ν·cov)/b_ax²; per image ν = −ε_lateral/ε_axial."
                .to_owned(),
        ),
    ]
}

/// A setting as typed: `40`, `0.5`.
pub fn trim(v: f64) -> String {
    tables::number(v)
        .strip_suffix(".0")
        .map_or_else(|| tables::number(v), str::to_owned)
}

/// A deformation distance for reading: at most 4 decimals (0.1 µm), trailing zeros dropped
/// (`10`, `4.6847`). Distances read from a machine log are interpolated and carry 15 digits;
/// the appendix keeps them in full precision.
pub fn distance(mm: f64) -> String {
    if !mm.is_finite() {
        return "—".to_owned();
    }
    let text = format!("{mm:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// The settings table: `(setting, value)`.
pub fn settings(input: &ReportInput<'_>) -> Vec<(&'static str, String)> {
    let a = input.analysis;
    let p = input.project;
    let axis = match &a.poisson {
        Some(nu) if nu.auto_axis => {
            format!("{} (chosen: its strain changes most)", nu.loading_axis)
        }
        Some(nu) => nu.loading_axis.to_string(),
        None => "— (Poisson's ratio undefined)".to_owned(),
    };
    let mut rows = vec![
        ("Data", input.source.clone()),
        ("Reference image", a.reference_name.clone()),
        ("Scale method", a.scale_method.to_string()),
        ("Scale length", format!("{} mm", trim(a.scale_length))),
        ("Point uncertainty σ", format!("{} px", trim(a.sigma_px))),
        ("Loading axis", axis),
        (
            "Components",
            a.regressions
                .iter()
                .map(|r| r.component.label())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "Images",
            format!(
                "{} in the project, {} analysed, {} in the fits",
                p.images.len(),
                a.rows.len(),
                tables::fitted_count(a)
            ),
        ),
    ];
    if let Some(f) = p.focal_35mm {
        rows.push(("Focal length (35 mm eq.)", format!("{} mm", trim(f))));
    }
    if let Some(pitch) = p.target_pitch_mm {
        rows.push(("Calibration target pitch", format!("{} mm", trim(pitch))));
    }
    rows
}

/// Components shown in the strain table: the regressed ones.
pub fn table_components(analysis: &Analysis) -> Vec<Component> {
    analysis.regressions.iter().map(|r| r.component).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_format_follows_the_extension() {
        use std::path::Path;
        assert_eq!(
            ReportFormat::from_path(Path::new("r.HTML")),
            Some(ReportFormat::Html)
        );
        assert_eq!(
            ReportFormat::from_path(Path::new("a/r.pdf")),
            Some(ReportFormat::Pdf)
        );
        assert_eq!(ReportFormat::from_path(Path::new("r.txt")), None);
        assert_eq!(ReportFormat::from_path(Path::new("report")), None);
    }

    #[test]
    fn values_are_rounded_for_reading() {
        assert_eq!(fmt_value(0.1062140641126128), "+0.106214");
        assert_eq!(fmt_value(-0.0), "+0.000000");
        assert_eq!(fmt_value(2.5e-7), "+2.5000e-7");
        assert_eq!(fmt_value(f64::NAN), "—");
        assert_eq!(fmt_stat(0.0324), "0.0324");
        assert_eq!(trim(40.0), "40");
        assert_eq!(trim(0.5), "0.5");
        assert_eq!(distance(10.0), "10");
        assert_eq!(distance(4.684684684684685), "4.6847");
        assert_eq!(distance(27.5), "27.5");
        assert_eq!(distance(-0.00001), "0");
        assert_eq!(distance(f64::NAN), "—");
    }
}

/// `YYYY-MM-DD HH:MM UTC` of a Unix time in seconds (proleptic Gregorian calendar).
pub fn utc_text(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// The current time as [`utc_text`].
pub fn now_text() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    utc_text(secs)
}

/// A JPEG thumbnail (longest side at most `max_side` px) of decoded image bytes; `None` when
/// the bytes are not an image this build decodes.
pub fn thumbnail_of(bytes: &[u8], max_side: u32) -> Option<Thumbnail> {
    let image = image::load_from_memory(bytes).ok()?;
    let small = image.thumbnail(max_side, max_side).to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 75)
        .encode_image(&small)
        .ok()?;
    Some(Thumbnail {
        jpeg,
        size: [small.width(), small.height()],
    })
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn unix_times_become_utc_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_text(1_796_140_800), "2026-12-01 16:00 UTC");
        assert_eq!(utc_text(951_825_600), "2000-02-29 12:00 UTC");
    }
}
