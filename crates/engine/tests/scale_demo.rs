//! The scale methods on the four demo photos, from detection alone: the strain must not depend
//! on the span chosen for the two scale points once the scale comes from the ruler model.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use strain_seer_engine::detect::{self, MarkerOptions, RulerOptions};
use strain_seer_engine::{AnalysisOptions, Component, ImageInput, ScaleMethod, analyze};

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/demo")
}

const PHOTOS: [(&str, f64); 4] = [
    ("deformation-00mm-force.png", 0.0),
    ("deformation-10mm-force.png", 10.0),
    ("deformation-20mm-force.png", 20.0),
    ("deformation-30mm-force.png", 30.0),
];

/// Detected markers and ruler for each photo, asking for a span of `span_mm`.
fn detected(span_mm: u32) -> Vec<ImageInput> {
    PHOTOS
        .iter()
        .map(|(name, d)| {
            let img = image::open(demo_dir().join(name)).unwrap();
            let markers = detect::detect_markers(&img, &MarkerOptions::default()).unwrap();
            let ruler = detect::detect_ruler(
                &img,
                &RulerOptions {
                    span_mm: Some(span_mm),
                    near_markers: Some(markers.fiducials),
                    ..RulerOptions::default()
                },
            )
            .unwrap();
            ImageInput {
                ruler: Some(ruler.model),
                size: Some([img.width(), img.height()]),
                ..ImageInput::complete(*name, markers.fiducials, ruler.scale_points, *d)
            }
        })
        .collect()
}

fn analyse(images: &[ImageInput], span: u32, method: ScaleMethod) -> Vec<(f64, f64, f64, f64)> {
    let a = analyze(
        images,
        &AnalysisOptions {
            scale_length: f64::from(span),
            scale_method: Some(method),
            ..AnalysisOptions::default()
        },
    )
    .unwrap();
    a.rows
        .iter()
        .map(|r| {
            (
                Component::EpsXx.value(&r.measures),
                Component::EpsYy.value(&r.measures),
                r.uncertainty.small.xx,
                r.uncertainty.small.yy,
            )
        })
        .collect()
}

/// The bug of issue 9: detected with a 10 mm and a 40 mm span, the same photos gave strains
/// 0.07 apart, three times the printed ±. With the ruler model the span no longer matters, and
/// the span scale's own ± now covers its error.
#[test]
fn regression_strain_does_not_depend_on_the_detected_span() {
    let spans = [10u32, 20, 30, 40];
    let sets: Vec<Vec<ImageInput>> = spans.iter().map(|&s| detected(s)).collect();
    for method in [ScaleMethod::Ruler, ScaleMethod::Rectified] {
        let first = analyse(&sets[0], spans[0], method);
        for (set, &span) in sets.iter().zip(&spans).skip(1) {
            assert_eq!(
                analyse(set, span, method),
                first,
                "{method}, span {span} mm"
            );
        }
    }
    // The span scale still moves with the span (that is what it is) ...
    let span_results: Vec<_> = sets
        .iter()
        .zip(&spans)
        .map(|(set, &span)| analyse(set, span, ScaleMethod::Span))
        .collect();
    let spread = (0..4)
        .map(|i| {
            let xs: Vec<f64> = span_results.iter().map(|r| r[i].0).collect();
            xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                - xs.iter().cloned().fold(f64::INFINITY, f64::min)
        })
        .fold(0.0, f64::max);
    assert!(spread > 0.05, "span spread {spread}");
    // ... but its ± now includes the perspective it leaves out: every span result lies within
    // 2 combined standard uncertainties of the perspective-corrected one.
    let rectified = analyse(&sets[0], 10, ScaleMethod::Rectified);
    for r in &span_results {
        for (s, t) in r.iter().zip(&rectified) {
            let (dx, dy) = ((s.0 - t.0).abs(), (s.1 - t.1).abs());
            assert!(
                dx <= 2.0 * (s.2.powi(2) + t.2.powi(2)).sqrt(),
                "εxx {s:?} vs {t:?}"
            );
            assert!(
                dy <= 2.0 * (s.3.powi(2) + t.3.powi(2)).sqrt(),
                "εyy {s:?} vs {t:?}"
            );
        }
    }
}
