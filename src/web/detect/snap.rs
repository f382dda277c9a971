//! `POST …/images/{image_id}/snap`: the marker centre nearest to a point the user placed, within
//! a radius (2 to [`MAX_SNAP_RADIUS`] px). The stored image is decoded off the async threads,
//! one of the detection turns at a time; nothing is saved (the client saves the point itself).

use super::{MAX_SNAP_RADIUS, SNAP_RADIUS, decode_stored, turn};
use crate::app::{round_point, round3};
use crate::engine::Point;
use crate::engine::detect::{self, MarkerPolarity};
use crate::store::validate_points;
use crate::web::error::{AppError, AppJson, AppPath};
use crate::web::{AppState, blocking};
use axum::extract::State;
use image::DynamicImage;
use serde::{Deserialize, Serialize};

/// Body of `POST …/snap`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SnapBody {
    x: f64,
    y: f64,
    #[serde(default)]
    radius: Option<f64>,
    #[serde(default)]
    polarity: MarkerPolarity,
}

#[derive(Debug, Serialize)]
pub(super) struct SnapResponse {
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

pub(super) async fn snap(
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
