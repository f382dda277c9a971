//! A film (and the test machine's log) as the frames that become a project's images: read the
//! log, choose the frames, decode them with what the log says at each one's time. Used by
//! `strain-seer frames`, `strain-seer detect VIDEO` and `POST /api/projects/{id}/video`; the
//! rules for choosing live in [`super::frames`], the decoding in [`crate::video`].
//!
//! Method: the log is parsed first (its errors name the file and the line), then the video is
//! opened (its size is checked against the pixel limit before a frame is decoded), the chosen
//! times are computed from the video's duration, and each time is decoded in ascending order
//! (seek to the keyframe before it and decode forward). A time that falls on the same frame as
//! the one before is skipped, so each image is a distinct frame. Each frame is named
//! `<video stem>-t<seconds, 3 decimals>s` after its own presentation time and carries the log's
//! displacement (and force) interpolated at that time + the log offset.

use super::frames::{self, FrameSelection};
use crate::video::{DecodeOptions, Frame, Video, VideoError, VideoInfo};
use std::path::Path;
use strain_seer_engine::detect::{TrackOptions, detect_markers, track_markers};
use strain_seer_engine::{Fiducials, Point};
use strain_seer_formats::machine_log::{ColumnRef, LogError, LogOptions, LogSample, MachineLog};

/// Which of the log's columns to read; `None` = detected from the header.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogColumns {
    pub time: Option<String>,
    pub displacement: Option<String>,
    pub force: Option<String>,
}

/// Why a film (or its log, or the choice of frames) cannot give frames.
#[derive(Debug, thiserror::Error)]
pub enum FilmError {
    #[error(transparent)]
    Video(#[from] VideoError),
    /// The film is longer than allowed.
    #[error(
        "{name}: the film lasts {duration_s:.1} s, longer than this server's limit of {limit_s} s \
         (--max-film-minutes): cut it to the test, or raise the limit"
    )]
    TooLong {
        name: String,
        duration_s: f64,
        limit_s: f64,
    },
    /// The log does not read; `source` names the line.
    #[error("{name}: {source}")]
    Log { name: String, source: LogError },
    /// The selection does not fit the film or the log (message names the rule).
    #[error("{name}: {message}")]
    Selection { name: String, message: String },
    /// The decoded frames would take more memory than allowed.
    #[error(
        "{name}: {frames} frames of {width}×{height} px need {mib} MiB decoded, more than the \
         limit of {limit_mib} MiB: choose fewer frames"
    )]
    TooManyPixels {
        name: String,
        frames: usize,
        width: u32,
        height: u32,
        mib: u64,
        limit_mib: u64,
    },
}

impl FilmError {
    /// Whether the user's files or choices are at fault, as opposed to the machine.
    pub fn is_bad_input(&self) -> bool {
        match self {
            FilmError::Video(e) => e.is_bad_input(),
            _ => true,
        }
    }
}

/// File extensions of the test machine's log (delimited text; the content decides).
pub const LOG_EXTENSIONS: &[&str] = &["csv", "tsv", "txt"];
/// MIME types of the log, for file pickers.
pub const LOG_MIME_TYPES: &[&str] = &["text/csv", "text/tab-separated-values", "text/plain"];

/// How to choose the frames and read the log.
#[derive(Debug, Clone, PartialEq)]
pub struct FilmRequest {
    pub selection: FrameSelection,
    /// Log time minus video time, s.
    pub log_offset_s: f64,
    /// Refuse when the chosen frames, decoded (RGB, 3 bytes a pixel), take more than this.
    pub max_decoded_bytes: u64,
    /// Refuse a film whose frames have more pixels than this.
    pub max_pixels: u64,
    /// Refuse a film longer than this, s (`f64::INFINITY` = any length).
    pub max_duration_s: f64,
}

/// One chosen frame with its name (no extension) and what the log says at its time.
#[derive(Debug)]
pub struct ChosenFrame {
    pub name: String,
    pub frame: Frame,
    pub log: Option<LogSample>,
}

/// The decoded frames of a film, with what the file and the log said.
#[derive(Debug)]
pub struct Film {
    pub info: VideoInfo,
    pub log: Option<MachineLog>,
    pub frames: Vec<ChosenFrame>,
}

/// The selection given by at most one of every / count / at; without any, the log's rows
/// (with `log_step_mm`) when there is a log. Errors say what to give.
pub fn selection(
    every: Option<f64>,
    count: Option<usize>,
    at: Option<&str>,
    has_log: bool,
    log_step_mm: f64,
) -> Result<FrameSelection, String> {
    let given =
        usize::from(every.is_some()) + usize::from(count.is_some()) + usize::from(at.is_some());
    if given > 1 {
        return Err("choose the frames one way only: every S seconds, N frames or at times".into());
    }
    if !log_step_mm.is_finite() || log_step_mm < 0.0 {
        return Err(format!(
            "the log step must be a displacement ≥ 0 mm, not {log_step_mm}"
        ));
    }
    Ok(match (every, count, at) {
        (Some(s), _, _) => FrameSelection::Every(s),
        (_, Some(n), _) => FrameSelection::Count(n),
        (_, _, Some(at)) => FrameSelection::At(frames::parse_times(at)?),
        _ if has_log => FrameSelection::LogRows {
            min_step_mm: log_step_mm,
        },
        _ => {
            return Err(
                "choose the frames: every S seconds, N frames, at times, or at the log's rows \
                 (with a log)"
                    .into(),
            );
        }
    })
}

/// Read a log from its bytes (UTF-8; other bytes are replaced); errors name `name` and the line.
pub fn read_log(name: &str, bytes: &[u8], columns: &LogColumns) -> Result<MachineLog, FilmError> {
    let text = String::from_utf8_lossy(bytes);
    let opts = LogOptions {
        time: columns.time.as_deref().map(ColumnRef::parse),
        displacement: columns.displacement.as_deref().map(ColumnRef::parse),
        force: columns.force.as_deref().map(ColumnRef::parse),
        ..LogOptions::default()
    };
    MachineLog::parse(&text, &opts).map_err(|source| FilmError::Log {
        name: name.to_owned(),
        source,
    })
}

/// The file name's stem (`test` of `test.mp4`), `video` when there is none.
pub fn stem(name: &str) -> String {
    Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "video".to_owned())
}

/// Open the film at `path` (shown as `name`, whose stem names the frames), choose its frames,
/// decode them (ascending time, repeats of one frame skipped) and read the log at each.
/// `progress(done, total, time_s)` is called after each decoded frame.
pub fn decode_film(
    path: &Path,
    name: &str,
    log: Option<MachineLog>,
    request: &FilmRequest,
    mut progress: impl FnMut(usize, usize, f64),
) -> Result<Film, FilmError> {
    let opts = DecodeOptions {
        max_pixels: request.max_pixels,
        ..DecodeOptions::default()
    };
    let video = Video::open(path, opts).map_err(|e| renamed(e, name))?;
    let info = video.info().clone();
    if info.duration_s > request.max_duration_s {
        return Err(FilmError::TooLong {
            name: name.to_owned(),
            duration_s: info.duration_s,
            limit_s: request.max_duration_s,
        });
    }
    let times = frames::frame_times(
        &request.selection,
        info.duration_s,
        log.as_ref(),
        request.log_offset_s,
    )
    .map_err(|message| FilmError::Selection {
        name: name.to_owned(),
        message,
    })?;
    let frame_bytes = u64::from(info.width) * u64::from(info.height) * 3;
    let total = frame_bytes.saturating_mul(times.len() as u64);
    if total > request.max_decoded_bytes {
        return Err(FilmError::TooManyPixels {
            name: name.to_owned(),
            frames: times.len(),
            width: info.width,
            height: info.height,
            mib: total.div_ceil(1 << 20),
            limit_mib: request.max_decoded_bytes >> 20,
        });
    }
    let stem = stem(name);
    let decoded = decode_times(path, name, opts, video, &times, &mut progress)?;
    let mut out: Vec<ChosenFrame> = Vec::with_capacity(times.len());
    for frame in decoded {
        if out.last().is_some_and(|c| c.frame.time_s == frame.time_s) {
            continue;
        }
        let sample = log
            .as_ref()
            .and_then(|l| frames::log_at(l, frame.time_s, request.log_offset_s));
        out.push(ChosenFrame {
            name: frames::frame_name(&stem, frame.time_s),
            frame,
            log: sample,
        });
    }
    Ok(Film {
        info,
        log,
        frames: out,
    })
}

/// Fewest wanted frames per decoder: for fewer, a second decoder (its open and first seek) does
/// not pay.
const MIN_FRAMES_PER_DECODER: usize = 4;

/// The frames shown at `times` (ascending), in order. With enough of them, the times are cut
/// into one contiguous run per core and each run is decoded by a decoder of its own, on its own
/// thread: runs far apart in the film are independent (each starts at a keyframe), so this
/// scales with the cores where FFmpeg's frame threads inside one decoder gain little (docs/video.md,
/// Speed). `video` (already open) decodes when one decoder is used. `progress(done, total,
/// time_s)` is called on this thread after each decoded frame, in the order they finish.
fn decode_times(
    path: &Path,
    name: &str,
    opts: DecodeOptions,
    mut video: Video,
    times: &[f64],
    progress: &mut impl FnMut(usize, usize, f64),
) -> Result<Vec<Frame>, FilmError> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let decoders = cores.min(times.len() / MIN_FRAMES_PER_DECODER).max(1);
    if decoders == 1 {
        let mut out = Vec::with_capacity(times.len());
        for (i, &t) in times.iter().enumerate() {
            let frame = video.frame_at(t).map_err(|e| renamed(e, name))?;
            progress(i + 1, times.len(), frame.time_s);
            out.push(frame);
        }
        return Ok(out);
    }
    drop(video);
    let opts = DecodeOptions {
        threads: (cores / decoders).max(1),
        ..opts
    };
    let failed = std::sync::atomic::AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<f64>();
    std::thread::scope(|scope| {
        let runs: Vec<_> = times
            .chunks(times.len().div_ceil(decoders))
            .map(|run| {
                let (tx, failed) = (tx.clone(), &failed);
                scope.spawn(move || -> Result<Vec<Frame>, VideoError> {
                    let result = (|| {
                        let mut video = Video::open(path, opts)?;
                        let mut out = Vec::with_capacity(run.len());
                        for &t in run {
                            if failed.load(std::sync::atomic::Ordering::Relaxed) {
                                break;
                            }
                            let frame = video.frame_at(t)?;
                            let _ = tx.send(frame.time_s);
                            out.push(frame);
                        }
                        Ok(out)
                    })();
                    if result.is_err() {
                        failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    result
                })
            })
            .collect();
        drop(tx);
        for (done, time_s) in rx.iter().enumerate() {
            progress(done + 1, times.len(), time_s);
        }
        let mut out = Vec::with_capacity(times.len());
        for run in runs {
            let frames = run
                .join()
                .map_err(|_| VideoError::Decode {
                    name: name.to_owned(),
                    time_s: 0.0,
                    reason: "a decoder thread stopped unexpectedly".to_owned(),
                })?
                .map_err(|e| renamed(e, name))?;
            out.extend(frames);
        }
        Ok(out)
    })
}

/// What `--log-offset auto` found: the offset and the video time of the markers' first motion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoOffset {
    /// Log time − video time, s.
    pub offset_s: f64,
    /// Video time at which the markers first moved, s.
    pub motion_s: f64,
}

/// Seconds between the samples of the first pass of [`first_motion_in_film`]; the frames
/// between the last still sample and the first moved one are then tracked one by one.
const MOTION_SCAN_STEP_S: f64 = 0.25;

/// The log offset that puts the log's first change of displacement at the markers' first motion
/// in the film ([`frames::auto_offset`]); errors say to give the offset instead.
pub fn auto_log_offset(
    path: &Path,
    name: &str,
    log: &MachineLog,
    max_pixels: u64,
) -> Result<AutoOffset, FilmError> {
    let opts = DecodeOptions {
        max_pixels,
        ..DecodeOptions::default()
    };
    let mut video = Video::open(path, opts).map_err(|e| renamed(e, name))?;
    let motion = first_motion_in_film(&mut video, name)?;
    let offset_s = frames::auto_offset(log, motion).map_err(|message| FilmError::Selection {
        name: name.to_owned(),
        message,
    })?;
    Ok(AutoOffset {
        offset_s,
        motion_s: motion.unwrap_or_default(),
    })
}

/// The video time of the markers' first motion: the markers are detected in the first frame and
/// tracked through samples every [`MOTION_SCAN_STEP_S`] until one moved more than
/// [`frames::MARKER_MOTION_PX`], then frame by frame from the last still sample (rule:
/// [`frames::first_marker_motion`]). `None` when they never move.
fn first_motion_in_film(video: &mut Video, name: &str) -> Result<Option<f64>, FilmError> {
    let info = video.info().clone();
    let opts = TrackOptions::default();
    let selection_error = |message: String| FilmError::Selection {
        name: name.to_owned(),
        message,
    };
    let first = video.frame_at(0.0).map_err(|e| renamed(e, name))?;
    let origin = detect_markers(&first.image, &opts.markers)
        .map_err(|e| {
            selection_error(format!(
                "--log-offset auto: no markers in the first frame ({e}); give the offset in seconds"
            ))
        })?
        .fiducials;
    let mut track = |t: f64, from: &[Point; 5]| -> Result<(f64, [Point; 5]), FilmError> {
        let frame = video.frame_at(t).map_err(|e| renamed(e, name))?;
        let previous = Fiducials::new(*from).map_err(|e| {
            selection_error(format!("--log-offset auto: tracking at {t:.3} s: {e}"))
        })?;
        let found = track_markers(&frame.image, &previous, &opts).map_err(|e| {
            selection_error(format!(
                "--log-offset auto: the markers are lost at {:.3} s ({e}); give the offset in seconds",
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
        let now = track(t, &still.1)?;
        if frames::marker_motion(&start.1, &now.1) > frames::MARKER_MOTION_PX {
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
        let now = track(t, &from)?;
        from = now.1;
        samples.push(now);
        if now.0 >= moved_at {
            break;
        }
    }
    Ok(frames::first_marker_motion(&samples, frames::MARKER_MOTION_PX).or(Some(moved_at)))
}

/// The decoder names the file it opened (a temporary file for an upload): name it as the user
/// knows it.
fn renamed(err: VideoError, name: &str) -> FilmError {
    let name = name.to_owned();
    FilmError::Video(match err {
        VideoError::NotBuilt { .. } => VideoError::NotBuilt { name },
        VideoError::Unreadable { reason, .. } => VideoError::Unreadable { name, reason },
        VideoError::NoVideoStream { .. } => VideoError::NoVideoStream { name },
        VideoError::TooLarge {
            width, height, max, ..
        } => VideoError::TooLarge {
            name,
            width,
            height,
            max,
        },
        VideoError::NoFrame { time_s, reason, .. } => VideoError::NoFrame {
            name,
            time_s,
            reason,
        },
        VideoError::Decode { time_s, reason, .. } => VideoError::Decode {
            name,
            time_s,
            reason,
        },
        VideoError::Io { source, .. } => VideoError::Io { name, source },
    })
}

/// One line about the film and the log, for people.
pub fn describe(name: &str, info: &VideoInfo, log: Option<&MachineLog>) -> String {
    let mut s = format!(
        "{name}: {} {}×{} px, {:.3} s, {:.2} frames/s average{}",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_from_fields() {
        assert_eq!(
            selection(Some(2.0), None, None, false, 0.0),
            Ok(FrameSelection::Every(2.0))
        );
        assert_eq!(
            selection(None, None, Some("1, 2"), true, 0.0),
            Ok(FrameSelection::At(vec![1.0, 2.0]))
        );
        assert_eq!(
            selection(None, None, None, true, 0.5),
            Ok(FrameSelection::LogRows { min_step_mm: 0.5 })
        );
        assert!(selection(None, None, None, false, 0.0).is_err_and(|e| e.contains("choose")));
        assert!(
            selection(Some(1.0), Some(3), None, false, 0.0).is_err_and(|e| e.contains("one way"))
        );
        assert!(selection(None, None, None, true, -1.0).is_err());
        assert!(selection(None, None, Some("x"), false, 0.0).is_err());
    }

    #[test]
    fn logs_name_the_file_and_line() {
        let err = read_log("m.csv", b"t;d\n0;0\n1;x\n", &LogColumns::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("m.csv: line 3"), "{err}");
        assert_eq!(stem("run 1.mp4"), "run 1");
        assert_eq!(stem(".mp4"), ".mp4");
        assert_eq!(stem(""), "video");
    }

    #[test]
    fn a_film_without_video_support_or_unreadable_names_the_upload() {
        let dir = std::env::temp_dir().join(format!("ss-film-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("upload-1234.part");
        let _ = std::fs::write(&path, b"not a film");
        let request = FilmRequest {
            selection: FrameSelection::Count(2),
            log_offset_s: 0.0,
            max_decoded_bytes: 1 << 30,
            max_pixels: 1_000_000,
            max_duration_s: f64::INFINITY,
        };
        let err = decode_film(&path, "test.mp4", None, &request, |_, _, _| {})
            .err()
            .map(|e| (e.is_bad_input(), e.to_string()));
        let _ = std::fs::remove_dir_all(&dir);
        let (bad, message) = err.unwrap_or_default();
        assert!(bad);
        assert!(message.starts_with("test.mp4: "), "{message}");
    }
}
