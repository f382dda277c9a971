//! The whole web workflow over real HTTP against a real SQLite data directory: demo photos in,
//! points placed through the API, analysis equal to truth.json, every export, import round trip,
//! reordering and deletion, the front end, and a restart that keeps every edit.

#![allow(clippy::unwrap_used)]

use crate::api_support::*;
use approx::assert_abs_diff_eq;
use serde_json::{Value, json};

fn header(response: &reqwest::blocking::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Create the demo project: 4 photos, scale length 40 mm, every point from annotations.json.
fn demo_project(server: &TestServer, name: &str) -> (i64, Vec<i64>) {
    let project = server.create_project(name);
    let records = server.upload(project, &demo_files());
    let ids: Vec<i64> = records.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "scale_length": 40.0 }),
    ));
    assert_eq!(status, 200, "{body}");
    for (n, ((filename, fiducials, scale, distance), id)) in
        demo_annotations().into_iter().zip(&ids).enumerate()
    {
        assert_eq!(records[n]["filename"], filename.as_str());
        let (status, body) = status_json(server.patch_json(
            &format!("/api/projects/{project}/images/{id}"),
            &json!({ "fiducials": fiducials, "scale": scale, "deformation_distance": distance }),
        ));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["image"]["status"], "Complete");
        assert_eq!(body["project"]["complete_count"], n as u64 + 1);
        assert_eq!(body["project"]["image_count"], 4);
    }
    (project, ids)
}

fn check_against_truth(analysis: &Value, ids: &[i64]) {
    let truth = read_json("testdata/demo/truth.json");
    assert_eq!(analysis["reference_image_id"], ids[0]);
    assert_eq!(analysis["reference_name"], "deformation-00mm-force.png");
    let rows = analysis["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for (n, (row, expected)) in rows
        .iter()
        .zip(truth["images"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(row["image_id"], ids[n]);
        assert_eq!(row["name"], expected["filename"]);
        let m = &row["measures"];
        let s = &expected["strain"];
        for (got, want) in [
            (&m["small"]["xx"], &s["eps_xx"]),
            (&m["small"]["yy"], &s["eps_yy"]),
            (&m["small"]["xy"], &s["eps_xy"]),
            (&m["green"]["xx"], &s["E_xx"]),
            (&m["green"]["yy"], &s["E_yy"]),
            (&m["green"]["xy"], &s["E_xy"]),
            (&m["j"], &s["J"]),
        ] {
            assert_abs_diff_eq!(
                got.as_f64().unwrap(),
                want.as_f64().unwrap(),
                epsilon = 1e-6
            );
        }
        assert!(row["uncertainty"]["small"]["xx"].as_f64().unwrap() > 0.0 || n == 0);
    }
    let regressions = analysis["regressions"].as_array().unwrap();
    for (component, legacy) in [
        ("eps_xx", "x_axis"),
        ("eps_yy", "y_axis"),
        ("eps_xy", "shear"),
    ] {
        let r = regressions
            .iter()
            .find(|r| r["component"] == component)
            .unwrap();
        let want = &truth["regression"][legacy];
        for key in [
            "slope",
            "intercept",
            "r_squared",
            "p_value",
            "stderr",
            "intercept_stderr",
        ] {
            assert_abs_diff_eq!(
                r["regression"][key].as_f64().unwrap(),
                want[key].as_f64().unwrap(),
                epsilon = 1e-6
            );
        }
    }
}

#[test]
fn whole_workflow_with_the_demo_photos() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());

    // Health endpoints.
    let (status, body) = status_json(server.get("/health"));
    assert_eq!((status, body), (200, json!({ "status": "ok" })));
    let response = server.get("/_stcore/health");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().unwrap(), "ok");

    // Upload: dimensions after orientation, distance from the file name, order, status.
    let project = server.create_project("Demo");
    let records = server.upload(project, &demo_files());
    let truth = read_json("testdata/demo/truth.json");
    for (n, record) in records.iter().enumerate() {
        let expected = &truth["images"][n];
        assert_eq!(record["filename"], expected["filename"]);
        assert_eq!(record["width"], expected["width"]);
        assert_eq!(record["height"], expected["height"]);
        assert_eq!(record["order"], n as i64);
        assert_eq!(record["deformation_distance"], json!(10.0 * n as f64));
        assert_eq!(record["content_type"], "image/png");
        assert_eq!(record["status"], "Incomplete");
        assert_eq!(record["fiducials"], json!([]));
        assert_eq!(record["project_id"], project);
        assert_eq!(record["sha256"].as_str().unwrap().len(), 64);
    }

    // Not ready: 422 listing every image.
    let body = expect_error(
        server.get(&format!("/api/projects/{project}/analysis")),
        422,
        "",
    );
    assert_eq!(body["incomplete"].as_array().unwrap().len(), 4);
    assert_eq!(
        body["incomplete"][0]["filename"],
        "deformation-00mm-force.png"
    );
    assert_eq!(body["incomplete"][0]["status"], "Incomplete");
    server
        .delete(&format!("/api/projects/{project}"))
        .error_for_status()
        .unwrap();

    // Points from annotations.json, then the analysis equals truth.json.
    let (project, ids) = demo_project(&server, "Demo");
    let (status, analysis) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(status, 200, "{analysis}");
    check_against_truth(&analysis, &ids);
    assert_eq!(analysis["scale_length"], 40.0);
    assert_eq!(analysis["sigma_px"], 1.0);
    assert_eq!(analysis["excluded"], json!([]));

    // One page of rows; the regressions still use every row.
    let (status, page) = status_json(server.get(&format!(
        "/api/projects/{project}/analysis?limit=2&offset=1"
    )));
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["row_total"], 4);
    assert_eq!(page["row_offset"], 1);
    let row_ids: Vec<i64> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["image_id"].as_i64().unwrap())
        .collect();
    assert_eq!(row_ids, ids[1..3]);
    assert_eq!(page["regressions"], analysis["regressions"]);
    assert_eq!(page["poisson"]["per_image"].as_array().unwrap().len(), 2);
    let (_, page) = status_json(server.get(&format!("/api/projects/{project}/analysis?offset=10")));
    assert_eq!(page["rows"], json!([]));

    // Query options: σ and components.
    let (status, other) = status_json(server.get(&format!(
        "/api/projects/{project}/analysis?sigma_px=0.5&components=exx,j"
    )));
    assert_eq!(status, 200, "{other}");
    assert_eq!(other["sigma_px"], 0.5);
    let components: Vec<&str> = other["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["component"].as_str().unwrap())
        .collect();
    assert_eq!(components, ["exx", "j"]);

    // Project views.
    let (_, list) = status_json(server.get("/api/projects"));
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == project)
        .unwrap();
    assert_eq!(entry["image_count"], 4);
    assert_eq!(entry["complete_count"], 4);
    assert_eq!(entry["scale_length"], 40.0);
    assert_eq!(entry["status_counts"]["Complete"], 4);
    let (_, detail) = status_json(server.get(&format!("/api/projects/{project}")));
    assert_eq!(detail["images"].as_array().unwrap().len(), 4);
    assert_eq!(detail["reference_image"], Value::Null);
    assert_eq!(
        detail["images"][2]["fiducial_meta"][0],
        json!({ "source": "manual", "confidence": null })
    );
    let (_, page) =
        status_json(server.get(&format!("/api/projects/{project}/images?limit=2&offset=1")));
    assert_eq!(page["total"], 4);
    let page_ids: Vec<i64> = page["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(page_ids, ids[1..3]);
    let (_, page) = status_json(server.get(&format!("/api/projects/{project}/images?offset=4")));
    assert_eq!(
        (
            page["total"].as_u64(),
            page["images"].as_array().unwrap().len()
        ),
        (Some(4), 0)
    );

    // Choosing the reference changes the analysis at once (never cached).
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "reference_image": ids[1], "sigma_px": 0.75, "name": "Demo run" }),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reference_image"], ids[1]);
    assert_eq!(body["name"], "Demo run");
    let (_, analysis) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(analysis["reference_image_id"], ids[1]);
    assert_abs_diff_eq!(
        analysis["rows"][1]["measures"]["small"]["xx"]
            .as_f64()
            .unwrap(),
        0.0,
        epsilon = 1e-12
    );
    let (_, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}"),
        &json!({ "reference_image": null, "sigma_px": 1.0, "name": "Demo" }),
    ));
    assert_eq!(body["reference_image"], Value::Null);

    // A changed distance shows in the next analysis.
    let (_, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}/images/{}", ids[3]),
        &json!({ "deformation_distance": 31.0 }),
    ));
    assert_eq!(body["image"]["deformation_distance"], 31.0);
    let (_, analysis) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(analysis["rows"][3]["deformation"], 31.0);
    server
        .patch_json(
            &format!("/api/projects/{project}/images/{}", ids[3]),
            &json!({ "deformation_distance": 30.0 }),
        )
        .error_for_status()
        .unwrap();

    // Image file and thumbnail.
    let response = server.get(&format!("/api/projects/{project}/images/{}/file", ids[0]));
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/png");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert!(header(&response, "content-disposition").contains("deformation-00mm-force.png"));
    assert_eq!(response.bytes().unwrap().to_vec(), demo_files()[0].1);
    let response = server.get(&format!(
        "/api/projects/{project}/images/{}/thumbnail",
        ids[0]
    ));
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/jpeg");
    let thumb = image::load_from_memory(&response.bytes().unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (256, 198));

    exports_download_with_the_right_headers(&server, project);
    import_round_trips(&server, project);
    reorder_and_delete(&server, project, &ids);

    // Deleting every project removes every stored file.
    let (_, list) = status_json(server.get("/api/projects"));
    for p in list.as_array().unwrap() {
        let response = server.delete(&format!("/api/projects/{}", p["id"]));
        assert_eq!(response.status(), 204);
    }
    let (_, list) = status_json(server.get("/api/projects"));
    assert_eq!(list, json!([]));
    assert_eq!(
        std::fs::read_dir(dir.path().join("images"))
            .unwrap()
            .count(),
        0
    );
    server.stop().unwrap();
}

fn exports_download_with_the_right_headers(server: &TestServer, project: i64) {
    let truth = read_json("testdata/demo/truth.json");
    let get = |file: &str, content_type: &str, filename: &str| -> String {
        let response = server.get(&format!("/api/projects/{project}/export/{file}"));
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(header(&response, "content-type"), content_type);
        let disposition = header(&response, "content-disposition");
        assert!(
            disposition.starts_with(&format!("attachment; filename=\"{filename}\"")),
            "{disposition}"
        );
        response.text().unwrap()
    };

    let csv = get("strains.csv", "text/csv; charset=utf-8", "demo-strains.csv");
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("filename,deformation_distance,strain_xx,strain_yy,strain_xy,")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4);
    for (row, expected) in rows.iter().zip(truth["images"].as_array().unwrap()) {
        assert_eq!(row[0], expected["filename"]);
        for (col, key) in [(2, "eps_xx"), (3, "eps_yy"), (4, "eps_xy")] {
            let value: f64 = row[col].parse().unwrap();
            assert_abs_diff_eq!(
                value,
                expected["strain"][key].as_f64().unwrap(),
                epsilon = 1e-6
            );
        }
    }

    let csv = get(
        "regression.csv",
        "text/csv; charset=utf-8",
        "demo-regression.csv",
    );
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("component,slope,intercept,r_squared,p_value")
    );
    let names: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(names, ["x_axis", "y_axis", "shear", "poisson_ratio"]);

    let json_text = get(
        "regression.json",
        "application/json",
        "demo-regression.json",
    );
    let regression: Value = serde_json::from_str(&json_text).unwrap();
    for legacy in ["x_axis", "y_axis", "shear"] {
        assert_abs_diff_eq!(
            regression[legacy]["slope"].as_f64().unwrap(),
            truth["regression"][legacy]["slope"].as_f64().unwrap(),
            epsilon = 1e-9
        );
    }

    let annotations = get(
        "annotations.json",
        "application/json",
        "demo-annotations.json",
    );
    let parsed = strain_seer::formats::parse_python_annotations(&annotations).unwrap();
    assert_eq!(parsed.scale_length, 40.0);
    assert_eq!(parsed.images.len(), 4);
    let original = strain_seer::formats::parse_python_annotations(
        &std::fs::read_to_string(repo_path("testdata/demo/annotations.json")).unwrap(),
    )
    .unwrap();
    for image in &original.images {
        let ours = parsed.image_by_filename(&image.filename).unwrap();
        assert_eq!(ours.fiducials, image.fiducials);
        assert_eq!(ours.scale_points, image.scale_points);
        assert_eq!(ours.deformation_distance, image.deformation_distance);
    }

    let project_json = get("project.json", "application/json", "demo-project.json");
    let value: Value = serde_json::from_str(&project_json).unwrap();
    assert_eq!(value["format"], "strain-seer-project");
    assert_eq!(value["name"], "Demo");
    assert_eq!(value["images"][0]["width"], 1476);

    for (component, ext, content_type) in [
        ("eps_xx", "svg", "image/svg+xml"),
        ("eps_yy", "png", "image/png"),
        ("exy", "svg", "image/svg+xml"),
    ] {
        let response = server.get(&format!(
            "/api/projects/{project}/export/plot/{component}.{ext}"
        ));
        assert_eq!(response.status(), 200, "{component}.{ext}");
        assert_eq!(header(&response, "content-type"), content_type);
        assert!(
            header(&response, "content-disposition")
                .contains(&format!("demo-plot-{component}.{ext}"))
        );
        let bytes = response.bytes().unwrap();
        if ext == "png" {
            let plot = image::load_from_memory(&bytes).unwrap();
            assert_eq!((plot.width(), plot.height()), (1440, 960));
        } else {
            assert!(String::from_utf8_lossy(&bytes).contains("<svg"));
        }
    }
    let response = server.get(&format!(
        "/api/projects/{project}/export/plot/eps_xx.png?width=400&height=300"
    ));
    let plot = image::load_from_memory(&response.bytes().unwrap()).unwrap();
    assert_eq!((plot.width(), plot.height()), (400, 300));
}

fn import_round_trips(server: &TestServer, project: i64) {
    // Our project file: export → import → export gives the same bytes.
    let exported = server
        .get(&format!("/api/projects/{project}/export/project.json"))
        .text()
        .unwrap();
    let form = with_files(
        reqwest::blocking::multipart::Form::new().part(
            "project",
            reqwest::blocking::multipart::Part::text(exported.clone())
                .file_name("demo-project.json"),
        ),
        &demo_files(),
    );
    let (status, imported) = status_json(server.post_form("/api/import", form));
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["name"], "Demo");
    assert_eq!(imported["complete_count"], 4);
    assert_eq!(imported["images"].as_array().unwrap().len(), 4);
    let new_id = imported["id"].as_i64().unwrap();
    assert_ne!(new_id, project);
    let again = server
        .get(&format!("/api/projects/{new_id}/export/project.json"))
        .text()
        .unwrap();
    assert_eq!(again, exported);

    // The Python tool's file, with a name field: same analysis as truth.json.
    let python = std::fs::read_to_string(repo_path("testdata/demo/annotations.json")).unwrap();
    let form = with_files(
        reqwest::blocking::multipart::Form::new()
            .text("name", "From Python")
            .part(
                "project",
                reqwest::blocking::multipart::Part::text(python).file_name("annotations.json"),
            ),
        &demo_files(),
    );
    let (status, imported) = status_json(server.post_form("/api/import", form));
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["name"], "From Python");
    assert_eq!(imported["scale_length"], 40.0);
    let ids: Vec<i64> = imported["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let (status, analysis) =
        status_json(server.get(&format!("/api/projects/{}/analysis", imported["id"])));
    assert_eq!(status, 200, "{analysis}");
    check_against_truth(&analysis, &ids);
}

fn reorder_and_delete(server: &TestServer, project: i64, ids: &[i64]) {
    let order = |server: &TestServer| -> Vec<i64> {
        let (_, detail) = status_json(server.get(&format!("/api/projects/{project}")));
        detail["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                assert!(i["order"].is_i64());
                i["id"].as_i64().unwrap()
            })
            .collect()
    };
    let (status, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}/images/{}", ids[3]),
        &json!({ "order": 0 }),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["image"]["order"], 0);
    assert_eq!(order(server), [ids[3], ids[0], ids[1], ids[2]]);
    server
        .patch_json(
            &format!("/api/projects/{project}/images/{}", ids[0]),
            &json!({ "order": 3 }),
        )
        .error_for_status()
        .unwrap();
    assert_eq!(order(server), [ids[3], ids[1], ids[2], ids[0]]);
    let (_, detail) = status_json(server.get(&format!("/api/projects/{project}")));
    let orders: Vec<i64> = detail["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["order"].as_i64().unwrap())
        .collect();
    assert_eq!(orders, [0, 1, 2, 3]);

    // Reference image deleted → back to automatic; later images move up.
    server
        .patch_json(
            &format!("/api/projects/{project}"),
            &json!({ "reference_image": ids[1] }),
        )
        .error_for_status()
        .unwrap();
    let response = server.delete(&format!("/api/projects/{project}/images/{}", ids[1]));
    assert_eq!(response.status(), 204);
    let (_, detail) = status_json(server.get(&format!("/api/projects/{project}")));
    assert_eq!(detail["reference_image"], Value::Null);
    assert_eq!(detail["image_count"], 3);
    let orders: Vec<(i64, i64)> = detail["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_i64().unwrap(), i["order"].as_i64().unwrap()))
        .collect();
    assert_eq!(orders, [(ids[3], 0), (ids[2], 1), (ids[0], 2)]);
    let (status, _) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(status, 200);

    // Clearing points with null.
    let (_, body) = status_json(server.patch_json(
        &format!("/api/projects/{project}/images/{}", ids[2]),
        &json!({ "fiducials": null, "scale": null, "deformation_distance": null }),
    ));
    assert_eq!(body["image"]["status"], "Missing");
    assert_eq!(body["image"]["fiducials"], json!([]));
    assert_eq!(body["project"]["complete_count"], 2);
    let body = expect_error(
        server.get(&format!("/api/projects/{project}/analysis")),
        422,
        "",
    );
    assert_eq!(
        body["incomplete"],
        json!([{ "image_id": ids[2], "filename": "deformation-20mm-force.png", "status": "Missing" }])
    );
}

#[test]
fn partial_points_meta_and_duplicate_names() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Partial");
    let records = server.upload(
        project,
        &[
            ("a-2.5mm.png", png(200, 200)),
            ("a-2.5mm.png", png(200, 200)),
        ],
    );
    assert_eq!(records[0]["filename"], "a-2.5mm.png");
    assert_eq!(records[1]["filename"], "a-2.5mm (2).png");
    assert_eq!(records[0]["deformation_distance"], 2.5);
    assert_eq!(records[0]["sha256"], records[1]["sha256"]);
    let id = records[0]["id"].as_i64().unwrap();
    let path = format!("/api/projects/{project}/images/{id}");

    // Partial placement while annotating.
    let (_, body) =
        status_json(server.patch_json(&path, &json!({ "fiducials": [[1, 2], [3, 4]] })));
    assert_eq!(body["image"]["status"], "Incomplete");
    assert_eq!(body["image"]["fiducials"], json!([[1.0, 2.0], [3.0, 4.0]]));
    assert_eq!(body["image"]["fiducial_meta"].as_array().unwrap().len(), 2);

    // Auto points with confidence keep their meta while they do not move.
    let (status, body) = status_json(server.patch_json(
        &path,
        &json!({
            "fiducials": [[1, 2], [3, 4], [5, 6]],
            "fiducial_meta": [{ "source": "auto", "confidence": 0.9 }, { "source": "auto", "confidence": 0.8 }, { "source": "manual" }]
        }),
    ));
    assert_eq!(status, 200, "{body}");
    let (_, body) = status_json(server.patch_json(
        &path,
        &json!({ "fiducials": [[1, 2], [3.5, 4], [5, 6], [7, 8]] }),
    ));
    assert_eq!(
        body["image"]["fiducial_meta"],
        json!([
            { "source": "auto", "confidence": 0.9 },
            { "source": "manual", "confidence": null },
            { "source": "manual", "confidence": null },
            { "source": "manual", "confidence": null }
        ])
    );
    // Points on the border are inside.
    let (status, body) =
        status_json(server.patch_json(&path, &json!({ "scale": [[0, 0], [200, 200]] })));
    assert_eq!(status, 200, "{body}");
    // Status words.
    let (_, body) = status_json(server.patch_json(&path, &json!({ "fiducials": [[1, 2], [3, 4], [5, 6], [7, 8], [9, 9]], "deformation_distance": null })));
    assert_eq!(body["image"]["status"], "Missing Distance");
    assert_eq!(body["project"]["status_counts"]["Missing Distance"], 1);
    let (_, body) = status_json(server.get(&format!(
        "/api/projects/{project}/images/{}",
        records[1]["id"]
    )));
    assert_eq!(body["status"], "Incomplete");
    server.stop().unwrap();
}

#[test]
fn every_format_uploads_and_many_files_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Formats");
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("a.png", encode(64, 48, image::ImageFormat::Png)),
        ("b.jpg", encode(64, 48, image::ImageFormat::Jpeg)),
        ("c.gif", encode(64, 48, image::ImageFormat::Gif)),
        ("d.bmp", encode(64, 48, image::ImageFormat::Bmp)),
        ("e.tiff", encode(64, 48, image::ImageFormat::Tiff)),
        ("lies.txt", encode(64, 48, image::ImageFormat::Png)),
    ];
    let records = server.upload(project, &files);
    let types: Vec<&str> = records
        .iter()
        .map(|r| r["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/bmp",
            "image/tiff",
            "image/png"
        ]
    );
    for record in &records {
        assert_eq!(
            (record["width"].as_u64(), record["height"].as_u64()),
            (Some(64), Some(48))
        );
        let response = server.get(&format!(
            "/api/projects/{project}/images/{}/file",
            record["id"]
        ));
        assert_eq!(
            header(&response, "content-type"),
            record["content_type"].as_str().unwrap()
        );
    }
    server.stop().unwrap();
}

#[test]
fn exif_orientation_gives_the_size_users_see() {
    // A 40×20 JPEG whose EXIF says "rotate 90° clockwise" (orientation 6) is shown 20×40.
    let jpeg = encode(40, 20, image::ImageFormat::Jpeg);
    let exif: Vec<u8> = {
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&[0, 1]); // one IFD entry
        tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation = 6
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(&tiff);
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        segment.extend_from_slice(&payload);
        segment
    };
    let mut rotated = jpeg[..2].to_vec();
    rotated.extend_from_slice(&exif);
    rotated.extend_from_slice(&jpeg[2..]);
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Exif");
    let records = server.upload(project, &[("phone.jpg", rotated)]);
    assert_eq!(
        (records[0]["width"].as_u64(), records[0]["height"].as_u64()),
        (Some(20), Some(40))
    );
    let path = format!("/api/projects/{project}/images/{}", records[0]["id"]);
    let (status, _) = status_json(server.patch_json(&path, &json!({ "fiducials": [[20, 40]] })));
    assert_eq!(status, 200);
    expect_error(
        server.patch_json(&path, &json!({ "fiducials": [[21, 40]] })),
        400,
        "outside the image (20×40 px)",
    );
    server.stop().unwrap();
}

#[test]
fn edits_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (project, image) = {
        let server = TestServer::start(dir.path());
        let project = server.create_project("Keep me");
        let records = server.upload(project, &[("step-1mm.png", png(200, 200))]);
        let image = records[0]["id"].as_i64().unwrap();
        let (status, _) = status_json(server.patch_json(
            &format!("/api/projects/{project}/images/{image}"),
            &json!({ "fiducials": [[10.25, 20.5], [30, 40]], "scale": [[1, 1]], "deformation_distance": 7.5 }),
        ));
        assert_eq!(status, 200);
        server
            .patch_json(
                &format!("/api/projects/{project}"),
                &json!({ "scale_length": 12.5 }),
            )
            .error_for_status()
            .unwrap();
        server.stop().unwrap();
        (project, image)
    };
    // The WAL was checkpointed on shutdown.
    let wal = dir.path().join("strain-seer.db-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);

    let server = TestServer::start(dir.path());
    let (status, body) =
        status_json(server.get(&format!("/api/projects/{project}/images/{image}")));
    assert_eq!(status, 200);
    assert_eq!(body["fiducials"], json!([[10.25, 20.5], [30.0, 40.0]]));
    assert_eq!(body["scale"], json!([[1.0, 1.0]]));
    assert_eq!(body["deformation_distance"], 7.5);
    let (_, project_body) = status_json(server.get(&format!("/api/projects/{project}")));
    assert_eq!(project_body["scale_length"], 12.5);
    assert_eq!(project_body["name"], "Keep me");
    let response = server.get(&format!("/api/projects/{project}/images/{image}/file"));
    assert_eq!(response.bytes().unwrap().to_vec(), png(200, 200));
    server.stop().unwrap();
}

#[test]
fn the_front_end_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let files = strain_seer::web::assets::embedded_files();
    let response = server.get("/");
    if files.iter().any(|f| f == "index.html") {
        assert_eq!(response.status(), 200);
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        let etag = header(&response, "etag");
        assert!(response.text().unwrap().contains("<html"));
        let again = server
            .client
            .get(server.url("/"))
            .header("if-none-match", &etag)
            .send()
            .unwrap();
        assert_eq!(again.status(), 304);
    } else {
        expect_error(response, 404, "front end is not built");
    }
    for file in &files {
        let response = server.get(&format!("/{file}"));
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(
            header(&response, "content-type"),
            strain_seer::web::assets::content_type(file)
        );
    }
    expect_error(server.get("/no-such-file.js"), 404, "no such file");
    expect_error(
        server.get("/api/nothing-here"),
        404,
        "no route for GET /api/nothing-here",
    );
    server.stop().unwrap();
}

/// Bug: with too few images left in the fits the analysis answered 422 and the analysis view,
/// which showed only that message, offered no way to put an excluded image back. The 422 now
/// lists the excluded images (id, file name, reason) so the view can offer one.
#[test]
fn too_few_in_the_fits_lists_the_excluded_images() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, ids) = demo_project(&server, "Exclusions");
    for (k, reason) in [(1, "glare"), (2, "")] {
        let (status, image) = status_json(server.patch_json(
            &format!("/api/projects/{project}/images/{}", ids[k]),
            &json!({ "excluded": reason }),
        ));
        assert_eq!(status, 200, "{image}");
    }
    let body = expect_error(
        server.get(&format!("/api/projects/{project}/analysis")),
        422,
        "excluded by the user leave 2",
    );
    assert_eq!(
        body["excluded"],
        json!([
            { "image_id": ids[1], "filename": "deformation-10mm-force.png", "reason": "glare" },
            { "image_id": ids[2], "filename": "deformation-20mm-force.png", "reason": "" },
        ])
    );
    assert_eq!(body["incomplete"], json!([]));
    // One put back: the fits are made again.
    let (status, _) = status_json(server.patch_json(
        &format!("/api/projects/{project}/images/{}", ids[1]),
        &json!({ "excluded": null }),
    ));
    assert_eq!(status, 200);
    let (status, analysis) = status_json(server.get(&format!("/api/projects/{project}/analysis")));
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["regressions"][0]["regression"]["n"], 3);
}
