//! Frames from a film for the command line: the selection flags shared by `frames` and
//! `detect VIDEO`, reading the test machine's log, and decoding the chosen frames with what the
//! log says at each one's time (rules in [`crate::app::frames`], decoding in [`crate::video`]).

use crate::app::frames::{self, FrameSelection, LogOffset, MARKER_MOTION_PX};
use crate::cli::BadInput;
use crate::video::{DecodeOptions, Frame, Video, VideoError, VideoInfo};
use anyhow::Context;
use std::path::{Path, PathBuf};
use strain_seer_engine::Point;
use strain_seer_engine::detect::{TrackOptions, detect_markers, track_markers};
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
    let offset = match (args.log_offset, &log) {
        (LogOffset::Seconds(s), _) => s,
        (LogOffset::Auto, None) => {
            return Err(BadInput("--log-offset auto needs --log LOG.csv".to_owned()).into());
        }
        (LogOffset::Auto, Some(log)) => {
            let motion = first_motion_in_film(&mut video)?;
            let offset = frames::auto_offset(log, motion)
                .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
            eprintln!(
                "--log-offset auto: the markers first move at {:.3} s in the film, the log's displacement first changes at {:.3} s: offset {offset:.3} s",
                motion.unwrap_or_default(),
                motion.unwrap_or_default() + offset
            );
            offset
        }
    };
    let times = frames::frame_times(&selection, info.duration_s, log.as_ref(), offset)
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
            .and_then(|l| frames::log_at(l, frame.time_s, offset));
        out.push(ChosenFrame {
            name: frames::frame_name(&stem, frame.time_s),
            frame,
            log: sample,
        });
    }
    Ok((info, log, out))
}

/// Seconds between the samples of the first pass of [`first_motion_in_film`]; the frames
/// between the last still sample and the first moved one are then tracked one by one.
const MOTION_SCAN_STEP_S: f64 = 0.25;

/// The video time of the markers' first motion (`--log-offset auto`): the markers are detected
/// in the first frame and tracked through samples every [`MOTION_SCAN_STEP_S`] until one moved
/// more than [`MARKER_MOTION_PX`], then frame by frame from the last still sample (rule:
/// [`frames::first_marker_motion`]). `None` when they never move.
fn first_motion_in_film(video: &mut Video) -> anyhow::Result<Option<f64>> {
    let info = video.info().clone();
    let name = video.name().to_owned();
    let opts = TrackOptions::default();
    let first = video.frame_at(0.0).map_err(video_error)?;
    let origin = detect_markers(&first.image, &opts.markers)
        .map_err(|e| {
            BadInput(format!(
                "{name}: --log-offset auto: no markers in the first frame ({e}); give --log-offset S"
            ))
        })?
        .fiducials;
    let track = |video: &mut Video,
                 t: f64,
                 from: &[Point; 5]|
     -> anyhow::Result<(f64, [Point; 5])> {
        let frame = video.frame_at(t).map_err(video_error)?;
        let previous = strain_seer_engine::Fiducials::new(*from)
            .map_err(|e| anyhow::anyhow!("tracking from {from:?}: {e}"))?;
        let found = track_markers(&frame.image, &previous, &opts).map_err(|e| {
            BadInput(format!(
                "{name}: --log-offset auto: the markers are lost at {:.3} s ({e}); give --log-offset S",
                frame.time_s
            ))
        })?;
        Ok((frame.time_s, *found.fiducials.points()))
    };
    let start = (first.time_s, *origin.points());
    // First pass: the last still sample before the first moved one.
    let mut still = start;
    let mut t = first.time_s + MOTION_SCAN_STEP_S;
    let moved_at = loop {
        if t >= info.duration_s {
            return Ok(None);
        }
        let now = track(video, t, &still.1)?;
        if frames::marker_motion(&start.1, &now.1) > MARKER_MOTION_PX {
            break now.0;
        }
        still = now;
        t += MOTION_SCAN_STEP_S;
    };
    // Second pass: every frame from there (a quarter interval past each expected frame time).
    let dt = if info.avg_fps > 0.0 {
        1.0 / info.avg_fps
    } else {
        0.01
    };
    let mut samples = vec![start];
    let mut from = still.1;
    for k in 1.. {
        let t = still.0 + (f64::from(k) + 0.25) * dt;
        if t > moved_at + dt {
            break;
        }
        let now = track(video, t, &from)?;
        from = now.1;
        samples.push(now);
        if now.0 >= moved_at {
            break;
        }
    }
    Ok(frames::first_marker_motion(&samples, MARKER_MOTION_PX).or(Some(moved_at)))
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
