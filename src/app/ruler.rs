//! Which span the ruler detector is asked for, given the project's scale length.
//!
//! Two scale points mean "these points are the scale length apart", so the detector is asked
//! for exactly that span when the length is a whole number of millimetres (1 mm to 10 m) and the
//! graduation shows it. Otherwise it falls back to the longest span the graduation offers: the
//! detector's own choice, or the whole centimetres of what it reports visible. A fallback comes
//! with the reason, and the caller then sets the project's scale length to the span found (the
//! web app does so only when no other image has scale points). A detection error after a
//! fallback names both the reason and the error.

use crate::engine::Fiducials;
use crate::engine::detect::{self, AsLuma, DetectError, RulerDetection, RulerOptions};

/// Largest scale length (mm) the ruler detector is asked for; longer ones are never on a photo.
const MAX_RULER_SPAN_MM: f64 = 10_000.0;

/// A length in mm as people write it: `40`, `12.5`.
pub fn mm(v: f64) -> String {
    format!("{}", super::round3(v))
}

/// The scale length as a whole number of mm the ruler detector can be asked for.
pub fn whole_mm(scale_length: f64) -> Option<u32> {
    let n = scale_length.round();
    ((scale_length - n).abs() < 1e-6 && (1.0..=MAX_RULER_SPAN_MM).contains(&n)).then_some(n as u32)
}

/// What [`detect_span`] found.
#[derive(Debug)]
pub struct SpanDetection {
    /// The detection, or why none was found (with the fallback's reason first, when there was one).
    pub result: Result<RulerDetection, String>,
    /// Set when the span is not the scale length: why (the scale length must then change to it).
    pub fallback_reason: Option<String>,
}

/// Find the ruler and two scale points `scale_length` mm apart, or the longest span it shows
/// (see the module documentation). `near` are the markers, when known: the span is centred on
/// them where the graduation allows.
pub fn detect_span<I: AsLuma + ?Sized>(
    image: &I,
    scale_length: f64,
    near: Option<Fiducials>,
) -> SpanDetection {
    let run = |span_mm: Option<u32>| {
        detect::detect_ruler(
            image,
            &RulerOptions {
                span_mm,
                near_markers: near,
                ..RulerOptions::default()
            },
        )
    };
    // The longest span the graduation offers: the detector's choice (whole centimetres), or the
    // whole centimetres of what it reports available.
    let longest = || match run(None) {
        Err(DetectError::RulerTooShort { available_mm, .. }) if available_mm >= 10 => {
            run(Some(available_mm / 10 * 10))
        }
        other => other,
    };
    let shown = mm(scale_length);
    let (result, fallback_reason) = match whole_mm(scale_length) {
        Some(span) => match run(Some(span)) {
            Ok(found) => (Ok(found), None),
            Err(DetectError::RulerTooShort { available_mm, .. }) => (
                longest(),
                Some(format!(
                    "the ruler's graduation shows only {available_mm} mm, less than the scale length of {shown} mm"
                )),
            ),
            Err(e) => (Err(e), None),
        },
        None => (
            longest(),
            Some(format!(
                "the scale length of {shown} mm is not a whole number of millimetres, which the ruler detector needs"
            )),
        ),
    };
    let result = result.map_err(|e| match &fallback_reason {
        Some(reason) => format!("{reason}, and no shorter span was found: {e}"),
        None => e.to_string(),
    });
    SpanDetection {
        result,
        fallback_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_millimetres() {
        assert_eq!(whole_mm(40.0), Some(40));
        assert_eq!(whole_mm(10.0000000001), Some(10));
        assert_eq!(whole_mm(12.5), None);
        assert_eq!(whole_mm(0.4), None);
        assert_eq!(whole_mm(1e12), None);
        assert_eq!(whole_mm(f64::NAN), None);
    }

    #[test]
    fn lengths_print_as_written() {
        assert_eq!(mm(40.0), "40");
        assert_eq!(mm(12.5), "12.5");
        assert_eq!(mm(12.3456), "12.346");
    }
}
