//! `strain-seer detect` end to end: the four demo photos → annotation JSON that `analyze` reads,
//! with markers and scale points against truth.json; the project format; and failures (exit 2
//! naming the photo, or a partial file with `--allow-partial`).

#![allow(clippy::unwrap_used)]

use crate::api_support::{repo_path, strain_seer};
use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;

const PHOTOS: [&str; 4] = [
    "testdata/demo/deformation-00mm-force.png",
    "testdata/demo/deformation-10mm-force.png",
    "testdata/demo/deformation-20mm-force.png",
    "testdata/demo/deformation-30mm-force.png",
];

/// Runs the command and checks that it exited 0 (showing its stderr when not).
fn succeeds(cmd: &mut Command) -> std::process::Output {
    let output = cmd.output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn read_json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `strain-seer analyze --format json FILE`, parsed.
fn analyze_json(file: &Path) -> Value {
    let output = succeeds(
        strain_seer()
            .args(["analyze", "--format", "json"])
            .arg(file),
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn truth() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_path("testdata/demo/truth.json")).unwrap())
        .unwrap()
}

fn xy(v: &Value) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

#[test]
fn detect_cli_demo_photos_then_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.json");
    let output = strain_seer()
        .arg("detect")
        .args(PHOTOS)
        .args(["--format", "python", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for photo in PHOTOS {
        let name = Path::new(photo).file_name().unwrap().to_str().unwrap();
        assert!(stderr.contains(&format!("{name}: 5 markers")), "{stderr}");
    }
    assert!(stderr.contains("mm/px over 40 mm"), "{stderr}");

    let json: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["scale_length"].as_f64(), Some(40.0));
    let truth = truth();
    for (k, t) in truth["images"].as_array().unwrap().iter().enumerate() {
        let image = &json["files_data"][format!("img{k}")];
        assert_eq!(image["filename"], t["filename"]);
        assert_eq!(
            image["deformation_distance"].as_f64(),
            Some(10.0 * k as f64)
        );
        assert_eq!(image["status"][1], "Complete");
        let points = image["points"].as_array().unwrap();
        assert_eq!(points.len(), 7);
        for (i, m) in t["markers"].as_array().unwrap().iter().enumerate() {
            assert_eq!(points[i]["label"], "Fiducial");
            let ((x, y), (tx, ty)) = (xy(&points[i]["point"]), xy(m));
            let limit = if k == 3 && i == 2 { 4.0 } else { 2.0 };
            assert!(
                (x - tx).hypot(y - ty) <= limit,
                "image {k} marker {i}: ({x}, {y}) vs ({tx}, {ty})"
            );
        }
        // The scale points are 40 mm apart: compare the pixel distance with the verified one.
        assert_eq!(points[5]["label"], "Scale");
        let ((ax, ay), (bx, by)) = (xy(&points[5]["point"]), xy(&points[6]["point"]));
        let (s0, s1) = (xy(&t["scale_points"][0]), xy(&t["scale_points"][1]));
        let rel = (ax - bx).hypot(ay - by) / (s0.0 - s1.0).hypot(s0.1 - s1.1) - 1.0;
        assert!(
            rel.abs() < 0.01,
            "image {k}: scale differs by {:.3} %",
            rel * 100.0
        );
    }

    // analyze reads it, and the strains are those of truth.json to 0.01.
    let output = succeeds(
        strain_seer()
            .args(["analyze", "--format", "json"])
            .arg(&out),
    );
    let analysis: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = analysis["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for (row, t) in rows.iter().zip(truth["images"].as_array().unwrap()) {
        let small = &row["measures"]["small"];
        for (got, key) in [
            (&small["xx"], "eps_xx"),
            (&small["yy"], "eps_yy"),
            (&small["xy"], "eps_xy"),
        ] {
            let (got, want) = (got.as_f64().unwrap(), t["strain"][key].as_f64().unwrap());
            assert!(
                (got - want).abs() < 0.01,
                "{}: {key} {got} vs {want}",
                t["filename"]
            );
        }
    }
}

#[test]
fn detect_cli_project_format_has_confidences_and_checksums() {
    let output = succeeds(strain_seer().arg("detect").args(&PHOTOS[..2]).args([
        "--format",
        "project",
        "--scale-length",
        "30",
    ]));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["format"], "strain-seer-project");
    assert_eq!(json["scale_length"].as_f64(), Some(30.0));
    let image = &json["images"][0];
    assert_eq!(image["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(image["width"].as_u64(), Some(1476));
    for p in image["fiducials"]
        .as_array()
        .unwrap()
        .iter()
        .chain(image["scale_points"].as_array().unwrap())
    {
        assert_eq!(p["source"], "auto");
        let c = p["confidence"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&c));
    }
}

#[test]
fn detect_cli_failures_name_the_photo() {
    let dir = tempfile::tempdir().unwrap();
    // A blank photo: no markers, no ruler.
    let blank = dir.path().join("blank-05mm.png");
    image::GrayImage::from_pixel(300, 200, image::Luma([180]))
        .save(&blank)
        .unwrap();
    let output = strain_seer()
        .arg("detect")
        .arg(PHOTOS[0])
        .arg(&blank)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("blank-05mm.png"), "{stderr}");
    assert!(output.stdout.is_empty());

    // With --allow-partial the file is written and the blank photo is incomplete.
    let output = succeeds(
        strain_seer()
            .arg("detect")
            .arg(PHOTOS[0])
            .arg(&blank)
            .args(["--allow-partial", "--format", "python"]),
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["files_data"]["img0"]["status"][1], "Complete");
    let partial = &json["files_data"]["img1"];
    assert_eq!(partial["deformation_distance"].as_f64(), Some(5.0));
    assert_eq!(partial["points"].as_array().unwrap().len(), 0);

    // Not an image.
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "hello").unwrap();
    let output = strain_seer().arg("detect").arg(&text).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("notes.png"));

    // A missing file is an I/O failure naming it.
    let output = strain_seer()
        .args(["detect", "does-not-exist.png"])
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does-not-exist.png"));
}

/// Issue 9's check as a new user would run it: `detect` with four different scale lengths, then
/// `analyze`: the strains do not depend on the span (the default project file keeps each
/// photo's ruler model, and the analysis reads the scale from it at the markers, perspective
/// corrected).
#[test]
fn regression_detect_scale_length_does_not_move_the_strain() {
    let dir = tempfile::tempdir().unwrap();
    let mut results: Vec<Vec<(f64, f64)>> = Vec::new();
    for span in ["10", "20", "30", "40"] {
        let out = dir.path().join(format!("p{span}.json"));
        succeeds(
            strain_seer()
                .arg("detect")
                .args(PHOTOS)
                .args(["--scale-length", span, "--out"])
                .arg(&out),
        );
        let project = read_json_file(&out);
        assert_eq!(project["format"], "strain-seer-project");
        assert!(
            project["images"][0]["ruler"]["coef"].is_array(),
            "{project}"
        );
        let analysis = analyze_json(&out);
        assert_eq!(analysis["scale_method"], "rectified");
        results.push(
            analysis["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let s = &r["measures"]["small"];
                    (s["xx"].as_f64().unwrap(), s["yy"].as_f64().unwrap())
                })
                .collect(),
        );
    }
    for r in &results[1..] {
        for (a, b) in r.iter().zip(&results[0]) {
            assert!(
                (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9,
                "{a:?} vs {b:?}"
            );
        }
    }
    // The table says which scale was used and shows the budget.
    let output = succeeds(
        strain_seer()
            .arg("analyze")
            .arg(dir.path().join("p10.json")),
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("scale: Ruler + perspective correction"),
        "{table}"
    );
    assert!(table.contains("Uncertainty budget"), "{table}");
}

/// A new --scale-length moves detected scale points with the ruler model instead of relabelling
/// them (points found 10 mm apart must never become "40 mm").
#[test]
fn regression_analyze_scale_length_replaces_detected_points() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    succeeds(
        strain_seer()
            .arg("detect")
            .args(PHOTOS)
            .args(["--scale-length", "10", "--out"])
            .arg(&out),
    );
    let results = dir.path().join("results");
    let output = succeeds(
        strain_seer()
            .args([
                "analyze",
                "--scale-method",
                "span",
                "--scale-length",
                "40",
                "--out",
            ])
            .arg(&results)
            .arg(&out),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("hand-placed"), "{stderr}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("project.json")).unwrap())
            .unwrap();
    assert_eq!(saved["scale_length"], 40.0);
    assert_eq!(saved["scale_method"], "span");
    let truth = truth();
    for (image, t) in saved["images"]
        .as_array()
        .unwrap()
        .iter()
        .zip(truth["images"].as_array().unwrap())
    {
        // 40 mm apart again: within 3 % of the verified 40 mm span in px (perspective moves
        // the span's position, not its length by much).
        let (a, b) = (
            xy(&image["scale_points"][0]["point"]),
            xy(&image["scale_points"][1]["point"]),
        );
        let (s0, s1) = (xy(&t["scale_points"][0]), xy(&t["scale_points"][1]));
        let rel = (a.0 - b.0).hypot(a.1 - b.1) / (s0.0 - s1.0).hypot(s0.1 - s1.1) - 1.0;
        assert!(rel.abs() < 0.03, "{}: {rel}", t["filename"]);
    }
}

/// A JPEG with `FocalLengthIn35mmFilm` in its EXIF (APP1): `detect` records the focal length in
/// the project file, and the perspective correction says it used the EXIF value.
#[test]
fn detect_reads_the_focal_length_from_exif() {
    use exif::experimental::Writer;
    use exif::{Field, In, Tag};
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for (k, photo) in PHOTOS.iter().enumerate() {
        let img = image::open(repo_path(photo)).unwrap().to_rgb8();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
            .encode_image(&img)
            .unwrap();
        let mut tiff = std::io::Cursor::new(Vec::new());
        let field = Field {
            tag: Tag::FocalLengthIn35mmFilm,
            ifd_num: In::PRIMARY,
            value: exif::Value::Short(vec![26]),
        };
        let mut writer = Writer::new();
        writer.push_field(&field);
        writer.write(&mut tiff, false).unwrap();
        let payload = [b"Exif\0\0".as_slice(), tiff.get_ref()].concat();
        let len = u16::try_from(payload.len() + 2).unwrap().to_be_bytes();
        let with_exif = [&jpeg[..2], &[0xFF, 0xE1], &len, &payload, &jpeg[2..]].concat();
        let name = dir.path().join(format!("step-{:02}mm.jpg", 10 * k));
        std::fs::write(&name, with_exif).unwrap();
        names.push(name);
    }
    let out = dir.path().join("p.json");
    succeeds(
        strain_seer()
            .arg("detect")
            .args(&names)
            .arg("--out")
            .arg(&out),
    );
    let project = read_json_file(&out);
    for image in project["images"].as_array().unwrap() {
        assert_eq!(image["focal_35mm"], 26.0, "{image}");
    }
    let analysis = analyze_json(&out);
    assert_eq!(analysis["scale_method"], "rectified");
    assert_eq!(analysis["rows"][1]["focal_35mm"], json!([26.0, "exif"]));
}
