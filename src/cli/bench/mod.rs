//! `strain-seer bench`: timings that print numbers (never asserted in tests).

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

mod detect;
mod engine;
mod formats;
mod proc;
mod report;
mod scale;
mod server;
mod video;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Points → strain table + all regressions for synthetic projects of N images.
    Engine(engine::EngineBenchArgs),
    /// Annotation JSON in -> strains, regressions, CSV/JSON out, plots, on a 20 000-image file,
    /// beside the Python tool's pipeline; parsing MB/s; images/s for 100 000 images.
    Formats(formats::FormatsBenchArgs),
    /// Marker detection + tracking + ruler scale per photo, against the time to decode it;
    /// and detection accuracy against verified coordinates.
    Detect(detect::DetectBenchArgs),
    /// Server start, first page load, edit round trip, memory.
    Server(server::ServerBenchArgs),
    /// The scale methods against synthetic truth (camera tilts) and across spans on the demo.
    Scale(scale::ScaleBenchArgs),
    /// The lab report (HTML, and PDF when built with it) of synthetic projects of N images.
    Report(report::ReportBenchArgs),
    /// Decoding films (--features video) against the ffmpeg program: every frame, frames at
    /// chosen times, detect on them.
    Video(video::VideoBenchArgs),
}

/// `--demo-dir`, shared by the benches that measure on the demo photos (`detect`, `scale`).
#[derive(Debug, clap::Args)]
pub struct DemoDirArg {
    /// Directory with the demo photos (and the truth.json `bench detect` compares with).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "testdata/demo",
        env = "STRAIN_SEER_BENCH_DEMO_DIR"
    )]
    pub demo_dir: PathBuf,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        BenchCommand::Engine(a) => engine::run(a),
        BenchCommand::Formats(a) => formats::run(a),
        BenchCommand::Detect(a) => detect::run(a),
        BenchCommand::Server(a) => server::run(a),
        BenchCommand::Scale(a) => scale::run(a),
        BenchCommand::Report(a) => report::run(a),
        BenchCommand::Video(a) => video::run(a),
    }
}
