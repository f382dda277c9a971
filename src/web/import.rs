//! `POST /api/import`: a Python Strain Seer annotation JSON or a Strain Seer project JSON plus
//! the image files it names → a new project.
//!
//! Multipart fields: `project` (the JSON file, required, once), `file` (images, matched to the
//! JSON's images by filename), `name` (optional text, the new project's name). Every image the
//! JSON names must be uploaded (else 400 listing the missing filenames); uploaded files the
//! JSON does not name are added after the others, unannotated.

use super::error::{AppError, AppMultipart, ErrorKind};
use super::images::read_field;
use super::projects::MAX_PAGE;
use super::{AppState, Limits, blocking};
use crate::formats::{self, AnnotatedPoint};
use crate::store::{
    Annotation, NewImage, NewProject, PointMeta, StagedImage, clean_filename,
    distance_from_filename,
};
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn routes(limits: &Limits) -> Router<AppState> {
    Router::new().route(
        "/api/import",
        post(import).layer(DefaultBodyLimit::max(limits.max_upload_bytes)),
    )
}

fn split(points: &[AnnotatedPoint]) -> (Vec<crate::engine::Point>, Vec<PointMeta>) {
    points
        .iter()
        .map(|p| {
            (
                p.point,
                PointMeta {
                    source: p.source,
                    confidence: p.confidence,
                },
            )
        })
        .unzip()
}

/// Name of an imported project: the `name` field, else the file's name, else the JSON file's
/// name without extension, else "Imported project".
fn project_name(given: Option<String>, in_file: &str, upload_name: Option<&str>) -> String {
    let from_upload = upload_name
        .map(|n| {
            n.rsplit_once('.')
                .map_or(n, |(stem, _)| stem)
                .trim()
                .to_owned()
        })
        .filter(|n| !n.is_empty());
    given
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .or_else(|| Some(in_file.trim().to_owned()).filter(|n| !n.is_empty()))
        .or(from_upload)
        .unwrap_or_else(|| "Imported project".to_owned())
}

async fn import(
    State(state): State<AppState>,
    AppMultipart(mut multipart): AppMultipart,
) -> Result<(StatusCode, super::AppJson<Value>), AppError> {
    let limits = state.limits.clone();
    let mut project_text: Option<(String, Option<String>)> = None;
    let mut name: Option<String> = None;
    let mut staged: Vec<StagedImage> = Vec::new();
    let mut uploaded: Vec<String> = Vec::new();
    while let Some(mut field) = multipart.next_field().await? {
        let field_name = field.name().unwrap_or_default().to_owned();
        match field_name.as_str() {
            "project" => {
                if project_text.is_some() {
                    return Err(AppError::bad_request(
                        "the field \"project\" was sent twice",
                    ));
                }
                let upload_name = field.file_name().map(clean_filename);
                let bytes = read_field(&mut field, "project", limits.max_file_bytes).await?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| AppError::bad_request("project: the file is not UTF-8 text"))?;
                project_text = Some((text, upload_name));
            }
            "name" => {
                let bytes = read_field(&mut field, "name", 4096).await?;
                name = Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            "file" => {
                let filename = clean_filename(field.file_name().unwrap_or("image"));
                if uploaded.contains(&filename) {
                    return Err(AppError::bad_request(format!("{filename}: uploaded twice")));
                }
                let bytes = read_field(&mut field, &filename, limits.max_file_bytes).await?;
                let shown = filename.clone();
                let max_pixels = limits.max_pixels;
                let slot = super::cpu_slot().await?;
                staged.push(
                    blocking(&state, move |s| {
                        let _slot = slot;
                        Ok(s.stage_image(&bytes, &shown, max_pixels)?)
                    })
                    .await?,
                );
                uploaded.push(filename);
            }
            other => {
                return Err(AppError::bad_request(format!(
                    "unexpected multipart field {other:?}: expected \"project\", \"file\" or \"name\""
                )));
            }
        }
    }
    let (text, upload_name) = project_text.ok_or_else(|| {
        AppError::bad_request("no project file: send the JSON in the multipart field \"project\"")
    })?;
    let parsed =
        formats::parse_any(&text).map_err(|e| AppError::bad_request(format!("project: {e}")))?;

    let index: HashMap<&str, usize> = uploaded
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let sorted = parsed.sorted_images();
    let missing: Vec<&str> = sorted
        .iter()
        .map(|i| i.filename.as_str())
        .filter(|n| !index.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::bad_request(format!(
            "the project names {} image(s) that were not uploaded: {}",
            missing.len(),
            missing.join(", ")
        ))
        .with_detail("missing", json!(missing)));
    }
    let mut new_images = Vec::with_capacity(uploaded.len());
    let mut used = vec![false; uploaded.len()];
    for image in &sorted {
        let at = index[image.filename.as_str()];
        used[at] = true;
        let info = &staged[at].info;
        if let Some(sha) = &image.sha256
            && !sha.eq_ignore_ascii_case(&info.sha256)
        {
            return Err(AppError::bad_request(format!(
                "{}: the uploaded file's SHA-256 ({}) differs from the project's ({sha})",
                image.filename, info.sha256
            )));
        }
        if let (Some(w), Some(h)) = (image.width, image.height)
            && (w, h) != (info.width, info.height)
        {
            return Err(AppError::bad_request(format!(
                "{}: the uploaded image is {}×{} px, the project says {w}×{h} px",
                image.filename, info.width, info.height
            )));
        }
        let (fiducials, fiducial_meta) = split(&image.fiducials);
        let (scale, scale_meta) = split(&image.scale_points);
        new_images.push(NewImage {
            staged: at,
            filename: image.filename.clone(),
            annotation: Annotation {
                fiducials,
                scale,
                fiducial_meta,
                scale_meta,
                deformation_distance: image.deformation_distance,
                ruler: image.ruler,
                target: image.target.clone(),
                excluded: image.excluded.clone(),
                time_s: image.time_s.filter(|t| t.is_finite()),
                force_n: image.force_n.filter(|f| f.is_finite()),
            },
        });
    }
    for (at, filename) in uploaded.iter().enumerate().filter(|(at, _)| !used[*at]) {
        new_images.push(NewImage {
            staged: at,
            filename: filename.clone(),
            annotation: Annotation {
                deformation_distance: distance_from_filename(filename),
                ..Annotation::default()
            },
        });
    }
    let reference = parsed
        .reference
        .as_deref()
        .and_then(|r| new_images.iter().position(|i| i.filename == r));
    let new_project = NewProject {
        name: project_name(name, &parsed.name, upload_name.as_deref()),
        scale_length: parsed.scale_length,
        sigma_px: parsed.sigma_px,
        reference,
        scale_method: parsed.scale_method,
        focal_35mm: parsed.focal_35mm,
        target_pitch_mm: parsed.target_pitch_mm,
        area_mm2: parsed.area_mm2,
    };
    let max_images = limits.max_images_per_project;
    let body = blocking(&state, move |s| {
        let project =
            s.create_project_with_images(&new_project, staged, &new_images, max_images)?;
        let images = s.images(project.id, Some(MAX_PAGE), 0)?;
        let mut value = serde_json::to_value(&project)
            .map_err(|e| AppError::new(ErrorKind::Internal, e.to_string()))?;
        if let Some(object) = value.as_object_mut() {
            object.insert("images".to_owned(), json!(images));
            object.insert("images_offset".to_owned(), json!(0));
            object.insert("images_limit".to_owned(), json!(MAX_PAGE));
        }
        Ok(value)
    })
    .await?;
    tracing::info!(project = %body["id"], "project imported");
    Ok((StatusCode::CREATED, super::AppJson(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_project_names() {
        assert_eq!(
            project_name(Some(" Mine ".into()), "file", Some("x.json")),
            "Mine"
        );
        assert_eq!(project_name(None, "In file", Some("x.json")), "In file");
        assert_eq!(project_name(None, "", Some("run-3.json")), "run-3");
        assert_eq!(
            project_name(Some("  ".into()), "", None),
            "Imported project"
        );
    }
}
