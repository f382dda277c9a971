//! The demo photos against their verified coordinates (`truth.json`): per photo the time to
//! decode it, detect the markers, track them from the previous photo and find the ruler scale
//! (median of `--repeat` runs), then the distance of each detected point from its verified one,
//! the centimetre lines the ruler model predicts, and the strains of the detected points against
//! those of the verified points.

use super::{DetectBenchArgs, median_time, ms, percentile};
use crate::cli::BadInput;
use crate::cli::detect::decode_image;
use anyhow::Context;
use serde_json::Value;
use std::time::Duration;
use strain_seer_engine::detect::{
    self, MarkerOptions, RulerOptions, SequenceOptions, TrackOptions, detect_markers, detect_ruler,
    track_markers,
};
use strain_seer_engine::{AnalysisOptions, Fiducials, ImageInput, Point, ScalePoints, analyze};

pub(super) fn demo(args: &DetectBenchArgs) -> anyhow::Result<()> {
    let truth = read_truth(&args.demo.demo_dir)?;
    println!();
    println!(
        "Demo photos in {} (verified coordinates: truth.json)",
        args.demo.demo_dir.display()
    );
    println!(
        "{:<28} {:>11} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "photo",
        "size",
        "MP",
        "decode",
        "markers",
        "tracking",
        "ruler",
        "+markers",
        "+tracked",
        "+mk+ruler"
    );
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .context("thread pool")?;
    let mut images = Vec::new();
    let mut detections = Vec::new();
    let mut rulers = Vec::new();
    let mut ratios: Vec<[f64; 3]> = Vec::new();
    let marker_opts = MarkerOptions::default();
    for (k, t) in truth.iter().enumerate() {
        let path = args.demo.demo_dir.join(&t.filename);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut image = None;
        let decode = median_time(args.repeat, || {
            image = decode_image(&bytes, &t.filename).ok()
        });
        let image = image.ok_or_else(|| BadInput(format!("{}: cannot decode", path.display())))?;
        let mut found = None;
        let t_markers = single.install(|| {
            median_time(args.repeat, || {
                found = Some(detect_markers(&image, &marker_opts))
            })
        });
        let found = found.ok_or_else(|| anyhow::anyhow!("no run"))?;
        // Tracking from the previous photo's detected markers (the first photo: from its own).
        let previous: Option<Fiducials> = match k {
            0 => found.as_ref().ok().map(|d| d.fiducials),
            _ => detections
                .last()
                .and_then(|d: &Result<detect::MarkerDetection, _>| {
                    d.as_ref().ok().map(|d| d.fiducials)
                }),
        };
        let mut tracked = None;
        let t_track = match previous {
            Some(prev) => single.install(|| {
                median_time(args.repeat, || {
                    tracked = Some(track_markers(&image, &prev, &TrackOptions::default()))
                })
            }),
            None => Duration::ZERO,
        };
        let ruler_opts = RulerOptions {
            span_mm: Some(40),
            near_markers: found.as_ref().ok().map(|d| d.fiducials),
            ..RulerOptions::default()
        };
        let mut ruler = None;
        let t_ruler = single.install(|| {
            median_time(args.repeat, || {
                ruler = Some(detect_ruler(&image, &ruler_opts))
            })
        });
        let mp = f64::from(image.width()) * f64::from(image.height()) / 1e6;
        // (decode + work) / decode: the target is ≤ 2 (detection adds at most the decode
        // time again).
        let ratio = |work: Duration| (ms(decode) + ms(work)) / ms(decode);
        let r = [ratio(t_markers), ratio(t_track), ratio(t_markers + t_ruler)];
        ratios.push(r);
        println!(
            "{:<28} {:>11} {:>5.2} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>8.2}× {:>8.2}× {:>8.2}×",
            t.filename,
            format!("{}×{}", image.width(), image.height()),
            mp,
            ms(decode),
            ms(t_markers),
            ms(t_track),
            ms(t_ruler),
            r[0],
            r[1],
            r[2],
        );
        if let Some(Err(e)) = &tracked {
            println!("    tracking failed: {e}");
        }
        detections.push(found);
        rulers.push(ruler.ok_or_else(|| anyhow::anyhow!("no run"))?);
        images.push(image);
    }
    let met = |k: usize| ratios.iter().filter(|r| r[k] <= 2.0).count();
    println!(
        "+markers, +tracked, +mk+ruler: (decode + marker detection | tracking | marker detection + ruler) / decode"
    );
    println!(
        "target ≤ 2.00× (detection adds at most the decode time again): marker detection {} of {}, tracking {} of {}, detection with the ruler {} of {} photos",
        met(0),
        ratios.len(),
        met(1),
        ratios.len(),
        met(2),
        ratios.len()
    );

    println!();
    println!(
        "Marker accuracy (error = distance to the verified centre, px; label = nearest verified marker)"
    );
    let mut all_errors = Vec::new();
    let mut mislabels = 0;
    for (t, d) in truth.iter().zip(&detections) {
        match d {
            Ok(d) => {
                let mut line = format!("{:<28}", t.filename);
                for (i, p) in d.fiducials.points().iter().enumerate() {
                    let e = p.distance(t.markers[i]);
                    let nearest = (0..5)
                        .min_by(|&a, &b| {
                            p.distance(t.markers[a])
                                .total_cmp(&p.distance(t.markers[b]))
                        })
                        .unwrap_or(i);
                    let ok = nearest == i;
                    if !ok {
                        mislabels += 1;
                    }
                    all_errors.push(e);
                    line.push_str(&format!(
                        "  {i}:{e:5.2} {} c{:.2}",
                        if ok { "ok" } else { "WRONG" },
                        d.markers[i].confidence
                    ));
                }
                println!("{line}");
            }
            Err(e) => println!("{:<28}  NOT FOUND: {e}", t.filename),
        }
    }
    all_errors.sort_by(f64::total_cmp);
    if !all_errors.is_empty() {
        println!(
            "all markers: median {:.2} px, max {:.2} px, {} of {} labels wrong",
            percentile(&all_errors, 0.5),
            all_errors.last().copied().unwrap_or(f64::NAN),
            mislabels,
            all_errors.len()
        );
    }

    println!();
    println!(
        "Ruler scale (40 mm span placed at the markers' height) against the verified cm lines"
    );
    for (t, r) in truth.iter().zip(&rulers) {
        match r {
            Ok(r) => {
                let [p0, p1] = *r.scale_points.points();
                let nearest = |p: Point| {
                    t.cm_lines
                        .iter()
                        .min_by(|a, b| a.1.distance(p).total_cmp(&b.1.distance(p)))
                        .copied()
                };
                match (nearest(p0), nearest(p1)) {
                    (Some(c0), Some(c1)) if c0.0 != c1.0 => {
                        let mm = (f64::from(c1.0) - f64::from(c0.0)).abs() * 10.0;
                        let verified = mm / c0.1.distance(c1.1);
                        println!(
                            "{:<28} cm {}–{}: {:.5} mm/px, verified {:.5}, error {:+.3} %; local at markers {}; confidence {:.2}",
                            t.filename,
                            c0.0.min(c1.0),
                            c0.0.max(c1.0),
                            r.mm_per_px,
                            verified,
                            (r.mm_per_px / verified - 1.0) * 100.0,
                            r.local_mm_per_px_at_markers
                                .map_or("-".to_owned(), |v| format!("{v:.5} mm/px")),
                            r.confidence
                        );
                    }
                    _ => println!(
                        "{:<28} {:.5} mm/px (no verified cm lines to compare)",
                        t.filename, r.mm_per_px
                    ),
                }
            }
            Err(e) => println!("{:<28} NOT FOUND: {e}", t.filename),
        }
    }

    println!();
    let refs: Vec<&image::DynamicImage> = images.iter().collect();
    let mut seq = Vec::new();
    let t_seq = median_time(args.repeat, || {
        seq = detect::detect_sequence(&refs, &SequenceOptions::default())
    });
    let labels_ok = seq.iter().zip(&truth).all(|(r, t)| {
        r.as_ref().is_ok_and(|d| {
            d.fiducials
                .points()
                .iter()
                .zip(&t.markers)
                .all(|(p, q)| p.distance(*q) < 5.0)
        })
    });
    println!(
        "detect_sequence on the {} photos (rayon, all cores): {:.1} ms, every marker found and labelled right: {}",
        refs.len(),
        ms(t_seq),
        if labels_ok { "yes" } else { "NO" }
    );

    // Strains from the detected markers with the verified scale points, against truth.json.
    let inputs: Vec<ImageInput> = truth
        .iter()
        .zip(&detections)
        .zip(0u32..)
        .map(|((t, d), k)| ImageInput {
            name: t.filename.clone(),
            fiducials: d.as_ref().ok().map(|d| d.fiducials),
            scale: ScalePoints::new(t.scale).ok(),
            deformation: Some(f64::from(k) * 10.0),
            ..ImageInput::default()
        })
        .collect();
    let options = AnalysisOptions {
        scale_length: 40.0,
        sigma_px: 0.0,
        ..AnalysisOptions::default()
    };
    match analyze(&inputs, &options) {
        Ok(a) => {
            let mut worst = 0.0f64;
            for row in &a.rows {
                let t = &truth[row.index];
                let s = &row.measures.small;
                for (got, want) in [
                    (s.xx, t.strain[0]),
                    (s.yy, t.strain[1]),
                    (s.xy, t.strain[2]),
                ] {
                    worst = worst.max((got - want).abs());
                }
            }
            println!(
                "strains from the detected markers and the verified scale points: largest |Δε| against truth.json {worst:.4} (target < 0.01)"
            );
        }
        Err(e) => println!("strains: analysis failed: {e}"),
    }
    Ok(())
}

fn pt(v: &Value) -> Option<Point> {
    Some(Point::new(v.get(0)?.as_f64()?, v.get(1)?.as_f64()?))
}

struct Truth {
    filename: String,
    markers: [Point; 5],
    scale: [Point; 2],
    cm_lines: Vec<(u32, Point)>,
    strain: [f64; 3],
}

fn read_truth(dir: &std::path::Path) -> anyhow::Result<Vec<Truth>> {
    let path = dir.join("truth.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let bad = || BadInput(format!("{}: unexpected content", path.display()));
    let images = json["images"].as_array().ok_or_else(bad)?;
    images
        .iter()
        .map(|im| {
            let m: Vec<Point> = im["markers"]
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .filter_map(pt)
                .collect();
            let s: Vec<Point> = im["scale_points"]
                .as_array()
                .ok_or_else(bad)?
                .iter()
                .filter_map(pt)
                .collect();
            let mut cm_lines: Vec<(u32, Point)> = im["ruler_cm_lines"]
                .as_object()
                .ok_or_else(bad)?
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, pt(v)?)))
                .collect();
            cm_lines.sort_by_key(|c| c.0);
            let strain = [
                im["strain"]["eps_xx"].as_f64().ok_or_else(bad)?,
                im["strain"]["eps_yy"].as_f64().ok_or_else(bad)?,
                im["strain"]["eps_xy"].as_f64().ok_or_else(bad)?,
            ];
            if m.len() != 5 || s.len() != 2 {
                return Err(bad().into());
            }
            Ok(Truth {
                filename: im["filename"].as_str().ok_or_else(bad)?.to_owned(),
                markers: [m[0], m[1], m[2], m[3], m[4]],
                scale: [s[0], s[1]],
                cm_lines,
                strain,
            })
        })
        .collect()
}
