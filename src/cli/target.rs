//! `strain-seer target`: write the printable dot-grid calibration target (SVG, mm).

use crate::cli::BadInput;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strain_seer_formats::target_sheet::{Paper, TargetSheet};

const AFTER_HELP: &str = "\
Examples:
  strain-seer target --out target.svg
  strain-seer target --pitch 2 --paper letter --out small-target.svg

Print the file at 100 % (no \"fit to page\") and check the 100 mm bar with a ruler. Lay the sheet
flat beside the specimen, in its plane, so that a good part of the grid (at least 12 dots, better
a hundred) is in every photo; then detect with `strain-seer detect --target-pitch PITCH`. Pick a
pitch that shows each dot at 8 px or more across in the photos.

Exit status: 0 success; 2 for a design that cannot be printed; 1 any other failure.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct TargetArgs {
    /// Distance between neighbouring dots' centres, mm (1–50).
    #[arg(
        long,
        value_name = "MM",
        default_value_t = 5.0,
        env = "STRAIN_SEER_TARGET_PITCH"
    )]
    pub pitch: f64,

    /// Dot diameter, mm [default: 40 % of the pitch].
    #[arg(long, value_name = "MM", env = "STRAIN_SEER_TARGET_DOT")]
    pub dot: Option<f64>,

    /// Paper size: a4 or letter.
    #[arg(long, default_value = "a4", env = "STRAIN_SEER_TARGET_PAPER")]
    pub paper: Paper,

    /// Output file; "-" or none writes to standard output.
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: TargetArgs) -> anyhow::Result<ExitCode> {
    let sheet = TargetSheet {
        pitch_mm: args.pitch,
        dot_mm: args.dot,
        paper: args.paper,
    };
    sheet.validate().map_err(BadInput)?;
    let svg = sheet.to_svg();
    match args.out.as_deref() {
        Some(path) if path != Path::new("-") => {
            std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))?;
            let (cols, rows) = sheet.grid();
            eprintln!(
                "wrote {} ({cols} × {rows} dots, pitch {} mm, {} paper)",
                path.display(),
                sheet.pitch_mm,
                sheet.paper.key()
            );
        }
        _ => print!("{svg}"),
    }
    Ok(ExitCode::SUCCESS)
}
