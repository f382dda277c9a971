//! The image files on disk and their `blobs` rows: staging an upload in `tmp/`, moving staged
//! files into place with the transaction that needs them, dropping files no image uses any more,
//! and clearing what an interrupted upload left behind. Every move or removal holds the
//! store's `blob_lock`.

use super::blobs::{self, ImageInfo, TempFile};
use super::error::{Result, StoreError};
use super::model::StagedImage;
use super::{Store, lock, now};
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::HashSet;
use std::fs;

/// Shas among `candidates` that no image uses any more; their blob rows are deleted.
pub(super) fn drop_unreferenced_blobs(
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
    /// Remove leftovers of interrupted uploads: everything in `tmp/` and image files no row uses.
    pub(super) fn collect_garbage(&self) -> Result<()> {
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

    pub(super) fn remove_files(&self, blobs: &[(String, String)]) {
        for (sha, ext) in blobs {
            let path = self.blob_path(sha, ext);
            if let Err(err) = fs::remove_file(&path)
                && err.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %err, "cannot remove an unused image file");
            }
        }
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
            && let Some(stored) = blobs::image_type_by_ext(&ext)
            && stored.content_type == content_type
            && self.blob_path(&sha, stored.ext).exists()
        {
            return Ok(StagedImage {
                info: ImageInfo {
                    sha256: sha,
                    ext: stored.ext,
                    content_type: stored.content_type,
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

    /// Move staged files into place and run `write` in a transaction; on failure remove the
    /// files this call put in place.
    pub(super) fn insert<T>(
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
                            return Err(StoreError::conflict(format!(
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
}

#[cfg(test)]
mod tests {
    use super::super::StoreErrorKind;
    use super::super::test_support::{TestResult, add_one, png, temp_store};
    use super::*;
    use crate::store::blobs::ImageError;

    #[test]
    fn a_file_that_is_not_an_image_is_refused() -> TestResult {
        let (_dir, store) = temp_store()?;
        let err = store
            .stage_image(b"not an image", "x.png", 1_000_000)
            .unwrap_err();
        assert!(matches!(
            err.kind(),
            StoreErrorKind::Image(ImageError::Unsupported { .. })
        ));
        let err = store
            .stage_image(&png(100, 80, 1), "big.png", 100)
            .unwrap_err();
        assert!(matches!(
            err.kind(),
            StoreErrorKind::Image(ImageError::TooManyPixels { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_stored_file_is_not_staged_again() -> TestResult {
        let (_dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        add_one(&store, project.id, "a.png", 1, Default::default())?;
        let again = store.stage_image(&png(100, 80, 1), "copy.png", 1_000_000)?;
        assert!(again.temp.is_none());
        assert!(again.info.thumbnail.is_empty());
        assert_eq!((again.info.width, again.info.height), (100, 80));
        assert_eq!(again.info.ext, "png");
        Ok(())
    }

    #[test]
    fn opening_removes_leftovers_of_interrupted_uploads() -> TestResult {
        let (dir, store) = temp_store()?;
        let project = store.create_project("p")?;
        let id = add_one(&store, project.id, "a.png", 1, Default::default())?;
        let (kept, _, _) = store.image_file(project.id, id)?;
        store.close()?;
        let stray_tmp = dir.path().join("tmp").join("upload-123");
        let stray_image = dir.path().join("images").join("0000.png");
        std::fs::write(&stray_tmp, b"half")?;
        std::fs::write(&stray_image, b"orphan")?;
        let store = Store::open(dir.path())?;
        assert!(!stray_tmp.exists());
        assert!(!stray_image.exists());
        assert!(kept.exists());
        assert_eq!(store.image(project.id, id)?.filename, "a.png");
        Ok(())
    }

    #[test]
    fn a_failed_insert_removes_the_files_it_placed() -> TestResult {
        let (dir, store) = temp_store()?;
        let staged = store.stage_image(&png(100, 80, 9), "a.png", 1_000_000)?;
        let err = store
            .insert(vec![staged], |_, _, _| -> Result<()> {
                Err(StoreError::invalid("refused"))
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "refused");
        assert_eq!(std::fs::read_dir(dir.path().join("images"))?.count(), 0);
        assert_eq!(std::fs::read_dir(dir.path().join("tmp"))?.count(), 0);
        Ok(())
    }

    #[test]
    fn stored_extensions_map_to_the_accepted_types() {
        for t in blobs::IMAGE_TYPES {
            assert_eq!(blobs::image_type_by_ext(t.ext), Some(&t));
        }
        assert_eq!(blobs::image_type_by_ext("exe"), None);
    }
}
