//! Property tests of the two JSON formats: random projects round-trip byte-identically through
//! the project JSON, the Python annotation JSON keeps every point, and no input makes a parser
//! panic.

use proptest::prelude::*;
use strain_seer_engine::scale::GridDot;
use strain_seer_engine::{Point, RulerModel, ScaleMethod, TargetModel};
use strain_seer_formats::{
    AnnotatedPoint, FileFormat, PointSource, Project, ProjectImage, detect_format, parse_any,
    parse_any_with_format, parse_project_json, parse_python_annotations, to_annotation_json,
    to_project_json,
};

/// Any finite float, including subnormals, ±0 and extremes.
fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        -5000.0..5000.0f64,
        (-5000i32..5000).prop_map(f64::from),
    ]
}

fn positive() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::POSITIVE | prop::num::f64::NORMAL,
        0.001..1000.0f64
    ]
}

fn point() -> impl Strategy<Value = AnnotatedPoint> {
    (
        finite(),
        finite(),
        any::<bool>(),
        prop::option::of(0.0..=1.0f64),
    )
        .prop_map(|(x, y, auto, confidence)| {
            if auto {
                AnnotatedPoint::auto(Point::new(x, y), confidence)
            } else {
                AnnotatedPoint::manual(Point::new(x, y))
            }
        })
}

/// Text including quotes, backslashes, control characters and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9_.-]{1,12}", "\\PC{1,10}", any::<String>()]
}

fn image(index: usize) -> impl Strategy<Value = ProjectImage> {
    (
        text(),
        text(),
        any::<i64>(),
        prop::option::of("[0-9a-f]{64}"),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u32>()),
        prop::option::of(finite()),
        prop::collection::vec(point(), 0..=5),
        prop::collection::vec(point(), 0..=2),
    )
        .prop_map(
            move |(id, name, order, sha256, width, height, distance, fiducials, mut scale)| {
                if let [a, b] = scale.as_mut_slice()
                    && a.point.distance(b.point) < 1e-6
                {
                    b.point.x = a.point.x + 10.0;
                    b.point.y = a.point.y - 7.0;
                }
                ProjectImage {
                    id: format!("{index}:{id}"),
                    filename: format!("{index}-{name}"),
                    order,
                    sha256,
                    width,
                    height,
                    deformation_distance: distance,
                    fiducials,
                    scale_points: scale,
                    // Every other image carries a detected ruler model and an EXIF focal length.
                    ruler: (order % 2 == 0).then(|| ruler_model(order)),
                    focal_35mm: (order % 3 == 0)
                        .then_some(26.0 + order.rem_euclid(8) as f64 * 0.125),
                    // Every third, a calibration-target model.
                    target: (order % 3 == 1).then(|| target_model(order)),
                    // Every fourth, excluded from the fits with a reason ("" included).
                    excluded: (order % 4 == 1).then(|| {
                        ["blurred, \"moved\"", ""][order.rem_euclid(8) as usize / 4].to_owned()
                    }),
                    // Every fifth, a film's frame with its time and (every tenth) the force.
                    time_s: (order % 5 == 2).then_some(0.1 + order.rem_euclid(50) as f64 * 0.033),
                    force_n: (order % 10 == 2).then_some(1234.5 + order.rem_euclid(7) as f64 / 3.0),
                }
            },
        )
}

/// A valid ruler model whose numbers depend on `k` (shortest round-trip floats included).
fn ruler_model(k: i64) -> RulerModel {
    let mm: Vec<f64> = (0..40).map(f64::from).collect();
    let u: Vec<f64> = mm
        .iter()
        .map(|m| (11.3 * m + 0.1 * k as f64) / (0.0017 * m + 1.0))
        .collect();
    RulerModel::fit(
        Point::new(100.25, 800.0 + k as f64),
        [0.05, -1.0],
        &mm,
        &u,
        Some(3.0),
    )
    .expect("a valid model")
}

/// A valid calibration-target model whose numbers depend on `k`, with a radial term.
fn target_model(k: i64) -> TargetModel {
    let h = [
        11.0,
        0.3,
        400.0 + k as f64,
        -0.2,
        10.8,
        300.0,
        0.0004,
        -0.0002,
        1.0,
    ];
    let mut dots = Vec::new();
    for j in 0..8 {
        for i in 0..10 {
            let (x, y) = (5.0 * f64::from(i), 5.0 * f64::from(j));
            let w = h[6] * x + h[7] * y + 1.0;
            let (u, v) = (
                (h[0] * x + h[1] * y + h[2]) / w,
                (h[3] * x + h[4] * y + h[5]) / w,
            );
            // A little radial distortion about (600, 450) and a deterministic wobble.
            let (dx, dy) = (u - 600.0, v - 450.0);
            let f = 1.0 - 0.05 * (dx * dx + dy * dy) / (750.0 * 750.0);
            let e = 0.03 * f64::from((i * 7 + j * 3) % 5) - 0.06;
            dots.push(GridDot {
                index: [i, j],
                image: Point::new(600.0 + dx * f + e, 450.0 + dy * f - e),
            });
        }
    }
    TargetModel::fit(&dots, 5.0, [1200, 900], true).expect("a valid model")
}

fn project() -> impl Strategy<Value = Project> {
    (0usize..7)
        .prop_flat_map(|n| {
            let images: Vec<_> = (0..n).map(image).collect();
            (
                text(),
                positive(),
                prop_oneof![Just(0.0), positive()],
                images,
                any::<prop::sample::Index>(),
                any::<bool>(),
            )
        })
        .prop_map(
            |(name, scale_length, sigma_px, images, pick, with_reference)| {
                let reference = (with_reference && !images.is_empty())
                    .then(|| images[pick.index(images.len())].filename.clone());
                let methods = [
                    None,
                    Some(ScaleMethod::Span),
                    Some(ScaleMethod::Ruler),
                    Some(ScaleMethod::Rectified),
                    Some(ScaleMethod::Target),
                ];
                Project {
                    name,
                    scale_length,
                    reference,
                    sigma_px,
                    scale_method: methods[pick.index(methods.len())],
                    focal_35mm: with_reference.then_some(24.5),
                    target_pitch_mm: (!with_reference).then_some(5.0),
                    area_mm2: with_reference.then_some(78.5),
                    images,
                }
            },
        )
}

fn sorted(mut p: Project) -> Project {
    p.sort_images();
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn project_json_round_trips_byte_identically(p in project()) {
        prop_assert!(p.validate().is_ok(), "{:?}", p.validate());
        let first = to_project_json(&p);
        prop_assert_eq!(detect_format(&first).unwrap(), FileFormat::Project);
        let back = parse_project_json(&first).unwrap();
        prop_assert_eq!(&back, &sorted(p));
        let second = to_project_json(&back);
        prop_assert_eq!(second, first);
    }

    #[test]
    fn annotation_json_keeps_every_point(p in project()) {
        let text = to_annotation_json(&p);
        let (back, format) = parse_any_with_format(&text).unwrap();
        prop_assert_eq!(format, FileFormat::PythonAnnotations);
        let p = sorted(p);
        prop_assert_eq!(back.scale_length, p.scale_length);
        prop_assert_eq!(back.images.len(), p.images.len());
        for (a, b) in back.images.iter().zip(&p.images) {
            prop_assert_eq!(&a.id, &b.id);
            prop_assert_eq!(&a.filename, &b.filename);
            prop_assert_eq!(a.order, b.order);
            prop_assert_eq!(a.deformation_distance, b.deformation_distance);
            let points = |v: &[AnnotatedPoint]| v.iter().map(|p| p.point).collect::<Vec<_>>();
            prop_assert_eq!(points(&a.fiducials), points(&b.fiducials));
            prop_assert_eq!(points(&a.scale_points), points(&b.scale_points));
            prop_assert!(a.fiducials.iter().chain(&a.scale_points).all(|p| p.source == PointSource::Manual));
            prop_assert_eq!(a.status(), b.status());
        }
        // Writing again gives the same Python file.
        prop_assert_eq!(to_annotation_json(&back), text);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_text(s in any::<String>()) {
        let _ = parse_any(&s);
        let _ = parse_python_annotations(&s);
        let _ = parse_project_json(&s);
    }

    #[test]
    fn parsers_never_panic_on_mutated_files(
        p in project(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..6),
        python in any::<bool>(),
    ) {
        let text = if python { to_annotation_json(&p) } else { to_project_json(&p) };
        let mut chars: Vec<char> = text.chars().collect();
        for (at, c) in edits {
            let i = at.index(chars.len());
            chars[i] = c;
        }
        let mutated: String = chars.into_iter().collect();
        if let Ok(project) = parse_any(&mutated) {
            // Whatever is accepted is valid and can be written again.
            prop_assert!(project.validate().is_ok());
            let _ = to_project_json(&project);
        }
    }
}

#[test]
fn non_finite_numbers_are_refused_with_a_location() {
    let mut p = Project::new("x");
    let mut image = ProjectImage::new("a", "a.png", 0);
    image
        .fiducials
        .push(AnnotatedPoint::manual(Point::new(1.0, 2.0)));
    p.images.push(image);
    let text = to_project_json(&p);
    for bad in ["NaN", "Infinity", "-Infinity", "1e999", "\"nan\""] {
        let mutated = text.replacen("2.0", bad, 1);
        let err = parse_any(&mutated).unwrap_err();
        assert_eq!(
            err.location.filename.as_deref(),
            Some("a.png"),
            "{bad}: {err}"
        );
        assert_eq!(err.location.field.as_deref(), Some("y"), "{bad}: {err}");
        assert!(err.to_string().contains("is not a finite number"), "{err}");
    }
}
