//! A strain-seer built without the `video` feature answers a film upload with 415 and how to get
//! video support, before reading the film (the feature's own tests are in tests/video/, built
//! with `--features video`).

use crate::api_support::{TestServer, expect_error};
use reqwest::blocking::multipart::{Form, Part};

#[test]
fn a_film_without_video_support_is_415_saying_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("No video");
    let form = Form::new()
        .text("at", "0.5")
        .part("video", Part::bytes(vec![0u8; 4096]).file_name("test.mp4"));
    let body = expect_error(
        server.post_form(&format!("/api/projects/{project}/video"), form),
        415,
        "test.mp4: this is a video, and this strain-seer was built without video support",
    );
    assert!(
        body["error"].as_str().unwrap().contains("--features video"),
        "{body}"
    );
    assert_eq!(body["video_support"], false);
}
