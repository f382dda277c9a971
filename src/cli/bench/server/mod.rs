//! `strain-seer bench server`: start the real server binary as a child process on a temporary
//! data directory and time what a user feels: start → healthy, first page load, the edit round
//! trip (save a point, then get the updated analysis) for a 7-photo and a 10 000-image project,
//! and the server's memory (VmRSS of the child) when idle. Prints numbers; asserts nothing.

use crate::engine::Point;
use anyhow::{Context, bail};
use axum::http::{Method, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

mod fixtures;

use fixtures::{
    Http, multipart, noise_png, points, seed_large_project, spawn_server, tempfile_dir,
};

#[derive(Debug, clap::Args)]
pub struct ServerBenchArgs {
    /// Images in the large project (inserted directly through the store).
    #[arg(long, default_value_t = 10_000)]
    pub images: usize,
    /// Photos in the small project (uploaded through the API).
    #[arg(long, default_value_t = 7)]
    pub photos: usize,
    /// Timed repetitions of each measurement.
    #[arg(long, default_value_t = 30)]
    pub rounds: usize,
}

/// Median, 95th percentile and maximum of some timings, in ms.
fn summary(times: &mut [Duration]) -> String {
    if times.is_empty() {
        return "no samples".to_owned();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p95 = times[((times.len() as f64 * 0.95).ceil() as usize).clamp(1, times.len()) - 1];
    format!(
        "median {:.2} ms, p95 {:.2} ms, max {:.2} ms (n = {})",
        ms(times[times.len() / 2]),
        ms(p95),
        ms(times[times.len() - 1]),
        times.len()
    )
}

fn rss_kib(pid: u32) -> Option<u64> {
    super::proc::status_kb(&pid.to_string(), "VmRSS")
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a (no /proc)".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

async fn edit_round_trips(
    http: &Http,
    project: i64,
    image: i64,
    base: &[Point],
    analysis_query: &str,
    rounds: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut times = Vec::with_capacity(rounds);
    let mut size = 0;
    for round in 0..rounds {
        let mut moved = base.to_vec();
        moved[1].x += if round % 2 == 0 { 0.5 } else { -0.5 };
        let start = Instant::now();
        let patched = http
            .json(
                Method::PATCH,
                &format!("/api/projects/{project}/images/{image}"),
                Some(json!({ "fiducials": moved })),
            )
            .await?;
        let (status, body) = http
            .send(
                Method::GET,
                &format!("/api/projects/{project}/analysis{analysis_query}"),
                None,
            )
            .await?;
        times.push(start.elapsed());
        if status != StatusCode::OK || patched["project"]["complete_count"].as_u64().is_none() {
            bail!(
                "edit round trip failed: {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        size = body.len();
    }
    Ok((times, size))
}

async fn timed_get(
    http: &Http,
    path: &str,
    rounds: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut times = Vec::with_capacity(rounds);
    let mut size = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        let (status, body) = http.send(Method::GET, path, None).await?;
        times.push(start.elapsed());
        if status != StatusCode::OK {
            bail!("GET {path}: {status}");
        }
        size = body.len();
    }
    Ok((times, size))
}

pub fn run(args: ServerBenchArgs) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        println!(
            "note: this is a debug build; run `cargo run --release -- bench server` for real numbers"
        );
    }
    let rounds = args.rounds.max(1);
    let dir = tempfile_dir()?;
    println!("strain-seer bench server: data in {}", dir.display());

    let seeded = Instant::now();
    let large = seed_large_project(&dir, args.images)?;
    println!(
        "seed: {} complete images inserted through the store in {:.0} ms",
        args.images,
        seeded.elapsed().as_secs_f64() * 1e3
    );

    let spawned = Instant::now();
    let (mut child, addr) = spawn_server(&dir)?;
    let mut healthy = None;
    while spawned.elapsed() < Duration::from_secs(30) {
        if crate::cli::healthcheck::probe(addr, Duration::from_secs(1)).is_ok() {
            healthy = Some(spawned.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let Some(healthy) = healthy else {
        let _ = child.kill();
        bail!("the server did not become healthy within 30 s");
    };
    println!(
        "start → healthy (process spawn, open + migrate database, bind, first /health 200): {:.1} ms",
        healthy.as_secs_f64() * 1e3
    );
    std::thread::sleep(Duration::from_millis(500));
    println!(
        "server memory when idle after start (VmRSS): {}",
        mib(rss_kib(child.id()))
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(workload(addr, large, args.photos, rounds));
    if outcome.is_ok() {
        std::thread::sleep(Duration::from_secs(2));
        println!(
            "server memory when idle after the workload (VmRSS): {}",
            mib(rss_kib(child.id()))
        );
    }

    let stopping = Instant::now();
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    if !terminated.is_ok_and(|s| s.success()) {
        let _ = child.kill();
    }
    let status = child.wait()?;
    println!(
        "SIGTERM → exit: {} in {:.0} ms",
        status,
        stopping.elapsed().as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
    outcome?;
    Ok(ExitCode::SUCCESS)
}

async fn workload(
    addr: SocketAddr,
    large: i64,
    photos: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let http = Http {
        client: Client::builder(TokioExecutor::new()).build_http(),
        base: format!("http://{addr}"),
    };

    // First page load: HTML, then every script and stylesheet at once, on fresh connections.
    let assets: Vec<String> = crate::web::assets::embedded_files()
        .into_iter()
        .filter(|f| f.ends_with(".js") || f.ends_with(".css"))
        .collect();
    let mut page = Vec::new();
    let mut page_bytes = 0;
    for _ in 0..rounds {
        let cold = Http {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: http.base.clone(),
        };
        let start = Instant::now();
        let (status, html) = cold.send(Method::GET, "/", None).await?;
        if status != StatusCode::OK {
            println!(
                "first page load: skipped (GET / answered {status}: the front end is not embedded)"
            );
            break;
        }
        let tasks: Vec<_> = assets
            .iter()
            .map(|a| {
                let fetch = Http {
                    client: cold.client.clone(),
                    base: cold.base.clone(),
                };
                let path = format!("/{a}");
                tokio::spawn(async move { fetch.send(Method::GET, &path, None).await })
            })
            .collect();
        let mut bodies = Vec::with_capacity(tasks.len());
        for task in tasks {
            bodies.push(task.await??);
        }
        page.push(start.elapsed());
        page_bytes = html.len() + bodies.iter().map(|(_, b)| b.len()).sum::<usize>();
    }
    if !page.is_empty() {
        println!(
            "first page load (index.html + {} scripts/stylesheets, {:.0} kB, new connections): {}",
            assets.len(),
            page_bytes as f64 / 1e3,
            summary(&mut page)
        );
    }

    // Small project: photos uploaded through the API, every point placed.
    let project = http
        .json(
            Method::POST,
            "/api/projects",
            Some(json!({ "name": "Bench: photos" })),
        )
        .await?;
    let project = project["id"].as_i64().context("no project id")?;
    let (w, h) = (1476u32, 1144u32);
    let files: Vec<(String, Vec<u8>)> = (0..photos)
        .map(|i| {
            Ok((
                format!("photo-{:02}mm.png", i * 5),
                noise_png(w, h, i as u32)?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let upload_bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    let (content_type, body) = multipart(&files);
    let start = Instant::now();
    let (status, answer) = http
        .send(
            Method::POST,
            &format!("/api/projects/{project}/images"),
            Some((&content_type, body)),
        )
        .await?;
    if status != StatusCode::CREATED {
        bail!(
            "upload failed: {status}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    println!(
        "upload {photos} photos ({w}×{h} PNG, {:.1} MB; decode, thumbnail, fsync): {:.0} ms",
        upload_bytes as f64 / 1e6,
        start.elapsed().as_secs_f64() * 1e3
    );
    let records: Value = serde_json::from_slice(&answer)?;
    let ids: Vec<i64> = records
        .as_array()
        .context("no records")?
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    let mut first = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (fiducials, scale) = points(f64::from(w), f64::from(h), 1.0 + 0.01 * i as f64);
        if i == 0 {
            first = fiducials.clone();
        }
        http.json(
            Method::PATCH,
            &format!("/api/projects/{project}/images/{id}"),
            Some(json!({ "fiducials": fiducials, "scale": scale })),
        )
        .await?;
    }
    let first_id = *ids.first().context("no image uploaded")?;
    let (mut times, size) = edit_round_trips(&http, project, first_id, &first, "", rounds).await?;
    println!(
        "edit round trip, {photos} photos (PATCH a point + GET analysis, {:.1} kB): {}",
        size as f64 / 1e3,
        summary(&mut times)
    );
    let (mut times, _) = timed_get(
        &http,
        &format!("/api/projects/{project}/images/{first_id}/thumbnail"),
        rounds,
    )
    .await?;
    println!("GET a thumbnail: {}", summary(&mut times));

    // Large project.
    let (mut times, size) =
        timed_get(&http, &format!("/api/projects/{large}?limit=100"), rounds).await?;
    println!(
        "GET /api/projects/{{id}}?limit=100 of the large project ({:.1} kB): {}",
        size as f64 / 1e3,
        summary(&mut times)
    );
    let (mut times, size) = timed_get(
        &http,
        &format!("/api/projects/{large}/images?limit=100&offset=5000"),
        rounds,
    )
    .await?;
    println!(
        "GET …/images?limit=100&offset=5000 ({:.1} kB): {}",
        size as f64 / 1e3,
        summary(&mut times)
    );
    let (mut times, _) = timed_get(&http, "/api/projects", rounds).await?;
    println!("GET /api/projects: {}", summary(&mut times));
    let page = http
        .json(
            Method::GET,
            &format!("/api/projects/{large}/images?limit=1"),
            None,
        )
        .await?;
    let image = page["images"][0]["id"]
        .as_i64()
        .context("no image in the large project")?;
    let base: Vec<Point> = serde_json::from_value(page["images"][0]["fiducials"].clone())?;
    let count = page["total"].as_u64().unwrap_or_default();
    let (mut times, size) =
        edit_round_trips(&http, large, image, &base, "?limit=100", rounds).await?;
    println!(
        "edit round trip, {count} images (PATCH a point + GET analysis?limit=100: regressions over all \
         {count}, first 100 rows, {:.1} kB): {}",
        size as f64 / 1e3,
        summary(&mut times)
    );
    let (mut times, size) =
        edit_round_trips(&http, large, image, &base, "?limit=1000", rounds.min(10)).await?;
    println!(
        "  the same with the largest page of rows, ?limit=1000 ({:.1} MB): {}",
        size as f64 / 1e6,
        summary(&mut times)
    );
    Ok(())
}
