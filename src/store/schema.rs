//! Schema migrations, applied in order and recorded in `PRAGMA user_version`.
//!
//! Migration `i` (0-based) brings a database from `user_version = i` to `i + 1`. Never edit a
//! migration that has shipped: append a new one. Most migrations only add nullable columns:
//! they are listed as data ([`Migration::AddColumns`]) and become the same `ALTER TABLE … ADD
//! COLUMN …` statements that were written out as SQL before.

use rusqlite::Connection;
use std::borrow::Cow;

/// One schema migration.
#[derive(Debug, Clone, Copy)]
pub enum Migration {
    /// SQL statements run as one batch.
    Sql(&'static str),
    /// New nullable columns: `ALTER TABLE {table} ADD COLUMN {column} {type}` for each
    /// `(table, column, type)`, in order.
    AddColumns(&'static [(&'static str, &'static str, &'static str)]),
}

impl Migration {
    /// The SQL the migration runs.
    pub fn sql(&self) -> Cow<'static, str> {
        match *self {
            Migration::Sql(sql) => Cow::Borrowed(sql),
            Migration::AddColumns(columns) => Cow::Owned(
                columns
                    .iter()
                    .map(|(table, column, kind)| {
                        format!("ALTER TABLE {table} ADD COLUMN {column} {kind};\n")
                    })
                    .collect(),
            ),
        }
    }
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    // 1: projects, content-addressed image files (blobs) and the images of each project.
    // AUTOINCREMENT: ids are never reused, so a URL such as /api/projects/3/images/7/file always
    // means the same file and may be cached for good.
    Migration::Sql(
        r#"
    CREATE TABLE projects (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        name            TEXT    NOT NULL,
        scale_length    REAL    NOT NULL DEFAULT 10.0,
        reference_image INTEGER REFERENCES images(id) ON DELETE SET NULL,
        sigma_px        REAL    NOT NULL DEFAULT 1.0,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    );
    CREATE TABLE blobs (
        sha256         TEXT    PRIMARY KEY,
        ext            TEXT    NOT NULL,
        content_type   TEXT    NOT NULL,
        width          INTEGER NOT NULL,
        height         INTEGER NOT NULL,
        size_bytes     INTEGER NOT NULL,
        thumbnail      BLOB    NOT NULL,
        thumbnail_type TEXT    NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE images (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id           INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        sha256               TEXT    NOT NULL REFERENCES blobs(sha256),
        filename             TEXT    NOT NULL,
        ord                  INTEGER NOT NULL,
        fiducials            TEXT    NOT NULL DEFAULT '[]',
        scale                TEXT    NOT NULL DEFAULT '[]',
        fiducial_meta        TEXT    NOT NULL DEFAULT '[]',
        scale_meta           TEXT    NOT NULL DEFAULT '[]',
        deformation_distance REAL,
        status               TEXT    NOT NULL,
        created_at           INTEGER NOT NULL,
        updated_at           INTEGER NOT NULL
    );
    CREATE INDEX images_by_project ON images(project_id, ord);
    CREATE INDEX images_by_status ON images(project_id, status);
    CREATE INDEX images_by_sha ON images(sha256);
    CREATE INDEX projects_by_reference ON projects(reference_image);
    "#,
    ),
    // 2: the scale model. `scale_method` NULL = chosen from the annotations; `focal_35mm` NULL =
    // the photos' EXIF or the default; `ruler` = the detector's ruler model (JSON) or NULL;
    // `blobs.focal_35mm` = the file's EXIF 35 mm-equivalent focal length or NULL.
    Migration::AddColumns(&[
        ("projects", "scale_method", "TEXT"),
        ("projects", "focal_35mm", "REAL"),
        ("images", "ruler", "TEXT"),
        ("blobs", "focal_35mm", "REAL"),
    ]),
    // 3: the calibration target. `images.target` = the target model (JSON) or NULL;
    // `projects.target_pitch_mm` = the pitch of the project's dot grid (detection looks for one
    // only when it is set).
    Migration::AddColumns(&[
        ("images", "target", "TEXT"),
        ("projects", "target_pitch_mm", "REAL"),
    ]),
    // 4: the user's exclusion of an image from the fits. `images.excluded` = the reason given
    // (possibly empty) when the image is excluded, NULL when it is fitted.
    Migration::AddColumns(&[("images", "excluded", "TEXT")]),
    // 5: frames of a film. `images.time_s` = the frame's presentation time in the film (s),
    // `images.force_n` = the test machine's force at that time from its log (N); NULL for
    // photos and where the log has no force.
    Migration::AddColumns(&[("images", "time_s", "REAL"), ("images", "force_n", "REAL")]),
    // 6: engineering stress. `projects.area_mm2` = the specimen's cross-section area (mm²) that
    // turns the log's force into stress; NULL = not entered (no stress).
    Migration::AddColumns(&[("projects", "area_mm2", "REAL")]),
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Bring the database up to [`latest_version`]; each migration runs in its own transaction.
/// A database newer than this build is refused rather than guessed at.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > latest_version() {
        return Err(MigrationError::TooNew {
            found: current,
            supported: latest_version(),
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(&migration.sql())?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the database has schema version {found}, newer than this strain-seer supports \
         ({supported}); use a newer strain-seer"
    )]
    TooNew { found: i64, supported: i64 },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() -> Result<(), Box<dyn std::error::Error>> {
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn)?;
        migrate(&mut conn)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        assert_eq!(version, latest_version());
        Ok(())
    }

    #[test]
    fn added_columns_are_alter_table_statements() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            MIGRATIONS[1].sql(),
            "ALTER TABLE projects ADD COLUMN scale_method TEXT;\n\
             ALTER TABLE projects ADD COLUMN focal_35mm REAL;\n\
             ALTER TABLE images ADD COLUMN ruler TEXT;\n\
             ALTER TABLE blobs ADD COLUMN focal_35mm REAL;\n"
        );
        let mut conn = Connection::open_in_memory()?;
        migrate(&mut conn)?;
        for migration in MIGRATIONS {
            let Migration::AddColumns(columns) = migration else {
                continue;
            };
            for (table, column, kind) in *columns {
                let found: String = conn.query_row(
                    &format!("SELECT type FROM pragma_table_info('{table}') WHERE name = ?1"),
                    [column],
                    |r| r.get(0),
                )?;
                assert_eq!(&found, kind, "{table}.{column}");
            }
        }
        Ok(())
    }

    #[test]
    fn a_newer_database_is_refused() -> Result<(), Box<dyn std::error::Error>> {
        let mut conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "user_version", latest_version() + 1)?;
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrationError::TooNew { .. })
        ));
        Ok(())
    }
}
