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
use crate::app::round3;
use crate::app::ruler::mm;
use crate::app::target::TargetReport;
use crate::engine::detect::MarkerPolarity;
use crate::engine::{Fiducials, Point, RulerModel};
use crate::store::{
    ImagePatch, ImageRecord, MAX_SCALE_POINTS, PointMeta, PointSource, Project, ProjectPatch, Store,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

mod find;
mod snap;

use find::{Found, decode_stored, run_detection};
use snap::snap;
use std::sync::OnceLock;
use std::time::Instant;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Default search radius of `snap`, px.
pub const SNAP_RADIUS: f64 = 25.0;
/// Largest search radius `snap` accepts, px.
pub const MAX_SNAP_RADIUS: f64 = 500.0;

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

#[cfg(test)]
mod tests {
    use super::*;

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
