//! SIGTERM while uploads are in flight (docs/reliability.md, "Shutdown during writes"): the real
//! server gets SIGTERM while fast uploads and uploads trickling in slower than the shutdown grace
//! period allows are running. Each upload either completes and is acknowledged (201) — and then
//! its images are in the database — or leaves nothing behind: no image row, no file in `images/`
//! that no row uses, nothing in `tmp/`. Checked on the data directory as the server left it,
//! before any restart could clean up.

use crate::api_support::{form, png};
use crate::server_process::ServerProcess;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A PNG of noise (does not compress: about 3 bytes a pixel).
fn noise_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let h = (x.wrapping_mul(73_856_093)
            ^ y.wrapping_mul(19_349_663)
            ^ seed.wrapping_mul(83_492_791))
        .wrapping_mul(2_654_435_761);
        image::Rgb([(h >> 24) as u8, (h >> 16) as u8, (h >> 8) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// An upload whose multipart body is sent over `seconds`; true if it got 201.
fn trickle_upload(addr: SocketAddr, project: i64, image: &[u8], seconds: usize) -> bool {
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow-1mm.png\"\r\n\
          Content-Type: image/png\r\n\r\n",
    );
    body.extend_from_slice(image);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let head = format!(
        "POST /api/projects/{project}/images HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    if stream.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let chunk = (body.len() / (seconds * 10)).max(1);
    for part in body.chunks(chunk) {
        if stream.write_all(part).is_err() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 201")
}

#[test]
#[ignore = "server stress test: run alone, `cargo test --test tests -- --ignored --test-threads=1` (.ci/run does)"]
fn sigterm_during_uploads_keeps_each_upload_whole_or_absent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = ServerProcess::start(&data, &[]);
    let client = Client::new();
    let created: Value = client
        .post(server.url("/api/projects"))
        .json(&json!({"name": "shutdown"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let project = created["id"].as_i64().unwrap();

    // 8 fast uploads of 3 images each, and 3 that trickle in over 20 s (longer than the shutdown
    // grace of 8 s, but above the minimum upload rate: ≈ 13 KiB/s).
    let url = server.url(&format!("/api/projects/{project}/images"));
    let uploads: Vec<Vec<(String, Vec<u8>)>> = (0..8u32)
        .map(|i| {
            (0..3u32)
                .map(|j| {
                    (
                        format!("fast-{i}-{j}-{j}mm.png"),
                        png(700 + i * 10 + j, 600),
                    )
                })
                .collect()
        })
        .collect();
    let slow_images: Vec<Vec<u8>> = (0..3).map(|i| noise_png(300, 300, i)).collect();
    let baseline = server.fd_count();
    let fast: Vec<_> = uploads
        .into_iter()
        .map(|files| {
            let url = url.clone();
            std::thread::spawn(move || {
                let refs: Vec<(&str, Vec<u8>)> =
                    files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
                let response = Client::new().post(url).multipart(form(&refs)).send();
                match response {
                    Ok(r) if r.status() == 201 => {
                        let ids: Vec<i64> = r
                            .json::<Value>()
                            .unwrap()
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|v| v["id"].as_i64().unwrap())
                            .collect();
                        Some(ids)
                    }
                    _ => None,
                }
            })
        })
        .collect();
    let addr = server.addr;
    let slow: Vec<_> = slow_images
        .into_iter()
        .map(|image| std::thread::spawn(move || trickle_upload(addr, project, &image, 20)))
        .collect();
    // SIGTERM once the uploads are connected and under way.
    let start = Instant::now();
    while server.fd_count() < baseline + 11 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    let signalled = Instant::now();
    server.sigterm();
    let status = server.wait(Duration::from_secs(15));
    let stopped_in = signalled.elapsed();
    let acknowledged: Vec<Vec<i64>> = fast.into_iter().filter_map(|t| t.join().unwrap()).collect();
    let slow_acknowledged = slow
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|&ok| ok)
        .count();
    println!(
        "SIGTERM with 11 uploads in flight: exit {status:?} after {:.1} s; {} of 8 fast uploads and \
         {slow_acknowledged} of 3 trickling uploads acknowledged",
        stopped_in.as_secs_f64(),
        acknowledged.len()
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "no clean exit: {status:?}"
    );
    assert!(stopped_in < Duration::from_secs(12));
    assert_eq!(
        slow_acknowledged, 0,
        "a 20 s upload cannot finish within the grace period"
    );

    // The data directory as the server left it.
    let db = rusqlite::Connection::open(data.join("strain-seer.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let rows: HashSet<i64> = db
        .prepare("SELECT id FROM images")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let acked: HashSet<i64> = acknowledged.iter().flatten().copied().collect();
    assert_eq!(
        rows, acked,
        "image rows differ from the acknowledged uploads"
    );
    let blobs: HashSet<String> = db
        .prepare("SELECT sha256 || '.' || ext FROM blobs")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let files: HashSet<String> = std::fs::read_dir(data.join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, blobs, "image files differ from the blob rows");
    let leftovers: Vec<_> = std::fs::read_dir(data.join("tmp")).unwrap().collect();
    assert!(leftovers.is_empty(), "files left in tmp/: {leftovers:?}");
    println!(
        "after SIGTERM: {} image rows = the acknowledged ones, {} files = the blob rows, tmp/ empty, integrity_check ok",
        rows.len(),
        files.len()
    );
}
