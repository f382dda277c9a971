//! `strain-seer frames VIDEO`: write the chosen frames of a film as PNG, with `frames.csv`
//! (index, time_s, filename, deformation_mm, force_N) giving each frame's time and what the test
//! machine's log says then.

use crate::app::video::describe;
use crate::cli::video::{FrameArgs, chosen_frames};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  strain-seer frames test.mp4 --every 2 --out frames/
  strain-seer frames test.mp4 --at 0.5,1.5,2.5 --out frames/
  strain-seer frames test.mov --log machine.csv --log-step 0.5 --log-offset -1.2 --out frames/
  strain-seer frames test.mp4 --every 1 --log machine.csv --log-offset auto --out frames/

Each frame is the one shown at the chosen time (its own presentation time from the file, which
names it: test-t12.500s.png), rotated as a phone's portrait video is displayed. The log is a CSV
of time, displacement and optionally force; its delimiter, decimal comma, header and units
(s/ms, mm/µm, N/kN) are detected. A frame outside the log's time span gets no distance.
--log-offset auto puts the log's first change of displacement at the markers' first motion in
the film (detected in the first frame, then tracked).

Needs a strain-seer built with `--features video`.

Exit status: 0 success; 2 when the video or the log cannot be read, or the selection is wrong
(the message names the file, the frame time or the CSV line); 1 any other failure.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct FramesArgs {
    /// The film (MP4, MOV, AVI, MKV).
    #[arg(value_name = "VIDEO")]
    pub video: PathBuf,

    #[command(flatten)]
    pub select: FrameArgs,

    /// Folder to write the PNG frames and frames.csv into (created if missing).
    #[arg(long, value_name = "DIR", env = "STRAIN_SEER_FRAMES_OUT")]
    pub out: PathBuf,
}

pub fn run(args: FramesArgs) -> anyhow::Result<ExitCode> {
    let film = chosen_frames(&args.video, &args.select)?;
    eprintln!(
        "{}",
        describe(
            &args.video.display().to_string(),
            &film.info,
            film.log.as_ref()
        )
    );
    let chosen = film.frames;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let csv_path = args.out.join("frames.csv");
    let mut csv = csv::Writer::from_path(&csv_path)
        .with_context(|| format!("writing {}", csv_path.display()))?;
    csv.write_record(["index", "time_s", "filename", "deformation_mm", "force_N"])?;
    for (i, c) in chosen.iter().enumerate() {
        let filename = format!("{}.png", c.name);
        let path = args.out.join(&filename);
        c.frame
            .image
            .save(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        // Nine decimals: no binary noise (249.99999999999997) in a table people read.
        let opt = |v: Option<f64>| {
            v.map(|v| ((v * 1e9).round() / 1e9).to_string())
                .unwrap_or_default()
        };
        csv.write_record([
            i.to_string(),
            format!("{:.6}", c.frame.time_s),
            filename,
            opt(c.log.map(|s| s.displacement_mm)),
            opt(c.log.and_then(|s| s.force_n)),
        ])?;
    }
    csv.flush()
        .with_context(|| format!("writing {}", csv_path.display()))?;
    eprintln!(
        "wrote {} frames and frames.csv to {}",
        chosen.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
