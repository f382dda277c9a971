//! Uploaded image files: recognise the format by content, read the dimensions users see (after
//! EXIF orientation), make a thumbnail once, and write the file content-addressed
//! (`images/<sha256>.<ext>`) via a temporary file, fsync and rename.
//!
//! The decoded full-resolution image lives only inside [`inspect_image`]; what is kept is the
//! original file on disk and a small JPEG thumbnail.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

/// Longest side of a thumbnail, px.
pub const THUMBNAIL_SIZE: u32 = 256;
/// JPEG quality of thumbnails.
const THUMBNAIL_QUALITY: u8 = 80;
/// Content type of every stored thumbnail.
pub const THUMBNAIL_TYPE: &str = "image/jpeg";

/// One image format accepted for upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageType {
    /// Name shown to users, e.g. `JPEG`.
    pub name: &'static str,
    /// Extension of the stored file (`images/<sha256>.<ext>`).
    pub ext: &'static str,
    /// Every extension such files usually have (for file pickers; never used to decide).
    pub extensions: &'static [&'static str],
    /// Content type served with the file.
    pub content_type: &'static str,
    format: ImageFormat,
}

/// The image formats accepted for upload, recognised by content (never by extension). The one
/// list: decoding, stored rows, error messages and the UI's file picker (`GET /api/rules`) read it.
pub const IMAGE_TYPES: [ImageType; 5] = [
    ImageType {
        name: "PNG",
        ext: "png",
        extensions: &["png"],
        content_type: "image/png",
        format: ImageFormat::Png,
    },
    ImageType {
        name: "JPEG",
        ext: "jpg",
        extensions: &["jpg", "jpeg"],
        content_type: "image/jpeg",
        format: ImageFormat::Jpeg,
    },
    ImageType {
        name: "GIF",
        ext: "gif",
        extensions: &["gif"],
        content_type: "image/gif",
        format: ImageFormat::Gif,
    },
    ImageType {
        name: "BMP",
        ext: "bmp",
        extensions: &["bmp"],
        content_type: "image/bmp",
        format: ImageFormat::Bmp,
    },
    ImageType {
        name: "TIFF",
        ext: "tiff",
        extensions: &["tif", "tiff"],
        content_type: "image/tiff",
        format: ImageFormat::Tiff,
    },
];

/// The accepted formats as users read them: `PNG, JPEG, GIF, BMP, TIFF`.
pub fn accepted_formats() -> String {
    IMAGE_TYPES.map(|t| t.name).join(", ")
}

/// The accepted type whose stored extension is `ext`.
pub fn image_type_by_ext(ext: &str) -> Option<&'static ImageType> {
    IMAGE_TYPES.iter().find(|t| t.ext == ext)
}

/// Most pixels (width × height) an image may have unless configured otherwise: the web app's
/// `--max-pixels` default and the command line's limit.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// What an image file is, once recognised and decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// File extension used on disk (`png`, `jpg`, `gif`, `bmp`, `tiff`).
    pub ext: &'static str,
    pub content_type: &'static str,
    /// Width and height after EXIF orientation: the pixel grid the points refer to.
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    /// JPEG, longest side at most [`THUMBNAIL_SIZE`].
    pub thumbnail: Vec<u8>,
    /// The 35 mm-equivalent focal length from the file's EXIF, mm.
    pub focal_35mm: Option<f64>,
}

/// Why an uploaded file was refused. Each message names the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImageError {
    #[error(
        "{filename}: not a supported image (accepted: {}; detected by content)",
        accepted_formats()
    )]
    Unsupported { filename: String },
    #[error("{filename}: the file is empty")]
    Empty { filename: String },
    #[error("{filename}: {width}×{height} px is more than the limit of {max_pixels} pixels")]
    TooManyPixels {
        filename: String,
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("{filename}: the image cannot be read ({reason})")]
    Corrupt { filename: String, reason: String },
    /// Decoding would need more memory than the pixel limit allows (e.g. 32-bit float samples).
    #[error(
        "{filename}: decoding needs {needed_mib} MiB of memory, more than the limit of {limit_mib} MiB"
    )]
    TooMuchMemory {
        filename: String,
        needed_mib: u64,
        limit_mib: u64,
    },
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn format_of(format: ImageFormat) -> Option<(&'static str, &'static str)> {
    IMAGE_TYPES
        .iter()
        .find(|t| t.format == format)
        .map(|t| (t.ext, t.content_type))
}

/// The decoder limits for images of at most `max_pixels`: the decoders may allocate at most
/// 8 bytes per allowed pixel (16-bit RGBA), and never less than 64 MiB, for the image and
/// their own buffers. Dimensions are left unlimited here so that the header is always read and
/// an oversized image is refused by its pixel count, with its size in the message.
pub fn decoder_limits(max_pixels: u64) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(64 * 1024 * 1024));
    limits
}

/// Most images decoded at the same time by this process: each may take up to
/// [`decoder_limits`]`.max_alloc` of memory, so concurrent uploads wait for a permit.
fn max_concurrent_decodes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4))
}

static DECODES: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

/// A permit to decode one image; released on drop.
struct DecodePermit;

impl DecodePermit {
    fn acquire() -> DecodePermit {
        let (count, freed) = &DECODES;
        let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
        while *n >= max_concurrent_decodes() {
            n = freed.wait(n).unwrap_or_else(|p| p.into_inner());
        }
        *n += 1;
        DecodePermit
    }
}

impl Drop for DecodePermit {
    fn drop(&mut self) {
        let (count, freed) = &DECODES;
        let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(1);
        freed.notify_one();
    }
}

/// Decode an image file as users see it: format recognised by content, pixel count checked
/// from the header before any pixel is decoded, decoder memory bounded by [`decoder_limits`],
/// EXIF orientation applied.
/// Returns the format's (extension, content type) and the image.
/// At most a few images are decoded at once (see `max_concurrent_decodes`); the caller holds
/// the returned image's memory outside that count.
pub fn decode_oriented(
    bytes: &[u8],
    filename: &str,
    max_pixels: u64,
) -> Result<(&'static str, &'static str, DynamicImage), ImageError> {
    let _permit = DecodePermit::acquire();
    decode_oriented_unpermitted(bytes, filename, max_pixels)
}

fn decode_oriented_unpermitted(
    bytes: &[u8],
    filename: &str,
    max_pixels: u64,
) -> Result<(&'static str, &'static str, DynamicImage), ImageError> {
    let corrupt = |err: &dyn std::fmt::Display| ImageError::Corrupt {
        filename: filename.to_owned(),
        reason: err.to_string(),
    };
    if bytes.is_empty() {
        return Err(ImageError::Empty {
            filename: filename.to_owned(),
        });
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| corrupt(&e))?;
    let limits = decoder_limits(max_pixels);
    let max_alloc = limits.max_alloc.unwrap_or(u64::MAX);
    reader.limits(limits);
    let (ext, content_type) =
        reader
            .format()
            .and_then(format_of)
            .ok_or_else(|| ImageError::Unsupported {
                filename: filename.to_owned(),
            })?;
    let mut decoder = reader.into_decoder().map_err(|e| corrupt(&e))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImageError::TooManyPixels {
            filename: filename.to_owned(),
            width,
            height,
            max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(corrupt(&"the image has no pixels"));
    }
    if decoder.total_bytes() > max_alloc {
        return Err(ImageError::TooMuchMemory {
            filename: filename.to_owned(),
            needed_mib: decoder.total_bytes().div_ceil(1024 * 1024),
            limit_mib: max_alloc / (1024 * 1024),
        });
    }
    let orientation = decoder.orientation().map_err(|e| corrupt(&e))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| corrupt(&e))?;
    image.apply_orientation(orientation);
    Ok((ext, content_type, image))
}

/// Recognise, decode and thumbnail an uploaded file. The decoded image is dropped on return.
/// Also the entry point of the image fuzz target (`fuzz/fuzz_targets/image_upload.rs`).
pub fn inspect_image(
    bytes: &[u8],
    filename: &str,
    max_pixels: u64,
) -> Result<ImageInfo, ImageError> {
    let _permit = DecodePermit::acquire();
    let (ext, content_type, image) = decode_oriented_unpermitted(bytes, filename, max_pixels)?;
    let (width, height) = (image.width(), image.height());
    let thumb = image.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE).to_rgb8();
    drop(image);
    let mut thumbnail = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut thumbnail, THUMBNAIL_QUALITY)
        .encode_image(&thumb)
        .map_err(|e| ImageError::Corrupt {
            filename: filename.to_owned(),
            reason: format!("thumbnail: {e}"),
        })?;
    Ok(ImageInfo {
        sha256: sha256_hex(bytes),
        ext,
        content_type,
        width,
        height,
        size_bytes: bytes.len() as u64,
        thumbnail,
        focal_35mm: crate::formats::exif::focal_35mm(bytes),
    })
}

/// A file written to the data directory's `tmp/`, removed on drop unless it was moved into place.
#[derive(Debug)]
pub struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    /// Write `bytes` to a new file in `dir` and fsync it.
    pub fn write(dir: &Path, bytes: &[u8]) -> io::Result<TempFile> {
        let name = format!("upload-{:016x}.part", rand::random::<u64>());
        let path = dir.join(name);
        let mut file = File::create_new(&path)?;
        // From here on the file is ours: the guard removes it if writing fails.
        let guard = TempFile { path: Some(path) };
        file.write_all(bytes)?;
        file.sync_all()?;
        Ok(guard)
    }

    /// Move the file to `target` (atomic rename on the same file system) and fsync the directory,
    /// so that the file survives a crash once this returns.
    pub fn persist(mut self, target: &Path) -> io::Result<()> {
        let Some(path) = self.path.take() else {
            return Ok(());
        };
        if let Err(err) = fs::rename(&path, target) {
            let _ = fs::remove_file(&path);
            return Err(err);
        }
        if let Some(parent) = target.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// fsync a directory so that renames and new entries in it are durable (no-op where
/// directories cannot be opened, e.g. Windows).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn encode(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let img = ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 7u8])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(img)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn every_accepted_format_is_recognised_by_content() {
        for (format, ext) in [
            (ImageFormat::Png, "png"),
            (ImageFormat::Jpeg, "jpg"),
            (ImageFormat::Gif, "gif"),
            (ImageFormat::Bmp, "bmp"),
            (ImageFormat::Tiff, "tiff"),
        ] {
            let info =
                inspect_image(&encode(format, 300, 200), "lying-name.txt", 1_000_000).unwrap();
            assert_eq!(info.ext, ext);
            assert_eq!((info.width, info.height), (300, 200));
            let thumb = image::load_from_memory(&info.thumbnail).unwrap();
            assert_eq!((thumb.width(), thumb.height()), (256, 171));
        }
    }

    #[test]
    fn text_is_unsupported_and_named() {
        let err = inspect_image(b"hello, not an image", "notes.png", 1_000_000).unwrap_err();
        assert!(matches!(err, ImageError::Unsupported { .. }));
        assert!(
            err.to_string()
                .starts_with("notes.png: not a supported image")
        );
    }

    #[test]
    fn empty_and_truncated_files_are_refused() {
        assert!(matches!(
            inspect_image(b"", "e.png", 100),
            Err(ImageError::Empty { .. })
        ));
        let png = encode(ImageFormat::Png, 50, 50);
        let err = inspect_image(&png[..png.len() / 2], "half.png", 1_000_000).unwrap_err();
        assert!(matches!(err, ImageError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn pixel_limit_is_checked_before_decoding() {
        let err = inspect_image(&encode(ImageFormat::Png, 100, 100), "big.png", 9_999).unwrap_err();
        assert!(matches!(
            err,
            ImageError::TooManyPixels {
                width: 100,
                height: 100,
                ..
            }
        ));
    }

    #[test]
    fn temp_files_vanish_unless_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let path = {
            let tmp = TempFile::write(dir.path(), b"abc").unwrap();
            tmp.path.clone().unwrap()
        };
        assert!(!path.exists());
        let tmp = TempFile::write(dir.path(), b"abc").unwrap();
        let target = dir.path().join("kept");
        tmp.persist(&target).unwrap();
        assert_eq!(fs::read(target).unwrap(), b"abc");
    }
}
