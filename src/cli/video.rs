//! Frames from a film for the command line: the selection flags shared by `frames` and
//! `detect VIDEO`, turned into the app layer's request ([`crate::app::video`], which reads the
//! log and decodes the chosen frames with what the log says at each one's time).

use crate::app::frames::{FrameSelection, LogOffset};
use crate::app::video::{self, Film, FilmError, FilmRequest, LogColumns};
use crate::cli::BadInput;
use crate::video::DecodeOptions;
use anyhow::Context;
use std::path::{Path, PathBuf};
use strain_seer_formats::machine_log::MachineLog;

/// Which frames of a video to take, and the test machine's log.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FrameArgs {
    /// Take a frame every S seconds from the start of the video.
    #[arg(long, value_name = "S", conflicts_with_all = ["count", "at"], env = "STRAIN_SEER_EVERY")]
    pub every: Option<f64>,

    /// Take N frames evenly spaced over the video.
    #[arg(long, value_name = "N", conflicts_with_all = ["every", "at"], env = "STRAIN_SEER_COUNT")]
    pub count: Option<usize>,

    /// Take the frames shown at these times (seconds, comma-separated).
    #[arg(long, value_name = "T1,T2,…", conflicts_with_all = ["every", "count"], env = "STRAIN_SEER_AT")]
    pub at: Option<String>,

    /// The test machine's log (CSV of time, displacement and optionally force): each frame's
    /// deformation distance (and force) is read from it at the frame's time + --log-offset.
    /// Without --every/--count/--at, the frames are taken at the log's rows.
    #[arg(long, value_name = "LOG.csv", env = "STRAIN_SEER_LOG")]
    pub log: Option<PathBuf>,

    /// Log time minus video time, s: the frame at video time t reads the log at t + OFFSET.
    /// `auto`: the offset that puts the log's first change of displacement at the markers' first
    /// motion in the film (markers detected in the first frame and tracked).
    #[arg(
        long,
        value_name = "S|auto",
        default_value = "0",
        allow_negative_numbers = true,
        env = "STRAIN_SEER_LOG_OFFSET"
    )]
    pub log_offset: LogOffset,

    /// With frames at the log's rows: only rows where the displacement changed by at least this
    /// many mm since the last frame taken.
    #[arg(
        long,
        value_name = "MM",
        default_value_t = 0.0,
        env = "STRAIN_SEER_LOG_STEP"
    )]
    pub log_step: f64,

    /// The log's time column: a name its header contains, or a 0-based index.
    #[arg(long, value_name = "COLUMN", env = "STRAIN_SEER_LOG_TIME_COLUMN")]
    pub log_time_column: Option<String>,

    /// The log's displacement column: a name its header contains, or a 0-based index.
    #[arg(
        long,
        value_name = "COLUMN",
        env = "STRAIN_SEER_LOG_DISPLACEMENT_COLUMN"
    )]
    pub log_displacement_column: Option<String>,

    /// The log's force column: a name its header contains, or a 0-based index.
    #[arg(long, value_name = "COLUMN", env = "STRAIN_SEER_LOG_FORCE_COLUMN")]
    pub log_force_column: Option<String>,
}

impl FrameArgs {
    /// Whether any selection or log flag was given.
    pub fn any(&self) -> bool {
        self.every.is_some() || self.count.is_some() || self.at.is_some() || self.log.is_some()
    }

    /// The log, read and checked; its errors name the file and line.
    pub fn read_log(&self) -> anyhow::Result<Option<MachineLog>> {
        let Some(path) = &self.log else {
            return Ok(None);
        };
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let columns = LogColumns {
            time: self.log_time_column.clone(),
            displacement: self.log_displacement_column.clone(),
            force: self.log_force_column.clone(),
        };
        let log =
            video::read_log(&path.display().to_string(), &bytes, &columns).map_err(film_error)?;
        Ok(Some(log))
    }

    /// The selection the flags make.
    pub fn selection(&self) -> anyhow::Result<FrameSelection> {
        video::selection(
            self.every,
            self.count,
            self.at.as_deref(),
            self.log.is_some(),
            self.log_step,
        )
        .map_err(|e| {
            BadInput(if e.starts_with("choose the frames:") {
                "choose the frames with --every S, --count N, --at T1,T2,… or --log LOG.csv"
                    .to_owned()
            } else {
                e
            })
            .into()
        })
    }
}

/// A film error as the CLI reports it: bad input (exit 2) unless the machine failed.
pub fn film_error(err: FilmError) -> anyhow::Error {
    if err.is_bad_input() {
        BadInput(err.to_string()).into()
    } else {
        anyhow::Error::new(err)
    }
}

/// Open the video, choose its frames, decode them (ascending time; a time that falls on the same
/// frame as the one before is skipped) and read the log at each ([`crate::app::video`]).
pub fn chosen_frames(path: &Path, args: &FrameArgs) -> anyhow::Result<Film> {
    let log = args.read_log()?;
    let name = path.display().to_string();
    let max_pixels = DecodeOptions::default().max_pixels;
    let log_offset_s = match (args.log_offset, &log) {
        (LogOffset::Seconds(s), _) => s,
        (LogOffset::Auto, None) => {
            return Err(BadInput("--log-offset auto needs --log LOG.csv".to_owned()).into());
        }
        (LogOffset::Auto, Some(log)) => {
            let found = video::auto_log_offset(path, &name, log, max_pixels).map_err(film_error)?;
            eprintln!(
                "--log-offset auto: the markers first move at {:.3} s in the film, the log's \
                 displacement first changes at {:.3} s: offset {:.3} s",
                found.motion_s,
                found.motion_s + found.offset_s,
                found.offset_s
            );
            found.offset_s
        }
    };
    let request = FilmRequest {
        selection: args.selection()?,
        log_offset_s,
        max_decoded_bytes: u64::MAX,
        max_pixels,
        max_duration_s: f64::INFINITY,
    };
    video::decode_film(path, &name, log, &request, |_, _, _| {}).map_err(film_error)
}
