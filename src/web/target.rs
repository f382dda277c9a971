//! `GET /api/target.svg`: the printable dot-grid calibration target, the same sheet as
//! `strain-seer target` writes.

use super::AppState;
use super::error::{AppError, AppQuery};
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;
use strain_seer_formats::target_sheet::{Paper, TargetSheet};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/target.svg", get(sheet))
}

/// Query of `GET /api/target.svg`; every field optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SheetQuery {
    /// mm, default 5.
    pitch: Option<f64>,
    /// mm, default 40 % of the pitch.
    dot: Option<f64>,
    /// `a4` (default) or `letter`.
    paper: Option<String>,
}

async fn sheet(AppQuery(q): AppQuery<SheetQuery>) -> Result<impl IntoResponse, AppError> {
    let paper = match q.paper.as_deref() {
        Some(p) => p.parse::<Paper>().map_err(AppError::bad_request)?,
        None => Paper::A4,
    };
    let sheet = TargetSheet {
        pitch_mm: q.pitch.unwrap_or(5.0),
        dot_mm: q.dot,
        paper,
    };
    sheet.validate().map_err(AppError::bad_request)?;
    let name = format!(
        "attachment; filename=\"strain-seer-target-{}mm-{}.svg\"",
        sheet.pitch_mm,
        paper.key()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        sheet.to_svg(),
    ))
}
