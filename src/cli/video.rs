//! Frames from a film for the command line: the selection flags shared by `frames` and
//! `detect VIDEO`, reading the test machine's log, and decoding the chosen frames with what the
//! log says at each one's time (rules in [`crate::app::frames`], decoding in [`crate::video`]).

use crate::app::frames::{self, FrameSelection};
use crate::cli::BadInput;
use crate::video::{DecodeOptions, Frame, Video, VideoError, VideoInfo};
use anyhow::Context;
use std::path::{Path, PathBuf};
use strain_seer_formats::machine_log::{ColumnRef, LogOptions, LogSample, MachineLog};

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
    #[arg(
        long,
        value_name = "S",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        env = "STRAIN_SEER_LOG_OFFSET"
    )]
    pub log_offset: f64,

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
        let text = String::from_utf8_lossy(&bytes);
        let opts = LogOptions {
            time: self.log_time_column.as_deref().map(ColumnRef::parse),
            displacement: self
                .log_displacement_column
                .as_deref()
                .map(ColumnRef::parse),
            force: self.log_force_column.as_deref().map(ColumnRef::parse),
            ..LogOptions::default()
        };
        let log = MachineLog::parse(&text, &opts)
            .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
        Ok(Some(log))
    }

    /// The selection the flags make.
    pub fn selection(&self) -> anyhow::Result<FrameSelection> {
        Ok(match (self.every, self.count, &self.at, &self.log) {
            (Some(s), _, _, _) => FrameSelection::Every(s),
            (_, Some(n), _, _) => FrameSelection::Count(n),
            (_, _, Some(at), _) => FrameSelection::At(
                frames::parse_times(at).map_err(|e| BadInput(format!("--at: {e}")))?,
            ),
            (_, _, _, Some(_)) => FrameSelection::LogRows {
                min_step_mm: self.log_step,
            },
            _ => {
                return Err(BadInput(
                    "choose the frames with --every S, --count N, --at T1,T2,… or --log LOG.csv"
                        .to_owned(),
                )
                .into());
            }
        })
    }
}

/// One chosen frame with its name (no extension) and what the log says at its time.
#[derive(Debug)]
pub struct ChosenFrame {
    pub name: String,
    pub frame: Frame,
    pub log: Option<LogSample>,
}

/// A video error as the CLI reports it: bad input (exit 2) unless the machine failed.
pub fn video_error(err: VideoError) -> anyhow::Error {
    if err.is_bad_input() {
        BadInput(err.to_string()).into()
    } else {
        anyhow::Error::new(err)
    }
}

/// Open the video, choose its frames, decode them (ascending time; a time that falls on the same
/// frame as the one before is skipped) and read the log at each.
pub fn chosen_frames(
    path: &Path,
    args: &FrameArgs,
) -> anyhow::Result<(VideoInfo, Option<MachineLog>, Vec<ChosenFrame>)> {
    let log = args.read_log()?;
    let selection = args.selection()?;
    let mut video = Video::open(path, DecodeOptions::default()).map_err(video_error)?;
    let info = video.info().clone();
    let times = frames::frame_times(&selection, info.duration_s, log.as_ref(), args.log_offset)
        .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".to_owned());
    let mut out: Vec<ChosenFrame> = Vec::with_capacity(times.len());
    for t in times {
        let frame = video.frame_at(t).map_err(video_error)?;
        if out.last().is_some_and(|c| c.frame.time_s == frame.time_s) {
            continue;
        }
        let sample = log
            .as_ref()
            .and_then(|l| frames::log_at(l, frame.time_s, args.log_offset));
        out.push(ChosenFrame {
            name: frames::frame_name(&stem, frame.time_s),
            frame,
            log: sample,
        });
    }
    Ok((info, log, out))
}

/// One line about the video for standard error.
pub fn describe(path: &Path, info: &VideoInfo, log: Option<&MachineLog>) -> String {
    let mut s = format!(
        "{}: {} {}×{} px, {:.3} s, {:.2} frames/s average{}",
        path.display(),
        info.codec,
        info.width,
        info.height,
        info.duration_s,
        info.avg_fps,
        if info.rotation_deg != 0 {
            format!(", rotated {}° for display", info.rotation_deg)
        } else {
            String::new()
        }
    );
    if let Some(log) = log {
        s.push_str(&format!(
            "; log: {} rows, {:.3}–{:.3} s, columns {}{}",
            log.time_s.len(),
            log.time_s.first().copied().unwrap_or(0.0),
            log.time_s.last().copied().unwrap_or(0.0),
            log.columns.join(" / "),
            if log.decimal_comma {
                ", decimal comma"
            } else {
                ""
            }
        ));
    }
    s
}
