//! Project operations: create, list, read, change (with the image edits a change implies), delete,
//! and create with images (import).

use super::error::{Result, StoreError};
use super::files::drop_unreferenced_blobs;
use super::images::{apply_image_patch, insert_images};
use super::model::{
    ImagePatch, NewImage, NewProject, Project, ProjectPatch, StagedImage, StatusCounts,
};
use super::rows::{
    PROJECT_COLUMN_COUNT, PROJECT_COLUMNS, ensure_project, load_project, project_from_row,
    touch_project,
};
use super::validate::{
    validate_area, validate_focal, validate_name, validate_scale_length, validate_sigma,
    validate_target_pitch,
};
use super::{DEFAULT_SCALE_LENGTH, DEFAULT_SIGMA_PX, Store, lock, now};
use crate::engine::ScaleMethod;
use rusqlite::{Connection, ToSql, params};

impl Store {
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
        let area = patch
            .area_mm2
            .map(|a| a.map(validate_area).transpose())
            .transpose()?;
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            ensure_project(&tx, id)?;
            let method = patch.scale_method.map(|m| m.map(ScaleMethod::key));
            let columns: [(&str, Option<&dyn ToSql>); 7] = [
                ("name", given(&name)),
                ("scale_length", given(&scale_length)),
                ("sigma_px", given(&sigma)),
                ("scale_method", given(&method)),
                ("focal_35mm", given(&focal)),
                ("target_pitch_mm", given(&pitch)),
                ("area_mm2", given(&area)),
            ];
            for (column, value) in columns {
                if let Some(value) = value {
                    set_column(&tx, id, column, value)?;
                }
            }
            if let Some(reference) = patch.reference_image {
                if let Some(image_id) = reference {
                    let belongs: bool = tx.query_row(
                        "SELECT EXISTS(SELECT 1 FROM images WHERE id = ?1 AND project_id = ?2)",
                        [image_id, id],
                        |r| r.get(0),
                    )?;
                    if !belongs {
                        return Err(StoreError::invalid(format!(
                            "reference_image: project {id} has no image {image_id}"
                        )));
                    }
                }
                set_column(&tx, id, "reference_image", &reference)?;
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
        let area = project.area_mm2.map(validate_area).transpose()?;
        let method = project.scale_method.map(ScaleMethod::key);
        self.insert(staged, |tx, infos, at| {
            tx.execute(
                "INSERT INTO projects (name, scale_length, sigma_px, created_at, updated_at, scale_method, focal_35mm, target_pitch_mm, area_mm2) \
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8)",
                params![name, scale_length, sigma, at, method, focal, pitch, area],
            )?;
            let project_id = tx.last_insert_rowid();
            let ids = insert_images(tx, project_id, infos, images, max_images)?;
            if let Some(index) = project.reference {
                let image_id = ids
                    .get(index)
                    .ok_or_else(|| StoreError::invalid(format!("reference image {index} does not exist")))?;
                tx.execute("UPDATE projects SET reference_image = ?2 WHERE id = ?1", [project_id, *image_id])?;
            }
            load_project(tx, project_id)
        })
    }
}

/// A field of a patch that is given, as the value to store.
fn given<T: ToSql>(value: &Option<T>) -> Option<&dyn ToSql> {
    value.as_ref().map(|v| v as &dyn ToSql)
}

/// `UPDATE projects SET {column} = value WHERE id = id`. `column` is always a literal of this
/// file, never input.
fn set_column(conn: &Connection, id: i64, column: &str, value: &dyn ToSql) -> rusqlite::Result<()> {
    conn.execute(
        &format!("UPDATE projects SET {column} = ?2 WHERE id = ?1"),
        params![id, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{TestResult, add_one, complete, new_image, png, temp_store};
    use super::super::{MAX_NAME_CHARS, StoreErrorKind};
    use super::*;

    #[test]
    fn create_read_update_delete_round_trip() -> TestResult {
        let (_dir, store) = temp_store()?;
        let created = store.create_project("  Beam A  ")?;
        assert_eq!(created.name, "Beam A");
        assert_eq!(created.scale_length, DEFAULT_SCALE_LENGTH);
        assert_eq!(created.sigma_px, DEFAULT_SIGMA_PX);
        assert_eq!((created.image_count, created.scale_method), (0, None));
        assert_eq!(store.project(created.id)?, created);

        let patch = ProjectPatch {
            name: Some("Beam B".into()),
            scale_length: Some(25.0),
            sigma_px: Some(0.5),
            scale_method: Some(Some(ScaleMethod::Ruler)),
            focal_35mm: Some(Some(50.0)),
            target_pitch_mm: Some(Some(2.0)),
            area_mm2: Some(Some(12.5)),
            reference_image: None,
        };
        let updated = store.update_project(created.id, patch)?;
        assert_eq!(updated.name, "Beam B");
        assert_eq!(updated.scale_length, 25.0);
        assert_eq!(updated.sigma_px, 0.5);
        assert_eq!(updated.scale_method, Some(ScaleMethod::Ruler));
        assert_eq!(updated.focal_35mm, Some(50.0));
        assert_eq!(updated.target_pitch_mm, Some(2.0));
        assert_eq!(updated.area_mm2, Some(12.5));
        assert_eq!(store.project(created.id)?, updated);

        // `Some(None)` goes back to the automatic choice; `None` leaves a field alone.
        let cleared = store.update_project(
            created.id,
            ProjectPatch {
                scale_method: Some(None),
                focal_35mm: Some(None),
                area_mm2: Some(None),
                ..ProjectPatch::default()
            },
        )?;
        assert_eq!((cleared.scale_method, cleared.focal_35mm), (None, None));
        assert_eq!(cleared.area_mm2, None);
        assert_eq!(cleared.target_pitch_mm, Some(2.0));

        store.delete_project(created.id)?;
        let gone = store.project(created.id).unwrap_err();
        assert!(matches!(gone.kind(), StoreErrorKind::NotFound(_)));
        assert!(store.list_projects()?.is_empty());
        Ok(())
    }

    #[test]
    fn list_counts_images_by_status() -> TestResult {
        let (_dir, store) = temp_store()?;
        let empty = store.create_project("empty")?;
        let full = store.create_project("full")?;
        add_one(&store, full.id, "a.png", 1, complete(0.0))?;
        add_one(&store, full.id, "b.png", 2, Default::default())?;
        let listed = store.list_projects()?;
        assert_eq!(listed.len(), 2);
        // Most recently changed first.
        let (first, second) = (&listed[0], &listed[1]);
        assert_eq!(first.id, full.id);
        assert_eq!(second.id, empty.id);
        assert_eq!((first.image_count, first.complete_count), (2, 1));
        assert_eq!(first.status_counts.missing, 1);
        assert_eq!(store.project(full.id)?.status_counts, first.status_counts);
        Ok(())
    }

    #[test]
    fn invalid_settings_are_refused_and_change_nothing() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let invalid = [
            ProjectPatch {
                name: Some("   ".into()),
                ..ProjectPatch::default()
            },
            ProjectPatch {
                name: Some("x".repeat(MAX_NAME_CHARS + 1)),
                ..ProjectPatch::default()
            },
            ProjectPatch {
                name: Some("a\nb".into()),
                ..ProjectPatch::default()
            },
            ProjectPatch {
                scale_length: Some(0.0),
                ..ProjectPatch::default()
            },
            ProjectPatch {
                scale_length: Some(f64::NAN),
                ..ProjectPatch::default()
            },
            ProjectPatch {
                sigma_px: Some(-1.0),
                ..ProjectPatch::default()
            },
            ProjectPatch {
                focal_35mm: Some(Some(1.0)),
                ..ProjectPatch::default()
            },
            ProjectPatch {
                target_pitch_mm: Some(Some(101.0)),
                ..ProjectPatch::default()
            },
            ProjectPatch {
                reference_image: Some(Some(12345)),
                ..ProjectPatch::default()
            },
        ];
        for patch in invalid {
            let err = store.update_project(project.id, patch.clone()).unwrap_err();
            assert!(
                matches!(err.kind(), StoreErrorKind::Invalid(_)),
                "{patch:?}: {err}"
            );
        }
        assert_eq!(store.project(project.id)?, project);
        assert!(matches!(
            store.create_project("").unwrap_err().kind(),
            StoreErrorKind::Invalid(_)
        ));
        let missing = store
            .update_project(999, ProjectPatch::default())
            .unwrap_err();
        assert!(matches!(missing.kind(), StoreErrorKind::NotFound(_)));
        Ok(())
    }

    #[test]
    fn the_reference_image_must_belong_to_the_project_and_is_cleared_with_it() -> TestResult {
        let (_dir, store) = temp_store()?;
        let a = store.create_project("a")?;
        let b = store.create_project("b")?;
        let image_a = add_one(&store, a.id, "a.png", 1, complete(0.0))?;
        let image_b = add_one(&store, b.id, "b.png", 2, complete(0.0))?;
        let wrong = ProjectPatch {
            reference_image: Some(Some(image_b)),
            ..ProjectPatch::default()
        };
        assert!(matches!(
            store.update_project(a.id, wrong).unwrap_err().kind(),
            StoreErrorKind::Invalid(_)
        ));
        let right = ProjectPatch {
            reference_image: Some(Some(image_a)),
            ..ProjectPatch::default()
        };
        assert_eq!(
            store.update_project(a.id, right)?.reference_image,
            Some(image_a)
        );
        store.delete_image(a.id, image_a)?;
        assert_eq!(store.project(a.id)?.reference_image, None);
        Ok(())
    }

    #[test]
    fn create_with_images_is_all_or_nothing() -> TestResult {
        let (dir, store) = temp_store()?;
        let settings = NewProject {
            name: "imported".into(),
            scale_length: 20.0,
            sigma_px: 2.0,
            reference: Some(1),
            scale_method: Some(ScaleMethod::Span),
            focal_35mm: None,
            target_pitch_mm: None,
            area_mm2: Some(80.0),
        };
        let staged = vec![
            store.stage_image(&png(100, 80, 1), "a.png", 1_000_000)?,
            store.stage_image(&png(100, 80, 2), "b.png", 1_000_000)?,
        ];
        let images = [
            new_image(0, "a.png", complete(0.0)),
            new_image(1, "b.png", complete(1.0)),
        ];
        let project = store.create_project_with_images(&settings, staged, &images, 10)?;
        assert_eq!(
            (project.name.as_str(), project.image_count),
            ("imported", 2)
        );
        assert_eq!(project.scale_method, Some(ScaleMethod::Span));
        let (_, stored) = store.project_with_images(project.id)?;
        assert_eq!(project.reference_image, Some(stored[1].id));

        // A reference that does not exist rolls everything back, files included.
        let files_before = std::fs::read_dir(dir.path().join("images"))?.count();
        let staged = vec![store.stage_image(&png(100, 80, 3), "c.png", 1_000_000)?];
        let bad = NewProject {
            reference: Some(5),
            ..settings.clone()
        };
        let err = store
            .create_project_with_images(&bad, staged, &[new_image(0, "c.png", complete(0.0))], 10)
            .unwrap_err();
        assert!(matches!(err.kind(), StoreErrorKind::Invalid(_)), "{err}");
        assert_eq!(store.list_projects()?.len(), 1);
        assert_eq!(
            std::fs::read_dir(dir.path().join("images"))?.count(),
            files_before
        );

        // Invalid settings are refused before anything is written.
        let unnamed = NewProject {
            name: String::new(),
            ..settings
        };
        let staged = vec![store.stage_image(&png(100, 80, 4), "d.png", 1_000_000)?];
        assert!(
            store
                .create_project_with_images(&unnamed, staged, &[], 10)
                .is_err()
        );
        Ok(())
    }
}
