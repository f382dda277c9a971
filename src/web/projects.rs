//! `/api/projects`: create, list, read, change, delete.

use super::error::{AppError, AppJson, AppPath, AppQuery, double_option};
use super::{AppState, blocking};
use crate::store::{ImageRecord, Project, ProjectPatch};
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scale_length: Option<f64>,
    #[serde(default, deserialize_with = "double_option")]
    reference_image: Option<Option<i64>>,
    #[serde(default)]
    sigma_px: Option<f64>,
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
    AppJson(body): AppJson<PatchBody>,
) -> Result<AppJson<Project>, AppError> {
    let patch = ProjectPatch {
        name: body.name,
        scale_length: body.scale_length,
        reference_image: body.reference_image,
        sigma_px: body.sigma_px,
    };
    Ok(AppJson(
        blocking(&state, move |s| Ok(s.update_project(id, patch)?)).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<StatusCode, AppError> {
    blocking(&state, move |s| Ok(s.delete_project(id)?)).await?;
    tracing::info!(project = id, "project deleted");
    Ok(StatusCode::NO_CONTENT)
}
