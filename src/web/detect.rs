//! `/api/projects/{id}/images/{image_id}/detect` and `…/snap`: automatic marker and ruler
//! detection on a stored image.
//!
//! `detect` decodes the stored file (off the async threads, the decoded pixels are dropped before
//! the answer is written), finds the five markers (tracked from another image's markers when the
//! client names one, with full detection as the fallback) and the ruler's scale points, and saves
//! what it found as `auto` points with their confidences through [`Store::update_image`], the
//! same function `PATCH …/images/{image_id}` uses. A part that is not found is left as it was;
//! when nothing is found the answer is 422 and nothing changes.
//!
//! `snap` only answers where the nearest marker centre is; the client saves the point itself.

use super::error::{AppError, AppJson, AppPath, ErrorKind};
use super::{AppState, blocking};
use crate::app::target::TargetReport;
use crate::app::{round_point, round3};
use crate::engine::detect::{
    self, DetectError, MarkerOptions, MarkerPolarity, RulerOptions, TrackOptions,
};
use crate::engine::{Fiducials, Point, RulerModel};
use crate::store::blobs::decode_oriented;
use crate::store::{
    ImagePatch, ImageRecord, MAX_SCALE_POINTS, PointMeta, PointSource, Project, ProjectPatch,
    Store, validate_points,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use image::DynamicImage;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Default search radius of `snap`, px.
pub const SNAP_RADIUS: f64 = 25.0;
/// Largest search radius `snap` accepts, px.
pub const MAX_SNAP_RADIUS: f64 = 500.0;
/// Largest scale length (mm) the ruler detector is asked for; longer ones are never on a photo.
const MAX_RULER_SPAN_MM: f64 = 10_000.0;

/// Detections and snaps running at once: each holds a decoded image (up to `max_pixels` × 4
/// bytes) and keeps a core busy, so more requests wait for a turn instead of piling up.
fn max_concurrent() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

async fn turn() -> Result<SemaphorePermit<'static>, AppError> {
    static TURNS: OnceLock<Semaphore> = OnceLock::new();
    TURNS
        .get_or_init(|| Semaphore::new(max_concurrent()))
        .acquire()
        .await
        .map_err(|e| AppError::internal(format!("the detection queue is closed: {e}")))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/projects/{id}/images/{image_id}/detect",
            post(detect_image),
        )
        .route("/api/projects/{id}/images/{image_id}/snap", post(snap))
}

/// Body of `POST …/detect`; every field is optional and an empty body means all defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DetectBody {
    /// Look for the five markers.
    markers: bool,
    /// Look for the ruler and place the two scale points.
    ruler: bool,
    /// Track the markers from this image's five markers (usually the previous image).
    track_from: Option<i64>,
    /// Dark (default) or bright markers.
    polarity: MarkerPolarity,
}

impl Default for DetectBody {
    fn default() -> Self {
        Self {
            markers: true,
            ruler: true,
            track_from: None,
            polarity: MarkerPolarity::Dark,
        }
    }
}

/// How the markers were (or were last tried to be) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Method {
    Detect,
    Track,
}

/// The marker part of the answer.
#[derive(Debug, Clone, Serialize)]
struct MarkersReport {
    found: bool,
    /// One per marker in the order 0 TL, 1 TR, 2 BR, 3 BL, 4 centre (empty when not found).
    confidence: Vec<f64>,
    min_confidence: Option<f64>,
    method: Method,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip)]
    points: Option<[Point; 5]>,
}

/// The ruler part of the answer.
#[derive(Debug, Clone, Serialize)]
struct RulerReport {
    found: bool,
    /// Scale over the span between the two scale points.
    mm_per_px: Option<f64>,
    px_per_mm: Option<f64>,
    /// Distance between the scale points, mm (a whole number) and px.
    span_mm: Option<u32>,
    span_px: Option<f64>,
    confidence: Option<f64>,
    /// True when the span was centred on the markers (the scale measured at their height).
    local_to_markers: Option<bool>,
    /// Set when the project's scale length was changed to the span found.
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_length_set: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// The ruler model's scale where the markers are (independent of the span), mm/px.
    mm_per_px_at_markers: Option<f64>,
    /// Graduation lines fitted by the ruler model, and their RMS residual (px).
    model_ticks: Option<u32>,
    model_rms_px: Option<f64>,
    #[serde(skip)]
    points: Option<[Point; 2]>,
    /// The ruler model, saved with the scale points.
    #[serde(skip)]
    model: Option<RulerModel>,
    /// Why the span differs from the scale length (when `scale_length_set` is).
    #[serde(skip)]
    fallback_reason: Option<String>,
}

impl RulerReport {
    fn missing(message: String) -> Self {
        Self {
            found: false,
            mm_per_px: None,
            px_per_mm: None,
            span_mm: None,
            span_px: None,
            confidence: None,
            local_to_markers: None,
            scale_length_set: None,
            message: Some(message),
            mm_per_px_at_markers: None,
            model_ticks: None,
            model_rms_px: None,
            points: None,
            model: None,
            fallback_reason: None,
        }
    }

    fn refuse(&mut self, message: String) {
        *self = Self::missing(message);
    }
}

/// Server-side time of each step, ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Timing {
    decode: f64,
    target: f64,
    markers: f64,
    ruler: f64,
}

#[derive(Debug, Serialize)]
struct Detection {
    /// Present when the project names a calibration target's pitch.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<TargetReport>,
    markers: Option<MarkersReport>,
    ruler: Option<RulerReport>,
    timing_ms: Timing,
}

#[derive(Debug, Serialize)]
struct DetectResponse {
    image: ImageRecord,
    project: Project,
    detection: Detection,
}

/// Everything the detection needs from the store, read before the pixels are decoded.
#[derive(Debug)]
struct Plan {
    record: ImageRecord,
    path: PathBuf,
    body: DetectBody,
    /// Filename and markers (when it has all five) of the image to track from.
    track_from: Option<(String, Option<Fiducials>)>,
    scale_length: f64,
    /// The project's calibration-target pitch: look for the target first.
    target_pitch_mm: Option<f64>,
}

/// A length in mm as people write it: `40`, `12.5`.
fn mm(v: f64) -> String {
    format!("{}", round3(v))
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e4).round() / 10.0
}

fn auto_meta(confidence: f64) -> PointMeta {
    PointMeta {
        source: PointSource::Auto,
        confidence: Some(round3(confidence.clamp(0.0, 1.0))),
    }
}

/// An empty body means all defaults; otherwise it must be JSON.
fn parse_body(headers: &HeaderMap, bytes: &Bytes) -> Result<DetectBody, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(DetectBody::default());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !json {
        return Err(AppError::new(
            ErrorKind::UnsupportedMediaType,
            "expected a JSON body with the header Content-Type: application/json",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::bad_request(format!("invalid JSON body: {e}")))
}

/// Read and decode a stored image file (blocking). The caller drops the pixels when done.
fn decode_stored(
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

/// The scale length as a whole number of mm the ruler detector can be asked for.
fn whole_mm(scale_length: f64) -> Option<u32> {
    let n = scale_length.round();
    ((scale_length - n).abs() < 1e-6 && (1.0..=MAX_RULER_SPAN_MM).contains(&n)).then_some(n as u32)
}

/// Ruler: two scale points exactly the project's scale length apart when the ruler shows it;
/// otherwise the longest span it shows, with `scale_length_set` asking the caller to change the
/// project's scale length (which it does only when no other image has scale points).
fn find_ruler(image: &DynamicImage, plan: &Plan, near: Option<Fiducials>) -> RulerReport {
    let (width, height) = (plan.record.width, plan.record.height);
    let run = |span_mm: Option<u32>| {
        detect::detect_ruler(
            image,
            &RulerOptions {
                span_mm,
                near_markers: near,
                ..RulerOptions::default()
            },
        )
    };
    // The longest span the graduation offers: the detector's choice (whole centimetres), or the
    // whole centimetres of what it reports available.
    let longest = || match run(None) {
        Err(DetectError::RulerTooShort { available_mm, .. }) if available_mm >= 10 => {
            run(Some(available_mm / 10 * 10))
        }
        other => other,
    };
    let length = plan.scale_length;
    let shown = mm(length);
    let (result, fallback_reason) = match whole_mm(length) {
        Some(span) => match run(Some(span)) {
            Ok(found) => (Ok(found), None),
            Err(DetectError::RulerTooShort { available_mm, .. }) => (
                longest(),
                Some(format!(
                    "the ruler's graduation shows only {available_mm} mm, less than the scale length of {shown} mm"
                )),
            ),
            Err(e) => (Err(e), None),
        },
        None => (
            longest(),
            Some(format!(
                "the scale length of {shown} mm is not a whole number of millimetres, which the ruler detector needs"
            )),
        ),
    };
    let found = match result {
        Ok(found) => found,
        Err(e) => {
            let message = match fallback_reason {
                Some(reason) => format!("{reason}, and no shorter span was found: {e}"),
                None => e.to_string(),
            };
            return RulerReport::missing(message);
        }
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
fn run_detection(plan: &Plan, max_pixels: u64) -> Result<Found, AppError> {
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
struct Found {
    target: Option<TargetReport>,
    markers: Option<MarkersReport>,
    ruler: Option<RulerReport>,
    timing: Timing,
}

/// Whether any image of the project other than `image_id` has both scale points (their meaning
/// depends on the scale length).
fn others_have_scale(store: &Store, project_id: i64, image_id: i64) -> Result<bool, AppError> {
    let (_, images) = store.project_points(project_id)?;
    Ok(images
        .iter()
        .any(|im| im.id != image_id && im.scale.len() == MAX_SCALE_POINTS))
}

/// The 422 answer when no part asked for was found.
fn nothing_found(
    filename: &str,
    markers: Option<&MarkersReport>,
    ruler: Option<&RulerReport>,
) -> AppError {
    let reason = |m: Option<&String>| m.cloned().unwrap_or_else(|| "not found".to_owned());
    let message = match (markers, ruler) {
        (Some(m), Some(r)) => format!(
            "no plausible 5-marker pattern in '{filename}': {}; no ruler scale either: {}",
            reason(m.message.as_ref()),
            reason(r.message.as_ref())
        ),
        (Some(m), None) => format!(
            "no plausible 5-marker pattern in '{filename}': {}",
            reason(m.message.as_ref())
        ),
        (None, Some(r)) => format!(
            "no ruler scale found in '{filename}': {}",
            reason(r.message.as_ref())
        ),
        (None, None) => format!("nothing to detect in '{filename}'"),
    };
    AppError::unprocessable(message)
}

async fn detect_image(
    State(state): State<AppState>,
    AppPath((id, image_id)): AppPath<(i64, i64)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<AppJson<DetectResponse>, AppError> {
    let body = parse_body(&headers, &bytes)?;
    if !body.markers && !body.ruler {
        return Err(AppError::bad_request(
            "nothing to detect: \"markers\" and \"ruler\" are both false",
        ));
    }
    let plan = blocking(&state, move |s| {
        let record = s.image(id, image_id)?;
        let (path, _, _) = s.image_file(id, image_id)?;
        let project = s.project(id)?;
        let track_from = match body.track_from {
            Some(from) if body.markers => {
                let previous = s.image(id, from).map_err(|e| match e.kind() {
                    crate::store::StoreErrorKind::NotFound(_) => AppError::bad_request(format!(
                        "track_from: project {id} has no image {from}"
                    )),
                    _ => e.into(),
                })?;
                let markers = Fiducials::try_from(previous.fiducials.as_slice()).ok();
                Some((previous.filename, markers))
            }
            _ => None,
        };
        Ok(Plan {
            record,
            path,
            body,
            track_from,
            scale_length: project.scale_length,
            target_pitch_mm: project.target_pitch_mm,
        })
    })
    .await?;
    if !tokio::fs::try_exists(&plan.path).await.unwrap_or(false) {
        return Err(AppError::internal(format!(
            "the file of image {image_id} is missing: {}",
            plan.path.display()
        )));
    }
    let max_pixels = state.limits.max_pixels;
    let started = Instant::now();
    let permit = turn().await?;
    let (
        plan,
        Found {
            target,
            markers,
            ruler,
            timing,
        },
    ) = tokio::task::spawn_blocking(move || {
        let found = run_detection(&plan, max_pixels);
        found.map(|found| (plan, found))
    })
    .await
    .map_err(|e| AppError::internal(format!("the detection task failed: {e}")))??;
    drop(permit);
    let filename = plan.record.filename.clone();
    let used_length = plan.scale_length;
    let target_model = target.as_ref().and_then(|t| t.model.clone());
    let (image, project, markers, ruler) = blocking(&state, move |s| {
        let mut ruler = ruler;
        if let Some(r) = ruler.as_mut().filter(|r| r.found) {
            let project = s.project(id)?;
            if project.scale_length != used_length {
                r.refuse(format!(
                    "the project's scale length changed from {} to {} mm during the detection; detect again",
                    mm(used_length),
                    mm(project.scale_length)
                ));
            } else if let Some(new_length) = r.scale_length_set
                && others_have_scale(s, id, image_id)?
            {
                let reason = r.fallback_reason.clone().unwrap_or_default();
                r.refuse(format!(
                    "{reason}; the ruler offers {} mm, but other images already have scale points {} mm apart, \
                     so the scale length was not changed and no scale points were placed: place them by hand \
                     or change the scale length",
                    mm(new_length),
                    mm(used_length)
                ));
            }
        }
        let markers_found = markers.as_ref().and_then(|m| m.points);
        let ruler_found = ruler.as_ref().and_then(|r| r.points);
        let target_found = target_model;
        if markers_found.is_none() && ruler_found.is_none() && target_found.is_none() {
            return Err(nothing_found(&filename, markers.as_ref(), ruler.as_ref()));
        }
        if let Some(new_length) = ruler.as_ref().and_then(|r| r.scale_length_set) {
            s.update_project(
                id,
                ProjectPatch {
                    scale_length: Some(new_length),
                    ..ProjectPatch::default()
                },
            )?;
        }
        let mut patch = ImagePatch {
            target: target_found.map(Some),
            ..ImagePatch::default()
        };
        if let (Some(points), Some(report)) = (markers_found, markers.as_ref()) {
            patch.fiducials = Some(points.to_vec());
            patch.fiducial_meta = Some(report.confidence.iter().map(|&c| auto_meta(c)).collect());
        }
        if let (Some(points), Some(report)) = (ruler_found, ruler.as_ref()) {
            let confidence = report.confidence.unwrap_or(0.0);
            patch.scale = Some(points.to_vec());
            patch.scale_meta = Some(vec![auto_meta(confidence); MAX_SCALE_POINTS]);
            patch.ruler = Some(report.model);
        }
        let (image, project) = s.update_image(id, image_id, patch)?;
        Ok((image, project, markers, ruler))
    })
    .await?;
    tracing::info!(
        project = id,
        image = image_id,
        markers = markers.as_ref().is_some_and(|m| m.found),
        ruler = ruler.as_ref().is_some_and(|r| r.found),
        decode_ms = timing.decode,
        detect_ms = timing.markers + timing.ruler,
        total_ms = ms(started),
        "detection saved"
    );
    Ok(AppJson(DetectResponse {
        image,
        project,
        detection: Detection {
            target,
            markers,
            ruler,
            timing_ms: timing,
        },
    }))
}

/// Body of `POST …/snap`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapBody {
    x: f64,
    y: f64,
    #[serde(default)]
    radius: Option<f64>,
    #[serde(default)]
    polarity: MarkerPolarity,
}

#[derive(Debug, Serialize)]
struct SnapResponse {
    point: Point,
    confidence: f64,
    /// How far the point moved, px.
    moved_px: f64,
}

/// The marker centre nearest to `point`, at most `radius` px away. A marker larger than the
/// search window around the point touches the window's edge and is not taken as a whole, so a
/// second search looks twice as far and keeps the answer only when it is within `radius`.
fn snap_within(
    image: &DynamicImage,
    point: Point,
    radius: f64,
    polarity: MarkerPolarity,
) -> Option<(Point, f64)> {
    detect::snap_to_marker_with(image, point, radius, polarity).or_else(|| {
        detect::snap_to_marker_with(image, point, 2.0 * radius, polarity)
            .filter(|(centre, _)| centre.distance(point) <= radius)
    })
}

async fn snap(
    State(state): State<AppState>,
    AppPath((id, image_id)): AppPath<(i64, i64)>,
    AppJson(body): AppJson<SnapBody>,
) -> Result<AppJson<SnapResponse>, AppError> {
    let radius = body.radius.unwrap_or(SNAP_RADIUS);
    if !(radius.is_finite() && (2.0..=MAX_SNAP_RADIUS).contains(&radius)) {
        return Err(AppError::bad_request(format!(
            "radius must be between 2 and {MAX_SNAP_RADIUS} px, got {radius}"
        )));
    }
    let (record, path) = blocking(&state, move |s| {
        let record = s.image(id, image_id)?;
        let (path, _, _) = s.image_file(id, image_id)?;
        Ok((record, path))
    })
    .await?;
    let point = Point::new(body.x, body.y);
    validate_points("snap", &[point], 1, record.width, record.height)?;
    let max_pixels = state.limits.max_pixels;
    let permit = turn().await?;
    let snapped = tokio::task::spawn_blocking(move || {
        let image = decode_stored(&path, &record.filename, max_pixels)?;
        let found = snap_within(&image, point, radius, body.polarity);
        drop(image);
        Ok::<_, AppError>((found, record.filename))
    })
    .await
    .map_err(|e| AppError::internal(format!("the snap task failed: {e}")))??;
    drop(permit);
    match snapped {
        (Some((centre, confidence)), _) => {
            let centre = round_point(centre);
            Ok(AppJson(SnapResponse {
                point: centre,
                confidence: round3(confidence.clamp(0.0, 1.0)),
                moved_px: round3(centre.distance(point)),
            }))
        }
        (None, filename) => Err(AppError::unprocessable(format!(
            "no marker near ({:.1}, {:.1}) in '{filename}' (searched within {radius} px)",
            body.x, body.y
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_millimetres() {
        assert_eq!(whole_mm(40.0), Some(40));
        assert_eq!(whole_mm(10.0000000001), Some(10));
        assert_eq!(whole_mm(12.5), None);
        assert_eq!(whole_mm(0.4), None);
        assert_eq!(whole_mm(1e12), None);
        assert_eq!(whole_mm(f64::NAN), None);
    }

    #[test]
    fn bodies() {
        let json = |s: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
            parse_body(&h, &Bytes::from(s.to_owned()))
        };
        let d = parse_body(&HeaderMap::new(), &Bytes::new()).unwrap();
        assert!(d.markers && d.ruler && d.track_from.is_none());
        let d = json(r#"{"ruler": false, "track_from": 7, "polarity": "bright"}"#).unwrap();
        assert!(d.markers && !d.ruler);
        assert_eq!(d.track_from, Some(7));
        assert_eq!(d.polarity, MarkerPolarity::Bright);
        assert_eq!(
            json(r#"{"rulers": true}"#).unwrap_err().kind,
            ErrorKind::BadRequest
        );
        assert_eq!(
            json(r#"{"polarity": "grey"}"#).unwrap_err().kind,
            ErrorKind::BadRequest
        );
        let err = parse_body(&HeaderMap::new(), &Bytes::from_static(b"{}")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnsupportedMediaType);
    }

    #[test]
    fn rounding_keeps_three_decimals() {
        assert_eq!(round3(1.23456), 1.235);
        assert_eq!(round3(round3(345.96073674541316)), 345.961);
        assert_eq!(auto_meta(1.2).confidence, Some(1.0));
    }
}
