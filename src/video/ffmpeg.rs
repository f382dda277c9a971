//! The FFmpeg decoder (cargo feature `video`): demux, seek, decode, convert to RGB, rotate.
//! See the parent module for the method.

use super::{
    DecodeOptions, FORWARD_DECODE_S, Frame, VideoError, VideoInfo, display_matrix_rotation, rotate,
};
use ffmpeg_next as ff;
use image::RgbImage;
use std::path::Path;

/// Times closer than this (s) are the same time: a log row's time minus an offset carries
/// binary noise (1.4 − 1.0 = 0.3999…).
const TIME_EPS: f64 = 1e-6;

/// Give up on a file after this many consecutive unreadable packets or undecodable frames.
const MAX_CONSECUTIVE_ERRORS: u32 = 200;

/// An open video, positioned somewhere in its stream.
pub struct Video {
    name: String,
    input: ff::format::context::Input,
    decoder: ff::decoder::Video,
    stream_index: usize,
    time_base: f64,
    start_s: f64,
    info: VideoInfo,
    max_pixels: u64,
    scaler: Option<(ff::format::Pixel, u32, u32, ff::software::scaling::Context)>,
    /// The first frame decoded after the last one returned (read ahead to know that the last
    /// one was the frame shown at the wanted time).
    ahead: Option<(f64, ff::frame::Video)>,
    /// The last frame returned.
    last: Option<Frame>,
    eof_sent: bool,
    /// Time of the last keyframe decoded since the last seek.
    last_key: Option<f64>,
    /// The longest interval between two keyframes decoded one after the other (0 = none seen).
    key_gap: f64,
}

impl std::fmt::Debug for Video {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Video")
            .field("name", &self.name)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

fn eagain(e: &ff::Error) -> bool {
    matches!(e, ff::Error::Other { errno } if *errno == ff::util::error::EAGAIN)
}

impl Video {
    /// Open a video file and its best video stream; refuses frames larger than
    /// `opts.max_pixels` before decoding any.
    pub fn open(path: &Path, opts: DecodeOptions) -> Result<Video, VideoError> {
        let name = crate::app::file_label(path);
        if let Err(source) = std::fs::metadata(path) {
            return Err(VideoError::Io { name, source });
        }
        let unreadable = |name: &str, e: ff::Error| VideoError::Unreadable {
            name: name.to_owned(),
            reason: e.to_string(),
        };
        ff::init().map_err(|e| unreadable(&name, e))?;
        ff::util::log::set_level(ff::util::log::Level::Fatal);
        let input = ff::format::input(path).map_err(|e| unreadable(&name, e))?;
        let stream = input
            .streams()
            .best(ff::media::Type::Video)
            .ok_or_else(|| VideoError::NoVideoStream { name: name.clone() })?;
        let stream_index = stream.index();
        let tb = stream.time_base();
        let time_base = if tb.denominator() != 0 {
            f64::from(tb.numerator()) / f64::from(tb.denominator())
        } else {
            0.0
        };
        if time_base <= 0.0 {
            return Err(VideoError::Unreadable {
                name,
                reason: "the video stream has no time base".to_owned(),
            });
        }
        let start_s = match stream.start_time() {
            t if t == ff::ffi::AV_NOPTS_VALUE => 0.0,
            t => t as f64 * time_base,
        };
        let rotation_deg = stream
            .side_data()
            .find(|sd| sd.kind() == ff::codec::packet::side_data::Type::DisplayMatrix)
            .and_then(|sd| display_matrix_rotation(sd.data()))
            .unwrap_or(0);
        let duration_s = match input.duration() {
            d if d > 0 => d as f64 / f64::from(ff::ffi::AV_TIME_BASE),
            _ if stream.duration() > 0 => stream.duration() as f64 * time_base,
            _ => 0.0,
        };
        let fps = stream.avg_frame_rate();
        let avg_fps = if fps.denominator() > 0 {
            f64::from(fps.numerator()) / f64::from(fps.denominator())
        } else {
            0.0
        };
        let mut context = ff::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| unreadable(&name, e))?;
        context.set_threading(ff::codec::threading::Config {
            kind: ff::codec::threading::Type::Frame,
            count: opts.threads,
            ..Default::default()
        });
        let decoder = context
            .decoder()
            .video()
            .map_err(|e| unreadable(&name, e))?;
        let (w, h) = (decoder.width(), decoder.height());
        if w == 0 || h == 0 {
            return Err(VideoError::Unreadable {
                name,
                reason: "the video stream has no frame size".to_owned(),
            });
        }
        if u64::from(w) * u64::from(h) > opts.max_pixels {
            return Err(VideoError::TooLarge {
                name,
                width: w,
                height: h,
                max: opts.max_pixels,
            });
        }
        let (width, height) = if rotation_deg % 180 == 90 {
            (h, w)
        } else {
            (w, h)
        };
        let codec = decoder
            .codec()
            .map(|c| c.name().to_owned())
            .unwrap_or_default();
        Ok(Video {
            info: VideoInfo {
                width,
                height,
                duration_s,
                rotation_deg,
                codec,
                avg_fps,
            },
            name,
            input,
            decoder,
            stream_index,
            time_base,
            start_s,
            max_pixels: opts.max_pixels,
            scaler: None,
            ahead: None,
            last: None,
            last_key: None,
            key_gap: 0.0,
            eof_sent: false,
        })
    }

    /// What the file says about its video.
    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// The file name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next decoded frame in presentation order, or `None` at the end of the stream.
    fn next_raw(&mut self) -> Result<Option<(f64, ff::frame::Video)>, VideoError> {
        let mut frame = ff::frame::Video::empty();
        let mut errors = 0u32;
        loop {
            match self.decoder.receive_frame(&mut frame) {
                Ok(()) => {
                    let Some(ts) = frame.timestamp().or(frame.pts()) else {
                        continue;
                    };
                    let t = ts as f64 * self.time_base - self.start_s;
                    if frame.is_key() {
                        if let Some(prev) = self.last_key
                            && t > prev
                        {
                            self.key_gap = self.key_gap.max(t - prev);
                        }
                        self.last_key = Some(t);
                    }
                    return Ok(Some((t, frame)));
                }
                Err(ff::Error::Eof) => return Ok(None),
                Err(e) if eagain(&e) => {}
                Err(e) => {
                    errors += 1;
                    if errors > MAX_CONSECUTIVE_ERRORS {
                        return Err(self.decode_error(e.to_string()));
                    }
                    continue;
                }
            }
            if self.eof_sent {
                return Ok(None);
            }
            // Feed one packet of our stream (or the end of the stream).
            loop {
                let mut packet = ff::Packet::empty();
                match packet.read(&mut self.input) {
                    Ok(()) if packet.stream() == self.stream_index => {
                        match self.decoder.send_packet(&packet) {
                            Ok(()) => break,
                            Err(e) => {
                                errors += 1;
                                if errors > MAX_CONSECUTIVE_ERRORS {
                                    return Err(self.decode_error(e.to_string()));
                                }
                            }
                        }
                    }
                    Ok(()) => {}
                    Err(e) => {
                        errors += 1;
                        if matches!(e, ff::Error::Eof) || errors > MAX_CONSECUTIVE_ERRORS {
                            // End of file, or a truncated or corrupt tail: drain the decoder.
                            let _ = self.decoder.send_eof();
                            self.eof_sent = true;
                            break;
                        }
                    }
                }
            }
        }
    }

    fn decode_error(&self, reason: String) -> VideoError {
        VideoError::Decode {
            name: self.name.clone(),
            time_s: self.last.as_ref().map_or(0.0, |f| f.time_s),
            reason,
        }
    }

    fn seek(&mut self, time_s: f64) {
        let ts = ((time_s + self.start_s) * f64::from(ff::ffi::AV_TIME_BASE)) as i64;
        if self.input.seek(ts, ..ts).is_err() {
            // Before the first keyframe's time, or a file without an index: from the start.
            let _ = self.input.seek(i64::MIN, ..);
        }
        self.decoder.flush();
        self.ahead = None;
        self.last = None;
        self.eof_sent = false;
        self.last_key = None;
    }

    /// Whether the frame at `time_s` is reached sooner by decoding on from the decoder's
    /// position `at` than by seeking. A seek lands on the keyframe before `time_s` and decodes
    /// from there, so it only pays when a keyframe lies between `at` and `time_s`. The next
    /// keyframe is expected one keyframe interval (the longest seen in this film) after the last
    /// one decoded; before two keyframes have been seen, times less than
    /// [`FORWARD_DECODE_S`] ahead are decoded on to.
    fn decode_on_to(&self, at: f64, time_s: f64) -> bool {
        match self.last_key {
            Some(key) if self.key_gap > 0.0 => time_s + TIME_EPS < key + self.key_gap,
            _ => time_s - at < FORWARD_DECODE_S,
        }
    }

    /// The frame shown at `time_s` (the last frame whose presentation time is not after it; the
    /// first frame for a time before it). Fastest when called with ascending times.
    pub fn frame_at(&mut self, time_s: f64) -> Result<Frame, VideoError> {
        if let (Some(last), Some((ahead_t, _))) = (&self.last, &self.ahead)
            && last.time_s <= time_s + TIME_EPS
            && time_s + TIME_EPS < *ahead_t
        {
            return Ok(last.clone());
        }
        let behind = match &self.ahead {
            Some((t, _)) => *t <= time_s + TIME_EPS && self.decode_on_to(*t, time_s),
            None => false,
        };
        if !behind {
            self.seek(time_s);
        }
        let mut best: Option<(f64, ff::frame::Video)> = self.ahead.take();
        loop {
            match self.next_raw()? {
                Some((t, frame)) if t > time_s + TIME_EPS => {
                    let Some(best) = best else {
                        // Nothing before the wanted time: the first frame is shown.
                        let out = self.convert(t, &frame)?;
                        self.last = Some(out.clone());
                        return Ok(out);
                    };
                    self.ahead = Some((t, frame));
                    let out = self.convert(best.0, &best.1)?;
                    self.last = Some(out.clone());
                    return Ok(out);
                }
                Some(f) => best = Some(f),
                None => {
                    let Some((t, frame)) = best else {
                        return Err(VideoError::NoFrame {
                            name: self.name.clone(),
                            time_s,
                            reason: "no frame could be decoded there".to_owned(),
                        });
                    };
                    let interval = if self.info.avg_fps > 0.0 {
                        2.0 / self.info.avg_fps
                    } else {
                        1.0
                    };
                    if time_s - t > interval.max(0.1) {
                        return Err(VideoError::NoFrame {
                            name: self.name.clone(),
                            time_s,
                            reason: format!("the last frame is at {t:.3} s: truncated file?"),
                        });
                    }
                    let out = self.convert(t, &frame)?;
                    self.last = Some(out.clone());
                    return Ok(out);
                }
            }
        }
    }

    /// Decode every frame from the start, calling `each` with its time (converted to RGB only
    /// when `rgb` is set; otherwise the image is empty). Returns the number of frames.
    pub fn decode_all(
        &mut self,
        rgb: bool,
        mut each: impl FnMut(&Frame),
    ) -> Result<usize, VideoError> {
        self.seek(0.0);
        let mut n = 0;
        while let Some((t, frame)) = self.next_raw()? {
            let out = if rgb {
                self.convert(t, &frame)?
            } else {
                Frame {
                    time_s: t,
                    image: RgbImage::new(0, 0),
                }
            };
            each(&out);
            n += 1;
        }
        Ok(n)
    }

    /// RGB, rotated for display.
    fn convert(&mut self, time_s: f64, frame: &ff::frame::Video) -> Result<Frame, VideoError> {
        let (w, h, format) = (frame.width(), frame.height(), frame.format());
        if u64::from(w) * u64::from(h) > self.max_pixels {
            return Err(VideoError::TooLarge {
                name: self.name.clone(),
                width: w,
                height: h,
                max: self.max_pixels,
            });
        }
        let stale =
            !matches!(&self.scaler, Some((f, sw, sh, _)) if *f == format && *sw == w && *sh == h);
        if stale {
            let scaler = ff::software::scaling::Context::get(
                format,
                w,
                h,
                ff::format::Pixel::RGB24,
                w,
                h,
                ff::software::scaling::Flags::BILINEAR | ff::software::scaling::Flags::ACCURATE_RND,
            )
            .map_err(|e| self.decode_error(format!("no converter to RGB: {e}")))?;
            self.scaler = Some((format, w, h, scaler));
        }
        let mut rgb = ff::frame::Video::empty();
        if let Some((_, _, _, scaler)) = self.scaler.as_mut() {
            scaler
                .run(frame, &mut rgb)
                .map_err(|e| VideoError::Decode {
                    name: self.name.clone(),
                    time_s,
                    reason: format!("converting to RGB: {e}"),
                })?;
        }
        let stride = rgb.stride(0);
        let data = rgb.data(0);
        let row = w as usize * 3;
        let mut pixels = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            let line =
                data.get(y * stride..y * stride + row)
                    .ok_or_else(|| VideoError::Decode {
                        name: self.name.clone(),
                        time_s,
                        reason: "short RGB frame".to_owned(),
                    })?;
            pixels.extend_from_slice(line);
        }
        let image = RgbImage::from_raw(w, h, pixels).ok_or_else(|| VideoError::Decode {
            name: self.name.clone(),
            time_s,
            reason: "RGB frame of the wrong size".to_owned(),
        })?;
        Ok(Frame {
            time_s,
            image: rotate(image, self.info.rotation_deg),
        })
    }
}
