//! `GET /api/rules`: the rules the server applies that the UI shows or follows, each read from
//! the one definition the server itself uses: accepted upload types (`store::blobs::IMAGE_TYPES`),
//! this server's size and count limits ([`Limits`]), the strain components and measures (the
//! engine's [`Component`] and [`Measure`]), the export files and plot formats
//! ([`export::EXPORTS`]), the report formats this build writes, and the scale methods. The UI
//! keeps no copy of these lists.

use super::export::{self, ExportFile};
use super::projects::MAX_PAGE;
use super::{AppState, Limits};
use crate::app::report::ReportFormat;
use crate::app::video::{LOG_EXTENSIONS, LOG_MIME_TYPES};
use crate::engine::{ALL_COMPONENTS, Component, Measure, ScaleMethod};
use crate::store::blobs::IMAGE_TYPES;
use crate::store::{MAX_EXCLUSION_REASON, MAX_FIDUCIALS, MAX_NAME_CHARS, MAX_SCALE_POINTS};
use crate::video::{VIDEO_EXTENSIONS, VIDEO_MIME_TYPES, VIDEO_NAMES};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/rules", get(rules))
}

/// Most files the UI sends in one upload request: small batches show progress and keep a
/// refused file from taking the others with it.
pub const UPLOAD_BATCH_FILES: usize = 6;
/// Most bytes the UI sends in one upload request (when the server's request limit allows).
pub const UPLOAD_BATCH_BYTES: usize = 48 * 1024 * 1024;

/// The answer of `GET /api/rules`.
#[derive(Debug, Clone, Serialize)]
pub struct Rules {
    pub uploads: Uploads,
    pub limits: LimitsView,
    pub components: Vec<ComponentView>,
    /// The components an analysis regresses when none are asked for.
    pub default_components: Vec<&'static str>,
    /// The word that stands for every component in a `components` list.
    pub all_components: &'static str,
    pub measures: Vec<MeasureView>,
    pub exports: Exports,
    pub scale_methods: Vec<KeyLabel>,
    /// Whether this server decodes films (built with the `video` feature); without it a film
    /// is answered with 415 and how to get video support.
    pub video: bool,
}

/// What files the server accepts.
#[derive(Debug, Clone, Serialize)]
pub struct Uploads {
    /// Photos: recognised by content, these names and types are for file pickers.
    pub images: FileTypes,
    /// Project and annotation files of an import.
    pub projects: FileTypes,
    /// Films (`POST …/video`); see [`Rules::video`].
    pub films: FileTypes,
    /// The test machine's log that goes with a film.
    pub logs: FileTypes,
}

/// A family of accepted files.
#[derive(Debug, Clone, Serialize)]
pub struct FileTypes {
    /// Names for users, e.g. `["PNG", "JPEG"]`.
    pub names: Vec<&'static str>,
    /// Extensions without the dot, lower case.
    pub extensions: Vec<&'static str>,
    pub mime_types: Vec<&'static str>,
    /// The value of an `<input type=file accept=…>`: the MIME types and `.ext`s.
    pub accept: String,
}

impl FileTypes {
    fn new(
        names: Vec<&'static str>,
        extensions: Vec<&'static str>,
        mime: Vec<&'static str>,
    ) -> Self {
        let accept = mime
            .iter()
            .map(|m| (*m).to_owned())
            .chain(extensions.iter().map(|e| format!(".{e}")))
            .collect::<Vec<_>>()
            .join(",");
        FileTypes {
            names,
            extensions,
            mime_types: mime,
            accept,
        }
    }
}

/// This server's limits (`strain-seer serve --max-…`), in bytes and counts.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsView {
    pub max_file_bytes: usize,
    pub max_request_bytes: usize,
    pub max_json_bytes: usize,
    pub max_pixels: u64,
    pub max_images_per_project: u64,
    /// Most images in one page of `GET …/images`.
    pub max_images_page: u64,
    /// Most files and bytes the UI puts in one upload request.
    pub upload_batch_files: usize,
    pub upload_batch_bytes: usize,
    pub max_fiducials: usize,
    pub max_scale_points: usize,
    pub max_project_name_chars: usize,
    pub max_exclusion_reason_chars: usize,
    /// Longest film accepted, s.
    pub max_film_seconds: u64,
}

impl LimitsView {
    fn new(limits: &Limits) -> Self {
        LimitsView {
            max_file_bytes: limits.max_file_bytes,
            max_request_bytes: limits.max_upload_bytes,
            max_json_bytes: limits.max_json_bytes,
            max_pixels: limits.max_pixels,
            max_images_per_project: limits.max_images_per_project,
            max_images_page: MAX_PAGE,
            upload_batch_files: UPLOAD_BATCH_FILES,
            upload_batch_bytes: UPLOAD_BATCH_BYTES.min(limits.max_upload_bytes),
            max_fiducials: MAX_FIDUCIALS,
            max_scale_points: MAX_SCALE_POINTS,
            max_project_name_chars: MAX_NAME_CHARS,
            max_exclusion_reason_chars: MAX_EXCLUSION_REASON,
            max_film_seconds: limits.max_film_seconds,
        }
    }
}

/// One strain component.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentView {
    /// The key in URLs, files and analysis results, e.g. `eps_xx`.
    pub key: &'static str,
    /// Full label, e.g. `εxx (small strain)`.
    pub label: &'static str,
    /// Letter and subscript, e.g. `["ε", "xx"]`.
    pub symbol: [&'static str; 2],
    /// The label without its symbol, e.g. `small strain`.
    pub description: &'static str,
    /// `""` (dimensionless) or `"°"`.
    pub unit: &'static str,
    /// The Python tool's name (`x_axis`, `y_axis`, `shear`), also accepted as a name.
    pub legacy_name: Option<&'static str>,
    /// The measure it belongs to, if any.
    pub measure: Option<&'static str>,
    /// Where its value sits in an analysis row's `measures` (`[measure, field]`), if in a measure.
    pub field: Option<[&'static str; 2]>,
}

impl ComponentView {
    fn new(c: Component) -> Self {
        let (letter, sub) = c.symbol();
        ComponentView {
            key: c.key(),
            label: c.label(),
            symbol: [letter, sub],
            description: c.description(),
            unit: c.unit(),
            legacy_name: c.legacy_name(),
            measure: c.measure().map(Measure::key),
            field: c.field(),
        }
    }
}

/// One strain measure and its components' keys.
#[derive(Debug, Clone, Serialize)]
pub struct MeasureView {
    pub key: &'static str,
    pub label: &'static str,
    pub components: Vec<&'static str>,
}

/// What can be downloaded.
#[derive(Debug, Clone, Serialize)]
pub struct Exports {
    /// `GET /api/projects/{id}/export/{name}`.
    pub files: Vec<ExportFile>,
    /// `GET /api/projects/{id}/export/plot/{component}.{format}`.
    pub plot_formats: Vec<&'static str>,
    /// `GET /api/projects/{id}/report/{format}`: the formats this build writes.
    pub reports: Vec<&'static str>,
}

/// A key and its label.
#[derive(Debug, Clone, Serialize)]
pub struct KeyLabel {
    pub key: &'static str,
    pub label: &'static str,
}

impl Rules {
    /// The rules of a server with these limits.
    pub fn new(limits: &Limits) -> Self {
        let images = FileTypes::new(
            IMAGE_TYPES.iter().map(|t| t.name).collect(),
            IMAGE_TYPES
                .iter()
                .flat_map(|t| t.extensions.iter().copied())
                .collect(),
            IMAGE_TYPES.iter().map(|t| t.content_type).collect(),
        );
        let projects = FileTypes::new(vec!["JSON"], vec!["json"], vec!["application/json"]);
        let films = FileTypes::new(
            VIDEO_NAMES.to_vec(),
            VIDEO_EXTENSIONS.to_vec(),
            VIDEO_MIME_TYPES.to_vec(),
        );
        let logs = FileTypes::new(
            vec!["CSV", "TSV", "text"],
            LOG_EXTENSIONS.to_vec(),
            LOG_MIME_TYPES.to_vec(),
        );
        Rules {
            video: crate::video::SUPPORTED,
            uploads: Uploads {
                images,
                projects,
                films,
                logs,
            },
            limits: LimitsView::new(limits),
            components: Component::ALL.into_iter().map(ComponentView::new).collect(),
            default_components: Component::DEFAULT.iter().map(|c| c.key()).collect(),
            all_components: ALL_COMPONENTS,
            measures: Measure::ALL
                .into_iter()
                .map(|m| MeasureView {
                    key: m.key(),
                    label: m.label(),
                    components: m.components().iter().map(|c| c.key()).collect(),
                })
                .collect(),
            exports: Exports {
                files: export::EXPORTS.to_vec(),
                plot_formats: export::PLOT_FORMATS.to_vec(),
                reports: ReportFormat::ALL
                    .into_iter()
                    .filter(|f| f.available())
                    .map(ReportFormat::key)
                    .collect(),
            },
            scale_methods: ScaleMethod::ALL
                .into_iter()
                .map(|m| KeyLabel {
                    key: m.key(),
                    label: m.label(),
                })
                .collect(),
        }
    }
}

async fn rules(State(state): State<AppState>) -> Json<Rules> {
    Json(Rules::new(&state.limits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_comes_from_its_definition() {
        let rules = Rules::new(&Limits::default());
        assert_eq!(rules.components.len(), Component::ALL.len());
        assert_eq!(rules.default_components, ["eps_xx", "eps_yy", "eps_xy"]);
        assert_eq!(
            rules.uploads.images.names,
            ["PNG", "JPEG", "GIF", "BMP", "TIFF"]
        );
        assert!(rules.uploads.images.extensions.contains(&"jpeg"));
        assert!(
            rules
                .uploads
                .images
                .accept
                .starts_with("image/png,image/jpeg,")
        );
        assert!(rules.uploads.images.accept.ends_with(",.tif,.tiff"));
        assert_eq!(rules.exports.files.len(), export::EXPORTS.len());
        assert_eq!(rules.exports.reports.first(), Some(&"html"));
        assert_eq!(rules.scale_methods.len(), ScaleMethod::ALL.len());
        assert_eq!(rules.uploads.films.extensions, VIDEO_EXTENSIONS);
        assert!(rules.uploads.films.accept.starts_with("video/mp4,"));
        assert!(rules.uploads.films.accept.contains(".mkv"));
        assert_eq!(rules.uploads.logs.extensions, ["csv", "tsv", "txt"]);
        assert_eq!(rules.video, cfg!(feature = "video"));
        assert_eq!(rules.limits.max_film_seconds, 6 * 3600);
        assert_eq!(rules.limits.upload_batch_files, UPLOAD_BATCH_FILES);
        let eps_xx = &rules.components[0];
        assert_eq!((eps_xx.key, eps_xx.symbol), ("eps_xx", ["ε", "xx"]));
        assert_eq!(eps_xx.field, Some(["small", "xx"]));
    }

    #[test]
    fn the_upload_batch_fits_in_a_request() {
        let small = Limits {
            max_upload_bytes: 1024,
            ..Limits::default()
        };
        assert_eq!(Rules::new(&small).limits.upload_batch_bytes, 1024);
    }
}
