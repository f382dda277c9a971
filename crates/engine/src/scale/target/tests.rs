use super::*;
use crate::detect::scene::{Pose, SceneConfig, scene_homography};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const SIZE: [u32; 2] = [1200, 900];

/// A grid of `cols × rows` dots of 5 mm pitch, imaged by the homography of `pose` (plane mm →
/// px), with radial distortion `k1` (normalised by the half-diagonal) and Gaussian noise σ px.
/// `relabel` maps the true grid index to the one the dot is reported with.
fn dots(
    pose: &Pose,
    k1: f64,
    sigma: f64,
    seed: u64,
    relabel: impl Fn([i32; 2]) -> [i32; 2],
) -> (Vec<GridDot>, TargetModel) {
    let (h, _) = scene_homography(&SceneConfig::default(), pose);
    let truth = TargetModel {
        homography: h,
        radial_k1: k1,
        centre: Point::new(600.0, 450.0),
        radius_px: 750.0,
        pitch_mm: 5.0,
        dots: 0,
        grid: [0, 0],
        rms_px: 0.0,
        covariance: vec![0.0; 81],
        outline: None,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::new();
    for j in -7..=7 {
        for i in -12..=-4 {
            let x = Point::new(f64::from(i) * 5.0, f64::from(j) * 5.0);
            let Some(p) = truth.project(x) else { continue };
            let p = if sigma > 0.0 {
                Point::new(
                    p.x + sigma * crate::detect::synth::normal(&mut rng),
                    p.y + sigma * crate::detect::synth::normal(&mut rng),
                )
            } else {
                p
            };
            out.push(GridDot {
                index: relabel([i, j]),
                image: p,
            });
        }
    }
    (out, truth)
}

fn tilted() -> Pose {
    Pose {
        tilt_x_deg: 12.0,
        tilt_y_deg: -8.0,
        ..Pose::default()
    }
}

#[test]
fn an_exact_homography_is_recovered() {
    let (d, truth) = dots(&tilted(), 0.0, 0.0, 1, |i| i);
    let m = TargetModel::fit(&d, 5.0, SIZE, false).expect("fit");
    for (a, b) in m.homography.iter().zip(&truth.homography) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-6), "{a} vs {b}");
    }
    assert!(m.rms_px < 1e-8, "rms {}", m.rms_px);
    assert_eq!(m.dots as usize, d.len());
    assert_eq!(m.grid, [9, 15]);
    assert!(m.is_valid());
    assert!(!m.has_radial());
}

#[test]
fn a_radial_term_is_recovered_and_kept_only_when_significant() {
    let (d, _) = dots(&tilted(), -0.06, 0.05, 2, |i| i);
    let m = TargetModel::fit(&d, 5.0, SIZE, true).expect("fit");
    assert!(m.has_radial());
    assert!(
        (m.radial_k1 + 0.06).abs() < 4.0 * m.covariance_at(8, 8).sqrt() + 1e-3,
        "k1 {} ± {}",
        m.radial_k1,
        m.covariance_at(8, 8).sqrt()
    );
    // Every dot back where it was, within the noise (RMS distance: √2 · 0.05 px expected).
    assert!(m.rms_px < 0.085, "rms {}", m.rms_px);

    let (d, _) = dots(&tilted(), 0.0, 0.05, 3, |i| i);
    let m = TargetModel::fit(&d, 5.0, SIZE, true).expect("fit");
    // No distortion: the term is not significant in (almost) every case; either way it is tiny.
    assert!(m.radial_k1.abs() < 0.01, "k1 {}", m.radial_k1);
}

#[test]
fn markers_map_to_the_plane_through_the_target() {
    // Tilt about one axis: the reporting frame is then the plane's own (X along the image x).
    for pose in [
        Pose {
            tilt_x_deg: 14.0,
            ..Pose::default()
        },
        Pose {
            tilt_y_deg: -14.0,
            ..Pose::default()
        },
    ] {
        let (d, truth) = dots(&pose, -0.04, 0.0, 4, |i| i);
        let m = TargetModel::fit(&d, 5.0, SIZE, true).expect("fit");
        let plane = [
            Point::new(-12.0, -12.0),
            Point::new(12.0, -12.0),
            Point::new(12.0, 12.0),
            Point::new(-12.0, 12.0),
            Point::new(0.0, 0.0),
        ];
        let px: Vec<Point> = plane
            .iter()
            .map(|&p| truth.project(p).expect("in view"))
            .collect();
        let mm = m.to_plane(&px).expect("in front");
        // Same shape up to a translation.
        for i in 0..4 {
            let (dx, dy) = (mm[i].x - mm[4].x, mm[i].y - mm[4].y);
            let (tx, ty) = (plane[i].x - plane[4].x, plane[i].y - plane[4].y);
            assert!(
                (dx - tx).abs() < 1e-6 && (dy - ty).abs() < 1e-6,
                "{pose:?}: {i}: ({dx}, {dy}) vs ({tx}, {ty})"
            );
        }
    }
}

/// Which dot the detector calls (0, 0) and which way it counts must not change the frame.
#[test]
fn the_frame_does_not_depend_on_how_the_grid_was_indexed() {
    let px = [
        Point::new(500.0, 380.0),
        Point::new(700.0, 390.0),
        Point::new(710.0, 560.0),
        Point::new(490.0, 550.0),
        Point::new(600.0, 470.0),
    ];
    let reference = {
        let (d, _) = dots(&tilted(), 0.0, 0.03, 5, |i| i);
        TargetModel::fit(&d, 5.0, SIZE, false)
            .expect("fit")
            .to_plane(&px)
            .expect("front")
    };
    let relabels: [fn([i32; 2]) -> [i32; 2]; 4] = [
        |[i, j]| [j, -i],      // turned 90°
        |[i, j]| [-i + 3, -j], // turned 180° and shifted
        |[i, j]| [i, -j],      // mirrored
        |[i, j]| [j + 20, i],  // transposed (mirrored and turned)
    ];
    for relabel in relabels {
        let (d, _) = dots(&tilted(), 0.0, 0.03, 5, relabel);
        let mm = TargetModel::fit(&d, 5.0, SIZE, false)
            .expect("fit")
            .to_plane(&px)
            .expect("front");
        for (a, b) in mm.iter().zip(&reference) {
            assert!(a.distance(*b) < 1e-6, "{a:?} vs {b:?}");
        }
    }
}

/// With noise, the spread of the fitted map over repeated draws matches its stated covariance.
#[test]
fn the_covariance_matches_the_scatter_of_repeated_fits() {
    let probe = Point::new(600.0, 450.0);
    let mut values = Vec::new();
    let mut predicted = Vec::new();
    for seed in 0..200 {
        let (d, _) = dots(&tilted(), 0.0, 0.1, 100 + seed, |i| i);
        let m = TargetModel::fit(&d, 5.0, SIZE, false).expect("fit");
        let x = |m: &TargetModel| m.to_grid(probe).expect("front").x;
        values.push(x(&m));
        // Delta method: variance of x at the probe from the covariance.
        let p = m.params();
        let mut g = [0.0; 8];
        for (k, gk) in g.iter_mut().enumerate() {
            let h = 1e-4 * m.covariance_at(k, k).sqrt();
            let (mut a, mut b) = (p, p);
            a[k] += h;
            b[k] -= h;
            *gk = (x(&m.with_params(&a)) - x(&m.with_params(&b))) / (2.0 * h);
        }
        let var: f64 = (0..8)
            .flat_map(|i| (0..8).map(move |j| (i, j)))
            .map(|(i, j)| g[i] * m.covariance_at(i, j) * g[j])
            .sum();
        predicted.push(var.sqrt());
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let stated = predicted.iter().sum::<f64>() / n;
    assert!(
        (0.8..1.25).contains(&(stated / sd)),
        "stated σ {stated} vs observed {sd}"
    );
}

#[test]
fn degenerate_dots_are_refused() {
    let line: Vec<GridDot> = (0..20)
        .map(|i| GridDot {
            index: [i, 0],
            image: Point::new(100.0 + 10.0 * f64::from(i), 200.0),
        })
        .collect();
    assert_eq!(
        TargetModel::fit(&line, 5.0, SIZE, false),
        Err(TargetError::Degenerate)
    );
    assert!(matches!(
        TargetModel::fit(&line[..5], 5.0, SIZE, false),
        Err(TargetError::TooFewDots { found: 5, .. })
    ));
    let (d, _) = dots(&tilted(), 0.0, 0.0, 6, |i| i);
    assert_eq!(
        TargetModel::fit(&d, 0.0, SIZE, false),
        Err(TargetError::InvalidPitch(0.0))
    );
}

#[test]
fn undistort_inverts_the_distortion() {
    let (d, _) = dots(&tilted(), -0.08, 0.0, 8, |i| i);
    let m = TargetModel::fit(&d, 5.0, SIZE, true).expect("fit");
    for p in [
        Point::new(10.0, 10.0),
        Point::new(1190.0, 450.0),
        Point::new(600.0, 450.0),
    ] {
        let q = m.undistort(p).expect("inside");
        let g = Geometry {
            centre: m.centre,
            radius_px: m.radius_px,
        };
        let (dx, dy) = (q.x - g.centre.x, q.y - g.centre.y);
        let f = 1.0 + m.radial_k1 * (dx * dx + dy * dy) / (g.radius_px * g.radius_px);
        let back = Point::new(g.centre.x + dx * f, g.centre.y + dy * f);
        assert!(back.distance(p) < 1e-9, "{p:?} → {q:?} → {back:?}");
    }
}
