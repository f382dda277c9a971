//! `GET /api/projects/{id}/analysis`: strains and regressions computed from the current data on
//! every request (never cached), or 422 with the reason and the images that are not complete.

use super::error::{AppError, AppJson, AppPath, AppQuery};
use super::{AppState, blocking};
use crate::engine::{Analysis, AnalysisError, Axis, Component, ImageStatus, analyze};
use crate::formats::{self, AnnotatedPoint, ProjectImage};
use crate::store::{ImageRecord, PointMeta, Project};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/projects/{id}/analysis", get(analysis))
}

/// Query of the analysis and of the exports computed from it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisQuery {
    /// Point uncertainty for this request, px (default: the project's `sigma_px`).
    pub sigma_px: Option<f64>,
    /// Comma-separated component keys to regress (default `eps_xx,eps_yy,eps_xy`).
    pub components: Option<String>,
    /// Loading axis for Poisson's ratio, `x` or `y` (default: chosen by the engine).
    pub loading_axis: Option<Axis>,
}

/// Parse `eps_xx,eps_yy` into components; unknown keys are a 400 naming them.
pub fn parse_components(list: &str) -> Result<Vec<Component>, AppError> {
    let mut components = Vec::new();
    for key in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let component = Component::from_key(key).ok_or_else(|| {
            let known: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
            AppError::bad_request(format!("unknown component {key:?}; known: {}", known.join(", ")))
        })?;
        if !components.contains(&component) {
            components.push(component);
        }
    }
    if components.is_empty() {
        return Err(AppError::bad_request("components is empty"));
    }
    Ok(components)
}

fn annotated(points: &[crate::engine::Point], meta: &[PointMeta]) -> Vec<AnnotatedPoint> {
    points
        .iter()
        .enumerate()
        .map(|(i, &point)| {
            let meta = meta.get(i).copied().unwrap_or_default();
            AnnotatedPoint {
                point,
                source: meta.source,
                confidence: meta.confidence,
            }
        })
        .collect()
}

/// The stored project in the exchange model of the formats crate. Image ids in files are the
/// filenames (unique in a project), so export → import → export gives the same file.
pub fn to_formats_project(project: &Project, images: &[ImageRecord]) -> formats::Project {
    let reference = project
        .reference_image
        .and_then(|id| images.iter().find(|i| i.id == id))
        .map(|i| i.filename.clone());
    formats::Project {
        name: project.name.clone(),
        scale_length: project.scale_length,
        reference,
        sigma_px: project.sigma_px,
        images: images
            .iter()
            .map(|i| ProjectImage {
                id: i.filename.clone(),
                filename: i.filename.clone(),
                order: i.order,
                sha256: Some(i.sha256.clone()),
                width: Some(i.width),
                height: Some(i.height),
                deformation_distance: i.deformation_distance,
                fiducials: annotated(&i.fiducials, &i.fiducial_meta),
                scale_points: annotated(&i.scale, &i.scale_meta),
            })
            .collect(),
    }
}

/// Images that are not complete, as `[{image_id, filename, status}]`.
pub fn incomplete_list(images: &[ImageRecord]) -> Value {
    Value::Array(
        images
            .iter()
            .filter(|i| i.status != ImageStatus::Complete)
            .map(|i| json!({ "image_id": i.id, "filename": i.filename, "status": i.status }))
            .collect(),
    )
}

fn analysis_error(err: &AnalysisError, images: &[ImageRecord]) -> AppError {
    let image_id = err
        .image
        .as_deref()
        .and_then(|name| images.iter().find(|i| i.filename == name))
        .map(|i| i.id);
    AppError::unprocessable(err.to_string())
        .with_detail("incomplete", incomplete_list(images))
        .with_detail("image_id", image_id)
}

/// Run the engine on a project's current data with the query's options.
pub fn compute(project: &Project, images: &[ImageRecord], query: &AnalysisQuery) -> Result<Analysis, AppError> {
    let exchange = to_formats_project(project, images);
    let inputs = exchange
        .to_engine_inputs()
        .map_err(|e| AppError::unprocessable(e.to_string()).with_detail("incomplete", incomplete_list(images)))?;
    let mut options = exchange.analysis_options();
    if let Some(sigma) = query.sigma_px {
        options.sigma_px = crate::store::validate_sigma(sigma)?;
    }
    if let Some(list) = &query.components {
        options.components = parse_components(list)?;
    }
    options.loading_axis = query.loading_axis;
    analyze(&inputs, &options).map_err(|e| analysis_error(&e, images))
}

/// The analysis as JSON: the engine's [`Analysis`] plus `image_id` on each row,
/// `reference_image_id`, and `excluded` as `[{image_id, filename, status}]`.
pub fn analysis_json(analysis: &Analysis, images: &[ImageRecord]) -> Result<Value, AppError> {
    let ids: HashMap<&str, i64> = images.iter().map(|i| (i.filename.as_str(), i.id)).collect();
    let mut value = serde_json::to_value(analysis).map_err(|e| AppError::internal(format!("serialising the analysis: {e}")))?;
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "reference_image_id".to_owned(),
            ids.get(analysis.reference_name.as_str()).copied().into(),
        );
        let excluded: Vec<Value> = analysis
            .excluded
            .iter()
            .map(|(name, status)| json!({ "image_id": ids.get(name.as_str()), "filename": name, "status": status }))
            .collect();
        object.insert("excluded".to_owned(), Value::Array(excluded));
        if let Some(rows) = object.get_mut("rows").and_then(Value::as_array_mut) {
            for row in rows {
                let id = row.get("name").and_then(Value::as_str).and_then(|n| ids.get(n)).copied();
                if let Some(row) = row.as_object_mut() {
                    row.insert("image_id".to_owned(), id.into());
                }
            }
        }
    }
    Ok(value)
}

async fn analysis(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppQuery(query): AppQuery<AnalysisQuery>,
) -> Result<AppJson<Value>, AppError> {
    let body = blocking(&state, move |s| {
        let (project, images) = s.project_with_images(id)?;
        let analysis = compute(&project, &images, &query)?;
        analysis_json(&analysis, &images)
    })
    .await?;
    Ok(AppJson(body))
}
