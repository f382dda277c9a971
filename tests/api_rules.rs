//! `GET /api/rules` over real HTTP: the lists the UI reads are the ones the server applies. Each
//! listed file type uploads, each export name and plot format is served, each component name
//! (keys, the Python tool's names, `all`) is accepted by the analysis, each scale method by a
//! project, and the limits are this server's.

#![allow(clippy::unwrap_used)]

use crate::api_support::*;
use serde_json::{Value, json};
use strain_seer::web::Limits;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_rules_are_the_ones_the_server_applies() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_file_bytes: 3 * 1024 * 1024,
        max_upload_bytes: 10 * 1024 * 1024,
        max_images_per_project: 7,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits);
    let (status, rules) = status_json(server.get("/api/rules"));
    assert_eq!(status, 200, "{rules}");

    // Limits: this server's.
    let l = &rules["limits"];
    assert_eq!(l["max_file_bytes"], 3 * 1024 * 1024);
    assert_eq!(l["max_request_bytes"], 10 * 1024 * 1024);
    assert_eq!(l["max_images_per_project"], 7);
    assert_eq!(l["upload_batch_bytes"], 10 * 1024 * 1024);
    assert_eq!(
        (l["max_fiducials"].as_u64(), l["max_scale_points"].as_u64()),
        (Some(5), Some(2))
    );

    // Every listed image type uploads.
    let images = &rules["uploads"]["images"];
    let names = strings(&images["names"]);
    assert_eq!(names, ["PNG", "JPEG", "GIF", "BMP", "TIFF"]);
    let project = server.create_project("rules");
    for (name, format) in names.iter().zip([
        image::ImageFormat::Png,
        image::ImageFormat::Jpeg,
        image::ImageFormat::Gif,
        image::ImageFormat::Bmp,
        image::ImageFormat::Tiff,
    ]) {
        let ext = name.to_ascii_lowercase();
        let records = server.upload(project, &[(&format!("a.{ext}"), encode(40, 30, format))]);
        let mime = records[0]["content_type"].as_str().unwrap().to_owned();
        assert!(strings(&images["mime_types"]).contains(&mime), "{mime}");
        assert!(images["accept"].as_str().unwrap().contains(&mime));
    }
    assert!(strings(&images["extensions"]).contains(&"tif".to_owned()));
    assert_eq!(
        rules["uploads"]["projects"]["accept"],
        "application/json,.json"
    );

    // Every export file and plot format is served (the analysis ones answer 422 like the
    // analysis on a project without complete images); others are 404.
    for file in rules["exports"]["files"].as_array().unwrap() {
        let name = file["name"].as_str().unwrap();
        let status = server
            .get(&format!("/api/projects/{project}/export/{name}"))
            .status()
            .as_u16();
        let expected = if file["from_analysis"] == true {
            422
        } else {
            200
        };
        assert_eq!(status, expected, "{name}");
        assert!(!file["label"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        server
            .get(&format!("/api/projects/{project}/export/notes.txt"))
            .status(),
        404
    );
    let reports = strings(&rules["exports"]["reports"]);
    assert_eq!(reports[0], "html");
    assert_eq!(reports.contains(&"pdf".to_owned()), cfg!(feature = "pdf"));

    // Every component (key or legacy name) and `all` is a name the analysis and the plots
    // accept: the empty project answers 422 (nothing to compute), never 400 (unknown name).
    let components = rules["components"].as_array().unwrap();
    assert_eq!(components.len(), 24);
    let mut names = vec![rules["all_components"].as_str().unwrap().to_owned()];
    for c in components {
        let key = c["key"].as_str().unwrap();
        names.push(key.to_owned());
        if let Some(legacy) = c["legacy_name"].as_str() {
            names.push(legacy.to_owned());
        }
        assert_eq!(c["symbol"].as_array().unwrap().len(), 2, "{key}");
        assert!(!c["label"].as_str().unwrap().is_empty());
        for format in strings(&rules["exports"]["plot_formats"]) {
            let status = server
                .get(&format!(
                    "/api/projects/{project}/export/plot/{key}.{format}"
                ))
                .status();
            assert_eq!(status, 422, "{key}.{format}");
        }
    }
    for name in &names {
        let status = server
            .get(&format!(
                "/api/projects/{project}/analysis?components={name}"
            ))
            .status();
        assert_eq!(status, 422, "{name}");
    }
    expect_error(
        server.get(&format!("/api/projects/{project}/analysis?components=nope")),
        400,
        "unknown component 'nope'; known: eps_xx,",
    );

    // Every measure's components are listed components with a field in the rows.
    let keys: Vec<&str> = components
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    for measure in rules["measures"].as_array().unwrap() {
        for key in strings(&measure["components"]) {
            let c = &components[keys.iter().position(|k| *k == key).unwrap()];
            assert_eq!(c["measure"], measure["key"]);
            assert_eq!(c["field"][0], measure["key"]);
        }
    }
    assert_eq!(
        strings(&rules["default_components"]),
        ["eps_xx", "eps_yy", "eps_xy"]
    );

    // Every scale method is one a project accepts.
    for method in rules["scale_methods"].as_array().unwrap() {
        let (status, body) = status_json(server.patch_json(
            &format!("/api/projects/{project}"),
            &json!({ "scale_method": method["key"] }),
        ));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scale_method"], method["key"]);
    }
    server.stop().unwrap();
}

#[test]
fn the_analysis_reads_component_lists_like_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("components");
    let files: Vec<(String, Vec<u8>)> = (0..3)
        .map(|n| (format!("d{n}.png"), png(200, 200)))
        .collect();
    let named: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let records = server.upload(project, &named);
    for (n, record) in records.iter().enumerate() {
        let (f, s) = square_points(1.0 + 0.01 * n as f64);
        let id = record["id"].as_i64().unwrap();
        let (status, body) = status_json(server.patch_json(
            &format!("/api/projects/{project}/images/{id}"),
            &json!({ "fiducials": f, "scale": s, "deformation_distance": n as f64 }),
        ));
        assert_eq!(status, 200, "{body}");
    }
    let regressed = |query: &str| -> Vec<String> {
        let (status, body) = status_json(server.get(&format!(
            "/api/projects/{project}/analysis?components={query}"
        )));
        assert_eq!(status, 200, "{query}: {body}");
        body["regressions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["component"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(regressed("x_axis,shear,eps_xx"), ["eps_xx", "eps_xy"]);
    assert_eq!(regressed("ALL").len(), 24);
    assert_eq!(regressed("j,all")[0], "j");
    server.stop().unwrap();
}
