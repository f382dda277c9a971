//! The scale methods against synthetic truth: markers and a ruler in one plane, photographed
//! through known camera poses (points only, no pixels: the exact images of the plane points).

#![allow(clippy::unwrap_used)]

use nalgebra::{Matrix3, Vector3};
use proptest::prelude::*;
use strain_seer_engine::scale::{GridDot, TickDirections, focal_px_from_35mm};
use strain_seer_engine::{
    AnalysisErrorKind, AnalysisOptions, Component, Fiducials, ImageInput, Point, RulerModel,
    ScaleError, ScaleMethod, ScalePoints, TargetModel, analyze, auto_scale_method,
};

const W: u32 = 1200;
const H: u32 = 900;
const FOCAL_35MM: f64 = 28.0;

/// Marker layout in the plane, mm (TL, TR, BR, BL, centre), around the origin.
const LAYOUT: [[f64; 2]; 5] = [
    [-8.0, -12.0],
    [8.0, -12.0],
    [8.0, 12.0],
    [-8.0, 12.0],
    [0.0, 0.0],
];

/// A camera pose: tilts about the image's x axis (across the vertical ruler) and y axis (along
/// it), degrees, and the distance as a multiple of the one where 80 mm fill the height.
#[derive(Debug, Clone, Copy)]
struct Pose {
    tilt_x: f64,
    tilt_y: f64,
    distance: f64,
    shift: [f64; 2],
}

fn homography(p: Pose) -> Matrix3<f64> {
    let f = focal_px_from_35mm(FOCAL_35MM, W, H);
    let (a, b) = (p.tilt_x.to_radians(), p.tilt_y.to_radians());
    let rx = Matrix3::new(1.0, 0.0, 0.0, 0.0, a.cos(), -a.sin(), 0.0, a.sin(), a.cos());
    let ry = Matrix3::new(b.cos(), 0.0, b.sin(), 0.0, 1.0, 0.0, -b.sin(), 0.0, b.cos());
    let r = rx * ry;
    let d = f * 80.0 / f64::from(H) * p.distance;
    // The plane origin projects left of the centre (the ruler is to its right).
    let t = Vector3::new(-0.08 * d + p.shift[0], p.shift[1], d);
    let k = Matrix3::new(
        f,
        0.0,
        0.5 * (f64::from(W) - 1.0),
        0.0,
        f,
        0.5 * (f64::from(H) - 1.0),
        0.0,
        0.0,
        1.0,
    );
    k * Matrix3::from_columns(&[r.column(0).into(), r.column(1).into(), t])
}

fn project(h: &Matrix3<f64>, x: f64, y: f64) -> Point {
    let v = h * Vector3::new(x, y, 1.0);
    Point::new(v.x / v.z, v.y / v.z)
}

/// The ruler along the plane's Y axis at X = 22 mm, 0 mm at Y = +30, mm increasing upwards;
/// the model a detector would fit to its lines 0..=60 mm, with the exact directions of those
/// lines (plane lines along X: they converge to the image of X's direction, `H·(1, 0, 0)`).
fn ruler(h: &Matrix3<f64>) -> RulerModel {
    let model = ruler_positions(h);
    let vp = [h[(0, 0)], h[(1, 0)], h[(2, 0)]];
    RulerModel {
        tick_directions: Some(TickDirections::toward(&model, vp).expect("tick directions")),
        ..model
    }
}

/// [`ruler`] without the lines' directions: what the positions along the ruler alone give.
fn ruler_positions(h: &Matrix3<f64>) -> RulerModel {
    let at = |m: f64| project(h, 22.0, 30.0 - m);
    let (o, e) = (at(0.0), at(60.0));
    let len = o.distance(e);
    let dir = [(e.x - o.x) / len, (e.y - o.y) / len];
    let mm: Vec<f64> = (0..=60).map(f64::from).collect();
    let u: Vec<f64> = mm
        .iter()
        .map(|&m| {
            let p = at(m);
            (p.x - o.x) * dir[0] + (p.y - o.y) * dir[1]
        })
        .collect();
    RulerModel::fit(o, dir, &mm, &u, Some(0.0)).expect("ruler model")
}

/// A dot-grid calibration target left of the markers (X −40…−15, Y −30…30 mm, 5 mm pitch), as
/// a detector would fit it to the dots' exact images.
fn target(h: &Matrix3<f64>) -> TargetModel {
    let mut dots = Vec::new();
    for j in -6..=6 {
        for i in -8..=-3 {
            let image = project(h, 5.0 * f64::from(i), 5.0 * f64::from(j));
            dots.push(GridDot {
                index: [i, j],
                image,
            });
        }
    }
    TargetModel::fit(&dots, 5.0, [W, H], false).expect("target model")
}

/// One photo of the specimen deformed by `f` at distance `d`, seen in pose `pose`; the scale
/// points on the ruler's 10 and 50 mm lines (40 mm), and a calibration target.
fn photo(name: &str, d: f64, f: [[f64; 2]; 2], pose: Pose) -> ImageInput {
    let h = homography(pose);
    let markers =
        LAYOUT.map(|[x, y]| project(&h, f[0][0] * x + f[0][1] * y, f[1][0] * x + f[1][1] * y));
    let model = ruler(&h);
    let scale = ScalePoints::new([model.point_at_mm(10.0), model.point_at_mm(50.0)]).unwrap();
    ImageInput {
        ruler: Some(model),
        size: Some([W, H]),
        focal_35mm: Some(FOCAL_35MM),
        target: Some(target(&h)),
        ..ImageInput::complete(name, Fiducials::new(markers).unwrap(), scale, d)
    }
}

fn gradient(d: f64) -> [[f64; 2]; 2] {
    [
        [1.0 + 0.008 * d, 0.0006 * d],
        [-0.0004 * d, 1.0 - 0.012 * d],
    ]
}

/// Small strain εxx, εyy of F.
fn truth(d: f64) -> (f64, f64) {
    let f = gradient(d);
    (f[0][0] - 1.0, f[1][1] - 1.0)
}

fn sequence(poses: &[Pose]) -> Vec<ImageInput> {
    poses
        .iter()
        .enumerate()
        .map(|(k, &pose)| {
            let d = 10.0 * k as f64;
            photo(&format!("p{k}.png"), d, gradient(d), pose)
        })
        .collect()
}

fn options(method: ScaleMethod) -> AnalysisOptions {
    AnalysisOptions {
        scale_length: 40.0,
        sigma_px: 0.0,
        scale_method: Some(method),
        ..AnalysisOptions::default()
    }
}

fn worst_error(images: &[ImageInput], method: ScaleMethod) -> f64 {
    let a = analyze(images, &options(method)).unwrap();
    a.rows
        .iter()
        .map(|r| {
            let (xx, yy) = truth(r.deformation);
            let m = &r.measures;
            (Component::EpsXx.value(m) - xx)
                .abs()
                .max((Component::EpsYy.value(m) - yy).abs())
        })
        .fold(0.0, f64::max)
}

fn pose(tilt_x: f64, distance: f64) -> Pose {
    Pose {
        tilt_x,
        tilt_y: 0.0,
        distance,
        shift: [0.0, 0.0],
    }
}

#[test]
fn rectification_recovers_the_strain_under_a_tilt_across_the_ruler() {
    // A different tilt about the axis across the ruler and a different distance per photo.
    let images = sequence(&[
        pose(0.0, 1.0),
        pose(12.0, 0.9),
        pose(-8.0, 1.1),
        pose(15.0, 1.05),
    ]);
    let rectified = worst_error(&images, ScaleMethod::Rectified);
    assert!(rectified < 1e-9, "rectified error {rectified:e}");
    // A span away from the markers (the ruler's 40–60 mm lines, the markers face 18–42 mm)
    // reads the wrong scale; the ruler model reads it at the markers, whatever the span.
    let far_span: Vec<ImageInput> = images
        .iter()
        .map(|im| {
            let m = im.ruler.unwrap();
            ImageInput {
                scale: Some(ScalePoints::new([m.point_at_mm(40.0), m.point_at_mm(60.0)]).unwrap()),
                ..im.clone()
            }
        })
        .collect();
    let span = worst_error(&far_span, ScaleMethod::Span);
    let ruler = worst_error(&far_span, ScaleMethod::Ruler);
    assert!(span > 0.03, "span error {span}");
    assert!(ruler < 0.7 * span, "ruler {ruler} vs span {span}");
    // Neither uniform scale follows the perspective over the pattern itself.
    assert!(ruler > 100.0 * rectified.max(1e-6));
}

fn tilted(tilt_x: f64, tilt_y: f64, distance: f64) -> Pose {
    Pose {
        tilt_x,
        tilt_y,
        distance,
        shift: [0.0, 0.0],
    }
}

/// The images without the lines' directions (the least tilted plane through the ruler).
fn without_tick_directions(images: &[ImageInput]) -> Vec<ImageInput> {
    images
        .iter()
        .map(|im| ImageInput {
            ruler: im.ruler.map(|r| RulerModel {
                tick_directions: None,
                ..r
            }),
            ..im.clone()
        })
        .collect()
}

#[test]
fn rectification_recovers_the_strain_under_a_tilt_about_the_ruler() {
    // About the axis along the ruler alone, and about both axes, a different pose per photo.
    let along = sequence(&[
        tilted(0.0, 0.0, 1.0),
        tilted(0.0, 12.0, 0.9),
        tilted(0.0, -15.0, 1.1),
        tilted(0.0, 7.0, 1.05),
    ]);
    let both = sequence(&[
        tilted(5.0, -8.0, 1.0),
        tilted(-12.0, 10.0, 0.9),
        tilted(14.0, 15.0, 1.1),
        tilted(-9.0, -13.0, 1.05),
    ]);
    for images in [&along, &both] {
        let rectified = worst_error(images, ScaleMethod::Rectified);
        assert!(rectified < 1e-6, "rectified error {rectified:e}");
        // The ruler's positions alone do not see that tilt: the least tilted plane is wrong by
        // far, and so is any uniform scale.
        let flat = worst_error(&without_tick_directions(images), ScaleMethod::Rectified);
        assert!(flat > 0.01, "least tilted plane error {flat}");
        assert!(worst_error(images, ScaleMethod::Ruler) > 0.01);
    }
}

#[test]
fn without_a_tilt_about_the_ruler_the_tick_directions_change_nothing() {
    // Untilted, or tilted only about the axis across the ruler: the least tilted plane is the
    // plane, and the lines' directions (parallel in the image, or converging only as the
    // least tilted plane says) give today's answer to rounding.
    for poses in [
        [pose(0.0, 1.0), pose(0.0, 0.8), pose(0.0, 1.2)],
        [pose(0.0, 1.0), pose(12.0, 0.9), pose(-15.0, 1.1)],
    ] {
        let images = sequence(&poses);
        let a = analyze(&images, &options(ScaleMethod::Rectified)).unwrap();
        let b = analyze(
            &without_tick_directions(&images),
            &options(ScaleMethod::Rectified),
        )
        .unwrap();
        for (x, y) in a.rows.iter().zip(&b.rows) {
            for (p, q) in [
                (x.measures.small.xx, y.measures.small.xx),
                (x.measures.small.yy, y.measures.small.yy),
                (x.measures.small.xy, y.measures.small.xy),
            ] {
                assert!((p - q).abs() < 1e-12, "{p} vs {q}");
            }
        }
    }
}

#[test]
fn untilted_photos_give_the_same_strain_by_every_method() {
    let images = sequence(&[
        pose(0.0, 1.0),
        pose(0.0, 0.8),
        pose(0.0, 1.2),
        pose(0.0, 0.95),
    ]);
    for method in ScaleMethod::ALL {
        let e = worst_error(&images, method);
        assert!(e < 1e-9, "{method}: {e:e}");
    }
}

#[test]
fn identical_photos_give_exactly_zero_strain() {
    let p = pose(11.0, 1.0);
    let images: Vec<ImageInput> = (0..3)
        .map(|k| photo(&format!("p{k}.png"), f64::from(k), gradient(0.0), p))
        .collect();
    for method in ScaleMethod::ALL {
        let a = analyze(&images, &options(method)).unwrap();
        for r in &a.rows {
            assert_eq!(r.measures.small.xx, 0.0, "{method}");
            assert_eq!(r.measures.small.yy, 0.0, "{method}");
            assert_eq!(r.measures.small.xy, 0.0, "{method}");
        }
    }
}

#[test]
fn ruler_scales_ignore_the_scale_points_and_the_scale_length() {
    let images = sequence(&[pose(0.0, 1.0), pose(9.0, 0.9), pose(-6.0, 1.1)]);
    let moved: Vec<ImageInput> = images
        .iter()
        .map(|im| {
            let model = im.ruler.unwrap();
            ImageInput {
                scale: Some(
                    ScalePoints::new([model.point_at_mm(20.0), model.point_at_mm(30.0)]).unwrap(),
                ),
                ..im.clone()
            }
        })
        .collect();
    for method in [ScaleMethod::Ruler, ScaleMethod::Rectified] {
        let a = analyze(&images, &options(method)).unwrap();
        let b = analyze(
            &moved,
            &AnalysisOptions {
                scale_length: 10.0,
                ..options(method)
            },
        )
        .unwrap();
        assert_eq!(a.rows, b.rows, "{method}");
    }
}

#[test]
fn a_missing_ruler_model_names_the_image() {
    let mut images = sequence(&[pose(0.0, 1.0), pose(5.0, 1.0), pose(3.0, 1.0)]);
    images[1].ruler = None;
    let err = analyze(&images, &options(ScaleMethod::Rectified)).unwrap_err();
    assert_eq!(err.image.as_deref(), Some("p1.png"));
    assert_eq!(
        err.kind,
        AnalysisErrorKind::Scale(ScaleError::NoRulerModel(ScaleMethod::Rectified))
    );
    assert!(
        err.to_string()
            .starts_with("image 'p1.png': the rectified scale needs a ruler model")
    );
    // Every image has a calibration target: the automatic choice takes it.
    assert_eq!(auto_scale_method(&images), ScaleMethod::Target);
    images[0].target = None;
    // The automatic choice falls back to the span for such a project.
    assert_eq!(auto_scale_method(&images), ScaleMethod::Span);
    images[1].ruler = images[0].ruler;
    assert_eq!(auto_scale_method(&images), ScaleMethod::Rectified);
    images[2].size = None;
    assert_eq!(auto_scale_method(&images), ScaleMethod::Span);
    assert_eq!(
        analyze(&images, &options(ScaleMethod::Rectified))
            .unwrap_err()
            .kind,
        AnalysisErrorKind::Scale(ScaleError::NoImageSize)
    );
}

#[test]
fn a_missing_target_model_names_the_image() {
    let mut images = sequence(&[pose(0.0, 1.0), pose(5.0, 1.0), pose(3.0, 1.0)]);
    images[2].target = None;
    let err = analyze(&images, &options(ScaleMethod::Target)).unwrap_err();
    assert_eq!(err.image.as_deref(), Some("p2.png"));
    assert_eq!(
        err.kind,
        AnalysisErrorKind::Scale(ScaleError::NoTargetModel)
    );
    assert_eq!(auto_scale_method(&images), ScaleMethod::Rectified);
}

/// A target tilted with the camera gives the truth whatever the tilt, about either axis, and
/// its budget is its fit's covariance alone.
#[test]
fn the_target_undoes_any_tilt() {
    for (tx, ty) in [(15.0, 0.0), (0.0, -15.0), (-12.0, 0.0)] {
        let tilted = |d: f64| Pose {
            tilt_x: tx * d / 20.0,
            tilt_y: ty * d / 20.0,
            distance: 1.0,
            shift: [0.0, 0.0],
        };
        let images: Vec<ImageInput> = (0..3)
            .map(|k| {
                let d = 10.0 * f64::from(k);
                photo(&format!("p{k}.png"), d, gradient(d), tilted(d))
            })
            .collect();
        let e = worst_error(&images, ScaleMethod::Target);
        // Tilt about y: the frame's x axis is the image row through the image centre, half a
        // pixel off the principal point here: second order.
        assert!(e < 2e-6, "tilt ({tx}, {ty}): {e:e}");
        let a = analyze(
            &images,
            &AnalysisOptions {
                sigma_px: 0.1,
                ..options(ScaleMethod::Target)
            },
        )
        .unwrap();
        for r in a.rows.iter().filter(|r| r.index != a.reference) {
            assert_eq!(r.budget.scale_variation.small.xx, 0.0);
            assert!(r.budget.scale_model.small.xx >= 0.0);
        }
    }
}

#[test]
fn the_budget_names_what_each_method_leaves_out() {
    let images = sequence(&[pose(0.0, 1.0), pose(14.0, 0.9), pose(-10.0, 1.1)]);
    let opts = |m| AnalysisOptions {
        sigma_px: 0.5,
        ..options(m)
    };
    let span = analyze(&images, &opts(ScaleMethod::Span)).unwrap();
    let rect = analyze(&images, &opts(ScaleMethod::Rectified)).unwrap();
    for (s, r) in span.rows.iter().zip(&rect.rows).skip(1) {
        // Span: its variation term is the distance to the perspective-corrected result / √3.
        let delta = (s.measures.small.yy - r.measures.small.yy).abs();
        assert!(
            (s.budget.scale_variation.small.yy - delta / 3f64.sqrt()).abs() < 0.1 * delta + 1e-6
        );
        // Rectified: the focal length's term is there for a tilted camera, and the combined σ
        // is the root sum of squares of the three terms.
        let b = &r.budget;
        assert!(b.scale_variation.small.xx > 0.0 || b.scale_variation.small.yy > 0.0);
        let rss = (b.points.small.yy.powi(2)
            + b.scale_model.small.yy.powi(2)
            + b.scale_variation.small.yy.powi(2))
        .sqrt();
        assert!((r.uncertainty.small.yy - rss).abs() < 1e-12);
        assert!(b.points.small.yy > 0.0);
    }
    // The reference row has no uncertainty at all.
    assert_eq!(rect.rows[0].uncertainty, Default::default());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Rectification is exact for any tilt about either axis (across the ruler: from its
    /// positions; along it: from its lines' directions), any distance and position of the
    /// specimen in the frame (no noise).
    #[test]
    fn rectified_strain_is_pose_invariant(
        tilts in prop::collection::vec(-20.0f64..20.0, 3),
        tilts_y in prop::collection::vec(-20.0f64..20.0, 3),
        distances in prop::collection::vec(0.8f64..1.25, 3),
        shift in prop::collection::vec(-6.0f64..6.0, 6),
    ) {
        let poses: Vec<Pose> = (0..3)
            .map(|k| Pose {
                tilt_x: tilts[k],
                tilt_y: tilts_y[k],
                distance: distances[k],
                shift: [shift[2 * k], shift[2 * k + 1]],
            })
            .collect();
        let images = sequence(&poses);
        let e = worst_error(&images, ScaleMethod::Rectified);
        prop_assert!(e < 1e-8, "error {e:e}");
    }

    /// The camera's distance changes nothing once the perspective is corrected.
    #[test]
    fn strain_is_invariant_to_the_camera_distance(k in 0.7f64..1.4, tilt in -15.0f64..15.0) {
        let near = sequence(&[pose(0.0, 1.0), pose(tilt, 1.0), pose(-tilt, 1.0)]);
        let far = sequence(&[pose(0.0, k), pose(tilt, k), pose(-tilt, k)]);
        // Only the rectification: a nearer camera shows more perspective over the pattern,
        // which a uniform scale cannot follow.
        let a = analyze(&near, &options(ScaleMethod::Rectified)).unwrap();
        let b = analyze(&far, &options(ScaleMethod::Rectified)).unwrap();
        for (x, y) in a.rows.iter().zip(&b.rows) {
            prop_assert!((x.measures.small.xx - y.measures.small.xx).abs() < 1e-8);
            prop_assert!((x.measures.small.yy - y.measures.small.yy).abs() < 1e-8);
        }
    }
}
