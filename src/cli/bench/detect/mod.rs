//! `strain-seer bench detect`: marker detection, tracking and ruler scale on the demo photos
//! (time against the time to decode each photo, accuracy against the verified coordinates in
//! `truth.json`) and the error distribution over synthetic photos with known truth. Prints
//! numbers; asserts nothing.

use crate::cli::BadInput;
use rayon::prelude::*;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use strain_seer_engine::detect::synth::{self, SynthConfig};
use strain_seer_engine::detect::{MarkerOptions, RulerOptions, detect_markers, detect_ruler};

mod demo;

use demo::demo;

const AFTER_HELP: &str = "\
Examples:
  strain-seer bench detect
  strain-seer bench detect --demo-dir testdata/demo --synthetic 500 --repeat 9

Per demo photo: decode time (PNG → pixels, EXIF orientation), marker detection, tracking from the
previous photo's markers, ruler scale; each the median of --repeat runs on one thread; and the
totals against the decode time, (decode + marker detection) / decode, (decode + tracking) /
decode and (decode + marker detection + ruler) / decode, whose target is ≤ 2 (detection adds at
most the decode time again). Then the error of every marker against truth.json, whether its
label is right, the mm/px against the verified centimetre lines over the same span, the strains
from the detected markers, and the error distribution over synthetic photos (markers drawn at
known sub-pixel positions with blur, noise, uneven light, rotation, perspective and a ruler).";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct DetectBenchArgs {
    #[command(flatten)]
    pub demo: super::DemoDirArg,

    /// Number of synthetic photos (seeds 0..N); 0 skips them.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 200,
        env = "STRAIN_SEER_BENCH_SYNTHETIC"
    )]
    pub synthetic: usize,

    /// Timed runs per measurement; the median is reported.
    #[arg(
        long,
        value_name = "RUNS",
        default_value_t = 5,
        env = "STRAIN_SEER_BENCH_REPEAT"
    )]
    pub repeat: usize,
}

pub(super) fn median_time(repeat: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..repeat.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub(super) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(args: DetectBenchArgs) -> anyhow::Result<ExitCode> {
    if args.repeat == 0 {
        return Err(BadInput("--repeat must be at least 1".to_owned()).into());
    }
    println!("strain-seer bench detect");
    println!(
        "machine: {} logical CPUs; timings are the median of {} runs, one photo at a time on one thread",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.repeat
    );
    demo(&args)?;
    if args.synthetic > 0 {
        synthetic(args.synthetic);
    }
    Ok(ExitCode::SUCCESS)
}

fn synthetic(n: usize) {
    let cfg = SynthConfig::default();
    println!();
    println!(
        "Synthetic photos: {n} ({}×{}, markers {:.0}–{:.0} px, squash to {:.2}, rotation ±{:.0}°, perspective {:.2}, blur σ {:.1}–{:.1} px, noise σ {:.0}–{:.0}, light ±{:.0} %, ruler, distractors)",
        cfg.width,
        cfg.height,
        cfg.marker_diameter[0],
        cfg.marker_diameter[1],
        cfg.squash[0],
        cfg.max_rotation_deg,
        cfg.perspective,
        cfg.blur_sigma[0],
        cfg.blur_sigma[1],
        cfg.noise_sigma[0],
        cfg.noise_sigma[1],
        cfg.lighting * 100.0
    );
    struct One {
        seed: u64,
        errors: Option<[f64; 5]>,
        mislabel: bool,
        failure: Option<String>,
        ruler: Option<f64>,
        ruler_failure: Option<String>,
    }
    let results: Vec<One> = (0..n as u64)
        .into_par_iter()
        .map(|seed| {
            let im = synth::generate(seed, &cfg);
            let mut one = One {
                seed,
                errors: None,
                mislabel: false,
                failure: None,
                ruler: None,
                ruler_failure: None,
            };
            match detect_markers(&im.image, &MarkerOptions::default()) {
                Ok(d) => {
                    let p = d.fiducials.points();
                    let e = [0, 1, 2, 3, 4].map(|i| p[i].distance(im.markers[i]));
                    one.mislabel = (0..5).any(|i| {
                        (0..5).min_by(|&a, &b| {
                            p[i].distance(im.markers[a])
                                .total_cmp(&p[i].distance(im.markers[b]))
                        }) != Some(i)
                    });
                    one.errors = Some(e);
                }
                Err(e) => one.failure = Some(format!("seed {seed}: {e}")),
            }
            if let Some(truth) = &im.ruler {
                match detect_ruler(
                    &im.image,
                    &RulerOptions {
                        span_mm: Some(40),
                        ..RulerOptions::default()
                    },
                ) {
                    Ok(r) => {
                        let [p0, p1] = *r.scale_points.points();
                        let (a0, _) = truth.to_ruler(p0);
                        let (a1, _) = truth.to_ruler(p1);
                        // Relative mm/px error = real span between the points / claimed span − 1.
                        one.ruler = Some(((a1 - a0).abs() / f64::from(r.span_mm) - 1.0) * 100.0);
                    }
                    Err(e) => one.ruler_failure = Some(format!("seed {seed}: {e}")),
                }
            }
            one
        })
        .collect();
    let mut errors: Vec<f64> = results.iter().filter_map(|r| r.errors).flatten().collect();
    errors.sort_by(f64::total_cmp);
    let found = results.iter().filter(|r| r.errors.is_some()).count();
    let mislabels = results.iter().filter(|r| r.mislabel).count();
    println!(
        "markers: pattern found in {found} of {n} photos, {mislabels} with a wrong label; centre error over {} markers: median {:.3} px, p95 {:.3} px, p99 {:.3} px, max {:.3} px",
        errors.len(),
        percentile(&errors, 0.5),
        percentile(&errors, 0.95),
        percentile(&errors, 0.99),
        errors.last().copied().unwrap_or(f64::NAN)
    );
    for f in results.iter().filter_map(|r| r.failure.as_ref()).take(10) {
        println!("    {f}");
    }
    for r in results
        .iter()
        .filter(|r| r.mislabel || r.errors.is_some_and(|e| e.iter().any(|&v| v > 1.0)))
        .take(10)
    {
        let e = r.errors.unwrap_or([f64::NAN; 5]);
        println!(
            "    seed {}: errors {:.2} {:.2} {:.2} {:.2} {:.2} px{}",
            r.seed,
            e[0],
            e[1],
            e[2],
            e[3],
            e[4],
            if r.mislabel {
                " (wrong pattern or label)"
            } else {
                ""
            }
        );
    }
    let mut ruler: Vec<f64> = results
        .iter()
        .filter_map(|r| r.ruler.map(f64::abs))
        .collect();
    ruler.sort_by(f64::total_cmp);
    println!(
        "ruler: scale found in {} of {n} photos; |mm/px error|: median {:.3} %, p95 {:.3} %, max {:.3} %",
        ruler.len(),
        percentile(&ruler, 0.5),
        percentile(&ruler, 0.95),
        ruler.last().copied().unwrap_or(f64::NAN)
    );
    for f in results
        .iter()
        .filter_map(|r| r.ruler_failure.as_ref())
        .take(10)
    {
        println!("    {f}");
    }
}
