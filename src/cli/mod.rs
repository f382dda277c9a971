//! Command-line interface: one module per subcommand, each with its `Args` and `run`.
//!
//! Every flag has an environment variable `STRAIN_SEER_<FLAG>`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub mod analyze;
pub mod bench;
pub mod detect;
pub mod frames;
pub mod healthcheck;
pub mod malloc;
pub mod serve;
pub mod target;
pub mod video;

/// Exit code for bad input (a file, an annotation or an argument is wrong).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for any other failure (I/O, internal).
pub const EXIT_FAILURE: u8 = 1;

#[derive(Debug, Parser)]
#[command(
    name = "strain-seer",
    version,
    about = "Measure 2D strain from photos of a deforming specimen",
    long_about = "Measure 2D strain from photos of a deforming specimen.\n\n\
        Run `strain-seer serve` and open the printed address for the web app, or use \
        `analyze` and `detect` for headless batch work."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute strains and regressions from an annotation or project JSON file.
    Analyze(analyze::AnalyzeArgs),
    /// Find the fiducial markers and the ruler scale in photos automatically.
    Detect(detect::DetectArgs),
    /// Write chosen frames of a video as PNG with their times (and the test machine's log).
    Frames(frames::FramesArgs),
    /// Start the web app.
    Serve(serve::ServeArgs),
    /// Write a printable dot-grid calibration target (SVG).
    Target(target::TargetArgs),
    /// Ask a running server whether it is healthy (exit 0) or not (exit 1).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// Time the engine, detection and the server on synthetic and demo data.
    Bench(bench::BenchArgs),
}

/// Parse the command line and run the chosen subcommand.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Frames(args) => frames::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Target(args) => target::run(args),
        Command::Healthcheck(args) => healthcheck::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

/// A problem with what the user gave us (file content, arguments), as opposed to a failure of
/// the machine. Wrap such errors in this so `main` exits with [`EXIT_BAD_INPUT`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The process exit code for an error: 2 when anything in its chain is bad input.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    let bad_input = err.chain().any(|cause| {
        cause.is::<BadInput>()
            || cause.is::<strain_seer_engine::AnalysisError>()
            || cause.is::<strain_seer_engine::PointError>()
            || cause.is::<strain_seer_formats::FormatError>()
            || cause.is::<serde_json::Error>()
    });
    if bad_input {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}
