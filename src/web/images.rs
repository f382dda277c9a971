//! `/api/projects/{id}/images`: upload, list, read, annotate, reorder, delete; the file and its
//! thumbnail.

use super::error::{AppError, AppJson, AppMultipart, AppPath, AppQuery, ErrorKind, double_option};
use super::projects::Page;
use super::{AppState, Limits, blocking};
use crate::engine::Point;
use crate::store::{
    Annotation, ImagePatch, ImageRecord, NewImage, PointMeta, Project, clean_filename,
    distance_from_filename,
};
use axum::Router;
use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// Browsers may keep image files and thumbnails: ids are never reused and files never change.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

pub fn routes(limits: &Limits) -> Router<AppState> {
    Router::new()
        .route(
            "/api/projects/{id}/images",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(limits.max_upload_bytes)),
        )
        .route(
            "/api/projects/{id}/images/{image_id}",
            get(read).patch(update).delete(remove),
        )
        .route("/api/projects/{id}/images/{image_id}/file", get(file))
        .route(
            "/api/projects/{id}/images/{image_id}/thumbnail",
            get(thumbnail),
        )
}

/// A page of a project's images.
#[derive(Debug, Serialize)]
struct ImagePage {
    images: Vec<ImageRecord>,
    total: u64,
    offset: u64,
    limit: u64,
}

async fn list(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppQuery(page): AppQuery<Page>,
) -> Result<AppJson<ImagePage>, AppError> {
    let (limit, offset) = page.resolve()?;
    let body = blocking(&state, move |s| {
        let images = s.images(id, Some(limit), offset)?;
        let total = s.project(id)?.image_count;
        Ok(ImagePage {
            images,
            total,
            offset,
            limit,
        })
    })
    .await?;
    Ok(AppJson(body))
}

async fn read(
    State(state): State<AppState>,
    AppPath((id, image_id)): AppPath<(i64, i64)>,
) -> Result<AppJson<ImageRecord>, AppError> {
    Ok(AppJson(
        blocking(&state, move |s| Ok(s.image(id, image_id)?)).await?,
    ))
}

/// Read one multipart file field, refusing it once it exceeds `max_bytes`.
pub(crate) async fn read_field(
    field: &mut Field<'_>,
    filename: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(AppError::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "{filename}: the file is larger than the limit of {}",
                    human_bytes(max_bytes)
                ),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// `52428800` → `50 MiB`.
pub(crate) fn human_bytes(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

async fn upload(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppMultipart(mut multipart): AppMultipart,
) -> Result<(StatusCode, AppJson<Vec<ImageRecord>>), AppError> {
    // Unknown project: say so before reading a large body.
    blocking(&state, move |s| Ok(s.project(id)?)).await?;
    let limits = state.limits.clone();
    let mut staged = Vec::new();
    let mut new_images = Vec::new();
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name != "file" {
            return Err(AppError::bad_request(format!(
                "unexpected multipart field {name:?}: send images in fields named \"file\""
            )));
        }
        let filename = clean_filename(field.file_name().unwrap_or("image"));
        let bytes = read_field(&mut field, &filename, limits.max_file_bytes).await?;
        let shown = filename.clone();
        let max_pixels = limits.max_pixels;
        let slot = super::cpu_slot().await?;
        let image = blocking(&state, move |s| {
            let _slot = slot;
            Ok(s.stage_image(&bytes, &shown, max_pixels)?)
        })
        .await?;
        new_images.push(NewImage {
            staged: staged.len(),
            annotation: Annotation {
                deformation_distance: distance_from_filename(&filename),
                ..Annotation::default()
            },
            filename,
        });
        staged.push(image);
    }
    if new_images.is_empty() {
        return Err(AppError::bad_request(
            "no image in the request: send one or more files in multipart fields named \"file\"",
        ));
    }
    let max_images = limits.max_images_per_project;
    let records = blocking(&state, move |s| {
        Ok(s.add_images(id, staged, &new_images, max_images)?)
    })
    .await?;
    tracing::info!(project = id, count = records.len(), "images uploaded");
    Ok((StatusCode::CREATED, AppJson(records)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "double_option")]
    fiducials: Option<Option<Vec<Point>>>,
    #[serde(default, deserialize_with = "double_option")]
    scale: Option<Option<Vec<Point>>>,
    #[serde(default, deserialize_with = "double_option")]
    fiducial_meta: Option<Option<Vec<PointMeta>>>,
    #[serde(default, deserialize_with = "double_option")]
    scale_meta: Option<Option<Vec<PointMeta>>>,
    #[serde(default, deserialize_with = "double_option")]
    deformation_distance: Option<Option<f64>>,
    #[serde(default)]
    order: Option<i64>,
    /// A string (the reason, may be empty) excludes the image from the fits; `null` includes it.
    #[serde(default, deserialize_with = "double_option")]
    excluded: Option<Option<String>>,
}

/// The answer to an image edit: the image and its project's new counts, in one round trip.
#[derive(Debug, Serialize)]
struct PatchResponse {
    image: ImageRecord,
    project: Project,
}

async fn update(
    State(state): State<AppState>,
    AppPath((id, image_id)): AppPath<(i64, i64)>,
    AppJson(body): AppJson<PatchBody>,
) -> Result<AppJson<PatchResponse>, AppError> {
    let patch = ImagePatch {
        fiducials: body.fiducials.map(Option::unwrap_or_default),
        scale: body.scale.map(Option::unwrap_or_default),
        fiducial_meta: body.fiducial_meta.flatten(),
        scale_meta: body.scale_meta.flatten(),
        deformation_distance: body.deformation_distance,
        order: body.order,
        ruler: None,
        target: None,
        excluded: body.excluded,
    };
    let (image, project) =
        blocking(&state, move |s| Ok(s.update_image(id, image_id, patch)?)).await?;
    Ok(AppJson(PatchResponse { image, project }))
}

async fn remove(
    State(state): State<AppState>,
    AppPath((id, image_id)): AppPath<(i64, i64)>,
) -> Result<StatusCode, AppError> {
    blocking(&state, move |s| Ok(s.delete_image(id, image_id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `inline` or `attachment` with the filename in both the plain and the RFC 5987 form.
pub(crate) fn content_disposition(kind: &str, filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

async fn file(
    State(state): State<AppState>,
    AppPath((id, image_id)): AppPath<(i64, i64)>,
    request: Request,
) -> Result<Response<Body>, AppError> {
    let (path, content_type, filename) =
        blocking(&state, move |s| Ok(s.image_file(id, image_id)?)).await?;
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(AppError::internal(format!(
            "the file of image {image_id} is missing: {}",
            path.display()
        )));
    }
    let response = ServeFile::new(&path)
        .oneshot(request)
        .await
        .map_err(|e| AppError::internal(format!("reading {}: {e}", path.display())))?;
    let (mut parts, body) = response.into_parts();
    if parts.status.is_success() {
        if let Ok(value) = HeaderValue::from_str(&content_type) {
            parts.headers.insert(header::CONTENT_TYPE, value);
        }
        parts.headers.insert(
            header::CONTENT_DISPOSITION,
            content_disposition("inline", &filename),
        );
    }
    parts.headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    Ok(Response::from_parts(parts, Body::new(body)))
}

async fn thumbnail(
    State(state): State<AppState>,
    AppPath((id, image_id)): AppPath<(i64, i64)>,
) -> Result<Response<Body>, AppError> {
    let bytes = blocking(&state, move |s| Ok(s.thumbnail(id, image_id)?)).await?;
    Response::builder()
        .header(header::CONTENT_TYPE, crate::store::blobs::THUMBNAIL_TYPE)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, IMMUTABLE)
        .body(Body::from(bytes))
        .map_err(|e| AppError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_quotes_and_encodes() {
        let v = content_disposition("attachment", "a \"b\"/é.csv");
        assert_eq!(
            v.to_str().unwrap_or_default(),
            "attachment; filename=\"a _b_/_.csv\"; filename*=UTF-8''a%20%22b%22%2F%C3%A9.csv"
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(50 * 1024 * 1024), "50 MiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }
}
