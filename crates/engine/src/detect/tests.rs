//! Detection tests: the four demo photos against their verified coordinates, synthetic photos
//! with known truth, degenerate images, tracking.

#![allow(clippy::needless_range_loop)]

use super::synth::{self, SynthConfig};
use super::*;
use image::{DynamicImage, GrayImage, Luma};
use serde_json::Value;
use std::path::PathBuf;

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/demo")
}

struct Demo {
    name: String,
    image: DynamicImage,
    markers: [Point; 5],
    cm_lines: Vec<(u32, Point)>,
}

fn pt(v: &Value) -> Point {
    Point::new(v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

fn demos() -> Vec<Demo> {
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(demo_dir().join("truth.json")).unwrap())
            .unwrap();
    truth["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|im| {
            let name = im["filename"].as_str().unwrap().to_string();
            let image = image::open(demo_dir().join(&name)).unwrap();
            let m: Vec<Point> = im["markers"].as_array().unwrap().iter().map(pt).collect();
            let mut cm_lines: Vec<(u32, Point)> = im["ruler_cm_lines"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.parse().unwrap(), pt(v)))
                .collect();
            cm_lines.sort_by_key(|c| c.0);
            Demo {
                name,
                image,
                markers: [m[0], m[1], m[2], m[3], m[4]],
                cm_lines,
            }
        })
        .collect()
}

#[test]
fn detect_demo_markers_within_tolerance() {
    let mut errors = Vec::new();
    for d in demos() {
        let found = detect_markers(&d.image, &MarkerOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", d.name));
        for i in 0..5 {
            let e = found.fiducials.points()[i].distance(d.markers[i]);
            println!(
                "{} marker {i}: found {} truth {} error {e:.2} px confidence {:.2}",
                d.name,
                found.fiducials.points()[i],
                d.markers[i],
                found.markers[i].confidence
            );
            let limit = if d.name.contains("30mm") && i == 2 {
                4.0
            } else {
                2.0
            };
            assert!(
                e <= limit,
                "{} marker {i}: error {e:.2} px > {limit}",
                d.name
            );
            errors.push(e);
        }
    }
    errors.sort_by(f64::total_cmp);
    let median = 0.5 * (errors[errors.len() / 2 - 1] + errors[errors.len() / 2]);
    println!("median error {median:.3} px");
    assert!(median <= 1.0, "median error {median:.3} px");
}

#[test]
fn detect_demo_ruler_scale_within_one_percent() {
    for d in demos() {
        let markers = detect_markers(&d.image, &MarkerOptions::default())
            .ok()
            .map(|m| m.fiducials);
        let r = detect_ruler(
            &d.image,
            &RulerOptions {
                span_mm: Some(40),
                near_markers: markers,
                ..RulerOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", d.name));
        // The verified cm lines nearest the reported scale points.
        let nearest = |p: Point| {
            d.cm_lines
                .iter()
                .min_by(|a, b| a.1.distance(p).total_cmp(&b.1.distance(p)))
                .copied()
                .unwrap()
        };
        let [p0, p1] = *r.scale_points.points();
        let (c0, c1) = (nearest(p0), nearest(p1));
        let truth_mm = (c1.0 as f64 - c0.0 as f64).abs() * 10.0;
        let truth = truth_mm / c0.1.distance(c1.1);
        let rel = r.mm_per_px / truth - 1.0;
        println!(
            "{}: points {p0} {p1} (cm {} and {}), {:.5} mm/px, verified {truth:.5}, error {:+.3} %, conf {:.2}, local {:?}",
            d.name,
            c0.0,
            c1.0,
            r.mm_per_px,
            rel * 100.0,
            r.confidence,
            r.local_mm_per_px_at_markers
        );
        assert_eq!(
            truth_mm, 40.0,
            "{}: span is not the 40 mm between two cm lines",
            d.name
        );
        // On the lines: offset along the ruler axis (the verified points' direction) within 3 px.
        let axis = {
            let (a, b) = (d.cm_lines[0].1, d.cm_lines[d.cm_lines.len() - 1].1);
            let l = a.distance(b);
            ((b.x - a.x) / l, (b.y - a.y) / l)
        };
        let along = |p: Point, c: Point| ((p.x - c.x) * axis.0 + (p.y - c.y) * axis.1).abs();
        assert!(
            along(p0, c0.1) < 3.0 && along(p1, c1.1) < 3.0,
            "{}: points off the cm lines ({:.2}, {:.2} px)",
            d.name,
            along(p0, c0.1),
            along(p1, c1.1)
        );
        assert!(
            rel.abs() < 0.01,
            "{}: mm/px error {:.3} %",
            d.name,
            rel * 100.0
        );
    }
}

#[test]
fn detect_blank_and_noise_images_are_errors() {
    let blank = GrayImage::from_pixel(300, 200, Luma([128]));
    assert!(detect_markers(&blank, &MarkerOptions::default()).is_err());
    assert!(detect_ruler(&blank, &RulerOptions::default()).is_err());
    let tiny = GrayImage::from_pixel(4, 4, Luma([0]));
    assert!(matches!(
        detect_markers(&tiny, &MarkerOptions::default()),
        Err(DetectError::ImageTooSmall { .. })
    ));
}

/// Grow `image` by shifting its content by (dx, dy) pixels (edges replicated).
fn shifted(image: &GrayImage, dx: i64, dy: i64) -> GrayImage {
    let (w, h) = (image.width() as i64, image.height() as i64);
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let sx = (x as i64 - dx).clamp(0, w - 1) as u32;
        let sy = (y as i64 - dy).clamp(0, h - 1) as u32;
        *image.get_pixel(sx, sy)
    })
}

/// Make the marker around `c` faint: its darkness against `bg` is scaled by `keep`.
fn faded(image: &GrayImage, c: Point, r: f64, keep: f64) -> GrayImage {
    let mut out = image.clone();
    let (x0, y0) = (
        (c.x - 3.0 * r).max(0.0) as u32,
        (c.y - 3.0 * r).max(0.0) as u32,
    );
    let ring: Vec<u8> = (0..64)
        .map(|k| {
            let a = k as f64 / 64.0 * std::f64::consts::TAU;
            let (x, y) = (c.x + 2.5 * r * a.cos(), c.y + 2.5 * r * a.sin());
            image.get_pixel(
                x.clamp(0.0, image.width() as f64 - 1.0) as u32,
                y.clamp(0.0, image.height() as f64 - 1.0) as u32,
            )[0]
        })
        .collect();
    let mut sorted = ring.clone();
    sorted.sort_unstable();
    let bg = sorted[sorted.len() / 2] as f64;
    for y in y0..((c.y + 3.0 * r) as u32).min(image.height()) {
        for x in x0..((c.x + 3.0 * r) as u32).min(image.width()) {
            if Point::new(x as f64, y as f64).distance(c) <= 2.0 * r {
                let v = image.get_pixel(x, y)[0] as f64;
                let nv = if v < bg { bg - (bg - v) * keep } else { v };
                out.put_pixel(x, y, Luma([nv.round() as u8]));
            }
        }
    }
    out
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[(((sorted.len() - 1) as f64) * q).round() as usize]
}

#[test]
fn detect_synthetic_error_distribution() {
    use rayon::prelude::*;
    // Smaller than the bench's photos so that the unoptimised test build stays quick; no ruler
    // here (the ruler has its own synthetic test).
    let cfg = SynthConfig {
        width: 480,
        height: 360,
        marker_diameter: [14.0, 26.0],
        ruler: false,
        ..SynthConfig::default()
    };
    let results: Vec<Result<[f64; 5], String>> = (0..200u64)
        .into_par_iter()
        .map(|seed| {
            let im = synth::generate(seed, &cfg);
            let d = detect_markers(&im.image, &MarkerOptions::default())
                .map_err(|e| format!("seed {seed}: {e}"))?;
            Ok([0, 1, 2, 3, 4].map(|i| d.fiducials.points()[i].distance(im.markers[i])))
        })
        .collect();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let mut errors: Vec<f64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flatten()
        .copied()
        .collect();
    errors.sort_by(f64::total_cmp);
    let (median, p95, max) = (
        percentile(&errors, 0.5),
        percentile(&errors, 0.95),
        errors[errors.len() - 1],
    );
    println!(
        "synthetic: {} of 200 found; marker error median {median:.3} px, p95 {p95:.3} px, max {max:.3} px; failures {failures:?}",
        200 - failures.len()
    );
    assert!(failures.len() <= 2, "too many failures: {failures:?}");
    // A mislabel or a wrong marker would be an error of tens of pixels.
    assert!(
        max < 2.0,
        "largest error {max:.3} px (mislabel or wrong blob)"
    );
    assert!(p95 < 0.5, "p95 error {p95:.3} px");
    assert!(median < 0.15, "median error {median:.3} px");
}

#[test]
fn detect_synthetic_ruler_scale() {
    use rayon::prelude::*;
    let results: Vec<Result<f64, String>> = (0..24u64)
        .into_par_iter()
        .map(|seed| {
            let im = synth::generate(1000 + seed, &SynthConfig::default());
            let truth = im.ruler.ok_or("no ruler drawn")?;
            let r = detect_ruler(
                &im.image,
                &RulerOptions {
                    span_mm: Some(40),
                    ..RulerOptions::default()
                },
            )
            .map_err(|e| format!("seed {}: {e}", 1000 + seed))?;
            let [p0, p1] = *r.scale_points.points();
            let (a0, _) = truth.to_ruler(p0);
            let (a1, _) = truth.to_ruler(p1);
            assert_eq!(r.span_mm, 40);
            // The points must be on graduation lines a whole number of mm from the ruler's 0.
            let frac = |a: f64| (a - a.round()).abs();
            assert!(
                frac(a0) < 0.1 && frac(a1) < 0.1,
                "seed {seed}: points at {a0:.3} and {a1:.3} mm"
            );
            Ok(((a1 - a0).abs() / 40.0 - 1.0).abs() * 100.0)
        })
        .collect();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let mut errors: Vec<f64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .copied()
        .collect();
    errors.sort_by(f64::total_cmp);
    println!(
        "synthetic rulers: {} of 24 found; |mm/px error| median {:.3} %, max {:.3} %; failures {failures:?}",
        errors.len(),
        percentile(&errors, 0.5),
        errors[errors.len() - 1]
    );
    assert!(failures.len() <= 1, "{failures:?}");
    assert!(
        errors[errors.len() - 1] < 0.5,
        "largest mm/px error {:.3} %",
        errors[errors.len() - 1]
    );
}

#[test]
fn detect_degenerate_images_are_errors_not_panics() {
    use rand::{Rng, SeedableRng};
    let opts = MarkerOptions::default();
    // Noise only.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let noise = GrayImage::from_fn(400, 300, |_, _| Luma([rng.random_range(0..=255u8)]));
    assert!(detect_markers(&noise, &opts).is_err());
    assert!(detect_ruler(&noise, &RulerOptions::default()).is_err());
    assert!(snap_to_marker(&noise, Point::new(200.0, 150.0), 20.0).is_none_or(|(_, c)| c < 0.5));
    // Three markers only.
    let three = synth::generate(
        5,
        &SynthConfig {
            marker_count: 3,
            ruler: false,
            ..SynthConfig::default()
        },
    );
    let err = detect_markers(&three.image, &opts).unwrap_err();
    assert!(
        matches!(
            err,
            DetectError::TooFewCandidates { .. } | DetectError::NoPattern { .. }
        ),
        "{err}"
    );
    // All black, all white, a gradient.
    for img in [
        GrayImage::from_pixel(200, 200, Luma([0])),
        GrayImage::from_pixel(200, 200, Luma([255])),
        GrayImage::from_fn(300, 200, |x, _| Luma([(x % 256) as u8])),
    ] {
        assert!(detect_markers(&img, &opts).is_err());
        assert!(detect_ruler(&img, &RulerOptions::default()).is_err());
        assert!(
            track_markers(
                &img,
                &three.fiducials_or_default(),
                &TrackOptions::default()
            )
            .is_err()
        );
    }
    // Bad options and points.
    let bad = MarkerOptions {
        min_contrast: f64::NAN,
        ..MarkerOptions::default()
    };
    assert!(matches!(
        detect_markers(&three.image, &bad),
        Err(DetectError::InvalidOption { .. })
    ));
    assert!(snap_to_marker(&three.image, Point::new(f64::NAN, 1.0), 10.0).is_none());
    assert!(snap_to_marker(&three.image, Point::new(-1e9, 1e9), 10.0).is_none());
    assert!(snap_to_marker(&three.image, Point::new(1e300, 1e300), 1e300).is_none());
    let huge = MarkerOptions {
        working_max_side: u32::MAX,
        ..MarkerOptions::default()
    };
    assert!(matches!(
        detect_markers(&three.image, &huge),
        Err(DetectError::InvalidOption { .. })
    ));
    assert!(matches!(
        detect_ruler(
            &three.image,
            &RulerOptions {
                span_mm: Some(0),
                ..RulerOptions::default()
            }
        ),
        Err(DetectError::InvalidOption { .. })
    ));
}

impl synth::SynthImage {
    fn fiducials_or_default(&self) -> Fiducials {
        Fiducials::new(self.markers).unwrap()
    }
}

#[test]
fn detect_two_patterns_are_ambiguous() {
    // Two copies of one pattern side by side: detection must say so rather than pick one.
    let cfg = SynthConfig {
        width: 320,
        height: 360,
        ruler: false,
        distractors: 0,
        ..SynthConfig::default()
    };
    let a = synth::generate(3, &cfg);
    let both = GrayImage::from_fn(640, 360, |x, y| *a.image.get_pixel(x % 320, y));
    let err = detect_markers(&both, &MarkerOptions::default()).unwrap_err();
    assert!(matches!(err, DetectError::AmbiguousPattern { .. }), "{err}");
}

#[test]
fn detect_bright_markers_with_bright_polarity() {
    let im = synth::generate(
        11,
        &SynthConfig {
            ruler: false,
            ..SynthConfig::default()
        },
    );
    let mut inverted = im.image.clone();
    image::imageops::invert(&mut inverted);
    let opts = MarkerOptions {
        polarity: MarkerPolarity::Bright,
        ..MarkerOptions::default()
    };
    let d = detect_markers(&inverted, &opts).unwrap();
    for i in 0..5 {
        assert!(
            d.fiducials.points()[i].distance(im.markers[i]) < 0.3,
            "marker {i}"
        );
    }
}

#[test]
fn detect_tracking_keeps_labels_along_a_perturbed_sequence() {
    let base = synth::generate(
        21,
        &SynthConfig {
            ruler: false,
            ..SynthConfig::default()
        },
    );
    let shifts = [(0i64, 0i64), (12, -7), (25, -15), (31, 4), (18, 20)];
    let frames: Vec<GrayImage> = shifts
        .iter()
        .map(|&(dx, dy)| shifted(&base.image, dx, dy))
        .collect();
    let truth: Vec<[Point; 5]> = shifts
        .iter()
        .map(|&(dx, dy)| {
            base.markers
                .map(|p| Point::new(p.x + dx as f64, p.y + dy as f64))
        })
        .collect();
    // Frame 3: the centre marker made faint (a quarter of its contrast): detection alone may miss
    // it.
    let mut frames = frames;
    frames[3] = faded(&frames[3], truth[3][4], 12.0, 0.25);
    // Tracking from the previous frame's truth finds every marker with the right label.
    for k in 1..frames.len() {
        let prev = Fiducials::new(truth[k - 1]).unwrap();
        let t = track_markers(&frames[k], &prev, &TrackOptions::default())
            .unwrap_or_else(|e| panic!("frame {k}: {e}"));
        assert_eq!(t.method, DetectionMethod::Tracked);
        for i in 0..5 {
            let e = t.fiducials.points()[i].distance(truth[k][i]);
            assert!(e < 0.5, "frame {k} marker {i}: {e:.3} px");
        }
    }
    // The whole sequence: every frame labelled like the truth.
    let seq = detect_sequence(&frames, &SequenceOptions::default());
    for (k, r) in seq.iter().enumerate() {
        let d = r.as_ref().unwrap_or_else(|e| panic!("frame {k}: {e}"));
        for i in 0..5 {
            let e = d.fiducials.points()[i].distance(truth[k][i]);
            assert!(
                e < 0.5,
                "sequence frame {k} marker {i}: {e:.3} px ({:?})",
                d.method
            );
        }
    }
    // Tracking that cannot find the pattern names the marker.
    let blank = GrayImage::from_pixel(640, 480, Luma([150]));
    let err = track_markers(
        &blank,
        &Fiducials::new(truth[0]).unwrap(),
        &TrackOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DetectError::MarkerLost { .. }), "{err}");
}

#[test]
fn detect_demo_sequence_and_tracking() {
    let demos = demos();
    let images: Vec<&DynamicImage> = demos.iter().map(|d| &d.image).collect();
    let seq = detect_sequence(&images, &SequenceOptions::default());
    for (d, r) in demos.iter().zip(&seq) {
        let r = r.as_ref().unwrap_or_else(|e| panic!("{}: {e}", d.name));
        for i in 0..5 {
            let limit = if d.name.contains("30mm") && i == 2 {
                4.0
            } else {
                2.0
            };
            assert!(
                r.fiducials.points()[i].distance(d.markers[i]) <= limit,
                "{} marker {i}",
                d.name
            );
        }
    }
    // Tracking each photo from the previous photo's verified markers (the camera moves and
    // zooms between shots).
    for k in 1..demos.len() {
        let prev = Fiducials::new(demos[k - 1].markers).unwrap();
        let t = track_markers(&demos[k].image, &prev, &TrackOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", demos[k].name));
        for i in 0..5 {
            let limit = if demos[k].name.contains("30mm") && i == 2 {
                4.0
            } else {
                2.0
            };
            let e = t.fiducials.points()[i].distance(demos[k].markers[i]);
            assert!(
                e <= limit,
                "tracked {} marker {i}: {e:.2} px",
                demos[k].name
            );
        }
    }
}

#[test]
fn detect_snap_moves_a_click_to_the_marker_centre() {
    let demos = demos();
    let d = &demos[0];
    for i in 0..5 {
        let truth = d.markers[i];
        for (dx, dy) in [(6.0, -4.0), (-9.0, 3.5), (0.0, 0.0)] {
            let click = Point::new(truth.x + dx, truth.y + dy);
            let (p, conf) =
                snap_to_marker(&d.image, click, 30.0).unwrap_or_else(|| panic!("marker {i}"));
            assert!(
                p.distance(truth) < 1.0,
                "marker {i} from {click}: {p} ({:.2} px)",
                p.distance(truth)
            );
            assert!(conf > 0.5, "marker {i}: confidence {conf}");
        }
    }
    // Nothing marker-like within the radius: none.
    assert!(snap_to_marker(&d.image, Point::new(700.0, 1000.0), 15.0).is_none());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

        /// A disc drawn at any sub-pixel centre is snapped to within 0.05 px from any click on it.
        #[test]
        fn detect_snap_finds_a_subpixel_disc(cx in 30.0f64..50.0, cy in 30.0f64..50.0, r in 4.0f64..12.0, dx in -3.0f64..3.0, dy in -3.0f64..3.0) {
            let img = GrayImage::from_fn(80, 80, |x, y| {
                // 8×8 supersampled coverage.
                let mut k = 0;
                for sy in 0..8 {
                    for sx in 0..8 {
                        let px = x as f64 - 0.5 + (sx as f64 + 0.5) / 8.0;
                        let py = y as f64 - 0.5 + (sy as f64 + 0.5) / 8.0;
                        if (px - cx).hypot(py - cy) <= r { k += 1; }
                    }
                }
                let cov = k as f64 / 64.0;
                Luma([(200.0 - 170.0 * cov).round() as u8])
            });
            let (p, _) = snap_to_marker(&img, Point::new(cx + dx, cy + dy), 2.0 * r).unwrap();
            prop_assert!(p.distance(Point::new(cx, cy)) < 0.05, "{} vs ({cx}, {cy})", p);
        }

        /// Arbitrary small images never make detection panic.
        #[test]
        fn detect_never_panics_on_random_images(w in 1u32..96, h in 1u32..96, seed in any::<u64>()) {
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let img = GrayImage::from_fn(w, h, |_, _| Luma([rng.random_range(0..=255u8)]));
            let _ = detect_markers(&img, &MarkerOptions::default());
            let _ = detect_ruler(&img, &RulerOptions::default());
            let _ = snap_to_marker(&img, Point::new(w as f64 / 2.0, h as f64 / 2.0), 10.0);
            let prev = Fiducials::new([Point::new(1.0, 1.0); 5]).unwrap();
            let _ = track_markers(&img, &prev, &TrackOptions::default());
        }
    }
}
