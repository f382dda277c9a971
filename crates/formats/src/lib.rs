//! Strain Seer file formats.
//!
//! - the Python Strain Seer's annotation JSON (read and write, docs/cli.md, "File formats"): [`parse_python_annotations`],
//!   [`to_annotation_json`];
//! - Strain Seer's own project JSON (versioned, byte-identical round trip): [`parse_project_json`],
//!   [`to_project_json`];
//! - either of the two, detected from the content: [`detect_format`], [`parse_any`];
//! - the common model both load into: [`Project`], [`ProjectImage`], [`AnnotatedPoint`], with
//!   [`Project::to_engine_inputs`] and [`Project::analysis_options`] for the engine, and
//!   [`ValidProject`] (checked once, by [`parse_any_valid`] or [`Project::into_valid`]);
//! - result tables: strain table CSV, regression CSV and JSON ([`tables`]);
//! - plots of each component against deformation distance as SVG and PNG ([`plot`]);
//! - the camera's focal length from a photo's EXIF ([`exif`]);
//! - the printable calibration target, SVG ([`target_sheet`]).
//!
//! Errors: [`FormatError`] (bad input, with the image, point, field or line it concerns) and
//! [`ExportError`] (a failure to produce an output). No file or network I/O happens here.

pub mod error;
pub mod exif;
mod lenient;
pub mod machine_log;
pub mod model;
pub mod plot;
mod plot_marks;
mod pretty;
pub mod project_json;
pub mod python;
mod split;
pub mod tables;
pub mod target_sheet;
#[cfg(test)]
mod testutil;
mod typed;
mod valid;

pub use error::{ExportError, FormatError, FormatErrorKind, Location, PointRef};
pub use model::{AnnotatedPoint, PointSource, Project, ProjectImage, ValidProject};
pub use project_json::{
    PROJECT_FORMAT, PROJECT_VERSION, parse_project_json, to_project_json, write_project_json,
};
pub use python::{parse_python_annotations, to_annotation_json, write_annotation_json};
pub use tables::{regression_csv, regression_json, strain_table_csv};

use serde::Serialize;

/// The two file formats [`parse_any`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// The Python Strain Seer's annotation ("raw data") JSON: `{"files_data": …, "scale_length": …}`.
    PythonAnnotations,
    /// Strain Seer's project JSON: `{"format": "strain-seer-project", "version": 1, …}`.
    Project,
}

impl FileFormat {
    /// A short human name.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::PythonAnnotations => "Python Strain Seer annotations",
            FileFormat::Project => "Strain Seer project",
        }
    }
}

/// The format a file's top-level keys say: a `"format"` key means a project file, a
/// `"files_data"` key a Python annotation file.
fn format_of(not_object: bool, has: impl Fn(&str) -> bool) -> Result<FileFormat, FormatError> {
    if not_object {
        Err(FormatError::bare(FormatErrorKind::UnknownFormat))
    } else if has("format") {
        Ok(FileFormat::Project)
    } else if has("files_data") {
        Ok(FileFormat::PythonAnnotations)
    } else {
        Err(FormatError::bare(FormatErrorKind::UnknownFormat))
    }
}

/// Which format `json` is in: a `"format"` key means a project file, a `"files_data"` key a
/// Python annotation file. Errors if the text is not JSON or has neither key.
pub fn detect_format(json: &str) -> Result<FileFormat, FormatError> {
    let top: typed::TopKeys = typed::read(json)?;
    format_of(top.not_object, |key| top.keys.iter().any(|k| k == key))
}

/// Reads either format into a validated [`Project`].
pub fn parse_any(json: &str) -> Result<Project, FormatError> {
    parse_any_with_format(json).map(|(project, _)| project)
}

/// Like [`parse_any_with_format`], the project kept as a [`ValidProject`] (validated once,
/// here): for a caller that changes settings before analysing it.
pub fn parse_any_valid(json: &str) -> Result<(ValidProject, FileFormat), FormatError> {
    let (project, format) = parse_any_with_format(json)?;
    // Both readers validate the project before returning it.
    Ok((ValidProject::parsed(project), format))
}

/// Like [`parse_any`], also saying which format the file was in. One pass over the text in
/// the usual cases: a project file whose first key is `"format"` (as this crate writes them) is
/// read by [`parse_project_json`] directly; any other file through the `typed` module, where a
/// Python file's images go straight into typed structs (a long one on every core, `split`). A project file whose `"format"` key
/// comes later (written by hand) is read a second time, by [`parse_project_json`].
pub fn parse_any_with_format(json: &str) -> Result<(Project, FileFormat), FormatError> {
    if project_json::starts_with_format_key(json) {
        return Ok((parse_project_json(json)?, FileFormat::Project));
    }
    let top = typed::read_top(json)?;
    let format = format_of(top.not_object, |key| top.has(key))?;
    let project = match format {
        FileFormat::PythonAnnotations => python::from_top(top)?,
        FileFormat::Project => parse_project_json(json)?,
    };
    Ok((project, format))
}

/// An empty hash map for `n` entries, hashed by foldhash (seeded per process, so a file cannot
/// be crafted to collide; several times faster than the standard SipHash on short strings).
pub(crate) fn fast_map<K, V>(n: usize) -> foldhash::HashMap<K, V> {
    foldhash::HashMap::with_capacity_and_hasher(n, foldhash::fast::RandomState::default())
}

/// Pretty JSON (2-space indentation) with a trailing newline. Serialising the crate's own
/// output structs cannot fail (string keys, no maps with non-string keys), so a failure would
/// be a bug; it yields `null` rather than a panic.
pub(crate) fn write_pretty_json<T: Serialize, W: std::io::Write>(
    value: &T,
    mut out: W,
) -> std::io::Result<()> {
    pretty::to_writer(&mut out, value).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// Pretty JSON (2-space indentation) with a trailing newline, as a string; see
/// [`write_pretty_json`].
pub(crate) fn to_pretty_json<T: Serialize>(value: &T) -> String {
    let mut bytes = Vec::with_capacity(128);
    if pretty::to_writer(&mut bytes, value).is_err() {
        bytes = b"null".to_vec();
    }
    bytes.push(b'\n');
    // serde_json writes UTF-8 only.
    String::from_utf8(bytes).unwrap_or_else(|_| "null\n".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../../testdata/demo/annotations.json");

    #[test]
    fn detects_both_formats_and_refuses_others() {
        assert_eq!(detect_format(DEMO).unwrap(), FileFormat::PythonAnnotations);
        let project = parse_any(DEMO).unwrap();
        let text = to_project_json(&project);
        assert_eq!(detect_format(&text).unwrap(), FileFormat::Project);
        assert_eq!(parse_any(&text).unwrap(), project);
        assert_eq!(
            detect_format("[1, 2]").unwrap_err().kind,
            FormatErrorKind::UnknownFormat
        );
        assert_eq!(
            detect_format("{\"a\": 1}").unwrap_err().kind,
            FormatErrorKind::UnknownFormat
        );
        let err = parse_any("hello").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1, column 1: not valid JSON: expected value"
        );
        let err = parse_any("").unwrap_err();
        assert!(err.to_string().contains("EOF"), "{err}");
    }

    #[test]
    fn a_project_is_read_whether_its_format_key_comes_first_or_not() {
        let project = parse_any(DEMO).unwrap();
        let text = to_project_json(&project);
        assert!(project_json::starts_with_format_key(&text));
        // Written by hand: "format" after another key, then after files_data.
        let late = text.replacen("\"format\": \"strain-seer-project\",", "", 1);
        let late = late.replacen(
            "\"images\"",
            "\"format\": \"strain-seer-project\", \"images\"",
            1,
        );
        assert!(!project_json::starts_with_format_key(&late));
        assert_eq!(
            parse_any_with_format(&late).unwrap(),
            (project.clone(), FileFormat::Project)
        );
        let with_files = format!("{{\"files_data\": {{}}, {}", &late.trim_start()[1..]);
        let err = parse_any(&with_files).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `files_data`"),
            "{err}"
        );
        let (valid, format) = parse_any_valid(&text).unwrap();
        assert_eq!((valid.into_inner(), format), (project, FileFormat::Project));
    }
}
