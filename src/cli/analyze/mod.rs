//! `strain-seer analyze`: annotation or project JSON → strain table, regressions, exports.

use crate::app::exports::{ExportSet, JsonOut, analyze_and_write};
use crate::app::load::FrameColumns;
use crate::app::scale::{ScaleAction, ScaleLengthChange, scale_action};
use crate::cli::BadInput;
use anyhow::Context;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strain_seer_engine::scale::FOCAL_35MM_RANGE;
use strain_seer_engine::{Axis, Component, ScaleMethod, analyze};

mod report;
mod table;
use strain_seer_formats::{PointSource, ValidProject, tables};
use table::render_table;

const AFTER_HELP: &str = "\
Examples:
  strain-seer analyze testdata/demo/annotations.json
  strain-seer analyze annotations.json --out results --sigma-px 0.5
  strain-seer analyze project.json --reference img-00.png --format csv > strains.csv
  strain-seer analyze annotations.json --components eps_xx,eps_yy,exx,eyy,j --out results
  strain-seer analyze annotations.json --exclude img-03.png=blurred --report r.html --report r.pdf

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

--report FILE writes a lab report (settings, method, photos, tables, plots, warnings,
checksums): FILE.html is one self-contained page, FILE.pdf a PDF; repeat for both. The photos
are looked for next to the annotation file.

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

    /// Leave an image out of the fits and Poisson's ratio (it stays in the tables, marked):
    /// `FILENAME` or `FILENAME=REASON`; repeat for several images. Adds to the file's exclusions.
    #[arg(long, value_name = "FILENAME[=REASON]", env = "STRAIN_SEER_EXCLUDE")]
    pub exclude: Vec<String>,

    /// The specimen's cross-section area in mm², overriding the file's: the film frames' force
    /// from the test machine's log becomes engineering stress (MPa), with a stress–strain fit.
    #[arg(
        long,
        value_name = "MM2",
        allow_negative_numbers = true,
        env = "STRAIN_SEER_AREA"
    )]
    pub area: Option<f64>,

    /// Write a lab report: `.html` (one self-contained file) or `.pdf`; repeat for both.
    #[arg(long, value_name = "FILE", env = "STRAIN_SEER_REPORT")]
    pub report: Vec<PathBuf>,

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
/// did. Each image changed is checked again (not the whole project).
fn change_scale_length(
    project: &mut ValidProject,
    length: f64,
) -> Result<ScaleLengthChange, strain_seer_formats::FormatError> {
    let mut change = ScaleLengthChange {
        old_length: project.scale_length,
        new_length: length,
        ..ScaleLengthChange::default()
    };
    for index in 0..project.images.len() {
        let image = &project.images[index];
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
            ScaleAction::Replace(new) => project.edit_image(index, |image| {
                for (p, q) in image.scale_points.iter_mut().zip(new) {
                    p.point = q;
                }
            })?,
            ScaleAction::Remove(_) => {
                project.edit_image(index, |image| image.scale_points.clear())?
            }
            ScaleAction::Keep | ScaleAction::Manual => {}
        }
    }
    project.set_scale_length(length)?;
    Ok(change)
}

/// Reads the input file; a missing, unreadable-as-text or directory path is bad input.
pub(crate) fn read_input(path: &Path) -> anyhow::Result<String> {
    let shown = path.display();
    let bytes = match crate::app::read::read_file(path) {
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

/// Parses `--components` (the names [`Component::parse_list`] accepts); none = the default three.
fn parse_components(keys: &[String]) -> Result<Vec<Component>, BadInput> {
    let components = Component::parse_list(keys.iter().map(String::as_str))
        .map_err(|err| BadInput(format!("--components: {err}")))?;
    if components.is_empty() {
        return Ok(Component::DEFAULT.to_vec());
    }
    Ok(components)
}

/// Applies the command-line overrides to the project; bad values are bad input. The project
/// stays valid: each setter checks what it changes (a value this function let through but
/// the project refuses is reported as the file's, "in 'FILE': …", as before).
fn apply_overrides(
    project: &mut ValidProject,
    args: &AnalyzeArgs,
    file: &Path,
) -> anyhow::Result<()> {
    let in_file = || format!("in '{}'", file.display());
    if let Some(length) = args.scale_length {
        if !(length.is_finite() && length > 0.0) {
            return Err(BadInput(format!(
                "--scale-length must be a finite number of mm greater than 0, got {length}"
            ))
            .into());
        }
        let change = change_scale_length(project, length).with_context(in_file)?;
        for warning in change.warnings() {
            eprintln!("strain-seer: warning: {warning}");
        }
    }
    if let Some(method) = args.scale_method {
        project.set_scale_method(method.0);
    }
    if let Some(focal) = args.focal_length {
        if !FOCAL_35MM_RANGE.contains(&focal) {
            return Err(BadInput(format!(
                "--focal-length must be a 35 mm-equivalent focal length between {} and {} mm, got {focal}",
                FOCAL_35MM_RANGE.start(),
                FOCAL_35MM_RANGE.end()
            )).into());
        }
        project.set_focal_35mm(Some(focal)).with_context(in_file)?;
    }
    if let Some(area) = args.area {
        if !(area.is_finite() && area > 0.0 && area <= crate::store::MAX_AREA_MM2) {
            return Err(BadInput(format!(
                "--area must be the specimen's cross-section area in mm², more than 0 and at most {}, got {area}",
                crate::store::MAX_AREA_MM2
            )).into());
        }
        project.set_area_mm2(Some(area)).with_context(in_file)?;
    }
    if let Some(sigma) = args.sigma_px {
        if !(sigma.is_finite() && sigma >= 0.0) {
            return Err(BadInput(format!(
                "--sigma-px must be a finite number of px, 0 or more, got {sigma}"
            ))
            .into());
        }
        project.set_sigma_px(sigma).with_context(in_file)?;
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
            ))
            .into());
        }
        project
            .set_reference(Some(reference.clone()))
            .with_context(in_file)?;
    }
    for spec in &args.exclude {
        apply_exclusion(project, spec, file)?
            .map_err(anyhow::Error::from)
            .with_context(in_file)?;
    }
    if project.name.is_empty() {
        project.set_name(
            file.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    Ok(())
}

/// `--exclude FILENAME` or `FILENAME=REASON`: a value that is an image's filename as a whole is
/// that filename (so names with `=` work), otherwise the text before the first `=`. The outer
/// error is the option's, the inner one the project's (which refuses the changed image).
fn apply_exclusion(
    project: &mut ValidProject,
    spec: &str,
    file: &Path,
) -> Result<Result<(), strain_seer_formats::FormatError>, BadInput> {
    let (name, reason) = if project.image_by_filename(spec).is_some() {
        (spec, "")
    } else {
        spec.split_once('=').unwrap_or((spec, ""))
    };
    let reason = crate::store::validate_exclusion_reason(reason)
        .map_err(|e| BadInput(format!("--exclude '{spec}': {e}")))?;
    let Some(index) = project.images.iter().position(|i| i.filename == name) else {
        return Err(BadInput(format!(
            "--exclude '{name}' is not an image in '{}'",
            file.display()
        )));
    };
    Ok(project.edit_image(index, |image| image.excluded = Some(reason)))
}

/// Reads the file (validated once: [`ValidProject`]), applies the overrides, analyses, prints
/// the warnings and the result, and with `--out` writes the exports. With `--out` the analysis
/// and the files that need only the project are overlapped
/// ([`analyze_and_write`]); the files appear in DIR only once all are written,
/// so a failed analysis leaves DIR as it was.
pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let file = args.file.clone();
    let shown = file.display().to_string();
    let in_file = || format!("in '{shown}'");
    let text = read_input(&file)?;
    let (mut project, format) =
        strain_seer_formats::parse_any_valid(&text).with_context(in_file)?;
    apply_overrides(&mut project, &args, &file)?;
    let reports = report::check_paths(&args.report)?;
    let mut options = project.analysis_options();
    options.loading_axis = args.loading_axis.map(Axis::from);
    options.components = parse_components(&args.components)?;
    let (analysis, frames, written) = match &args.out {
        Some(dir) => {
            let (analysis, frames, written) =
                analyze_and_write(dir, ExportSet::Every, &project, &options)
                    // The input's fault (not the output's) is said to be in the file.
                    .map_err(|err| {
                        if crate::cli::exit_code_for(&err) == crate::cli::EXIT_BAD_INPUT {
                            err.context(in_file())
                        } else {
                            err
                        }
                    })?;
            (analysis, frames, Some((dir, written)))
        }
        None => {
            let inputs = project.to_engine_inputs().with_context(in_file)?;
            let analysis = analyze(&inputs, &options).with_context(in_file)?;
            let frames = FrameColumns::from_project(&analysis, &project);
            (analysis, frames, None)
        }
    };

    for (name, status) in &analysis.excluded {
        eprintln!("strain-seer: warning: image '{name}' left out of the analysis: {status}");
    }
    for row in analysis.rows.iter().filter(|r| !r.is_fitted()) {
        eprintln!(
            "strain-seer: note: image '{}' excluded from the fits{}",
            row.name,
            row.excluded
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }

    let stdout_text = match args.format {
        OutputFormat::Table => render_table(&analysis, &project, &frames, &shown, format),
        OutputFormat::Json => {
            let mut json = serde_json::to_string_pretty(&JsonOut {
                analysis: &analysis,
                frames: frames.any().then_some(frames.rows.as_slice()),
                area_mm2: project.area_mm2,
                stress_strain: frames.stress_strain.as_ref(),
            })
            .context("encoding the analysis as JSON")?;
            json.push('\n');
            json
        }
        OutputFormat::Csv => tables::strain_table_csv_with_frames(&analysis, &frames.rows)?,
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error worth reporting.
    let _ = stdout
        .write_all(stdout_text.as_bytes())
        .and_then(|()| stdout.flush());

    if let Some((dir, written)) = written {
        eprintln!(
            "strain-seer: wrote {} files to '{}'",
            written.len(),
            dir.display()
        );
    }
    for (path, size) in report::write_reports(&reports, &file, &project, &analysis)? {
        eprintln!(
            "strain-seer: wrote the report '{}' ({size} bytes)",
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
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
}
