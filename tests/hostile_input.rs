//! Hostile input over real HTTP (a server on 127.0.0.1:0 with a temporary data directory): broken
//! and lying image files, decompression bombs, nasty filenames, non-finite and huge numbers,
//! deeply nested JSON, huge strings, malformed multipart, unknown ids and concurrent edits.
//! Every case asserts the status and the message, and that `/health` still answers afterwards.

#![allow(clippy::unwrap_used)]

use crate::api_support::*;
use reqwest::blocking::multipart::{Form, Part};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::path::Path;
use strain_seer::web::Limits;

/// `/health` answers 200 `{"status":"ok"}`.
fn assert_healthy(server: &TestServer) {
    let (status, body) = status_json(server.get("/health"));
    assert_eq!((status, body), (200, json!({ "status": "ok" })));
}

fn upload_url(project: i64) -> String {
    format!("/api/projects/{project}/images")
}

fn one_file(name: &str, bytes: Vec<u8>) -> Form {
    form(&[(name, bytes)])
}

fn image_count(server: &TestServer, project: i64) -> u64 {
    let (_, body) = status_json(server.get(&format!("/api/projects/{project}")));
    body["image_count"].as_u64().unwrap()
}

// ----- image files that are not what they claim -------------------------------------------

const FORMATS: [(image::ImageFormat, &str); 5] = [
    (image::ImageFormat::Png, "png"),
    (image::ImageFormat::Jpeg, "jpg"),
    (image::ImageFormat::Gif, "gif"),
    (image::ImageFormat::Bmp, "bmp"),
    (image::ImageFormat::Tiff, "tiff"),
];

/// The first bytes that identify each format, followed by garbage: recognised, then unreadable.
fn corrupt(ext: &str) -> Vec<u8> {
    let magic: &[u8] = match ext {
        "png" => b"\x89PNG\r\n\x1a\n",
        "jpg" => b"\xff\xd8\xff\xe0",
        "gif" => b"GIF89a\x0a\x00\x0a\x00\x00\x00\x00",
        "bmp" => b"BM",
        _ => b"II*\0",
    };
    let mut bytes = magic.to_vec();
    bytes.extend((0..2000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    bytes
}

#[test]
fn truncated_and_corrupt_images_are_400_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Broken files");
    for (format, ext) in FORMATS {
        let full = encode(64, 48, format);
        // Cut inside the header: the format is recognised but its header cannot be read.
        let name = format!("header-cut.{ext}");
        let cut = full[..full.len().min(20)].to_vec();
        expect_error(
            server.post_form(&upload_url(project), one_file(&name, cut)),
            400,
            &format!("{name}: the image cannot be read ("),
        );
        // Cut inside the pixel data.
        let name = format!("half.{ext}");
        let half = full[..full.len() / 2].to_vec();
        expect_error(
            server.post_form(&upload_url(project), one_file(&name, half)),
            400,
            &format!("{name}: the image cannot be read ("),
        );
        // Garbage after the magic bytes.
        let name = format!("garbage.{ext}");
        expect_error(
            server.post_form(&upload_url(project), one_file(&name, corrupt(ext))),
            400,
            &format!("{name}: the image cannot be read ("),
        );
        assert_healthy(&server);
    }
    // Nothing was added, and no stray files are left behind.
    assert_eq!(image_count(&server, project), 0);
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
}

#[test]
fn extensions_that_lie_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Liars");
    // A PNG called .jpg and a JPEG called .tiff: recognised by content and served as what they are.
    let records = server.upload(
        project,
        &[
            ("photo.jpg", png(30, 20)),
            ("scan.tiff", encode(30, 20, image::ImageFormat::Jpeg)),
        ],
    );
    assert_eq!(records[0]["content_type"], "image/png");
    assert_eq!(records[1]["content_type"], "image/jpeg");
    for (record, content_type) in records.iter().zip(["image/png", "image/jpeg"]) {
        let response = server.get(&format!("{}/{}/file", upload_url(project), record["id"]));
        assert_eq!(response.status(), 200);
        let headers = response.headers();
        assert_eq!(headers["content-type"], content_type);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cross-origin-resource-policy"], "same-origin");
    }
    // HTML, a script and an SVG (which can carry script) called .png are not images.
    for (name, bytes) in [
        (
            "page.png",
            b"<!doctype html><script>alert(1)</script>".to_vec(),
        ),
        ("code.jpg", b"alert(document.cookie)".to_vec()),
        (
            "vector.png",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
        ),
        ("zeros.bmp", vec![0u8; 4096]),
    ] {
        expect_error(
            server.post_form(&upload_url(project), one_file(name, bytes)),
            415,
            &format!(
                "{name}: not a supported image (accepted: PNG, JPEG, GIF, BMP, TIFF; detected by content)"
            ),
        );
    }
    expect_error(
        server.post_form(&upload_url(project), one_file("nothing.png", Vec::new())),
        400,
        "nothing.png: the file is empty",
    );
    assert_eq!(image_count(&server, project), 2);
    assert_healthy(&server);
}

// ----- decompression bombs -------------------------------------------------------------------

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A valid PNG of a few dozen bytes whose header claims `width × height` 8-bit RGB pixels: IHDR
/// with a correct CRC, one IDAT holding a 1-byte zlib stream, IEND.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bit, RGB, deflate, adaptive filter, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    // zlib header, one stored block with the single byte 0, Adler-32 of that byte.
    png_chunk(
        &mut out,
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x01, 0x00, 0xfe, 0xff, 0x00, 0x00, 0x01, 0x00, 0x01,
        ],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A GIF whose screen and only frame claim 65 535 × 65 535 pixels.
fn gif_bomb() -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00]);
    out.extend_from_slice(&[0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00]);
    out.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00, 0x3b]);
    out
}

/// A BMP header (54 bytes) claiming `width × height` 24-bit pixels, with no pixels.
fn bmp_bomb(width: i32, height: i32) -> Vec<u8> {
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&54u32.to_le_bytes()); // file size
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&54u32.to_le_bytes()); // pixel data offset
    out.extend_from_slice(&40u32.to_le_bytes()); // BITMAPINFOHEADER
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0u8; 24]);
    out
}

/// A little-endian TIFF whose only IFD claims `width × height` 8-bit grey pixels in one strip.
fn tiff_bomb(width: u32, height: u32) -> Vec<u8> {
    let entries: [(u16, u16, u32); 9] = [
        (256, 4, width),  // ImageWidth, LONG
        (257, 4, height), // ImageLength
        (258, 3, 8),      // BitsPerSample, SHORT
        (259, 3, 1),      // Compression: none
        (262, 3, 1),      // Photometric: black is zero
        (273, 4, 8),      // StripOffsets
        (277, 3, 1),      // SamplesPerPixel
        (278, 4, height), // RowsPerStrip
        (279, 4, 1),      // StripByteCounts
    ];
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        if kind == 3 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

/// A little-endian TIFF claiming `width × height` pixels of 32-bit float RGB (12 bytes per pixel).
fn tiff_float_rgb(width: u32, height: u32) -> Vec<u8> {
    // (tag, type: 3 SHORT / 4 LONG, count, value or offset)
    let arrays_at = 8 + 2 + 10 * 12 + 4;
    let entries: [(u16, u16, u32, u32); 10] = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, arrays_at), // BitsPerSample 32, 32, 32
        (259, 3, 1, 1),
        (262, 3, 1, 2), // RGB
        (273, 4, 1, 8),
        (277, 3, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, 1),
        (339, 3, 3, arrays_at + 6), // SampleFormat: IEEE float
    ];
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if kind == 3 && count == 1 {
            out.extend_from_slice(&(value as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(out.len() as u32, arrays_at);
    for v in [32u16, 32, 32, 3, 3, 3] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A baseline JPEG header claiming `width × height` grey pixels, with tables and no scan data.
fn jpeg_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0xff, 0xd8];
    // DQT: one 8-bit table of ones.
    out.extend_from_slice(&[0xff, 0xdb, 0x00, 0x43, 0x00]);
    out.extend_from_slice(&[1u8; 64]);
    // SOF0: 8 bit, height, width, 1 component (id 1, 1×1 sampling, table 0).
    out.extend_from_slice(&[0xff, 0xc0, 0x00, 0x0b, 0x08]);
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
    // DHT: DC table 0 and AC table 0, each with one 1-bit code.
    for class in [0x00u8, 0x10] {
        out.extend_from_slice(&[0xff, 0xc4, 0x00, 0x14, class]);
        let mut counts = [0u8; 16];
        counts[0] = 1;
        out.extend_from_slice(&counts);
        out.push(0x00);
    }
    // SOS: 1 component, tables 0/0, full spectral range; then a little scan data and EOI.
    out.extend_from_slice(&[0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]);
    out.extend_from_slice(&[0x00; 16]);
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

/// Peak resident memory of this process (Linux), bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kib| kib * 1024)
}

#[test]
fn decompression_bombs_are_refused_from_the_header_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Bombs");
    let before = peak_rss();
    let bomb = png_bomb(100_000, 100_000);
    assert!(bomb.len() < 1024, "the PNG bomb is {} bytes", bomb.len());
    let started = std::time::Instant::now();
    expect_error(
        server.post_form(&upload_url(project), one_file("bomb.png", bomb)),
        413,
        "bomb.png: 100000×100000 px is more than the limit of 100000000 pixels",
    );
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "bomb.gif",
            gif_bomb(),
            "bomb.gif: 65535×65535 px is more than the limit of 100000000 pixels",
        ),
        (
            "bomb.bmp",
            bmp_bomb(60_000, 60_000),
            "bomb.bmp: 60000×60000 px is more than the limit",
        ),
        (
            "bomb.tiff",
            tiff_bomb(100_000, 100_000),
            "bomb.tiff: 100000×100000 px is more than the limit",
        ),
        (
            "bomb.jpg",
            jpeg_bomb(65_000, 65_000),
            "bomb.jpg: 65000×65000 px is more than the limit",
        ),
    ];
    // Wider than the BMP decoder's own sanity limit: refused by the decoder, still from the header.
    expect_error(
        server.post_form(
            &upload_url(project),
            one_file("wide.bmp", bmp_bomb(100_000, 100_000)),
        ),
        400,
        "wide.bmp: the image cannot be read (Format error decoding Bmp: Image too large",
    );
    for (name, bytes, message) in cases {
        expect_error(
            server.post_form(&upload_url(project), one_file(name, bytes)),
            413,
            message,
        );
    }
    // Refused from the header: quickly, and without the gigabytes the pixels would need.
    let elapsed = started.elapsed();
    assert!(elapsed.as_secs() < 10, "the bombs took {elapsed:?}");
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grown = after.saturating_sub(before);
        assert!(
            grown < 256 * 1024 * 1024,
            "peak memory grew by {} MiB",
            grown / (1024 * 1024)
        );
    }
    assert_eq!(image_count(&server, project), 0);
    assert_healthy(&server);
}

#[test]
fn a_lower_pixel_limit_refuses_real_images_and_a_zero_filled_bomb() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_pixels: 250_000,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits);
    let project = server.create_project("Small limit");
    // 2000 × 2000 black pixels compress to a few kB.
    let black = image::GrayImage::new(2000, 2000);
    let mut bytes = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(black)
        .write_to(&mut bytes, image::ImageFormat::Png)
        .unwrap();
    let bytes = bytes.into_inner();
    assert!(bytes.len() < 64 * 1024, "{} bytes", bytes.len());
    expect_error(
        server.post_form(&upload_url(project), one_file("black.png", bytes)),
        413,
        "black.png: 2000×2000 px is more than the limit of 250000 pixels",
    );
    // At the limit is fine.
    let records = server.upload(project, &[("edge.png", png(500, 500))]);
    assert_eq!(records[0]["width"], 500);
    assert_healthy(&server);
}

#[test]
fn images_whose_samples_need_too_much_memory_are_refused_from_the_header() {
    // 10 MP allowed: the decoders may allocate 8 bytes per allowed pixel, 80 MB. A 3000 × 2500
    // float RGB TIFF is under the pixel limit but needs 90 MB once decoded.
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_pixels: 10_000_000,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits);
    let project = server.create_project("Float");
    let header = tiff_float_rgb(3000, 2500);
    assert!(header.len() < 200);
    expect_error(
        server.post_form(&upload_url(project), one_file("float.tiff", header)),
        413,
        "float.tiff: decoding needs 86 MiB of memory, more than the limit of 76 MiB",
    );
    // The same header at 2000 × 2000 (46 MB) passes the checks and fails on its missing pixels.
    expect_error(
        server.post_form(
            &upload_url(project),
            one_file("small-float.tiff", tiff_float_rgb(2000, 2000)),
        ),
        400,
        "small-float.tiff: the image cannot be read",
    );
    assert_eq!(image_count(&server, project), 0);
    assert_healthy(&server);
}

// ----- size limits ----------------------------------------------------------------------------

/// Send raw bytes over TCP and return the status and body of the answer.
fn raw_request(server: &TestServer, request: &[u8]) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    )
}

/// A PNG of random RGB pixels (it does not compress: about 3 bytes per pixel).
fn noise_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut state = 0x9e37_79b9u32 ^ seed.wrapping_mul(0x85eb_ca6b);
    let img = image::RgbImage::from_fn(width, height, |_, _| {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        };
        image::Rgb([next(), next(), next()])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn size_limits_name_the_file_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_file_bytes: 200_000,
        max_upload_bytes: 1024 * 1024,
        max_images_per_project: 2,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits);
    let project = server.create_project("Sizes");
    let url = upload_url(project);
    // One file over the per-file limit: named, with the limit.
    expect_error(
        server.post_form(&url, one_file("large.png", vec![7u8; 200_001])),
        413,
        "large.png: the file is larger than the limit of 200000 bytes",
    );
    // A whole request over the request limit, declared by Content-Length: refused before its
    // body is read.
    let head = format!(
        "POST {url} HTTP/1.1\r\nHost: {}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        5 * 1024 * 1024 * 1024u64
    );
    let (status, body) = raw_request(&server, head.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        body["error"],
        "the request body (5120.0 MiB) is larger than the limit of 1.0 MiB for an upload or import \
         request (--max-request-mb); send the files in several smaller uploads"
    );
    // The same for a JSON body over the JSON limit (2 MiB), far over it (no lingering: answered at once).
    let head = format!(
        "PATCH /api/projects/{project} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n",
        server.addr
    );
    let (status, body) = raw_request(&server, head.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with(
            "the request body (95.4 MiB) is larger than the limit of 2.0 MiB for a JSON request"
        ),
        "{body}"
    );
    // A chunked upload (no Content-Length) over the request limit is cut while it is read.
    let files: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| (format!("part{i}.png"), noise_png(250, 250, i)))
        .collect();
    assert!(
        files
            .iter()
            .all(|(_, b)| b.len() > 150_000 && b.len() < 200_000)
    );
    let mut chunked = Form::new();
    for (name, bytes) in &files {
        let reader = std::io::Cursor::new(bytes.clone());
        chunked = chunked.part("file", Part::reader(reader).file_name(name.clone()));
    }
    let response = server.post_form(&url, chunked);
    expect_error(response, 413, "");
    // Image count per project.
    let three: Vec<(&str, Vec<u8>)> = vec![
        ("a.png", png(8, 8)),
        ("b.png", png(8, 9)),
        ("c.png", png(8, 10)),
    ];
    expect_error(
        server.post_form(&url, form(&three)),
        413,
        &format!("project {project} would have 3 images, more than the limit of 2"),
    );
    assert_eq!(image_count(&server, project), 0);
    assert_healthy(&server);
}

// ----- filenames --------------------------------------------------------------------------------

/// A multipart body with one file part whose raw filename bytes are given as-is.
fn raw_multipart(filename: &[u8], content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "XhostileX";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
            .into_bytes();
    body.extend_from_slice(filename);
    body.extend_from_slice(b"\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post_raw_multipart(
    server: &TestServer,
    url: &str,
    filename: &[u8],
    content: &[u8],
) -> reqwest::blocking::Response {
    let (content_type, body) = raw_multipart(filename, content);
    server
        .client
        .post(server.url(url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap()
}

/// Every file under `dir`, relative.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn hostile_filenames_are_display_text_only() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let server = TestServer::start(&data);
    let project = server.create_project("Names");
    let url = upload_url(project);
    let long = format!("{}.png", "n".repeat(10_000));
    let cases: Vec<(Vec<u8>, String)> = vec![
        (b"../../escape.png".to_vec(), "escape.png".into()),
        (b"..\\..\\windows.png".to_vec(), "windows.png".into()),
        (b"/etc/passwd".to_vec(), "passwd".into()),
        (b"..".to_vec(), "image".into()),
        (b"tab\there.png".to_vec(), "tabhere.png".into()),
        (long.clone().into_bytes(), "n".repeat(255)),
        // A '/' makes everything before it a directory: only the last component is kept.
        (
            b"<script>alert(1)</script>.png".to_vec(),
            "script>.png".into(),
        ),
        (
            b"<script>alert(document.cookie)<script>.png".to_vec(),
            "<script>alert(document.cookie)<script>.png".into(),
        ),
        (
            "<img src=x onerror=alert(1)>é.png".as_bytes().to_vec(),
            "<img src=x onerror=alert(1)>é.png".into(),
        ),
    ];
    let mut ids = Vec::new();
    for (n, (raw, expected)) in cases.iter().enumerate() {
        // A different image each time so that each gets its own record.
        let response = post_raw_multipart(&server, &url, raw, &png(10, 10 + n as u32));
        let (status, body) = status_json(response);
        assert_eq!(status, 201, "{:?}: {body}", String::from_utf8_lossy(raw));
        assert_eq!(
            body[0]["filename"],
            expected.as_str(),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
        ids.push(body[0]["id"].as_i64().unwrap());
    }
    // A raw NUL cannot appear in a multipart header: the body is refused as malformed.
    expect_error(
        post_raw_multipart(&server, &url, b"nul\0byte.png", &png(12, 12)),
        400,
        "malformed multipart body: failed to read headers",
    );
    // With an RFC 5987 `filename*` next to `filename`, the plain `filename` is the one kept.
    let (content_type, body) =
        raw_multipart(b"x.png\"; filename*=UTF-8''nul%00byte%0A.png", &png(13, 13));
    let response = server
        .client
        .post(server.url(&url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap();
    let (status, body) = status_json(response);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[0]["filename"], "x.png");
    // Served back with a header-safe Content-Disposition.
    let response = server.get(&format!("{url}/{}/file", ids[7]));
    assert_eq!(response.status(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with(
            "inline; filename=\"<script>alert(document.cookie)<script>.png\"; filename*=UTF-8''%3Cscript%3Ealert%28"
        ),
        "{disposition}"
    );
    // A raw CR LF in the filename (header injection) breaks the part headers: refused.
    expect_error(
        post_raw_multipart(&server, &url, b"a.png\r\nX-Injected: 1\r\n", &png(11, 11)),
        400,
        "malformed multipart body",
    );
    // Browsers send quotes and line breaks percent-encoded; the name is kept as sent.
    let (status, body) = status_json(post_raw_multipart(
        &server,
        &url,
        b"a%22b%0D%0Ac.png",
        &png(11, 12),
    ));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[0]["filename"], "a%22b%0D%0Ac.png");
    // Nothing was written outside the data directory, and inside it only content-addressed files.
    assert_eq!(
        files_under(parent.path())
            .iter()
            .filter(|f| !f.starts_with("data"))
            .count(),
        0
    );
    for file in files_under(&data) {
        let content_addressed = file
            .strip_prefix("images/")
            .and_then(|f| f.strip_suffix(".png"))
            .is_some_and(|sha| sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(
            file.starts_with("strain-seer.db") || content_addressed,
            "unexpected file {file}"
        );
    }
    assert_healthy(&server);
}

#[test]
fn the_front_end_never_renders_user_text_as_html() {
    // Filenames, project names and server messages reach the page only as text nodes or
    // attribute values: no innerHTML-like sink in the shipped JavaScript.
    let js_dir = repo_path("web/js");
    let mut checked = 0;
    for entry in std::fs::read_dir(&js_dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            assert!(!text.contains(sink), "{} uses {sink}", path.display());
        }
        checked += 1;
    }
    assert!(
        checked >= 5,
        "only {checked} scripts found in {}",
        js_dir.display()
    );
    let index = std::fs::read_to_string(repo_path("web/index.html")).unwrap();
    for (at, _) in index.match_indices("<script") {
        let tag = &index[at..at + index[at..].find('>').unwrap()];
        assert!(tag.contains(" src="), "inline script in index.html: {tag}");
    }
    let lower = index.to_ascii_lowercase();
    for handler in [
        "onclick=",
        "onload=",
        "onerror=",
        "onchange=",
        "oninput=",
        "onsubmit=",
        "javascript:",
    ] {
        assert!(!lower.contains(handler), "index.html uses {handler}");
    }
}

// ----- JSON bodies ---------------------------------------------------------------------------------

fn setup_image(server: &TestServer) -> (i64, i64, String) {
    let project = server.create_project("JSON");
    let records = server.upload(project, &[("a.png", png(200, 200))]);
    let image = records[0]["id"].as_i64().unwrap();
    (
        project,
        image,
        format!("/api/projects/{project}/images/{image}"),
    )
}

#[test]
fn non_finite_and_huge_numbers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, _, path) = setup_image(&server);
    for word in ["NaN", "Infinity", "-Infinity", "inf", "1e309", "-1e400"] {
        expect_error(
            server.patch_raw(&path, &format!("{{\"fiducials\": [[{word}, 1]]}}")),
            400,
            "invalid JSON body",
        );
        expect_error(
            server.patch_raw(&path, &format!("{{\"deformation_distance\": {word}}}")),
            400,
            "invalid JSON body",
        );
        expect_error(
            server.patch_raw(
                &format!("/api/projects/{project}"),
                &format!("{{\"scale_length\": {word}}}"),
            ),
            400,
            "invalid JSON body",
        );
    }
    // Quoted words are strings, not numbers.
    expect_error(
        server.patch_raw(&path, "{\"deformation_distance\": \"NaN\"}"),
        400,
        "invalid type: string \"NaN\", expected f64",
    );
    // 1e308 is finite: as a coordinate it is outside the image, as a distance it is accepted.
    let body = expect_error(
        server.patch_raw(&path, "{\"fiducials\": [[1e308, 1]]}"),
        400,
        "fiducial point 0 (",
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .ends_with(", 1) is outside the image (200×200 px)"),
        "{body}"
    );
    expect_error(
        server.patch_raw(&path, "{\"scale\": [[-1e308, 5], [5, 5]]}"),
        400,
        "scale point 0",
    );
    let (status, body) = status_json(server.patch_raw(&path, "{\"deformation_distance\": 1e308}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["image"]["deformation_distance"], 1e308);
    expect_error(
        server.patch_raw(
            &format!("/api/projects/{project}"),
            "{\"scale_length\": -1e308}",
        ),
        400,
        "scale_length must be a finite number of mm greater than 0",
    );
    expect_error(
        server.patch_raw(
            &format!("/api/projects/{project}"),
            "{\"sigma_px\": -5e-324}",
        ),
        400,
        "sigma_px",
    );
    assert_healthy(&server);
}

#[test]
fn extreme_but_finite_values_never_break_the_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Extremes");
    let records = server.upload(
        project,
        &[
            ("a.png", png(200, 200)),
            ("b.png", png(200, 201)),
            ("c.png", png(200, 202)),
        ],
    );
    let ids: Vec<i64> = records.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    for (n, id) in ids.iter().enumerate() {
        let (f, s) = square_points(1.0 + 0.05 * n as f64);
        let body = json!({ "fiducials": f, "scale": s, "deformation_distance": (n as f64) });
        let (status, answer) =
            status_json(server.patch_json(&format!("/api/projects/{project}/images/{id}"), &body));
        assert_eq!(status, 200, "{answer}");
    }
    let url = format!("/api/projects/{project}");
    for (distances, scale_length) in [
        ([0.0, 1e308, -1e308], 10.0),
        ([0.0, 1.0, 2.0], 1e308),
        ([0.0, 5e-324, 1e-323], 5e-324),
    ] {
        for (id, d) in ids.iter().zip(distances) {
            let (status, _) = status_json(server.patch_json(
                &format!("{url}/images/{id}"),
                &json!({ "deformation_distance": d }),
            ));
            assert_eq!(status, 200);
        }
        let (status, _) =
            status_json(server.patch_json(&url, &json!({ "scale_length": scale_length })));
        assert_eq!(status, 200);
        for export in [
            "analysis",
            "export/strains.csv",
            "export/regression.json",
            "export/plot/eps_xx.svg",
        ] {
            let response = server.get(&format!("{url}/{export}"));
            let status = response.status().as_u16();
            let text = response.text().unwrap();
            assert!(
                status == 200 || status == 422,
                "{export} with distances {distances:?}, scale {scale_length}: {status} {text}"
            );
            if status == 422 {
                let body: Value = serde_json::from_str(&text).unwrap();
                assert!(
                    body["error"].as_str().is_some_and(|m| !m.is_empty()),
                    "{text}"
                );
            }
        }
    }
    assert_healthy(&server);
}

#[test]
fn deeply_nested_json_is_400_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, _, path) = setup_image(&server);
    for depth in [200usize, 5_000, 100_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        // Typed bodies stop at the first level that has the wrong shape.
        expect_error(
            server.patch_raw(&path, &format!("{{\"fiducials\": {nested}}}")),
            400,
            "invalid JSON body: Failed to deserialize the JSON body into the target type: fiducials[0][0]: invalid type: sequence, expected f64",
        );
        expect_error(
            server.patch_raw(&path, &nested),
            400,
            "invalid JSON body: Failed to deserialize the JSON body into the target type: [0][0][0]: invalid type: sequence, expected f64",
        );
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        expect_error(
            server.post_raw("/api/projects", &format!("{{\"name\": {objects}}}")),
            400,
            "invalid type: map, expected a string",
        );
        // An imported project file is read in one typed pass: the first level of the wrong shape
        // stops it (`files_data` must be a map of images), before any depth is reached and
        // without a stack overflow.
        for (text, message) in [
            (
                format!("{{\"files_data\": {nested}}}"),
                "project: invalid type: sequence, expected a map (at files_data)",
            ),
            (
                format!("{{\"files_data\": {objects}}}"),
                "project: image id 'a': missing required field \"filename\" (at files_data.a)",
            ),
        ] {
            let form = Form::new().part("project", Part::text(text).file_name("deep.json"));
            expect_error(server.post_form("/api/import", form), 400, message);
        }
    }
    let (status, _) = status_json(server.get(&format!("/api/projects/{project}")));
    assert_eq!(status, 200);
    assert_healthy(&server);
}

#[test]
fn ten_megabyte_strings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, _, _) = setup_image(&server);
    let huge = "x".repeat(10 * 1024 * 1024);
    // As a JSON body: over the 2 MiB JSON limit, refused from its Content-Length.
    let body = json!({ "name": huge });
    expect_error(
        server.post_json("/api/projects", &body),
        413,
        "is larger than the limit of 2.0 MiB for a JSON request",
    );
    expect_error(
        server.patch_json(&format!("/api/projects/{project}"), &body),
        413,
        "for a JSON request (--max-json-mb)",
    );
    // As the name of an imported project (multipart, under the 50 MiB file limit).
    let doc = json!({ "files_data": {}, "scale_length": 10.0, "name": huge });
    let form = Form::new()
        .part("project", Part::text(doc.to_string()).file_name("p.json"))
        .text("name", "short");
    let (status, body) = status_json(server.post_form("/api/import", form));
    assert!(status == 400 || status == 201, "{status} {body}");
    let form = Form::new()
        .part(
            "project",
            Part::text(json!({ "files_data": {}, "scale_length": 10.0 }).to_string())
                .file_name("p.json"),
        )
        .text("name", huge.clone());
    expect_error(
        server.post_form("/api/import", form),
        413,
        "name: the file is larger than the limit of 4096 bytes",
    );
    // As a filename.
    let response = post_raw_multipart(&server, &upload_url(project), huge.as_bytes(), &png(9, 9));
    let (status, body) = status_json(response);
    assert!(status == 201 || status == 400, "{status} {body}");
    if status == 201 {
        assert_eq!(body[0]["filename"].as_str().unwrap().len(), 255);
    }
    assert_healthy(&server);
}

// ----- multipart ---------------------------------------------------------------------------------

#[test]
fn malformed_multipart_is_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let project = server.create_project("Multipart");
    let url = upload_url(project);
    let send = |content_type: &str, body: &[u8]| {
        server
            .client
            .post(server.url(&url))
            .header("content-type", content_type)
            .body(body.to_vec())
            .send()
            .unwrap()
    };
    let part = b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n";
    // No boundary parameter.
    expect_error(
        send("multipart/form-data", part),
        400,
        "expected a multipart/form-data body",
    );
    // Not multipart at all.
    expect_error(
        send("application/json", b"{}"),
        400,
        "expected a multipart/form-data body",
    );
    // A body that never closes its part.
    let mut open = part.to_vec();
    open.extend_from_slice(&png(5, 5));
    expect_error(
        send("multipart/form-data; boundary=B", &open),
        400,
        "malformed multipart body",
    );
    // Garbage instead of part headers.
    expect_error(
        send(
            "multipart/form-data; boundary=B",
            b"--B\r\n\x00\x01\x02garbage\r\n\r\n--B--\r\n",
        ),
        400,
        "malformed multipart body",
    );
    // The wrong boundary: no parts at all.
    let mut other =
        b"--C\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
            .to_vec();
    other.extend_from_slice(b"abc\r\n--C--\r\n");
    let response = send("multipart/form-data; boundary=B", &other);
    let (status, body) = status_json(response);
    assert_eq!(status, 400, "{body}");
    // An empty body, and only the closing boundary.
    expect_error(send("multipart/form-data; boundary=B", b""), 400, "");
    expect_error(
        send("multipart/form-data; boundary=B", b"--B--\r\n"),
        400,
        "no image in the request",
    );
    // A part without a name.
    let nameless =
        b"--B\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n\r\nabc\r\n--B--\r\n";
    expect_error(
        send("multipart/form-data; boundary=B", nameless),
        400,
        "unexpected multipart field \"\"",
    );
    // The same on the import route.
    let response = server
        .client
        .post(server.url("/api/import"))
        .header("content-type", "multipart/form-data; boundary=B")
        .body(open)
        .send()
        .unwrap();
    expect_error(response, 400, "malformed multipart body");
    assert_eq!(image_count(&server, project), 0);
    assert_healthy(&server);
}

// ----- ids ------------------------------------------------------------------------------------------

#[test]
fn unknown_and_impossible_ids_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, image, _) = setup_image(&server);
    for id in [
        "0",
        "-1",
        "999999",
        "9223372036854775807",
        "9223372036854775808",
        "1e3",
        "%00",
        "..%2F..%2Fetc",
        "1;DROP TABLE projects",
    ] {
        let (status, body) = status_json(server.get(&format!("/api/projects/{id}")));
        assert_eq!(status, 404, "{id}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("project")
                || body["error"].as_str().unwrap().contains("not found"),
            "{id}: {body}"
        );
        let (status, body) =
            status_json(server.get(&format!("/api/projects/{project}/images/{id}/file")));
        assert_eq!(status, 404, "{id}: {body}");
        let (status, _) = status_json(server.patch_json(
            &format!("/api/projects/{id}/images/{image}"),
            &json!({ "deformation_distance": 1 }),
        ));
        assert_eq!(status, 404, "{id}");
    }
    expect_error(
        server.get("/api/projects/123456789"),
        404,
        "no project 123456789",
    );
    expect_error(
        server.get(&format!("/api/projects/{project}/images/987654321")),
        404,
        &format!("no image 987654321 in project {project}"),
    );
    // The project and its image are untouched.
    let (status, body) =
        status_json(server.get(&format!("/api/projects/{project}/images/{image}")));
    assert_eq!(status, 200);
    assert_eq!(body["deformation_distance"], Value::Null);
    assert_healthy(&server);
}

// ----- concurrent edits ---------------------------------------------------------------------------

/// The edit number `k` as a whole annotation: 5 fiducials, 2 scale points and a distance that
/// all encode `k`, so any mix of two edits would show.
fn edit(k: u32) -> Value {
    let o = f64::from(k % 50);
    json!({
        "fiducials": [[10.0 + o, 10.0], [150.0 + o, 10.0], [150.0 + o, 150.0], [10.0 + o, 150.0], [80.0 + o, 80.0]],
        "scale": [[5.0, 190.0 - o], [105.0, 190.0 - o]],
        "deformation_distance": f64::from(k),
    })
}

fn decode_edit(image: &Value) -> u32 {
    let k = image["deformation_distance"].as_f64().unwrap() as u32;
    let expected = edit(k);
    assert_eq!(
        image["fiducials"], expected["fiducials"],
        "fiducials of edit {k} mixed with another edit"
    );
    assert_eq!(
        image["scale"], expected["scale"],
        "scale of edit {k} mixed with another edit"
    );
    assert_eq!(image["status"], "Complete");
    k
}

#[test]
fn concurrent_edits_of_one_image_from_two_clients() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (project, image, path) = setup_image(&server);
    let url = server.url(&path);
    const ROUNDS: u32 = 60;

    // Free-running: two clients write as fast as they can.
    let results: Vec<Vec<u32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2u32)
            .map(|client| {
                let url = url.clone();
                scope.spawn(move || {
                    let http = reqwest::blocking::Client::new();
                    (0..ROUNDS)
                        .map(|i| {
                            let k = client * 1000 + i;
                            let response = http.patch(&url).json(&edit(k)).send().unwrap();
                            assert_eq!(response.status(), 200);
                            let body: Value = response.json().unwrap();
                            decode_edit(&body["image"])
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Each answer showed a whole edit, and the stored state is one whole edit, the last one of
    // one of the clients (the other client's last edit came before it).
    let (_, stored) = status_json(server.get(&path));
    let last = decode_edit(&stored);
    assert!(
        last == ROUNDS - 1 || last == 1000 + ROUNDS - 1,
        "stored edit {last}"
    );
    assert!(results.iter().all(|r| r.len() == ROUNDS as usize));

    // Interleaved: the two clients take turns, so the last write is known and must win.
    let clients = [
        reqwest::blocking::Client::new(),
        reqwest::blocking::Client::new(),
    ];
    for i in 0..ROUNDS {
        let client = &clients[(i % 2) as usize];
        let response = client.patch(&url).json(&edit(2000 + i)).send().unwrap();
        assert_eq!(response.status(), 200);
    }
    let (_, stored) = status_json(server.get(&path));
    assert_eq!(decode_edit(&stored), 2000 + ROUNDS - 1);
    let (_, body) = status_json(server.get(&format!("/api/projects/{project}")));
    assert_eq!(
        (
            body["image_count"].as_u64(),
            body["complete_count"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let _ = image;
    assert_healthy(&server);
}

#[test]
fn an_oversized_file_early_in_a_large_upload_gets_its_message_not_a_reset() {
    // The handler refuses the first file after 100 kB; the ~40 MB behind it are still on their
    // way. The server reads and discards them ("lingering close") so the client, still sending,
    // receives the 413 instead of a connection reset.
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_file_bytes: 100_000,
        max_upload_bytes: 64 * 1024 * 1024,
        ..Limits::default()
    };
    let server = TestServer::start_with(dir.path(), limits);
    let project = server.create_project("Early refusal");
    for round in 0..3 {
        let big = vec![round as u8; 40 * 1024 * 1024];
        expect_error(
            server.post_form(&upload_url(project), one_file("scan.tiff", big)),
            413,
            "scan.tiff: the file is larger than the limit of 100000 bytes",
        );
    }
    assert_healthy(&server);
}
