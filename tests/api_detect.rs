//! Automatic detection over real HTTP: `POST …/images/{id}/detect` on the 4 demo photos (full
//! detection, then tracking from the previous photo) compared with `testdata/demo/truth.json`,
//! what is saved (auto points with confidences, parts not detected untouched, the scale-length
//! rules), `POST …/snap`, and the refusals (422 on a blank photo with nothing changed, 404, 400).

#![allow(clippy::unwrap_used)]

use crate::api_support::*;
use serde_json::{Value, json};
use std::time::Instant;

/// Largest distance (px) of a detected marker from the verified centre accepted here.
const MARKER_TOLERANCE_PX: f64 = 4.0;
/// Largest relative difference of the detected px/mm from truth.json's.
const SCALE_TOLERANCE: f64 = 0.02;

fn truth_images() -> Vec<Value> {
    read_json("testdata/demo/truth.json")["images"]
        .as_array()
        .unwrap()
        .clone()
}

fn xy(v: &Value) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

fn dist(a: &Value, b: &Value) -> f64 {
    let (ax, ay) = xy(a);
    let (bx, by) = xy(b);
    (ax - bx).hypot(ay - by)
}

/// The demo photos in a new project with the scale length of their ruler span (40 mm).
fn demo_project(server: &TestServer, scale_length: f64) -> (i64, Vec<i64>) {
    let project = server.create_project("detection");
    let ids: Vec<i64> = server
        .upload(project, &demo_files())
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_length": scale_length }),
    ));
    assert_eq!(status, 200, "{body}");
    (project, ids)
}

fn detect(server: &TestServer, project: i64, image: i64, body: &Value) -> (u16, Value) {
    status_json(server.post_json(
        &format!("/api/projects/{project}/images/{image}/detect"),
        body,
    ))
}

fn image(server: &TestServer, project: i64, image: i64) -> Value {
    let (status, body) =
        status_json(server.get(&format!("/api/projects/{project}/images/{image}")));
    assert_eq!(status, 200, "{body}");
    body
}

fn assert_markers_match(found: &Value, truth: &Value, name: &str) -> f64 {
    let found = found.as_array().unwrap();
    let truth = truth.as_array().unwrap();
    assert_eq!(found.len(), 5, "{name}");
    let mut worst = 0.0_f64;
    for (label, (got, want)) in found.iter().zip(truth).enumerate() {
        let d = dist(got, want);
        assert!(
            d <= MARKER_TOLERANCE_PX,
            "{name}: marker {label} at {got} is {d:.2} px from the verified {want}"
        );
        worst = worst.max(d);
    }
    worst
}

fn assert_auto_meta(meta: &Value, n: usize, name: &str) {
    let meta = meta.as_array().unwrap();
    assert_eq!(meta.len(), n, "{name}");
    for m in meta {
        assert_eq!(m["source"], "auto", "{name}: {m}");
        let c = m["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c), "{name}: confidence {c}");
    }
}

#[test]
fn detects_and_tracks_the_demo_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, ids) = demo_project(&server, 40.0);
    let truth = truth_images();
    let mut previous: Option<i64> = None;
    for (n, (&id, expected)) in ids.iter().zip(&truth).enumerate() {
        let name = expected["filename"].as_str().unwrap();
        let started = Instant::now();
        let (status, body) = detect(&server, project, id, &json!({ "track_from": previous }));
        let elapsed = started.elapsed();
        assert_eq!(status, 200, "{name}: {body}");
        let record = &body["image"];
        let detection = &body["detection"];
        assert_eq!(record["filename"], name);

        // Markers: labels and positions as verified, saved as auto with their confidences.
        let markers = &detection["markers"];
        assert_eq!(markers["found"], true, "{name}: {markers}");
        assert_eq!(
            markers["method"],
            if n == 0 { "detect" } else { "track" },
            "{name}: {markers}"
        );
        let worst = assert_markers_match(&record["fiducials"], &expected["markers"], name);
        assert_auto_meta(&record["fiducial_meta"], 5, name);
        let confidences: Vec<f64> = markers["confidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_f64().unwrap())
            .collect();
        assert_eq!(confidences.len(), 5);
        for (meta, c) in record["fiducial_meta"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&confidences)
        {
            assert_eq!(meta["confidence"].as_f64().unwrap(), *c);
        }
        assert_eq!(
            markers["min_confidence"].as_f64().unwrap(),
            confidences.iter().copied().fold(1.0, f64::min)
        );

        // Ruler: two scale points exactly the scale length apart, px/mm as verified.
        let ruler = &detection["ruler"];
        assert_eq!(ruler["found"], true, "{name}: {ruler}");
        assert_eq!(ruler["span_mm"], 40, "{name}: {ruler}");
        assert!(ruler.get("scale_length_set").is_none(), "{ruler}");
        let scale = record["scale"].as_array().unwrap();
        assert_eq!(scale.len(), 2);
        let px_per_mm = dist(&scale[0], &scale[1]) / 40.0;
        let want = expected["px_per_mm"].as_f64().unwrap();
        let rel = (px_per_mm / want - 1.0).abs();
        assert!(
            rel <= SCALE_TOLERANCE,
            "{name}: {px_per_mm} px/mm, truth {want} ({rel:.4})"
        );
        assert!((ruler["px_per_mm"].as_f64().unwrap() - px_per_mm).abs() < 1e-2);
        assert!((ruler["mm_per_px"].as_f64().unwrap() * px_per_mm - 1.0).abs() < 1e-3);
        assert_auto_meta(&record["scale_meta"], 2, name);

        // Distances come from the file names: every photo is complete.
        assert_eq!(record["status"], "Complete", "{name}");
        assert_eq!(body["project"]["complete_count"], n + 1);
        assert_eq!(body["project"]["scale_length"], 40.0);
        let t = &detection["timing_ms"];
        eprintln!(
            "{name}: {} {:.0} ms through the API (server: decode {} ms, markers {} ms, ruler {} ms); \
             worst marker {worst:.2} px, min confidence {:.3}, px/mm {px_per_mm:.3} vs {want:.3} ({:+.2} %)",
            markers["method"].as_str().unwrap(),
            elapsed.as_secs_f64() * 1e3,
            t["decode"],
            t["markers"],
            t["ruler"],
            markers["min_confidence"].as_f64().unwrap(),
            (px_per_mm / want - 1.0) * 100.0,
        );
        // What was saved is what GET returns.
        let stored = image(&server, project, id);
        assert_eq!(&stored, record);
        previous = Some(id);
    }

    // Every photo has a detected ruler model: the analysis corrects the perspective by default.
    let (status, analysis) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["scale_method"], "rectified");
    let budget = &analysis["rows"][3]["budget"];
    assert!(
        budget["points"]["small"]["xx"].as_f64().unwrap() > 0.0,
        "{budget}"
    );
    assert!(
        budget["scale_model"]["small"]["xx"].as_f64().unwrap() > 0.0,
        "{budget}"
    );

    // With the span of the detected scale points, the detected points give the verified
    // strains (truth.json uses the verified span of the same 40 mm).
    let (status, analysis) = status_json(server.get(&format!(
        "/api/projects/{project}/analysis?scale_method=span"
    )));
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["scale_method"], "span");
    for (row, expected) in analysis["rows"].as_array().unwrap().iter().zip(&truth) {
        for (got, want) in [
            (
                &row["measures"]["small"]["xx"],
                &expected["strain"]["eps_xx"],
            ),
            (
                &row["measures"]["small"]["yy"],
                &expected["strain"]["eps_yy"],
            ),
            (
                &row["measures"]["small"]["xy"],
                &expected["strain"]["eps_xy"],
            ),
        ] {
            let (got, want) = (got.as_f64().unwrap(), want.as_f64().unwrap());
            assert!(
                (got - want).abs() <= 0.01,
                "{}: {got} vs {want}",
                expected["filename"]
            );
        }
    }

    // Moving one auto point by hand makes that one manual; the others stay auto.
    let id = ids[0];
    let mut fiducials = image(&server, project, id)["fiducials"].clone();
    fiducials[2][0] = json!(fiducials[2][0].as_f64().unwrap() + 1.5);
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}/images/{id}"),
        &json!({ "fiducials": fiducials }),
    ));
    assert_eq!(status, 200, "{body}");
    let meta = body["image"]["fiducial_meta"].as_array().unwrap();
    for (i, m) in meta.iter().enumerate() {
        assert_eq!(
            m["source"],
            if i == 2 { "manual" } else { "auto" },
            "{i}: {m}"
        );
    }
    assert_eq!(meta[2]["confidence"], Value::Null);
    assert_eq!(body["image"]["scale_meta"][0]["source"], "auto");
}

#[test]
fn parts_not_asked_for_or_not_found_stay_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, ids) = demo_project(&server, 40.0);
    let id = ids[1];
    let manual_scale = json!([[1000.0, 800.0], [1000.0, 300.0]]);
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}/images/{id}"),
        &json!({ "scale": manual_scale }),
    ));
    assert_eq!(status, 200, "{body}");

    // Markers only: the hand-placed scale points stay, manual.
    let (status, body) = detect(&server, project, id, &json!({ "ruler": false }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["detection"]["ruler"], Value::Null);
    assert_eq!(body["detection"]["markers"]["method"], "detect");
    assert_eq!(body["image"]["scale"], manual_scale);
    assert_eq!(body["image"]["scale_meta"][0]["source"], "manual");
    assert_auto_meta(&body["image"]["fiducial_meta"], 5, "markers only");
    assert_markers_match(
        &body["image"]["fiducials"],
        &truth_images()[1]["markers"],
        "markers only",
    );

    // Ruler only, on an image without markers: the ruler is still measured.
    let other = ids[2];
    let (status, body) = detect(&server, project, other, &json!({ "markers": false }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["detection"]["markers"], Value::Null);
    assert_eq!(body["detection"]["ruler"]["found"], true);
    assert_eq!(body["image"]["fiducials"], json!([]));
    assert_eq!(body["image"]["status"], "Incomplete");

    // An empty body (no content type) means "everything".
    let response = server
        .client
        .post(server.url(&format!("/api/projects/{project}/images/{other}/detect")))
        .send()
        .unwrap();
    let (status, body) = status_json(response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["image"]["status"], "Complete");

    // Tracking from an image without 5 markers falls back to detection, and says so.
    let (status, body) = detect(
        &server,
        project,
        ids[3],
        &json!({ "track_from": ids[0], "ruler": false }),
    );
    assert_eq!(status, 200, "{body}");
    let markers = &body["detection"]["markers"];
    assert_eq!(markers["method"], "detect");
    assert!(
        markers["message"]
            .as_str()
            .unwrap()
            .contains("has no 5 markers to track from"),
        "{markers}"
    );

    // Bad bodies.
    let path = format!("/api/projects/{project}/images/{id}/detect");
    expect_error(
        server.post_json(&path, &json!({ "markers": false, "ruler": false })),
        400,
        "nothing to detect",
    );
    expect_error(
        server.post_json(&path, &json!({ "polarity": "grey" })),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.post_json(&path, &json!({ "extra": 1 })),
        400,
        "unknown field",
    );
    expect_error(
        server.post_json(&path, &json!({ "track_from": 999 })),
        400,
        "track_from: project",
    );
    let response = server
        .client
        .post(server.url(&path))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .unwrap();
    expect_error(response, 415, "Content-Type: application/json");
}

#[test]
fn the_scale_length_is_the_span_asked_for_or_changed_only_when_no_other_image_depends_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    // 100 mm is more than the demo ruler shows: with no other scale points, the scale length
    // becomes the longest span found.
    let (project, ids) = demo_project(&server, 100.0);
    let (status, body) = detect(&server, project, ids[0], &json!({}));
    assert_eq!(status, 200, "{body}");
    let ruler = &body["detection"]["ruler"];
    assert_eq!(ruler["found"], true, "{ruler}");
    let span = ruler["span_mm"].as_f64().unwrap();
    assert!((10.0..100.0).contains(&span), "{ruler}");
    assert_eq!(ruler["scale_length_set"].as_f64().unwrap(), span);
    assert!(
        ruler["message"]
            .as_str()
            .unwrap()
            .contains("less than the scale length of 100 mm"),
        "{ruler}"
    );
    assert_eq!(body["project"]["scale_length"].as_f64().unwrap(), span);
    let scale = body["image"]["scale"].as_array().unwrap();
    let px_per_mm = dist(&scale[0], &scale[1]) / span;
    assert!((px_per_mm / ruler["px_per_mm"].as_f64().unwrap() - 1.0).abs() < 1e-3);

    // Now image 0 has scale points: a scale length the ruler cannot give (12.5 mm is not whole
    // millimetres) is not changed, and no scale points are placed; the markers still are.
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_length": 12.5 }),
    ));
    assert_eq!(status, 200, "{body}");
    let (status, body) = detect(&server, project, ids[1], &json!({}));
    assert_eq!(status, 200, "{body}");
    let ruler = &body["detection"]["ruler"];
    assert_eq!(ruler["found"], false, "{ruler}");
    let message = ruler["message"].as_str().unwrap();
    assert!(message.contains("not a whole number"), "{message}");
    assert!(
        message.contains("other images already have scale points 12.5 mm apart"),
        "{message}"
    );
    assert_eq!(body["project"]["scale_length"], 12.5);
    assert_eq!(body["image"]["scale"], json!([]));
    assert_eq!(body["detection"]["markers"]["found"], true);
    assert_eq!(body["image"]["fiducials"].as_array().unwrap().len(), 5);

    // A whole scale length the ruler shows is used as asked: 10 mm.
    let (status, _) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_length": 10.0 }),
    ));
    assert_eq!(status, 200);
    let (status, body) = detect(&server, project, ids[1], &json!({ "markers": false }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["detection"]["ruler"]["span_mm"], 10);
    let scale = body["image"]["scale"].as_array().unwrap();
    let px_per_mm = dist(&scale[0], &scale[1]) / 10.0;
    // A 10 mm span measures the scale locally, which perspective changes along this ruler: it
    // must lie within the range of truth.json's centimetre-by-centimetre scales (±1 %).
    let lines = truth_images()[1]["ruler_cm_lines"].clone();
    let mut ys: Vec<f64> = lines
        .as_object()
        .unwrap()
        .values()
        .map(|p| xy(p).1)
        .collect();
    ys.sort_by(f64::total_cmp);
    let local: Vec<f64> = ys.windows(2).map(|w| (w[1] - w[0]) / 10.0).collect();
    let (lo, hi) = local
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert!(
        px_per_mm >= lo * 0.99 && px_per_mm <= hi * 1.01,
        "{px_per_mm} px/mm outside the local scales {local:?}"
    );
}

#[test]
fn snap_moves_a_point_to_the_marker_centre() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("snap");
    let files = demo_files();
    let id = server.upload(project, &files[..1])[0]["id"]
        .as_i64()
        .unwrap();
    let truth = &truth_images()[0];
    let path = format!("/api/projects/{project}/images/{id}/snap");
    for (label, marker) in truth["markers"].as_array().unwrap().iter().enumerate() {
        let (x, y) = xy(marker);
        for (dx, dy) in [
            (8.0, 0.0),
            (0.0, 8.0),
            (-8.0, 0.0),
            (0.0, -8.0),
            (5.657, -5.657),
        ] {
            let (status, body) =
                status_json(server.post_json(&path, &json!({ "x": x + dx, "y": y + dy })));
            assert_eq!(status, 200, "marker {label} from ({dx}, {dy}): {body}");
            let d = dist(&body["point"], marker);
            assert!(
                d <= 1.5,
                "marker {label} from ({dx}, {dy}): {} is {d:.2} px off",
                body["point"]
            );
            let c = body["confidence"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&c) && c > 0.5, "{body}");
            assert!(
                (body["moved_px"].as_f64().unwrap() - 8.0).abs() < 2.0,
                "{body}"
            );
        }
    }
    // Nothing to snap to in the empty top-left corner, nor beyond a small radius.
    expect_error(
        server.post_json(&path, &json!({ "x": 40.0, "y": 40.0 })),
        422,
        "no marker near (40.0, 40.0) in 'deformation-00mm-force.png'",
    );
    let (x, y) = xy(&truth["markers"][4]);
    expect_error(
        server.post_json(&path, &json!({ "x": x + 60.0, "y": y, "radius": 10 })),
        422,
        "no marker near",
    );
    expect_error(
        server.post_json(&path, &json!({ "x": x, "y": y, "radius": 1 })),
        400,
        "radius must be",
    );
    expect_error(
        server.post_json(&path, &json!({ "x": -5.0, "y": y })),
        400,
        "outside the image",
    );
    expect_error(
        server.post_json(&path, &json!({ "x": x })),
        400,
        "invalid JSON body",
    );
    // Snapping saves nothing.
    assert_eq!(image(&server, project, id)["fiducials"], json!([]));
}

/// A plain grey PNG: no marker, no ruler.
fn blank_png(width: u32, height: u32) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(width, height, image::Luma([180]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn a_blank_photo_is_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("blank");
    let id = server.upload(project, &[("blank-05mm.png", blank_png(640, 480))])[0]["id"]
        .as_i64()
        .unwrap();
    let (status, before) = status_json(server.patch_json(
        &format!("/api/projects/{project}/images/{id}"),
        &json!({ "fiducials": [[10, 10], [600, 12], [590, 400], [20, 410], [300, 200]], "scale": [[5, 470], [105, 470]] }),
    ));
    assert_eq!(status, 200, "{before}");
    let project_before = before["project"].clone();

    let error = expect_error(
        server.post_json(
            &format!("/api/projects/{project}/images/{id}/detect"),
            &json!({}),
        ),
        422,
        "no plausible 5-marker pattern in 'blank-05mm.png': ",
    );
    let message = error["error"].as_str().unwrap();
    assert!(message.contains("no ruler scale either"), "{message}");
    assert_eq!(image(&server, project, id), before["image"]);
    let (_, project_after) = status_json(server.get(&format!("/api/projects/{project}")));
    assert_eq!(
        project_after["scale_length"],
        project_before["scale_length"]
    );
    assert_eq!(project_after["updated_at"], project_before["updated_at"]);

    expect_error(
        server.post_json(
            &format!("/api/projects/{project}/images/{id}/detect"),
            &json!({ "markers": false }),
        ),
        422,
        "no ruler scale found in 'blank-05mm.png'",
    );
    expect_error(
        server.post_json(
            &format!("/api/projects/{project}/images/{id}/snap"),
            &json!({ "x": 320, "y": 240 }),
        ),
        422,
        "no marker near (320.0, 240.0) in 'blank-05mm.png'",
    );
}

#[test]
fn unknown_ids_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("ids");
    let id = server.upload(project, &[("blank.png", blank_png(64, 64))])[0]["id"]
        .as_i64()
        .unwrap();
    let other = server.create_project("other");
    for action in ["detect", "snap"] {
        let body = json!({ "x": 1, "y": 1 });
        let body = if action == "detect" { json!({}) } else { body };
        expect_error(
            server.post_json(&format!("/api/projects/999/images/{id}/{action}"), &body),
            404,
            "no project 999",
        );
        expect_error(
            server.post_json(
                &format!("/api/projects/{project}/images/999/{action}"),
                &body,
            ),
            404,
            &format!("no image 999 in project {project}"),
        );
        expect_error(
            server.post_json(
                &format!("/api/projects/{other}/images/{id}/{action}"),
                &body,
            ),
            404,
            &format!("no image {id} in project {other}"),
        );
        expect_error(
            server.post_json(&format!("/api/projects/x/images/{id}/{action}"), &body),
            404,
            "not found",
        );
        expect_error(
            server.get(&format!("/api/projects/{project}/images/{id}/{action}")),
            405,
            "GET is not allowed",
        );
    }
}

/// Issue 9: changing the scale length after detection never gives a silently wrong scale.
/// Detected points found 10 mm apart are placed again 40 mm apart from the saved ruler model
/// (they used to be relabelled "40 mm": mm/px × 4); hand-placed points are kept and named; a
/// scale point moved by hand drops the ruler model, so the project falls back to the span.
#[test]
fn regression_scale_length_change_after_detection() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, ids) = demo_project(&server, 10.0);
    for &id in &ids {
        let (status, body) = detect(&server, project, id, &json!({}));
        assert_eq!(status, 200, "{body}");
        let ruler = &body["detection"]["ruler"];
        assert_eq!(ruler["span_mm"], 10, "{ruler}");
        assert!(
            ruler["mm_per_px_at_markers"].as_f64().unwrap() > 0.06,
            "{ruler}"
        );
        assert!(body["image"]["ruler"]["coef"].is_array(), "{body}");
    }
    let before = |id: i64| image(&server, project, id);
    let mm_per_px_10: Vec<f64> = ids
        .iter()
        .map(|&id| 10.0 / dist(&before(id)["scale"][0], &before(id)["scale"][1]))
        .collect();
    let (status, analysis_10) =
        status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(status, 200, "{analysis_10}");

    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_length": 40.0 }),
    ));
    assert_eq!(status, 200, "{body}");
    let change = &body["scale_change"];
    assert_eq!(change["replaced"].as_array().unwrap().len(), 4, "{change}");
    assert!(change["manual"].as_array().unwrap().is_empty());
    assert!(change["removed"].as_array().unwrap().is_empty());
    for (k, &id) in ids.iter().enumerate() {
        let record = before(id);
        assert_auto_meta(&record["scale_meta"], 2, "after the change");
        // 40 mm now, at about the same mm/px (not four times it): within the perspective change
        // along the ruler (< 12 % on the demo photos).
        let mm_per_px = 40.0 / dist(&record["scale"][0], &record["scale"][1]);
        let rel = mm_per_px / mm_per_px_10[k] - 1.0;
        assert!(
            rel.abs() < 0.12,
            "image {k}: {mm_per_px} vs {}",
            mm_per_px_10[k]
        );
    }
    // The analysis reads the scale from the models: the strain did not move at all.
    let (status, analysis_40) =
        status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(status, 200, "{analysis_40}");
    assert_eq!(analysis_40["rows"], analysis_10["rows"]);

    // A scale point moved by hand: the model is dropped, that image's points are manual.
    let id = ids[1];
    let mut scale = before(id)["scale"].clone();
    scale[1][1] = json!(scale[1][1].as_f64().unwrap() - 3.0);
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}/images/{id}"),
        &json!({ "scale": scale }),
    ));
    assert_eq!(status, 200, "{body}");
    assert!(body["image"]["ruler"].is_null(), "{body}");
    let (status, analysis) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["scale_method"], "span");
    // Asking for the perspective correction names the image without a model.
    let (status, err) = status_json(server.get(&format!(
        "/api/projects/{project}/analysis?scale_method=rectified"
    )));
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["image_id"], id, "{err}");
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("needs a ruler model"),
        "{err}"
    );

    // The next change keeps the hand-placed points and says so; a length the graduation does
    // not show removes the detected ones, with the reason.
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_length": 500.0 }),
    ));
    assert_eq!(status, 200, "{body}");
    let change = &body["scale_change"];
    assert_eq!(change["manual"][0]["image_id"], id, "{change}");
    assert_eq!(change["removed"].as_array().unwrap().len(), 3, "{change}");
    assert!(
        change["removed"][0]["message"]
            .as_str()
            .unwrap()
            .contains("less than the new scale length of 500 mm"),
        "{change}"
    );
    assert_eq!(before(ids[0])["status"], "Incomplete");
    assert_eq!(before(id)["scale"].as_array().unwrap().len(), 2);

    // The project's scale method and focal length are settings like the others.
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_method": "ruler", "focal_35mm": 26.0 }),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scale_method"], "ruler");
    assert_eq!(body["focal_35mm"], 26.0);
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_method": null, "focal_35mm": 3.0 }),
    ));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("focal_35mm"),
        "{body}"
    );
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_method": "magic" }),
    ));
    assert_eq!(status, 400, "{body}");
}

/// A photo of the synthetic specimen deformed by `f`, with the dot-grid calibration target, at
/// a camera tilt of `tilt` degrees.
fn target_photo(seed: u64, f: [[f64; 2]; 2], tilt: f64) -> Vec<u8> {
    use strain_seer_engine::detect::scene::{
        Pose, SceneConfig, TargetLayout, render_scene, square_markers,
    };
    let cfg = SceneConfig {
        target: Some(TargetLayout::default()),
        ..SceneConfig::default()
    };
    let layout = square_markers(12.0);
    let markers = layout.map(|p| {
        strain_seer_engine::Point::new(f[0][0] * p.x + f[0][1] * p.y, f[1][0] * p.x + f[1][1] * p.y)
    });
    let pose = Pose {
        tilt_x_deg: tilt,
        ..Pose::default()
    };
    let scene = render_scene(seed, &cfg, &markers, f, &pose);
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(scene.image)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// With the project's target pitch set, detection finds the target in each photo (saved with
/// the image, its card kept out of the marker search), the analysis picks the target scale by
/// itself, and its strain is the truth despite a different camera tilt per photo.
#[test]
fn a_calibration_target_is_detected_saved_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("target");
    let photos = [
        (
            "stretch-00mm.png",
            target_photo(1, [[1.0, 0.0], [0.0, 1.0]], -8.0),
        ),
        (
            "stretch-10mm.png",
            target_photo(2, [[1.08, 0.0], [0.0, 0.88]], 6.0),
        ),
        (
            "stretch-20mm.png",
            target_photo(3, [[1.16, 0.0], [0.0, 0.76]], 12.0),
        ),
    ];
    let ids: Vec<i64> = server
        .upload(
            project,
            &photos
                .iter()
                .map(|(n, b)| (*n, b.clone()))
                .collect::<Vec<_>>(),
        )
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    // A pitch that is not a length is refused; a good one saved.
    expect_error(
        server.patch_json(
            &format!("/api/projects/{project}"),
            &json!({ "target_pitch_mm": -5 }),
        ),
        400,
        "target_pitch_mm",
    );
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "target_pitch_mm": 5, "scale_length": 10 }),
    ));
    assert_eq!(
        (status, &body["target_pitch_mm"]),
        (200, &json!(5.0)),
        "{body}"
    );
    for &id in &ids {
        let (status, body) = detect(&server, project, id, &json!({}));
        assert_eq!(status, 200, "{body}");
        let t = &body["detection"]["target"];
        assert_eq!(t["found"], true, "{t}");
        assert_eq!(t["grid"], json!([7, 15]), "{t}");
        assert!(t["rms_px"].as_f64().unwrap() < 0.2, "{t}");
        assert_eq!(body["detection"]["markers"]["found"], true, "{body}");
        let check = t["ruler_check_pct"].as_f64().unwrap();
        assert!(check.abs() < 0.5, "ruler vs target {check} %");
        let saved = &body["image"]["target"];
        assert_eq!(saved["pitch_mm"], 5.0);
        assert_eq!(saved["outline"].as_array().map(Vec::len), Some(4));
    }
    let (status, a) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["scale_method"], "target", "{a}");
    let rows = a["rows"].as_array().unwrap();
    for (row, (xx, yy)) in rows.iter().zip([(0.0, 0.0), (0.08, -0.12), (0.16, -0.24)]) {
        let got = (
            row["measures"]["small"]["xx"].as_f64().unwrap(),
            row["measures"]["small"]["yy"].as_f64().unwrap(),
        );
        assert!(
            (got.0 - xx).abs() < 0.002 && (got.1 - yy).abs() < 0.002,
            "{}: {got:?} vs ({xx}, {yy})",
            row["name"]
        );
    }
    // The project file keeps each image's target model and the pitch.
    let (status, file) =
        status_json(server.get(&format!("/api/projects/{project}/export/project.json")));
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["target_pitch_mm"], 5.0);
    assert!(file["images"][0]["target"]["homography"].is_array());
    // The printable target.
    let sheet = server.get("/api/target.svg?pitch=4&paper=letter");
    assert_eq!(sheet.status(), 200);
    assert_eq!(
        sheet.headers()["content-type"].to_str().unwrap(),
        "image/svg+xml"
    );
    assert!(sheet.text().unwrap().contains("pitch 4 mm"));
    expect_error(server.get("/api/target.svg?pitch=0.1"), 400, "pitch");
    expect_error(server.get("/api/target.svg?paper=a0"), 400, "paper");
}
