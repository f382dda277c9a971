//! `strain-seer analyze`: annotation or project JSON → strain table, regressions, exports.

use crate::app::scale::{ScaleAction, ScaleLengthChange, scale_action};
use crate::cli::BadInput;
use anyhow::Context;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strain_seer_engine::scale::FOCAL_35MM_RANGE;
use strain_seer_engine::{Analysis, Axis, Component, ScaleMethod, analyze};
use strain_seer_formats::{FileFormat, PointSource, Project, plot, tables};

const AFTER_HELP: &str = "\
Examples:
  strain-seer analyze testdata/demo/annotations.json
  strain-seer analyze annotations.json --out results --sigma-px 0.5
  strain-seer analyze project.json --reference img-00.png --format csv > strains.csv
  strain-seer analyze annotations.json --components eps_xx,eps_yy,exx,eyy,j --out results

FILE is either the Python Strain Seer's annotation (\"raw data\") JSON or a Strain Seer project
JSON; the format is detected from the content. Images that are not complete (5 fiducial points,
2 scale points and a deformation distance) are left out with a warning; at least 3 complete images
with different distances are needed.

With --out DIR, these files are written (DIR is created if needed):
  strains.csv       one row per image: filename,deformation_distance,strain_xx,strain_yy,strain_xy,
                    then uncertainties and every other measure
  regression.csv    component,slope,intercept,r_squared,p_value, then stderr, CI, r, n
  regression.json   {\"x_axis\": {\"slope\": …, \"intercept\": …, \"r_squared\": …, \"p_value\": …, …}, …}
  project.json      the project in Strain Seer's own format (with the settings used)
  annotations.json  the annotations in the Python Strain Seer's format
  plot-<key>.svg, plot-<key>.png   one plot per regressed component (e.g. plot-eps_xx.svg)

Exit status: 0 success, 2 bad input (the message names the file, image, point or field),
1 any other failure (e.g. the output directory cannot be written).";

/// What `analyze` prints on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned tables for reading in a terminal.
    Table,
    /// The full analysis as JSON.
    Json,
    /// The strain table CSV (as strains.csv).
    Csv,
}

/// The loading axis for Poisson's ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LoadingAxis {
    X,
    Y,
}

impl From<LoadingAxis> for Axis {
    fn from(axis: LoadingAxis) -> Self {
        match axis {
            LoadingAxis::X => Axis::X,
            LoadingAxis::Y => Axis::Y,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct AnalyzeArgs {
    /// Annotation file: the Python Strain Seer's annotation JSON or a Strain Seer project JSON.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Filename of the reference image [default: the image with the smallest deformation
    /// distance, ties by order; or the project's choice].
    #[arg(long, value_name = "FILENAME", env = "STRAIN_SEER_REFERENCE")]
    pub reference: Option<String>,

    /// Point-placement uncertainty in pixels, propagated to every strain [default: the project's,
    /// 1 px for Python annotation files].
    #[arg(
        long,
        value_name = "PX",
        allow_negative_numbers = true,
        env = "STRAIN_SEER_SIGMA_PX"
    )]
    pub sigma_px: Option<f64>,

    /// Scale length in mm (real distance between the two scale points), overriding the file's.
    #[arg(
        long,
        value_name = "MM",
        allow_negative_numbers = true,
        env = "STRAIN_SEER_SCALE_LENGTH"
    )]
    pub scale_length: Option<f64>,

    /// How pixels become mm: `span` (the two scale points and the scale length), `ruler` (the
    /// ruler model's scale at the markers), `rectified` (the ruler model and the focal length
    /// undo the camera's tilt) or `auto` (rectified when every image has a detected ruler
    /// model, else span) [default: the project's choice, else auto].
    #[arg(long, value_name = "METHOD", env = "STRAIN_SEER_SCALE_METHOD")]
    pub scale_method: Option<ScaleMethodArg>,

    /// 35 mm-equivalent focal length of the camera, mm, for the perspective correction
    /// [default: the photos' EXIF, else 28 mm].
    #[arg(long, value_name = "MM", env = "STRAIN_SEER_FOCAL_LENGTH")]
    pub focal_length: Option<f64>,

    /// Loading axis for Poisson's ratio [default: the axis whose strain changes most].
    #[arg(
        long,
        value_enum,
        value_name = "AXIS",
        env = "STRAIN_SEER_LOADING_AXIS"
    )]
    pub loading_axis: Option<LoadingAxis>,

    /// Components to regress and plot, comma-separated keys (eps_xx, eps_yy, eps_xy, gamma_xy, exx,
    /// eyy, exy, hencky_xx, …, j, rotation; x_axis/y_axis/shear also work) or `all`
    /// [default: eps_xx,eps_yy,eps_xy].
    #[arg(
        long,
        value_name = "KEYS",
        value_delimiter = ',',
        env = "STRAIN_SEER_COMPONENTS"
    )]
    pub components: Vec<String>,

    /// Directory to write strains.csv, regression.csv, regression.json, project.json,
    /// annotations.json and the plots into (created if needed).
    #[arg(long, value_name = "DIR", env = "STRAIN_SEER_OUT")]
    pub out: Option<PathBuf>,

    /// What to print on standard output.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = OutputFormat::Table, env = "STRAIN_SEER_FORMAT")]
    pub format: OutputFormat,
}

/// `--scale-method`: a method or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleMethodArg(pub Option<ScaleMethod>);

impl std::str::FromStr for ScaleMethodArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(ScaleMethodArg(None));
        }
        s.parse::<ScaleMethod>()
            .map(|m| ScaleMethodArg(Some(m)))
            .map_err(|e| format!("{e} or auto"))
    }
}

/// A new `--scale-length` moves detected scale points ([`crate::app::scale`]); returns what it
/// did.
fn change_scale_length(project: &mut Project, length: f64) -> ScaleLengthChange {
    let mut change = ScaleLengthChange {
        old_length: project.scale_length,
        new_length: length,
        ..ScaleLengthChange::default()
    };
    for image in &mut project.images {
        let points: Vec<_> = image.scale_points.iter().map(|p| p.point).collect();
        let fiducials: Vec<_> = image.fiducials.iter().map(|p| p.point).collect();
        let detected = image
            .scale_points
            .iter()
            .all(|p| p.source == PointSource::Auto);
        let action = scale_action(
            &points,
            detected,
            image.ruler.as_ref(),
            &fiducials,
            project.scale_length,
            length,
        );
        change.record(None, &image.filename, &action);
        match action {
            ScaleAction::Replace(new) => {
                for (p, q) in image.scale_points.iter_mut().zip(new) {
                    p.point = q;
                }
            }
            ScaleAction::Remove(_) => image.scale_points.clear(),
            ScaleAction::Keep | ScaleAction::Manual => {}
        }
    }
    project.scale_length = length;
    change
}

/// Reads the input file; a missing, unreadable-as-text or directory path is bad input.
fn read_input(path: &Path) -> anyhow::Result<String> {
    let shown = path.display();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            use std::io::ErrorKind as K;
            return match err.kind() {
                K::NotFound => Err(BadInput(format!("cannot read '{shown}': no such file")).into()),
                K::IsADirectory => {
                    Err(BadInput(format!("cannot read '{shown}': it is a directory")).into())
                }
                K::PermissionDenied => {
                    Err(BadInput(format!("cannot read '{shown}': permission denied")).into())
                }
                _ => Err(anyhow::Error::new(err).context(format!("cannot read '{shown}'"))),
            };
        }
    };
    String::from_utf8(bytes).map_err(|err| {
        BadInput(format!(
            "'{shown}' is not a text (UTF-8) file: invalid byte at offset {}; expected annotation or project JSON",
            err.utf8_error().valid_up_to()
        ))
        .into()
    })
}

/// Parses `--components`.
fn parse_components(keys: &[String]) -> Result<Vec<Component>, BadInput> {
    if keys.is_empty() {
        return Ok(Component::DEFAULT.to_vec());
    }
    let mut components = Vec::new();
    for key in keys.iter().map(|k| k.trim()).filter(|k| !k.is_empty()) {
        if key.eq_ignore_ascii_case("all") {
            components.extend(Component::ALL);
            continue;
        }
        let component = Component::from_key(key)
            .or_else(|| Component::from_legacy_name(key))
            .ok_or_else(|| {
                let known: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
                BadInput(format!(
                    "--components: unknown component '{key}'; known: {}, all",
                    known.join(", ")
                ))
            })?;
        components.push(component);
    }
    let mut seen = Vec::new();
    components.retain(|c| {
        let new = !seen.contains(c);
        seen.push(*c);
        new
    });
    if components.is_empty() {
        return Ok(Component::DEFAULT.to_vec());
    }
    Ok(components)
}

/// Applies the command-line overrides to the project; bad values are bad input.
fn apply_overrides(project: &mut Project, args: &AnalyzeArgs, file: &Path) -> Result<(), BadInput> {
    if let Some(length) = args.scale_length {
        if !(length.is_finite() && length > 0.0) {
            return Err(BadInput(format!(
                "--scale-length must be a finite number of mm greater than 0, got {length}"
            )));
        }
        for warning in change_scale_length(project, length).warnings() {
            eprintln!("strain-seer: warning: {warning}");
        }
    }
    if let Some(method) = args.scale_method {
        project.scale_method = method.0;
    }
    if let Some(focal) = args.focal_length {
        if !FOCAL_35MM_RANGE.contains(&focal) {
            return Err(BadInput(format!(
                "--focal-length must be a 35 mm-equivalent focal length between {} and {} mm, got {focal}",
                FOCAL_35MM_RANGE.start(),
                FOCAL_35MM_RANGE.end()
            )));
        }
        project.focal_35mm = Some(focal);
    }
    if let Some(sigma) = args.sigma_px {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(BadInput(format!(
                "--sigma-px must be a finite number of px, 0 or more, got {sigma}"
            )));
        }
        project.sigma_px = sigma;
    }
    if let Some(reference) = &args.reference {
        if project.image_by_filename(reference).is_none() {
            let names: Vec<String> = project
                .sorted_images()
                .iter()
                .map(|i| format!("'{}'", i.filename))
                .collect();
            return Err(BadInput(format!(
                "--reference '{reference}' is not an image in '{}'; its images are {}",
                file.display(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        }
        project.reference = Some(reference.clone());
    }
    if project.name.is_empty() {
        project.name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    Ok(())
}

pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.clone();
    let shown = file.display().to_string();
    let text = read_input(&file)?;
    let (mut project, format) = strain_seer_formats::parse_any_with_format(&text)
        .with_context(|| format!("in '{shown}'"))?;
    apply_overrides(&mut project, &args, &file)?;
    let inputs = project
        .to_engine_inputs()
        .with_context(|| format!("in '{shown}'"))?;
    let mut options = project.analysis_options();
    options.loading_axis = args.loading_axis.map(Axis::from);
    options.components = parse_components(&args.components)?;
    let analysis = analyze(&inputs, &options).with_context(|| format!("in '{shown}'"))?;

    for (name, status) in &analysis.excluded {
        eprintln!("strain-seer: warning: image '{name}' left out of the analysis: {status}");
    }

    let stdout_text = match args.format {
        OutputFormat::Table => render_table(&analysis, &project, &shown, format),
        OutputFormat::Json => {
            let mut json =
                serde_json::to_string_pretty(&analysis).context("encoding the analysis as JSON")?;
            json.push('\n');
            json
        }
        OutputFormat::Csv => tables::strain_table_csv(&analysis)?,
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth reporting.
    let _ = stdout
        .write_all(stdout_text.as_bytes())
        .and_then(|()| stdout.flush());

    if let Some(dir) = &args.out {
        let written = write_outputs(dir, &analysis, &project)?;
        eprintln!(
            "strain-seer: wrote {} files to '{}'",
            written.len(),
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes every export into `dir`; returns the file names written.
fn write_outputs(
    dir: &Path,
    analysis: &Analysis,
    project: &Project,
) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory '{}'", dir.display()))?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (
            "strains.csv".into(),
            tables::strain_table_csv(analysis)?.into_bytes(),
        ),
        (
            "regression.csv".into(),
            tables::regression_csv(analysis)?.into_bytes(),
        ),
        (
            "regression.json".into(),
            tables::regression_json(analysis).into_bytes(),
        ),
        (
            "project.json".into(),
            strain_seer_formats::to_project_json(project).into_bytes(),
        ),
        (
            "annotations.json".into(),
            strain_seer_formats::to_annotation_json(project).into_bytes(),
        ),
    ];
    for cr in &analysis.regressions {
        let stem = plot::plot_file_stem(cr.component);
        let svg = plot::to_svg(analysis, cr.component, plot::DEFAULT_SIZE)?;
        let png = plot::to_png(analysis, cr.component, plot::DEFAULT_PNG_SIZE)?;
        files.push((format!("{stem}.svg"), svg.into_bytes()));
        files.push((format!("{stem}.png"), png));
    }
    let mut names = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let path = dir.join(&name);
        std::fs::write(&path, bytes)
            .with_context(|| format!("cannot write '{}'", path.display()))?;
        names.push(name);
    }
    Ok(names)
}

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

/// The human-readable report printed by `--format table`.
fn render_table(analysis: &Analysis, project: &Project, file: &str, format: FileFormat) -> String {
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
    let rows: Vec<Vec<String>> = analysis
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let m = &row.measures;
            let u = &row.uncertainty;
            let mark = if row.index == analysis.reference {
                " *"
            } else {
                ""
            };
            vec![
                (i + 1).to_string(),
                format!("{}{mark}", row.name),
                format!("{:.3}", row.deformation),
                format!("{:.6}", row.mm_per_px),
                with_sd(m.small.xx, u.small.xx, 6),
                with_sd(m.small.yy, u.small.yy, 6),
                with_sd(m.small.xy, u.small.xy, 6),
                format!("{:.4}", m.residual_mm),
            ]
        })
        .collect();
    aligned(&mut out, &header, &[1], &rows);

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
    let rows: Vec<Vec<String>> = analysis
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let b = &row.budget;
            vec![
                (i + 1).to_string(),
                row.name.clone(),
                pair(b.points.small.xx, b.points.small.yy),
                pair(b.scale_model.small.xx, b.scale_model.small.yy),
                pair(b.scale_variation.small.xx, b.scale_variation.small.yy),
                pair(row.uncertainty.small.xx, row.uncertainty.small.yy),
            ]
        })
        .collect();
    aligned(&mut out, &header, &[1], &rows);

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
    let rows: Vec<Vec<String>> = analysis
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let m = &row.measures;
            vec![
                (i + 1).to_string(),
                row.name.clone(),
                format!("{:+.6}", m.green.xx),
                format!("{:+.6}", m.green.yy),
                format!("{:+.6}", m.green.xy),
                format!("{:+.6}", m.small_principal.e1),
                format!("{:+.6}", m.small_principal.e2),
                format!("{:+.2}", m.small_principal.angle_deg),
                format!("{:.6}", m.j),
                format!("{:+.3}", m.rotation_deg),
            ]
        })
        .collect();
    aligned(&mut out, &header, &[1], &rows);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_parse_keys_legacy_names_and_all() {
        assert_eq!(parse_components(&[]).unwrap(), Component::DEFAULT.to_vec());
        let c = parse_components(&["exx".into(), "shear".into(), "exx".into()]).unwrap();
        assert_eq!(c, vec![Component::Exx, Component::EpsXy]);
        assert_eq!(
            parse_components(&["all".into()]).unwrap().len(),
            Component::ALL.len()
        );
        let err = parse_components(&["strain".into()]).unwrap_err();
        assert!(err.0.contains("unknown component 'strain'"), "{}", err.0);
    }

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
