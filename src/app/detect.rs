//! Markers and ruler in a sequence of photos or film frames, as `strain-seer detect` and the web
//! app's film upload both run it.
//!
//! Method: the five markers are detected in every image and made consistent along the sequence
//! by [`detect::detect_sequence`] (an image where detection fails or is weak is tracked from the
//! nearest earlier success, with the more confident result kept; images before the first
//! success are tracked backwards). The ruler is then found in each image near its markers with
//! one common span: the one asked for, or else the longest whole number of centimetres that
//! every image shows (images that offered a longer span are detected again at the common one),
//! so that every image's scale points are the same length apart.

use crate::app::{round_point, round3};
use crate::engine::Point;
use crate::engine::detect::{
    self, DetectError, DetectionMethod, MarkerDetection, MarkerOptions, RulerDetection,
    RulerOptions, SequenceOptions, TrackOptions,
};
use crate::formats::AnnotatedPoint;
use image::DynamicImage;
use rayon::prelude::*;

/// What the markers and ruler searches found in each image of a sequence.
#[derive(Debug)]
pub struct SequenceDetection {
    /// The span of every image's scale points, mm (`None` when no ruler was found or asked for).
    pub span: Option<u32>,
    /// One per image.
    pub markers: Vec<Result<MarkerDetection, DetectError>>,
    /// One per image; empty when the ruler was not looked for.
    pub rulers: Vec<Result<RulerDetection, DetectError>>,
}

/// Detect the markers along the sequence and, when `ruler`, the ruler with a common span
/// (`span`, or the longest every image shows).
pub fn detect_sequence(
    images: &[&DynamicImage],
    markers: MarkerOptions,
    ruler: bool,
    span: Option<u32>,
) -> SequenceDetection {
    let opts = SequenceOptions {
        track: TrackOptions {
            markers,
            ..TrackOptions::default()
        },
        ..SequenceOptions::default()
    };
    let markers = detect::detect_sequence(images, &opts);
    let (span, rulers) = if ruler {
        rulers(images, &markers, span)
    } else {
        (None, Vec::new())
    };
    SequenceDetection {
        span,
        markers,
        rulers,
    }
}

/// The ruler in every image with a common span: the one asked for, or the longest whole number
/// of centimetres that every image shows.
fn rulers(
    images: &[&DynamicImage],
    markers: &[Result<MarkerDetection, DetectError>],
    span: Option<u32>,
) -> (Option<u32>, Vec<Result<RulerDetection, DetectError>>) {
    let run = |span: Option<u32>, i: usize| {
        detect::detect_ruler(
            images[i],
            &RulerOptions {
                span_mm: span,
                near_markers: markers[i].as_ref().ok().map(|m| m.fiducials),
                ..RulerOptions::default()
            },
        )
    };
    let mut results: Vec<_> = (0..images.len())
        .into_par_iter()
        .map(|i| run(span, i))
        .collect();
    if span.is_some() {
        return (span, results);
    }
    let common = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|d| d.span_mm))
        .min();
    if let Some(common) = common {
        let redo: Vec<usize> = (0..images.len())
            .filter(|&i| results[i].as_ref().is_ok_and(|d| d.span_mm != common))
            .collect();
        let again: Vec<_> = redo
            .par_iter()
            .map(|&i| (i, run(Some(common), i)))
            .collect();
        for (i, r) in again {
            results[i] = r;
        }
    }
    (common, results)
}

/// The five markers as stored `auto` points with their confidences (3 decimals).
pub fn marker_points(found: &MarkerDetection) -> Vec<AnnotatedPoint> {
    found
        .markers
        .iter()
        .map(|d| AnnotatedPoint::auto(d.point, Some(round3(d.confidence))))
        .collect()
}

/// The two scale points as stored `auto` points with the ruler's confidence.
pub fn scale_points(found: &RulerDetection) -> Vec<AnnotatedPoint> {
    found
        .scale_points
        .points()
        .iter()
        .map(|&p: &Point| AnnotatedPoint::auto(round_point(p), Some(round3(found.confidence))))
        .collect()
}

/// `detected` or `tracked`.
pub fn method_name(method: DetectionMethod) -> &'static str {
    match method {
        DetectionMethod::Detected => "detected",
        DetectionMethod::Tracked => "tracked",
    }
}
