//! `/api/projects`: create, list, read, change, delete.

use super::error::{AppError, AppJson, AppPath, AppQuery};
use super::{AppState, blocking};
use crate::app::scale::{ScaleAction, ScaleLengthChange, scale_action};
use crate::formats::PointSource;
use crate::store::{ImagePatch, ImageRecord, PointMeta, Project, ProjectPatch, Store};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::{Deserialize, Serialize};

/// Default and largest number of images in one page (`GET /api/projects/{id}` and
/// `GET /api/projects/{id}/images`).
pub const MAX_PAGE: u64 = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/projects", get(list).post(create))
        .route("/api/projects/{id}", get(read).patch(update).delete(remove))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
}

/// The answer to a project change: the project, and what a scale-length change did to the
/// images' scale points.
#[derive(Debug, Serialize)]
struct PatchResponse {
    #[serde(flatten)]
    project: Project,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_change: Option<ScaleLengthChange>,
}

/// `?limit=&offset=` of a page of images.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

impl Page {
    /// `(limit, offset)` with the default and the cap applied.
    pub fn resolve(self) -> Result<(u64, u64), AppError> {
        let limit = self.limit.unwrap_or(MAX_PAGE);
        if limit > MAX_PAGE {
            return Err(AppError::bad_request(format!(
                "limit must be at most {MAX_PAGE}, got {limit}"
            )));
        }
        Ok((limit, self.offset.unwrap_or(0)))
    }
}

/// A project with one page of its images.
#[derive(Debug, Serialize)]
struct ProjectWithImages {
    #[serde(flatten)]
    project: Project,
    images: Vec<ImageRecord>,
    images_offset: u64,
    images_limit: u64,
}

async fn list(State(state): State<AppState>) -> Result<AppJson<Vec<Project>>, AppError> {
    Ok(AppJson(blocking(&state, |s| Ok(s.list_projects()?)).await?))
}

async fn create(
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateBody>,
) -> Result<(StatusCode, AppJson<Project>), AppError> {
    let project = blocking(&state, move |s| Ok(s.create_project(&body.name)?)).await?;
    tracing::info!(project = project.id, "project created");
    Ok((StatusCode::CREATED, AppJson(project)))
}

async fn read(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppQuery(page): AppQuery<Page>,
) -> Result<AppJson<ProjectWithImages>, AppError> {
    let (limit, offset) = page.resolve()?;
    let body = blocking(&state, move |s| {
        let project = s.project(id)?;
        let images = s.images(id, Some(limit), offset)?;
        Ok(ProjectWithImages {
            project,
            images,
            images_offset: offset,
            images_limit: limit,
        })
    })
    .await?;
    Ok(AppJson(body))
}

async fn update(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppJson(patch): AppJson<ProjectPatch>,
) -> Result<AppJson<PatchResponse>, AppError> {
    let response = blocking(&state, move |s| {
        let Some(new_length) = patch.scale_length else {
            return Ok(PatchResponse {
                project: s.update_project(id, patch)?,
                scale_change: None,
            });
        };
        let (edits, change) = scale_length_edits(s, id, new_length)?;
        let project = s.update_project_with_images(id, patch, edits)?;
        Ok(PatchResponse {
            project,
            scale_change: Some(change),
        })
    })
    .await?;
    Ok(AppJson(response))
}

/// The image edits a new scale length implies ([`crate::app::scale`]), from the current images.
fn scale_length_edits(
    store: &Store,
    id: i64,
    new_length: f64,
) -> Result<(Vec<(i64, ImagePatch)>, ScaleLengthChange), AppError> {
    let (project, images) = store.project_with_images(id)?;
    let mut change = ScaleLengthChange {
        old_length: project.scale_length,
        new_length,
        ..ScaleLengthChange::default()
    };
    let mut edits = Vec::new();
    for image in &images {
        let detected = image.scale_meta.len() == image.scale.len()
            && image
                .scale_meta
                .iter()
                .all(|m| m.source == PointSource::Auto);
        let action = scale_action(
            &image.scale,
            detected,
            image.ruler.as_ref(),
            &image.fiducials,
            project.scale_length,
            new_length,
        );
        change.record(Some(image.id), &image.filename, &action);
        let (scale, scale_meta) = match &action {
            ScaleAction::Keep | ScaleAction::Manual => continue,
            ScaleAction::Replace(points) => (points.to_vec(), image.scale_meta.clone()),
            ScaleAction::Remove(_) => (Vec::new(), Vec::<PointMeta>::new()),
        };
        edits.push((
            image.id,
            ImagePatch {
                scale: Some(scale),
                scale_meta: Some(scale_meta),
                // The model stays: it still describes the ruler.
                ruler: Some(image.ruler),
                ..ImagePatch::default()
            },
        ));
    }
    Ok((edits, change))
}

async fn remove(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode, AppError> {
    blocking(&state, move |s| Ok(s.delete_project(id)?)).await?;
    tracing::info!(project = id, "project deleted");
    Ok(StatusCode::NO_CONTENT)
}
