//! Image operations: read (a page, all of a project, the light points-only read the analysis
//! uses, one image, its file and thumbnail), add, change, reorder and delete.

use super::blobs::ImageInfo;
use super::error::{Result, StoreError};
use super::filename::unique_filename;
use super::files::drop_unreferenced_blobs;
use super::model::{ImagePatch, ImagePoints, ImageRecord, NewImage, Project, StagedImage};
use super::rows::{
    IMAGE_COLUMNS, ensure_project, from_json, image_count, image_from_raw, load_image,
    load_project, raw_image, ruler_from_column, status_from_label, target_from_column, to_json,
    touch_project,
};
use super::validate::{
    MAX_FIDUCIALS, MAX_SCALE_POINTS, image_status, merge_meta, non_empty, validate_distance,
    validate_exclusion_reason, validate_points,
};
use super::{Store, lock, now};
use crate::engine::RulerModel;
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::HashSet;
use std::path::PathBuf;

impl Store {
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
                    Err(StoreError::not_found(format!("no image {image_id} in project {project_id}")))
                }
            }
        })?;
        Ok((self.blob_path(&sha, &ext), content_type, filename))
    }

    /// The stored thumbnail of an image (JPEG, see [`THUMBNAIL_TYPE`](super::blobs::THUMBNAIL_TYPE)).
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
                    Err(StoreError::not_found(format!(
                        "no image {image_id} in project {project_id}"
                    )))
                }
            }
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
}

pub(super) fn insert_images(
    tx: &Transaction<'_>,
    project_id: i64,
    infos: &[ImageInfo],
    images: &[NewImage],
    max_images: u64,
) -> Result<Vec<i64>> {
    let existing = image_count(tx, project_id)?;
    let total = existing as u64 + images.len() as u64;
    if total > max_images {
        return Err(StoreError::limit(format!(
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
            StoreError::invalid(format!("{}: no file for this image", image.filename))
        })?;
        let a = &image.annotation;
        let named = |e: StoreError| e.named(&image.filename);
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
            return Err(named(StoreError::invalid(
                "the frame time and force must be finite numbers",
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

/// Apply one image edit inside a transaction (see [`Store::update_image`]).
pub(super) fn apply_image_patch(
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
        return Err(StoreError::invalid("ruler: the ruler model is not valid"));
    }
    let target = patch.target.unwrap_or_else(|| old.target.clone());
    if target.as_ref().is_some_and(|t| !t.is_valid()) {
        return Err(StoreError::invalid(
            "target: the calibration-target model is not valid",
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

/// Move an image from position `from` to `to`, shifting the images in between by one.
pub(super) fn move_image(
    tx: &Transaction<'_>,
    project_id: i64,
    image_id: i64,
    from: i64,
    to: i64,
) -> Result<()> {
    let count = image_count(tx, project_id)?;
    if to < 0 || to >= count {
        return Err(StoreError::invalid(format!(
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
mod tests {
    use super::super::test_support::{
        TestResult, add_one, complete, new_image, png, points, temp_store,
    };
    use super::super::{Annotation, PointMeta, PointSource, StoreErrorKind};
    use super::*;
    use crate::engine::ImageStatus;

    fn is_invalid(err: &StoreError) -> bool {
        matches!(err.kind(), StoreErrorKind::Invalid(_))
    }

    #[test]
    fn add_read_update_delete_round_trip() -> TestResult {
        let (dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let id = add_one(
            &store,
            project.id,
            "step-05mm.png",
            1,
            Annotation::default(),
        )?;
        let image = store.image(project.id, id)?;
        assert_eq!(image.filename, "step-05mm.png");
        assert_eq!((image.width, image.height, image.order), (100, 80, 0));
        assert_eq!(image.content_type, "image/png");
        assert_eq!(image.status, ImageStatus::Missing);
        assert_eq!(image.distance_from_filename, Some(5.0));
        assert_eq!(image.deformation_distance, None);

        let done = complete(5.0);
        let (updated, counts) = store.update_image(
            project.id,
            id,
            ImagePatch {
                fiducials: Some(done.fiducials.clone()),
                scale: Some(done.scale.clone()),
                deformation_distance: Some(Some(5.0)),
                ..ImagePatch::default()
            },
        )?;
        assert_eq!(updated.status, ImageStatus::Complete);
        assert_eq!(updated.fiducials, done.fiducials);
        assert_eq!(updated.fiducial_meta, vec![PointMeta::default(); 5]);
        assert_eq!(counts.complete_count, 1);
        assert_eq!(store.image(project.id, id)?, updated);

        let (path, content_type, filename) = store.image_file(project.id, id)?;
        assert_eq!(std::fs::read(&path)?, png(100, 80, 1));
        assert_eq!(
            (content_type.as_str(), filename.as_str()),
            ("image/png", "step-05mm.png")
        );
        assert!(!store.thumbnail(project.id, id)?.is_empty());

        store.delete_image(project.id, id)?;
        assert!(matches!(
            store.image(project.id, id).unwrap_err().kind(),
            StoreErrorKind::NotFound(_)
        ));
        assert!(!path.exists(), "the file no image uses is removed");
        assert_eq!(std::fs::read_dir(dir.path().join("images"))?.count(), 0);
        Ok(())
    }

    #[test]
    fn the_same_file_twice_shares_its_blob_and_gets_a_unique_name() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let first = add_one(&store, project.id, "a.png", 7, Annotation::default())?;
        let second = add_one(&store, project.id, "a.png", 7, Annotation::default())?;
        let (a, b) = (
            store.image(project.id, first)?,
            store.image(project.id, second)?,
        );
        assert_eq!(b.filename, "a (2).png");
        assert_eq!(a.sha256, b.sha256);
        store.delete_image(project.id, first)?;
        let (path, _, _) = store.image_file(project.id, second)?;
        assert!(path.exists(), "a file still used by another image stays");
        Ok(())
    }

    #[test]
    fn reordering_keeps_positions_contiguous() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let ids: Vec<i64> = (0..4)
            .map(|n| {
                add_one(
                    &store,
                    project.id,
                    &format!("{n}.png"),
                    n,
                    Annotation::default(),
                )
            })
            .collect::<Result<_, _>>()?;
        let order = |store: &Store| -> Result<Vec<i64>, StoreError> {
            Ok(store
                .images(project.id, None, 0)?
                .iter()
                .map(|i| i.id)
                .collect())
        };
        let to = |order: i64| ImagePatch {
            order: Some(order),
            ..ImagePatch::default()
        };
        store.update_image(project.id, ids[0], to(2))?;
        assert_eq!(order(&store)?, [ids[1], ids[2], ids[0], ids[3]]);
        store.update_image(project.id, ids[3], to(0))?;
        assert_eq!(order(&store)?, [ids[3], ids[1], ids[2], ids[0]]);
        assert!(is_invalid(
            &store.update_image(project.id, ids[3], to(4)).unwrap_err()
        ));
        assert!(is_invalid(
            &store.update_image(project.id, ids[3], to(-1)).unwrap_err()
        ));
        store.delete_image(project.id, ids[1])?;
        let positions: Vec<i64> = store
            .images(project.id, None, 0)?
            .iter()
            .map(|i| i.order)
            .collect();
        assert_eq!(positions, [0, 1, 2]);
        // A page is an index range on the position.
        let page = store.images(project.id, Some(1), 1)?;
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].id, ids[2]);
        Ok(())
    }

    #[test]
    fn invalid_annotations_are_refused_with_the_file_name() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let bad = [
            Annotation {
                fiducials: points(&[(101.0, 10.0)]),
                ..Annotation::default()
            },
            Annotation {
                fiducials: points(&[(1.0, 1.0); 6]),
                ..Annotation::default()
            },
            Annotation {
                scale: points(&[(5.0, 5.0), (5.0, 5.0)]),
                ..Annotation::default()
            },
            Annotation {
                scale: points(&[(f64::NAN, 5.0)]),
                ..Annotation::default()
            },
            Annotation {
                deformation_distance: Some(f64::INFINITY),
                ..Annotation::default()
            },
            Annotation {
                scale: points(&[(5.0, 5.0)]),
                scale_meta: vec![PointMeta::default(); 2],
                ..Annotation::default()
            },
            Annotation {
                scale: points(&[(5.0, 5.0)]),
                scale_meta: vec![PointMeta {
                    source: PointSource::Auto,
                    confidence: Some(1.5),
                }],
                ..Annotation::default()
            },
            Annotation {
                excluded: Some("a\tb".into()),
                ..Annotation::default()
            },
        ];
        for annotation in bad {
            let staged = store.stage_image(&png(100, 80, 1), "x.png", 1_000_000)?;
            let err = store
                .add_images(
                    project.id,
                    vec![staged],
                    &[new_image(0, "x.png", annotation.clone())],
                    10,
                )
                .unwrap_err();
            assert!(is_invalid(&err), "{annotation:?}: {err}");
            assert!(err.to_string().starts_with("x.png: "), "{err}");
        }
        assert_eq!(store.project(project.id)?.image_count, 0);
        Ok(())
    }

    #[test]
    fn edits_are_validated_against_the_image() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let id = add_one(&store, project.id, "a.png", 1, complete(1.0))?;
        let before = store.image(project.id, id)?;
        let outside = ImagePatch {
            scale: Some(points(&[(0.0, 0.0), (100.0, 80.5)])),
            ..ImagePatch::default()
        };
        assert!(is_invalid(
            &store.update_image(project.id, id, outside).unwrap_err()
        ));
        assert_eq!(
            store.image(project.id, id)?,
            before,
            "a refused edit changes nothing"
        );
        let missing = store
            .update_image(project.id, id + 100, ImagePatch::default())
            .unwrap_err();
        assert!(matches!(missing.kind(), StoreErrorKind::NotFound(_)));
        let no_project = store.image(999, id).unwrap_err();
        assert_eq!(no_project.to_string(), "no project 999");
        Ok(())
    }

    #[test]
    fn provenance_stays_with_points_that_do_not_move() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let mut annotation = complete(1.0);
        let auto = PointMeta {
            source: PointSource::Auto,
            confidence: Some(0.9),
        };
        annotation.fiducial_meta = vec![auto; 5];
        let id = add_one(&store, project.id, "a.png", 1, annotation.clone())?;
        let mut moved = annotation.fiducials.clone();
        moved[4] = points(&[(51.0, 41.0)])[0];
        let (image, _) = store.update_image(
            project.id,
            id,
            ImagePatch {
                fiducials: Some(moved),
                ..ImagePatch::default()
            },
        )?;
        assert_eq!(image.fiducial_meta[..4], [auto; 4]);
        assert_eq!(image.fiducial_meta[4], PointMeta::default());
        Ok(())
    }

    #[test]
    fn exclusion_is_set_trimmed_and_cleared() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let id = add_one(&store, project.id, "a.png", 1, complete(1.0))?;
        let exclude = |reason: Option<&str>| ImagePatch {
            excluded: Some(reason.map(str::to_owned)),
            ..ImagePatch::default()
        };
        let (image, _) = store.update_image(project.id, id, exclude(Some("  blurred ")))?;
        assert_eq!(image.excluded.as_deref(), Some("blurred"));
        let long = "x".repeat(super::super::MAX_EXCLUSION_REASON + 1);
        assert!(is_invalid(
            &store
                .update_image(project.id, id, exclude(Some(&long)))
                .unwrap_err()
        ));
        let (image, _) = store.update_image(project.id, id, exclude(None))?;
        assert_eq!(image.excluded, None);
        Ok(())
    }

    #[test]
    fn the_image_count_limit_is_a_limit_error() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let staged = vec![
            store.stage_image(&png(100, 80, 1), "a.png", 1_000_000)?,
            store.stage_image(&png(100, 80, 2), "b.png", 1_000_000)?,
        ];
        let images = [
            new_image(0, "a.png", Annotation::default()),
            new_image(1, "b.png", Annotation::default()),
        ];
        let err = store
            .add_images(project.id, staged, &images, 1)
            .unwrap_err();
        assert!(matches!(err.kind(), StoreErrorKind::Limit(_)), "{err}");
        assert_eq!(store.project(project.id)?.image_count, 0);
        Ok(())
    }

    #[test]
    fn the_points_read_matches_the_full_read() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        add_one(&store, project.id, "a.png", 1, complete(0.0))?;
        add_one(&store, project.id, "b.png", 2, complete(2.0))?;
        let (p1, full) = store.project_with_images(project.id)?;
        let (p2, light) = store.project_points(project.id)?;
        assert_eq!(p1, p2);
        assert_eq!(full.len(), light.len());
        for (f, l) in full.iter().zip(&light) {
            assert_eq!(
                (f.id, &f.filename, f.order, f.status),
                (l.id, &l.filename, l.order, l.status)
            );
            assert_eq!((&f.fiducials, &f.scale), (&l.fiducials, &l.scale));
            assert_eq!(f.deformation_distance, l.deformation_distance);
            assert_eq!((f.width, f.height), (l.width, l.height));
        }
        Ok(())
    }
}
