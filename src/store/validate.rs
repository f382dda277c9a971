//! The rules a project's settings and an image's annotation must follow, checked before anything
//! is written: names, scale length, σ, focal length, target pitch, points inside the image,
//! provenance, distance and exclusion reasons. Each returns [`StoreErrorKind::Invalid`](super::StoreErrorKind::Invalid)
//! with a message meant for the user.

use super::error::{Result, StoreError};
use super::model::PointMeta;
use crate::engine::scale::FOCAL_35MM_RANGE;
use crate::engine::{ImageStatus, Point};

/// Most fiducial points per image (0 TL, 1 TR, 2 BR, 3 BL, 4 centre).
pub const MAX_FIDUCIALS: usize = 5;
/// Most scale points per image.
pub const MAX_SCALE_POINTS: usize = 2;
/// Longest project name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Status of an image from its points and distance (docs/strain.md §1). Two coincident scale points are
/// refused on input, so two scale points always count.
pub fn image_status(fiducials: usize, scale: usize, distance: Option<f64>) -> ImageStatus {
    ImageStatus::from_counts(fiducials, scale, distance.is_some())
}

/// Check a project name and return it trimmed.
pub fn validate_name(name: &str) -> Result<String> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(StoreError::invalid("the project name is empty"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::invalid(format!(
            "the project name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "the project name contains control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// The scale length must be a finite number of mm greater than 0.
pub fn validate_scale_length(value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(StoreError::invalid(format!(
            "scale_length must be a finite number of mm greater than 0, got {value}"
        )))
    }
}

/// The point uncertainty must be a finite number of px, 0 or more.
pub fn validate_sigma(value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(StoreError::invalid(format!(
            "sigma_px must be a finite number of pixels, 0 or more, got {value}"
        )))
    }
}

/// A 35 mm-equivalent focal length the perspective correction accepts, mm.
pub fn validate_focal(value: f64) -> Result<f64> {
    if FOCAL_35MM_RANGE.contains(&value) {
        Ok(value)
    } else {
        Err(StoreError::invalid(format!(
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
        return Err(StoreError::invalid(format!(
            "at most {max} {role} points are allowed, got {}",
            points.len()
        )));
    }
    for (index, p) in points.iter().enumerate() {
        if !p.is_finite() {
            return Err(StoreError::invalid(format!(
                "{role} point {index} is not a finite number"
            )));
        }
        if p.x < 0.0 || p.y < 0.0 || p.x > f64::from(width) || p.y > f64::from(height) {
            return Err(StoreError::invalid(format!(
                "{role} point {index} ({}, {}) is outside the image ({width}×{height} px)",
                p.x, p.y
            )));
        }
    }
    if role == "scale" && points.len() == 2 && points[0].distance(points[1]) < 1e-9 {
        return Err(StoreError::invalid(format!(
            "the two scale points coincide at ({}, {})",
            points[0].x, points[0].y
        )));
    }
    Ok(())
}

pub(super) fn validate_meta(role: &str, meta: &[PointMeta], points: usize) -> Result<()> {
    if meta.len() != points {
        return Err(StoreError::invalid(format!(
            "{role}_meta has {} entries but there are {points} {role} points",
            meta.len()
        )));
    }
    if let Some(index) = meta
        .iter()
        .position(|m| m.confidence.is_some_and(|c| !(0.0..=1.0).contains(&c)))
    {
        return Err(StoreError::invalid(format!(
            "{role}_meta {index}: confidence must be a number from 0 to 1"
        )));
    }
    Ok(())
}

pub(super) fn validate_distance(distance: Option<f64>) -> Result<()> {
    match distance {
        Some(d) if !d.is_finite() => Err(StoreError::invalid(format!(
            "deformation_distance must be a finite number of mm, got {d}"
        ))),
        _ => Ok(()),
    }
}

/// Meta for a new point list: given → checked; absent → kept for points that did not move,
/// manual for the others.
pub(super) fn merge_meta(
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

/// A target pitch, when given, must be a positive number of mm up to 100.
pub fn validate_target_pitch(value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 && value <= 100.0 {
        Ok(value)
    } else {
        Err(StoreError::invalid(format!(
            "target_pitch_mm must be the distance between the calibration target's dots, more than 0 and at most 100 mm, got {value}"
        )))
    }
}

/// Largest cross-section area accepted, mm² (1 m²).
pub const MAX_AREA_MM2: f64 = 1e6;

/// A cross-section area, when given, must be a positive number of mm² up to [`MAX_AREA_MM2`].
pub fn validate_area(value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 && value <= MAX_AREA_MM2 {
        Ok(value)
    } else {
        Err(StoreError::invalid(format!(
            "area_mm2 must be the specimen's cross-section area, more than 0 and at most {MAX_AREA_MM2} mm², got {value}"
        )))
    }
}

pub(super) fn non_empty(meta: &[PointMeta]) -> Option<Vec<PointMeta>> {
    if meta.is_empty() {
        None
    } else {
        Some(meta.to_vec())
    }
}

/// Longest reason for an exclusion, in characters.
pub const MAX_EXCLUSION_REASON: usize = 500;

/// A reason for excluding an image: at most [`MAX_EXCLUSION_REASON`] characters, no control
/// characters; surrounding white space is trimmed.
pub fn validate_exclusion_reason(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.chars().count() > MAX_EXCLUSION_REASON {
        return Err(StoreError::invalid(format!(
            "excluded: the reason must be at most {MAX_EXCLUSION_REASON} characters, got {}",
            reason.chars().count()
        )));
    }
    if reason.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "excluded: the reason must not contain control characters (line breaks, tabs)",
        ));
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::StoreErrorKind;
    use super::*;

    fn invalid<T: std::fmt::Debug>(result: Result<T>) -> String {
        match result {
            Err(err) if matches!(err.kind(), StoreErrorKind::Invalid(_)) => err.to_string(),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(validate_name("  Beam ").unwrap(), "Beam");
        assert_eq!(
            validate_name(&"é".repeat(MAX_NAME_CHARS))
                .unwrap()
                .chars()
                .count(),
            MAX_NAME_CHARS
        );
        assert!(invalid(validate_name(" \t ")).contains("empty"));
        assert!(invalid(validate_name(&"é".repeat(MAX_NAME_CHARS + 1))).contains("longer"));
        assert!(invalid(validate_name("a\u{7}b")).contains("control"));
    }

    #[test]
    fn numbers_are_checked_against_their_ranges() {
        assert_eq!(validate_scale_length(10.0).unwrap(), 10.0);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            invalid(validate_scale_length(bad));
        }
        assert_eq!(validate_sigma(0.0).unwrap(), 0.0);
        for bad in [-0.1, f64::NAN] {
            invalid(validate_sigma(bad));
        }
        assert_eq!(
            validate_focal(*FOCAL_35MM_RANGE.start()).unwrap(),
            *FOCAL_35MM_RANGE.start()
        );
        invalid(validate_focal(FOCAL_35MM_RANGE.end() + 1.0));
        assert_eq!(validate_target_pitch(100.0).unwrap(), 100.0);
        assert_eq!(validate_area(12.5).unwrap(), 12.5);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 2e6] {
            invalid(validate_area(bad));
        }
        for bad in [0.0, 100.1, f64::NAN] {
            invalid(validate_target_pitch(bad));
        }
        assert!(validate_distance(None).is_ok());
        assert!(validate_distance(Some(-3.0)).is_ok());
        invalid(validate_distance(Some(f64::NAN)));
    }

    #[test]
    fn points_must_lie_inside_the_image() {
        let p = |x, y| Point::new(x, y);
        assert!(validate_points("fiducial", &[p(0.0, 0.0), p(100.0, 80.0)], 5, 100, 80).is_ok());
        assert!(
            invalid(validate_points("fiducial", &[p(100.1, 0.0)], 5, 100, 80)).contains("outside")
        );
        assert!(
            invalid(validate_points("fiducial", &[p(-0.1, 0.0)], 5, 100, 80)).contains("outside")
        );
        assert!(
            invalid(validate_points("scale", &[p(1.0, 1.0); 3], 2, 100, 80)).contains("at most 2")
        );
        assert!(
            invalid(validate_points("scale", &[p(f64::NAN, 1.0)], 2, 100, 80)).contains("finite")
        );
        assert!(
            invalid(validate_points("scale", &[p(1.0, 1.0); 2], 2, 100, 80)).contains("coincide")
        );
        // Only scale points must be distinct.
        assert!(validate_points("fiducial", &[p(1.0, 1.0); 2], 5, 100, 80).is_ok());
    }

    #[test]
    fn provenance_matches_its_points() {
        let manual = PointMeta::default();
        let pts = [Point::new(1.0, 1.0), Point::new(2.0, 2.0)];
        assert!(
            invalid(merge_meta("scale", &pts, Some(vec![manual]), &[], &[])).contains("1 entries")
        );
        let bad = PointMeta {
            confidence: Some(-0.1),
            ..manual
        };
        invalid(merge_meta("scale", &pts, Some(vec![manual, bad]), &[], &[]));
        assert_eq!(
            merge_meta("scale", &pts, None, &[], &[]).unwrap(),
            [manual; 2]
        );
    }

    #[test]
    fn image_status_follows_the_counts() {
        assert_eq!(image_status(5, 2, Some(0.0)), ImageStatus::Complete);
        assert_eq!(image_status(5, 2, None), ImageStatus::MissingDistance);
        assert_eq!(image_status(0, 0, None), ImageStatus::Missing);
        assert_eq!(image_status(3, 2, Some(1.0)), ImageStatus::Incomplete);
    }

    #[test]
    fn exclusion_reasons_are_trimmed_and_bounded() {
        assert_eq!(
            validate_exclusion_reason("  out of focus ").unwrap(),
            "out of focus"
        );
        assert_eq!(validate_exclusion_reason("").unwrap(), "");
        invalid(validate_exclusion_reason(
            &"x".repeat(MAX_EXCLUSION_REASON + 1),
        ));
        invalid(validate_exclusion_reason("a\nb"));
    }
}
