//! `GET /api/projects/{id}/export/{file}` and `/export/plot/{component}.{svg|png}`: downloads
//! computed from the current data on every request, with `Content-Disposition: attachment`.
//!
//! Files: `strains.csv`, `regression.csv`, `regression.json` (from the analysis: 422 like the
//! analysis when it cannot be computed; query `sigma_px`, `components` as for the analysis),
//! `annotations.json` (Python Strain Seer format), `project.json` (Strain Seer project format).
//! Plots take `sigma_px`, `width`, `height` (px, 200–6000).

use super::analysis::{AnalysisQuery, compute, frame_columns, to_formats_project};
use super::error::{AppError, AppPath, AppQuery};
use super::images::content_disposition;
use super::{AppState, blocking};
use crate::engine::{Component, UnknownComponent};
use crate::formats::{self, plot, tables};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Response, header};
use axum::routing::get;
use serde::{Deserialize, Serialize};

/// The plot name of the strain–stress plot: `export/plot/stress_strain.svg` (or `.png`).
pub const STRESS_PLOT: &str = "stress_strain";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/projects/{id}/export/{file}", get(export))
        .route("/api/projects/{id}/export/plot/{file}", get(export_plot))
}

/// One file `export/{file}` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ExportFile {
    /// File name in the URL and (after the project's slug) of the download.
    pub name: &'static str,
    /// What the UI calls it.
    pub label: &'static str,
    /// A short note on what it holds.
    pub note: &'static str,
    /// Computed from the analysis: takes the analysis query (`sigma_px`, `components`, …) and
    /// answers 422 when the analysis cannot be computed.
    pub from_analysis: bool,
}

/// The files `export/{file}` serves, in the order offered.
pub const EXPORTS: [ExportFile; 5] = [
    ExportFile {
        name: "strains.csv",
        label: "Strain table",
        note: "strains.csv",
        from_analysis: true,
    },
    ExportFile {
        name: "regression.csv",
        label: "Regression",
        note: "regression.csv",
        from_analysis: true,
    },
    ExportFile {
        name: "regression.json",
        label: "Regression (JSON)",
        note: "regression.json",
        from_analysis: true,
    },
    ExportFile {
        name: "annotations.json",
        label: "Annotations",
        note: "Python Strain Seer format",
        from_analysis: false,
    },
    ExportFile {
        name: "project.json",
        label: "Project",
        note: "everything, re-importable",
        from_analysis: false,
    },
];

/// The formats `export/plot/{component}.{format}` draws.
pub const PLOT_FORMATS: [&str; 2] = ["svg", "png"];

/// A file-name-safe form of a project name: ASCII letters, digits, `-` and `_`, at most 60
/// characters; `project` when nothing is left.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "project".to_owned()
    } else {
        trimmed.to_owned()
    }
}

pub(crate) fn download(
    body: impl Into<Body>,
    content_type: &str,
    filename: &str,
) -> Result<Response<Body>, AppError> {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::CONTENT_DISPOSITION,
            content_disposition("attachment", filename),
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.into())
        .map_err(|e| AppError::internal(e.to_string()))
}

fn export_failed(err: &formats::ExportError) -> AppError {
    AppError::internal(format!("export failed: {err}"))
}

async fn export(
    State(state): State<AppState>,
    AppPath((id, file)): AppPath<(i64, String)>,
    AppQuery(query): AppQuery<AnalysisQuery>,
) -> Result<Response<Body>, AppError> {
    if !EXPORTS.iter().any(|e| e.name == file) {
        let names: Vec<&str> = EXPORTS.iter().map(|e| e.name).collect();
        return Err(AppError::not_found(format!(
            "no export named {file:?}; available: {}, plot/<component>.svg, plot/<component>.png",
            names.join(", ")
        )));
    }
    let (text, content_type, name) = blocking(&state, move |s| {
        let (project, text) = match file.as_str() {
            "annotations.json" | "project.json" => {
                let (project, images) = s.project_with_images(id)?;
                let exchange = to_formats_project(&project, &images);
                let text = if file == "project.json" {
                    formats::to_project_json(&exchange)
                } else {
                    formats::to_annotation_json(&exchange)
                };
                (project, text)
            }
            computed => {
                let (project, images) = s.project_points(id)?;
                let analysis = compute(&project, &images, &query)?;
                let text = match computed {
                    "strains.csv" => {
                        let frames = frame_columns(&analysis, &images, &project);
                        tables::strain_table_csv_with_frames(&analysis, &frames.rows)
                            .map_err(|e| export_failed(&e))?
                    }
                    "regression.csv" => {
                        tables::regression_csv(&analysis).map_err(|e| export_failed(&e))?
                    }
                    _ => tables::regression_json(&analysis),
                };
                (project, text)
            }
        };
        let content_type = if file.ends_with(".csv") {
            "text/csv; charset=utf-8"
        } else {
            "application/json"
        };
        Ok((
            text,
            content_type,
            format!("{}-{file}", slug(&project.name)),
        ))
    })
    .await?;
    download(text, content_type, &name)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlotQuery {
    sigma_px: Option<f64>,
    width: Option<u32>,
    height: Option<u32>,
}

async fn export_plot(
    State(state): State<AppState>,
    AppPath((id, file)): AppPath<(i64, String)>,
    AppQuery(query): AppQuery<PlotQuery>,
) -> Result<Response<Body>, AppError> {
    let (key, ext) = file
        .rsplit_once('.')
        .filter(|(_, ext)| PLOT_FORMATS.contains(ext))
        .ok_or_else(|| {
            AppError::not_found(format!(
                "no plot named {file:?}: expected <component>.svg or <component>.png"
            ))
        })?;
    // `stress_strain`: the film frames' stress against the loading-axis strain.
    let stress = key == STRESS_PLOT;
    let component: Option<Component> = if stress {
        None
    } else {
        Some(
            key.parse()
                .map_err(|err: UnknownComponent| AppError::bad_request(err.to_string()))?,
        )
    };
    let png = ext == "png";
    let default = if png {
        plot::DEFAULT_PNG_SIZE
    } else {
        plot::DEFAULT_SIZE
    };
    let size = (
        query.width.unwrap_or(default.0),
        query.height.unwrap_or(default.1),
    );
    let analysis_query = AnalysisQuery {
        sigma_px: query.sigma_px,
        components: component.map(|c| c.key().to_owned()),
        loading_axis: None,
        scale_method: None,
    };
    let (bytes, name) = blocking(&state, move |s| {
        let (project, images) = s.project_points(id)?;
        let analysis = compute(&project, &images, &analysis_query)?;
        let (bytes, stem) = match component {
            Some(component) => (
                if png {
                    plot::to_png(&analysis, component, size)
                } else {
                    plot::to_svg(&analysis, component, size).map(String::into_bytes)
                },
                plot::plot_file_stem(component),
            ),
            None => {
                let frames = frame_columns(&analysis, &images, &project);
                let Some(fit) = &frames.stress_strain else {
                    return Err(AppError::unprocessable(format!(
                        "no strain–stress plot: {}",
                        frames
                            .stress_strain_note
                            .as_deref()
                            .unwrap_or("the project's images are not film frames with a force")
                    )));
                };
                let stresses: Vec<Option<f64>> = frames.rows.iter().map(|r| r[2]).collect();
                (
                    if png {
                        plot::stress_strain_png(&analysis, &stresses, fit, size)
                    } else {
                        plot::stress_strain_svg(&analysis, &stresses, fit, size)
                            .map(String::into_bytes)
                    },
                    plot::STRESS_PLOT_STEM.to_owned(),
                )
            }
        };
        let bytes = bytes.map_err(|e| match e {
            formats::ExportError::PlotSize { .. } => AppError::bad_request(e.to_string()),
            other => export_failed(&other),
        })?;
        let name = format!(
            "{}-{stem}.{}",
            slug(&project.name),
            if png { "png" } else { "svg" }
        );
        Ok((bytes, name))
    })
    .await?;
    download(
        bytes,
        if png { "image/png" } else { "image/svg+xml" },
        &name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Demo run 3"), "demo-run-3");
        assert_eq!(slug("  ../étude <x>  "), "tude-x");
        assert_eq!(slug("***"), "project");
        assert!(slug(&"a".repeat(500)).len() <= 60);
    }
}
