//! A film and its log turned into a project's new images, as the web app's film upload adds
//! them: each chosen frame as a PNG named `<video stem>-t<seconds>s.png`, with its time, the
//! log's deformation distance and force at that time, and the markers and ruler found by the
//! same sequence detection as `strain-seer detect VIDEO` ([`super::detect`]): detection on
//! every frame made consistent along the film, tracking where a frame's own detection fails or
//! is weak. A frame where the markers are not found keeps no markers (it shows as incomplete,
//! for review) instead of a guess.

use super::detect::{SequenceDetection, detect_sequence, marker_points, method_name, scale_points};
use super::target::{TargetReport, find_target};
use super::video::{Film, FilmError, FilmRequest, LogColumns, decode_film, read_log};
use crate::engine::detect::{MarkerOptions, MarkerPolarity};
use crate::formats::AnnotatedPoint;
use crate::store::{Annotation, MAX_FIDUCIALS, MAX_SCALE_POINTS, PointMeta, validate_points};
use image::DynamicImage;
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;

/// How to detect in the frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilmDetect {
    pub polarity: MarkerPolarity,
    /// Place the scale points this many mm apart (the project's scale length when other images
    /// already have scale points); `None` = the longest span every frame shows.
    pub span_mm: Option<u32>,
    /// The project's calibration-target pitch: look for the target in each frame.
    pub target_pitch_mm: Option<f64>,
}

/// What was found in one frame, for the answer.
#[derive(Debug, Clone, Serialize)]
pub struct FrameReport {
    pub filename: String,
    pub time_s: f64,
    pub deformation_distance: Option<f64>,
    pub force_n: Option<f64>,
    /// `detected` or `tracked`; `None` when the markers were not found.
    pub markers: Option<&'static str>,
    pub min_confidence: Option<f64>,
    pub ruler: bool,
    /// What was not found, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One frame ready to be stored.
#[derive(Debug)]
pub struct FrameImage {
    pub filename: String,
    pub png: Vec<u8>,
    pub annotation: Annotation,
    pub report: FrameReport,
}

/// Server-side time of each step, ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FilmTiming {
    pub decode: f64,
    pub detect: f64,
    pub encode: f64,
}

/// The frames of a film with what was found in them.
#[derive(Debug)]
pub struct FilmImport {
    /// One line about the film and the log.
    pub description: String,
    pub info: crate::video::VideoInfo,
    /// Rows and columns of the log, when there is one.
    pub log_rows: Option<usize>,
    pub log_columns: Vec<String>,
    /// The span of the scale points placed, mm.
    pub span_mm: Option<u32>,
    pub frames: Vec<FrameImage>,
    pub timing: FilmTiming,
}

/// Where an import is: `Decode` after each decoded frame (`done` of `total`, at `time_s` in the
/// film), then `Detect` and `Encode` once each as they start.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "stage", rename_all = "lowercase")]
pub enum FilmProgress {
    Decode {
        done: usize,
        total: usize,
        time_s: f64,
    },
    Detect {
        frames: usize,
    },
    Encode {
        frames: usize,
    },
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e4).round() / 10.0
}

fn metas(points: &[AnnotatedPoint]) -> Vec<PointMeta> {
    points
        .iter()
        .map(|p| PointMeta {
            source: p.source,
            confidence: p.confidence.map(|c| c.clamp(0.0, 1.0)),
        })
        .collect()
}

/// Read the log (`(name, bytes)`), decode the chosen frames of the film at `path` (shown as
/// `name`), detect along them and make each a PNG with its annotation (blocking, CPU-bound).
pub fn import_film(
    path: &Path,
    name: &str,
    log: Option<(&str, &[u8])>,
    columns: &LogColumns,
    request: &FilmRequest,
    detect: &FilmDetect,
    progress: &mut dyn FnMut(FilmProgress),
) -> Result<FilmImport, FilmError> {
    let log = log
        .map(|(log_name, bytes)| read_log(log_name, bytes, columns))
        .transpose()?;
    let start = Instant::now();
    let Film { info, log, frames } =
        decode_film(path, name, log, request, |done, total, time_s| {
            progress(FilmProgress::Decode {
                done,
                total,
                time_s,
            });
        })?;
    progress(FilmProgress::Detect {
        frames: frames.len(),
    });
    let decode = ms(start);
    let description = super::video::describe(name, &info, log.as_ref());
    let start = Instant::now();
    let mut names = Vec::with_capacity(frames.len());
    let mut images = Vec::with_capacity(frames.len());
    for c in frames {
        names.push((c.name, c.frame.time_s, c.log));
        images.push(DynamicImage::ImageRgb8(c.frame.image));
    }
    let targets: Vec<Option<TargetReport>> = images
        .par_iter()
        .map(|im| detect.target_pitch_mm.map(|pitch| find_target(im, pitch)))
        .collect();
    let markers = MarkerOptions {
        polarity: detect.polarity,
        exclude: targets
            .iter()
            .flat_map(|t| TargetReport::exclusions(t.as_ref()))
            .collect(),
        ..MarkerOptions::default()
    };
    let refs: Vec<&DynamicImage> = images.iter().collect();
    let SequenceDetection {
        span,
        markers,
        rulers,
    } = detect_sequence(&refs, markers, true, detect.span_mm);
    let detect_ms = ms(start);
    progress(FilmProgress::Encode {
        frames: images.len(),
    });
    let start = Instant::now();
    let encoded: Vec<Result<Vec<u8>, FilmError>> = images
        .par_iter()
        .map(|im| {
            let mut png = std::io::Cursor::new(Vec::new());
            im.write_to(&mut png, image::ImageFormat::Png)
                .map(|()| png.into_inner())
                .map_err(|e| FilmError::Selection {
                    name: name.to_owned(),
                    message: format!("a frame could not be written as PNG: {e}"),
                })
        })
        .collect();
    let mut out = Vec::with_capacity(images.len());
    for (i, ((frame_name, time_s, sample), png)) in names.into_iter().zip(encoded).enumerate() {
        let png = png?;
        let (width, height) = (images[i].width(), images[i].height());
        let filename = format!("{frame_name}.png");
        let mut annotation = Annotation {
            deformation_distance: sample.map(|s| s.displacement_mm),
            time_s: Some(time_s),
            force_n: sample.and_then(|s| s.force_n),
            target: targets[i].as_ref().and_then(|t| t.model.clone()),
            ..Annotation::default()
        };
        let mut notes = Vec::new();
        let (method, min_confidence) = match &markers[i] {
            Ok(m) => {
                let points = marker_points(m);
                let xy: Vec<_> = points.iter().map(|p| super::round_point(p.point)).collect();
                match validate_points("fiducial", &xy, MAX_FIDUCIALS, width, height) {
                    Ok(()) => {
                        annotation.fiducial_meta = metas(&points);
                        annotation.fiducials = xy;
                        (
                            Some(method_name(m.method)),
                            Some(super::round3(m.min_confidence())),
                        )
                    }
                    Err(e) => {
                        notes.push(format!("markers not usable: {e}"));
                        (None, None)
                    }
                }
            }
            Err(e) => {
                notes.push(format!("markers not found ({e})"));
                (None, None)
            }
        };
        let mut ruler = false;
        match rulers.get(i) {
            Some(Ok(r)) => {
                let points = scale_points(r);
                let xy: Vec<_> = points.iter().map(|p| p.point).collect();
                match validate_points("scale", &xy, MAX_SCALE_POINTS, width, height) {
                    Ok(()) => {
                        annotation.scale_meta = metas(&points);
                        annotation.scale = xy;
                        annotation.ruler = Some(r.model);
                        ruler = true;
                    }
                    Err(e) => notes.push(format!("ruler scale points not usable: {e}")),
                }
            }
            Some(Err(e)) => notes.push(format!("ruler not found ({e})")),
            None => {}
        }
        if sample.is_none() && log.is_some() {
            notes.push("outside the log's time span: no distance".to_owned());
        }
        out.push(FrameImage {
            report: FrameReport {
                filename: filename.clone(),
                time_s,
                deformation_distance: annotation.deformation_distance,
                force_n: annotation.force_n,
                markers: method,
                min_confidence,
                ruler,
                message: (!notes.is_empty()).then(|| notes.join("; ")),
            },
            filename,
            png,
            annotation,
        });
    }
    Ok(FilmImport {
        description,
        log_rows: log.as_ref().map(|l| l.time_s.len()),
        log_columns: log.map(|l| l.columns).unwrap_or_default(),
        info,
        span_mm: span,
        frames: out,
        timing: FilmTiming {
            decode,
            detect: detect_ms,
            encode: ms(start),
        },
    })
}
