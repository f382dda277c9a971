//! SQLite storage of projects, images and annotations.
//!
//! Layout of a data directory:
//!
//! ```text
//! <data-dir>/strain-seer.db      SQLite, WAL mode, synchronous=FULL, foreign keys on
//! <data-dir>/images/<sha256>.<ext>  uploaded files, content-addressed, never overwritten
//! <data-dir>/tmp/                uploads being written (emptied on start)
//! ```
//!
//! Every method is blocking: call it from `spawn_blocking` in async code. One connection behind a
//! mutex serialises database work, which keeps every edit a single short transaction; the
//! `blob_lock` orders file moves and deletions so that a file is never removed while a row that
//! needs it is being written. Every acknowledged write has been committed with a WAL fsync.

pub mod blobs;
pub mod filename;
pub mod schema;

use crate::engine::scale::FOCAL_35MM_RANGE;
use crate::engine::{ImageStatus, Point, RulerModel, ScaleMethod, TargetModel};
use blobs::{ImageError, ImageInfo, TempFile};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

pub use filename::{clean_filename, distance_from_filename};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "strain-seer.db";
/// Most fiducial points per image (0 TL, 1 TR, 2 BR, 3 BL, 4 centre).
pub const MAX_FIDUCIALS: usize = 5;
/// Most scale points per image.
pub const MAX_SCALE_POINTS: usize = 2;
/// Longest project name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Default real distance between the scale points, mm.
pub const DEFAULT_SCALE_LENGTH: f64 = 10.0;
/// Default point-placement uncertainty, px.
pub const DEFAULT_SIGMA_PX: f64 = 1.0;

/// Why a storage operation failed. The first five are the caller's fault (their messages are
/// meant for the user); the rest are failures of the machine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such project or image.
    #[error("{0}")]
    NotFound(String),
    /// The request is well-formed but its values are not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// An uploaded file is not an image we accept, is corrupt or too large.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A configured limit would be exceeded.
    #[error("{0}")]
    Limit(String),
    /// The data changed underneath the request (e.g. an image deleted during an upload).
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error(transparent)]
    Migration(#[from] schema::MigrationError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Stored data cannot be read back (should never happen).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store was closed (the server is shutting down).
    #[error("the database is closed")]
    Closed,
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        StoreError::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Where a point came from (`"manual"` or `"auto"`), as in the project file format.
pub use crate::formats::PointSource;

/// Provenance of one point, parallel to the point lists.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointMeta {
    #[serde(default)]
    pub source: PointSource,
    /// Detection confidence from 0 to 1; `null` for manual points.
    #[serde(default)]
    pub confidence: Option<f64>,
}

/// How many images of a project have each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCounts {
    #[serde(rename = "Complete")]
    pub complete: u64,
    #[serde(rename = "Incomplete")]
    pub incomplete: u64,
    #[serde(rename = "Missing Distance")]
    pub missing_distance: u64,
    #[serde(rename = "Missing")]
    pub missing: u64,
}

impl StatusCounts {
    fn add(&mut self, status: ImageStatus, n: u64) {
        match status {
            ImageStatus::Complete => self.complete += n,
            ImageStatus::Incomplete => self.incomplete += n,
            ImageStatus::MissingDistance => self.missing_distance += n,
            ImageStatus::Missing => self.missing += n,
        }
    }
}

/// A project with its image counts (no images). Times are unix seconds (UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub scale_length: f64,
    pub reference_image: Option<i64>,
    pub sigma_px: f64,
    /// How pixels become mm; `None` = chosen from the annotations (ruler + perspective when every
    /// complete image has a detected ruler, else the span of the scale points).
    pub scale_method: Option<ScaleMethod>,
    /// 35 mm-equivalent focal length for the perspective correction, mm; `None` = the default.
    pub focal_35mm: Option<f64>,
    /// Pitch of the dot-grid calibration target in the photos, mm; `None` = no target.
    pub target_pitch_mm: Option<f64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub image_count: u64,
    pub complete_count: u64,
    pub status_counts: StatusCounts,
}

/// One image of a project and its annotation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRecord {
    pub id: i64,
    pub project_id: i64,
    /// As uploaded (cleaned), for display only.
    pub filename: String,
    /// 0-based position in the project; contiguous.
    pub order: i64,
    pub width: u32,
    pub height: u32,
    pub sha256: String,
    pub content_type: String,
    pub status: ImageStatus,
    pub fiducials: Vec<Point>,
    pub scale: Vec<Point>,
    pub fiducial_meta: Vec<PointMeta>,
    pub scale_meta: Vec<PointMeta>,
    pub deformation_distance: Option<f64>,
    /// The distance the file name carries ([`distance_from_filename`]), so that the UI can say
    /// where the distance came from without a second parser.
    pub distance_from_filename: Option<f64>,
    /// The ruler model of the last ruler detection; dropped when the scale points are moved by
    /// hand.
    pub ruler: Option<RulerModel>,
    /// The calibration target's model of the last target detection (or given from a
    /// calibration photo).
    pub target: Option<TargetModel>,
    /// The 35 mm-equivalent focal length from the file's EXIF, mm.
    pub focal_35mm: Option<f64>,
    /// Excluded from the fits by the user, with the reason (possibly empty); `None` = fitted.
    pub excluded: Option<String>,
    /// A film's frame: its presentation time in the film, s.
    pub time_s: Option<f64>,
    /// The test machine's force at the frame's time, from its log, N.
    pub force_n: Option<f64>,
}

/// What the analysis needs of an image: its points and distance, nothing else.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePoints {
    pub id: i64,
    pub filename: String,
    pub order: i64,
    pub status: ImageStatus,
    pub fiducials: Vec<Point>,
    pub scale: Vec<Point>,
    pub deformation_distance: Option<f64>,
    pub ruler: Option<RulerModel>,
    pub target: Option<TargetModel>,
    pub width: u32,
    pub height: u32,
    pub focal_35mm: Option<f64>,
    pub excluded: Option<String>,
    /// A film's frame: its time in the film, s.
    pub time_s: Option<f64>,
    /// The test machine's force at the frame's time, N.
    pub force_n: Option<f64>,
}

/// Changes to a project; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub scale_length: Option<f64>,
    /// `Some(None)` clears the choice (back to the automatic reference).
    pub reference_image: Option<Option<i64>>,
    pub sigma_px: Option<f64>,
    /// `Some(None)` = back to the automatic choice.
    pub scale_method: Option<Option<ScaleMethod>>,
    /// `Some(None)` = back to the default.
    pub focal_35mm: Option<Option<f64>>,
    /// `Some(None)` = no calibration target.
    pub target_pitch_mm: Option<Option<f64>>,
}

/// Changes to an image; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImagePatch {
    /// The full new list (0–5 points); an empty list clears.
    pub fiducials: Option<Vec<Point>>,
    /// The full new list (0–2 points); an empty list clears.
    pub scale: Option<Vec<Point>>,
    pub fiducial_meta: Option<Vec<PointMeta>>,
    pub scale_meta: Option<Vec<PointMeta>>,
    /// `Some(None)` clears the distance.
    pub deformation_distance: Option<Option<f64>>,
    /// New 0-based position; the other images move to keep the order contiguous.
    pub order: Option<i64>,
    /// `Some(model)` with detected scale points. Without it, scale points that change drop the
    /// stored model: points moved by hand no longer show it.
    pub ruler: Option<Option<RulerModel>>,
    /// `Some(None)` drops the target model; it does not depend on the points and stays when
    /// they move.
    pub target: Option<Option<TargetModel>>,
    /// `Some(Some(reason))` excludes the image from the fits, `Some(None)` includes it again.
    pub excluded: Option<Option<String>>,
}

/// Points, provenance and distance of an image being created (upload or import).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotation {
    pub fiducials: Vec<Point>,
    pub scale: Vec<Point>,
    /// Empty = every point manual.
    pub fiducial_meta: Vec<PointMeta>,
    pub scale_meta: Vec<PointMeta>,
    pub deformation_distance: Option<f64>,
    pub ruler: Option<RulerModel>,
    pub target: Option<TargetModel>,
    /// Excluded from the fits, with the reason.
    pub excluded: Option<String>,
    /// A film's frame: its time in the film, s.
    pub time_s: Option<f64>,
    /// The test machine's force at the frame's time, N.
    pub force_n: Option<f64>,
}

/// An image file checked and ready to be stored (see [`Store::stage_image`]).
#[derive(Debug)]
pub struct StagedImage {
    pub info: ImageInfo,
    /// The bytes written to `tmp/`; `None` when the file was already stored.
    temp: Option<TempFile>,
}

/// One image to add: which staged file, its display name and annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImage {
    /// Index into the staged files passed alongside.
    pub staged: usize,
    pub filename: String,
    pub annotation: Annotation,
}

/// Settings of a project being created by an import.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    pub name: String,
    pub scale_length: f64,
    pub sigma_px: f64,
    /// Index into the new images of the chosen reference.
    pub reference: Option<usize>,
    pub scale_method: Option<ScaleMethod>,
    pub focal_35mm: Option<f64>,
    pub target_pitch_mm: Option<f64>,
}

/// The storage of one data directory.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Option<Connection>>,
    blob_lock: Mutex<()>,
    data_dir: PathBuf,
    images_dir: PathBuf,
    tmp_dir: PathBuf,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves SQLite consistent (open transactions roll back on
    // drop), so a poisoned lock is safe to keep using.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn status_from_label(label: &str) -> Result<ImageStatus> {
    match label {
        "Complete" => Ok(ImageStatus::Complete),
        "Incomplete" => Ok(ImageStatus::Incomplete),
        "Missing Distance" => Ok(ImageStatus::MissingDistance),
        "Missing" => Ok(ImageStatus::Missing),
        other => Err(StoreError::Corrupt(format!(
            "unknown image status {other:?}"
        ))),
    }
}

/// Status of an image from its points and distance (docs/strain.md §1). Two coincident scale points are
/// refused on input, so two scale points always count.
pub fn image_status(fiducials: usize, scale: usize, distance: Option<f64>) -> ImageStatus {
    ImageStatus::from_counts(fiducials, scale, distance.is_some())
}

/// Check a project name and return it trimmed.
pub fn validate_name(name: &str) -> Result<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(StoreError::Invalid("the project name is empty".into()));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::Invalid(format!(
            "the project name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "the project name contains control characters".into(),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The scale length must be a finite number of mm greater than 0.
pub fn validate_scale_length(value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(StoreError::Invalid(format!(
            "scale_length must be a finite number of mm greater than 0, got {value}"
        )))
    }
}

/// The point uncertainty must be a finite number of px, 0 or more.
pub fn validate_sigma(value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(StoreError::Invalid(format!(
            "sigma_px must be a finite number of pixels, 0 or more, got {value}"
        )))
    }
}

/// A 35 mm-equivalent focal length the perspective correction accepts, mm.
pub fn validate_focal(value: f64) -> Result<f64> {
    if FOCAL_35MM_RANGE.contains(&value) {
        Ok(value)
    } else {
        Err(StoreError::Invalid(format!(
            "focal_35mm must be a 35 mm-equivalent focal length between {} and {} mm, got {value}",
            FOCAL_35MM_RANGE.start(),
            FOCAL_35MM_RANGE.end()
        )))
    }
}

/// Check a point list against an image: at most `max` points, each finite and inside
/// `0 ≤ x ≤ width`, `0 ≤ y ≤ height`; two scale points must be distinct.
pub fn validate_points(
    role: &str,
    points: &[Point],
    max: usize,
    width: u32,
    height: u32,
) -> Result<()> {
    if points.len() > max {
        return Err(StoreError::Invalid(format!(
            "at most {max} {role} points are allowed, got {}",
            points.len()
        )));
    }
    for (index, p) in points.iter().enumerate() {
        if !p.is_finite() {
            return Err(StoreError::Invalid(format!(
                "{role} point {index} is not a finite number"
            )));
        }
        if p.x < 0.0 || p.y < 0.0 || p.x > f64::from(width) || p.y > f64::from(height) {
            return Err(StoreError::Invalid(format!(
                "{role} point {index} ({}, {}) is outside the image ({width}×{height} px)",
                p.x, p.y
            )));
        }
    }
    if role == "scale" && points.len() == 2 && points[0].distance(points[1]) < 1e-9 {
        return Err(StoreError::Invalid(format!(
            "the two scale points coincide at ({}, {})",
            points[0].x, points[0].y
        )));
    }
    Ok(())
}

fn validate_meta(role: &str, meta: &[PointMeta], points: usize) -> Result<()> {
    if meta.len() != points {
        return Err(StoreError::Invalid(format!(
            "{role}_meta has {} entries but there are {points} {role} points",
            meta.len()
        )));
    }
    if let Some(index) = meta
        .iter()
        .position(|m| m.confidence.is_some_and(|c| !(0.0..=1.0).contains(&c)))
    {
        return Err(StoreError::Invalid(format!(
            "{role}_meta {index}: confidence must be a number from 0 to 1"
        )));
    }
    Ok(())
}

fn validate_distance(distance: Option<f64>) -> Result<()> {
    match distance {
        Some(d) if !d.is_finite() => Err(StoreError::Invalid(format!(
            "deformation_distance must be a finite number of mm, got {d}"
        ))),
        _ => Ok(()),
    }
}

/// Meta for a new point list: given → checked; absent → kept for points that did not move,
/// manual for the others.
fn merge_meta(
    role: &str,
    new_points: &[Point],
    given: Option<Vec<PointMeta>>,
    old_points: &[Point],
    old_meta: &[PointMeta],
) -> Result<Vec<PointMeta>> {
    if let Some(meta) = given {
        validate_meta(role, &meta, new_points.len())?;
        return Ok(meta);
    }
    Ok(new_points
        .iter()
        .enumerate()
        .map(|(i, p)| match (old_points.get(i), old_meta.get(i)) {
            (Some(old), Some(meta)) if old == p => *meta,
            _ => PointMeta::default(),
        })
        .collect())
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The `ruler` column: NULL or a valid model.
fn ruler_from_column(text: Option<&str>) -> Result<Option<RulerModel>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let model: RulerModel = from_json(text)?;
    if model.is_valid() {
        Ok(Some(model))
    } else {
        Err(StoreError::Corrupt(
            "a stored ruler model is not valid".into(),
        ))
    }
}

/// The `target` column: NULL or a valid model.
fn target_from_column(text: Option<&str>) -> Result<Option<TargetModel>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let model: TargetModel = from_json(text)?;
    if model.is_valid() {
        Ok(Some(model))
    } else {
        Err(StoreError::Corrupt(
            "a stored calibration-target model is not valid".into(),
        ))
    }
}

/// A target pitch, when given, must be a positive number of mm up to 100.
pub fn validate_target_pitch(value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 && value <= 100.0 {
        Ok(value)
    } else {
        Err(StoreError::Invalid(format!(
            "target_pitch_mm must be the distance between the calibration target's dots, more than 0 and at most 100 mm, got {value}"
        )))
    }
}

/// How many columns [`PROJECT_COLUMNS`] has: queries that select more read them after these.
const PROJECT_COLUMN_COUNT: usize = 10;

const PROJECT_COLUMNS: &str = "p.id, p.name, p.scale_length, p.reference_image, p.sigma_px, p.created_at, p.updated_at, \
     p.scale_method, p.focal_35mm, p.target_pitch_mm";

const IMAGE_COLUMNS: &str = "i.id, i.project_id, i.filename, i.ord, b.width, b.height, i.sha256, b.content_type, \
     i.status, i.fiducials, i.scale, i.fiducial_meta, i.scale_meta, i.deformation_distance, i.ruler, b.focal_35mm, i.target, i.excluded, i.time_s, i.force_n";

type RawImage = (
    (i64, i64, String, i64, u32, u32, String),
    (String, String, String, String, String, String, Option<f64>),
    (
        Option<String>,
        Option<f64>,
        Option<String>,
        Option<String>,
        Option<f64>,
        Option<f64>,
    ),
);

fn raw_image(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawImage> {
    Ok((
        (
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
        ),
        (
            row.get(7)?,
            row.get(8)?,
            row.get(9)?,
            row.get(10)?,
            row.get(11)?,
            row.get(12)?,
            row.get(13)?,
        ),
        (
            row.get(14)?,
            row.get(15)?,
            row.get(16)?,
            row.get(17)?,
            row.get(18)?,
            row.get(19)?,
        ),
    ))
}

fn image_from_raw(raw: RawImage) -> Result<ImageRecord> {
    let (
        (id, project_id, filename, order, width, height, sha256),
        (content_type, status, fid, scale, fmeta, smeta, d),
        (ruler, focal_35mm, target, excluded, time_s, force_n),
    ) = raw;
    Ok(ImageRecord {
        id,
        project_id,
        distance_from_filename: distance_from_filename(&filename),
        filename,
        order,
        width,
        height,
        sha256,
        content_type,
        status: status_from_label(&status)?,
        fiducials: from_json(&fid)?,
        scale: from_json(&scale)?,
        fiducial_meta: from_json(&fmeta)?,
        scale_meta: from_json(&smeta)?,
        deformation_distance: d,
        ruler: ruler_from_column(ruler.as_deref())?,
        target: target_from_column(target.as_deref())?,
        focal_35mm,
        excluded,
        time_s,
        force_n,
    })
}

fn project_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: row.get(0)?,
        name: row.get(1)?,
        scale_length: row.get(2)?,
        reference_image: row.get(3)?,
        sigma_px: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
        scale_method: row
            .get::<_, Option<String>>(7)?
            .and_then(|m| m.parse().ok()),
        focal_35mm: row.get(8)?,
        target_pitch_mm: row.get(9)?,
        image_count: 0,
        complete_count: 0,
        status_counts: StatusCounts::default(),
    })
}

fn load_project(conn: &Connection, id: i64) -> Result<Project> {
    let mut project = conn
        .prepare_cached(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.id = ?1"
        ))?
        .query_row([id], project_from_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("no project {id}")))?;
    let mut stmt = conn.prepare_cached(
        "SELECT status, COUNT(*) FROM images WHERE project_id = ?1 GROUP BY status",
    )?;
    let counts = stmt.query_map([id], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
    })?;
    for count in counts {
        let (label, n) = count?;
        project.status_counts.add(status_from_label(&label)?, n);
    }
    project.image_count = project.status_counts.complete
        + project.status_counts.incomplete
        + project.status_counts.missing_distance
        + project.status_counts.missing;
    project.complete_count = project.status_counts.complete;
    Ok(project)
}

fn load_image(conn: &Connection, project_id: i64, image_id: i64) -> Result<ImageRecord> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {IMAGE_COLUMNS} FROM images i CROSS JOIN blobs b ON b.sha256 = i.sha256 \
             WHERE i.id = ?1 AND i.project_id = ?2"
        ))?
        .query_row([image_id, project_id], raw_image)
        .optional()?;
    match raw {
        Some(raw) => image_from_raw(raw),
        None => {
            ensure_project(conn, project_id)?;
            Err(StoreError::NotFound(format!(
                "no image {image_id} in project {project_id}"
            )))
        }
    }
}

fn ensure_project(conn: &Connection, project_id: i64) -> Result<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM projects WHERE id = ?1")?
        .query_row([project_id], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| StoreError::NotFound(format!("no project {project_id}")))
}

fn touch_project(conn: &Connection, project_id: i64, at: i64) -> Result<()> {
    conn.prepare_cached("UPDATE projects SET updated_at = ?2 WHERE id = ?1")?
        .execute([project_id, at])?;
    Ok(())
}

fn image_count(conn: &Connection, project_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM images WHERE project_id = ?1")?
        .query_row([project_id], |r| r.get(0))?)
}

/// Shas among `candidates` that no image uses any more; their blob rows are deleted.
fn drop_unreferenced_blobs(
    tx: &Transaction<'_>,
    candidates: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let mut dropped = Vec::new();
    for (sha, ext) in candidates {
        let used: bool = tx
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM images WHERE sha256 = ?1)")?
            .query_row([sha], |r| r.get(0))?;
        if !used {
            tx.prepare_cached("DELETE FROM blobs WHERE sha256 = ?1")?
                .execute([sha])?;
            dropped.push((sha.clone(), ext.clone()));
        }
    }
    Ok(dropped)
}

impl Store {
    /// Open (creating when needed) the data directory and its database, apply migrations,
    /// and clear what an interrupted upload may have left behind.
    pub fn open(data_dir: &Path) -> Result<Store> {
        let images_dir = data_dir.join("images");
        let tmp_dir = data_dir.join("tmp");
        for dir in [data_dir, &images_dir, &tmp_dir] {
            fs::create_dir_all(dir)
                .map_err(|e| StoreError::io(format!("cannot create {}", dir.display()), e))?;
        }
        let mut conn = Connection::open(data_dir.join(DB_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "cannot switch the database to WAL mode (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        schema::migrate(&mut conn)?;
        let store = Store {
            conn: Mutex::new(Some(conn)),
            blob_lock: Mutex::new(()),
            data_dir: data_dir.to_owned(),
            images_dir,
            tmp_dir,
        };
        store.collect_garbage()?;
        Ok(store)
    }

    /// The data directory this store lives in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Checkpoint the WAL into the database file and close the connection. Later calls fail
    /// with [`StoreError::Closed`].
    pub fn close(&self) -> Result<()> {
        let conn = lock(&self.conn).take();
        if let Some(conn) = conn {
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
            conn.close().map_err(|(_, e)| StoreError::Db(e))?;
        }
        Ok(())
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.conn);
        let conn = guard.as_mut().ok_or(StoreError::Closed)?;
        f(conn)
    }

    /// Path of a stored image file.
    pub fn blob_path(&self, sha256: &str, ext: &str) -> PathBuf {
        self.images_dir.join(format!("{sha256}.{ext}"))
    }

    /// Remove leftovers of interrupted uploads: everything in `tmp/` and image files no row uses.
    fn collect_garbage(&self) -> Result<()> {
        let _blobs = lock(&self.blob_lock);
        if let Ok(entries) = fs::read_dir(&self.tmp_dir) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
        let known: HashSet<String> = self.with_conn(|conn| {
            let mut stmt = conn.prepare("SELECT sha256 || '.' || ext FROM blobs")?;
            let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(names.collect::<rusqlite::Result<_>>()?)
        })?;
        let entries = fs::read_dir(&self.images_dir)
            .map_err(|e| StoreError::io(format!("cannot list {}", self.images_dir.display()), e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !known.contains(&name) {
                tracing::info!(file = %name, "removing an image file no project uses");
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    // ----- projects -------------------------------------------------------------------------

    /// Create an empty project (scale length 10 mm, σ 1 px, automatic reference).
    pub fn create_project(&self, name: &str) -> Result<Project> {
        let name = validate_name(name)?;
        self.with_conn(|conn| {
            let at = now();
            conn.prepare_cached(
                "INSERT INTO projects (name, scale_length, sigma_px, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(params![name, DEFAULT_SCALE_LENGTH, DEFAULT_SIGMA_PX, at])?;
            load_project(conn, conn.last_insert_rowid())
        })
    }

    /// Every project with its counts, most recently changed first.
    pub fn list_projects(&self) -> Result<Vec<Project>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {PROJECT_COLUMNS}, \
                   COALESCE(SUM(i.status = 'Complete'), 0), COALESCE(SUM(i.status = 'Incomplete'), 0), \
                   COALESCE(SUM(i.status = 'Missing Distance'), 0), COALESCE(SUM(i.status = 'Missing'), 0) \
                 FROM projects p LEFT JOIN images i ON i.project_id = p.id \
                 GROUP BY p.id ORDER BY p.updated_at DESC, p.id DESC"
            ))?;
            let rows = stmt.query_map([], |row| {
                let mut project = project_from_row(row)?;
                let n = PROJECT_COLUMN_COUNT;
                project.status_counts = StatusCounts {
                    complete: row.get(n)?,
                    incomplete: row.get(n + 1)?,
                    missing_distance: row.get(n + 2)?,
                    missing: row.get(n + 3)?,
                };
                let c = project.status_counts;
                project.image_count = c.complete + c.incomplete + c.missing_distance + c.missing;
                project.complete_count = c.complete;
                Ok(project)
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One project with its counts.
    pub fn project(&self, id: i64) -> Result<Project> {
        self.with_conn(|conn| load_project(conn, id))
    }

    /// Change a project's name, scale length, reference image, σ, scale method or focal length.
    pub fn update_project(&self, id: i64, patch: ProjectPatch) -> Result<Project> {
        self.update_project_with_images(id, patch, Vec::new())
    }

    /// [`Store::update_project`] and edits of some of its images in one transaction (a scale
    /// length change and the scale points it moves).
    pub fn update_project_with_images(
        &self,
        id: i64,
        patch: ProjectPatch,
        images: Vec<(i64, ImagePatch)>,
    ) -> Result<Project> {
        let name = patch.name.as_deref().map(validate_name).transpose()?;
        let scale_length = patch.scale_length.map(validate_scale_length).transpose()?;
        let sigma = patch.sigma_px.map(validate_sigma).transpose()?;
        let focal = patch
            .focal_35mm
            .map(|f| f.map(validate_focal).transpose())
            .transpose()?;
        let pitch = patch
            .target_pitch_mm
            .map(|f| f.map(validate_target_pitch).transpose())
            .transpose()?;
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            ensure_project(&tx, id)?;
            if let Some(name) = name {
                tx.execute(
                    "UPDATE projects SET name = ?2 WHERE id = ?1",
                    params![id, name],
                )?;
            }
            if let Some(value) = scale_length {
                tx.execute(
                    "UPDATE projects SET scale_length = ?2 WHERE id = ?1",
                    params![id, value],
                )?;
            }
            if let Some(value) = sigma {
                tx.execute(
                    "UPDATE projects SET sigma_px = ?2 WHERE id = ?1",
                    params![id, value],
                )?;
            }
            if let Some(method) = patch.scale_method {
                tx.execute(
                    "UPDATE projects SET scale_method = ?2 WHERE id = ?1",
                    params![id, method.map(ScaleMethod::key)],
                )?;
            }
            if let Some(focal) = focal {
                tx.execute(
                    "UPDATE projects SET focal_35mm = ?2 WHERE id = ?1",
                    params![id, focal],
                )?;
            }
            if let Some(pitch) = pitch {
                tx.execute(
                    "UPDATE projects SET target_pitch_mm = ?2 WHERE id = ?1",
                    params![id, pitch],
                )?;
            }
            if let Some(reference) = patch.reference_image {
                if let Some(image_id) = reference {
                    let belongs: bool = tx.query_row(
                        "SELECT EXISTS(SELECT 1 FROM images WHERE id = ?1 AND project_id = ?2)",
                        [image_id, id],
                        |r| r.get(0),
                    )?;
                    if !belongs {
                        return Err(StoreError::Invalid(format!(
                            "reference_image: project {id} has no image {image_id}"
                        )));
                    }
                }
                tx.execute(
                    "UPDATE projects SET reference_image = ?2 WHERE id = ?1",
                    params![id, reference],
                )?;
            }
            let at = now();
            for (image_id, image_patch) in images {
                apply_image_patch(&tx, id, image_id, image_patch, at)?;
            }
            touch_project(&tx, id, at)?;
            let project = load_project(&tx, id)?;
            tx.commit()?;
            Ok(project)
        })
    }

    /// Delete a project, its images, and the image files no other project uses.
    pub fn delete_project(&self, id: i64) -> Result<()> {
        let _blobs = lock(&self.blob_lock);
        let dropped = self.with_conn(|conn| {
            let tx = conn.transaction()?;
            ensure_project(&tx, id)?;
            let shas: Vec<(String, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT DISTINCT i.sha256, b.ext FROM images i CROSS JOIN blobs b ON b.sha256 = i.sha256 \
                     WHERE i.project_id = ?1",
                )?;
                let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            tx.execute("UPDATE projects SET reference_image = NULL WHERE id = ?1", [id])?;
            tx.execute("DELETE FROM images WHERE project_id = ?1", [id])?;
            tx.execute("DELETE FROM projects WHERE id = ?1", [id])?;
            let dropped = drop_unreferenced_blobs(&tx, &shas)?;
            tx.commit()?;
            Ok(dropped)
        })?;
        self.remove_files(&dropped);
        Ok(())
    }

    fn remove_files(&self, blobs: &[(String, String)]) {
        for (sha, ext) in blobs {
            let path = self.blob_path(sha, ext);
            if let Err(err) = fs::remove_file(&path)
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove an unused image file");
            }
        }
    }

    // ----- images ---------------------------------------------------------------------------

    /// Images of a project in order, `limit` of them from position `offset`. Positions are
    /// contiguous (0..n), so the page is an index range seek on `ord`, as fast at offset 9 000
    /// as at 0.
    pub fn images(
        &self,
        project_id: i64,
        limit: Option<u64>,
        offset: u64,
    ) -> Result<Vec<ImageRecord>> {
        self.with_conn(|conn| {
            ensure_project(conn, project_id)?;
            let limit = limit.map_or(-1, |l| l.min(i64::MAX as u64) as i64);
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {IMAGE_COLUMNS} FROM images i CROSS JOIN blobs b ON b.sha256 = i.sha256 \
                 WHERE i.project_id = ?1 AND i.ord >= ?3 ORDER BY i.ord, i.id LIMIT ?2"
            ))?;
            let rows = stmt.query_map(
                params![project_id, limit, offset.min(i64::MAX as u64) as i64],
                raw_image,
            )?;
            rows.map(|raw| image_from_raw(raw?)).collect()
        })
    }

    /// A project and all its images, read in one consistent snapshot (for analysis and export).
    pub fn project_with_images(&self, project_id: i64) -> Result<(Project, Vec<ImageRecord>)> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let project = load_project(&tx, project_id)?;
            let images = {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {IMAGE_COLUMNS} FROM images i CROSS JOIN blobs b ON b.sha256 = i.sha256 \
                     WHERE i.project_id = ?1 ORDER BY i.ord, i.id"
                ))?;
                let rows = stmt.query_map([project_id], raw_image)?;
                rows.map(|raw| image_from_raw(raw?)).collect::<Result<Vec<_>>>()?
            };
            tx.commit()?;
            Ok((project, images))
        })
    }

    /// A project and the points of all its images in order, read in one snapshot: the light
    /// read the analysis runs on (no provenance, checksums or sizes).
    pub fn project_points(&self, project_id: i64) -> Result<(Project, Vec<ImagePoints>)> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let project = load_project(&tx, project_id)?;
            let images = {
                let mut stmt = tx.prepare_cached(
                    "SELECT i.id, i.filename, i.ord, i.status, i.fiducials, i.scale, i.deformation_distance, \
                     i.ruler, b.width, b.height, b.focal_35mm, i.target, i.excluded, i.time_s, i.force_n FROM images i CROSS JOIN blobs b ON b.sha256 = i.sha256 \
                     WHERE i.project_id = ?1 ORDER BY i.ord, i.id",
                )?;
                let rows = stmt.query_map([project_id], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, Option<f64>>(6)?,
                        (
                            row.get::<_, Option<String>>(7)?,
                            row.get::<_, u32>(8)?,
                            row.get::<_, u32>(9)?,
                            row.get::<_, Option<f64>>(10)?,
                            row.get::<_, Option<String>>(11)?,
                            row.get::<_, Option<String>>(12)?,
                            row.get::<_, Option<f64>>(13)?,
                            row.get::<_, Option<f64>>(14)?,
                        ),
                    ))
                })?;
                rows.map(|row| {
                    let (
                        id,
                        filename,
                        order,
                        status,
                        fiducials,
                        scale,
                        deformation_distance,
                        (ruler, width, height, focal_35mm, target, excluded, time_s, force_n),
                    ) = row?;
                    Ok(ImagePoints {
                        id,
                        filename,
                        order,
                        status: status_from_label(&status)?,
                        fiducials: from_json(&fiducials)?,
                        scale: from_json(&scale)?,
                        deformation_distance,
                        ruler: ruler_from_column(ruler.as_deref())?,
                        target: target_from_column(target.as_deref())?,
                        width,
                        height,
                        focal_35mm,
                        excluded,
                        time_s,
                        force_n,
                    })
                })
                .collect::<Result<Vec<_>>>()?
            };
            tx.commit()?;
            Ok((project, images))
        })
    }

    /// One image.
    pub fn image(&self, project_id: i64, image_id: i64) -> Result<ImageRecord> {
        self.with_conn(|conn| load_image(conn, project_id, image_id))
    }

    /// Path and content type of an image's file.
    pub fn image_file(&self, project_id: i64, image_id: i64) -> Result<(PathBuf, String, String)> {
        let (sha, ext, content_type, filename) = self.with_conn(|conn| {
            let found = conn
                .prepare_cached(
                    "SELECT i.sha256, b.ext, b.content_type, i.filename FROM images i \
                     CROSS JOIN blobs b ON b.sha256 = i.sha256 WHERE i.id = ?1 AND i.project_id = ?2",
                )?
                .query_row([image_id, project_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            match found {
                Some(found) => Ok(found),
                None => {
                    ensure_project(conn, project_id)?;
                    Err(StoreError::NotFound(format!("no image {image_id} in project {project_id}")))
                }
            }
        })?;
        Ok((self.blob_path(&sha, &ext), content_type, filename))
    }

    /// The stored thumbnail of an image (JPEG, see [`blobs::THUMBNAIL_TYPE`]).
    pub fn thumbnail(&self, project_id: i64, image_id: i64) -> Result<Vec<u8>> {
        self.with_conn(|conn| {
            let found = conn
                .prepare_cached(
                    "SELECT b.thumbnail FROM images i CROSS JOIN blobs b ON b.sha256 = i.sha256 \
                     WHERE i.id = ?1 AND i.project_id = ?2",
                )?
                .query_row([image_id, project_id], |r| r.get::<_, Vec<u8>>(0))
                .optional()?;
            match found {
                Some(bytes) => Ok(bytes),
                None => {
                    ensure_project(conn, project_id)?;
                    Err(StoreError::NotFound(format!(
                        "no image {image_id} in project {project_id}"
                    )))
                }
            }
        })
    }

    /// Check an uploaded file and write it to `tmp/` (blocking: decodes the image once to read
    /// its oriented size and make the thumbnail). A file already stored is not decoded again.
    pub fn stage_image(
        &self,
        bytes: &[u8],
        filename: &str,
        max_pixels: u64,
    ) -> Result<StagedImage> {
        let sha = blobs::sha256_hex(bytes);
        let known = self.with_conn(|conn| {
            Ok(conn
                .prepare_cached("SELECT ext, content_type, width, height, size_bytes FROM blobs WHERE sha256 = ?1")?
                .query_row([&sha], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, u32>(3)?,
                        r.get::<_, u64>(4)?,
                    ))
                })
                .optional()?)
        })?;
        if let Some((ext, content_type, width, height, size_bytes)) = known
            && let (Some(ext), Some(content_type)) =
                (static_ext(&ext), static_content_type(&content_type))
            && self.blob_path(&sha, ext).exists()
        {
            return Ok(StagedImage {
                info: ImageInfo {
                    sha256: sha,
                    ext,
                    content_type,
                    width,
                    height,
                    size_bytes,
                    thumbnail: Vec::new(),
                    // Not stored again: the blob row keeps the value read at first upload.
                    focal_35mm: None,
                },
                temp: None,
            });
        }
        let info = blobs::inspect_image(bytes, filename, max_pixels)?;
        let temp = TempFile::write(&self.tmp_dir, bytes)
            .map_err(|e| StoreError::io(format!("cannot write {}", self.tmp_dir.display()), e))?;
        Ok(StagedImage {
            info,
            temp: Some(temp),
        })
    }

    /// Add images to a project, after its existing ones, in one transaction: all or none.
    /// `max_images` caps the project's image count.
    pub fn add_images(
        &self,
        project_id: i64,
        staged: Vec<StagedImage>,
        images: &[NewImage],
        max_images: u64,
    ) -> Result<Vec<ImageRecord>> {
        self.insert(staged, |tx, infos, at| {
            ensure_project(tx, project_id)?;
            let ids = insert_images(tx, project_id, infos, images, max_images)?;
            if !ids.is_empty() {
                touch_project(tx, project_id, at)?;
            }
            ids.iter()
                .map(|&id| load_image(tx, project_id, id))
                .collect()
        })
    }

    /// Create a project with its images in one transaction (import).
    pub fn create_project_with_images(
        &self,
        project: &NewProject,
        staged: Vec<StagedImage>,
        images: &[NewImage],
        max_images: u64,
    ) -> Result<Project> {
        let name = validate_name(&project.name)?;
        let scale_length = validate_scale_length(project.scale_length)?;
        let sigma = validate_sigma(project.sigma_px)?;
        let focal = project.focal_35mm.map(validate_focal).transpose()?;
        let pitch = project
            .target_pitch_mm
            .map(validate_target_pitch)
            .transpose()?;
        let method = project.scale_method.map(ScaleMethod::key);
        self.insert(staged, |tx, infos, at| {
            tx.execute(
                "INSERT INTO projects (name, scale_length, sigma_px, created_at, updated_at, scale_method, focal_35mm, target_pitch_mm) \
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
                params![name, scale_length, sigma, at, method, focal, pitch],
            )?;
            let project_id = tx.last_insert_rowid();
            let ids = insert_images(tx, project_id, infos, images, max_images)?;
            if let Some(index) = project.reference {
                let image_id = ids
                    .get(index)
                    .ok_or_else(|| StoreError::Invalid(format!("reference image {index} does not exist")))?;
                tx.execute("UPDATE projects SET reference_image = ?2 WHERE id = ?1", [project_id, *image_id])?;
            }
            load_project(tx, project_id)
        })
    }

    /// Move staged files into place and run `write` in a transaction; on failure remove the
    /// files this call put in place.
    fn insert<T>(
        &self,
        staged: Vec<StagedImage>,
        write: impl FnOnce(&Transaction<'_>, &[ImageInfo], i64) -> Result<T>,
    ) -> Result<T> {
        let _blobs = lock(&self.blob_lock);
        let mut infos = Vec::with_capacity(staged.len());
        let mut placed = Vec::new();
        let mut moved = Ok(());
        for StagedImage { info, temp } in staged {
            let target = self.blob_path(&info.sha256, info.ext);
            if let Some(temp) = temp {
                if target.exists() {
                    drop(temp);
                } else if let Err(e) = temp.persist(&target) {
                    moved = Err(StoreError::io(
                        format!("cannot write {}", target.display()),
                        e,
                    ));
                    break;
                } else {
                    placed.push((info.sha256.clone(), info.ext.to_owned()));
                }
            }
            infos.push(info);
        }
        let result = moved.and_then(|()| {
            self.with_conn(|conn| {
                let tx = conn.transaction()?;
                for info in &infos {
                    if info.thumbnail.is_empty() {
                        let exists: bool = tx
                            .prepare_cached("SELECT EXISTS(SELECT 1 FROM blobs WHERE sha256 = ?1)")?
                            .query_row([&info.sha256], |r| r.get(0))?;
                        if !exists {
                            return Err(StoreError::Conflict(format!(
                                "an image file ({}) was deleted during the upload; upload it again",
                                info.sha256
                            )));
                        }
                    } else {
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO blobs (sha256, ext, content_type, width, height, size_bytes, \
                             thumbnail, thumbnail_type, focal_35mm) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        )?
                        .execute(params![
                            info.sha256,
                            info.ext,
                            info.content_type,
                            info.width,
                            info.height,
                            info.size_bytes,
                            info.thumbnail,
                            blobs::THUMBNAIL_TYPE,
                            info.focal_35mm
                        ])?;
                    }
                }
                let value = write(&tx, &infos, now())?;
                tx.commit()?;
                Ok(value)
            })
        });
        if result.is_err() {
            self.remove_files(&placed);
        }
        result
    }

    /// Change an image's points, provenance, distance or position. Returns the image and its
    /// project's new counts.
    pub fn update_image(
        &self,
        project_id: i64,
        image_id: i64,
        patch: ImagePatch,
    ) -> Result<(ImageRecord, Project)> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let at = now();
            apply_image_patch(&tx, project_id, image_id, patch, at)?;
            touch_project(&tx, project_id, at)?;
            let image = load_image(&tx, project_id, image_id)?;
            let project = load_project(&tx, project_id)?;
            tx.commit()?;
            Ok((image, project))
        })
    }

    /// Delete an image (and its file when no other image uses it); later images move up.
    pub fn delete_image(&self, project_id: i64, image_id: i64) -> Result<()> {
        let _blobs = lock(&self.blob_lock);
        let dropped = self.with_conn(|conn| {
            let tx = conn.transaction()?;
            let old = load_image(&tx, project_id, image_id)?;
            let ext: String = tx.query_row(
                "SELECT ext FROM blobs WHERE sha256 = ?1",
                [&old.sha256],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE projects SET reference_image = NULL WHERE reference_image = ?1",
                [image_id],
            )?;
            tx.execute("DELETE FROM images WHERE id = ?1", [image_id])?;
            tx.execute(
                "UPDATE images SET ord = ord - 1 WHERE project_id = ?1 AND ord > ?2",
                [project_id, old.order],
            )?;
            touch_project(&tx, project_id, now())?;
            let dropped = drop_unreferenced_blobs(&tx, &[(old.sha256, ext)])?;
            tx.commit()?;
            Ok(dropped)
        })?;
        self.remove_files(&dropped);
        Ok(())
    }

    /// Run `PRAGMA integrity_check`; `Ok(true)` when the database is sound.
    pub fn integrity_check(&self) -> Result<bool> {
        self.with_conn(|conn| {
            let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            Ok(result == "ok")
        })
    }
}

fn static_ext(ext: &str) -> Option<&'static str> {
    ["png", "jpg", "gif", "bmp", "tiff"]
        .into_iter()
        .find(|e| *e == ext)
}

fn static_content_type(ct: &str) -> Option<&'static str> {
    [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/tiff",
    ]
    .into_iter()
    .find(|e| *e == ct)
}

fn insert_images(
    tx: &Transaction<'_>,
    project_id: i64,
    infos: &[ImageInfo],
    images: &[NewImage],
    max_images: u64,
) -> Result<Vec<i64>> {
    let existing = image_count(tx, project_id)?;
    let total = existing as u64 + images.len() as u64;
    if total > max_images {
        return Err(StoreError::Limit(format!(
            "project {project_id} would have {total} images, more than the limit of {max_images}"
        )));
    }
    let mut taken: HashSet<String> = {
        let mut stmt = tx.prepare_cached("SELECT filename FROM images WHERE project_id = ?1")?;
        let names = stmt.query_map([project_id], |r| r.get::<_, String>(0))?;
        names.collect::<rusqlite::Result<_>>()?
    };
    let at = now();
    let mut ids = Vec::with_capacity(images.len());
    let mut stmt = tx.prepare_cached(
        "INSERT INTO images (project_id, sha256, filename, ord, fiducials, scale, fiducial_meta, scale_meta, \
         deformation_distance, status, created_at, updated_at, ruler, target, excluded, time_s, force_n) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for (n, image) in images.iter().enumerate() {
        let info = infos.get(image.staged).ok_or_else(|| {
            StoreError::Invalid(format!("{}: no file for this image", image.filename))
        })?;
        let a = &image.annotation;
        let named = |e: StoreError| match e {
            StoreError::Invalid(msg) => StoreError::Invalid(format!("{}: {msg}", image.filename)),
            other => other,
        };
        validate_points(
            "fiducial",
            &a.fiducials,
            MAX_FIDUCIALS,
            info.width,
            info.height,
        )
        .map_err(named)?;
        validate_points("scale", &a.scale, MAX_SCALE_POINTS, info.width, info.height)
            .map_err(named)?;
        validate_distance(a.deformation_distance).map_err(named)?;
        if [a.time_s, a.force_n]
            .iter()
            .flatten()
            .any(|v| !v.is_finite())
        {
            return Err(named(StoreError::Invalid(
                "the frame time and force must be finite numbers".to_owned(),
            )));
        }
        let excluded = a
            .excluded
            .as_deref()
            .map(validate_exclusion_reason)
            .transpose()
            .map_err(named)?;
        let fiducial_meta = merge_meta(
            "fiducial",
            &a.fiducials,
            non_empty(&a.fiducial_meta),
            &[],
            &[],
        )
        .map_err(named)?;
        let scale_meta =
            merge_meta("scale", &a.scale, non_empty(&a.scale_meta), &[], &[]).map_err(named)?;
        let status = image_status(a.fiducials.len(), a.scale.len(), a.deformation_distance);
        let filename = unique_filename(&image.filename, &taken);
        stmt.execute(params![
            project_id,
            info.sha256,
            filename,
            existing + n as i64,
            to_json(&a.fiducials)?,
            to_json(&a.scale)?,
            to_json(&fiducial_meta)?,
            to_json(&scale_meta)?,
            a.deformation_distance,
            status.label(),
            at,
            a.ruler
                .filter(RulerModel::is_valid)
                .map(|r| to_json(&r))
                .transpose()?,
            a.target
                .as_ref()
                .filter(|t| t.is_valid())
                .map(to_json)
                .transpose()?,
            excluded,
            a.time_s,
            a.force_n
        ])?;
        ids.push(tx.last_insert_rowid());
        taken.insert(filename);
    }
    Ok(ids)
}

/// `name` when no image of the project has it, else `stem (2).ext`, `stem (3).ext`, …:
/// filenames are unique in a project, as the exchange formats require.
pub fn unique_filename(name: &str, taken: &HashSet<String>) -> String {
    if !taken.contains(name) {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    (2u64..)
        .map(|k| format!("{stem} ({k}){ext}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| name.to_owned())
}

fn non_empty(meta: &[PointMeta]) -> Option<Vec<PointMeta>> {
    if meta.is_empty() {
        None
    } else {
        Some(meta.to_vec())
    }
}

/// Apply one image edit inside a transaction (see [`Store::update_image`]).
fn apply_image_patch(
    tx: &Transaction<'_>,
    project_id: i64,
    image_id: i64,
    patch: ImagePatch,
    at: i64,
) -> Result<()> {
    let old = load_image(tx, project_id, image_id)?;
    let fiducials = match patch.fiducials {
        Some(points) => {
            validate_points("fiducial", &points, MAX_FIDUCIALS, old.width, old.height)?;
            points
        }
        None => old.fiducials.clone(),
    };
    let scale = match patch.scale {
        Some(points) => {
            validate_points("scale", &points, MAX_SCALE_POINTS, old.width, old.height)?;
            points
        }
        None => old.scale.clone(),
    };
    let fiducial_meta = merge_meta(
        "fiducial",
        &fiducials,
        patch.fiducial_meta,
        &old.fiducials,
        &old.fiducial_meta,
    )?;
    let scale_meta = merge_meta(
        "scale",
        &scale,
        patch.scale_meta,
        &old.scale,
        &old.scale_meta,
    )?;
    let distance = patch
        .deformation_distance
        .unwrap_or(old.deformation_distance);
    validate_distance(distance)?;
    let status = image_status(fiducials.len(), scale.len(), distance);
    // The model goes with the scale points it placed: a new model comes with them; scale
    // points that change without one were moved by hand and no longer show it.
    let ruler = match patch.ruler {
        Some(model) => model,
        None if scale != old.scale => None,
        None => old.ruler,
    };
    if ruler.is_some_and(|r| !r.is_valid()) {
        return Err(StoreError::Invalid(
            "ruler: the ruler model is not valid".into(),
        ));
    }
    let target = patch.target.unwrap_or_else(|| old.target.clone());
    if target.as_ref().is_some_and(|t| !t.is_valid()) {
        return Err(StoreError::Invalid(
            "target: the calibration-target model is not valid".into(),
        ));
    }
    tx.prepare_cached(
        "UPDATE images SET fiducials = ?2, scale = ?3, fiducial_meta = ?4, scale_meta = ?5, \
             deformation_distance = ?6, status = ?7, updated_at = ?8, ruler = ?9, target = ?10 WHERE id = ?1",
    )?
    .execute(params![
        image_id,
        to_json(&fiducials)?,
        to_json(&scale)?,
        to_json(&fiducial_meta)?,
        to_json(&scale_meta)?,
        distance,
        status.label(),
        at,
        ruler.map(|r| to_json(&r)).transpose()?,
        target.as_ref().map(to_json).transpose()?
    ])?;
    if let Some(excluded) = patch.excluded {
        let excluded = excluded
            .as_deref()
            .map(validate_exclusion_reason)
            .transpose()?;
        tx.prepare_cached("UPDATE images SET excluded = ?2 WHERE id = ?1")?
            .execute(params![image_id, excluded])?;
    }
    if let Some(order) = patch.order {
        move_image(tx, project_id, image_id, old.order, order)?;
    }
    Ok(())
}

/// Longest reason for an exclusion, in characters.
pub const MAX_EXCLUSION_REASON: usize = 500;

/// A reason for excluding an image: at most [`MAX_EXCLUSION_REASON`] characters, no control
/// characters; surrounding white space is trimmed.
pub fn validate_exclusion_reason(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.chars().count() > MAX_EXCLUSION_REASON {
        return Err(StoreError::Invalid(format!(
            "excluded: the reason must be at most {MAX_EXCLUSION_REASON} characters, got {}",
            reason.chars().count()
        )));
    }
    if reason.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "excluded: the reason must not contain control characters (line breaks, tabs)".into(),
        ));
    }
    Ok(reason.to_owned())
}

/// Move an image from position `from` to `to`, shifting the images in between by one.
fn move_image(
    tx: &Transaction<'_>,
    project_id: i64,
    image_id: i64,
    from: i64,
    to: i64,
) -> Result<()> {
    let count = image_count(tx, project_id)?;
    if to < 0 || to >= count {
        return Err(StoreError::Invalid(format!(
            "order must be between 0 and {} (the project has {count} images), got {to}",
            count - 1
        )));
    }
    if to == from {
        return Ok(());
    }
    if to > from {
        tx.execute(
            "UPDATE images SET ord = ord - 1 WHERE project_id = ?1 AND ord > ?2 AND ord <= ?3",
            [project_id, from, to],
        )?;
    } else {
        tx.execute(
            "UPDATE images SET ord = ord + 1 WHERE project_id = ?1 AND ord >= ?2 AND ord < ?3",
            [project_id, to, from],
        )?;
    }
    tx.execute("UPDATE images SET ord = ?2 WHERE id = ?1", [image_id, to])?;
    Ok(())
}

#[cfg(test)]
mod column_tests {
    use super::*;

    /// The bug of issue 9's target pitch: a new project column shifted the status counts that
    /// the project list reads after them, and listing projects failed with a 500.
    #[test]
    fn regression_project_column_count_matches_the_columns() {
        assert_eq!(PROJECT_COLUMNS.split(',').count(), PROJECT_COLUMN_COUNT);
    }
}
