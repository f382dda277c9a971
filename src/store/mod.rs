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
//!
//! One module per job: [`error`] (what can fail), [`model`] (the data), [`validate`] (the rules
//! for input), `rows` (rows ↔ structs and shared queries), `projects` and `images` (the
//! operations), `files` (image files on disk), [`blobs`] (inspecting an uploaded file),
//! [`schema`] (migrations) and [`filename`] (what a file name tells).

pub mod blobs;
pub mod error;
pub mod filename;
mod files;
mod images;
pub mod model;
mod projects;
mod rows;
pub mod schema;
#[cfg(test)]
mod test_support;
pub mod validate;

use rusqlite::Connection;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

pub use error::{Result, StoreError, StoreErrorKind};
pub use filename::{clean_filename, distance_from_filename, unique_filename};
pub use model::{
    Annotation, DEFAULT_SCALE_LENGTH, DEFAULT_SIGMA_PX, ImagePatch, ImagePoints, ImageRecord,
    NewImage, NewProject, PointMeta, PointSource, Project, ProjectPatch, StagedImage, StatusCounts,
};
pub use validate::{
    MAX_AREA_MM2, MAX_EXCLUSION_REASON, MAX_FIDUCIALS, MAX_NAME_CHARS, MAX_SCALE_POINTS,
    image_status, validate_area, validate_exclusion_reason, validate_focal, validate_name,
    validate_points, validate_scale_length, validate_sigma, validate_target_pitch,
};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "strain-seer.db";

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
            return Err(StoreError::corrupt(format!(
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
    /// with [`StoreErrorKind::Closed`].
    pub fn close(&self) -> Result<()> {
        let conn = lock(&self.conn).take();
        if let Some(conn) = conn {
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
            conn.close().map_err(|(_, e)| StoreError::from(e))?;
        }
        Ok(())
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = lock(&self.conn);
        let conn = guard.as_mut().ok_or_else(StoreError::closed)?;
        f(conn)
    }

    /// Path of a stored image file.
    pub fn blob_path(&self, sha256: &str, ext: &str) -> PathBuf {
        self.images_dir.join(format!("{sha256}.{ext}"))
    }

    /// Run `PRAGMA integrity_check`; `Ok(true)` when the database is sound.
    pub fn integrity_check(&self) -> Result<bool> {
        self.with_conn(|conn| {
            let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            Ok(result == "ok")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{TestResult, add_one, complete, temp_store};
    use super::*;
    use crate::engine::ImageStatus;

    #[test]
    fn a_database_of_the_first_schema_is_migrated_and_read() -> TestResult {
        let dir = tempfile::tempdir()?;
        {
            // A data directory written by the first release: schema 1, one project with one
            // complete image.
            let conn = Connection::open(dir.path().join(DB_FILE))?;
            conn.execute_batch(&schema::MIGRATIONS[0].sql())?;
            conn.pragma_update(None, "user_version", 1)?;
            conn.execute_batch(
                "INSERT INTO projects (id, name, scale_length, sigma_px, created_at, updated_at) \
                   VALUES (1, 'old', 12.5, 1.0, 100, 200);
                 INSERT INTO blobs (sha256, ext, content_type, width, height, size_bytes, thumbnail, thumbnail_type) \
                   VALUES ('ab', 'png', 'image/png', 100, 80, 3, x'00', 'image/jpeg');
                 INSERT INTO images (id, project_id, sha256, filename, ord, fiducials, scale, fiducial_meta, \
                   scale_meta, deformation_distance, status, created_at, updated_at) \
                   VALUES (1, 1, 'ab', 'old-2mm.png', 0, '[[1,1],[2,1],[2,2],[1,2],[1.5,1.5]]', \
                   '[[0,0],[10,0]]', '[]', '[]', 2.0, 'Complete', 100, 100);",
            )?;
            std::fs::create_dir_all(dir.path().join("images"))?;
            std::fs::write(dir.path().join("images").join("ab.png"), b"abc")?;
        }
        let store = Store::open(dir.path())?;
        let version: i64 =
            store.with_conn(|conn| Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?))?;
        assert_eq!(version, schema::latest_version());
        let project = store.project(1)?;
        assert_eq!((project.name.as_str(), project.scale_length), ("old", 12.5));
        assert_eq!(
            (
                project.scale_method,
                project.focal_35mm,
                project.target_pitch_mm
            ),
            (None, None, None)
        );
        assert_eq!(project.complete_count, 1);
        let image = store.image(1, 1)?;
        assert_eq!(image.status, ImageStatus::Complete);
        assert_eq!(
            (image.ruler, image.target, image.excluded),
            (None, None, None)
        );
        assert_eq!(image.deformation_distance, Some(2.0));
        assert!(
            store.blob_path("ab", "png").exists(),
            "a file a row uses is kept"
        );
        assert!(store.integrity_check()?);
        Ok(())
    }

    #[test]
    fn a_closed_store_refuses_work() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        add_one(&store, project.id, "a.png", 1, complete(0.0))?;
        store.close()?;
        store.close()?;
        let err = store.project(project.id).unwrap_err();
        assert!(matches!(err.kind(), StoreErrorKind::Closed));
        Ok(())
    }

    #[test]
    fn data_survives_reopening() -> TestResult {
        let (dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let id = add_one(&store, project.id, "a.png", 1, complete(3.0))?;
        let before = store.image(project.id, id)?;
        store.close()?;
        let store = Store::open(dir.path())?;
        assert_eq!(store.data_dir(), dir.path());
        assert_eq!(store.image(project.id, id)?, before);
        Ok(())
    }
}
