//! Memory under load (docs/reliability.md, "Memory under load"): the real server takes 50
//! concurrent 20 MB uploads, then 200 concurrent analysis requests of a 1 000-image project,
//! while `/health` is probed every 20 ms (about 20 s in a debug build on 2 cores). Peak resident memory (VmHWM) is printed and bounded by
//! [`PEAK_RSS_LIMIT_MIB`]; `/health` p99 stays under 100 ms.
//!
//! `STRAIN_SEER_LOAD_UPLOADS` (default 50) and `STRAIN_SEER_LOAD_ANALYSES` (default 200) scale it.

use crate::server_process::{ServerProcess, health, quantile_ms};
use reqwest::blocking::Client;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Upper bound of the server's peak RSS in this test, MiB (docs/reliability.md says why).
const PEAK_RSS_LIMIT_MIB: f64 = 1536.0;
const UPLOAD_BYTES: usize = 20 * 1000 * 1000;
const PROJECT_IMAGES: usize = 1000;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A PNG of noise of about `bytes` (stored uncompressed by the encoder's fast setting it stays
/// near 3 bytes a pixel).
fn noise_png(bytes: usize) -> Vec<u8> {
    let side = ((bytes / 3) as f64).sqrt() as u32;
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let img = image::RgbImage::from_fn(side, side, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
    });
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(img.as_raw(), side, side, image::ExtendedColorType::Rgb8)
    .unwrap();
    out
}

use image::ImageEncoder;

/// A data directory with one project of `n` annotated images (all the same small PNG), written
/// through the store as an import would, in one transaction; returns the project id.
fn big_project(data_dir: &std::path::Path, n: usize) -> i64 {
    use strain_seer::engine::Point;
    use strain_seer::store::{Annotation, NewImage, NewProject, Store};
    let img = image::RgbImage::from_fn(200, 200, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let store = Store::open(data_dir).unwrap();
    let staged = store
        .stage_image(png.get_ref(), "img.png", 1_000_000)
        .unwrap();
    let images: Vec<NewImage> = (0..n)
        .map(|i| {
            let s = 1.0 + i as f64 * 0.0001;
            let p = Point::new;
            NewImage {
                staged: 0,
                filename: format!("img-{i:04}.png"),
                annotation: Annotation {
                    fiducials: vec![
                        p(50.0, 50.0),
                        p(50.0 + 100.0 * s, 50.0),
                        p(50.0 + 100.0 * s, 150.0),
                        p(50.0, 150.0),
                        p(50.0 + 50.0 * s, 100.0),
                    ],
                    scale: vec![p(10.0, 190.0), p(110.0, 190.0)],
                    deformation_distance: Some(i as f64 * 0.01),
                    ..Annotation::default()
                },
            }
        })
        .collect();
    let project = NewProject {
        name: "1 000 images".into(),
        scale_length: 10.0,
        sigma_px: 1.0,
        reference: None,
        scale_method: None,
        focal_35mm: None,
        target_pitch_mm: None,
        area_mm2: None,
    };
    let project = store
        .create_project_with_images(&project, vec![staged], &images, 20_000)
        .unwrap();
    store.close().unwrap();
    project.id
}

#[test]
#[ignore = "server stress test: run alone, `cargo test --test tests -- --ignored --test-threads=1` (.ci/run does)"]
fn uploads_and_analyses_keep_memory_bounded_and_health_fast() {
    let uploads = env_number("STRAIN_SEER_LOAD_UPLOADS", 50);
    let analyses = env_number("STRAIN_SEER_LOAD_ANALYSES", 200);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let t = Instant::now();
    let big = big_project(&data, PROJECT_IMAGES);
    println!(
        "1 000-image project written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let server = ServerProcess::start(&data, &[]);
    let client = Client::builder()
        // Shorter than the server's keep-alive timeout (5 s): a pooled connection is never reused
        // just as the server closes it.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let target: Value = client
        .post(server.url("/api/projects"))
        .json(&json!({"name": "uploads"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let target = target["id"].as_i64().unwrap();
    let photo = noise_png(UPLOAD_BYTES);
    let rss_idle = server.status_mib("VmRSS");

    // /health probes for the whole run.
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (stop, addr) = (Arc::clone(&stop), server.addr);
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                latencies.push(health(addr).unwrap_or(Duration::from_secs(5)));
                std::thread::sleep(Duration::from_millis(20));
            }
            latencies
        })
    };

    // 50 concurrent 20 MB uploads (each file different: a counter appended after the PNG's end).
    let t = Instant::now();
    let url = server.url(&format!("/api/projects/{target}/images"));
    let threads: Vec<_> = (0..uploads)
        .map(|i| {
            let mut bytes = photo.clone();
            bytes.extend_from_slice(format!("{i:08}").as_bytes());
            let (url, client) = (url.clone(), client.clone());
            std::thread::spawn(move || {
                let form =
                    Form::new().part("file", Part::bytes(bytes).file_name(format!("up-{i}.png")));
                client
                    .post(url)
                    .multipart(form)
                    .send()
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let statuses: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let upload_secs = t.elapsed().as_secs_f64();
    let rss_after_uploads = server.status_mib("VmHWM");
    assert!(
        statuses.iter().all(|s| matches!(s, Ok(201))),
        "uploads failed: {statuses:?}"
    );

    // 200 concurrent analyses of the 1 000-image project (all rows computed, the first page of 50
    // sent, as the web page asks for them).
    let t = Instant::now();
    let threads: Vec<_> = (0..analyses)
        .map(|_| {
            let (url, client) = (
                server.url(&format!("/api/projects/{big}/analysis?limit=50")),
                client.clone(),
            );
            std::thread::spawn(move || {
                client
                    .get(url)
                    .send()
                    .map(|r| (r.status().as_u16(), r.bytes().map_or(0, |b| b.len())))
            })
        })
        .collect();
    let answers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let analysis_secs = t.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let probes = prober.join().unwrap();
    assert!(
        answers.iter().all(|a| matches!(a, Ok((200, _)))),
        "analyses failed: {:?}",
        answers.iter().find(|a| !matches!(a, Ok((200, _))))
    );

    let peak = server.status_mib("VmHWM");
    let (p50, p99, max) = (
        quantile_ms(&probes, 0.5),
        quantile_ms(&probes, 0.99),
        quantile_ms(&probes, 1.0),
    );
    println!(
        "{uploads} uploads of {:.1} MB in {upload_secs:.1} s; {analyses} analyses of {PROJECT_IMAGES} images in \
         {analysis_secs:.1} s ({} bytes each)",
        photo.len() as f64 / 1e6,
        answers
            .first()
            .and_then(|a| a.as_ref().ok())
            .map_or(0, |a| a.1),
    );
    println!(
        "RSS: idle {rss_idle:.0} MiB, peak after uploads {rss_after_uploads:.0} MiB, peak overall {peak:.0} MiB \
         (limit {PEAK_RSS_LIMIT_MIB:.0}); /health: {} probes, p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        probes.len()
    );
    assert!(peak < PEAK_RSS_LIMIT_MIB, "peak RSS {peak:.0} MiB");
    assert!(p99 < 100.0, "/health p99 {p99:.1} ms under load");
}
