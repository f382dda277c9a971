//! `GET /api/projects/{id}/analysis`: strains and regressions computed from the current data on
//! every request (never cached), or 422 with the reason and the images that are not complete.

use super::error::{AppError, AppPath, AppQuery};
use super::{AppState, blocking};
use crate::app::load::FrameColumns;
use crate::engine::{
    Analysis, AnalysisError, AnalysisOptions, Axis, Budget, Component, ComponentRegression,
    Fiducials, FocalSource, ImageInput, ImageStatus, ScaleMethod, ScalePoints, StrainMeasures,
    analyze,
};
use crate::formats::{self, AnnotatedPoint, ProjectImage};
use crate::store::{ImagePoints, ImageRecord, PointMeta, Project};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Response, header};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Default and largest number of rows in one analysis answer (the regressions always use all).
pub const MAX_ROWS: usize = 1000;

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
    /// Scale method for this request (default: the project's choice).
    pub scale_method: Option<ScaleMethod>,
}

/// Parse a comma-separated list of component names (the names [`Component::parse_list`]
/// accepts: keys, the Python tool's names, `all`); unknown names are a 400 naming them.
pub fn parse_components(list: &str) -> Result<Vec<Component>, AppError> {
    let components = Component::parse_list(list.split(','))
        .map_err(|err| AppError::bad_request(err.to_string()))?;
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
        scale_method: project.scale_method,
        focal_35mm: project.focal_35mm,
        target_pitch_mm: project.target_pitch_mm,
        area_mm2: project.area_mm2,
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
                ruler: i.ruler,
                target: i.target.clone(),
                focal_35mm: i.focal_35mm,
                excluded: i.excluded.clone(),
                time_s: i.time_s,
                force_n: i.force_n,
            })
            .collect(),
    }
}

/// Images that are not complete, as `[{image_id, filename, status}]`.
pub fn incomplete_list(images: &[ImagePoints]) -> Value {
    Value::Array(
        images
            .iter()
            .filter(|i| i.status != ImageStatus::Complete)
            .map(|i| json!({ "image_id": i.id, "filename": i.filename, "status": i.status }))
            .collect(),
    )
}

fn analysis_error(err: &AnalysisError, images: &[ImagePoints]) -> AppError {
    let image_id = err
        .image
        .as_deref()
        .and_then(|name| images.iter().find(|i| i.filename == name))
        .map(|i| i.id);
    AppError::unprocessable(err.to_string())
        .with_detail("incomplete", incomplete_list(images))
        .with_detail("excluded", excluded_list(images))
        .with_detail("image_id", image_id)
}

/// Images the user excluded from the fits, as `[{image_id, filename, reason}]`: with too few
/// left for the fits, the analysis view lists them so each can be put back.
pub fn excluded_list(images: &[ImagePoints]) -> Value {
    Value::Array(
        images
            .iter()
            .filter_map(|i| {
                let reason = i.excluded.as_deref()?;
                Some(json!({ "image_id": i.id, "filename": i.filename, "reason": reason }))
            })
            .collect(),
    )
}

/// The engine's view of an image. Stored points are finite, inside the image, at most 5 + 2,
/// and two scale points are distinct; a failure here means the database was edited by hand.
fn engine_input(image: &ImagePoints) -> Result<ImageInput, AppError> {
    let corrupt = |e: crate::engine::PointError| {
        AppError::internal(format!("stored points of {}: {e}", image.filename))
    };
    let fiducials = match image.fiducials.as_slice() {
        [a, b, c, d, e] => Some(Fiducials::new([*a, *b, *c, *d, *e]).map_err(corrupt)?),
        _ => None,
    };
    let scale = match image.scale.as_slice() {
        [a, b] => Some(ScalePoints::new([*a, *b]).map_err(corrupt)?),
        _ => None,
    };
    Ok(ImageInput {
        name: image.filename.clone(),
        fiducials,
        scale,
        deformation: image.deformation_distance,
        placed: Some((image.fiducials.len(), image.scale.len())),
        ruler: image.ruler,
        size: Some([image.width, image.height]),
        focal_35mm: image.focal_35mm,
        target: image.target.clone(),
        excluded: image.excluded.clone(),
    })
}

/// Run the engine on a project's current data with the query's options.
pub fn compute(
    project: &Project,
    images: &[ImagePoints],
    query: &AnalysisQuery,
) -> Result<Analysis, AppError> {
    let inputs = images
        .iter()
        .map(engine_input)
        .collect::<Result<Vec<_>, _>>()?;
    let reference = project
        .reference_image
        .and_then(|id| images.iter().find(|i| i.id == id))
        .map(|i| i.filename.clone());
    let sigma_px = match query.sigma_px {
        Some(sigma) => crate::store::validate_sigma(sigma)?,
        None => project.sigma_px,
    };
    let components = match &query.components {
        Some(list) => parse_components(list)?,
        None => Component::DEFAULT.to_vec(),
    };
    let options = AnalysisOptions {
        scale_length: project.scale_length,
        reference,
        sigma_px,
        loading_axis: query.loading_axis,
        components,
        scale_method: query.scale_method.or(project.scale_method),
        focal_35mm: project.focal_35mm,
    };
    analyze(&inputs, &options).map_err(|e| analysis_error(&e, images))
}

/// One row of the analysis answer: the engine's [`ImageResult`] plus the image id.
#[derive(Debug, Serialize)]
struct RowOut<'a> {
    image_id: Option<i64>,
    index: usize,
    name: &'a str,
    deformation: f64,
    mm_per_px: f64,
    measures: &'a StrainMeasures,
    uncertainty: &'a StrainMeasures,
    budget: &'a Budget,
    #[serde(skip_serializing_if = "Option::is_none")]
    focal_35mm: Option<(f64, FocalSource)>,
    /// The user's reason when the image is excluded from the fits; absent when it is fitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    excluded: Option<&'a str>,
    /// A film's frame: its time in the film, s.
    #[serde(skip_serializing_if = "Option::is_none")]
    time_s: Option<f64>,
    /// The test machine's force at the frame's time, N.
    #[serde(skip_serializing_if = "Option::is_none")]
    force_n: Option<f64>,
    /// Engineering stress force / cross-section area, MPa.
    #[serde(skip_serializing_if = "Option::is_none")]
    stress_mpa: Option<f64>,
}

/// The stress–strain fit: `σ (MPa) = modulus·ε + intercept` over the fitted frames.
#[derive(Debug, Serialize)]
struct StressStrainOut {
    component: Component,
    loading_axis: Axis,
    modulus_mpa: f64,
    modulus_stderr: f64,
    modulus_ci95: [f64; 2],
    intercept_mpa: f64,
    r2: f64,
    p_value: f64,
    n: usize,
}

#[derive(Debug, Serialize)]
struct PoissonOut<'a> {
    loading_axis: Axis,
    auto_axis: bool,
    per_image: &'a [Option<f64>],
    from_slopes: f64,
    from_slopes_stderr: f64,
}

#[derive(Debug, Serialize)]
struct ExcludedOut<'a> {
    image_id: Option<i64>,
    filename: &'a str,
    status: ImageStatus,
}

/// The analysis answer: the engine's [`Analysis`] with `image_id` on each row,
/// `reference_image_id`, `excluded` as objects, and one page of rows.
#[derive(Debug, Serialize)]
struct AnalysisOut<'a> {
    reference: usize,
    reference_name: &'a str,
    reference_image_id: Option<i64>,
    scale_length: f64,
    sigma_px: f64,
    scale_method: ScaleMethod,
    row_total: usize,
    row_offset: usize,
    rows: Vec<RowOut<'a>>,
    regressions: &'a [ComponentRegression],
    poisson: Option<PoissonOut<'a>>,
    excluded: Vec<ExcludedOut<'a>>,
    /// The project's cross-section area, mm² (`null` = not entered).
    area_mm2: Option<f64>,
    /// `null` without stresses or with too few.
    stress_strain: Option<StressStrainOut>,
    /// Why there is no stress–strain fit although frames have a force.
    #[serde(skip_serializing_if = "Option::is_none")]
    stress_strain_note: Option<&'a str>,
}

/// Each result row's film time, force and stress, and the stress–strain fit
/// ([`FrameColumns`]), from the images' times and forces and the project's area.
pub fn frame_columns(
    analysis: &Analysis,
    images: &[ImagePoints],
    project: &Project,
) -> FrameColumns {
    FrameColumns::from_images(
        analysis,
        images
            .iter()
            .map(|i| (i.filename.as_str(), i.time_s, i.force_n)),
        project.area_mm2,
    )
}

/// The analysis as JSON bytes, with rows `offset..offset + limit` (all by default); the
/// regressions and Poisson's ratio always use every row. Serialised straight from borrowed data
/// (no intermediate JSON tree), which matters for projects of thousands of images.
pub fn analysis_json(
    analysis: &Analysis,
    images: &[ImagePoints],
    frames: &FrameColumns,
    limit: Option<usize>,
    offset: usize,
) -> Result<Vec<u8>, AppError> {
    let ids: HashMap<&str, i64> = images.iter().map(|i| (i.filename.as_str(), i.id)).collect();
    let total = analysis.rows.len();
    let start = offset.min(total);
    let end = limit.map_or(total, |l| start.saturating_add(l).min(total));
    let out = AnalysisOut {
        reference: analysis.reference,
        reference_name: &analysis.reference_name,
        reference_image_id: ids.get(analysis.reference_name.as_str()).copied(),
        scale_length: analysis.scale_length,
        sigma_px: analysis.sigma_px,
        scale_method: analysis.scale_method,
        row_total: total,
        row_offset: start,
        rows: analysis.rows[start..end]
            .iter()
            .zip(start..)
            .map(|(row, position)| RowOut {
                image_id: ids.get(row.name.as_str()).copied(),
                index: row.index,
                name: &row.name,
                deformation: row.deformation,
                mm_per_px: row.mm_per_px,
                measures: &row.measures,
                uncertainty: &row.uncertainty,
                budget: &row.budget,
                focal_35mm: row.focal_35mm,
                excluded: row.excluded.as_deref(),
                time_s: frames.row(position)[0],
                force_n: frames.row(position)[1],
                stress_mpa: frames.row(position)[2],
            })
            .collect(),
        regressions: &analysis.regressions,
        poisson: analysis.poisson.as_ref().map(|p| PoissonOut {
            loading_axis: p.loading_axis,
            auto_axis: p.auto_axis,
            per_image: p.per_image.get(start..end).unwrap_or(&[]),
            from_slopes: p.from_slopes,
            from_slopes_stderr: p.from_slopes_stderr,
        }),
        excluded: analysis
            .excluded
            .iter()
            .map(|(name, status)| ExcludedOut {
                image_id: ids.get(name.as_str()).copied(),
                filename: name,
                status: *status,
            })
            .collect(),
        area_mm2: frames.area_mm2,
        stress_strain: frames.stress_strain.as_ref().map(|s| StressStrainOut {
            component: s.component,
            loading_axis: s.axis,
            modulus_mpa: s.fit.slope,
            modulus_stderr: s.fit.stderr,
            modulus_ci95: s.fit.slope_ci95,
            intercept_mpa: s.fit.intercept,
            r2: s.fit.r_squared,
            p_value: s.fit.p_value,
            n: s.fit.n,
        }),
        stress_strain_note: frames.stress_strain_note.as_deref(),
    };
    serde_json::to_vec(&out)
        .map_err(|e| AppError::internal(format!("serialising the analysis: {e}")))
}

/// `?limit=&offset=` of the analysis rows plus the analysis options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisPageQuery {
    sigma_px: Option<f64>,
    components: Option<String>,
    loading_axis: Option<Axis>,
    scale_method: Option<ScaleMethod>,
    limit: Option<usize>,
    offset: Option<usize>,
}

async fn analysis(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppQuery(page): AppQuery<AnalysisPageQuery>,
) -> Result<Response<Body>, AppError> {
    let query = AnalysisQuery {
        sigma_px: page.sigma_px,
        components: page.components,
        loading_axis: page.loading_axis,
        scale_method: page.scale_method,
    };
    let limit = page.limit.unwrap_or(MAX_ROWS);
    if limit > MAX_ROWS {
        return Err(AppError::bad_request(format!(
            "limit must be at most {MAX_ROWS}, got {limit}"
        )));
    }
    let _slot = super::cpu_slot().await?;
    let body = blocking(&state, move |s| {
        let (project, images) = s.project_points(id)?;
        let analysis = compute(&project, &images, &query)?;
        let frames = frame_columns(&analysis, &images, &project);
        analysis_json(
            &analysis,
            &images,
            &frames,
            Some(limit),
            page.offset.unwrap_or(0),
        )
    })
    .await?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(body))
        .map_err(|e| AppError::internal(e.to_string()))
}
