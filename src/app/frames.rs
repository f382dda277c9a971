//! Choosing the frames of a film that become the project's images, and what each one carries
//! from the test machine's log. Shared by `strain-seer frames`, `strain-seer detect VIDEO` and
//! the web app; no decoding here (that is [`crate::video`]).
//!
//! Times are the video's presentation times in seconds from its start. The log has its own
//! clock: a frame at video time `t` reads the log at `t + offset`, so a log row at log time `τ`
//! is the frame at `τ − offset`. Each chosen time becomes the frame shown at that time (the last
//! frame whose presentation time is not after it), named `<video stem>-t<seconds, 3 decimals>s`
//! after the frame's own time.
//!
//! The offset may be found automatically ([`LogOffset::Auto`]): the log's first change of
//! displacement ([`LOG_MOTION_MM`]) is taken to happen at the video time of the markers' first
//! motion ([`first_marker_motion`], [`MARKER_MOTION_PX`]), so `offset = log time − video time` of
//! those two events ([`auto_offset`]).

use std::fmt;
use std::str::FromStr;
use strain_seer_engine::Point;
use strain_seer_formats::machine_log::{LogSample, MachineLog};

/// At most this many frames from one film.
pub const MAX_FRAMES: usize = 2000;

/// How the frames are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameSelection {
    /// Every S seconds from the start.
    Every(f64),
    /// N frames evenly spaced over the film (the first at its start).
    Count(usize),
    /// At the listed times (s).
    At(Vec<f64>),
    /// At the times of the log's rows, keeping only rows where the displacement changed by at
    /// least this many mm since the last kept (0: every row).
    LogRows { min_step_mm: f64 },
}

/// A marker that moved more than this (px) from its place in the first frame has moved: well
/// above the detector's noise on a still film (≈ 0.05 px), and small enough that the first moved
/// frame follows the start of motion by little at a test's usual speeds.
pub const MARKER_MOTION_PX: f64 = 0.5;

/// The log's displacement has changed when it differs from its first row's by more than this
/// (mm): above a displacement sensor's jitter.
pub const LOG_MOTION_MM: f64 = 0.01;

/// Log time minus video time (`--log-offset`): seconds, or found from the first motion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LogOffset {
    Seconds(f64),
    /// The log's first change of displacement vs the markers' first motion in the film.
    Auto,
}

impl Default for LogOffset {
    fn default() -> Self {
        LogOffset::Seconds(0.0)
    }
}

impl FromStr for LogOffset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(LogOffset::Auto);
        }
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(LogOffset::Seconds)
            .ok_or_else(|| format!("\"{s}\" is neither a number of seconds nor \"auto\""))
    }
}

impl fmt::Display for LogOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogOffset::Seconds(s) => write!(f, "{s}"),
            LogOffset::Auto => f.write_str("auto"),
        }
    }
}

/// How far the markers are from where they were in the first frame: the largest distance (px)
/// any one of them moved.
pub fn marker_motion(first: &[Point; 5], now: &[Point; 5]) -> f64 {
    first
        .iter()
        .zip(now)
        .map(|(a, b)| a.distance(*b))
        .fold(0.0, f64::max)
}

/// The video time of the markers' first motion: the first of `track` (frame time, markers;
/// ascending times, the first frame first) in which a marker moved more than `threshold_px`
/// from its place in the first frame.
pub fn first_marker_motion(track: &[(f64, [Point; 5])], threshold_px: f64) -> Option<f64> {
    let (_, first) = track.first()?;
    track
        .iter()
        .find(|(_, p)| marker_motion(first, p) > threshold_px)
        .map(|(t, _)| *t)
}

/// `--log-offset auto`: the offset (log time − video time) that puts the log's first change of
/// displacement at the markers' first motion. Errors say which of the two was not found.
pub fn auto_offset(log: &MachineLog, video_motion_s: Option<f64>) -> Result<f64, String> {
    let log_motion = log.first_motion(LOG_MOTION_MM).ok_or_else(|| {
        format!("--log-offset auto: the log's displacement never changes by more than {LOG_MOTION_MM} mm")
    })?;
    let video_motion = video_motion_s.ok_or_else(|| {
        format!(
            "--log-offset auto: the markers never move more than {MARKER_MOTION_PX} px in the film; give --log-offset S"
        )
    })?;
    Ok(log_motion - video_motion)
}

/// Parse `--at 0.5,1.5,2` (also `;` or spaces between times).
pub fn parse_times(text: &str) -> Result<Vec<f64>, String> {
    text.split([',', ';', ' '])
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| format!("\"{}\" is not a time in seconds (≥ 0)", s.trim()))
        })
        .collect()
}

/// The video times to decode, ascending and without repeats, for a film of `duration_s`
/// seconds. Errors name the rule that was broken.
pub fn frame_times(
    selection: &FrameSelection,
    duration_s: f64,
    log: Option<&MachineLog>,
    offset_s: f64,
) -> Result<Vec<f64>, String> {
    if !duration_s.is_finite() || duration_s <= 0.0 {
        return Err("the video has no duration".to_owned());
    }
    let mut times: Vec<f64> = match selection {
        FrameSelection::Every(s) => {
            if !s.is_finite() || *s <= 0.0 {
                return Err(format!("a frame every S seconds needs S > 0, not {s}"));
            }
            let n = (duration_s / s).ceil();
            if n > MAX_FRAMES as f64 {
                return Err(format!(
                    "every {s} s over {duration_s:.3} s is {n} frames, more than {MAX_FRAMES}"
                ));
            }
            (0..n as usize)
                .map(|i| i as f64 * s)
                .filter(|&t| t < duration_s)
                .collect()
        }
        FrameSelection::Count(n) => {
            if *n == 0 || *n > MAX_FRAMES {
                return Err(format!(
                    "the number of frames must be 1 to {MAX_FRAMES}, not {n}"
                ));
            }
            (0..*n).map(|i| i as f64 * duration_s / *n as f64).collect()
        }
        FrameSelection::At(list) => {
            if list.is_empty() || list.len() > MAX_FRAMES {
                return Err(format!("frames at times need 1 to {MAX_FRAMES} times"));
            }
            if let Some(t) = list.iter().find(|&&t| t > duration_s) {
                return Err(format!(
                    "the time {t} s is past the end of the video ({duration_s:.3} s)"
                ));
            }
            list.clone()
        }
        FrameSelection::LogRows { min_step_mm } => {
            let log = log.ok_or("choosing frames at the log's rows needs a log")?;
            let times: Vec<f64> = log
                .step_times(min_step_mm.max(0.0))
                .into_iter()
                .map(|t| t - offset_s)
                .filter(|&t| (0.0..duration_s).contains(&t))
                .collect();
            if times.is_empty() {
                return Err(format!(
                    "no log row falls within the video (0–{duration_s:.3} s) with offset {offset_s} s"
                ));
            }
            if times.len() > MAX_FRAMES {
                return Err(format!(
                    "the log gives {} frames, more than {MAX_FRAMES}: give a displacement step",
                    times.len()
                ));
            }
            times
        }
    };
    times.sort_by(f64::total_cmp);
    times.dedup();
    Ok(times)
}

/// `<stem>-t<seconds, 3 decimals>s`, e.g. `test-t12.500s` (no extension).
pub fn frame_name(stem: &str, time_s: f64) -> String {
    format!("{stem}-t{time_s:.3}s")
}

/// What the log says at a frame's video time.
pub fn log_at(log: &MachineLog, time_s: f64, offset_s: f64) -> Option<LogSample> {
    log.at(time_s + offset_s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strain_seer_formats::machine_log::LogOptions;

    #[test]
    fn selections() {
        let t = |s: FrameSelection| frame_times(&s, 10.0, None, 0.0);
        assert_eq!(t(FrameSelection::Every(2.5)), Ok(vec![0.0, 2.5, 5.0, 7.5]));
        assert_eq!(t(FrameSelection::Count(4)), Ok(vec![0.0, 2.5, 5.0, 7.5]));
        assert_eq!(
            t(FrameSelection::At(vec![3.0, 1.0, 3.0])),
            Ok(vec![1.0, 3.0])
        );
        assert!(t(FrameSelection::At(vec![11.0])).is_err_and(|e| e.contains("past the end")));
        assert!(t(FrameSelection::Every(0.0)).is_err());
        assert!(t(FrameSelection::Every(1e-6)).is_err_and(|e| e.contains("more than")));
        assert!(t(FrameSelection::Count(0)).is_err());
        assert!(t(FrameSelection::LogRows { min_step_mm: 0.0 }).is_err());
        assert_eq!(parse_times("0.5, 1.5;2"), Ok(vec![0.5, 1.5, 2.0]));
        assert!(parse_times("1,x").is_err());
        assert!(parse_times("-1").is_err());
    }

    #[test]
    fn log_rows_with_offset_and_step() {
        let log = MachineLog::parse(
            "t;d\n0;0\n1;0\n2;5\n3;5\n4;10\n20;10\n",
            &LogOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let times = frame_times(
            &FrameSelection::LogRows { min_step_mm: 1.0 },
            10.0,
            Some(&log),
            1.0,
        );
        assert_eq!(times, Ok(vec![1.0, 3.0]));
        assert_eq!(log_at(&log, 1.0, 1.0).map(|s| s.displacement_mm), Some(5.0));
        assert_eq!(frame_name("run", 12.5), "run-t12.500s");
        assert_eq!(frame_name("run", 0.0004), "run-t0.000s");
    }

    #[test]
    fn automatic_offset_from_the_first_motion() {
        assert_eq!("auto".parse(), Ok(LogOffset::Auto));
        assert_eq!(" AUTO ".parse(), Ok(LogOffset::Auto));
        assert_eq!("-1.25".parse(), Ok(LogOffset::Seconds(-1.25)));
        assert!("soon".parse::<LogOffset>().is_err());
        assert!("inf".parse::<LogOffset>().is_err());
        assert_eq!(LogOffset::default().to_string(), "0");
        assert_eq!(LogOffset::Auto.to_string(), "auto");

        let at = |dx: f64| {
            [
                (10.0, 10.0),
                (50.0, 10.0),
                (50.0, 50.0),
                (10.0, 50.0),
                (30.0, 30.0),
            ]
            .map(|(x, y)| Point::new(x + dx, y))
        };
        // Still (within the noise) until 1.2 s, then moving.
        let track = vec![
            (0.0, at(0.0)),
            (0.4, at(0.04)),
            (0.8, at(-0.05)),
            (1.2, at(0.6)),
            (1.6, at(2.0)),
        ];
        assert_eq!(first_marker_motion(&track, MARKER_MOTION_PX), Some(1.2));
        assert_eq!(first_marker_motion(&track[..3], MARKER_MOTION_PX), None);
        assert_eq!(first_marker_motion(&[], MARKER_MOTION_PX), None);

        // Log clock 2.5 s ahead of the video: displacement starts changing at 3.7 s.
        let log = MachineLog::parse(
            "t;d\n0;0\n3.5;0.005\n3.7;0.02\n4.0;0.5\n",
            &LogOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let offset = auto_offset(&log, Some(1.2)).unwrap_or_else(|e| panic!("{e}"));
        assert!((offset - 2.5).abs() < 1e-12, "{offset}");
        assert!(auto_offset(&log, None).is_err_and(|e| e.contains("markers never move")));
        let still = MachineLog::parse("t;d\n0;1\n1;1.001\n", &LogOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(auto_offset(&still, Some(1.0)).is_err_and(|e| e.contains("never changes")));
    }
}
