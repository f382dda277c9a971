//! `strain-seer bench formats`: a synthetic annotation file in the Python tool's format, read,
//! analysed and exported through the export rule of `strain-seer analyze --out`
//! ([`crate::app::exports`]), once with the same outputs as the Python tool and once with all
//! eleven, beside the Python tool's own pipeline on the same file
//! (`tools/python_reference.py`); then MB/s of parsing a ~100 MB file and images/s end to end
//! for 100 000 images. Prints numbers; asserts nothing.

use crate::app::exports::{ExportSet, analyze_and_write};
use crate::cli::BadInput;
use crate::cli::analyze::read_input;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use strain_seer_engine::synthetic::{SCALE_LENGTH_MM, synthetic_images};
use strain_seer_engine::{Analysis, analyze};
use strain_seer_formats::{AnnotatedPoint, Project, ProjectImage};

const AFTER_HELP: &str = "\
Examples:
  strain-seer bench formats
  strain-seer bench formats --images 20000 --large 100000 --parse-mb 100 --repeat 3
  strain-seer bench formats --python-tool ../strain-seer-python   # a checkout of KemingHe/strain-seer

The file is synthetic (strain_seer_engine::synthetic: a deformed five-marker pattern, a camera
that moves and zooms, 0.3 px of noise), points rounded to 0.01 px as the Python tool's annotator
gives them, written in the Python tool's annotation JSON. Ours is timed in this process
(read + parse, then the analysis with uncertainties overlapped with the exports,
src/app/exports.rs) twice: writing the same outputs as the Python tool (annotations.json,
strains.csv, regression.csv/.json, the PNG plots of eps_xx, eps_yy, eps_xy) and writing all 11
exports of `analyze --out` (also project.json and the SVG plots); and as a separate
`strain-seer analyze FILE --out DIR` process. The Python side runs tools/python_reference.py
(the Python tool's functions with --python-tool, an equivalent numpy/scipy/matplotlib pipeline
otherwise), writing raw_data.json, raw_data.csv, analysis_results.json/.csv and 3 PNG plots, and
is skipped, saying why, when python3, numpy, scipy or matplotlib are missing. The ratios
compare the in-process totals (both sets of ours) and the processes.";

/// Seed of the synthetic projects (fixed so runs are comparable).
const SEED: u64 = 42;

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct FormatsBenchArgs {
    /// Images in the file compared with the Python tool.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20_000,
        env = "STRAIN_SEER_BENCH_IMAGES"
    )]
    pub images: usize,

    /// Images in the file timed end to end for images/s (0 skips it).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100_000,
        env = "STRAIN_SEER_BENCH_LARGE"
    )]
    pub large: usize,

    /// Size of the file whose parsing is timed for MB/s, in MB (0 skips it).
    #[arg(
        long,
        value_name = "MB",
        default_value_t = 100,
        env = "STRAIN_SEER_BENCH_PARSE_MB"
    )]
    pub parse_mb: usize,

    /// Timed runs of ours; the fastest is reported.
    #[arg(
        long,
        value_name = "RUNS",
        default_value_t = 3,
        env = "STRAIN_SEER_BENCH_REPEAT"
    )]
    pub repeat: usize,

    /// The Python interpreter.
    #[arg(
        long,
        value_name = "PROGRAM",
        default_value = "python3",
        env = "STRAIN_SEER_BENCH_PYTHON"
    )]
    pub python: String,

    /// A checkout of the Python Strain Seer (KemingHe/strain-seer): import its own functions
    /// [default: the equivalent numpy/scipy pipeline of tools/python_reference.py].
    #[arg(long, value_name = "DIR", env = "STRAIN_SEER_PYTHON_TOOL")]
    pub python_tool: Option<PathBuf>,

    /// Keep the generated files and every output in this directory [default: a temporary
    /// directory, removed at the end].
    #[arg(long, value_name = "DIR", env = "STRAIN_SEER_BENCH_KEEP")]
    pub keep: Option<PathBuf>,
}

/// The synthetic project of `n` images as the Python tool would have saved it.
fn synthetic_project(n: usize) -> Project {
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let mut project = Project::new("");
    project.scale_length = SCALE_LENGTH_MM;
    for (k, im) in synthetic_images(n, SEED).into_iter().enumerate() {
        let order = i64::try_from(k).unwrap_or(i64::MAX);
        let mut image = ProjectImage::new(format!("img{k}"), im.name, order);
        image.deformation_distance = im.deformation.map(|d| (d * 1000.0).round() / 1000.0);
        let manual = |p: strain_seer_engine::Point| {
            AnnotatedPoint::manual(strain_seer_engine::Point::new(round(p.x), round(p.y)))
        };
        if let Some(f) = &im.fiducials {
            image.fiducials = f.points().iter().map(|&p| manual(p)).collect();
        }
        if let Some(s) = &im.scale {
            image.scale_points = s.points().iter().map(|&p| manual(p)).collect();
        }
        project.images.push(image);
    }
    project
}

/// Phases of one in-process run of ours.
#[derive(Debug, Clone, Copy, Default)]
struct Phases {
    /// Read the file, parse and validate it.
    parse: Duration,
    /// The analysis and the exports, overlapped ([`analyze_and_write`]).
    work: Duration,
}

impl Phases {
    fn total(&self) -> Duration {
        self.parse + self.work
    }
}

/// Reads, analyses and exports `file` into `out` (the files of `set`) as `strain-seer analyze
/// --out` does, the analysis overlapped with the exports that do not need it.
fn ours(file: &Path, out: &Path, set: ExportSet) -> anyhow::Result<(Phases, Analysis)> {
    let start = Instant::now();
    let text = read_input(file)?;
    let (mut project, _) = strain_seer_formats::parse_any_valid(&text)?;
    let parse = start.elapsed();
    let start = Instant::now();
    project.set_name("synthetic");
    let (analysis, _, _) = analyze_and_write(out, set, &project, &project.analysis_options())?;
    let work = start.elapsed();
    Ok((Phases { parse, work }, analysis))
}

/// The analysis alone (every measure with its uncertainty, the fits, Poisson's ratio) of
/// `file`: the fastest of `repeat` runs.
fn best_analysis(file: &Path, repeat: usize) -> anyhow::Result<Duration> {
    let text = std::fs::read_to_string(file).context("reading the annotation file")?;
    let project = strain_seer_formats::parse_any(&text)?;
    let inputs = project.to_engine_inputs()?;
    let options = project.analysis_options();
    let mut best = Duration::MAX;
    for _ in 0..repeat {
        let start = Instant::now();
        std::hint::black_box(analyze(&inputs, &options)?);
        best = best.min(start.elapsed());
    }
    Ok(best)
}

/// Removes the output directory of the previous run (not timed): every run writes new files,
/// as the first does. (Files written over old ones cost more on ext4, which starts writing the
/// new ones out at once when they replace others.)
fn fresh(out: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(out) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).with_context(|| format!("removing '{}'", out.display()))
        }
        _ => Ok(()),
    }
}

/// The fastest of `repeat` in-process runs, each into a new output directory.
fn best_of_ours(file: &Path, out: &Path, set: ExportSet, repeat: usize) -> anyhow::Result<Phases> {
    let mut best: Option<Phases> = None;
    for _ in 0..repeat {
        fresh(out)?;
        let (phases, analysis) = ours(file, out, set)?;
        std::hint::black_box(analysis);
        if best.is_none_or(|b| phases.total() < b.total()) {
            best = Some(phases);
        }
    }
    best.context("no run")
}

/// The fastest of `repeat` runs of `strain-seer analyze FILE --out DIR` as a process, each into
/// a new output directory.
fn best_of_process(file: &Path, out: &Path, repeat: usize) -> anyhow::Result<Duration> {
    let exe = std::env::current_exe().context("finding this program")?;
    let mut best = Duration::MAX;
    for _ in 0..repeat {
        fresh(out)?;
        let start = Instant::now();
        let status = Command::new(&exe)
            .arg("analyze")
            .arg(file)
            .arg("--out")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running strain-seer analyze")?;
        let elapsed = start.elapsed();
        anyhow::ensure!(status.success(), "strain-seer analyze failed: {status}");
        best = best.min(elapsed);
    }
    Ok(best)
}

/// `tools/python_reference.py`, next to the working directory or to the source tree.
fn reference_script() -> Option<PathBuf> {
    let relative = Path::new("tools/python_reference.py");
    [
        relative.to_path_buf(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join(relative),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// What the Python side printed, or why it did not run.
struct PythonRun {
    report: serde_json::Value,
    wall: Duration,
}

fn run_python(args: &FormatsBenchArgs, file: &Path, out: &Path) -> Result<PythonRun, String> {
    let script = reference_script()
        .ok_or("tools/python_reference.py not found (run from the repository root)")?;
    let probe = Command::new(&args.python)
        .args(["-c", "import numpy, scipy, matplotlib"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match probe {
        Err(err) => return Err(format!("'{}' cannot be run: {err}", args.python)),
        Ok(o) if !o.status.success() => {
            let why = String::from_utf8_lossy(&o.stderr);
            let why = why.lines().last().unwrap_or("").trim().to_owned();
            return Err(format!(
                "{} lacks numpy, scipy or matplotlib ({why}); pip install numpy scipy matplotlib pandas",
                args.python
            ));
        }
        Ok(_) => {}
    }
    let mut command = Command::new(&args.python);
    command
        .arg(&script)
        .arg(file)
        .arg("--out")
        .arg(out)
        .arg("--repeat")
        .arg(args.repeat.to_string());
    if let Some(dir) = &args.python_tool {
        command.arg("--tool-dir").arg(dir);
    }
    let start = Instant::now();
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    let wall = start.elapsed();
    if !output.status.success() {
        return Err(format!("{} failed: {}", script.display(), output.status));
    }
    let report = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("reading the output of {}: {e}", script.display()))?;
    Ok(PythonRun { report, wall })
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// Writes the annotation file of `project` to `path` and waits until it is on the disk, so
/// that writing it out does not take the cores from the timed runs; returns its size.
fn write_file(path: &Path, project: &Project) -> anyhow::Result<u64> {
    use std::io::Write as _;
    let text = strain_seer_formats::to_annotation_json(project);
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    };
    write().with_context(|| format!("writing '{}'", path.display()))?;
    Ok(text.len() as u64)
}

pub fn run(args: FormatsBenchArgs) -> anyhow::Result<ExitCode> {
    if args.images < 3 || (args.large != 0 && args.large < 3) {
        return Err(BadInput("--images and --large need at least 3 images".to_owned()).into());
    }
    if args.repeat == 0 {
        return Err(BadInput("--repeat must be at least 1".to_owned()).into());
    }
    let temporary = args.keep.is_none();
    let dir = args.keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("strain-seer-bench-formats-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).with_context(|| format!("creating '{}'", dir.display()))?;
    let result = run_in(&args, &dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn run_in(args: &FormatsBenchArgs, dir: &Path) -> anyhow::Result<ExitCode> {
    println!(
        "strain-seer bench formats: annotation JSON in -> strains, regressions, CSV/JSON out, plots"
    );
    println!(
        "machine: {} logical CPUs available; ours: best of {} runs",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.repeat
    );
    let n = args.images;
    let file = dir.join(format!("annotations-{n}.json"));
    let bytes = write_file(&file, &synthetic_project(n))?;
    println!(
        "file: {} images, {:.1} MB ({})",
        n,
        bytes as f64 / 1e6,
        file.display()
    );
    println!();

    let every = best_of_ours(&file, &dir.join("ours"), ExportSet::Every, args.repeat)?;
    let same = best_of_ours(
        &file,
        &dir.join("ours-python-set"),
        ExportSet::PythonTool,
        args.repeat,
    )?;
    let analysis_alone = best_analysis(&file, args.repeat)?;
    let process = best_of_process(&file, &dir.join("ours-process"), args.repeat)?;
    println!(
        "ours, all 11 exports, in this process: {}",
        secs(every.total())
    );
    println!(
        "  read + parse {}, analysis and exports (overlapped) {}: strains.csv, regression.csv/.json, \
         project.json, annotations.json, 3 SVG + 3 PNG plots",
        secs(every.parse),
        secs(every.work)
    );
    println!(
        "ours, the same outputs as the Python tool, in this process: {}",
        secs(same.total())
    );
    println!(
        "  read + parse {}, analysis and exports (overlapped) {}: annotations.json (= raw_data.json), \
         strains.csv (= raw_data.csv), regression.csv/.json (= analysis_results.csv/.json), 3 PNG plots",
        secs(same.parse),
        secs(same.work)
    );
    println!(
        "  (the analysis alone, every measure with its uncertainty, fits, Poisson's ratio: {})",
        secs(analysis_alone)
    );
    println!(
        "ours, `strain-seer analyze FILE --out DIR` as a process (all 11 exports): {}",
        secs(process)
    );

    match run_python(args, &file, &dir.join("python")) {
        Err(why) => println!("python: skipped: {why}"),
        Ok(py) => {
            let t = |key: &str| py.report["times"][key].as_f64().unwrap_or(f64::NAN);
            println!(
                "python ({} functions; python {}, numpy {}, scipy {}, matplotlib {}), after imports: {:.3} s",
                py.report["implementation"].as_str().unwrap_or("?"),
                py.report["python"].as_str().unwrap_or("?"),
                py.report["numpy"].as_str().unwrap_or("?"),
                py.report["scipy"].as_str().unwrap_or("?"),
                py.report["matplotlib"].as_str().unwrap_or("?"),
                t("total")
            );
            println!(
                "  load {:.3} s, strains {:.3} s, regression {:.3} s, exports {:.3} s, plots (3 PNG) {:.3} s: \
                 raw_data.json, raw_data.csv, analysis_results.json/.csv, 3 PNG plots",
                t("load"),
                t("strains"),
                t("regression"),
                t("exports"),
                t("plots")
            );
            println!(
                "python, as a process (interpreter and imports included): {}",
                secs(py.wall)
            );
            println!(
                "ratio, the same outputs, in process: ours is {:.1}x faster",
                t("total") / same.total().as_secs_f64()
            );
            println!(
                "ratio, ours with all 11 exports, in process: {:.1}x faster",
                t("total") / every.total().as_secs_f64()
            );
            println!(
                "ratio, as processes (ours with all 11 exports): {:.1}x faster",
                py.wall.as_secs_f64() / process.as_secs_f64()
            );
        }
    }
    println!();

    if args.parse_mb > 0 {
        let per_image = bytes as f64 / n as f64;
        let images = ((args.parse_mb as f64 * 1e6 / per_image).ceil() as usize).max(3);
        let big = dir.join(format!("annotations-{images}.json"));
        let size = write_file(&big, &synthetic_project(images))?;
        let mut best = Duration::MAX;
        for _ in 0..args.repeat {
            let start = Instant::now();
            let text = read_input(&big)?;
            let project = strain_seer_formats::parse_any(&text)?;
            best = best.min(start.elapsed());
            std::hint::black_box(project);
        }
        println!(
            "parse: {:.1} MB ({} images) read + parsed + validated in {}: {:.0} MB/s",
            size as f64 / 1e6,
            images,
            secs(best),
            size as f64 / 1e6 / best.as_secs_f64()
        );
    }
    if args.large > 0 {
        let large = dir.join(format!("annotations-{}.json", args.large));
        write_file(&large, &synthetic_project(args.large))?;
        let phases = best_of_ours(
            &large,
            &dir.join("ours-large"),
            ExportSet::Every,
            args.repeat,
        )?;
        println!(
            "end to end: {} images in {} (parse {}, analysis and all 11 exports {}): {:.0} images/s",
            args.large,
            secs(phases.total()),
            secs(phases.parse),
            secs(phases.work),
            args.large as f64 / phases.total().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
