//! The camera's focal length from a photo's EXIF, for the perspective correction.
//!
//! The 35 mm-equivalent focal length is read from `FocalLengthIn35mmFilm` when the camera wrote it
//! (phones do); otherwise from `FocalLength` and the sensor's size, which EXIF gives as the
//! focal-plane resolution (`FocalPlaneXResolution`/`YResolution` in pixels per
//! `FocalPlaneResolutionUnit`) and the image's pixel dimensions: the crop factor is the full
//! frame's diagonal (43.27 mm) over the sensor's. Anything missing, zero or outside
//! [`FOCAL_35MM_RANGE`] gives `None` (the engine then uses its default). Works on every container
//! `kamadak-exif` reads: JPEG, TIFF, PNG (`eXIf`), HEIF, WebP.

use exif::{In, Reader, Tag, Value};
use std::io::Cursor;
use strain_seer_engine::scale::{FOCAL_35MM_RANGE, FULL_FRAME_DIAGONAL_MM};

/// The 35 mm-equivalent focal length (mm) the photo's EXIF states or implies, if any.
pub fn focal_35mm(bytes: &[u8]) -> Option<f64> {
    let exif = Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .ok()?;
    let number = |tag: Tag| -> Option<f64> {
        let field = exif.get_field(tag, In::PRIMARY)?;
        let v = match &field.value {
            Value::Short(v) => f64::from(*v.first()?),
            Value::Long(v) => f64::from(*v.first()?),
            Value::Rational(v) => v.first()?.to_f64(),
            _ => return None,
        };
        (v.is_finite() && v > 0.0).then_some(v)
    };
    let in_range = |f: f64| FOCAL_35MM_RANGE.contains(&f).then_some(f);
    if let Some(f) = number(Tag::FocalLengthIn35mmFilm).and_then(in_range) {
        return Some(f);
    }
    let focal = number(Tag::FocalLength)?;
    let unit_mm = match exif
        .get_field(Tag::FocalPlaneResolutionUnit, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
    {
        Some(3) => 10.0,
        Some(4) => 1.0,
        Some(5) => 0.001,
        _ => 25.4, // 2 (inch) is the default
    };
    let sensor = |res: Tag, pixels: Tag| Some(number(pixels)? / number(res)? * unit_mm);
    let w = sensor(Tag::FocalPlaneXResolution, Tag::PixelXDimension)?;
    let h = sensor(Tag::FocalPlaneYResolution, Tag::PixelYDimension)?;
    in_range(focal * FULL_FRAME_DIAGONAL_MM / w.hypot(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use exif::experimental::Writer;
    use exif::{Field, Rational};

    fn tiff(fields: &[Field]) -> Vec<u8> {
        let mut writer = Writer::new();
        for f in fields {
            writer.push_field(f);
        }
        let mut out = Cursor::new(Vec::new());
        writer.write(&mut out, false).unwrap();
        out.into_inner()
    }

    fn field(tag: Tag, value: Value) -> Field {
        Field {
            tag,
            ifd_num: In::PRIMARY,
            value,
        }
    }

    #[test]
    fn the_35mm_equivalent_when_stated() {
        let bytes = tiff(&[
            field(Tag::FocalLengthIn35mmFilm, Value::Short(vec![26])),
            field(
                Tag::FocalLength,
                Value::Rational(vec![Rational {
                    num: 424,
                    denom: 100,
                }]),
            ),
        ]);
        assert_eq!(focal_35mm(&bytes), Some(26.0));
    }

    #[test]
    fn from_the_focal_length_and_the_sensor_size() {
        // A full-frame sensor (36 × 24 mm) of 3600 × 2400 px: 100 px/mm; 50 mm is 50 mm.
        let r = |num, denom| Value::Rational(vec![Rational { num, denom }]);
        let bytes = tiff(&[
            field(Tag::FocalLength, r(50, 1)),
            field(Tag::FocalPlaneXResolution, r(100, 1)),
            field(Tag::FocalPlaneYResolution, r(100, 1)),
            field(Tag::FocalPlaneResolutionUnit, Value::Short(vec![4])),
            field(Tag::PixelXDimension, Value::Long(vec![3600])),
            field(Tag::PixelYDimension, Value::Long(vec![2400])),
        ]);
        let f = focal_35mm(&bytes).unwrap();
        assert!((f - 50.0).abs() < 1e-9, "{f}");
    }

    #[test]
    fn nothing_usable_is_none() {
        assert_eq!(focal_35mm(b"not an image"), None);
        assert_eq!(focal_35mm(&[]), None);
        // 0 means "unknown" in EXIF; a focal length without the sensor size says nothing.
        let bytes = tiff(&[
            field(Tag::FocalLengthIn35mmFilm, Value::Short(vec![0])),
            field(
                Tag::FocalLength,
                Value::Rational(vec![Rational { num: 4, denom: 1 }]),
            ),
        ]);
        assert_eq!(focal_35mm(&bytes), None);
        // A PNG without EXIF (the demo photos).
        let png = include_bytes!("../../../testdata/demo/deformation-00mm-force.png");
        assert_eq!(focal_35mm(png), None);
    }
}
