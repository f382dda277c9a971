//! `GET /api/projects/{id}/report/{html|pdf}`: the lab report of the project's current analysis
//! ([`crate::app::report`]) as a download, with the analysis query of the analysis view
//! (`sigma_px`, `components`, `loading_axis`, `scale_method`), so the report shows what the
//! user sees. 422 like the analysis when it cannot be computed; 404 for another format, and
//! for `pdf` when this build has no PDF reports.

use super::analysis::{AnalysisQuery, compute, to_formats_project};
use super::error::{AppError, AppPath, AppQuery};
use super::export::{download, slug};
use super::{AppState, blocking};
use crate::app::report::{self, ReportError, ReportInput, Thumbnail};
use crate::store::blobs::THUMBNAIL_SIZE;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::Response;
use axum::routing::get;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/projects/{id}/report/{format}", get(report_file))
}

fn report_failed(err: ReportError) -> AppError {
    match err {
        ReportError::PdfNotBuilt => AppError::not_found(err.to_string()),
        other => AppError::internal(format!("report failed: {other}")),
    }
}

/// The size of a stored thumbnail of a `width`×`height` photo (longest side
/// [`THUMBNAIL_SIZE`], never enlarged).
fn thumbnail_size(width: u32, height: u32) -> [u32; 2] {
    let longest = width.max(height).max(1);
    if longest <= THUMBNAIL_SIZE {
        return [width, height];
    }
    let scale = f64::from(THUMBNAIL_SIZE) / f64::from(longest);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let side = |v: u32| ((f64::from(v) * scale).round() as u32).max(1);
    [side(width), side(height)]
}

async fn report_file(
    State(state): State<AppState>,
    AppPath((id, format)): AppPath<(i64, String)>,
    AppQuery(query): AppQuery<AnalysisQuery>,
) -> Result<Response<Body>, AppError> {
    let pdf = match format.as_str() {
        "html" => false,
        "pdf" => true,
        other => {
            return Err(AppError::not_found(format!(
                "no report format {other:?}; available: html, pdf"
            )));
        }
    };
    let _slot = super::cpu_slot().await?;
    let (bytes, name) = blocking(&state, move |s| {
        let (project, points) = s.project_points(id)?;
        let analysis = compute(&project, &points, &query)?;
        let (project, images) = s.project_with_images(id)?;
        let exchange = to_formats_project(&project, &images);
        // The exchange project's images are in (order, filename) order, as the records are.
        let mut thumbnails = Vec::with_capacity(images.len());
        let mut records: Vec<_> = images.iter().collect();
        records.sort_by(|a, b| (a.order, &a.filename).cmp(&(b.order, &b.filename)));
        for image in records {
            let jpeg = s.thumbnail(id, image.id).ok();
            thumbnails.push(jpeg.map(|jpeg| Thumbnail {
                jpeg,
                size: thumbnail_size(image.width, image.height),
            }));
        }
        let input = ReportInput {
            project: &exchange,
            analysis: &analysis,
            thumbnails,
            generated: report::now_text(),
            source: format!("Strain Seer web app, project {id}"),
        };
        let bytes = if pdf {
            pdf_bytes(&input).map_err(report_failed)?
        } else {
            report::html::render(&input)
                .map_err(report_failed)?
                .into_bytes()
        };
        let ext = if pdf { "pdf" } else { "html" };
        Ok((bytes, format!("{}-report.{ext}", slug(&project.name))))
    })
    .await?;
    let content_type = if pdf {
        "application/pdf"
    } else {
        "text/html; charset=utf-8"
    };
    download(bytes, content_type, &name)
}

#[cfg(feature = "pdf")]
fn pdf_bytes(input: &ReportInput<'_>) -> Result<Vec<u8>, ReportError> {
    report::pdf::render(input)
}

#[cfg(not(feature = "pdf"))]
fn pdf_bytes(_input: &ReportInput<'_>) -> Result<Vec<u8>, ReportError> {
    Err(ReportError::PdfNotBuilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnail_sizes_follow_the_longest_side() {
        assert_eq!(thumbnail_size(1024, 768), [256, 192]);
        assert_eq!(thumbnail_size(100, 50), [100, 50]);
        assert_eq!(thumbnail_size(10_000, 1), [256, 1]);
    }
}
