//! Rows ↔ structs: the column lists, reading a project or image row back into its struct (JSON
//! columns included), and the small queries every operation shares (load, exists, touch, count).
//! Anything that cannot be read back is [`StoreErrorKind::Corrupt`](super::StoreErrorKind::Corrupt).

use super::distance_from_filename;
use super::error::{Result, StoreError};
use super::model::{ImageRecord, Project, StatusCounts};
use crate::engine::{ImageStatus, RulerModel, TargetModel};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

pub(super) fn status_from_label(label: &str) -> Result<ImageStatus> {
    match label {
        "Complete" => Ok(ImageStatus::Complete),
        "Incomplete" => Ok(ImageStatus::Incomplete),
        "Missing Distance" => Ok(ImageStatus::MissingDistance),
        "Missing" => Ok(ImageStatus::Missing),
        other => Err(StoreError::corrupt(format!(
            "unknown image status {other:?}"
        ))),
    }
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt(e.to_string()))
}

pub(super) fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(e.to_string()))
}

/// The `ruler` column: NULL or a valid model.
pub(super) fn ruler_from_column(text: Option<&str>) -> Result<Option<RulerModel>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let model: RulerModel = from_json(text)?;
    if model.is_valid() {
        Ok(Some(model))
    } else {
        Err(StoreError::corrupt("a stored ruler model is not valid"))
    }
}

/// The `target` column: NULL or a valid model.
pub(super) fn target_from_column(text: Option<&str>) -> Result<Option<TargetModel>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let model: TargetModel = from_json(text)?;
    if model.is_valid() {
        Ok(Some(model))
    } else {
        Err(StoreError::corrupt(
            "a stored calibration-target model is not valid",
        ))
    }
}

/// How many columns [`PROJECT_COLUMNS`] has: queries that select more read them after these.
pub(super) const PROJECT_COLUMN_COUNT: usize = 11;

pub(super) const PROJECT_COLUMNS: &str = "p.id, p.name, p.scale_length, p.reference_image, p.sigma_px, p.created_at, p.updated_at, \
     p.scale_method, p.focal_35mm, p.target_pitch_mm, p.area_mm2";

pub(super) const IMAGE_COLUMNS: &str = "i.id, i.project_id, i.filename, i.ord, b.width, b.height, i.sha256, b.content_type, \
     i.status, i.fiducials, i.scale, i.fiducial_meta, i.scale_meta, i.deformation_distance, i.ruler, b.focal_35mm, i.target, i.excluded, i.time_s, i.force_n";

pub(super) type RawImage = (
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

pub(super) fn raw_image(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawImage> {
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

pub(super) fn image_from_raw(raw: RawImage) -> Result<ImageRecord> {
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

pub(super) fn project_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Project> {
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
        area_mm2: row.get(10)?,
        image_count: 0,
        complete_count: 0,
        status_counts: StatusCounts::default(),
    })
}

pub(super) fn load_project(conn: &Connection, id: i64) -> Result<Project> {
    let mut project = conn
        .prepare_cached(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.id = ?1"
        ))?
        .query_row([id], project_from_row)
        .optional()?
        .ok_or_else(|| StoreError::not_found(format!("no project {id}")))?;
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

pub(super) fn load_image(conn: &Connection, project_id: i64, image_id: i64) -> Result<ImageRecord> {
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
            Err(StoreError::not_found(format!(
                "no image {image_id} in project {project_id}"
            )))
        }
    }
}

pub(super) fn ensure_project(conn: &Connection, project_id: i64) -> Result<()> {
    let found = conn
        .prepare_cached("SELECT 1 FROM projects WHERE id = ?1")?
        .query_row([project_id], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| StoreError::not_found(format!("no project {project_id}")))
}

pub(super) fn touch_project(conn: &Connection, project_id: i64, at: i64) -> Result<()> {
    conn.prepare_cached("UPDATE projects SET updated_at = ?2 WHERE id = ?1")?
        .execute([project_id, at])?;
    Ok(())
}

pub(super) fn image_count(conn: &Connection, project_id: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM images WHERE project_id = ?1")?
        .query_row([project_id], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::super::StoreErrorKind;
    use super::super::test_support::{TestResult, add_one, complete, temp_store};
    use super::*;

    /// The bug of issue 9's target pitch: a new project column shifted the status counts that
    /// the project list reads after them, and listing projects failed with a 500.
    #[test]
    fn regression_project_column_count_matches_the_columns() {
        assert_eq!(PROJECT_COLUMNS.split(',').count(), PROJECT_COLUMN_COUNT);
    }

    #[test]
    fn status_labels_round_trip() {
        for status in [
            ImageStatus::Complete,
            ImageStatus::Incomplete,
            ImageStatus::MissingDistance,
            ImageStatus::Missing,
        ] {
            assert_eq!(status_from_label(status.label()).unwrap(), status);
        }
        let err = status_from_label("Done").unwrap_err();
        assert!(matches!(err.kind(), StoreErrorKind::Corrupt(_)), "{err}");
    }

    #[test]
    fn unreadable_rows_are_corrupt_not_a_panic() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let id = add_one(&store, project.id, "a.png", 1, complete(1.0))?;
        let corrupt = |sql: &str| -> TestResult {
            store.with_conn(|conn| Ok(conn.execute(sql, [id])?))?;
            let err = store.image(project.id, id).unwrap_err();
            assert!(
                matches!(err.kind(), StoreErrorKind::Corrupt(_)),
                "{sql}: {err}"
            );
            Ok(())
        };
        corrupt("UPDATE images SET fiducials = '[[1,' WHERE id = ?1")?;
        corrupt("UPDATE images SET fiducials = '[]', status = 'Finished' WHERE id = ?1")?;
        corrupt("UPDATE images SET status = 'Missing', ruler = '{}' WHERE id = ?1")?;
        Ok(())
    }

    #[test]
    fn json_columns_round_trip() -> TestResult {
        let points = vec![crate::engine::Point::new(1.5, 2.25)];
        let text = to_json(&points)?;
        assert_eq!(text, "[[1.5,2.25]]");
        let back: Vec<crate::engine::Point> = from_json(&text)?;
        assert_eq!(back, points);
        assert_eq!(ruler_from_column(None)?, None);
        assert_eq!(target_from_column(None)?, None);
        Ok(())
    }
}
