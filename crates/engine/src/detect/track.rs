//! Tracking the markers from one photo to the next, and whole sequences.

use super::blobs::{self, Found, Roi};
use super::pattern::{self, Labeler};
use super::plane::LumaView;
use super::{
    AsLuma, DetectError, DetectedMarker, DetectionMethod, MarkerDetection, MarkerOptions,
    detect_in_source, marker_source,
};
use crate::points::{Fiducials, Point};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Largest relative RMS residual of an affine map from the previous markers to the tracked ones
/// (the demo's 20 → 30 mm step, with its barrelling, is 0.08).
const MAX_AFFINE_RESIDUAL: f64 = 0.15;

/// Options of [`track_markers`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackOptions {
    /// Marker appearance and pattern options (as for detection).
    pub markers: MarkerOptions,
    /// The search area is the previous markers' bounding box grown on every side by this
    /// fraction of its larger side. Default 0.6: the camera may move and zoom between photos.
    pub search_margin: f64,
    /// Contrast a marker needs while tracking; lower than for detection because the search is
    /// confined to where the markers are expected. Default 0.15.
    pub min_contrast: f64,
    /// When the pattern is not found as a whole, each marker is searched within this fraction of
    /// the pattern size around its predicted position. Default 0.25.
    pub window: f64,
}

impl Default for TrackOptions {
    fn default() -> Self {
        Self {
            markers: MarkerOptions::default(),
            search_margin: 0.6,
            min_contrast: 0.15,
            window: 0.25,
        }
    }
}

/// Options of [`detect_sequence`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SequenceOptions {
    pub track: TrackOptions,
    /// A detected result whose lowest marker confidence is below this is also tracked from the
    /// previous photo, and the more confident of the two is kept. Default 0.3.
    pub retrack_below: f64,
}

impl Default for SequenceOptions {
    fn default() -> Self {
        Self {
            track: TrackOptions::default(),
            retrack_below: 0.3,
        }
    }
}

fn validate(opts: &TrackOptions) -> Result<(), DetectError> {
    opts.markers.validate()?;
    for (name, v, hi) in [
        ("search_margin", opts.search_margin, 10.0),
        ("min_contrast", opts.min_contrast, 1.0),
        ("window", opts.window, 2.0),
    ] {
        if !(v.is_finite() && v >= 0.0 && v <= hi) {
            return Err(DetectError::InvalidOption {
                name,
                reason: format!("must be between 0 and {hi}"),
            });
        }
    }
    Ok(())
}

/// Find the markers of `previous` (the markers of the photo before) in `image`, keeping their
/// labels.
///
/// The search is confined to the previous markers' bounding box grown by
/// [`TrackOptions::search_margin`]; the pattern is chosen as in detection but labelled by the
/// smallest rotation from `previous`, and fainter markers are accepted
/// ([`TrackOptions::min_contrast`]). When the pattern is not found as a whole, each marker is
/// searched around its position predicted from the others (a similarity fit), which finds a
/// faint or partly hidden marker. The result has [`DetectionMethod::Tracked`].
///
/// # Errors
///
/// [`DetectError::MarkerLost`] naming the marker that could not be found, or the errors of
/// [`super::detect_markers`] for bad options or images.
pub fn track_markers<I: AsLuma + ?Sized>(
    image: &I,
    previous: &Fiducials,
    opts: &TrackOptions,
) -> Result<MarkerDetection, DetectError> {
    validate(opts)?;
    let p = marker_source(image, opts.markers.polarity)?;
    track_in_source(&p, previous, opts)
}

fn bbox(points: &[Point]) -> (f64, f64, f64, f64) {
    points.iter().fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |b, p| (b.0.min(p.x), b.1.min(p.y), b.2.max(p.x), b.3.max(p.y)),
    )
}

pub(crate) fn track_in_source(
    p: &LumaView<'_>,
    previous: &Fiducials,
    opts: &TrackOptions,
) -> Result<MarkerDetection, DetectError> {
    let prev = previous.points();
    let (x0, y0, x1, y1) = bbox(prev);
    let size = (x1 - x0).max(y1 - y0).max(8.0);
    let m = opts.search_margin * size;
    let clip = |v: f64, hi: usize| v.clamp(0.0, hi as f64) as usize;
    let roi = Roi {
        x0: clip((x0 - m).floor(), p.w),
        y0: clip((y0 - m).floor(), p.h),
        x1: clip((x1 + m).ceil() + 1.0, p.w),
        y1: clip((y1 + m).ceil() + 1.0, p.h),
    };
    if roi.x1 < roi.x0 + 16 || roi.y1 < roi.y0 + 16 {
        return Err(DetectError::MarkerLost {
            index: 0,
            predicted: prev[0],
        });
    }
    let found = blobs::find_candidates(p, &opts.markers, Some(roi), opts.min_contrast);
    match pattern::choose(p, &found, &opts.markers, &Labeler::ByPrevious(previous)) {
        Ok(choice) => pattern::finish(p, &found, &choice, DetectionMethod::Tracked),
        Err(_) => marker_by_marker(p, &found, previous, size, opts),
    }
}

fn apply(t: &[f64; 4], p: Point) -> Point {
    Point::new(
        t[0] * p.x - t[1] * p.y + t[2],
        t[1] * p.x + t[0] * p.y + t[3],
    )
}

/// Fallback: each marker searched near its predicted position.
fn marker_by_marker(
    p: &LumaView<'_>,
    found: &Found,
    previous: &Fiducials,
    size: f64,
    opts: &TrackOptions,
) -> Result<MarkerDetection, DetectError> {
    let prev = previous.points();
    let radius = (opts.window * size).max(4.0);
    let typical = prev
        .iter()
        .filter_map(|q| {
            found
                .blobs
                .iter()
                .find(|b| b.point().distance(*q) <= radius)
        })
        .map(|b| b.major)
        .fold(0.0, f64::max);
    let mut got: [Option<blobs::Refined>; 5] = [None; 5];
    let mut used: Vec<usize> = Vec::new();
    for (i, q) in prev.iter().enumerate() {
        let best = found
            .blobs
            .iter()
            .enumerate()
            .filter(|(k, _)| !used.contains(k))
            .map(|(k, b)| (k, b, b.point().distance(*q)))
            .filter(|(_, _, d)| *d <= radius)
            .max_by(|x, y| {
                let sx = x.1.score * (-(x.2 / radius).powi(2)).exp();
                let sy = y.1.score * (-(y.2 / radius).powi(2)).exp();
                sx.total_cmp(&sy)
            });
        if let Some((k, b, _)) = best
            && let Some(r) = blobs::refine(p, b.cx, b.cy, b.major, b.minor)
        {
            used.push(k);
            got[i] = Some(r);
        }
    }
    // Predict the missing (or inconsistent) ones from the others and look closely there.
    let have: Vec<usize> = (0..5).filter(|&i| got[i].is_some()).collect();
    if have.len() >= 2 {
        let from: Vec<Point> = have.iter().map(|&i| prev[i]).collect();
        let to: Vec<Point> = have
            .iter()
            .filter_map(|&i| got[i].map(|r| r.point))
            .collect();
        if let Some(t) = pattern::fit_similarity(&from, &to) {
            let scale = t[0].hypot(t[1]);
            for i in 0..5 {
                if got[i].is_some() {
                    continue;
                }
                let predicted = apply(&t, prev[i]);
                let r = (1.5 * typical * scale).max(8.0);
                got[i] = blobs::snap(p, predicted, r);
            }
        }
    }
    let mut markers = [DetectedMarker::default(); 5];
    for i in 0..5 {
        let Some(r) = got[i] else {
            return Err(DetectError::MarkerLost {
                index: i,
                predicted: prev[i],
            });
        };
        markers[i] = DetectedMarker {
            point: r.point,
            confidence: (0.7 * r.quality).clamp(0.0, 1.0),
            major_px: r.major,
            minor_px: r.minor,
            angle_deg: r.angle.to_degrees(),
            contrast: r.contrast,
        };
    }
    let points = markers.map(|m| m.point);
    let offs = pattern::centre_offsets(&points);
    if offs
        .iter()
        .any(|&o| o.is_nan() || o > opts.markers.max_centre_offset)
    {
        return Err(DetectError::MarkerLost {
            index: 4,
            predicted: prev[4],
        });
    }
    // The five must still look like the previous pattern up to a moderate affine change;
    // otherwise name the marker whose removal helps most.
    if pattern::affine_residual(prev, &points).is_none_or(|r| r > MAX_AFFINE_RESIDUAL) {
        let worst = (0..5)
            .max_by(|&a, &b| {
                let gain = |i: usize| {
                    let mut moved = points;
                    moved[i] = Point::new(prev[i].x, prev[i].y);
                    -pattern::affine_residual(prev, &moved).unwrap_or(f64::INFINITY)
                };
                gain(a).total_cmp(&gain(b))
            })
            .unwrap_or(0);
        return Err(DetectError::MarkerLost {
            index: worst,
            predicted: prev[worst],
        });
    }
    let fiducials = Fiducials::new(points).map_err(|_| DetectError::MarkerLost {
        index: 4,
        predicted: prev[4],
    })?;
    let score = markers.iter().map(|m| m.confidence).fold(1.0, f64::min);
    Ok(MarkerDetection {
        fiducials,
        markers,
        pattern_score: score,
        method: DetectionMethod::Tracked,
        diagnostics: pattern::diagnostics(found, 0, None),
    })
}

/// Relabel `d` by the cyclic shift of its corners that needs the smallest rotation from
/// `previous` (labels by direction flip when a sequence rotates past ±45°).
fn relabel_consistently(d: &mut MarkerDetection, previous: &Fiducials) {
    let pts = d.fiducials.points();
    let mut best = (f64::INFINITY, 0usize);
    for s in 0..4 {
        let cur = [
            pts[s % 4],
            pts[(s + 1) % 4],
            pts[(s + 2) % 4],
            pts[(s + 3) % 4],
            pts[4],
        ];
        if let Some((rot, _)) = pattern::similarity(previous.points(), &cur)
            && rot.abs() < best.0
        {
            best = (rot.abs(), s);
        }
    }
    let s = best.1;
    if s == 0 {
        return;
    }
    let m = d.markers;
    d.markers = [
        m[s % 4],
        m[(s + 1) % 4],
        m[(s + 2) % 4],
        m[(s + 3) % 4],
        m[4],
    ];
    if let Ok(f) = Fiducials::new(d.markers.map(|m| m.point)) {
        d.fiducials = f;
    }
}

/// Detect the markers in every photo of a sequence, labelled consistently along it.
///
/// Detection runs on all photos in parallel (rayon). Then, in order: a photo where detection
/// failed, or whose weakest marker is below [`SequenceOptions::retrack_below`], is tracked from
/// the nearest earlier photo that succeeded (the more confident result is kept); photos before
/// the first success are tracked backwards from it; and every result is relabelled, if needed,
/// so that its labels follow the previous photo's. One result per input, in input order.
pub fn detect_sequence<I: AsLuma + Sync>(
    images: &[I],
    opts: &SequenceOptions,
) -> Vec<Result<MarkerDetection, DetectError>> {
    if let Err(e) = validate(&opts.track) {
        return images.iter().map(|_| Err(e.clone())).collect();
    }
    let markers = &opts.track.markers;
    let planes: Vec<Result<LumaView<'_>, DetectError>> = images
        .par_iter()
        .map(|im| marker_source(im, markers.polarity))
        .collect();
    let mut results: Vec<Result<MarkerDetection, DetectError>> = planes
        .par_iter()
        .map(|p| {
            p.as_ref()
                .map_err(Clone::clone)
                .and_then(|p| detect_in_source(p, markers))
        })
        .collect();
    let step =
        |results: &mut Vec<Result<MarkerDetection, DetectError>>, i: usize, prev: &Fiducials| {
            let Ok(plane) = &planes[i] else { return };
            match &mut results[i] {
                Ok(d) => {
                    relabel_consistently(d, prev);
                    if d.min_confidence() < opts.retrack_below
                        && let Ok(t) = track_in_source(plane, prev, &opts.track)
                        && t.min_confidence() > d.min_confidence()
                    {
                        *d = t;
                    }
                }
                Err(_) => {
                    if let Ok(t) = track_in_source(plane, prev, &opts.track) {
                        results[i] = Ok(t);
                    }
                }
            }
        };
    let mut last: Option<Fiducials> = None;
    for i in 0..results.len() {
        if let Some(prev) = last {
            step(&mut results, i, &prev);
        }
        if let Ok(d) = &results[i] {
            last = Some(d.fiducials);
        }
    }
    if let Some(first) = results.iter().position(Result::is_ok) {
        for i in (0..first).rev() {
            if let Ok(next) = &results[i + 1] {
                let next = next.fiducials;
                step(&mut results, i, &next);
            }
        }
    }
    results
}
