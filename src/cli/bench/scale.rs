//! `strain-seer bench scale`: the scale methods against synthetic truth (photo sequences of a
//! known deformation, each photo through its own camera pose) and on the demo photos (the same
//! photos detected with four different spans). Prints numbers; asserts nothing.

use crate::cli::detect::decode_image;
use anyhow::Context;
use std::process::ExitCode;
use std::time::Instant;
use strain_seer_engine::detect::{self, MarkerOptions, RulerOptions};
use strain_seer_engine::scale::trials::{TiltAxis, TrialConfig, TrialReport, run_trials};
use strain_seer_engine::{AnalysisOptions, ImageInput, ScaleMethod, analyze};

const AFTER_HELP: &str = "\
Examples:
  strain-seer bench scale
  strain-seer bench scale --sequences 100 --max-tilt 20

Synthetic: SEQUENCES sequences of 4 photos (deformation 0, 10, 20, 30 mm; the specimen's true
strain at 30 mm is εxx = +0.24, εyy = −0.36; a dot-grid calibration target of 7 × 15 dots at a
5 mm pitch lies left of the markers), each photo with its own random camera tilt up to
MAX-TILT degrees, first about the axis across the ruler (the ruler's mm/px changes along it), then
about the ruler's own axis (its graduation lines converge). The target, the markers and the ruler are found by the detectors;
every method's εxx and εyy are compared with the truth: median, p95 and max of the absolute
error, and how often the reported 95 % interval (±1.96 σ) holds the truth.

Demo: the demo photos detected with spans of 10, 20, 30 and 40 mm; the largest difference of εxx
and εyy between the four, per method.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct ScaleBenchArgs {
    /// Synthetic sequences per tilt axis.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 40,
        env = "STRAIN_SEER_BENCH_SEQUENCES"
    )]
    pub sequences: usize,

    /// Largest camera tilt, degrees.
    #[arg(
        long,
        value_name = "DEG",
        default_value_t = 15.0,
        env = "STRAIN_SEER_BENCH_MAX_TILT"
    )]
    pub max_tilt: f64,

    /// Point σ given to the analysis, px (the detector's error on these photos is ~0.05 px).
    #[arg(
        long,
        value_name = "PX",
        default_value_t = 0.1,
        env = "STRAIN_SEER_BENCH_SIGMA_PX"
    )]
    pub sigma_px: f64,

    #[command(flatten)]
    pub demo: super::DemoDirArg,
}

pub fn run(args: ScaleBenchArgs) -> anyhow::Result<ExitCode> {
    for (axis, title) in [
        (
            TiltAxis::AcrossRuler,
            "tilt about the axis across the ruler (its mm/px changes along it)",
        ),
        (
            TiltAxis::AlongRuler,
            "tilt about the ruler's own axis (its lines converge)",
        ),
    ] {
        let started = Instant::now();
        let report = run_trials(&TrialConfig {
            sequences: args.sequences,
            axis,
            max_tilt_deg: args.max_tilt,
            sigma_px: args.sigma_px,
            ..TrialConfig::default()
        });
        println!(
            "\nSynthetic, {title}: {} sequences × 4 photos, tilt up to ±{}°, σ = {} px ({:.1} s)",
            report.sequences,
            args.max_tilt,
            args.sigma_px,
            started.elapsed().as_secs_f64()
        );
        print_report(&report);
    }
    demo(&args)?;
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &TrialReport) {
    println!(
        "| method | median |error| | p95 | max | 95 % interval holds the truth | p95 vs span 10 mm |"
    );
    println!("|---|---|---|---|---|---|");
    let base = report
        .variants
        .first()
        .map_or(f64::NAN, |v| v.quantile(0.95));
    for v in &report.variants {
        println!(
            "| {} | {:.5} | {:.5} | {:.5} | {:.1} % ({} of {}) | {:.1}× smaller |",
            v.name,
            v.quantile(0.5),
            v.quantile(0.95),
            v.max(),
            100.0 * v.coverage(),
            v.covered,
            v.errors.len(),
            base / v.quantile(0.95)
        );
    }
    for f in &report.failures {
        println!("left out: {f}");
    }
}

fn demo(args: &ScaleBenchArgs) -> anyhow::Result<()> {
    let names = [
        ("deformation-00mm-force.png", 0.0),
        ("deformation-10mm-force.png", 10.0),
        ("deformation-20mm-force.png", 20.0),
        ("deformation-30mm-force.png", 30.0),
    ];
    let mut photos = Vec::new();
    for (name, d) in names {
        let path = args.demo.demo_dir.join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let image =
            decode_image(&bytes, name).with_context(|| format!("decoding {}", path.display()))?;
        let markers = detect::detect_markers(&image, &MarkerOptions::default())
            .with_context(|| format!("markers of {name}"))?;
        photos.push((name, d, image, markers.fiducials));
    }
    let spans = [10u32, 20, 30, 40];
    let mut sets: Vec<Vec<ImageInput>> = Vec::new();
    for &span in &spans {
        let mut set = Vec::new();
        for (name, d, image, fiducials) in &photos {
            let ruler = detect::detect_ruler(
                image,
                &RulerOptions {
                    span_mm: Some(span),
                    near_markers: Some(*fiducials),
                    ..RulerOptions::default()
                },
            )
            .with_context(|| format!("ruler of {name} ({span} mm)"))?;
            set.push(ImageInput {
                ruler: Some(ruler.model),
                size: Some([image.width(), image.height()]),
                ..ImageInput::complete(*name, *fiducials, ruler.scale_points, *d)
            });
        }
        sets.push(set);
    }
    println!("\nDemo photos detected with spans of 10, 20, 30 and 40 mm (σ = 1 px, focal 28 mm):");
    println!(
        "| method | εxx at 30 mm, span 10 / 20 / 30 / 40 | largest difference between spans (εxx, εyy) | combined σ of εxx / εyy at 30 mm |"
    );
    println!("|---|---|---|---|");
    // The demo photos have no calibration target.
    for method in ScaleMethod::ALL
        .into_iter()
        .filter(|&m| m != ScaleMethod::Target)
    {
        let mut per_span = Vec::new();
        for (set, &span) in sets.iter().zip(&spans) {
            let a = analyze(
                set,
                &AnalysisOptions {
                    scale_length: f64::from(span),
                    scale_method: Some(method),
                    ..AnalysisOptions::default()
                },
            )
            .with_context(|| format!("{method}, span {span} mm"))?;
            per_span.push(a);
        }
        let spread = |f: &dyn Fn(&strain_seer_engine::ImageResult) -> f64| {
            (0..per_span[0].rows.len())
                .map(|i| {
                    let v: Vec<f64> = per_span.iter().map(|a| f(&a.rows[i])).collect();
                    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                        - v.iter().copied().fold(f64::INFINITY, f64::min)
                })
                .fold(0.0, f64::max)
        };
        let at30: Vec<String> = per_span
            .iter()
            .map(|a| format!("{:.4}", a.rows[3].measures.small.xx))
            .collect();
        let last = &per_span[3].rows[3];
        println!(
            "| {} | {} | {:.4}, {:.4} | {:.4} / {:.4} |",
            method.label(),
            at30.join(" / "),
            spread(&|r| r.measures.small.xx),
            spread(&|r| r.measures.small.yy),
            last.uncertainty.small.xx,
            last.uncertainty.small.yy
        );
    }
    Ok(())
}
