//! The pixel side of `detect` (blocking, CPU-bound): decode the stored file with the server's
//! limits, look for the calibration target when the project names its pitch, then the markers
//! (tracked from another image's markers when the client names one, full detection as the
//! fallback) and the ruler (the span rule of [`crate::app::ruler`]), and report each part with
//! its confidence, what was not found and why, and the time each step took.

use super::{MarkersReport, Method, Plan, RulerReport, Timing, ms};
use crate::app::ruler::{self, SpanDetection};
use crate::app::target::TargetReport;
use crate::app::{round_point, round3};
use crate::engine::detect::{self, MarkerOptions, TrackOptions};
use crate::engine::{Fiducials, Point};
use crate::store::blobs::decode_oriented;
use crate::store::{MAX_SCALE_POINTS, validate_points};
use crate::web::error::AppError;
use image::DynamicImage;
use std::path::PathBuf;
use std::time::Instant;

/// Read and decode a stored image file (blocking). The caller drops the pixels when done.
pub(super) fn decode_stored(
    path: &PathBuf,
    filename: &str,
    max_pixels: u64,
) -> Result<DynamicImage, AppError> {
    let bytes = std::fs::read(path).map_err(|e| {
        AppError::internal(format!(
            "reading the file of '{filename}' ({}): {e}",
            path.display()
        ))
    })?;
    let (_, _, image) = decode_oriented(&bytes, filename, max_pixels)?;
    Ok(image)
}

/// Markers: tracked from `plan.track_from` when it has five, else (or when tracking fails)
/// detected in the whole image.
fn find_markers(image: &DynamicImage, plan: &Plan, target: Option<&TargetReport>) -> MarkersReport {
    let opts = MarkerOptions {
        polarity: plan.body.polarity,
        exclude: TargetReport::exclusions(target),
        ..MarkerOptions::default()
    };
    let mut note = None;
    if let Some((name, previous)) = &plan.track_from {
        match previous {
            Some(previous) => {
                let track = TrackOptions {
                    markers: opts.clone(),
                    ..TrackOptions::default()
                };
                match detect::track_markers(image, previous, &track) {
                    Ok(found) => return markers_found(&found, Method::Track, None),
                    Err(e) => note = Some(format!("tracking from '{name}' failed ({e})")),
                }
            }
            None => note = Some(format!("'{name}' has no 5 markers to track from")),
        }
    }
    match detect::detect_markers(image, &opts) {
        Ok(found) => markers_found(
            &found,
            Method::Detect,
            note.map(|n| format!("{n}; found by full detection")),
        ),
        Err(e) => MarkersReport {
            found: false,
            confidence: Vec::new(),
            min_confidence: None,
            method: Method::Detect,
            message: Some(match note {
                Some(n) => format!("{n}; full detection: {e}"),
                None => e.to_string(),
            }),
            points: None,
        },
    }
}

fn markers_found(
    found: &detect::MarkerDetection,
    method: Method,
    message: Option<String>,
) -> MarkersReport {
    let confidence: Vec<f64> = found
        .confidences()
        .iter()
        .map(|&c| round3(c.clamp(0.0, 1.0)))
        .collect();
    MarkersReport {
        found: true,
        min_confidence: confidence.iter().copied().reduce(f64::min),
        confidence,
        method,
        message,
        points: Some(found.fiducials.points().map(round_point)),
    }
}

/// Ruler: two scale points exactly the project's scale length apart when the ruler shows it;
/// otherwise the longest span it shows, with `scale_length_set` asking the caller to change the
/// project's scale length (which it does only when no other image has scale points).
fn find_ruler(image: &DynamicImage, plan: &Plan, near: Option<Fiducials>) -> RulerReport {
    let (width, height) = (plan.record.width, plan.record.height);
    let SpanDetection {
        result,
        fallback_reason,
    } = ruler::detect_span(image, plan.scale_length, near);
    let found = match result {
        Ok(found) => found,
        Err(message) => return RulerReport::missing(message),
    };
    let points = found.scale_points.points().map(round_point);
    if let Err(e) = validate_points("scale", &points, MAX_SCALE_POINTS, width, height) {
        return RulerReport::missing(format!("the ruler's scale points are not usable: {e}"));
    }
    let span_px = points[0].distance(points[1]);
    RulerReport {
        found: true,
        mm_per_px: Some(f64::from(found.span_mm) / span_px),
        px_per_mm: Some(span_px / f64::from(found.span_mm)),
        span_mm: Some(found.span_mm),
        span_px: Some(round3(span_px)),
        confidence: Some(round3(found.confidence.clamp(0.0, 1.0))),
        local_to_markers: Some(found.local_to_markers),
        scale_length_set: fallback_reason.as_ref().map(|_| f64::from(found.span_mm)),
        message: fallback_reason.as_ref().map(|reason| {
            format!(
                "{reason}: scale points placed {} mm apart and the project's scale length set to {} mm",
                found.span_mm, found.span_mm
            )
        }),
        mm_per_px_at_markers: near.map(|m| found.model.scale_at_markers(&m).1),
        model_ticks: Some(found.model.ticks),
        model_rms_px: Some(round3(found.model.rms_px)),
        points: Some(points),
        model: Some(found.model),
        fallback_reason,
    }
}

/// Decode the image and run the parts asked for (blocking, CPU-bound).
pub(super) fn run_detection(plan: &Plan, max_pixels: u64) -> Result<Found, AppError> {
    let mut timing = Timing::default();
    let start = Instant::now();
    let image = decode_stored(&plan.path, &plan.record.filename, max_pixels)?;
    timing.decode = ms(start);
    let start = Instant::now();
    let target = plan
        .target_pitch_mm
        .map(|pitch| crate::app::target::find_target(&image, pitch));
    timing.target = ms(start);
    let start = Instant::now();
    let markers = plan
        .body
        .markers
        .then(|| find_markers(&image, plan, target.as_ref()));
    timing.markers = ms(start);
    let start = Instant::now();
    let ruler = plan.body.ruler.then(|| {
        let near = markers
            .as_ref()
            .and_then(|m| m.points)
            .or_else(|| <[Point; 5]>::try_from(plan.record.fiducials.as_slice()).ok())
            .and_then(|p| Fiducials::new(p).ok());
        find_ruler(&image, plan, near)
    });
    timing.ruler = ms(start);
    drop(image);
    let mut target = target;
    if let Some(t) = target.as_mut() {
        t.check_ruler(ruler.as_ref().and_then(|r| r.model.as_ref()));
    }
    Ok(Found {
        target,
        markers,
        ruler,
        timing,
    })
}

/// What [`run_detection`] found.
pub(super) struct Found {
    pub(super) target: Option<TargetReport>,
    pub(super) markers: Option<MarkersReport>,
    pub(super) ruler: Option<RulerReport>,
    pub(super) timing: Timing,
}
