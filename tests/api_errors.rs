//! Every error answer of the API: status, `{"error": …}` JSON and a message that says what is
//! wrong; the server keeps answering afterwards. Real HTTP, plus `oneshot` tests of `app()`.

#![allow(clippy::unwrap_used)]

use crate::api_support::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use std::sync::Arc;
use strain_seer::store::Store;
use strain_seer::web::{AppState, Limits, app};
use tower::ServiceExt;

/// A server with one project holding one 200×200 image; returns (project, image) ids.
fn setup(server: &TestServer) -> (i64, i64) {
    let project = server.create_project("Errors");
    let records = server.upload(project, &[("a.png", png(200, 200))]);
    (project, records[0]["id"].as_i64().unwrap())
}

#[test]
fn unknown_ids_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, image) = setup(&server);
    let other = server.create_project("Other");

    expect_error(server.get("/api/projects/999"), 404, "no project 999");
    expect_error(server.get("/api/projects/abc"), 404, "not found");
    expect_error(
        server.patch_json("/api/projects/999", &json!({ "name": "x" })),
        404,
        "no project 999",
    );
    expect_error(server.delete("/api/projects/999"), 404, "no project 999");
    expect_error(
        server.get("/api/projects/999/images"),
        404,
        "no project 999",
    );
    expect_error(
        server.post_form("/api/projects/999/images", form(&[("a.png", png(10, 10))])),
        404,
        "no project 999",
    );
    expect_error(
        server.get("/api/projects/999/analysis"),
        404,
        "no project 999",
    );
    expect_error(
        server.get("/api/projects/999/export/strains.csv"),
        404,
        "no project 999",
    );
    expect_error(
        server.get("/api/projects/999/export/project.json"),
        404,
        "no project 999",
    );
    expect_error(
        server.get("/api/projects/999/export/plot/eps_xx.svg"),
        404,
        "no project 999",
    );
    let missing = format!("/api/projects/{project}/images/999");
    expect_error(
        server.get(&missing),
        404,
        &format!("no image 999 in project {project}"),
    );
    expect_error(
        server.patch_json(&missing, &json!({ "order": 0 })),
        404,
        "no image 999",
    );
    expect_error(server.delete(&missing), 404, "no image 999");
    expect_error(server.get(&format!("{missing}/file")), 404, "no image 999");
    expect_error(
        server.get(&format!("{missing}/thumbnail")),
        404,
        "no image 999",
    );
    expect_error(
        server.get(&format!("/api/projects/{project}/images/x/file")),
        404,
        "not found",
    );
    // An image is only reachable through its own project.
    expect_error(
        server.get(&format!("/api/projects/{other}/images/{image}")),
        404,
        "no image",
    );
    expect_error(
        server.get(&format!("/api/projects/{other}/images/{image}/file")),
        404,
        "no image",
    );
    // A deleted project is gone.
    assert_eq!(
        server.delete(&format!("/api/projects/{other}")).status(),
        204
    );
    expect_error(
        server.get(&format!("/api/projects/{other}")),
        404,
        "no project",
    );
    // Unknown routes and methods.
    expect_error(server.get("/api/nope"), 404, "no route for GET /api/nope");
    expect_error(
        server.post_json("/api/nope", &json!({})),
        404,
        "no route for POST /api/nope",
    );
    expect_error(
        server.post_json("/health", &json!({})),
        405,
        "POST is not allowed on /health",
    );
    expect_error(server.delete("/api/projects"), 405, "DELETE is not allowed");
    let (status, _) = status_json(server.get("/health"));
    assert_eq!(status, 200);
}

#[test]
fn bad_json_bodies_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, image) = setup(&server);
    let path = format!("/api/projects/{project}/images/{image}");

    expect_error(
        server.post_raw("/api/projects", "{\"name\": "),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.post_raw("/api/projects", "[1, 2]"),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.post_raw("/api/projects", "{}"),
        400,
        "missing field `name`",
    );
    expect_error(
        server.post_json("/api/projects", &json!({ "name": 5 })),
        400,
        "invalid type",
    );
    expect_error(
        server.post_json("/api/projects", &json!({ "name": "a", "extra": 1 })),
        400,
        "unknown field `extra`",
    );
    expect_error(
        server.post_json("/api/projects", &json!({ "name": "   " })),
        400,
        "the project name is empty",
    );
    expect_error(
        server.post_json("/api/projects", &json!({ "name": "x".repeat(201) })),
        400,
        "longer than 200",
    );
    let response = server
        .client
        .post(server.url("/api/projects"))
        .body("{\"name\": \"a\"}")
        .send()
        .unwrap();
    expect_error(response, 415, "Content-Type: application/json");
    // NaN and infinities cannot be written in JSON; the attempts are refused.
    expect_error(
        server.patch_raw(&path, "{\"fiducials\": [[NaN, 1]]}"),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.patch_raw(&path, "{\"fiducials\": [[1e999, 1]]}"),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.patch_raw(&path, "{\"fiducials\": [[null, 1]]}"),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.patch_raw(&path, "{\"fiducials\": [[1, 2, 3]]}"),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.patch_raw(&path, "{\"deformation_distance\": \"5\"}"),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.patch_raw(&path, "{\"colour\": 1}"),
        400,
        "unknown field `colour`",
    );
    // Nothing was changed by the refused requests.
    let (_, body) = status_json(server.get(&path));
    assert_eq!(body["fiducials"], json!([]));
}

#[test]
fn invalid_points_and_values_are_400_naming_the_point() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, image) = setup(&server);
    let path = format!("/api/projects/{project}/images/{image}");
    let six = json!([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6]]);
    expect_error(
        server.patch_json(&path, &json!({ "fiducials": six })),
        400,
        "at most 5 fiducial points are allowed, got 6",
    );
    expect_error(
        server.patch_json(&path, &json!({ "scale": [[1, 1], [2, 2], [3, 3]] })),
        400,
        "at most 2 scale points are allowed, got 3",
    );
    expect_error(
        server.patch_json(&path, &json!({ "fiducials": [[1, 1], [250, 10]] })),
        400,
        "fiducial point 1 (250, 10) is outside the image (200×200 px)",
    );
    expect_error(
        server.patch_json(&path, &json!({ "fiducials": [[-0.5, 10]] })),
        400,
        "fiducial point 0 (-0.5, 10) is outside",
    );
    expect_error(
        server.patch_json(&path, &json!({ "scale": [[1, 1e308]] })),
        400,
        "scale point 0",
    );
    expect_error(
        server.patch_json(&path, &json!({ "scale": [[5, 5], [5, 5]] })),
        400,
        "the two scale points coincide",
    );
    expect_error(
        server.patch_json(
            &path,
            &json!({ "fiducials": [[1, 1]], "fiducial_meta": [] }),
        ),
        400,
        "fiducial_meta has 0 entries but there are 1 fiducial points",
    );
    expect_error(
        server.patch_json(&path, &json!({ "fiducials": [[1, 1]], "fiducial_meta": [{ "source": "auto", "confidence": 2 }] })),
        400,
        "confidence must be a number from 0 to 1",
    );
    expect_error(
        server.patch_json(
            &path,
            &json!({ "fiducials": [[1, 1]], "fiducial_meta": [{ "source": "robot" }] }),
        ),
        400,
        "invalid JSON body",
    );
    expect_error(
        server.patch_json(&path, &json!({ "order": 1 })),
        400,
        "order must be between 0 and 0",
    );
    expect_error(
        server.patch_json(&path, &json!({ "order": -1 })),
        400,
        "order must be between",
    );

    let project_path = format!("/api/projects/{project}");
    expect_error(
        server.patch_json(&project_path, &json!({ "scale_length": 0 })),
        400,
        "scale_length must be a finite number of mm greater than 0",
    );
    expect_error(
        server.patch_json(&project_path, &json!({ "scale_length": -3 })),
        400,
        "scale_length",
    );
    expect_error(
        server.patch_json(&project_path, &json!({ "sigma_px": -1 })),
        400,
        "sigma_px",
    );
    expect_error(
        server.patch_json(&project_path, &json!({ "reference_image": 999 })),
        400,
        &format!("project {project} has no image 999"),
    );
    expect_error(
        server.patch_json(&project_path, &json!({ "name": "" })),
        400,
        "the project name is empty",
    );
    // An edit that fails changes nothing, even its valid parts.
    expect_error(
        server.patch_json(
            &path,
            &json!({ "deformation_distance": 3, "fiducials": [[500, 1]] }),
        ),
        400,
        "outside",
    );
    let (_, body) = status_json(server.get(&path));
    assert_eq!(body["deformation_distance"], Value::Null);
    let (_, body) = status_json(server.get(&project_path));
    assert_eq!(body["scale_length"], 10.0);
}

#[test]
fn uploads_that_are_not_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(
        dir.path(),
        Limits {
            max_file_bytes: 100_000,
            max_pixels: 1_000_000,
            max_images_per_project: 3,
            ..Limits::default()
        },
    );
    let project = server.create_project("Uploads");
    let url = format!("/api/projects/{project}/images");
    expect_error(
        server.post_form(&url, form(&[("notes.png", b"hello, I am text".to_vec())])),
        415,
        "notes.png: not a supported image",
    );
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".to_vec();
    expect_error(
        server.post_form(&url, form(&[("paper.pdf", pdf)])),
        415,
        "paper.pdf",
    );
    expect_error(
        server.post_form(&url, form(&[("empty.png", Vec::new())])),
        400,
        "empty.png: the file is empty",
    );
    let full = png(100, 100);
    expect_error(
        server.post_form(&url, form(&[("cut.png", full[..full.len() / 2].to_vec())])),
        400,
        "cut.png: the image cannot be read",
    );
    // One bad file refuses the whole batch: nothing is added.
    expect_error(
        server.post_form(
            &url,
            form(&[("ok.png", png(10, 10)), ("bad.gif", b"GIF89a".to_vec())]),
        ),
        400,
        "bad.gif",
    );
    expect_error(
        server.post_form(&url, form(&[("big.png", png(1001, 1000))])),
        413,
        "big.png: 1001×1000 px is more than the limit of 1000000 pixels",
    );
    expect_error(
        server.post_form(&url, form(&[("huge.bmp", vec![0u8; 100_001])])),
        413,
        "huge.bmp: the file is larger than the limit",
    );
    let wrong_field = Form::new().part("image", Part::bytes(png(10, 10)).file_name("a.png"));
    expect_error(
        server.post_form(&url, wrong_field),
        400,
        "unexpected multipart field \"image\"",
    );
    expect_error(
        server.post_form(&url, Form::new().text("note", "x")),
        400,
        "unexpected multipart field",
    );
    let response = server
        .client
        .post(server.url(&url))
        .body("not multipart")
        .send()
        .unwrap();
    expect_error(response, 400, "multipart");
    let response = server
        .client
        .post(server.url(&url))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body(
            "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nabc",
        )
        .send()
        .unwrap();
    expect_error(response, 400, "malformed multipart body");
    let (_, body) = status_json(server.get(&format!("/api/projects/{project}")));
    assert_eq!(body["image_count"], 0);
    // The image-count limit.
    let files: Vec<(&str, Vec<u8>)> = (0..4)
        .map(|i| {
            (
                ["a.png", "b.png", "c.png", "d.png"][i],
                png(10, 10 + i as u32),
            )
        })
        .collect();
    expect_error(
        server.post_form(&url, form(&files)),
        413,
        "would have 4 images, more than the limit of 3",
    );
    // Nothing of the refused uploads stays on disk.
    assert_eq!(
        std::fs::read_dir(dir.path().join("images"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
        0
    );
    let (status, _) = status_json(server.get("/health"));
    assert_eq!(status, 200);
}

#[test]
fn analysis_not_ready_is_422_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Analysis");
    let records = server.upload(
        project,
        &[
            ("d0.png", png(200, 200)),
            ("d1.png", png(200, 200)),
            ("d2.png", png(200, 200)),
            ("none.png", png(200, 200)),
        ],
    );
    let ids: Vec<i64> = records.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let url = format!("/api/projects/{project}/analysis");
    let set = |id: i64, body: Value| {
        let (status, answer) =
            status_json(server.patch_json(&format!("/api/projects/{project}/images/{id}"), &body));
        assert_eq!(status, 200, "{answer}");
    };

    // Fewer than 3 complete: the list of images that are not.
    let (f, s) = square_points(1.0);
    set(
        ids[0],
        json!({ "fiducials": f, "scale": s, "deformation_distance": 0 }),
    );
    set(
        ids[1],
        json!({ "fiducials": [[1, 1]], "deformation_distance": 1 }),
    );
    let body = expect_error(server.get(&url), 422, "");
    assert_eq!(
        body["incomplete"],
        json!([
            { "image_id": ids[1], "filename": "d1.png", "status": "Incomplete" },
            { "image_id": ids[2], "filename": "d2.png", "status": "Missing" },
            { "image_id": ids[3], "filename": "none.png", "status": "Missing" }
        ])
    );
    // Exports computed from the analysis say the same.
    expect_error(
        server.get(&format!("/api/projects/{project}/export/strains.csv")),
        422,
        "",
    );
    expect_error(
        server.get(&format!("/api/projects/{project}/export/plot/eps_xx.svg")),
        422,
        "",
    );
    // The annotation files can always be exported.
    assert_eq!(
        server
            .get(&format!("/api/projects/{project}/export/project.json"))
            .status(),
        200
    );
    assert_eq!(
        server
            .get(&format!("/api/projects/{project}/export/annotations.json"))
            .status(),
        200
    );

    // All distances equal.
    let (f1, s1) = square_points(1.1);
    let (f2, s2) = square_points(1.2);
    set(
        ids[1],
        json!({ "fiducials": f1, "scale": s1, "deformation_distance": 0 }),
    );
    set(
        ids[2],
        json!({ "fiducials": f2, "scale": s2, "deformation_distance": 0 }),
    );
    expect_error(server.get(&url), 422, "same deformation distance (0 mm)");

    // Degenerate markers in the reference: the message names the image.
    set(ids[1], json!({ "deformation_distance": 1 }));
    set(ids[2], json!({ "deformation_distance": 2 }));
    assert_eq!(server.get(&url).status(), 200);
    set(
        ids[0],
        json!({ "fiducials": [[10, 10], [20, 20], [30, 30], [40, 40], [25, 25]] }),
    );
    let body = expect_error(server.get(&url), 422, "d0.png");
    assert_eq!(body["image_id"], ids[0]);

    // Bad query parameters are 400.
    set(ids[0], json!({ "fiducials": f }));
    assert_eq!(server.get(&url).status(), 200);
    expect_error(
        server.get(&format!("{url}?components=eps_xx,nope")),
        400,
        "unknown component 'nope'",
    );
    expect_error(server.get(&format!("{url}?sigma_px=-1")), 400, "sigma_px");
    expect_error(server.get(&format!("{url}?sigma_px=abc")), 400, "sigma_px");
    expect_error(
        server.get(&format!("{url}?loading_axis=z")),
        400,
        "loading_axis",
    );
    expect_error(server.get(&format!("{url}?colour=red")), 400, "colour");
    expect_error(
        server.get(&format!("{url}?limit=1001")),
        400,
        "limit must be at most 1000",
    );
    expect_error(
        server.get(&format!("/api/projects/{project}/export/notes.txt")),
        404,
        "no export named \"notes.txt\"",
    );
    expect_error(
        server.get(&format!("/api/projects/{project}/export/plot/eps_xx.gif")),
        404,
        "no plot named",
    );
    expect_error(
        server.get(&format!("/api/projects/{project}/export/plot/nope.svg")),
        400,
        "unknown component",
    );
    expect_error(
        server.get(&format!(
            "/api/projects/{project}/export/plot/eps_xx.png?width=10"
        )),
        400,
        "plot size",
    );
    expect_error(
        server.get(&format!("/api/projects/{project}/images?limit=5000")),
        400,
        "limit must be at most 1000",
    );
}

#[test]
fn imports_that_cannot_work_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let annotations = std::fs::read_to_string(repo_path("testdata/demo/annotations.json")).unwrap();
    let project_part = |text: &str| Part::text(text.to_owned()).file_name("annotations.json");

    // Images named in the file but not uploaded.
    let files = demo_files();
    let form = Form::new()
        .part("project", project_part(&annotations))
        .part(
            "file",
            Part::bytes(files[0].1.clone()).file_name(files[0].0),
        );
    let body = expect_error(
        server.post_form("/api/import", form),
        400,
        "3 image(s) that were not uploaded",
    );
    assert_eq!(
        body["missing"],
        json!([
            "deformation-10mm-force.png",
            "deformation-20mm-force.png",
            "deformation-30mm-force.png"
        ])
    );
    expect_error(
        server.post_form(
            "/api/import",
            Form::new().part("project", project_part("{\"files_data\": 3}")),
        ),
        400,
        "project:",
    );
    expect_error(
        server.post_form(
            "/api/import",
            Form::new().part("project", project_part("not json")),
        ),
        400,
        "project: line 1",
    );
    expect_error(
        server.post_form(
            "/api/import",
            Form::new().part("project", project_part("{\"a\": 1}")),
        ),
        400,
        "project:",
    );
    expect_error(
        server.post_form("/api/import", form_with_files(&[("a.png", png(10, 10))])),
        400,
        "no project file",
    );
    expect_error(
        server.post_form("/api/import", Form::new().text("other", "x")),
        400,
        "unexpected multipart field \"other\"",
    );
    let twice = Form::new()
        .part("project", project_part("{}"))
        .part("project", project_part("{}"));
    expect_error(server.post_form("/api/import", twice), 400, "sent twice");

    // A project file whose checksum or size does not match the uploaded image.
    let project_json = json!({
        "format": "strain-seer-project", "version": 1, "name": "p",
        "units": { "length": "mm", "points": "px" },
        "scale_length": 10.0, "sigma_px": 1.0, "reference": null,
        "images": [{
            "id": "a", "filename": "a.png", "order": 0, "sha256": "0".repeat(64), "width": 10, "height": 10,
            "deformation_distance": null, "fiducials": [], "scale_points": []
        }]
    });
    let form = Form::new()
        .part("project", project_part(&project_json.to_string()))
        .part("file", Part::bytes(png(10, 10)).file_name("a.png"));
    expect_error(
        server.post_form("/api/import", form),
        400,
        "a.png: the uploaded file's SHA-256",
    );
    // Points outside the uploaded image.
    let mut outside = project_json.clone();
    outside["images"][0]["sha256"] = Value::Null;
    outside["images"][0]["fiducials"] = json!([{ "point": [50, 5], "source": "manual" }]);
    let form = Form::new()
        .part("project", project_part(&outside.to_string()))
        .part("file", Part::bytes(png(10, 10)).file_name("a.png"));
    expect_error(
        server.post_form("/api/import", form),
        400,
        "a.png: fiducial point 0 (50, 5) is outside the image (10×10 px)",
    );
    let (_, list) = status_json(server.get("/api/projects"));
    assert_eq!(list, json!([]));
}

fn form_with_files(files: &[(&str, Vec<u8>)]) -> Form {
    form(files)
}

// ----- oneshot tests of `app()` (no network) ------------------------------------------------

fn oneshot_app(dir: &std::path::Path) -> axum::Router {
    let store = Store::open(dir).unwrap();
    app(AppState::new(Arc::new(store), Limits::default()))
}

fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    })
}

fn json_request(method: &str, uri: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[test]
fn oneshot_health_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let app = oneshot_app(dir.path());
    let (status, body) = call(&app, Request::get("/health").body(Body::empty()).unwrap());
    assert_eq!((status, body), (StatusCode::OK, json!({ "status": "ok" })));
    let (status, body) = call(
        &app,
        Request::get("/_stcore/health").body(Body::empty()).unwrap(),
    );
    assert_eq!((status, body), (StatusCode::OK, json!("ok")));
    let (status, body) = call(&app, json_request("POST", "/api/projects", "{oops"));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body: "),
        "{body}"
    );
    let (status, body) = call(
        &app,
        json_request("POST", "/api/projects", "{\"name\": \"One\"}"),
    );
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["name"], "One");
    assert_eq!(body["scale_length"], 10.0);
    assert_eq!(body["sigma_px"], 1.0);
    assert_eq!(body["reference_image"], Value::Null);
    assert_eq!(body["image_count"], 0);
    assert!(body["created_at"].as_i64().unwrap() > 1_700_000_000);
    let id = body["id"].as_i64().unwrap();
    let (status, body) = call(
        &app,
        json_request(
            "PATCH",
            &format!("/api/projects/{id}"),
            "{\"scale_length\": 40}",
        ),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scale_length"], 40.0);
    let (status, body) = call(&app, json_request("PATCH", "/api/projects/77", "{}"));
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({ "error": "no project 77" }))
    );
    let (status, body) = call(&app, json_request("PUT", "/api/projects/1", "{}"));
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        body,
        json!({ "error": "PUT is not allowed on /api/projects/1" })
    );
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let (status, body) = call(&app, json_request("POST", "/api/projects", &big));
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

#[test]
fn a_data_dir_that_is_not_writable_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let err = strain_seer::web::check_data_dir(&file.join("data")).unwrap_err();
    assert!(err.to_string().contains("is not writable"), "{err}");
}
