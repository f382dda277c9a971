//! Hand-computed cases of docs/strain.md §3–4: rotation, stretch, shear, zoom, identical frames, degenerate
//! markers.

mod common;

use approx::assert_abs_diff_eq;
use common::*;
use strain_seer_engine::strain::{MAX_CONDITION, deformation_gradient, mm_per_px, to_mm};
use strain_seer_engine::{
    Deformation, Fiducials, Point, ScalePoints, StrainError, StrainMeasures, Tensor2,
};

const TOL: f64 = 1e-12;

/// Strain of `current` relative to `reference`, both photographed.
fn measures(
    reference: (Fiducials, ScalePoints),
    current: (Fiducials, ScalePoints),
) -> StrainMeasures {
    let r = to_mm(&reference.0, &reference.1, RULER_MM);
    let c = to_mm(&current.0, &current.1, RULER_MM);
    StrainMeasures::from_gradient(&deformation_gradient(&r, &c).expect("valid markers"))
}

fn strain_of(f: [[f64; 2]; 2]) -> StrainMeasures {
    measures(
        shot(&LAYOUT, IDENTITY, Camera::PLAIN),
        shot(&LAYOUT, f, Camera::PLAIN),
    )
}

#[test]
fn to_mm_uses_scale_point_zero_as_origin_and_the_ruler_length() {
    let fid = Fiducials::new([
        Point::new(10.0, 20.0),
        Point::new(30.0, 20.0),
        Point::new(30.0, 60.0),
        Point::new(10.0, 60.0),
        Point::new(20.0, 40.0),
    ])
    .expect("finite");
    let scale = ScalePoints::new([Point::new(0.0, 0.0), Point::new(0.0, 200.0)]).expect("distinct");
    assert_eq!(mm_per_px(&scale, 10.0), 0.05);
    let mm = to_mm(&fid, &scale, 10.0);
    assert_eq!(mm[0], Point::new(0.5, 1.0));
    assert_eq!(mm[2], Point::new(1.5, 3.0));
    assert_eq!(mm[4], Point::new(1.0, 2.0));
}

#[test]
fn pure_rotation_has_zero_green_lagrange_and_small_strain_cos_minus_one() {
    for deg in [5.0, 30.0, -60.0, 90.0] {
        let m = strain_of(rotation(deg));
        let c = f64::cos(deg.to_radians());
        for v in [
            m.green.xx,
            m.green.yy,
            m.green.xy,
            m.hencky.xx,
            m.hencky.yy,
            m.hencky.xy,
        ] {
            assert_abs_diff_eq!(v, 0.0, epsilon = TOL);
        }
        assert_abs_diff_eq!(m.green_principal.e1, 0.0, epsilon = TOL);
        assert_abs_diff_eq!(m.small.xx, c - 1.0, epsilon = TOL);
        assert_abs_diff_eq!(m.small.yy, c - 1.0, epsilon = TOL);
        assert_abs_diff_eq!(m.small.xy, 0.0, epsilon = TOL);
        assert_abs_diff_eq!(m.j, 1.0, epsilon = TOL);
        // Positive = from +x towards +y (clockwise on screen, y down).
        assert_abs_diff_eq!(m.rotation_deg, deg, epsilon = 1e-9);
        assert_abs_diff_eq!(m.residual_mm, 0.0, epsilon = 1e-12);
    }
}

#[test]
fn ten_percent_stretch_along_x() {
    let m = strain_of(stretch(1.1, 1.0));
    assert_abs_diff_eq!(m.small.xx, 0.1, epsilon = TOL);
    assert_abs_diff_eq!(m.green.xx, 0.105, epsilon = TOL);
    for v in [
        m.small.yy,
        m.small.xy,
        m.green.yy,
        m.green.xy,
        m.hencky.yy,
        m.hencky.xy,
        m.rotation_deg,
    ] {
        assert_abs_diff_eq!(v, 0.0, epsilon = TOL);
    }
    assert_abs_diff_eq!(m.hencky.xx, 1.1f64.ln(), epsilon = TOL);
    assert_abs_diff_eq!(m.j, 1.1, epsilon = TOL);
    let p = m.small_principal;
    assert_abs_diff_eq!(p.e1, 0.1, epsilon = TOL);
    assert_abs_diff_eq!(p.e2, 0.0, epsilon = TOL);
    assert_abs_diff_eq!(p.angle_deg, 0.0, epsilon = 1e-9);
    assert_abs_diff_eq!(p.max_shear, 0.05, epsilon = TOL);
    assert_abs_diff_eq!(m.hencky_principal.e1, 1.1f64.ln(), epsilon = TOL);
}

#[test]
fn compression_along_y_has_its_minor_principal_strain_along_y() {
    let m = strain_of(stretch(1.0, 0.8));
    assert_abs_diff_eq!(m.small.yy, -0.2, epsilon = TOL);
    assert_abs_diff_eq!(m.green.yy, 0.5 * (0.64 - 1.0), epsilon = TOL);
    assert_abs_diff_eq!(m.small_principal.e1, 0.0, epsilon = TOL);
    assert_abs_diff_eq!(m.small_principal.e2, -0.2, epsilon = TOL);
    assert_abs_diff_eq!(m.small_principal.angle_deg, 0.0, epsilon = 1e-9);
    assert_abs_diff_eq!(m.hencky.yy, 0.8f64.ln(), epsilon = TOL);
}

#[test]
fn simple_shear() {
    for gamma in [0.05, 0.3, -0.2] {
        let m = strain_of([[1.0, gamma], [0.0, 1.0]]);
        assert_abs_diff_eq!(m.small.xx, 0.0, epsilon = TOL);
        assert_abs_diff_eq!(m.small.yy, 0.0, epsilon = TOL);
        assert_abs_diff_eq!(m.small.xy, gamma / 2.0, epsilon = TOL);
        assert_abs_diff_eq!(m.green.xx, 0.0, epsilon = TOL);
        assert_abs_diff_eq!(m.green.xy, gamma / 2.0, epsilon = TOL);
        assert_abs_diff_eq!(m.green.yy, gamma * gamma / 2.0, epsilon = TOL);
        assert_abs_diff_eq!(m.j, 1.0, epsilon = TOL);
        // Small strain: pure shear of the tensor, principal axes at ±45°.
        assert_abs_diff_eq!(m.small_principal.e1, gamma.abs() / 2.0, epsilon = TOL);
        assert_abs_diff_eq!(m.small_principal.e2, -gamma.abs() / 2.0, epsilon = TOL);
        assert_abs_diff_eq!(
            m.small_principal.angle_deg,
            45.0 * gamma.signum(),
            epsilon = 1e-9
        );
        assert_abs_diff_eq!(
            m.small_principal.max_shear,
            gamma.abs() / 2.0,
            epsilon = TOL
        );
        // Rotation of simple shear: tan θ = −γ/2 (F₁₀ − F₀₁ = −γ, F₀₀ + F₁₁ = 2).
        assert_abs_diff_eq!(
            m.rotation_deg,
            (-gamma / 2.0).atan().to_degrees(),
            epsilon = 1e-9
        );
        // Hencky: incompressible, so the principal values are ± each other.
        assert_abs_diff_eq!(
            m.hencky_principal.e1 + m.hencky_principal.e2,
            0.0,
            epsilon = TOL
        );
    }
}

#[test]
fn camera_zoom_with_ruler_changes_nothing() {
    let f = [[1.07, 0.02], [-0.01, 0.91]];
    let base = strain_of(f);
    for (zoom, dx, dy) in [(30.0, 0.0, 0.0), (7.3, -120.5, 44.25), (55.5, 3.0, 1000.0)] {
        let camera = Camera {
            zoom,
            angle_deg: 0.0,
            tx: 500.0 + dx,
            ty: 600.0 + dy,
        };
        let zoomed = measures(
            shot(&LAYOUT, IDENTITY, Camera::PLAIN),
            shot(&LAYOUT, f, camera),
        );
        let (a, b) = (base.to_array(), zoomed.to_array());
        for (x, y) in a.iter().zip(&b) {
            assert_abs_diff_eq!(x, y, epsilon = 1e-11);
        }
    }
}

#[test]
fn all_pixel_coordinates_times_two_give_bitwise_identical_strain() {
    let f = [[1.07, 0.02], [-0.01, 0.91]];
    let (rf, rs) = shot(&LAYOUT, IDENTITY, Camera::PLAIN);
    let (cf, cs) = shot(&LAYOUT, f, Camera::PLAIN);
    let double = |p: &Point| Point::new(2.0 * p.x, 2.0 * p.y);
    let cf2 = Fiducials::new(cf.points().map(|p| double(&p))).expect("finite");
    let cs2 = ScalePoints::new(cs.points().map(|p| double(&p))).expect("distinct");
    assert_eq!(measures((rf, rs), (cf, cs)), measures((rf, rs), (cf2, cs2)));
}

#[test]
fn identical_frames_give_exactly_zero() {
    let frame = shot(&LAYOUT, [[1.03, 0.1], [0.2, 0.95]], Camera::PLAIN);
    let mm = to_mm(&frame.0, &frame.1, RULER_MM);
    let d = deformation_gradient(&mm, &mm).expect("valid");
    assert_eq!(d, Deformation::IDENTITY);
    let m = StrainMeasures::from_gradient(&d);
    assert_eq!(m, StrainMeasures::identity());
    let zero = Tensor2::default();
    assert_eq!((m.small, m.green, m.hencky), (zero, zero, zero));
    assert_eq!(
        [m.small_principal, m.green_principal, m.hencky_principal],
        [Default::default(); 3]
    );
    assert_eq!((m.j, m.rotation_deg, m.residual_mm), (1.0, 0.0, 0.0));
    // Only the edge vectors matter: a translation that keeps them bit-identical (dyadic
    // coordinates here) is still exactly 0.
    let layout = LAYOUT.map(Point::from);
    let shifted = layout.map(|p| Point::new(p.x + 1024.5, p.y - 512.25));
    assert_eq!(
        deformation_gradient(&layout, &shifted).expect("valid"),
        Deformation::IDENTITY
    );
}

#[test]
fn inhomogeneous_deformation_shows_in_the_residual() {
    let reference = shot(&LAYOUT, IDENTITY, Camera::PLAIN);
    let mut layout = LAYOUT;
    layout[2][1] += 1.0; // bottom-right marker 1 mm further down than the others.
    let current = shot(&layout, IDENTITY, Camera::PLAIN);
    let m = measures(reference, current);
    assert!(
        m.residual_mm > 0.2 && m.residual_mm < 1.0,
        "residual {}",
        m.residual_mm
    );
}

#[test]
fn recovers_an_affine_gradient_with_different_cameras() {
    let f = [[0.93, 0.12], [-0.07, 1.21]];
    let cam2 = Camera {
        zoom: 11.0,
        angle_deg: 0.0,
        tx: 80.0,
        ty: 95.0,
    };
    let r = shot(&LAYOUT, IDENTITY, Camera::PLAIN);
    let c = shot(&LAYOUT, f, cam2);
    let d = deformation_gradient(&to_mm(&r.0, &r.1, RULER_MM), &to_mm(&c.0, &c.1, RULER_MM))
        .expect("valid");
    for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        assert_abs_diff_eq!(d.f[i][j], f[i][j], epsilon = 1e-12);
    }
    assert_abs_diff_eq!(d.det(), 0.93 * 1.21 + 0.12 * 0.07, epsilon = 1e-12);
}

#[test]
fn principal_direction_is_measured_from_x_towards_y_down() {
    // Stretch along the image diagonal pointing right and down (+x, +y).
    let t = Tensor2 {
        xx: 0.0,
        yy: 0.0,
        xy: 0.1,
    };
    let p = t.principal();
    assert_abs_diff_eq!(p.angle_deg, 45.0, epsilon = 1e-12);
    assert_abs_diff_eq!(p.e1, 0.1, epsilon = 1e-15);
    assert_abs_diff_eq!(p.e2, -0.1, epsilon = 1e-15);
    // A pure y stretch is a major direction of 90°, never −90°.
    let p = Tensor2 {
        xx: 0.0,
        yy: 0.2,
        xy: 0.0,
    }
    .principal();
    assert_eq!(p.angle_deg, 90.0);
    let p = Tensor2 {
        xx: 0.0,
        yy: 0.2,
        xy: -0.0,
    }
    .principal();
    assert_eq!(p.angle_deg, 90.0);
}

fn fid(points: [[f64; 2]; 5]) -> [Point; 5] {
    points.map(Point::from)
}

#[test]
fn collinear_or_coincident_reference_markers_are_an_error() {
    let good = fid(LAYOUT);
    let collinear = fid([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [1.5, 1.5]]);
    let coincident = fid([[4.0, 4.0]; 5]);
    let almost = fid([
        [-8.0, -0.001],
        [8.0, -0.001],
        [8.0, 0.001],
        [-8.0, 0.001],
        [0.0, 0.0],
    ]);
    for bad in [collinear, coincident, almost] {
        match deformation_gradient(&bad, &good) {
            Err(StrainError::DegenerateReference { condition }) => {
                assert!(condition > MAX_CONDITION)
            }
            other => panic!("expected DegenerateReference, got {other:?}"),
        }
    }
    let e = deformation_gradient(&coincident, &good).expect_err("degenerate");
    assert_eq!(
        e.to_string(),
        "the reference markers are collinear or coincident (condition number inf)"
    );
}

#[test]
fn folded_collinear_or_coincident_current_markers_are_an_error() {
    let good = fid(LAYOUT);
    let mirrored = fid(LAYOUT.map(|[x, y]| [-x, y]));
    let collinear = fid([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [1.5, 1.5]]);
    let coincident = fid([[4.0, 4.0]; 5]);
    for bad in [mirrored, collinear, coincident] {
        assert!(matches!(
            deformation_gradient(&good, &bad),
            Err(StrainError::DegenerateCurrent { .. })
        ));
    }
    let e = deformation_gradient(&good, &mirrored).expect_err("folded");
    assert_eq!(
        e.to_string(),
        "the markers are folded over, collinear or coincident (det F = -1.000e0)"
    );
}

#[test]
fn rotation_agrees_with_explicit_polar_decomposition() {
    let f = [[1.3, 0.4], [-0.25, 0.8]];
    let m = strain_of(f);
    let fm = nalgebra::Matrix2::new(f[0][0], f[0][1], f[1][0], f[1][1]);
    let c = fm.transpose() * fm;
    let eig = nalgebra::SymmetricEigen::new(c);
    let u = eig.eigenvectors
        * nalgebra::Matrix2::from_diagonal(&eig.eigenvalues.map(f64::sqrt))
        * eig.eigenvectors.transpose();
    let h = eig.eigenvectors
        * nalgebra::Matrix2::from_diagonal(&eig.eigenvalues.map(|l| 0.5 * l.ln()))
        * eig.eigenvectors.transpose();
    let r = fm * u.try_inverse().expect("U invertible");
    assert_abs_diff_eq!(
        m.rotation_deg,
        r[(1, 0)].atan2(r[(0, 0)]).to_degrees(),
        epsilon = 1e-9
    );
    assert_abs_diff_eq!(m.hencky.xx, h[(0, 0)], epsilon = 1e-12);
    assert_abs_diff_eq!(m.hencky.yy, h[(1, 1)], epsilon = 1e-12);
    assert_abs_diff_eq!(m.hencky.xy, h[(0, 1)], epsilon = 1e-12);
}
