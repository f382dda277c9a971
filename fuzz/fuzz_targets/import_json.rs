//! Fuzz the JSON import: any bytes → `strain_seer_formats::parse_any` (the function behind
//! `POST /api/import` and `strain-seer analyze`; both the Python tool's annotation JSON and our
//! project JSON). A file that parses must survive the rest of the pipeline without a panic:
//! project JSON round trip (`to_project_json` then `parse_any` gives the same project, and
//! writing it again gives the same bytes), export
//! as Python annotations, engine analysis and the CSV/JSON result tables.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strain_seer_formats::{
    parse_any, regression_csv, regression_json, strain_table_csv, to_annotation_json,
    to_project_json,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = strain_seer_formats::detect_format(text);
    let Ok(project) = parse_any(text) else {
        return;
    };
    // Our own project JSON reads back as the same project (images compared in their sorted
    // order: the file lists them sorted by (order, id), the input may not have), and writing
    // is idempotent.
    let written = to_project_json(&project);
    let again = match parse_any(&written) {
        Ok(again) => again,
        Err(err) => panic!("our own project JSON does not parse back: {err}\n{written}"),
    };
    let (mut expected, mut got) = (project.clone(), again.clone());
    expected.sort_images();
    got.sort_images();
    assert_eq!(got, expected, "project JSON round trip changed the project");
    assert_eq!(
        to_project_json(&again),
        written,
        "writing project JSON is not idempotent"
    );
    let _ = parse_any(&to_annotation_json(&project));
    let Ok(inputs) = project.to_engine_inputs() else {
        return;
    };
    if let Ok(analysis) = strain_seer_engine::analyze(&inputs, &project.analysis_options()) {
        let _ = strain_table_csv(&analysis);
        let _ = regression_csv(&analysis);
        let _ = regression_json(&analysis);
    }
});
