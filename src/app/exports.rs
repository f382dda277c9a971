//! The files an analysis is exported to, and how they are written: one rule for `strain-seer
//! analyze --out` and `strain-seer bench formats`.
//!
//! [`Export`] names one file; [`ExportSet::Every`] is the set `analyze --out` writes (the five
//! tables, an SVG and a PNG plot per regressed component, and the film frames' strain–stress
//! plots when there is a stress–strain fit); [`ExportSet::PythonTool`] the subset that matches
//! what the Python Strain Seer writes (its raw data JSON and CSV, its analysis results JSON and
//! CSV, a PNG plot per component), for the like-for-like comparison of the bench.
//!
//! [`analyze_and_write`] (`analyze --out`, the bench) analyses a project validated once
//! ([`ValidProject`]) and writes a set into a directory: the files that do not depend on the
//! analysis (`annotations.json`, `project.json`) while it runs, the others after it, in
//! parallel (rayon; each file is streamed through a 256 KiB `BufWriter`). The largest files go
//! first so that the two cores stay busy until the end. They are written into a staging
//! directory inside the output directory; the files are
//! moved into place (a rename each, same file system) only when the analysis and every file
//! succeeded. On any error the staging directory is removed, and so are the directories created
//! for the output: the output directory is left as it was.

use crate::app::load::FrameColumns;
use anyhow::Context;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use strain_seer_engine::{Analysis, AnalysisOptions, Component, StressStrain};
use strain_seer_formats::{Project, ValidProject, plot, tables};

/// `--format json`: the engine's analysis, plus the film frames' `[time_s, force_N,
/// stress_MPa]` per row, the area and the stress–strain fit when the images are film frames.
#[derive(Debug, serde::Serialize)]
pub struct JsonOut<'a> {
    #[serde(flatten)]
    pub analysis: &'a Analysis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<&'a [[Option<f64>; 3]]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_mm2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stress_strain: Option<&'a StressStrain>,
}

/// One exported file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// `strains.csv`: one row per image, every measure with its uncertainty.
    Strains,
    /// `annotations.json`: the annotations in the Python Strain Seer's format.
    Annotations,
    /// `project.json`: the project in Strain Seer's own format.
    Project,
    /// `regression.csv`.
    RegressionCsv,
    /// `regression.json`.
    RegressionJson,
    /// `plot-<key>.svg`.
    Svg(Component),
    /// `plot-<key>.png`.
    Png(Component),
    /// The film frames' strain–stress plot, SVG.
    StressSvg,
    /// The film frames' strain–stress plot, PNG.
    StressPng,
}

impl Export {
    /// The file's name in the output directory.
    pub fn file_name(self) -> String {
        match self {
            Export::Strains => "strains.csv".to_owned(),
            Export::Annotations => "annotations.json".to_owned(),
            Export::Project => "project.json".to_owned(),
            Export::RegressionCsv => "regression.csv".to_owned(),
            Export::RegressionJson => "regression.json".to_owned(),
            Export::Svg(c) => format!("{}.svg", plot::plot_file_stem(c)),
            Export::Png(c) => format!("{}.png", plot::plot_file_stem(c)),
            Export::StressSvg => format!("{}.svg", plot::STRESS_PLOT_STEM),
            Export::StressPng => format!("{}.png", plot::STRESS_PLOT_STEM),
        }
    }

    /// Whether the file is made from the project alone (not from the analysis).
    pub fn needs_only_project(self) -> bool {
        matches!(self, Export::Annotations | Export::Project)
    }
}

/// Which files to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportSet {
    /// What `strain-seer analyze --out` writes: the five tables, the SVG and PNG plot of each
    /// regressed component and, with a stress–strain fit, the strain–stress plots.
    Every,
    /// The files that correspond to the Python Strain Seer's exports: `annotations.json` (its
    /// `raw_data.json`), `strains.csv` (its `raw_data.csv`, with more columns),
    /// `regression.json` and `regression.csv` (its `analysis_results.json/.csv`) and a PNG plot
    /// per regressed component.
    PythonTool,
}

impl ExportSet {
    /// The files of the set for `analysis`, in the order they are started (largest first).
    pub fn jobs(self, analysis: &Analysis, frames: &FrameColumns) -> Vec<Export> {
        let mut jobs = vec![Export::Annotations, Export::Strains];
        if self == ExportSet::Every {
            jobs.push(Export::Project);
        }
        for cr in &analysis.regressions {
            jobs.push(Export::Png(cr.component));
            if self == ExportSet::Every {
                jobs.push(Export::Svg(cr.component));
            }
        }
        if self == ExportSet::Every && frames.stress_strain.is_some() {
            jobs.extend([Export::StressPng, Export::StressSvg]);
        }
        jobs.extend([Export::RegressionCsv, Export::RegressionJson]);
        jobs
    }

    /// The files of the set made from the project alone, which need no analysis.
    fn project_only(self) -> &'static [Export] {
        match self {
            ExportSet::Every => &[Export::Annotations, Export::Project],
            ExportSet::PythonTool => &[Export::Annotations],
        }
    }
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory '{}'", dir.display()))
}

/// Analyses `project` (validated once, not checked again: [`ValidProject::to_engine_inputs`],
/// then the engine with `options`) and writes the files of `set` into `dir`, all or nothing:
/// the files made from the project alone are written while the inputs are built and analysed,
/// the others after it, in parallel. Returns the analysis, the film frames' columns and the
/// file names written. The files are written into a staging directory inside `dir` and moved into `dir` (replacing
/// files of the same names) only when the analysis and every file succeeded. On error nothing
/// in `dir` has changed, and `dir` (with the parents created for it) is removed again if this
/// call created it. The staging directory is inside `dir`, not beside it, because `dir`'s
/// parent need not be writable (`--out /tmp`, `--out .`).
pub fn analyze_and_write(
    dir: &Path,
    set: ExportSet,
    project: &ValidProject,
    options: &AnalysisOptions,
) -> anyhow::Result<(Analysis, FrameColumns, Vec<String>)> {
    let staging = Staging::new(dir)?;
    let (analysis, frames, names) = overlapped(&staging.path, set, project, options)?;
    staging.publish(&names)?;
    Ok((analysis, frames, names))
}

/// The analysis of `project` overlapped with the writing of the files of `set` into `dir`
/// (which exists).
fn overlapped(
    dir: &Path,
    set: ExportSet,
    project: &ValidProject,
    options: &AnalysisOptions,
) -> anyhow::Result<(Analysis, FrameColumns, Vec<String>)> {
    use rayon::prelude::*;
    let no_frames = FrameColumns::default();
    let early = set.project_only();
    let (analysed, early_names) = rayon::join(
        || -> anyhow::Result<_> {
            let inputs = project.to_engine_inputs()?;
            let analysis = strain_seer_engine::analyze(&inputs, options)?;
            let frames = FrameColumns::from_project(&analysis, project);
            let late: Vec<Export> = set
                .jobs(&analysis, &frames)
                .into_iter()
                .filter(|job| !early.contains(job))
                .collect();
            let names = late
                .par_iter()
                .with_max_len(1)
                .map(|job| write_export(dir, *job, Some(&analysis), project, &frames))
                .collect::<anyhow::Result<Vec<String>>>()?;
            Ok((analysis, frames, names))
        },
        || {
            early
                .par_iter()
                .map(|job| write_export(dir, *job, None, project, &no_frames))
                .collect::<anyhow::Result<Vec<String>>>()
        },
    );
    let (analysis, frames, mut names) = analysed?;
    names.extend(early_names?);
    Ok((analysis, frames, names))
}

/// A staging directory inside the output directory. Dropped without [`Staging::publish`], it is
/// removed with what it holds, and so are the directories created for the output.
struct Staging {
    /// The output directory.
    dir: PathBuf,
    /// The staging directory, `dir/.strain-seer-out-<pid>`.
    path: PathBuf,
    /// The directories that did not exist before, `dir` first, then its parents.
    created: Vec<PathBuf>,
    published: bool,
}

impl Staging {
    fn new(dir: &Path) -> anyhow::Result<Self> {
        let created: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
            .map(Path::to_path_buf)
            .collect();
        create_dir(dir)?;
        let staging = Staging {
            dir: dir.to_path_buf(),
            path: dir.join(format!(".strain-seer-out-{}", std::process::id())),
            created,
            published: false,
        };
        // A leftover of a run that was killed, with the same process id.
        let _ = std::fs::remove_dir_all(&staging.path);
        if let Err(err) = std::fs::create_dir(&staging.path) {
            return Err(anyhow::Error::new(err).context(format!(
                "cannot create the output directory '{}'",
                staging.path.display()
            )));
        }
        Ok(staging)
    }

    /// Moves the files `names` into the output directory.
    fn publish(mut self, names: &[String]) -> anyhow::Result<()> {
        for name in names {
            let (from, to) = (self.path.join(name), self.dir.join(name));
            std::fs::rename(&from, &to)
                .with_context(|| format!("cannot write '{}'", to.display()))?;
        }
        self.published = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Best effort: a failure to clean up must not hide the error being reported.
        let _ = std::fs::remove_dir_all(&self.path);
        if !self.published {
            for dir in &self.created {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

/// Writes one export into `dir` (streamed into a buffered file); returns its name. `analysis`
/// may be `None` only for the files [`Export::needs_only_project`].
fn write_export(
    dir: &Path,
    job: Export,
    analysis: Option<&Analysis>,
    project: &Project,
    frames: &FrameColumns,
) -> anyhow::Result<String> {
    let name = job.file_name();
    let path = dir.join(&name);
    let write = || -> anyhow::Result<()> {
        let file = std::fs::File::create(&path)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 18, file);
        match job {
            Export::Annotations => strain_seer_formats::write_annotation_json(project, &mut out)?,
            Export::Project => strain_seer_formats::write_project_json(project, &mut out)?,
            _ => {
                let analysis = analysis.context("the analysis is not done yet")?;
                write_analysis_export(job, analysis, frames, &mut out)?;
            }
        }
        Ok(out.flush()?)
    };
    write().with_context(|| format!("cannot write '{}'", path.display()))?;
    Ok(name)
}

/// Writes an export made from the analysis into `out`.
fn write_analysis_export(
    job: Export,
    analysis: &Analysis,
    frames: &FrameColumns,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    match job {
        Export::Strains => {
            tables::write_strain_table_csv_with_frames(analysis, &frames.rows, out)?;
        }
        Export::RegressionCsv => out.write_all(tables::regression_csv(analysis)?.as_bytes())?,
        Export::RegressionJson => out.write_all(tables::regression_json(analysis).as_bytes())?,
        Export::Svg(c) => {
            out.write_all(plot::to_svg(analysis, c, plot::DEFAULT_SIZE)?.as_bytes())?;
        }
        Export::Png(c) => out.write_all(&plot::to_png(analysis, c, plot::DEFAULT_PNG_SIZE)?)?,
        Export::StressSvg | Export::StressPng => {
            let Some(fit) = &frames.stress_strain else {
                return Ok(());
            };
            let stresses: Vec<Option<f64>> = frames.rows.iter().map(|r| r[2]).collect();
            if job == Export::StressSvg {
                let svg = plot::stress_strain_svg(analysis, &stresses, fit, plot::DEFAULT_SIZE)?;
                out.write_all(svg.as_bytes())?;
            } else {
                let png =
                    plot::stress_strain_png(analysis, &stresses, fit, plot::DEFAULT_PNG_SIZE)?;
                out.write_all(&png)?;
            }
        }
        Export::Annotations | Export::Project => {
            anyhow::bail!("{} is written from the project", job.file_name())
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Project {
        let text = include_str!("../../testdata/demo/annotations.json");
        strain_seer_formats::parse_any(text).unwrap_or_else(|e| panic!("demo: {e}"))
    }

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|entry| {
                let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
                (name.unwrap_or_default(), bytes)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn the_sets_name_the_files_of_analyze_out_and_of_the_python_tool() {
        let project = demo();
        let inputs = project.to_engine_inputs().unwrap_or_else(|e| panic!("{e}"));
        let analysis = strain_seer_engine::analyze(&inputs, &project.analysis_options())
            .unwrap_or_else(|e| panic!("{e}"));
        let frames = FrameColumns::from_project(&analysis, &project);
        let names = |set: ExportSet| -> Vec<String> {
            let mut names: Vec<String> = set
                .jobs(&analysis, &frames)
                .into_iter()
                .map(Export::file_name)
                .collect();
            names.sort();
            names
        };
        // Every file of analyze --out (tests/cli_analyze.rs lists them) is the Python tool's
        // set, the project file and an SVG beside each PNG.
        let mut every = names(ExportSet::PythonTool);
        every.push("project.json".to_owned());
        every.extend(
            every
                .iter()
                .filter_map(|n| n.strip_suffix(".png"))
                .map(|stem| format!("{stem}.svg"))
                .collect::<Vec<_>>(),
        );
        every.sort();
        assert_eq!(names(ExportSet::Every), every);
        assert_eq!(
            names(ExportSet::PythonTool),
            [
                "annotations.json",
                "plot-eps_xx.png",
                "plot-eps_xy.png",
                "plot-eps_yy.png",
                "regression.csv",
                "regression.json",
                "strains.csv",
            ]
        );
    }

    #[test]
    fn overlapped_and_sequential_exports_write_the_same_bytes() {
        let project = valid_demo();
        let options = project.analysis_options();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (one, two) = (dir.path().join("one"), dir.path().join("two"));
        let (analysis, frames, mut names) =
            analyze_and_write(&one, ExportSet::Every, &project, &options)
                .unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(&two).unwrap_or_else(|e| panic!("{e}"));
        let mut written: Vec<String> = ExportSet::Every
            .jobs(&analysis, &frames)
            .into_iter()
            .map(|job| write_export(&two, job, Some(&analysis), &project, &frames))
            .collect::<anyhow::Result<_>>()
            .unwrap_or_else(|e| panic!("{e}"));
        names.sort();
        written.sort();
        assert_eq!(names, written);
        assert_eq!(names.len(), 11);
        assert_eq!(files(&one), files(&two));
    }

    fn valid_demo() -> ValidProject {
        demo().into_valid().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn all_or_nothing_writes_every_file_and_leaves_no_staging_directory() {
        let project = valid_demo();
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path().join("out");
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("keep.txt"), "mine").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("annotations.json"), "old").unwrap_or_else(|e| panic!("{e}"));
        let options = project.analysis_options();
        let (_, _, names) = analyze_and_write(&dir, ExportSet::Every, &project, &options)
            .unwrap_or_else(|e| panic!("{e}"));
        let reference = tmp.path().join("reference");
        analyze_and_write(&reference, ExportSet::Every, &project, &options)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut expected = files(&reference);
        expected.push(("keep.txt".to_owned(), b"mine".to_vec()));
        expected.sort();
        assert_eq!(files(&dir), expected);
        assert_eq!(names.len(), 11);
    }

    #[test]
    fn a_failed_analysis_leaves_the_output_directory_as_it_was() {
        let mut project = demo();
        project.images.truncate(2);
        let project = project.into_valid().unwrap_or_else(|e| panic!("{e}"));
        let options = project.analysis_options();
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // An existing directory: its files are neither replaced nor joined by new ones.
        let dir = tmp.path().join("out");
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("annotations.json"), "old").unwrap_or_else(|e| panic!("{e}"));
        let err = analyze_and_write(&dir, ExportSet::Every, &project, &options)
            .map(|_| ())
            .unwrap_err();
        assert!(
            err.to_string().contains("at least 3 complete images"),
            "{err}"
        );
        assert_eq!(
            files(&dir),
            [("annotations.json".to_owned(), b"old".to_vec())]
        );
        // A new directory (and its new parents) are removed again.
        let deep = tmp.path().join("a").join("b").join("out");
        assert!(analyze_and_write(&deep, ExportSet::Every, &project, &options).is_err());
        assert!(!tmp.path().join("a").exists());
    }
}
