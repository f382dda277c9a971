//! `strain-seer bench engine`: time the whole engine (points → strain table with uncertainty,
//! the default regressions and Poisson's ratio) on synthetic projects of N images, on one
//! thread, and print images per second. Prints numbers; asserts nothing.

use crate::cli::BadInput;
use anyhow::Context;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use strain_seer_engine::analysis::SIGMA_RANGE_PX;
use strain_seer_engine::synthetic::{SCALE_LENGTH_MM, synthetic_images};
use strain_seer_engine::{AnalysisOptions, analyze};

const AFTER_HELP: &str = "\
Examples:
  strain-seer bench engine
  strain-seer bench engine --sizes 7,1000,100000 --sigma-px 1.0 --repeat 3
  strain-seer bench engine --sizes 1000000 --sigma-px 0,1 --repeat 1

Each project is synthetic: a five-marker pattern deformed by a known affine map, a camera that
moves and zooms between shots, 0.3 px of placement noise. The timed call is the engine's
`analyze` (what `strain-seer analyze` and the web app run after parsing): mm conversion, F by
least squares, every strain measure, uncertainty propagation (skipped when sigma is 0), the
regressions of eps_xx, eps_yy, eps_xy and Poisson's ratio. Generating the project is not timed.";

/// Seed of the synthetic projects (fixed so runs are comparable).
const SEED: u64 = 42;

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct EngineBenchArgs {
    /// Project sizes (images per synthetic project), comma-separated; each at least 3.
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        default_value = "7,1000,100000",
        env = "STRAIN_SEER_BENCH_SIZES"
    )]
    pub sizes: Vec<usize>,

    /// Point-placement uncertainties to time (px), comma-separated; 0 skips the uncertainty
    /// propagation.
    #[arg(
        long,
        value_name = "PX,...",
        value_delimiter = ',',
        default_value = "0,1",
        allow_negative_numbers = true,
        env = "STRAIN_SEER_BENCH_SIGMA_PX"
    )]
    pub sigma_px: Vec<f64>,

    /// Timed runs per size and sigma; the fastest and the median are reported.
    #[arg(
        long,
        value_name = "RUNS",
        default_value_t = 3,
        env = "STRAIN_SEER_BENCH_REPEAT"
    )]
    pub repeat: usize,
}

pub fn run(args: EngineBenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(&n) = args.sizes.iter().find(|&&n| n < 3) {
        return Err(BadInput(format!(
            "--sizes: every project needs at least 3 images, got {n}"
        ))
        .into());
    }
    if let Some(&s) = args.sigma_px.iter().find(|s| !SIGMA_RANGE_PX.contains(*s)) {
        return Err(BadInput(format!(
            "--sigma-px: every value must be between 0 and 1e6 px, got {s}"
        ))
        .into());
    }
    if args.repeat == 0 {
        return Err(BadInput("--repeat must be at least 1".to_owned()).into());
    }
    println!("strain-seer bench engine: analyze() on synthetic projects, one thread");
    println!(
        "(mm conversion, F, all strain measures, uncertainty unless sigma = 0, regressions of eps_xx, eps_yy, \
         eps_xy, Poisson's ratio)"
    );
    println!(
        "machine: {} logical CPUs available; {} timed runs per line",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.repeat
    );
    println!();
    println!(
        "{:>10}  {:>8}  {:>12}  {:>12}  {:>14}",
        "images", "sigma_px", "best", "median", "images/s (best)"
    );
    for &n in &args.sizes {
        let images = synthetic_images(n, SEED);
        for &sigma in &args.sigma_px {
            let options = AnalysisOptions {
                scale_length: SCALE_LENGTH_MM,
                sigma_px: sigma,
                ..AnalysisOptions::default()
            };
            let mut times = Vec::with_capacity(args.repeat);
            for _ in 0..args.repeat {
                let start = Instant::now();
                let analysis =
                    analyze(std::hint::black_box(&images), &options).with_context(|| {
                        format!("analysing a synthetic project of {n} images (sigma {sigma} px)")
                    })?;
                times.push(start.elapsed());
                std::hint::black_box(analysis);
            }
            times.sort();
            let best = times[0];
            let median = times[times.len() / 2];
            println!(
                "{:>10}  {:>8}  {:>12}  {:>12}  {:>14.0}",
                n,
                sigma,
                show(best),
                show(median),
                n as f64 / best.as_secs_f64()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A duration in the most readable unit.
fn show(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}
