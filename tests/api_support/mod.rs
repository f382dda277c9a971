//! Shared helpers of the API tests: a real server on 127.0.0.1:0 with a temporary data
//! directory, a blocking HTTP client, demo data and small generated images.

#![allow(dead_code, clippy::unwrap_used)]

use reqwest::blocking::{Client, Response, multipart};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use strain_seer::web::{ConnLimits, Limits, ServeConfig, ServeError, Server};

/// A server running on its own thread and runtime, stopped (gracefully) on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    pub client: Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
}

impl TestServer {
    pub fn start(data_dir: &Path) -> TestServer {
        Self::start_with(data_dir, Limits::default())
    }

    pub fn start_with(data_dir: &Path, limits: Limits) -> TestServer {
        let config = ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_owned(),
            limits,
            conn: ConnLimits::default(),
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = match Server::bind(&config).await {
                    Ok(server) => server,
                    Err(err) => {
                        let _ = addr_tx.send(Err(err.to_string()));
                        return Err(err);
                    }
                };
                let _ = addr_tx.send(Ok(server.local_addr()));
                server
                    .run(async move {
                        let _ = stop_rx.await;
                    })
                    .await
            })
        });
        let addr = addr_rx.recv().unwrap().unwrap();
        TestServer {
            addr,
            base: format!("http://{addr}"),
            client: Client::builder()
                // Shorter than the server's keep-alive timeout (5 s): a pooled connection is never reused
                // just as the server closes it.
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .timeout(std::time::Duration::from_secs(120))
                .build()
                .unwrap(),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Stop gracefully and return how the server ended.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().unwrap(),
            None => Ok(()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().unwrap()
    }

    pub fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).send().unwrap()
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().unwrap()
    }

    pub fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.client.patch(self.url(path)).json(body).send().unwrap()
    }

    /// PATCH with a raw body text and a JSON content type.
    pub fn patch_raw(&self, path: &str, body: &str) -> Response {
        self.client
            .patch(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap()
    }

    pub fn post_raw(&self, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap()
    }

    pub fn post_form(&self, path: &str, form: multipart::Form) -> Response {
        self.client
            .post(self.url(path))
            .multipart(form)
            .send()
            .unwrap()
    }

    /// Create a project and return its id.
    pub fn create_project(&self, name: &str) -> i64 {
        let response = self.post_json("/api/projects", &json!({ "name": name }));
        assert_eq!(response.status(), 201);
        response.json::<Value>().unwrap()["id"].as_i64().unwrap()
    }

    /// Upload files (name, bytes) to a project; returns the image records.
    pub fn upload(&self, project: i64, files: &[(&str, Vec<u8>)]) -> Vec<Value> {
        let response = self.post_form(&format!("/api/projects/{project}/images"), form(files));
        let status = response.status();
        let body: Value = response.json().unwrap();
        assert_eq!(status, 201, "{body}");
        body.as_array().unwrap().clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// A multipart form with each file in a field `file`.
pub fn form(files: &[(&str, Vec<u8>)]) -> multipart::Form {
    with_files(multipart::Form::new(), files)
}

/// `form` followed by each file in a field `file`.
pub fn with_files(form: multipart::Form, files: &[(&str, Vec<u8>)]) -> multipart::Form {
    files.iter().fold(form, |form, (name, bytes)| {
        form.part(
            "file",
            multipart::Part::bytes(bytes.clone()).file_name((*name).to_owned()),
        )
    })
}

/// Status and JSON body of a response.
pub fn status_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    let value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, value)
}

/// Assert a JSON error answer with this status whose message contains `needle`; returns the body.
pub fn expect_error(response: Response, status: u16, needle: &str) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let (got, body) = status_json(response);
    assert_eq!(got, status, "{body}");
    assert_eq!(content_type, "application/json");
    let message = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {body}"));
    assert!(
        message.contains(needle),
        "{message:?} does not contain {needle:?}"
    );
    body
}

/// The `strain-seer` binary with no `STRAIN_SEER_*` variables from the caller's environment,
/// run from the repository's root.
pub fn strain_seer() -> assert_cmd::Command {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("strain-seer");
    for (key, _) in std::env::vars() {
        if key.starts_with("STRAIN_SEER_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// A path in the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub const DEMO_FILES: [&str; 4] = [
    "deformation-00mm-force.png",
    "deformation-10mm-force.png",
    "deformation-20mm-force.png",
    "deformation-30mm-force.png",
];

pub fn demo_files() -> Vec<(&'static str, Vec<u8>)> {
    DEMO_FILES
        .iter()
        .map(|name| {
            (
                *name,
                std::fs::read(repo_path(&format!("testdata/demo/{name}"))).unwrap(),
            )
        })
        .collect()
}

pub fn read_json(relative: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_path(relative)).unwrap()).unwrap()
}

/// `(fiducials, scale, distance)` of each demo image from testdata/demo/annotations.json, by filename.
pub fn demo_annotations() -> Vec<(String, Value, Value, f64)> {
    let doc = read_json("testdata/demo/annotations.json");
    let mut out: Vec<(i64, String, Value, Value, f64)> = doc["files_data"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| {
            let points = f["points"].as_array().unwrap();
            let pick = |label: &str| -> Value {
                points
                    .iter()
                    .filter(|p| p["label"] == label)
                    .map(|p| p["point"].clone())
                    .collect()
            };
            (
                f["order"].as_i64().unwrap(),
                f["filename"].as_str().unwrap().to_owned(),
                pick("Fiducial"),
                pick("Scale"),
                f["deformation_distance"].as_f64().unwrap(),
            )
        })
        .collect();
    out.sort_by_key(|a| a.0);
    out.into_iter()
        .map(|(_, name, f, s, d)| (name, f, s, d))
        .collect()
}

/// A PNG of the given size (gradient, so it compresses to something real).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, image::ImageFormat::Png)
}

pub fn encode(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// A square-ish set of points inside a 200×200 image: 5 fiducials, 2 scale points.
pub fn square_points(stretch: f64) -> (Value, Value) {
    let f = json!([
        [50.0, 50.0],
        [150.0 * stretch - 50.0 * (stretch - 1.0), 50.0],
        [150.0 * stretch - 50.0 * (stretch - 1.0), 150.0],
        [50.0, 150.0],
        [100.0 * stretch - 50.0 * (stretch - 1.0), 100.0]
    ]);
    let s = json!([[10.0, 190.0], [110.0, 190.0]]);
    (f, s)
}
