//! `analyze --report FILE`: the lab report of the analysis, HTML or PDF by the file's extension.
//!
//! The photos are looked for next to the annotation file, by their filename (its last path
//! component only). A photo that is found gives the report its thumbnail, its size (when the
//! file has none) and its SHA-256 (when the file has none); one that is not found is shown as
//! "photo not available" and the report says so in its checksum table.

use crate::app::report::{self, ReportFormat, ReportInput, Thumbnail};
use crate::cli::BadInput;
use anyhow::Context;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use strain_seer_engine::Analysis;
use strain_seer_formats::Project;

/// Longest side of the report's thumbnails, px.
pub const THUMBNAIL_SIDE: u32 = 320;

/// Checks every `--report` path's extension before any work is done.
pub fn check_paths(paths: &[PathBuf]) -> Result<Vec<(PathBuf, ReportFormat)>, BadInput> {
    paths
        .iter()
        .map(|path| match ReportFormat::from_path(path) {
            Some(format) => Ok((path.clone(), format)),
            None => Err(BadInput(format!(
                "--report '{}': the file name must end in .html or .pdf",
                path.display()
            ))),
        })
        .collect()
}

/// A photo found: its SHA-256, thumbnail and size.
type Found = (String, Option<Thumbnail>, Option<[u32; 2]>);

/// The photos next to `input`, in the project's analysis order: their thumbnails, and the
/// project with the checksums and sizes of the photos found filled in where it had none.
fn load_photos(input: &Path, project: &Project) -> (Project, Vec<Option<Thumbnail>>) {
    let dir = input.parent().unwrap_or(Path::new("."));
    let mut project = project.clone();
    project.sort_images();
    let loaded: Vec<Option<Found>> = project
        .images
        .par_iter()
        .map(|image| {
            let name = Path::new(&image.filename).file_name()?;
            let bytes = std::fs::read(dir.join(name)).ok()?;
            let sha = hex::encode(Sha256::digest(&bytes));
            let size = image::ImageReader::new(std::io::Cursor::new(&bytes))
                .with_guessed_format()
                .ok()
                .and_then(|r| r.into_dimensions().ok())
                .map(|(w, h)| [w, h]);
            Some((sha, report::thumbnail_of(&bytes, THUMBNAIL_SIDE), size))
        })
        .collect();
    let mut thumbnails = Vec::with_capacity(loaded.len());
    for (image, found) in project.images.iter_mut().zip(loaded) {
        let Some((sha, thumb, size)) = found else {
            thumbnails.push(None);
            continue;
        };
        if image.sha256.is_none() {
            image.sha256 = Some(sha);
        }
        if let (None, None, Some([w, h])) = (image.width, image.height, size) {
            image.width = Some(w);
            image.height = Some(h);
        }
        thumbnails.push(thumb);
    }
    (project, thumbnails)
}

/// Writes each report; returns the paths written with their sizes in bytes.
pub fn write_reports(
    reports: &[(PathBuf, ReportFormat)],
    input: &Path,
    project: &Project,
    analysis: &Analysis,
) -> anyhow::Result<Vec<(PathBuf, usize)>> {
    if reports.is_empty() {
        return Ok(Vec::new());
    }
    let (project, thumbnails) = load_photos(input, project);
    let report_input = ReportInput {
        project: &project,
        analysis,
        thumbnails,
        generated: report::now_text(),
        source: input.file_name().map_or_else(
            || input.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
    };
    let mut written = Vec::new();
    for (path, format) in reports {
        let bytes = match format {
            ReportFormat::Html => report::html::render(&report_input)?.into_bytes(),
            ReportFormat::Pdf => pdf_bytes(&report_input)?,
        };
        std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write the report '{}'", path.display()))?;
        written.push((path.clone(), bytes.len()));
    }
    Ok(written)
}

#[cfg(feature = "pdf")]
fn pdf_bytes(input: &ReportInput<'_>) -> anyhow::Result<Vec<u8>> {
    Ok(report::pdf::render(input)?)
}

#[cfg(not(feature = "pdf"))]
fn pdf_bytes(_input: &ReportInput<'_>) -> anyhow::Result<Vec<u8>> {
    Err(report::ReportError::PdfNotBuilt.into())
}
