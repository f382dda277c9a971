use super::*;
use crate::detect::scene::{Pose, SceneConfig, TargetLayout, render_scene, square_markers};
use crate::detect::{MarkerOptions, detect_markers};

const IDENTITY: [[f64; 2]; 2] = [[1.0, 0.0], [0.0, 1.0]];

fn scene_with_target(pose: &Pose, k1: f64, seed: u64) -> crate::detect::scene::Scene {
    let cfg = SceneConfig {
        target: Some(TargetLayout::default()),
        radial_k1: k1,
        ..SceneConfig::default()
    };
    render_scene(seed, &cfg, &square_markers(12.0), IDENTITY, pose)
}

/// The markers, mapped through the detected target, sit where they are in the plane (relative
/// to the centre marker; tilts about one axis, so the frame is the plane's own).
#[test]
fn a_target_maps_the_markers_to_their_plane_positions() {
    let plane = square_markers(12.0);
    let poses = [
        Pose::default(),
        Pose {
            tilt_x_deg: 15.0,
            ..Pose::default()
        },
        Pose {
            tilt_y_deg: -15.0,
            distance: 0.92,
            shift: [0.02, -0.02],
            ..Pose::default()
        },
    ];
    for (k, pose) in poses.iter().enumerate() {
        for k1 in [0.0, -0.05] {
            let scene = scene_with_target(pose, k1, 10 + k as u64);
            let found = detect_target(&scene.image, &TargetOptions::default())
                .unwrap_or_else(|e| panic!("{pose:?} k1 {k1}: {e}"));
            assert!(
                found.dots.len() >= 90,
                "{pose:?}: {} dots",
                found.dots.len()
            );
            assert_eq!(found.model.has_radial(), k1 != 0.0, "{pose:?} k1 {k1}");
            let mm = found.model.to_plane(&scene.markers_px).expect("in front");
            for i in 0..4 {
                let (dx, dy) = (mm[i].x - mm[4].x, mm[i].y - mm[4].y);
                let (tx, ty) = (plane[i].x - plane[4].x, plane[i].y - plane[4].y);
                let err = (dx - tx).hypot(dy - ty);
                // 24 mm sides: 0.012 mm is a strain error of 5·10⁻⁴.
                assert!(err < 0.012, "{pose:?} k1 {k1}: marker {i} off by {err} mm");
            }
        }
    }
}

/// The grid's dots are not taken for markers, nor the markers for grid dots.
#[test]
fn markers_beside_a_target_are_still_found() {
    let pose = Pose {
        tilt_x_deg: 10.0,
        ..Pose::default()
    };
    let scene = scene_with_target(&pose, 0.0, 3);
    let target = detect_target(&scene.image, &TargetOptions::default()).expect("target");
    let outline = target.outline().expect("outline");
    let opts = MarkerOptions {
        exclude: vec![outline],
        ..MarkerOptions::default()
    };
    let found = detect_markers(&scene.image, &opts).expect("markers");
    for (got, truth) in found.fiducials.points().iter().zip(&scene.markers_px) {
        assert!(got.distance(*truth) < 0.5, "{got:?} vs {truth:?}");
    }
    for d in &target.dots {
        for m in &scene.markers_px {
            assert!(d.image.distance(*m) > 5.0, "marker {m:?} taken as a dot");
        }
    }
}

#[test]
fn a_photo_without_a_target_is_refused() {
    let scene = render_scene(
        4,
        &SceneConfig::default(),
        &square_markers(12.0),
        IDENTITY,
        &Pose::default(),
    );
    let err = detect_target(&scene.image, &TargetOptions::default()).expect_err("no target");
    assert!(
        matches!(
            err,
            TargetDetectError::NoGrid { .. }
                | TargetDetectError::Fit(TargetError::TooFewDots { .. })
        ),
        "{err}"
    );
    let blank = image::GrayImage::from_pixel(300, 200, image::Luma([128]));
    assert!(detect_target(&blank, &TargetOptions::default()).is_err());
    let scene = scene_with_target(&Pose::default(), 0.0, 5);
    assert_eq!(
        detect_target(
            &scene.image,
            &TargetOptions {
                pitch_mm: -1.0,
                ..TargetOptions::default()
            }
        ),
        Err(TargetDetectError::Fit(TargetError::InvalidPitch(-1.0)))
    );
}
