//! Synthetic photos of the specimen plane taken through a known camera: the five markers and the
//! ruler lie in one plane, photographed by a pinhole camera with a chosen pose, focal length and
//! radial distortion. Unlike [`super::synth`], whose pattern and ruler are placed independently
//! in the image, everything here follows from one camera model, so the truth (marker centres,
//! the ruler's mm ↔ px map, the plane → image homography) is known exactly for any pose.
//!
//! # Conventions
//!
//! * **Plane** (millimetres): X to the right, Y **down** (like image y), Z = 0. The specimen is
//!   around the origin; `markers_mm` are given in these coordinates.
//! * **Camera**: x right, y down, z along the optical axis (away from the camera). A plane point
//!   is at `P_c = R·(X, Y, 0) + t` with
//!   `R = Rz(roll) · Rx(tilt_x) · Ry(tilt_y)` (tilt about Y applied first, roll last), the usual
//!   right-handed rotation matrices `Rx(a) = [[1,0,0],[0,cos a,−sin a],[0,sin a,cos a]]`,
//!   `Ry(a) = [[cos a,0,sin a],[0,1,0],[−sin a,0,cos a]]`,
//!   `Rz(a) = [[cos a,−sin a,0],[sin a,cos a,0],[0,0,1]]`. The depth of a plane point is
//!   therefore `z = D + sin(tilt_x)·Y − cos(tilt_x)·sin(tilt_y)·X` (roll does not change depth):
//!   a **positive `tilt_x`** puts the lower part of the plane (larger Y, where the ruler's 0 is)
//!   farther away, so the ruler's higher graduations look larger (more px/mm); a **positive
//!   `tilt_y`** brings the right part (larger X, where the ruler is) nearer. A positive `roll`
//!   turns the picture clockwise on screen (x right, y down).
//! * **Translation**: `t = ((0.42 − 0.5 + shift[0])·w·D/f, shift[1]·h·D/f, D)`, where
//!   `D = f · view_height_mm / h · distance`. The plane origin projects at
//!   `(0.42·w + shift[0]·w, 0.5·h + shift[1]·h)` whatever the rotation, and at zero tilt and
//!   `distance` 1 the image shows `view_height_mm` of the plane over its height
//!   (`f / D = h / view_height_mm` px per mm).
//! * **Intrinsics**: `K = [[f, 0, w/2], [0, f, h/2], [0, 0, 1]]` with
//!   `f = focal_35mm / 36 · max(w, h)` px; pixel centres are at integer coordinates (docs/strain.md §1).
//!   The homography is `H = K · [r1 r2 t]` (r1, r2: the first two columns of R), scaled so that
//!   `H[8] = 1`; it maps the plane to the *undistorted* image.
//! * **Lens distortion** (one radial term about the principal point): with
//!   `x_n = (x − w/2)/f`, `y_n = (y − h/2)/f`, `r² = x_n² + y_n²`, the drawn point is
//!   `(w/2 + f·x_n·(1 + k1·r²), h/2 + f·y_n·(1 + k1·r²))`. It is applied to every drawn vertex
//!   and marker centre; outlines are subdivided into pieces of at most 20 px first, so straight
//!   plane edges come out curved. Keep `|k1|` modest (≲ 0.2): the map folds over beyond
//!   `r = 1/√(3|k1|)` for barrel distortion.
//! * **Markers**: each is drawn as the ellipse `{c + J·F·(d/2)·u : |u| ≤ 1}` centred on the
//!   projected (and distorted) plane centre `c`, with `J` the Jacobian of the full plane → image
//!   map at the centre, `F` the `shape` matrix and `d` the marker diameter: the first-order image
//!   of the deformed dot. So [`Scene::markers_px`] is exactly the centre of what is drawn (a true
//!   perspective image of a circle has its centroid slightly off the projected centre; that bias
//!   is not modelled).
//! * **Ruler**: a 16 mm wide steel rule painted by the same code as [`super::synth`]'s ruler
//!   (ticks on both long edges, longer every 5 and 10 mm, digits at the centimetre lines). It
//!   lies in the plane with its left long edge at `X = ruler_x_mm` and graduation 0 at
//!   `Y = ruler_y0_mm`; millimetres increase **upward** (towards −Y). Its
//!   [`SynthRuler::homography`] maps (along, across) with `along = ruler_y0_mm − Y`,
//!   `across = X − ruler_x_mm` (0 at the left edge, 16 at the right edge) to undistorted image
//!   px. The graduation is drawn from 0 to 10 mm beyond where it leaves the image (with a 15 %
//!   margin), at most 400 mm.
//!
//! With the default configuration (1200 × 900 px, 28 mm-equivalent lens, 120 mm field height) the
//! plane is imaged at 7.5 px/mm at zero pose: 3 mm markers are 22.5 px across, the ruler is
//! 120 px wide with its left edge 187.5 px right of the plane origin, graduation 0 at y = 750 px
//! and about 100 mm of graduation visible; ticks are 0.25 mm (1.9 px) wide, 1 mm (7.5 px) apart.
//!
//! # Detection on these scenes (measured with the current detectors, 200 random poses each)
//!
//! [`super::detect_markers`] finds and labels the five markers within 0.1 px of
//! [`Scene::markers_px`] for tilts up to ±20° about both axes, also with radial distortion.
//! [`super::detect_ruler`] (40 mm span) found the ruler in every pose with both tilts in ±20°,
//! but its scale points sit off their graduation lines by a pose-dependent bias, and the span's
//! pixel length is off accordingly:
//!
//! | tilts | point off its line (px) p50 / p90 / max | span length error (%) p50 / p90 / max |
//! |---|---|---|
//! | tilt_x ±20°, tilt_y 0 | 0.13 / 0.22 / 0.34 | 0.01 / 0.04 / 0.08 |
//! | both ±10° | 0.15 / 0.32 / 0.56 | 0.05 / 0.13 / 0.24 |
//! | tilt_x 0, tilt_y ±20° | 0.26 / 0.93 / 2.8 | 0.11 / 0.41 / 0.95 |
//! | both ±20° | 0.31 / 0.77 / 2.9 | 0.10 / 0.35 / 0.91 |
//!
//! The drawing is not the cause (the tests measure the drawn ticks independently: within 0.1 px
//! of the ruler's homography). Tilt about the ruler's axis (tilt_y) makes the ticks converge, and
//! the detector's tick-direction model then carries tick positions to its reading line with an
//! error that grows along the ruler; with tilt_x alone the residue is the projective curvature
//! within its local linear fits. With an 80 mm field (11.25 px/mm) the detector also failed in
//! 19 and misplaced a scale point by ≈ 0.4 mm in 3 of the same 200 poses (all with |tilt_y| ≳ 14°);
//! hence the 120 mm default.

use super::synth::{self, Canvas, RulerLook, SynthRuler};
use crate::points::Point;
use camera::{Camera, distort, mul2};
use image::GrayImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod camera;

/// Camera pose of one photo. Angles in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Rotation of the camera about the image's horizontal axis (the specimen plane's X axis):
    /// depth then varies along the plane's Y axis, i.e. ALONG the ruler (which lies along Y).
    /// Positive: the lower part of the plane (larger Y) is farther away.
    pub tilt_x_deg: f64,
    /// Rotation about the vertical axis (plane Y): depth varies ACROSS the ruler.
    /// Positive: the right part of the plane (larger X, the ruler's side) is nearer.
    pub tilt_y_deg: f64,
    /// In-plane rotation of the camera (about the optical axis); positive turns the picture
    /// clockwise on screen.
    pub roll_deg: f64,
    /// Camera distance from the plane origin along the optical axis, as a multiple of the
    /// distance at which the field of view's height is `SceneConfig::view_height_mm` (1.0 = that).
    pub distance: f64,
    /// Shift of the plane origin in the image, as a fraction of width/height (0,0 = the origin
    /// projects at (0.42·width, 0.5·height)).
    pub shift: [f64; 2],
}

impl Default for Pose {
    fn default() -> Self {
        Self {
            tilt_x_deg: 0.0,
            tilt_y_deg: 0.0,
            roll_deg: 0.0,
            distance: 1.0,
            shift: [0.0, 0.0],
        }
    }
}

/// What to draw and with which camera. Ranges are `[low, high]`, sampled uniformly per image.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneConfig {
    pub width: u32,
    pub height: u32,
    /// 35 mm-equivalent focal length (mm): f_px = focal_35mm / 36 * max(width, height). Default 28.
    pub focal_35mm: f64,
    /// Height of the plane (mm) seen at pose distance 1.0. Default 120 (7.5 px/mm at 900 px).
    pub view_height_mm: f64,
    /// Marker diameter in the plane, mm. Default 3.0.
    pub marker_diameter_mm: f64,
    /// Radial lens distortion k1 (normalised by f): x_d = x (1 + k1 r²), r in units of f. Default 0.
    pub radial_k1: f64,
    /// Gaussian blur sigma, px.
    pub blur_sigma: [f64; 2],
    /// Gaussian noise sigma, grey levels.
    pub noise_sigma: [f64; 2],
    /// Amplitude of the multiplicative lighting variation across the image (0..0.5).
    pub lighting: f64,
    /// Ruler placement in the plane: its graduation runs along −Y (up in the image at zero pose),
    /// its left (ticked) edge at X = ruler_x_mm, graduation 0 at Y = ruler_y0_mm. Defaults 25, +40
    /// (mm; plane Y points DOWN like image y, so the ruler's 0 is near the bottom and mm increase
    /// upward).
    pub ruler_x_mm: f64,
    pub ruler_y0_mm: f64,
    /// Half-millimetre ticks on the ruler's left edge. Default false.
    pub half_mm: bool,
    /// A printed dot-grid calibration target in the plane. Default none.
    pub target: Option<TargetLayout>,
}

/// A dot-grid calibration target lying in the specimen plane: `cols × rows` dots of
/// `dot_diameter_mm`, `pitch_mm` apart, the first at `origin_mm`, on a white card.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetLayout {
    pub pitch_mm: f64,
    pub cols: u32,
    pub rows: u32,
    pub origin_mm: [f64; 2],
    pub dot_diameter_mm: f64,
}

impl Default for TargetLayout {
    /// 7 × 15 dots of 1.6 mm at a 5 mm pitch, left of the markers (X −57…−27, Y −35…35 mm),
    /// clear of the specimen up to its largest deformation in the trials (a specimen covering
    /// part of a dot moves the dot's centre).
    fn default() -> Self {
        Self {
            pitch_mm: 5.0,
            cols: 7,
            rows: 15,
            origin_mm: [-57.0, -35.0],
            dot_diameter_mm: 1.6,
        }
    }
}

impl TargetLayout {
    /// Plane position of dot (i, j), mm.
    pub fn dot(&self, i: u32, j: u32) -> Point {
        Point::new(
            self.origin_mm[0] + f64::from(i) * self.pitch_mm,
            self.origin_mm[1] + f64::from(j) * self.pitch_mm,
        )
    }
}

impl Default for SceneConfig {
    fn default() -> Self {
        Self {
            width: 1200,
            height: 900,
            focal_35mm: 28.0,
            view_height_mm: 120.0,
            marker_diameter_mm: 3.0,
            radial_k1: 0.0,
            blur_sigma: [0.4, 1.5],
            noise_sigma: [1.0, 6.0],
            lighting: 0.3,
            ruler_x_mm: 25.0,
            ruler_y0_mm: 40.0,
            half_mm: false,
            target: None,
        }
    }
}

/// A rendered scene and its truth.
#[derive(Debug, Clone)]
pub struct Scene {
    pub image: GrayImage,
    /// Row-major 3x3 homography: plane (X mm, Y mm, 1) -> undistorted image (x, y, w) in px
    /// (scaled so that the last entry is 1).
    pub homography: [f64; 9],
    pub focal_px: f64,
    /// Principal point (the image centre, width/2, height/2), px: the centre of the distortion.
    pub principal_point: Point,
    /// Radial distortion coefficient the scene was drawn with (see [`Scene::distort`]).
    pub radial_k1: f64,
    /// True marker centres in the image (the image of each plane centre, with distortion applied),
    /// order 0 TL, 1 TR, 2 BR, 3 BL, 4 centre.
    pub markers_px: [Point; 5],
    /// The ruler as drawn, in image px (its homography = camera homography ∘ ruler placement).
    /// With distortion, the homography is the undistorted part: the drawn ruler point of
    /// (along, across) is `distort(ruler.to_image(along, across))`.
    pub ruler: SynthRuler,
}

impl Scene {
    /// Image position (px, with distortion) of a plane point (mm).
    pub fn project(&self, p: Point) -> Point {
        self.distort(self.project_undistorted(p))
    }

    /// Image position of a plane point through the homography alone (no distortion).
    pub fn project_undistorted(&self, p: Point) -> Point {
        let (x, y) = synth::apply_h(&self.homography, p.x, p.y);
        Point::new(x, y)
    }

    /// Apply the scene's radial distortion to an undistorted image point.
    pub fn distort(&self, q: Point) -> Point {
        distort(self.principal_point, self.focal_px, self.radial_k1, q)
    }

    /// Where the drawn ruler shows the point (along_mm, across_mm): [`SynthRuler::to_image`]
    /// followed by the distortion.
    pub fn ruler_point(&self, along_mm: f64, across_mm: f64) -> Point {
        self.distort(self.ruler.to_image(along_mm, across_mm))
    }
}

/// The plane → undistorted image homography (row-major, last entry 1) and the focal length (px)
/// that [`render_scene`] uses for `cfg` and `pose`, without drawing anything.
pub fn scene_homography(cfg: &SceneConfig, pose: &Pose) -> ([f64; 9], f64) {
    let cam = Camera::new(cfg, pose);
    (cam.h, cam.f)
}

/// Five marker centres (mm) at the corners of a square of half-side `half_mm` around a centre
/// marker at the origin, in the order 0 TL, 1 TR, 2 BR, 3 BL, 4 centre.
pub fn square_markers(half_mm: f64) -> [Point; 5] {
    [
        Point::new(-half_mm, -half_mm),
        Point::new(half_mm, -half_mm),
        Point::new(half_mm, half_mm),
        Point::new(-half_mm, half_mm),
        Point::new(0.0, 0.0),
    ]
}

/// Width of the scene's ruler, mm.
const RULER_WIDTH_MM: f64 = 16.0;

/// Draw the specimen plane (markers at `markers_mm`, each a circle of
/// `cfg.marker_diameter_mm` deformed by the 2×2 matrix `shape`, and the ruler) as photographed
/// with `pose`. Deterministic for a given seed; the seed only chooses grey levels, lighting,
/// blur and noise, never geometry.
pub fn render_scene(
    seed: u64,
    cfg: &SceneConfig,
    markers_mm: &[Point; 5],
    shape: [[f64; 2]; 2],
    pose: &Pose,
) -> Scene {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cam = Camera::new(cfg, pose);
    let (w, h) = (cfg.width.max(32) as usize, cfg.height.max(32) as usize);
    let background = rng.random_range(110.0..150.0) as f32;
    let mut c = Canvas::new(w, h, background);
    let warp = |q: Point| cam.distort(q);
    let map = |x: f64, y: f64| cam.undistorted(Point::new(x, y));

    // Calibration target: a white card a pitch beyond its outer dots, dots drawn as the markers
    // are. Fixed grey levels: the random sequence (and so every scene without a target) is the
    // same as without this step.
    if let Some(t) = &cfg.target {
        let (a, b) = (
            t.dot(0, 0),
            t.dot(t.cols.saturating_sub(1), t.rows.saturating_sub(1)),
        );
        let m = t.pitch_mm;
        let card = [
            (a.x - m, a.y - m),
            (b.x + m, a.y - m),
            (b.x + m, b.y + m),
            (a.x - m, b.y + m),
        ];
        let outline = synth::subdivided(&card, 20.0, &map, &warp);
        c.fill_path(&outline, (background + 80.0).min(235.0));
        let r = 0.5 * t.dot_diameter_mm;
        for j in 0..t.rows {
            for i in 0..t.cols {
                let x = t.dot(i, j);
                if cam.depth(x) <= 0.05 {
                    continue;
                }
                let jac = cam.jacobian(x);
                c.ellipse_affine(
                    cam.project(x),
                    [jac[0] * r, jac[1] * r, jac[2] * r, jac[3] * r],
                    25.0,
                );
            }
        }
    }

    // Specimen: the markers' bounding rectangle grown by 2.5 diameters.
    let grow = 2.5 * cfg.marker_diameter_mm;
    let (x0, y0, x1, y1) = markers_mm.iter().fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |b, p| (b.0.min(p.x), b.1.min(p.y), b.2.max(p.x), b.3.max(p.y)),
    );
    let corners = [
        (x0 - grow, y0 - grow),
        (x1 + grow, y0 - grow),
        (x1 + grow, y1 + grow),
        (x0 - grow, y1 + grow),
    ];
    let specimen = synth::subdivided(&corners, 20.0, &map, &warp);
    let specimen_level = (background + rng.random_range(45.0..75.0)).min(235.0);
    c.fill_path(&specimen, specimen_level);

    // Markers: first-order images of the deformed circles, centred on the projected centres.
    let marker_level = rng.random_range(15.0..45.0) as f32;
    let r = 0.5 * cfg.marker_diameter_mm;
    let fm = [
        shape[0][0] * r,
        shape[0][1] * r,
        shape[1][0] * r,
        shape[1][1] * r,
    ];
    let mut markers_px = [Point::default(); 5];
    for (i, &m) in markers_mm.iter().enumerate() {
        markers_px[i] = cam.project(m);
        let a = mul2(&cam.jacobian(m), &fm);
        c.ellipse_affine(markers_px[i], a, marker_level);
    }

    // Ruler: (along, across) → plane (ruler_x + across, ruler_y0 − along) → image.
    let placement = [
        0.0,
        1.0,
        cfg.ruler_x_mm,
        -1.0,
        0.0,
        cfg.ruler_y0_mm,
        0.0,
        0.0,
        1.0,
    ];
    let mut ruler = SynthRuler {
        homography: synth::mul3(&cam.h, &placement),
        length_mm: 0.0,
        width_mm: RULER_WIDTH_MM,
        half_mm: cfg.half_mm,
    };
    ruler.length_mm = ruler_length(&ruler, w as f64, h as f64);
    let metal = rng.random_range(115.0..150.0) as f32;
    let ink = rng.random_range(10.0..40.0) as f32;
    let px_per_mm = h as f64 / cfg.view_height_mm / pose.distance.max(1e-9);
    let look = RulerLook {
        metal,
        ink,
        // 0.25 mm lines, at least 1.6 px wide at the nominal scale.
        tick_w_mm: (0.25f64).max(1.6 / px_per_mm),
    };
    let warp_opt: Option<&dyn Fn(Point) -> Point> = if cam.k1 != 0.0 { Some(&warp) } else { None };
    synth::paint_ruler(&mut c, &ruler, &look, warp_opt);

    let image = synth::finish(c, &mut rng, cfg.lighting, cfg.blur_sigma, cfg.noise_sigma);
    Scene {
        image,
        homography: cam.h,
        focal_px: cam.f,
        principal_point: cam.c,
        radial_k1: cam.k1,
        markers_px,
        ruler,
    }
}

/// Graduation length to draw: 10 mm past the last whole mm whose ruler centre line point is in
/// front of the camera and inside the image grown by 15 % on each side (at least 20 mm, at most
/// 400 mm).
fn ruler_length(ruler: &SynthRuler, w: f64, h: f64) -> f64 {
    let hm = &ruler.homography;
    let across = 0.5 * ruler.width_mm;
    let mut last_inside = None;
    for mm in 0..=390 {
        let a = mm as f64;
        if hm[6] * a + hm[7] * across + hm[8] <= 0.05 {
            break;
        }
        let p = ruler.to_image(a, across);
        if (-0.15 * w..=1.15 * w).contains(&p.x) && (-0.15 * h..=1.15 * h).contains(&p.y) {
            last_inside = Some(a);
        }
    }
    last_inside.map_or(100.0, |a| (a + 10.0).clamp(20.0, 400.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::synth::{SynthConfig, generate};
    use crate::detect::{MarkerOptions, RulerOptions, detect_markers, detect_ruler};

    const IDENTITY: [[f64; 2]; 2] = [[1.0, 0.0], [0.0, 1.0]];

    fn fnv1a(bytes: &[u8]) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    /// Bilinear grey level at an image point.
    fn sample(img: &GrayImage, p: Point) -> f64 {
        let (x0, y0) = (p.x.floor(), p.y.floor());
        let (fx, fy) = (p.x - x0, p.y - y0);
        let g = |x: f64, y: f64| {
            let x = x.clamp(0.0, img.width() as f64 - 1.0) as u32;
            let y = y.clamp(0.0, img.height() as f64 - 1.0) as u32;
            f64::from(img.get_pixel(x, y)[0])
        };
        (1.0 - fy) * ((1.0 - fx) * g(x0, y0) + fx * g(x0 + 1.0, y0))
            + fy * ((1.0 - fx) * g(x0, y0 + 1.0) + fx * g(x0 + 1.0, y0 + 1.0))
    }

    /// Where the image shows the tick of graduation `a` (ruler mm), measured independently of
    /// the detectors: the darkness centroid (in ruler mm) along lines of constant `across`
    /// through the drawn (distorted) ruler, iterated from `a`.
    fn measured_tick(sc: &Scene, a: f64, acrosses: &[f64]) -> f64 {
        let mut centre = a;
        for _ in 0..3 {
            let (mut sw, mut sws) = (0.0, 0.0);
            for &across in acrosses {
                let s: Vec<(f64, f64)> = (-40..=40)
                    .map(|k| {
                        let s = centre + f64::from(k) * 0.01;
                        (s, sample(&sc.image, sc.ruler_point(s, across)))
                    })
                    .collect();
                let mut levels: Vec<f64> = s.iter().map(|v| v.1).collect();
                levels.sort_by(f64::total_cmp);
                let base = levels[levels.len() * 3 / 4];
                for (si, v) in s {
                    let wgt = (base - v).max(0.0);
                    sw += wgt;
                    sws += wgt * si;
                }
            }
            centre = sws / sw;
        }
        centre
    }

    /// Local px per mm of the ruler's graduation at (along, across), from its homography.
    fn ruler_px_per_mm(r: &SynthRuler, a: f64, t: f64) -> f64 {
        let h = &r.homography;
        let w = h[6] * a + h[7] * t + h[8];
        let p = r.to_image(a, t);
        ((h[0] - p.x * h[6]) / w).hypot((h[3] - p.y * h[6]) / w)
    }

    /// Along-ruler distance (px) of a detected scale point from the nearest graduation line,
    /// and that line's mm.
    fn off_graduation(sc: &Scene, p: Point) -> (f64, f64) {
        let (a, t) = sc.ruler.to_ruler(p);
        (
            (a - a.round()).abs() * ruler_px_per_mm(&sc.ruler, a.round(), t),
            a.round(),
        )
    }

    /// (largest marker error px, largest scale point distance from its line px) or what failed.
    type Detected = Result<(f64, f64), String>;

    /// Detect markers and ruler (40 mm span) in a scene: the largest marker error (px) and the
    /// largest distance (px, along the ruler) of a scale point from its graduation line.
    fn detect_scene(sc: &Scene) -> Detected {
        let d = detect_markers(&sc.image, &MarkerOptions::default())
            .map_err(|e| format!("markers: {e}"))?;
        let marker_err = (0..5)
            .map(|i| d.fiducials.points()[i].distance(sc.markers_px[i]))
            .fold(0.0, f64::max);
        let r = detect_ruler(
            &sc.image,
            &RulerOptions {
                span_mm: Some(40),
                ..RulerOptions::default()
            },
        )
        .map_err(|e| format!("ruler: {e}"))?;
        let [p0, p1] = *r.scale_points.points();
        let ((e0, a0), (e1, a1)) = (off_graduation(sc, p0), off_graduation(sc, p1));
        if r.span_mm != 40 || (a1 - a0).abs() != 40.0 {
            return Err(format!(
                "ruler: points on the {a0} and {a1} mm lines, reported span {}",
                r.span_mm
            ));
        }
        Ok((marker_err, e0.max(e1)))
    }

    #[test]
    fn scene_zero_pose_is_a_similarity() {
        let cfg = SceneConfig {
            noise_sigma: [1.0, 1.0],
            ..SceneConfig::default()
        };
        let markers = square_markers(15.0);
        let sc = render_scene(1, &cfg, &markers, IDENTITY, &Pose::default());
        let h = sc.homography;
        // Scale f / D = height / view_height px per mm, no rotation, no perspective.
        let s = 900.0 / cfg.view_height_mm;
        assert!(
            (h[0] / s - 1.0).abs() < 1e-12 && (h[4] / s - 1.0).abs() < 1e-12,
            "{h:?}"
        );
        for k in [1, 3, 6, 7] {
            assert!(h[k].abs() < 1e-12, "H[{k}] = {}", h[k]);
        }
        assert_eq!(h[8], 1.0);
        // The plane origin at (0.42 w, 0.5 h).
        assert!((h[2] - 0.42 * 1200.0).abs() < 1e-9 && (h[5] - 450.0).abs() < 1e-9);
        assert!((sc.focal_px - 28.0 / 36.0 * 1200.0).abs() < 1e-9);
        for (m, p) in markers.iter().zip(&sc.markers_px) {
            let q = Point::new(h[0] * m.x + h[2], h[4] * m.y + h[5]);
            assert!(q.distance(*p) < 1e-9, "{q} vs {p}");
            assert!(sc.project(*m).distance(*p) < 1e-9);
        }
        // The ruler: graduation 0 of its left edge at (ruler_x, ruler_y0), mm upward.
        let r0 = sc.ruler.to_image(0.0, 0.0);
        let q0 = sc.project(Point::new(cfg.ruler_x_mm, cfg.ruler_y0_mm));
        assert!(r0.distance(q0) < 1e-9);
        let r10 = sc.ruler.to_image(10.0, 16.0);
        assert!(
            (r10.x - (q0.x + 16.0 * s)).abs() < 1e-9 && (r10.y - (q0.y - 10.0 * s)).abs() < 1e-9
        );
        // Deterministic per seed.
        let again = render_scene(1, &cfg, &markers, IDENTITY, &Pose::default());
        assert_eq!(again.image.as_raw(), sc.image.as_raw());
        let other = render_scene(2, &cfg, &markers, IDENTITY, &Pose::default());
        assert_ne!(other.image.as_raw(), sc.image.as_raw());
        // The drawn ticks are where the ruler says (independent centroid measurement).
        for a in [5.0, 20.0, 45.0, 70.0] {
            let e = (measured_tick(&sc, a, &[0.5, 0.75, 1.0, 1.25, 1.5]) - a) * s;
            assert!(e.abs() < 0.1, "tick {a}: {e:.3} px");
        }
    }

    #[test]
    fn scene_tilt_x_changes_the_ruler_scale_along_it() {
        let cfg = SceneConfig {
            noise_sigma: [1.0, 1.0],
            ..SceneConfig::default()
        };
        let pose = Pose {
            tilt_x_deg: 15.0,
            ..Pose::default()
        };
        let markers = square_markers(15.0);
        let sc = render_scene(3, &cfg, &markers, IDENTITY, &pose);
        for (m, p) in markers.iter().zip(&sc.markers_px) {
            assert!(sc.project(*m).distance(*p) < 1e-9);
        }
        // Geometry: a plane point (X, Y) is at depth z = D + sin(t)·Y; along the ruler's edge
        // (X fixed, Y = y0 − a) the image moves by f/z²·√((X + tx)² sin²t + D² cos²t) px per mm.
        let (f, (w, h)) = (sc.focal_px, (1200.0, 900.0));
        let d = f * cfg.view_height_mm / h;
        let tx = (0.42 - 0.5) * w * d / f;
        let (st, ct) = (15f64.to_radians().sin(), 15f64.to_radians().cos());
        let z = |a: f64| d + st * (cfg.ruler_y0_mm - a);
        let x_edge = cfg.ruler_x_mm;
        let predicted = |a: f64| f / z(a).powi(2) * ((x_edge + tx) * st).hypot(d * ct);
        for a in [0.0, 20.0, 40.0, 60.0, 80.0] {
            let from_h = ruler_px_per_mm(&sc.ruler, a, 0.0);
            assert!(
                (from_h / predicted(a) - 1.0).abs() < 1e-9,
                "{a} mm: {from_h} vs {}",
                predicted(a)
            );
        }
        // Positive tilt_x: the bottom is farther, so the upper graduation is larger, by the
        // squared depth ratio.
        let ratio = predicted(65.0) / predicted(10.0);
        assert!(((ratio - (z(10.0) / z(65.0)).powi(2)).abs()) < 1e-12);
        assert!(ratio > 1.2, "ratio {ratio}");
        // The image shows it: the 10 mm around each place, measured from the drawn ticks.
        let span_px = |a0: f64, a1: f64| {
            let across = [0.5, 0.75, 1.0, 1.25, 1.5];
            let (m0, m1) = (
                measured_tick(&sc, a0, &across),
                measured_tick(&sc, a1, &across),
            );
            sc.ruler_point(m0, 1.0).distance(sc.ruler_point(m1, 1.0))
        };
        let (lo, hi) = (span_px(5.0, 15.0), span_px(60.0, 70.0));
        let truth = sc
            .ruler
            .to_image(60.0, 1.0)
            .distance(sc.ruler.to_image(70.0, 1.0))
            / sc.ruler
                .to_image(5.0, 1.0)
                .distance(sc.ruler.to_image(15.0, 1.0));
        assert!(
            (hi / lo / truth - 1.0).abs() < 0.003,
            "measured ratio {:.4}, geometry {truth:.4}",
            hi / lo
        );
    }

    /// The ruler detector's scale points are not exactly on the graduation lines under
    /// perspective: its local linear fits of tick position against index are biased by the
    /// projective curvature (≈ 0.15 px at 10° tilt_x, 7.5 px/mm), and its model of the tick
    /// direction is imperfect when the ticks converge (tilt_y), which adds up to ≈ 0.4 px at 8°
    /// and 1–3 px at 15–20°. The drawn ticks themselves are where the ruler says to < 0.1 px
    /// (checked independently in the other tests), so these are the detector's errors.
    const RULER_TOL_10_8_PX: f64 = 0.6;
    /// Largest distance of a scale point from its line over ±20° tilts; still well below the
    /// 3.75 px of a half-millimetre misplacement.
    const RULER_TOL_20_PX: f64 = 2.5;

    #[test]
    fn scene_detectors_find_markers_and_ruler_at_10_and_8_degrees() {
        use rayon::prelude::*;
        let pose = Pose {
            tilt_x_deg: 10.0,
            tilt_y_deg: 8.0,
            ..Pose::default()
        };
        let markers = square_markers(15.0);
        let results: Vec<(u64, Detected)> = (0..8u64)
            .into_par_iter()
            .map(|seed| {
                let sc = render_scene(seed, &SceneConfig::default(), &markers, IDENTITY, &pose);
                (seed, detect_scene(&sc))
            })
            .collect();
        println!("(max marker error px, max scale point distance from its line px): {results:.3?}");
        for (seed, r) in &results {
            let (marker_err, ruler_err) = r.as_ref().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert!(
                *marker_err < 0.3,
                "seed {seed}: marker error {marker_err:.3} px"
            );
            assert!(
                *ruler_err < RULER_TOL_10_8_PX,
                "seed {seed}: scale point {ruler_err:.3} px off its line"
            );
        }
    }

    #[test]
    fn scene_radial_distortion_bends_the_drawing() {
        let cfg = SceneConfig {
            radial_k1: -0.1,
            noise_sigma: [1.0, 1.0],
            ruler_x_mm: 36.0,
            ..SceneConfig::default()
        };
        let pose = Pose {
            tilt_x_deg: 6.0,
            roll_deg: 2.0,
            ..Pose::default()
        };
        let markers = square_markers(25.0);
        let sc = render_scene(4, &cfg, &markers, IDENTITY, &pose);
        let (f, c) = (sc.focal_px, sc.principal_point);
        assert_eq!(c, Point::new(600.0, 450.0));
        for (m, p) in markers.iter().zip(&sc.markers_px) {
            let q = sc.project_undistorted(*m);
            let (xn, yn) = ((q.x - c.x) / f, (q.y - c.y) / f);
            let g = 1.0 - 0.1 * (xn * xn + yn * yn);
            let expected = Point::new(c.x + f * xn * g, c.y + f * yn * g);
            assert!(expected.distance(*p) < 1e-9 && sc.project(*m).distance(*p) < 1e-9);
        }
        // Corner markers move inwards by several px.
        assert!(
            sc.project_undistorted(markers[0])
                .distance(sc.markers_px[0])
                > 4.0
        );
        // The drawn ticks follow the distorted ruler (both edges).
        for a in [10.0, 40.0, 70.0] {
            let ppm = ruler_px_per_mm(&sc.ruler, a, 1.0);
            for across in [[0.5, 1.0, 1.5], [14.5, 15.0, 15.5]] {
                let e = (measured_tick(&sc, a, &across) - a) * ppm;
                assert!(e.abs() < 0.1, "tick {a} at {across:?}: {e:.3} px");
            }
        }
        // The specimen's straight left edge comes out curved, as predicted.
        let x_edge = -25.0 - 2.5 * cfg.marker_diameter_mm;
        let edge_at_row = |y: f64, distorted: bool| {
            let at = |yy: f64| {
                let p = Point::new(x_edge, yy);
                if distorted {
                    sc.project(p)
                } else {
                    sc.project_undistorted(p)
                }
            };
            let (mut lo, mut hi) = (-60.0, 60.0);
            for _ in 0..80 {
                let mid = 0.5 * (lo + hi);
                if at(mid).y < y { lo = mid } else { hi = mid }
            }
            at(0.5 * (lo + hi)).x
        };
        let measured = |y: u32| {
            let x0 = edge_at_row(f64::from(y), true);
            let mut xs = Vec::new();
            for yy in y - 2..=y + 2 {
                let row = |x: i32| f64::from(sc.image.get_pixel(x as u32, yy)[0]);
                let xc = x0.round() as i32;
                let bg = (-12..=-8).map(|d| row(xc + d)).sum::<f64>() / 5.0;
                let sp = (8..=12).map(|d| row(xc + d)).sum::<f64>() / 5.0;
                let mid = 0.5 * (bg + sp);
                let x = (xc - 8..xc + 8)
                    .find(|&x| row(x) < mid && row(x + 1) >= mid)
                    .map(|x| f64::from(x) + (mid - row(x)) / (row(x + 1) - row(x)));
                xs.push(x.unwrap_or(f64::NAN));
            }
            xs.iter().sum::<f64>() / xs.len() as f64
        };
        let rows = [-25.0, 0.0, 25.0].map(|yy| sc.project(Point::new(x_edge, yy)).y.round() as u32);
        let meas = rows.map(measured);
        for (r, m) in rows.iter().zip(&meas) {
            let pred = edge_at_row(f64::from(*r), true);
            assert!(
                (m - pred).abs() < 0.25,
                "row {r}: edge at {m:.2}, predicted {pred:.2}"
            );
        }
        // Bow of the middle against the chord of the ends: none without distortion, > 1 px with
        // it, and the drawing shows the predicted bow.
        let bow = |x: [f64; 3]| x[1] - 0.5 * (x[0] + x[2]);
        let straight = rows.map(|r| edge_at_row(f64::from(r), false));
        let curved = rows.map(|r| edge_at_row(f64::from(r), true));
        assert!(bow(straight).abs() < 0.05, "{straight:?}");
        assert!(bow(curved) < -1.0, "predicted bow {:.2} px", bow(curved));
        assert!(
            (bow(meas) - bow(curved)).abs() < 0.3,
            "bow {:.2} px, predicted {:.2}",
            bow(meas),
            bow(curved)
        );
        // Markers are still found at the distorted centres.
        let found = detect_markers(&sc.image, &MarkerOptions::default()).expect("markers");
        for i in 0..5 {
            let e = found.fiducials.points()[i].distance(sc.markers_px[i]);
            assert!(e < 0.3, "marker {i}: {e:.3} px");
        }
    }

    #[test]
    fn scene_marker_shape_follows_the_deformation() {
        let shape = [[1.25, 0.0], [0.0, 0.7]];
        let sc = render_scene(
            5,
            &SceneConfig::default(),
            &square_markers(15.0),
            shape,
            &Pose::default(),
        );
        let found = detect_markers(&sc.image, &MarkerOptions::default()).expect("markers");
        let s = 7.5 * 3.0;
        for (i, m) in found.markers.iter().enumerate() {
            // Moment axes of the thresholded, blurred blob: a little larger than drawn (a round
            // dot would be 22.5 px both ways).
            assert!(
                (m.major_px - 1.25 * s).abs() < 0.8
                    && (m.minor_px - 0.7 * s).abs() < 1.2
                    && m.angle_deg.abs() < 2.0,
                "marker {i}: {:.2} x {:.2} px at {:.1}°, drawn {:.2} x {:.2}",
                m.major_px,
                m.minor_px,
                m.angle_deg,
                1.25 * s,
                0.7 * s
            );
            assert!(m.point.distance(sc.markers_px[i]) < 0.3);
        }
    }

    #[test]
    fn scene_detection_across_seeds_and_tilts() {
        use rayon::prelude::*;
        let markers = square_markers(15.0);
        let results: Vec<(Pose, Detected)> = (0..20u64)
            .into_par_iter()
            .map(|seed| {
                let mut rng = ChaCha8Rng::seed_from_u64(100 + seed);
                let pose = Pose {
                    tilt_x_deg: rng.random_range(-20.0..20.0),
                    tilt_y_deg: rng.random_range(-20.0..20.0),
                    ..Pose::default()
                };
                let sc = render_scene(seed, &SceneConfig::default(), &markers, IDENTITY, &pose);
                (pose, detect_scene(&sc))
            })
            .collect();
        for (seed, (pose, r)) in results.iter().enumerate() {
            println!(
                "seed {seed}: tilt_x {:+.1}° tilt_y {:+.1}°: {r:.3?}",
                pose.tilt_x_deg, pose.tilt_y_deg
            );
        }
        for (seed, (_, r)) in results.iter().enumerate() {
            let (marker_err, ruler_err) = r.as_ref().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert!(
                *marker_err < 0.3,
                "seed {seed}: marker error {marker_err:.3} px"
            );
            assert!(
                *ruler_err < RULER_TOL_20_PX,
                "seed {seed}: ruler point {ruler_err:.3} px off its line"
            );
        }
    }

    #[test]
    fn scene_synth_generate_is_unchanged_by_the_refactor() {
        // FNV-1a of generate()'s bytes, computed before paint_ruler / finish / ellipse_affine
        // were split out of synth.rs.
        let im = generate(7, &SynthConfig::default());
        assert_eq!(im.image.as_raw().len(), 640 * 480);
        assert_eq!(fnv1a(im.image.as_raw()), 0x5558_10e8_daec_9c96);
        let im = generate(1003, &SynthConfig::default());
        assert_eq!(fnv1a(im.image.as_raw()), 0xe0da_9286_f452_c0f1);
    }
}
