//! `analyze`: reference choice, exclusions, errors naming the image, regressions, Poisson's
//! ratio, uncertainty rows.

mod common;

use approx::assert_abs_diff_eq;
use common::*;
use strain_seer_engine::synthetic::{self, SCALE_LENGTH_MM};
use strain_seer_engine::{
    AnalysisError, AnalysisErrorKind, AnalysisOptions, Axis, Component, Fiducials, ImageInput,
    ImageStatus, Point, RegressionError, StrainError, StrainMeasures, analyze,
};

fn options() -> AnalysisOptions {
    AnalysisOptions {
        scale_length: RULER_MM,
        ..AnalysisOptions::default()
    }
}

/// Uniaxial compression along y with lateral expansion: d mm → εyy = −0.01d, εxx = 0.004d.
fn compression(d: f64) -> [[f64; 2]; 2] {
    stretch(1.0 + 0.004 * d, 1.0 - 0.01 * d)
}

fn project(distances: &[f64]) -> Vec<ImageInput> {
    distances
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            image(
                &format!("img{i}.png"),
                d,
                shot(&LAYOUT, compression(d), Camera::PLAIN),
            )
        })
        .collect()
}

fn err(images: &[ImageInput], options: &AnalysisOptions) -> AnalysisError {
    analyze(images, options).expect_err("analysis should fail")
}

#[test]
fn reference_defaults_to_smallest_distance_not_first_image() {
    let images = project(&[10.0, 0.0, 20.0, 30.0]);
    let a = analyze(&images, &options()).expect("valid");
    assert_eq!((a.reference, a.reference_name.as_str()), (1, "img1.png"));
    assert_eq!(
        a.rows.iter().map(|r| r.index).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(a.rows[1].measures, StrainMeasures::identity());
    assert_eq!(a.rows[1].uncertainty, StrainMeasures::default());
    assert_abs_diff_eq!(a.rows[0].measures.small.yy, -0.1, epsilon = 1e-12);
    assert_abs_diff_eq!(a.rows[3].measures.small.xx, 0.12, epsilon = 1e-12);
}

#[test]
fn ties_for_smallest_distance_go_to_the_first_in_order() {
    let mut images = project(&[5.0, 0.0, 0.0, 20.0]);
    images[2] = image(
        "img2.png",
        0.0,
        shot(&LAYOUT, compression(3.0), Camera::PLAIN),
    );
    let a = analyze(&images, &options()).expect("valid");
    assert_eq!(a.reference, 1);
}

#[test]
fn a_named_reference_is_used() {
    let images = project(&[0.0, 10.0, 20.0, 30.0]);
    let opts = AnalysisOptions {
        reference: Some("img2.png".into()),
        ..options()
    };
    let a = analyze(&images, &opts).expect("valid");
    assert_eq!(a.reference, 2);
    assert_eq!(a.rows[2].measures, StrainMeasures::identity());
    assert!(
        a.rows[0].measures.small.yy > 0.0,
        "relative to the 20 mm image, 0 mm is stretched in y"
    );
}

#[test]
fn unknown_or_incomplete_reference_is_an_error() {
    let mut images = project(&[0.0, 10.0, 20.0, 30.0]);
    let opts = AnalysisOptions {
        reference: Some("nope.png".into()),
        ..options()
    };
    let e = err(&images, &opts);
    assert_eq!(
        e.kind,
        AnalysisErrorKind::UnknownReference("nope.png".into())
    );
    assert_eq!(
        e.to_string(),
        "the chosen reference image 'nope.png' is not in the project"
    );

    images[3].deformation = None;
    let opts = AnalysisOptions {
        reference: Some("img3.png".into()),
        ..options()
    };
    let e = err(&images, &opts);
    assert_eq!(e.image.as_deref(), Some("img3.png"));
    assert_eq!(
        e.kind,
        AnalysisErrorKind::ReferenceIncomplete(ImageStatus::MissingDistance)
    );
    assert!(e.to_string().starts_with(
        "image 'img3.png': the chosen reference image is not complete (Missing Distance)"
    ));
}

#[test]
fn incomplete_images_are_excluded_with_their_status() {
    let mut images = project(&[0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]);
    images[1].deformation = None; // Missing Distance
    images[3].fiducials = None; // Incomplete (scale placed, fiducials not)
    images[4].fiducials = None;
    images[4].scale = None;
    images[4].deformation = None; // Missing
    images[5].fiducials = None;
    images[5].placed = Some((4, 2)); // 4 of 5 fiducials placed
    let a = analyze(&images, &options()).expect("3 complete images");
    let names: Vec<&str> = a.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["img0.png", "img2.png", "img6.png"]);
    assert_eq!(
        a.excluded,
        vec![
            ("img1.png".to_string(), ImageStatus::MissingDistance),
            ("img3.png".to_string(), ImageStatus::Incomplete),
            ("img4.png".to_string(), ImageStatus::Missing),
            ("img5.png".to_string(), ImageStatus::Incomplete),
        ]
    );
    assert_eq!(a.regression(Component::EpsYy).expect("regressed").n, 3);
}

#[test]
fn fewer_than_three_complete_images_is_an_error_listing_the_others() {
    let mut images = project(&[0.0, 10.0, 20.0]);
    images[2].scale = None;
    let e = err(&images, &options());
    assert_eq!(e.image, None);
    assert_eq!(
        e.kind,
        AnalysisErrorKind::TooFewComplete {
            complete: 2,
            required: 3,
            incomplete: vec![("img2.png".into(), ImageStatus::Incomplete)],
        }
    );
    assert_eq!(
        e.to_string(),
        "the analysis needs at least 3 complete images (5 fiducial points, 2 scale points and a \
         deformation distance each), found 2; not complete: 'img2.png' (Incomplete)"
    );
    assert!(matches!(
        err(&[], &options()).kind,
        AnalysisErrorKind::TooFewComplete { complete: 0, .. }
    ));
}

#[test]
fn all_distances_equal_is_an_error() {
    let images = project(&[5.0, 5.0, 5.0]);
    let e = err(&images, &options());
    assert_eq!(e.kind, AnalysisErrorKind::AllDistancesEqual(5.0));
    assert!(
        e.to_string()
            .starts_with("all complete images have the same deformation distance (5 mm)")
    );
}

#[test]
fn invalid_options_and_distances_are_errors() {
    let images = project(&[0.0, 10.0, 20.0]);
    for bad in [0.0, -1.0, 1e-300, 1e300, f64::NAN, f64::INFINITY] {
        let opts = AnalysisOptions {
            scale_length: bad,
            ..options()
        };
        assert!(matches!(
            err(&images, &opts).kind,
            AnalysisErrorKind::InvalidScaleLength(_)
        ));
    }
    for bad in [-0.5, 1e7, f64::NAN, f64::INFINITY] {
        let opts = AnalysisOptions {
            sigma_px: bad,
            ..options()
        };
        assert!(matches!(
            err(&images, &opts).kind,
            AnalysisErrorKind::InvalidSigma(_)
        ));
    }
    let opts = AnalysisOptions {
        scale_length: 0.0,
        ..options()
    };
    assert_eq!(
        err(&images, &opts).to_string(),
        "the scale length must be a number of mm greater than 0 (between 1e-9 and 1e9), got 0"
    );
    let mut bad = images.clone();
    bad[1].deformation = Some(f64::NAN);
    let e = err(&bad, &options());
    assert_eq!(e.image.as_deref(), Some("img1.png"));
    assert_eq!(
        e.to_string(),
        "image 'img1.png': the deformation distance is not a finite number (NaN)"
    );
}

#[test]
fn degenerate_markers_name_the_image() {
    let mut images = project(&[0.0, 10.0, 20.0]);
    let line = |i: f64| Point::new(100.0 + i, 200.0 + 2.0 * i);
    let collinear = Fiducials::new([line(0.0), line(10.0), line(20.0), line(30.0), line(15.0)])
        .expect("finite");
    images[1].fiducials = Some(collinear);
    let e = err(&images, &options());
    assert_eq!(e.image.as_deref(), Some("img1.png"));
    assert!(matches!(
        e.kind,
        AnalysisErrorKind::Strain(StrainError::DegenerateCurrent { .. })
    ));

    // The same markers on the reference: the error names the reference, b.png.
    let mut images = project(&[0.0, 10.0, 20.0]);
    images[0].name = "b.png".into();
    images[0].fiducials = Some(collinear);
    let e = err(&images, &options());
    assert_eq!(e.image.as_deref(), Some("b.png"));
    assert!(matches!(
        e.kind,
        AnalysisErrorKind::Strain(StrainError::DegenerateReference { .. })
    ));
    assert!(
        e.to_string().starts_with(
            "image 'b.png': the reference markers are collinear or coincident (condition number"
        ),
        "{e}"
    );
}

#[test]
fn identical_non_reference_frames_are_exactly_zero() {
    let mut images = project(&[0.0, 10.0, 20.0]);
    images.push(ImageInput {
        name: "copy.png".into(),
        deformation: Some(30.0),
        ..images[0].clone()
    });
    let a = analyze(&images, &options()).expect("valid");
    let copy = &a.rows[3];
    assert_eq!(copy.measures, StrainMeasures::identity());
    // Independent placement in two images: the identical copy still has an uncertainty.
    assert!(copy.uncertainty.small.xx > 0.0);
}

#[test]
fn regression_covers_every_requested_component_over_all_complete_images() {
    let images = project(&[0.0, 10.0, 20.0, 30.0]);
    let opts = AnalysisOptions {
        components: vec![
            Component::EpsYy,
            Component::J,
            Component::HenckyXx,
            Component::EpsXy,
        ],
        ..options()
    };
    let a = analyze(&images, &opts).expect("valid");
    let keys: Vec<Component> = a.regressions.iter().map(|r| r.component).collect();
    assert_eq!(keys, opts.components);
    let yy = a.regression(Component::EpsYy).expect("εyy");
    assert_abs_diff_eq!(yy.slope, -0.01, epsilon = 1e-12);
    assert_abs_diff_eq!(yy.intercept, 0.0, epsilon = 1e-12);
    assert_eq!((yy.r_squared, yy.p_value), (1.0, 0.0));
    // No shear at all: slope 0, r² 0, p 1.
    let xy = a.regression(Component::EpsXy).expect("εxy");
    assert_eq!((xy.slope, xy.r_squared, xy.p_value), (0.0, 0.0, 1.0));
    assert!(a.regression(Component::EpsXx).is_none());
}

#[test]
fn poisson_ratio_automatic_and_chosen_axis() {
    let images = project(&[0.0, 10.0, 20.0, 30.0]);
    let a = analyze(&images, &options()).expect("valid");
    let p = a.poisson.expect("Poisson's ratio");
    assert_eq!((p.loading_axis, p.auto_axis), (Axis::Y, true));
    assert_abs_diff_eq!(p.from_slopes, 0.4, epsilon = 1e-12);
    assert_abs_diff_eq!(p.from_slopes_stderr, 0.0, epsilon = 1e-9);
    assert_eq!(p.per_image[0], None);
    for nu in &p.per_image[1..] {
        assert_abs_diff_eq!(nu.expect("ν"), 0.4, epsilon = 1e-12);
    }
    let opts = AnalysisOptions {
        loading_axis: Some(Axis::X),
        ..options()
    };
    let p = analyze(&images, &opts).expect("valid").poisson.expect("ν");
    assert_eq!((p.loading_axis, p.auto_axis), (Axis::X, false));
    assert_abs_diff_eq!(p.from_slopes, 2.5, epsilon = 1e-12);
}

#[test]
fn poisson_stderr_from_noisy_slopes_is_positive() {
    let images = synthetic::synthetic_images(50, 3);
    let opts = AnalysisOptions {
        scale_length: SCALE_LENGTH_MM,
        ..AnalysisOptions::default()
    };
    let a = analyze(&images, &opts).expect("valid");
    let p = a.poisson.expect("ν");
    // True F: εxx = 0.009d, εyy = −0.015d → ν = 0.6 with y as loading axis.
    assert_eq!(p.loading_axis, Axis::Y);
    assert!(
        (p.from_slopes - 0.6).abs() < 5.0 * p.from_slopes_stderr,
        "{p:?}"
    );
    assert!(p.from_slopes_stderr > 0.0 && p.from_slopes_stderr < 0.01);
}

#[test]
fn no_strain_at_all_gives_no_poisson_ratio() {
    let images: Vec<ImageInput> = [0.0, 10.0, 20.0]
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            image(
                &format!("s{i}.png"),
                d,
                shot(&LAYOUT, IDENTITY, Camera::PLAIN),
            )
        })
        .collect();
    let a = analyze(&images, &options()).expect("valid");
    assert!(a.poisson.is_none());
    for row in &a.rows {
        assert_eq!(row.measures, StrainMeasures::identity());
    }
}

#[test]
fn regression_error_is_typed_and_names_the_component() {
    let e = AnalysisError::general(AnalysisErrorKind::Regression {
        component: Component::EpsXx,
        error: RegressionError::TooFewPoints { n: 2 },
    });
    assert_eq!(
        e.to_string(),
        "regression of εxx (small strain) against deformation distance: a regression needs at least 3 points, got 2"
    );
}

#[test]
fn synthetic_project_recovers_the_true_gradient() {
    let images = synthetic::synthetic_images(200, 11);
    let opts = AnalysisOptions {
        scale_length: SCALE_LENGTH_MM,
        ..AnalysisOptions::default()
    };
    let a = analyze(&images, &opts).expect("valid");
    assert_eq!(a.rows.len(), 200);
    let last = a.rows.last().expect("rows");
    let truth = synthetic::true_gradient(last.deformation);
    for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let diff = (last.measures.f[i][j] - truth[i][j]).abs();
        // Within 4 σ of the propagated uncertainty (placement noise 0.3 px, σ assumed 1 px).
        assert!(diff < 4.0 * last.uncertainty.f[i][j], "F[{i}][{j}]: {diff}");
    }
    let xx = a.regression(Component::EpsXx).expect("εxx");
    assert!((xx.slope - 0.009).abs() < 4.0 * xx.stderr + 1e-4, "{xx:?}");
}

#[test]
fn synthetic_images_are_complete_and_in_distance_order() {
    let images = synthetic::synthetic_images(20, 5);
    assert_eq!(images.len(), 20);
    assert!(images.iter().all(|im| im.status() == ImageStatus::Complete));
    assert_eq!(images[0].deformation, Some(0.0));
    assert_eq!(images[19].deformation, Some(synthetic::MAX_DISTANCE_MM));
    assert!(
        images
            .windows(2)
            .all(|w| w[0].deformation < w[1].deformation)
    );
    assert_eq!(
        images,
        synthetic::synthetic_images(20, 5),
        "deterministic for a seed"
    );
    assert_ne!(images, synthetic::synthetic_images(20, 6));
}

/// Enough images for the rows to be computed in parallel (blocks of 256): the rows come back
/// in image order and bit for bit the same as the same images analysed a few at a time, and of
/// two failing images the first in order is the one reported.
#[test]
fn parallel_rows_keep_order_values_and_the_first_error() {
    let opts = AnalysisOptions {
        scale_length: SCALE_LENGTH_MM,
        ..AnalysisOptions::default()
    };
    let images = synthetic::synthetic_images(2000, 3);
    let whole = analyze(&images, &opts).expect("valid");
    assert_eq!(
        whole.rows.iter().map(|r| r.index).collect::<Vec<_>>(),
        (0..2000).collect::<Vec<_>>()
    );
    // Below the block size one thread computes every row: the same reference (image 0, the
    // smallest distance) and a few other images give the same bits.
    for k in [1, 700, 1999] {
        let few = [images[0].clone(), images[1].clone(), images[k].clone()];
        let part = analyze(&few, &opts).expect("valid");
        let row = &part.rows[2];
        assert_eq!(row.measures, whole.rows[k].measures, "image {k}");
        assert_eq!(row.uncertainty, whole.rows[k].uncertainty, "image {k}");
    }

    let line = |i: f64| Point::new(100.0 + i, 200.0 + 2.0 * i);
    let collinear = Fiducials::new([line(0.0), line(10.0), line(20.0), line(30.0), line(15.0)])
        .expect("finite");
    let mut bad = images;
    for k in [1900, 600] {
        bad[k].fiducials = Some(collinear);
    }
    let e = err(&bad, &opts);
    assert_eq!(e.image, Some(bad[600].name.clone()));
}
