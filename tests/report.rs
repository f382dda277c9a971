//! `analyze --report` and `--exclude` end to end on the demo: the HTML (and, with the `pdf`
//! feature, the PDF) report holds every number of `strains.csv` and `regression.json`; the PDF
//! opens, has pages and embeds its fonts (poppler-utils' `pdfinfo`, `pdffonts`, `pdftotext`:
//! `.ci/run` installs them; without them, outside CI, the PDF checks are skipped with a note);
//! an exclusion round-trips through the exports and the project file.

// Test helpers may panic: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::Path;

const DEMO: &str = "testdata/demo/annotations.json";

use crate::api_support::strain_seer;

/// Every number in `text`: maximal runs of characters that can be part of a float, parsed.
fn numbers_in(text: &str) -> HashSet<u64> {
    text.split(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .flat_map(|token| {
            // "e" inside words ("page") splits badly: try the token and its trimmed forms.
            let t = token.trim_matches(|c: char| c == 'e' || c == 'E' || c == '.' || c == '+');
            [
                t.parse::<f64>().ok(),
                t.trim_start_matches('-').parse::<f64>().ok().map(|v| -v),
            ]
        })
        .flatten()
        .map(f64::to_bits)
        .collect()
}

/// The numbers of strains.csv and regression.json.
fn export_numbers(dir: &Path) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let csv = std::fs::read_to_string(dir.join("strains.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    for record in reader.records() {
        let record = record.unwrap();
        for (h, v) in header.iter().zip(record.iter()) {
            if let Ok(x) = v.parse::<f64>() {
                out.push((format!("strains.csv {} {h}", &record[0]), x));
            }
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("regression.json")).unwrap())
            .unwrap();
    for (name, entry) in json.as_object().unwrap() {
        for (k, v) in entry.as_object().unwrap() {
            if let Some(x) = v.as_f64() {
                out.push((format!("regression.json {name}.{k}"), x));
            }
        }
    }
    out
}

/// The visible text of an HTML document: tags dropped, entities decoded.
fn html_text(html: &str) -> String {
    let body = html.split("</style>").nth(1).unwrap_or(html);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn assert_has_every_number(report: &str, text: &str, dir: &Path) {
    let found = numbers_in(text);
    let expected = export_numbers(dir);
    assert!(expected.len() > 150, "only {} numbers", expected.len());
    let missing: Vec<_> = expected
        .iter()
        .filter(|(_, x)| {
            !(found.contains(&x.to_bits()) || *x == 0.0 && found.contains(&0f64.to_bits()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "{report} lacks {} numbers, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

#[test]
fn the_html_report_of_the_demo_holds_every_exported_number_and_stands_alone() {
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("r.html");
    strain_seer()
        .args(["analyze", DEMO, "--format", "json", "--out"])
        .arg(dir.path())
        .arg("--report")
        .arg(&html_path)
        .assert()
        .success();
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    for must in [
        "Settings",
        "Warnings",
        "Poisson's ratio ν",
        "Method",
        "SHA-256",
        "<svg",
        "data:image/jpeg;base64,",
        "@media print",
    ] {
        assert!(html.contains(must), "no {must:?}");
    }
    // Self-contained: nothing fetched, no script.
    for never in [
        "<script",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(never), "has {never:?}");
    }
    // The demo photos are next to the annotations: their checksums are in the report.
    let sha = {
        use sha2::Digest;
        let bytes = std::fs::read("testdata/demo/deformation-10mm-force.png").unwrap();
        hex::encode(sha2::Sha256::digest(bytes))
    };
    assert!(html.contains(&sha));
    assert_has_every_number("the HTML report", &html_text(&html), dir.path());
}

#[test]
fn a_report_with_an_unknown_extension_is_bad_input() {
    strain_seer()
        .args(["analyze", DEMO, "--report", "r.docx"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--report 'r.docx': the file name must end in .html or .pdf",
        ));
}

#[test]
fn an_excluded_image_is_marked_in_the_tables_left_out_of_the_fits_and_kept_in_the_project() {
    let dir = tempfile::tempdir().unwrap();
    strain_seer()
        .args([
            "analyze",
            DEMO,
            "--exclude",
            "deformation-20mm-force.png=glare on marker 2",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "excluded from the fits: glare on marker 2",
        ));
    let csv = std::fs::read_to_string(dir.path().join("strains.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("deformation-20mm-force.png"))
        .unwrap();
    assert!(row.ends_with(",true,glare on marker 2"), "{row}");
    let reg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("regression.json")).unwrap())
            .unwrap();
    assert_eq!(reg["x_axis"]["n"], 3);
    assert_eq!(reg["poisson_ratio"]["n"], 3);
    assert_eq!(reg["poisson_ratio"]["loading_axis"], "y");
    let project = std::fs::read_to_string(dir.path().join("project.json")).unwrap();
    assert!(project.contains("\"excluded\": \"glare on marker 2\""));
    let annotations = std::fs::read_to_string(dir.path().join("annotations.json")).unwrap();
    assert!(annotations.contains("\"excluded\": \"glare on marker 2\""));

    // Analysing the written project again gives the same fits: the flag round-trips.
    let again = tempfile::tempdir().unwrap();
    strain_seer()
        .arg("analyze")
        .arg(dir.path().join("project.json"))
        .arg("--out")
        .arg(again.path())
        .assert()
        .success();
    for file in ["regression.json", "regression.csv", "strains.csv"] {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(file)).unwrap(),
            std::fs::read_to_string(again.path().join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn excluding_an_unknown_image_or_too_many_is_bad_input() {
    strain_seer()
        .args(["analyze", DEMO, "--exclude", "nope.png"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--exclude 'nope.png' is not an image",
        ));
    strain_seer()
        .args([
            "analyze",
            DEMO,
            "--exclude",
            "deformation-10mm-force.png",
            "--exclude",
            "deformation-20mm-force.png",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("excluded by the user leave 2"));
}

/// A poppler tool, or `None` (with a note) outside CI when it is not installed.
#[cfg(feature = "pdf")]
fn poppler(tool: &str) -> Option<std::process::Command> {
    let found = std::process::Command::new(tool).arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} (poppler-utils) is missing in CI"
        );
        eprintln!("note: {tool} not installed (apt-get install poppler-utils): PDF checks skipped");
        return None;
    }
    Some(std::process::Command::new(tool))
}

#[cfg(feature = "pdf")]
#[test]
fn the_pdf_report_of_the_demo_opens_embeds_its_fonts_and_holds_every_exported_number() {
    let dir = tempfile::tempdir().unwrap();
    let pdf_path = dir.path().join("r.pdf");
    strain_seer()
        .args(["analyze", DEMO, "--format", "json", "--out"])
        .arg(dir.path())
        .arg("--report")
        .arg(&pdf_path)
        .assert()
        .success();
    let bytes = std::fs::read(&pdf_path).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let Some(mut info) = poppler("pdfinfo") else {
        return;
    };
    let info = info.arg(&pdf_path).output().unwrap();
    assert!(info.status.success());
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!((2..=20).contains(&pages), "{pages} pages");
    let fonts = poppler("pdffonts")
        .unwrap()
        .arg(&pdf_path)
        .output()
        .unwrap();
    let fonts = String::from_utf8_lossy(&fonts.stdout).into_owned();
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    // Columns: name type encoding emb sub uni object ID; "emb" is the 4th from the end.
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[cols.len() - 5], "yes", "font not embedded: {row}");
    }
    let text = poppler("pdftotext")
        .unwrap()
        .arg(&pdf_path)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("Strain analysis report"));
    assert_has_every_number("the PDF report", &text, dir.path());
}
