//! `strain-seer bench server`: start the real server binary as a child process on a temporary
//! data directory and time what a user feels: start → healthy, first page load, the edit round
//! trip (save a point, then get the updated analysis) for a 7-photo and a 10 000-image project,
//! and the server's memory (VmRSS of the child) when idle. Prints numbers; asserts nothing.

use crate::engine::Point;
use crate::store::{Annotation, NewImage, Store};
use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

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

type HttpClient = Client<HttpConnector, Full<Bytes>>;

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
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a (no /proc)".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

struct Http {
    client: HttpClient,
    base: String,
}

impl Http {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        let payload = match body {
            Some((content_type, bytes)) => {
                builder = builder.header("content-type", content_type);
                Bytes::from(bytes)
            }
            None => Bytes::new(),
        };
        let response = self
            .client
            .request(builder.body(Full::new(payload))?)
            .await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }

    async fn json(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let (status, bytes) = self.send(method.clone(), path, body).await?;
        if !status.is_success() {
            bail!(
                "{method} {path}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// Synthetic marker positions for an image of `width`×`height` stretched by `stretch` along x.
fn points(width: f64, height: f64, stretch: f64) -> (Vec<Point>, Vec<Point>) {
    let (cx, cy) = (width / 2.0, height / 2.0);
    let (hx, hy) = (width * 0.2 * stretch, height * 0.25 / stretch.sqrt());
    let fiducials = vec![
        Point::new(cx - hx, cy - hy),
        Point::new(cx + hx, cy - hy),
        Point::new(cx + hx, cy + hy),
        Point::new(cx - hx, cy + hy),
        Point::new(cx, cy),
    ];
    let scale = vec![
        Point::new(width * 0.05, height * 0.95),
        Point::new(width * 0.95, height * 0.95),
    ];
    (fiducials, scale)
}

fn noise_png(width: u32, height: u32, seed: u32) -> anyhow::Result<Vec<u8>> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let v = x
            .wrapping_mul(2_654_435_761)
            .wrapping_add(y.wrapping_mul(40_503))
            .wrapping_add(seed);
        image::Rgb([(v >> 8) as u8, (v >> 16) as u8, ((x ^ y) & 0xff) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

fn multipart(files: &[(String, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "strain-seer-bench-boundary-7d3f";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Fill the data directory with a project of `count` complete images sharing one tiny PNG.
fn seed_large_project(dir: &Path, count: usize) -> anyhow::Result<i64> {
    let store = Store::open(dir)?;
    let project = store.create_project("Bench: many images")?;
    let (w, h) = (64u32, 48u32);
    let staged = store.stage_image(&noise_png(w, h, 1)?, "tiny.png", 1_000_000)?;
    let images: Vec<NewImage> = (0..count)
        .map(|i| {
            let d = (i % 100) as f64;
            let (fiducials, scale) = points(f64::from(w), f64::from(h), 1.0 + 0.002 * d);
            NewImage {
                staged: 0,
                filename: format!("image-{i:05}-{d}mm.png"),
                annotation: Annotation {
                    fiducials,
                    scale,
                    deformation_distance: Some(d),
                    ..Annotation::default()
                },
            }
        })
        .collect();
    store.add_images(project.id, vec![staged], &images, u64::MAX)?;
    store.update_project(
        project.id,
        crate::store::ProjectPatch {
            scale_length: Some(50.0),
            ..Default::default()
        },
    )?;
    store.close()?;
    Ok(project.id)
}

/// Start `strain-seer serve` on a free port; returns the child and its address once it printed it.
fn spawn_server(dir: &Path) -> anyhow::Result<(Child, SocketAddr)> {
    let exe = std::env::current_exe().context("cannot find the strain-seer binary")?;
    let mut child = Command::new(exe)
        .args(["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start `strain-seer serve`")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let Some(line) = lines.next() else {
            bail!("the server exited before printing its address");
        };
        let line = line?;
        if let Some(rest) = line.split("listening on ").nth(1) {
            let addr = rest.split(';').next().unwrap_or_default().trim();
            break addr
                .parse::<SocketAddr>()
                .with_context(|| format!("cannot read the address in {line:?}"))?;
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((child, addr))
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

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "strain-seer-bench-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
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
