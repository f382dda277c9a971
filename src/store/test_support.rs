//! Helpers for the store's unit tests: a store in a temporary directory and small images made
//! in memory.

use super::{Annotation, NewImage, Store};
use crate::engine::Point;
use std::io::Cursor;
use tempfile::TempDir;

/// The error type of the tests: any failure ends the test with its message.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A store in a fresh temporary directory (kept while the returned guard lives).
pub fn temp_store() -> Result<(TempDir, Store), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    Ok((dir, store))
}

/// A `width`×`height` PNG whose pixels depend on `seed` (different seeds, different files).
pub fn png(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([seed, (x % 256) as u8, (y % 256) as u8])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    bytes
}

/// Points `(x, y)` as engine points.
pub fn points(xy: &[(f64, f64)]) -> Vec<Point> {
    xy.iter().map(|&(x, y)| Point::new(x, y)).collect()
}

/// A new image using staged file `staged`, with this annotation.
pub fn new_image(staged: usize, filename: &str, annotation: Annotation) -> NewImage {
    NewImage {
        staged,
        filename: filename.to_owned(),
        annotation,
    }
}

/// Five fiducials and two scale points inside a 100×80 image, and a distance: a complete
/// annotation.
pub fn complete(distance: f64) -> Annotation {
    Annotation {
        fiducials: points(&[
            (10.0, 10.0),
            (90.0, 10.0),
            (90.0, 70.0),
            (10.0, 70.0),
            (50.0, 40.0),
        ]),
        scale: points(&[(5.0, 75.0), (95.0, 75.0)]),
        deformation_distance: Some(distance),
        ..Annotation::default()
    }
}

/// Add one 100×80 image (pixels from `seed`) to a project; returns its id.
pub fn add_one(
    store: &Store,
    project_id: i64,
    filename: &str,
    seed: u8,
    annotation: Annotation,
) -> Result<i64, Box<dyn std::error::Error>> {
    let staged = store.stage_image(&png(100, 80, seed), filename, 1_000_000)?;
    let added = store.add_images(
        project_id,
        vec![staged],
        &[new_image(0, filename, annotation)],
        1_000,
    )?;
    Ok(added[0].id)
}
