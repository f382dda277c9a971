//! Choosing the frames of a film that become the project's images, and what each one carries
//! from the test machine's log. Shared by `strain-seer frames`, `strain-seer detect VIDEO` and
//! the web app; no decoding here (that is [`crate::video`]).
//!
//! Times are the video's presentation times in seconds from its start. The log has its own
//! clock: a frame at video time `t` reads the log at `t + offset`, so a log row at log time `τ`
//! is the frame at `τ − offset`. Each chosen time becomes the frame shown at that time (the last
//! frame whose presentation time is not after it), named `<video stem>-t<seconds, 3 decimals>s`
//! after the frame's own time.

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
}
