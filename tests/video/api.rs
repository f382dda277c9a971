//! `POST /api/projects/{id}/video` over real HTTP (the `video::api` module of the `tests`
//! binary): the demo film and its log become four complete frames with times, distances and
//! forces, analysed like the CLI's `detect VIDEO` + `analyze`; every bad film, log or choice is a
//! 4xx JSON error naming the file (and the log's line), leaves nothing behind, and never a 500.

use super::{demo_film, strain_seer};
use crate::api_support::{TestServer, expect_error, status_json};
use reqwest::blocking::multipart::{Form, Part};
use std::path::Path;
use std::time::Instant;
use strain_seer::web::Limits;

fn part(path: &Path) -> Part {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    Part::bytes(std::fs::read(path).unwrap()).file_name(name)
}

fn film_form(fields: &[(&str, &str)], log: Option<&Path>, film: Part) -> Form {
    let mut form = Form::new();
    for (k, v) in fields {
        form = form.text((*k).to_owned(), (*v).to_owned());
    }
    if let Some(log) = log {
        form = form.part("log", part(log));
    }
    form.part("video", film)
}

fn tmp_is_empty(data: &Path) -> bool {
    std::fs::read_dir(data.join("tmp"))
        .ok()
        .is_none_or(|mut d| d.next().is_none())
}

#[test]
fn a_film_and_its_log_become_complete_frames_analysed_like_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (film, log) = demo_film(dir.path());
    let data = dir.path().join("data");
    let server = TestServer::start(&data);
    let project = server.create_project("Filmed");
    let started = Instant::now();
    let response = server.post_form(
        &format!("/api/projects/{project}/video"),
        film_form(&[("at", "0.5,1.5,2.5,3.5")], Some(&log), part(&film)),
    );
    let (status, body) = status_json(response);
    eprintln!(
        "film upload + decode + detection of 4 frames: {} ms (server: {})",
        started.elapsed().as_millis(),
        body["timing_ms"]
    );
    assert_eq!(status, 201, "{body}");
    let images = body["images"].as_array().unwrap();
    assert_eq!(images.len(), 4);
    for (k, im) in images.iter().enumerate() {
        assert_eq!(im["filename"], format!("demo-t{k}.500s.png"));
        assert!((im["time_s"].as_f64().unwrap() - (k as f64 + 0.5)).abs() < 1e-6);
        assert_eq!(im["deformation_distance"].as_f64(), Some(10.0 * k as f64));
        assert_eq!(im["force_n"].as_f64(), Some(500.0 * k as f64));
        assert_eq!(im["status"], "Complete", "{im}");
        assert_eq!(
            (im["width"].as_u64(), im["height"].as_u64()),
            (Some(1476), Some(1144))
        );
        assert!(
            im["fiducial_meta"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["source"] == "auto")
        );
        assert!(im["ruler"].is_object(), "the ruler model is kept: {im}");
    }
    let frames = body["frames"].as_array().unwrap();
    assert_eq!(frames[0]["markers"], "detected");
    assert!(frames.iter().all(|f| f["message"].is_null()), "{frames:?}");
    assert_eq!(body["video"]["codec"], "h264");
    assert_eq!(body["video"]["log_rows"], 41);
    let span = body["project"]["scale_length"].as_f64().unwrap();
    assert_eq!(body["scale_length_set"].as_f64(), Some(span));
    assert!(tmp_is_empty(&data), "the film's temporary file is removed");

    // The same film through the CLI: the same strains (points stored with 3 decimals).
    let annotations = dir.path().join("film.json");
    super::succeeds(
        strain_seer()
            .arg("detect")
            .arg(&film)
            .args(["--at", "0.5,1.5,2.5,3.5", "--log"])
            .arg(&log)
            .arg("--out")
            .arg(&annotations),
    );
    for method in ["span", "ruler"] {
        let cli = super::analyze(&annotations, method);
        let (status, web) = status_json(server.get(&format!(
            "/api/projects/{project}/analysis?scale_method={method}"
        )));
        assert_eq!(status, 200, "{web}");
        let (rw, rc) = (
            web["rows"].as_array().unwrap(),
            cli["rows"].as_array().unwrap(),
        );
        assert_eq!(rw.len(), 4);
        for (k, (a, b)) in rw.iter().zip(rc).enumerate() {
            assert_eq!(a["deformation"].as_f64(), Some(10.0 * k as f64));
            assert_eq!(a["force_n"].as_f64(), Some(500.0 * k as f64));
            for c in ["xx", "yy", "xy"] {
                let (x, y) = (
                    a["measures"]["small"][c].as_f64().unwrap(),
                    b["measures"]["small"][c].as_f64().unwrap(),
                );
                assert!(
                    (x - y).abs() < 1e-4,
                    "{method} frame {k} ε{c}: web {x}, CLI {y}"
                );
            }
        }
    }
    let csv = server
        .get(&format!("/api/projects/{project}/export/strains.csv"))
        .text()
        .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header[header.len() - 3..],
        ["time_s", "force_N", "stress_MPa"]
    );
    let force: Vec<String> = lines
        .map(|l| l.rsplit(',').nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(force, ["0.0", "500.0", "1000.0", "1500.0"]);

    // Without an area: no stress, and the analysis says what is missing.
    let (_, before) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert!(before["area_mm2"].is_null() && before["stress_strain"].is_null());
    assert!(
        before["stress_strain_note"]
            .as_str()
            .unwrap()
            .contains("area")
    );
    assert!(before["rows"][1]["stress_mpa"].is_null());
    let plot_url = format!("/api/projects/{project}/export/plot/stress_strain.svg");
    expect_error(server.get(&plot_url), 422, "cross-section area");
    // With a 20 mm² section: σ = F / A per frame and E from the fit of σ against ε.
    let (status, patched) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &serde_json::json!({ "area_mm2": 20.0 }),
    ));
    assert_eq!((status, patched["area_mm2"].as_f64()), (200, Some(20.0)));
    let (_, with_area) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    let rows = with_area["rows"].as_array().unwrap();
    for (k, row) in rows.iter().enumerate() {
        assert_eq!(row["stress_mpa"].as_f64(), Some(25.0 * k as f64), "{row}");
    }
    let fit = &with_area["stress_strain"];
    assert_eq!(fit["n"], 4, "{with_area}");
    let axis = with_area["poisson"]["loading_axis"].as_str().unwrap();
    assert_eq!(fit["loading_axis"], axis);
    let strain: Vec<f64> = rows
        .iter()
        .map(|r| {
            r["measures"]["small"][format!("{axis}{axis}")]
                .as_f64()
                .unwrap()
        })
        .collect();
    let stress: Vec<f64> = (0..4).map(|k| 25.0 * f64::from(k)).collect();
    let slope = strain_seer::engine::linregress(&strain, &stress)
        .unwrap()
        .slope;
    assert!((fit["modulus_mpa"].as_f64().unwrap() - slope).abs() < 1e-9 * slope.abs());
    let csv = server
        .get(&format!("/api/projects/{project}/export/strains.csv"))
        .text()
        .unwrap();
    let stress_col: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(stress_col, ["0.0", "25.0", "50.0", "75.0"]);
    let plot = server.get(&plot_url);
    assert_eq!(plot.status().as_u16(), 200);
    let svg = plot.text().unwrap();
    assert!(
        svg.contains("Engineering stress σ (MPa)"),
        "{}",
        &svg[..200]
    );
    let png = server.get(&format!(
        "/api/projects/{project}/export/plot/stress_strain.png?width=400&height=300"
    ));
    assert_eq!(png.headers()["content-type"], "image/png");
    for bad in [
        serde_json::json!(0),
        serde_json::json!(-3.5),
        serde_json::json!("big"),
    ] {
        let (status, body) = status_json(server.patch_json(
            &format!("/api/projects/{project}"),
            &serde_json::json!({ "area_mm2": bad }),
        ));
        assert!((400..500).contains(&status), "{bad}: {status} {body}");
    }
}

/// `Accept: application/x-ndjson`: one progress line per decoded frame, then the stages, then
/// a last line with the same answer as without streaming; a request refused before decoding is
/// an ordinary 4xx.
#[test]
fn progress_streams_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (film, log) = demo_film(dir.path());
    let server = TestServer::start(&dir.path().join("data"));
    let project = server.create_project("Streamed");
    let url = server.url(&format!("/api/projects/{project}/video"));
    let client = reqwest::blocking::Client::new();
    let response = client
        .post(&url)
        .header("accept", "application/x-ndjson")
        .multipart(film_form(&[("count", "3")], Some(&log), part(&film)))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decode: Vec<(u64, u64)> = lines
        .iter()
        .filter(|l| l["stage"] == "decode")
        .map(|l| (l["done"].as_u64().unwrap(), l["total"].as_u64().unwrap()))
        .collect();
    assert_eq!(decode, [(1, 3), (2, 3), (3, 3)], "{text}");
    assert!(lines.iter().any(|l| l["stage"] == "detect"), "{text}");
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "done", "{text}");
    assert_eq!(last["result"]["images"].as_array().unwrap().len(), 3);
    assert!(
        lines[..lines.len() - 1]
            .iter()
            .all(|l| l["event"] == "progress")
    );

    let refused = client
        .post(&url)
        .header("accept", "application/x-ndjson")
        .multipart(film_form(&[], None, part(&film)))
        .send()
        .unwrap();
    expect_error(refused, 400, "choose the frames");
}

/// Issue 11 item 7: a header claiming 100 000 × 100 000 px, and a film longer than the server's
/// limit, are 4xx naming the file and the limit; nothing is left behind.
#[test]
fn huge_headers_and_long_films_are_refused_by_their_limits() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = TestServer::start_with(
        &data,
        Limits {
            max_film_seconds: 2,
            ..Limits::default()
        },
    );
    let project = server.create_project("Limits");
    let url = format!("/api/projects/{project}/video");
    let (avi, huge, big) = super::lying_headers(dir.path());
    let count = [("count", "2")];
    expect_error(
        server.post_form(&url, film_form(&count, None, part(&huge))),
        415,
        "huge.y4m: not a video that can be read",
    );
    expect_error(
        server.post_form(&url, film_form(&count, None, part(&big))),
        413,
        "more than the limit",
    );
    // A container header that lies: the frames' own size (320×240) is what is decoded.
    let (status, body) = status_json(server.post_form(&url, film_form(&count, None, part(&avi))));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["video"]["width"], 320);
    let (film, _) = demo_film(dir.path());
    expect_error(
        server.post_form(&url, film_form(&[("count", "2")], None, part(&film))),
        413,
        "--max-film-minutes",
    );
    assert!(tmp_is_empty(&data));
}

#[test]
fn frames_at_the_log_rows_with_a_step_and_an_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (film, log) = demo_film(dir.path());
    let server = TestServer::start(&dir.path().join("data"));
    let project = server.create_project("Log rows");
    // Log rows every 0.1 s; a 5 mm step keeps the first row and those where the displacement
    // stepped: log times 0, 1, 2, 3 s, i.e. video times 0.5, 1.5, 2.5, 3.5 s with an offset of
    // −0.5 s (the frame at video time t reads the log at t − 0.5).
    let fields = [
        ("log_step", "5"),
        ("log_offset", "-0.5"),
        ("log_time_column", "Zeit"),
        ("log_displacement_column", "1"),
    ];
    let (status, body) = status_json(server.post_form(
        &format!("/api/projects/{project}/video"),
        film_form(&fields, Some(&log), part(&film)),
    ));
    assert_eq!(status, 201, "{body}");
    let names: Vec<&str> = body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "demo-t0.500s.png",
            "demo-t1.500s.png",
            "demo-t2.500s.png",
            "demo-t3.500s.png"
        ]
    );
    let d: Vec<f64> = body["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["deformation_distance"].as_f64().unwrap())
        .collect();
    assert_eq!(d, [0.0, 10.0, 20.0, 30.0]);
}

#[test]
fn bad_films_logs_and_choices_are_4xx_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let (film, log) = demo_film(dir.path());
    let data = dir.path().join("data");
    let limits = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    let server = TestServer::start_with(&data, limits);
    let project = server.create_project("Errors");
    let url = format!("/api/projects/{project}/video");
    let at = [("at", "0.5")];
    let post = |form: Form| server.post_form(&url, form);

    let junk = Part::bytes(b"hello, not a film".to_vec()).file_name("junk.mp4");
    expect_error(
        post(film_form(&at, None, junk)),
        415,
        "junk.mp4: not a video",
    );
    let bytes = std::fs::read(&film).unwrap();
    let truncated = Part::bytes(bytes[..bytes.len() / 3].to_vec()).file_name("cut.mp4");
    let (status, body) = status_json(post(film_form(&at, None, truncated)));
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(
        body["error"].as_str().unwrap().contains("cut.mp4"),
        "{body}"
    );
    // 1476 × 1144 px is more than this server's 1 000 000 pixels.
    expect_error(
        post(film_form(&at, None, part(&film))),
        413,
        "more than the limit",
    );

    let bad_log = dir.path().join("machine.csv");
    std::fs::write(&bad_log, "t;d\n0;0\n1;oops\n").unwrap();
    let body = expect_error(
        post(film_form(&at, Some(&bad_log), part(&film))),
        400,
        "machine.csv: line 3",
    );
    assert_eq!(body["line"], 3);
    assert_eq!(body["file"], "machine.csv");

    expect_error(
        post(film_form(&[], None, part(&film))),
        400,
        "demo.mp4: choose the frames",
    );
    expect_error(
        post(film_form(
            &[("every", "1"), ("count", "3")],
            None,
            part(&film),
        )),
        400,
        "one way only",
    );
    expect_error(
        post(film_form(&[("every", "soon")], None, part(&film))),
        400,
        "every",
    );
    expect_error(
        post(film_form(&[("speed", "2")], None, part(&film))),
        400,
        "speed",
    );
    let no_film = Form::new().text("at", "1");
    expect_error(post(no_film), 400, "no film");
    expect_error(
        server.post_form("/api/projects/999/video", film_form(&at, None, part(&film))),
        404,
        "999",
    );
    let (_, project_now) = status_json(server.get(&format!("/api/projects/{project}")));
    assert_eq!(project_now["image_count"], 0, "nothing was added");
    assert!(tmp_is_empty(&data), "no temporary film is left behind");

    // Past the end of the film, and a film larger than the request limit.
    let small = TestServer::start_with(
        &dir.path().join("small"),
        Limits {
            max_upload_bytes: 64 * 1024,
            max_file_bytes: 64 * 1024,
            ..Limits::default()
        },
    );
    let p = small.create_project("Small");
    let url = format!("/api/projects/{p}/video");
    let (status, body) =
        status_json(small.post_form(&url, film_form(&at, Some(&log), part(&film))));
    assert_eq!(status, 413, "{body}");
    let server = TestServer::start(&dir.path().join("data2"));
    let p = server.create_project("Past");
    expect_error(
        server.post_form(
            &format!("/api/projects/{p}/video"),
            film_form(&[("at", "1, 99")], None, part(&film)),
        ),
        400,
        "past the end",
    );
}
