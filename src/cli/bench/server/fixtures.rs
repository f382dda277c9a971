//! What the server bench works with: a small HTTP/1.1 client on hyper-util, the server binary
//! started as a child process on a temporary data directory (its address read from its first
//! line of output), synthetic photos (noise PNGs) sent as multipart uploads, point sets with a
//! known stretch, and a large project seeded straight into the store.

use crate::engine::Point;
use crate::store::{Annotation, NewImage, Store};
use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub(super) fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "strain-seer-bench-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(super) struct Http {
    pub(super) client: HttpClient,
    pub(super) base: String,
}

impl Http {
    pub(super) async fn send(
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

    pub(super) async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
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
pub(super) fn points(width: f64, height: f64, stretch: f64) -> (Vec<Point>, Vec<Point>) {
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

pub(super) fn noise_png(width: u32, height: u32, seed: u32) -> anyhow::Result<Vec<u8>> {
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

pub(super) fn multipart(files: &[(String, Vec<u8>)]) -> (String, Vec<u8>) {
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
pub(super) fn seed_large_project(dir: &Path, count: usize) -> anyhow::Result<i64> {
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
pub(super) fn spawn_server(dir: &Path) -> anyhow::Result<(Child, SocketAddr)> {
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
