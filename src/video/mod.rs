//! Films as input: open a video, read its duration and size, and decode the frames shown at
//! chosen times, each with its presentation time from the file and the rotation that phones
//! store for portrait video applied (pixels as a player shows them).
//!
//! Decoding uses Debian's FFmpeg libraries through `ffmpeg-next`, behind the cargo feature
//! `video` ([`ffmpeg`](self) module). A binary built without it answers every video with
//! [`VideoError::NotBuilt`], whose message says how to get video support.
//!
//! Method (see `docs/video.md`): for each wanted time, ascending, seek to the keyframe at or
//! before it — unless no keyframe is expected between the decoder's position and that time
//! (the next keyframe is expected one keyframe interval, the longest seen so far, after the last
//! decoded; until two are seen, [`FORWARD_DECODE_S`] ahead), when decoding on is cheaper than a
//! seek — and decode forward;
//! the frame kept is the last one whose presentation time (the best-effort timestamp, never
//! frame number × frame rate, since phones record variable frame rate) is not after the wanted
//! time. The display matrix (stream side data) gives the rotation, a multiple of 90°, applied to
//! the RGB frame after conversion.

use image::RgbImage;
use std::path::Path;

#[cfg(feature = "video")]
mod ffmpeg;
#[cfg(feature = "video")]
pub use ffmpeg::Video;

#[cfg(not(feature = "video"))]
mod disabled;
#[cfg(not(feature = "video"))]
pub use disabled::Video;

/// Whether this binary was built with the `video` feature (can decode films).
pub const SUPPORTED: bool = cfg!(feature = "video");

/// Before the film's keyframe interval is known: a wanted time this far ahead of the decoder (s)
/// is reached by decoding on, not by seeking.
pub const FORWARD_DECODE_S: f64 = 2.0;

/// File extensions taken for videos.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "avi", "mkv", "webm", "mts", "3gp", "y4m",
];
/// Container formats by name, for users (the decoder reads what FFmpeg reads).
pub const VIDEO_NAMES: &[&str] = &["MP4", "MOV", "AVI", "MKV", "WebM", "MTS", "3GP", "Y4M"];
/// MIME types of those containers, for file pickers.
pub const VIDEO_MIME_TYPES: &[&str] = &[
    "video/mp4",
    "video/quicktime",
    "video/x-msvideo",
    "video/x-matroska",
    "video/webm",
    "video/mp2t",
    "video/3gpp",
];

/// Whether a file name looks like a video (by extension).
pub fn is_video_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// What the file says about its video stream.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Width and height as displayed (after rotation), px.
    pub width: u32,
    pub height: u32,
    /// Duration, s (from the container, or the stream).
    pub duration_s: f64,
    /// Clockwise rotation applied for display: 0, 90, 180 or 270.
    pub rotation_deg: u32,
    /// Codec name, e.g. "h264".
    pub codec: String,
    /// Average frame rate, frames/s (informative only; times come from each frame).
    pub avg_fps: f64,
}

/// One decoded frame, as displayed.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Presentation time from the start of the video, s.
    pub time_s: f64,
    pub image: RgbImage,
}

/// Decoder settings.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Refuse a video whose frames have more pixels than this.
    pub max_pixels: u64,
    /// Decoder threads; 0 = as many as cores.
    pub threads: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_pixels: crate::store::blobs::DEFAULT_MAX_PIXELS,
            threads: 0,
        }
    }
}

/// Why a video cannot be read. Everything but [`VideoError::Io`] is the file's (or the build's)
/// fault: bad input.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error(
        "{name}: this is a video, and this strain-seer was built without video support. \
         Install Debian's `pkg-config libclang-dev libavformat-dev libavcodec-dev libavutil-dev \
         libswscale-dev` and build with `cargo build --release --features video` (the container \
         image has it), or extract the frames as images (e.g. with the ffmpeg program) and use those"
    )]
    NotBuilt { name: String },
    #[error("{name}: not a video that can be read ({reason})")]
    Unreadable { name: String, reason: String },
    #[error("{name}: no video stream in the file")]
    NoVideoStream { name: String },
    #[error(
        "{name}: the video's frames are {width}×{height} px, more than the limit of {max} pixels"
    )]
    TooLarge {
        name: String,
        width: u32,
        height: u32,
        max: u64,
    },
    #[error("{name}: no frame at {time_s:.3} s ({reason})")]
    NoFrame {
        name: String,
        time_s: f64,
        reason: String,
    },
    #[error("{name}: decoding failed near {time_s:.3} s: {reason}")]
    Decode {
        name: String,
        time_s: f64,
        reason: String,
    },
    #[error("{name}: {source}")]
    Io {
        name: String,
        source: std::io::Error,
    },
}

impl VideoError {
    /// Whether the user's file (or the build) is at fault, as opposed to the machine.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, VideoError::Io { .. })
    }
}

/// The clockwise display rotation (0, 90, 180, 270) of a display matrix (9 native-endian i32,
/// 16.16 fixed point for a, b, c, d), as FFmpeg's `av_display_rotation_get` and the `ffmpeg`
/// program's autorotation read it. `None` for a matrix that is not a rotation (degenerate).
pub fn display_matrix_rotation(bytes: &[u8]) -> Option<u32> {
    let m: Vec<f64> = bytes
        .chunks_exact(4)
        .take(9)
        .map(|c| f64::from(i32::from_ne_bytes([c[0], c[1], c[2], c[3]])) / 65536.0)
        .collect();
    if m.len() < 9 {
        return None;
    }
    let scale0 = m[0].hypot(m[3]);
    let scale1 = m[1].hypot(m[4]);
    if scale0 == 0.0 || scale1 == 0.0 {
        return None;
    }
    // av_display_rotation_get: counter-clockwise degrees; the display turns by its negative.
    let ccw = -(m[1] / scale1).atan2(m[0] / scale0).to_degrees();
    let clockwise = (-ccw.round()).rem_euclid(360.0);
    let quarter = ((clockwise / 90.0).round() as u32) % 4;
    Some(quarter * 90)
}

/// Turn an upright-stored frame as the display matrix says.
pub fn rotate(image: RgbImage, clockwise_deg: u32) -> RgbImage {
    match clockwise_deg {
        90 => image::imageops::rotate90(&image),
        180 => image::imageops::rotate180(&image),
        270 => image::imageops::rotate270(&image),
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(a: f64, b: f64, c: f64, d: f64) -> Vec<u8> {
        let fx = |v: f64| (v * 65536.0) as i32;
        [fx(a), fx(b), 0, fx(c), fx(d), 0, 0, 0, 1 << 30]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect()
    }

    #[test]
    fn display_matrices() {
        assert_eq!(
            display_matrix_rotation(&matrix(1.0, 0.0, 0.0, 1.0)),
            Some(0)
        );
        // A MOV tagged `rotate=90` reads as (0, −1, 1, 0) (ffprobe: rotation=90), which the
        // ffmpeg program shows turned 90° counter-clockwise: 270° clockwise.
        assert_eq!(
            display_matrix_rotation(&matrix(0.0, 1.0, -1.0, 0.0)),
            Some(90)
        );
        assert_eq!(
            display_matrix_rotation(&matrix(-1.0, 0.0, 0.0, -1.0)),
            Some(180)
        );
        assert_eq!(
            display_matrix_rotation(&matrix(0.0, -1.0, 1.0, 0.0)),
            Some(270)
        );
        assert_eq!(display_matrix_rotation(&matrix(0.0, 0.0, 0.0, 0.0)), None);
        assert_eq!(display_matrix_rotation(&[0; 8]), None);
        assert!(is_video_path(Path::new("a/B.MP4")));
        assert!(!is_video_path(Path::new("a.png")));
    }
}
