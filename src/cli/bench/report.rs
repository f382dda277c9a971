//! `strain-seer bench report`: time the lab report (HTML, and PDF when built with the `pdf`
//! feature) of synthetic projects of N images, each with a 256-px JPEG thumbnail, and print
//! the time and the size. Prints numbers; asserts nothing.

use crate::app::report::{self, ReportInput, Thumbnail};
use crate::cli::BadInput;
use anyhow::Context;
use std::process::ExitCode;
use std::time::Instant;
use strain_seer_engine::synthetic::{SCALE_LENGTH_MM, synthetic_images};
use strain_seer_engine::{AnalysisOptions, Component, analyze};
use strain_seer_formats::{AnnotatedPoint, Project, ProjectImage};

#[derive(Debug, clap::Args)]
pub struct ReportBenchArgs {
    /// Project sizes (images per synthetic project), comma-separated; each at least 3.
    #[arg(
        long,
        value_name = "N,...",
        value_delimiter = ',',
        default_value = "4,1000",
        env = "STRAIN_SEER_BENCH_REPORT_SIZES"
    )]
    pub sizes: Vec<usize>,

    /// Write the reports into this directory (to look at them).
    #[arg(long, value_name = "DIR", env = "STRAIN_SEER_BENCH_REPORT_OUT")]
    pub out: Option<std::path::PathBuf>,
}

/// A 256 × 192 JPEG with a gradient: the size of a stored thumbnail.
fn thumbnail() -> Option<Thumbnail> {
    let img = image::RgbImage::from_fn(256, 192, |x, y| {
        #[allow(clippy::cast_possible_truncation)]
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) / 3 % 256) as u8])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    report::thumbnail_of(&png, 256)
}

fn project_of(images: &[strain_seer_engine::ImageInput]) -> Project {
    let mut project = Project::new("synthetic");
    project.scale_length = SCALE_LENGTH_MM;
    for (k, im) in images.iter().enumerate() {
        let mut p = ProjectImage::new(format!("img{k}"), im.name.clone(), k as i64);
        p.width = Some(1200);
        p.height = Some(1600);
        p.sha256 = Some(format!("{k:064x}"));
        p.deformation_distance = im.deformation;
        let manual = |points: &[strain_seer_engine::Point]| -> Vec<AnnotatedPoint> {
            points.iter().map(|&q| AnnotatedPoint::manual(q)).collect()
        };
        if let Some(f) = &im.fiducials {
            p.fiducials = manual(f.points());
        }
        if let Some(s) = &im.scale {
            p.scale_points = manual(s.points());
        }
        project.images.push(p);
    }
    project
}

pub fn run(args: ReportBenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(&n) = args.sizes.iter().find(|&&n| n < 3) {
        return Err(BadInput(format!(
            "--sizes: every project needs at least 3 images, got {n}"
        ))
        .into());
    }
    println!("strain-seer bench report: lab report of synthetic projects (eps_xx, eps_yy, eps_xy)");
    println!(
        "{:>8}  {:>10}  {:>10}  {:>12}  {:>10}  {:>12}",
        "images", "analysis", "HTML", "HTML bytes", "PDF", "PDF bytes"
    );
    for &n in &args.sizes {
        let images = synthetic_images(n, 42);
        let options = AnalysisOptions {
            scale_length: SCALE_LENGTH_MM,
            components: Component::DEFAULT.to_vec(),
            ..AnalysisOptions::default()
        };
        let start = Instant::now();
        let analysis = analyze(&images, &options).context("analysing the synthetic project")?;
        let t_analysis = start.elapsed();
        let project = project_of(&images);
        let thumb = thumbnail();
        let input = ReportInput {
            project: &project,
            analysis: &analysis,
            thumbnails: vec![thumb; n],
            generated: report::now_text(),
            source: format!("synthetic project of {n} images"),
        };
        let start = Instant::now();
        let html = report::html::render(&input)?;
        let t_html = start.elapsed();
        let (t_pdf, pdf) = pdf(&input)?;
        if let Some(dir) = &args.out {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join(format!("report-{n}.html")), &html)?;
            if let Some(pdf) = &pdf {
                std::fs::write(dir.join(format!("report-{n}.pdf")), pdf)?;
            }
        }
        println!(
            "{:>8}  {:>8.3} s  {:>8.3} s  {:>12}  {:>10}  {:>12}",
            n,
            t_analysis.as_secs_f64(),
            t_html.as_secs_f64(),
            html.len(),
            t_pdf.map_or_else(|| "not built".to_owned(), |t| format!("{t:.3} s")),
            pdf.map_or_else(|| "—".to_owned(), |p| p.len().to_string())
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "pdf")]
fn pdf(input: &ReportInput<'_>) -> anyhow::Result<(Option<f64>, Option<Vec<u8>>)> {
    let start = Instant::now();
    let bytes = report::pdf::render(input)?;
    Ok((Some(start.elapsed().as_secs_f64()), Some(bytes)))
}

#[cfg(not(feature = "pdf"))]
fn pdf(_input: &ReportInput<'_>) -> anyhow::Result<(Option<f64>, Option<Vec<u8>>)> {
    Ok((None, None))
}
