//! `strain-seer analyze` end to end: the demo against truth.json, every export, and every kind
//! of bad input (exit code 2 with a message naming the file, image and point or field).

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use crate::api_support::{repo_path, strain_seer};
use serde_json::{Value, json};
use std::path::PathBuf;

const DEMO: &str = "testdata/demo/annotations.json";

fn demo_json() -> Value {
    let text = std::fs::read_to_string(repo_path(DEMO)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Writes `text` to a file in a fresh temporary directory.
fn write_temp(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Runs `analyze` on the demo annotations after `edit`, expecting exit code 2; returns stderr.
fn bad_demo(edit: impl FnOnce(&mut Value), extra_args: &[&str]) -> String {
    let mut v = demo_json();
    edit(&mut v);
    bad_text(&serde_json::to_string_pretty(&v).unwrap(), extra_args)
}

/// Runs `analyze` on `text`, expecting exit code 2; returns stderr (which names the file).
fn bad_text(text: &str, extra_args: &[&str]) -> String {
    let (_dir, path) = write_temp("bad.json", text);
    let output = strain_seer()
        .arg("analyze")
        .arg(&path)
        .args(extra_args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(output.stdout.is_empty(), "nothing on stdout on error");
    assert!(stderr.starts_with("strain-seer: error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    stderr
}

fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected {needle:?} in:\n{haystack}"
    );
}

fn points<'a>(v: &'a mut Value, id: &str) -> &'a mut Vec<Value> {
    v["files_data"][id]["points"].as_array_mut().unwrap()
}

// ----------------------------------------------------------------------------------------------
// The demo, end to end.

/// Parses a CSV without quoted fields (the demo's filenames have no commas) into header + rows.
fn read_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<f64> {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    rows.iter().map(|r| r[i].parse::<f64>().unwrap()).collect()
}

#[test]
fn demo_writes_every_file_and_matches_truth() {
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("results");
    let assert = strain_seer()
        .args(["analyze", DEMO, "--out"])
        .arg(&dir)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_contains(&stdout, "deformation-00mm-force.png *");
    assert_contains(&stdout, "Poisson's ratio");

    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "annotations.json",
            "plot-eps_xx.png",
            "plot-eps_xx.svg",
            "plot-eps_xy.png",
            "plot-eps_xy.svg",
            "plot-eps_yy.png",
            "plot-eps_yy.svg",
            "project.json",
            "regression.csv",
            "regression.json",
            "strains.csv",
        ]
    );
    for name in &names {
        assert!(
            std::fs::metadata(dir.join(name)).unwrap().len() > 100,
            "{name} is (nearly) empty"
        );
    }
    for key in ["eps_xx", "eps_yy", "eps_xy"] {
        let png = std::fs::read(dir.join(format!("plot-{key}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(dir.join(format!("plot-{key}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("Deformation distance (mm)"));
    }

    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("testdata/demo/truth.json")).unwrap(),
    )
    .unwrap();
    let strains = std::fs::read_to_string(dir.join("strains.csv")).unwrap();
    let first_line = strains.lines().next().unwrap();
    assert!(
        first_line.starts_with("filename,deformation_distance,strain_xx,strain_yy,strain_xy,"),
        "{first_line}"
    );
    let (header, rows) = read_csv(&strains);
    assert_eq!(rows.len(), 4);
    for (i, image) in truth["images"].as_array().unwrap().iter().enumerate() {
        assert_eq!(rows[i][0], image["filename"].as_str().unwrap());
        assert_eq!(
            rows[i][1].parse::<f64>().unwrap(),
            image["deformation_mm"].as_f64().unwrap()
        );
        for (col, key) in [
            ("strain_xx", "eps_xx"),
            ("strain_yy", "eps_yy"),
            ("strain_xy", "eps_xy"),
            ("green_xx", "E_xx"),
            ("green_yy", "E_yy"),
            ("green_xy", "E_xy"),
            ("J", "J"),
        ] {
            let got = column(&header, &rows, col)[i];
            let want = image["strain"][key].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-6,
                "{} {col}: {got} vs truth {want}",
                rows[i][0]
            );
        }
    }
    assert_eq!(
        column(&header, &rows, "strain_xx_sd")[0],
        0.0,
        "the reference has no uncertainty"
    );
    assert!(column(&header, &rows, "strain_xx_sd")[1] > 0.0);
    let is_ref = header.iter().position(|h| h == "is_reference").unwrap();
    assert_eq!(
        rows.iter().map(|r| r[is_ref].as_str()).collect::<Vec<_>>(),
        ["true", "false", "false", "false"]
    );

    let regression = std::fs::read_to_string(dir.join("regression.csv")).unwrap();
    let (header, rows) = read_csv(&regression);
    assert_eq!(
        &header[..5],
        ["component", "slope", "intercept", "r_squared", "p_value"]
    );
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["x_axis", "y_axis", "shear", "poisson_ratio"]
    );
    let regression_json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("regression.json")).unwrap())
            .unwrap();
    for (i, name) in ["x_axis", "y_axis", "shear"].iter().enumerate() {
        for (j, key) in ["slope", "intercept", "r_squared", "p_value"]
            .iter()
            .enumerate()
        {
            let want = truth["regression"][name][key].as_f64().unwrap();
            let csv_value = rows[i][j + 1].parse::<f64>().unwrap();
            let json_value = regression_json[name][key].as_f64().unwrap();
            assert_eq!(csv_value, json_value, "CSV and JSON agree exactly");
            assert!(
                (csv_value - want).abs() <= 1e-9 * want.abs().max(1e-3),
                "{name}.{key}: {csv_value} vs {want}"
            );
        }
    }

    // The Python-format export reads back as the same annotations.
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("annotations.json")).unwrap())
            .unwrap();
    assert_eq!(exported, demo_json());
}

#[test]
fn project_export_reimports_and_round_trips_byte_identically() {
    let out = tempfile::tempdir().unwrap();
    let first = out.path().join("first");
    let second = out.path().join("second");
    strain_seer()
        .args([
            "analyze",
            DEMO,
            "--sigma-px",
            "0.5",
            "--format",
            "csv",
            "--out",
        ])
        .arg(&first)
        .assert()
        .success();
    let project = first.join("project.json");
    let project_text = std::fs::read_to_string(&project).unwrap();
    let v: Value = serde_json::from_str(&project_text).unwrap();
    assert_eq!(v["format"], "strain-seer-project");
    assert_eq!(v["version"], 1);
    assert_eq!(v["sigma_px"], 0.5);
    assert_eq!(v["name"], "annotations");
    strain_seer()
        .arg("analyze")
        .arg(&project)
        .args(["--format", "csv", "--out"])
        .arg(&second)
        .assert()
        .success();
    assert_eq!(
        std::fs::read(second.join("project.json")).unwrap(),
        project_text.as_bytes()
    );
    assert_eq!(
        std::fs::read(second.join("strains.csv")).unwrap(),
        std::fs::read(first.join("strains.csv")).unwrap()
    );
}

#[test]
fn json_output_is_the_full_analysis() {
    let assert = strain_seer()
        .args(["analyze", DEMO, "--format", "json"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(v["reference_name"], "deformation-00mm-force.png");
    assert_eq!(v["rows"].as_array().unwrap().len(), 4);
    assert_eq!(v["regressions"].as_array().unwrap().len(), 3);
    assert_eq!(v["regressions"][0]["component"], "eps_xx");
    let eps_yy = v["rows"][3]["measures"]["small"]["yy"].as_f64().unwrap();
    assert!((eps_yy - -0.48005384339812995).abs() < 1e-6);
    assert!(v["rows"][3]["uncertainty"]["small"]["yy"].as_f64().unwrap() > 0.0);
    assert_eq!(v["poisson"]["loading_axis"], "y");
}

#[test]
fn csv_output_via_environment_variable() {
    let assert = strain_seer()
        .args(["analyze", DEMO])
        .env("STRAIN_SEER_FORMAT", "csv")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.starts_with("filename,deformation_distance,strain_xx,strain_yy,strain_xy,"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 5);
}

#[test]
fn options_change_the_analysis() {
    let run = |args: &[&str]| -> Value {
        let assert = strain_seer()
            .args(["analyze", DEMO, "--format", "json"])
            .args(args)
            .assert()
            .success();
        serde_json::from_slice(&assert.get_output().stdout).unwrap()
    };
    let v = run(&[
        "--reference",
        "deformation-10mm-force.png",
        "--loading-axis",
        "x",
    ]);
    assert_eq!(v["reference"], 1);
    assert_eq!(v["rows"][1]["measures"]["small"]["xx"], 0.0);
    assert_eq!(v["poisson"]["loading_axis"], "x");
    // Scale length cancels out of strain (every image is rescaled alike) but not out of mm/px.
    let v = run(&["--scale-length", "20", "--components", "exx,j"]);
    assert_eq!(v["scale_length"], 20.0);
    let components: Vec<&str> = v["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["component"].as_str().unwrap())
        .collect();
    assert_eq!(components, ["exx", "j"]);
    let v0 = run(&[]);
    let ratio =
        v0["rows"][0]["mm_per_px"].as_f64().unwrap() / v["rows"][0]["mm_per_px"].as_f64().unwrap();
    assert!((ratio - 2.0).abs() < 1e-12);
    let v = run(&["--sigma-px", "0"]);
    assert_eq!(v["rows"][2]["uncertainty"]["small"]["xx"], 0.0);
}

#[test]
fn extra_components_get_plots_named_by_key() {
    let out = tempfile::tempdir().unwrap();
    strain_seer()
        .args([
            "analyze",
            DEMO,
            "--components",
            "x_axis,exx,rotation",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    for key in ["eps_xx", "exx", "rotation"] {
        assert!(out.path().join(format!("plot-{key}.svg")).is_file());
        assert!(out.path().join(format!("plot-{key}.png")).is_file());
    }
    assert!(!out.path().join("plot-eps_yy.svg").exists());
    let regression = std::fs::read_to_string(out.path().join("regression.csv")).unwrap();
    let names: Vec<&str> = regression
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(names, ["x_axis", "exx", "rotation", "poisson_ratio"]);
}

#[test]
fn incomplete_image_is_left_out_with_a_warning() {
    let mut v = demo_json();
    v["files_data"]["img1"]["points"]
        .as_array_mut()
        .unwrap()
        .truncate(4);
    v["files_data"]["img1"]["status"] = json!([false, "Incomplete"]);
    let mut extra = v["files_data"]["img3"].clone();
    extra["id"] = "img4".into();
    extra["filename"] = "deformation-40mm-force.png".into();
    extra["order"] = 4.into();
    extra["deformation_distance"] = Value::Null;
    extra["points"] = json!([]);
    extra["status"] = json!([false, "Missing"]);
    v["files_data"]["img4"] = extra;
    let (_dir, path) = write_temp("partial.json", &serde_json::to_string(&v).unwrap());
    let assert = strain_seer().arg("analyze").arg(&path).assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_contains(
        &stderr,
        "warning: image 'deformation-10mm-force.png' left out of the analysis: Incomplete",
    );
    assert_contains(
        &stderr,
        "warning: image 'deformation-40mm-force.png' left out of the analysis: Missing",
    );
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_contains(&stdout, "3 of 5 images analysed");
}

#[test]
fn help_has_an_example_and_every_flag() {
    let assert = strain_seer().args(["analyze", "--help"]).assert().success();
    let help = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert_contains(&help, "Examples:");
    assert_contains(&help, "strain-seer analyze testdata/demo/annotations.json");
    for flag in [
        "--reference",
        "--sigma-px",
        "--scale-length",
        "--loading-axis",
        "--components",
        "--out",
        "--format",
    ] {
        assert_contains(&help, flag);
    }
    for var in [
        "STRAIN_SEER_REFERENCE",
        "STRAIN_SEER_SIGMA_PX",
        "STRAIN_SEER_SCALE_LENGTH",
        "STRAIN_SEER_LOADING_AXIS",
        "STRAIN_SEER_COMPONENTS",
        "STRAIN_SEER_OUT",
        "STRAIN_SEER_FORMAT",
    ] {
        assert_contains(&help, var);
    }
}

// ----------------------------------------------------------------------------------------------
// Bad input: exit code 2, and the message says which file, image, point or field.

#[test]
fn missing_file() {
    let output = strain_seer()
        .args(["analyze", "testdata/demo/no-such-file.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        "strain-seer: error: cannot read 'testdata/demo/no-such-file.json': no such file"
    );
}

#[test]
fn directory_instead_of_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = strain_seer()
        .arg("analyze")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_contains(&String::from_utf8_lossy(&output.stderr), "is a directory");
}

#[test]
fn not_json() {
    let err = bad_text("# not json\n", &[]);
    assert_contains(
        &err,
        "bad.json': line 1, column 1: not valid JSON: expected value",
    );
    let err = bad_text("filename,deformation_distance\na.png,1\n", &[]);
    assert_contains(
        &err,
        "bad.json': line 1, column 2: not valid JSON: expected a JSON value",
    );
    let err = bad_text("{\"files_data\": {\"a\": ", &[]);
    assert_contains(&err, "not valid JSON: EOF while parsing");
    let err = bad_text("", &[]);
    assert_contains(&err, "not valid JSON");
}

#[test]
fn binary_garbage() {
    let (_dir, path) = write_temp("photo.json", "");
    std::fs::write(&path, [0x89u8, b'P', b'N', b'G', 0, 0xff, 0xfe, 7, 200]).unwrap();
    let output = strain_seer().arg("analyze").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_contains(&stderr, "photo.json' is not a text (UTF-8) file");
}

#[test]
fn json_that_is_not_an_annotation_file() {
    let err = bad_text("[1, 2, 3]", &[]);
    assert_contains(&err, "not a Strain Seer file");
    let err = bad_text("{\"files_data\": [1], \"scale_length\": 10}", &[]);
    assert_contains(&err, "invalid type: sequence, expected a map");
    let err = bad_text("{\"format\": \"strain-seer-project\", \"version\": 7}", &[]);
    assert_contains(
        &err,
        "field 'version': project file version 7 is not supported",
    );
}

#[test]
fn missing_points_in_an_image_marked_complete() {
    let err = bad_demo(|v| points(v, "img1").truncate(5), &[]);
    assert_contains(
        &err,
        "bad.json': image 'deformation-10mm-force.png' (id 'img1'), field 'points': marked Complete but has 5 of 5 \
         fiducial points and 0 of 2 scale points",
    );
    let err = bad_demo(|v| points(v, "img2").clear(), &[]);
    assert_contains(
        &err,
        "image 'deformation-20mm-force.png' (id 'img2'), field 'points': marked Complete but has 0 of 5",
    );
}

#[test]
fn four_instead_of_five_fiducials() {
    let err = bad_demo(|v| drop(points(v, "img3").remove(4)), &[]);
    assert_contains(
        &err,
        "image 'deformation-30mm-force.png' (id 'img3'), field 'points': marked Complete but has 4 of 5 fiducial \
         points and 2 of 2 scale points",
    );
}

#[test]
fn missing_distance_in_an_image_marked_complete() {
    let err = bad_demo(
        |v| v["files_data"]["img2"]["deformation_distance"] = Value::Null,
        &[],
    );
    assert_contains(
        &err,
        "image 'deformation-20mm-force.png' (id 'img2'), field 'points': marked Complete but",
    );
    assert_contains(&err, "and no deformation distance");
}

#[test]
fn nan_and_infinity() {
    // Python's json.dumps writes NaN and Infinity as bare words.
    let mut v = demo_json();
    v["files_data"]["img1"]["points"][3]["point"][0] = "@NAN@".into();
    let text = serde_json::to_string_pretty(&v)
        .unwrap()
        .replace("\"@NAN@\"", "NaN");
    let err = bad_text(&text, &[]);
    assert_contains(
        &err,
        "image 'deformation-10mm-force.png' (id 'img1'), fiducial point 3 (bottom-left) = points[3], field 'x': \
         NaN is not a finite number",
    );
    let text = serde_json::to_string_pretty(&v)
        .unwrap()
        .replace("\"@NAN@\"", "-Infinity");
    let err = bad_text(&text, &[]);
    assert_contains(
        &err,
        "fiducial point 3 (bottom-left) = points[3], field 'x': -infinity",
    );
    // A number too large for a 64-bit float.
    let mut v = demo_json();
    v["files_data"]["img0"]["points"][5]["point"][1] = "@BIG@".into();
    let text = serde_json::to_string_pretty(&v)
        .unwrap()
        .replace("\"@BIG@\"", "1e999");
    let err = bad_text(&text, &[]);
    assert_contains(
        &err,
        "image 'deformation-00mm-force.png' (id 'img0'), scale point 0 = points[5], field 'y': infinity",
    );
    // A quoted "NaN" distance.
    let err = bad_demo(
        |v| v["files_data"]["img2"]["deformation_distance"] = "NaN".into(),
        &[],
    );
    assert_contains(
        &err,
        "image 'deformation-20mm-force.png' (id 'img2'), field 'deformation_distance': NaN is not a finite number",
    );
    let err = bad_demo(|v| v["scale_length"] = "inf".into(), &[]);
    assert_contains(&err, "field 'scale_length': infinity");
}

#[test]
fn negative_or_zero_scale_length() {
    let err = bad_demo(|v| v["scale_length"] = (-40.0).into(), &[]);
    assert_contains(
        &err,
        "bad.json': field 'scale_length': the scale length must be greater than 0 mm, got -40 mm",
    );
    let err = bad_demo(|v| v["scale_length"] = 0.into(), &[]);
    assert_contains(
        &err,
        "field 'scale_length': the scale length must be greater than 0 mm, got 0 mm",
    );
    let err = bad_demo(|_| {}, &["--scale-length", "0"]);
    assert_contains(
        &err,
        "--scale-length must be a finite number of mm greater than 0, got 0",
    );
    let err = bad_demo(|_| {}, &["--scale-length=-3"]);
    assert_contains(
        &err,
        "--scale-length must be a finite number of mm greater than 0, got -3",
    );
}

#[test]
fn duplicate_scale_points() {
    let err = bad_demo(
        |v| {
            let first = v["files_data"]["img2"]["points"][5]["point"].clone();
            v["files_data"]["img2"]["points"][6]["point"] = first;
        },
        &[],
    );
    assert_contains(
        &err,
        "image 'deformation-20mm-force.png' (id 'img2'), field 'scale_points': the two scale points coincide at \
         (812, 590.49): the scale (mm per pixel) is undefined",
    );
}

#[test]
fn fewer_than_three_complete_images() {
    let err = bad_demo(
        |v| {
            let files = v["files_data"].as_object_mut().unwrap();
            files.remove("img2");
            files.remove("img3");
        },
        &[],
    );
    assert_contains(&err, "the analysis needs at least 3 complete images");
    assert_contains(&err, "found 2");
    // Incomplete images are named.
    let err = bad_demo(
        |v| {
            points(v, "img2").truncate(6);
            v["files_data"]["img2"]["status"] = json!([false, "Incomplete"]);
            v["files_data"].as_object_mut().unwrap().remove("img3");
        },
        &[],
    );
    assert_contains(
        &err,
        "found 2; not complete: 'deformation-20mm-force.png' (Incomplete)",
    );
}

#[test]
fn all_distances_equal() {
    let err = bad_demo(
        |v| {
            for id in ["img0", "img1", "img2", "img3"] {
                v["files_data"][id]["deformation_distance"] = 5.0.into();
            }
        },
        &[],
    );
    assert_contains(
        &err,
        "all complete images have the same deformation distance (5 mm)",
    );
}

#[test]
fn unknown_reference() {
    let err = bad_demo(|_| {}, &["--reference", "nope.png"]);
    assert_contains(&err, "--reference 'nope.png' is not an image in '");
    assert_contains(
        &err,
        "its images are 'deformation-00mm-force.png', 'deformation-10mm-force.png'",
    );
}

#[test]
fn bad_options() {
    let err = bad_demo(|_| {}, &["--sigma-px", "-1"]);
    assert_contains(
        &err,
        "--sigma-px must be a finite number of px, 0 or more, got -1",
    );
    let err = bad_demo(|_| {}, &["--components", "eps_xx,strain"]);
    assert_contains(&err, "--components: unknown component 'strain'");
    // clap's own usage errors also exit with 2.
    let output = strain_seer()
        .args(["analyze", DEMO, "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn wrong_point_shapes_and_labels() {
    let err = bad_demo(
        |v| v["files_data"]["img1"]["points"][2]["point"] = json!([1.0]),
        &[],
    );
    assert_contains(
        &err,
        "image 'deformation-10mm-force.png' (id 'img1'), fiducial point 2 (bottom-right) = points[2], field 'point': \
         a point must be [x, y], got 1 numbers",
    );
    let err = bad_demo(
        |v| v["files_data"]["img1"]["points"][2]["label"] = "Marker".into(),
        &[],
    );
    assert_contains(
        &err,
        "image 'deformation-10mm-force.png' (id 'img1'), points[2], field 'label': unknown point label",
    );
    let err = bad_demo(
        |v| v["files_data"]["img1"]["points"][2]["point"] = json!(["a", 2]),
        &[],
    );
    assert_contains(
        &err,
        "points[2]: invalid value: string \"a\", expected a number",
    );
}

#[test]
fn unwritable_output_is_exit_code_1() {
    let (_dir, file) = write_temp("not-a-dir", "x");
    let output = strain_seer()
        .args(["analyze", DEMO, "--format", "csv", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_contains(
        &String::from_utf8_lossy(&output.stderr),
        "cannot create the output directory",
    );
    // The output directory is made before the analysis, so nothing is printed before the error.
    assert!(output.stdout.is_empty());
}

#[test]
fn a_failed_analysis_with_out_writes_nothing_and_says_the_same() {
    // Fewer than 3 complete images: the analysis fails after the project is read.
    let mut v = demo_json();
    let files = v["files_data"].as_object_mut().unwrap();
    files.remove("img2");
    files.remove("img3");
    let (dir, path) = write_temp("bad.json", &serde_json::to_string_pretty(&v).unwrap());
    let without = strain_seer().arg("analyze").arg(&path).output().unwrap();
    let existing = dir.path().join("results");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("annotations.json"), "from an earlier run").unwrap();
    let new = dir.path().join("new").join("results");
    for out in [&existing, &new] {
        let with = strain_seer()
            .arg("analyze")
            .arg(&path)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert_eq!(with.status.code(), Some(2));
        assert_eq!(
            String::from_utf8_lossy(&with.stderr),
            String::from_utf8_lossy(&without.stderr)
        );
        assert_contains(
            &String::from_utf8_lossy(&with.stderr),
            "the analysis needs at least 3 complete images",
        );
        assert!(with.stdout.is_empty());
    }
    let left: Vec<_> = std::fs::read_dir(&existing)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["annotations.json"]);
    assert_eq!(
        std::fs::read_to_string(existing.join("annotations.json")).unwrap(),
        "from an earlier run"
    );
    assert!(!dir.path().join("new").exists());
}

#[test]
fn overrides_that_would_make_the_project_invalid_keep_their_messages() {
    // The project is checked once, when read; each override checks what it changes, before
    // any output is created: an unknown reference and a negative scale length are refused
    // with the messages they had when the whole project was checked again before analysing.
    let err = bad_demo(
        |_| {},
        &["--reference", "nope.png", "--out", "/nonexistent/x"],
    );
    assert_contains(&err, "--reference 'nope.png' is not an image in '");
    let err = bad_demo(|_| {}, &["--scale-length=-3", "--format", "csv"]);
    assert_contains(
        &err,
        "--scale-length must be a finite number of mm greater than 0, got -3",
    );
}
