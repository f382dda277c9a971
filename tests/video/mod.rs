//! Video input with real encodings (needs `--features video` and the `ffmpeg` program, which
//! `.ci/run` installs): films made here from synthetic frames with markers at known sub-pixel
//! positions — H.264 High MP4, HEVC MOV with a rotation matrix, MJPEG AVI, a variable-frame-rate
//! MKV — decoded with times to the microsecond and positions within 0.1 px; bad files exit 2;
//! and issue 11's Done-when: the demo photos as a film + a machine log give the photos' strains.

use crate::api_support::strain_seer;
use assert_cmd::Command;
use image::{Rgb, RgbImage};
use serde_json::Value;
use std::path::{Path, PathBuf};
use strain_seer::engine::detect::{MarkerOptions, detect_markers};
use strain_seer::video::{DecodeOptions, Video, VideoError};

/// The film upload of the web app (`POST /api/projects/{id}/video`).
mod api;

const W: u32 = 320;
const H: u32 = 240;
const FRAMES: usize = 8;

/// Run `cmd`, check it exited 0 (showing its stderr when not), and return its output.
fn succeeds(cmd: &mut Command) -> std::process::Output {
    let o = cmd.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn ffmpeg(args: &[&str]) {
    let out = std::process::Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error"])
        .args(args)
        .output()
        .expect("the ffmpeg program (apt-get install ffmpeg; .ci/run installs it)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The true marker centres in frame k (pixel centres at integer coordinates + 0.5).
fn truth(k: usize) -> Vec<(f64, f64)> {
    let dx = 0.37 * k as f64;
    let dy = -0.23 * k as f64;
    [
        (80.3, 60.6),
        (240.1, 62.2),
        (238.7, 180.4),
        (81.9, 178.8),
        (160.45, 120.15),
    ]
    .iter()
    .map(|(x, y)| (x + dx, y + dy))
    .collect()
}

/// White frame with dark discs (radius 9 px), anti-aliased by 8×8 supersampling.
fn frame(k: usize) -> RgbImage {
    discs(&truth(k))
}

/// White frame with dark discs (radius 9 px) at these centres.
fn discs(centres: &[(f64, f64)]) -> RgbImage {
    RgbImage::from_fn(W, H, |x, y| {
        let mut dark = 0u32;
        for sy in 0..8 {
            for sx in 0..8 {
                let px = f64::from(x) + (f64::from(sx) + 0.5) / 8.0;
                let py = f64::from(y) + (f64::from(sy) + 0.5) / 8.0;
                if centres
                    .iter()
                    .any(|(cx, cy)| (px - cx).hypot(py - cy) < 9.0)
                {
                    dark += 1;
                }
            }
        }
        let v = 235 - (dark * 200 / 64) as u8;
        Rgb([v, v, v])
    })
}

fn frames_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..FRAMES {
        frame(k)
            .save(dir.path().join(format!("f{k:03}.png")))
            .unwrap();
    }
    dir
}

fn encode(dir: &Path, name: &str, codec: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let input = dir.join("f%03d.png");
    let mut args = vec!["-framerate", "10", "-i", input.to_str().unwrap()];
    args.extend_from_slice(codec);
    args.push(out.to_str().unwrap());
    ffmpeg(&args);
    out
}

/// Decode every frame at its nominal time and check times and marker positions.
fn check(path: &Path, times: &[f64], rotation: u32) {
    let mut video = Video::open(path, DecodeOptions::default()).unwrap();
    assert_eq!(video.info().rotation_deg, rotation, "{}", path.display());
    for (k, &t) in times.iter().enumerate() {
        let f = video.frame_at(t + 0.001).unwrap();
        assert!(
            (f.time_s - t).abs() < 1e-6,
            "{}: frame {k} at {} s, want {t}",
            path.display(),
            f.time_s
        );
        let image = image::DynamicImage::ImageRgb8(f.image);
        let found = detect_markers(&image, &MarkerOptions::default()).unwrap();
        for (i, (tx, ty)) in truth(k).into_iter().enumerate() {
            // The detector puts pixel centres at integer coordinates.
            let (tx, ty) = (tx - 0.5, ty - 0.5);
            // As displayed: turned 90° counter-clockwise (270° clockwise), (x, y) → (y, W − 1 − x).
            let (tx, ty) = if rotation == 270 {
                (ty, f64::from(W) - 1.0 - tx)
            } else {
                (tx, ty)
            };
            let p = found.markers.iter().map(|m| m.point).min_by(|a, b| {
                (a.x - tx)
                    .hypot(a.y - ty)
                    .total_cmp(&(b.x - tx).hypot(b.y - ty))
            });
            let p = p.unwrap();
            let err = (p.x - tx).hypot(p.y - ty);
            assert!(
                err < 0.1,
                "{}: frame {k} marker {i} at ({:.3}, {:.3}), truth ({tx:.3}, {ty:.3}): {err:.3} px",
                path.display(),
                p.x,
                p.y
            );
        }
    }
}

#[test]
fn real_encodings_give_times_and_positions() {
    let dir = frames_dir();
    let d = dir.path();
    let nominal: Vec<f64> = (0..FRAMES).map(|k| k as f64 * 0.1).collect();
    let h264 = encode(
        d,
        "a.mp4",
        &[
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-crf",
            "4",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    check(&h264, &nominal, 0);
    let hevc = encode(
        d,
        "b.mov",
        &[
            "-c:v",
            "libx265",
            "-crf",
            "4",
            "-pix_fmt",
            "yuv420p",
            "-tag:v",
            "hvc1",
            "-x265-params",
            "log-level=error",
        ],
    );
    // The rotation matrix: the encoder drops `rotate`, a stream copy writes it.
    let rotated = d.join("b-rotated.mov");
    ffmpeg(&[
        "-i",
        hevc.to_str().unwrap(),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        rotated.to_str().unwrap(),
    ]);
    check(&rotated, &nominal, 270);
    let mjpeg = encode(d, "c.avi", &["-c:v", "mjpeg", "-q:v", "1"]);
    check(&mjpeg, &nominal, 0);
    // Variable frame rate: frame k at 0.1 k + 0.01 k² s.
    let vfr = encode(
        d,
        "d.mkv",
        &[
            "-vf",
            "settb=1/1000,setpts=(0.1*N+0.01*N*N)/TB",
            "-fps_mode",
            "passthrough",
            "-enc_time_base",
            "1:1000",
            "-c:v",
            "libx264",
            "-crf",
            "4",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let times: Vec<f64> = (0..FRAMES)
        .map(|k| 0.1 * k as f64 + 0.01 * (k * k) as f64)
        .collect();
    check(&vfr, &times, 0);
    // Out of order requests seek back; a time between frames gives the earlier frame.
    let mut video = Video::open(&vfr, DecodeOptions::default()).unwrap();
    assert!((video.frame_at(1.0).unwrap().time_s - 0.96).abs() < 1e-6);
    assert!((video.frame_at(0.2).unwrap().time_s - 0.11).abs() < 1e-6);
}

#[test]
fn frames_command_writes_pngs_and_csv_with_the_log() {
    let dir = frames_dir();
    let film = encode(
        dir.path(),
        "run.mp4",
        &["-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p"],
    );
    let log = dir.path().join("log.csv");
    // Log clock 1 s ahead of the video; decimal comma; µm and kN.
    std::fs::write(
        &log,
        "Time [s];Position [µm];Force [kN]\n1,0;0;0\n1,4;2000;0,5\n2,0;2000;0,5\n",
    )
    .unwrap();
    let out = dir.path().join("frames");
    succeeds(
        strain_seer()
            .args(["frames"])
            .arg(&film)
            .args(["--at", "0.2,0.5", "--log"])
            .arg(&log)
            .args(["--log-offset", "1", "--out"])
            .arg(&out),
    );
    let csv = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    assert_eq!(
        csv,
        "index,time_s,filename,deformation_mm,force_N\n\
         0,0.200000,run-t0.200s.png,1,250\n\
         1,0.500000,run-t0.500s.png,2,500\n"
    );
    assert!(out.join("run-t0.500s.png").is_file());
    // At the log's rows: 3 rows, 1 s ahead → video times 0, 0.4 (1.0 is past the film's end).
    succeeds(
        strain_seer()
            .args(["frames"])
            .arg(&film)
            .args(["--log"])
            .arg(&log)
            .args(["--log-offset", "1", "--out"])
            .arg(&out),
    );
    let csv = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    assert!(
        csv.contains("run-t0.000s.png,0,0\n") && csv.contains("run-t0.400s.png,2,500\n"),
        "{csv}"
    );
}

#[test]
fn log_offset_auto_from_the_first_motion() {
    // 3 s at 10 frames/s: still until 0.9 s, then the right-hand markers move 10 px/s (the
    // centre one half as fast): the first moved frame is at 1.0 s (1 px).
    let dir = tempfile::tempdir().unwrap();
    for k in 0..30 {
        let shift = (k as f64 / 10.0 - 0.9).max(0.0) * 10.0;
        let centres: Vec<(f64, f64)> = truth(0)
            .into_iter()
            .enumerate()
            .map(|(i, (x, y))| match i {
                1 | 2 => (x + shift, y),
                4 => (x + shift / 2.0, y),
                _ => (x, y),
            })
            .collect();
        discs(&centres)
            .save(dir.path().join(format!("f{k:03}.png")))
            .unwrap();
    }
    let film = encode(
        dir.path(),
        "pull.mp4",
        &["-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p"],
    );
    // The log's clock is 2.6 s ahead: displacement max(0, τ − 3.5) mm every 0.1 s, so its first
    // change is the row at 3.6 s (the motion starting at video 0.9 s shows in both at the next
    // sample: the frame at 1.0 s, the row at 3.6 s).
    let mut text = String::from("time_s,displacement_mm\n");
    for r in 0..=60 {
        let tau = f64::from(r) / 10.0;
        text.push_str(&format!("{tau:.1},{:.3}\n", (tau - 3.5).max(0.0)));
    }
    let log = dir.path().join("log.csv");
    std::fs::write(&log, text).unwrap();
    let out = dir.path().join("frames");
    let o = strain_seer()
        .args(["frames"])
        .arg(&film)
        .args(["--at", "1.5,2.0", "--log"])
        .arg(&log)
        .args(["--log-offset", "auto", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("first move at 1.000 s") && stderr.contains("offset 2.600 s"),
        "{stderr}"
    );
    // Deformation read at video time + 2.6 s: 4.1 s → 0.6 mm, 4.6 s → 1.1 mm.
    let csv = std::fs::read_to_string(out.join("frames.csv")).unwrap();
    let got: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
    assert_eq!(got.len(), 2, "{csv}");
    assert!(
        (got[0] - 0.6).abs() < 1e-6 && (got[1] - 1.1).abs() < 1e-6,
        "{csv}"
    );

    // `auto` needs a log; a film whose markers never move cannot give one.
    let o = strain_seer()
        .args(["frames"])
        .arg(&film)
        .args(["--at", "1", "--log-offset", "auto", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--log-offset auto needs --log"));
    let still = tempfile::tempdir().unwrap();
    for k in 0..FRAMES {
        frame(0)
            .save(still.path().join(format!("f{k:03}.png")))
            .unwrap();
    }
    let still_film = encode(
        still.path(),
        "still.mp4",
        &["-c:v", "libx264", "-crf", "10", "-pix_fmt", "yuv420p"],
    );
    let o = strain_seer()
        .args(["frames"])
        .arg(&still_film)
        .args(["--at", "0.1", "--log"])
        .arg(&log)
        .args(["--log-offset", "auto", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("markers never move"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `strain-seer bench video` runs end to end on a tiny film and prints its table (no timing is
/// asserted).
#[test]
fn bench_video_prints_its_table() {
    let o = strain_seer()
        .args([
            "bench",
            "video",
            "--duration",
            "1",
            "--size",
            "320x240",
            "--fps",
            "10",
            "--frames",
            "3",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for line in [
        "Decode every frame, 1 thread",
        "strain-seer (FFmpeg libraries, in process)",
        "ffmpeg -threads 1 -i FILM -f null -",
        "3 frames at chosen times",
        "ffmpeg -ss T -i FILM -frames:v 1 T.png, once per time",
        "strain-seer detect FILM --at",
        "ffmpeg -ss extraction + detect PNGs",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    assert!(stdout.contains("(10 frames)"), "{stdout}");
}

#[test]
fn bad_files_exit_2_naming_them() {
    let dir = frames_dir();
    let film = encode(
        dir.path(),
        "good.mp4",
        &["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    );
    let bytes = std::fs::read(&film).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let corrupt = dir.path().join("corrupt.avi");
    std::fs::write(
        &corrupt,
        (0..50_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let text = dir.path().join("notes.mkv");
    std::fs::write(&text, "not a video\n").unwrap();
    let bad_log = dir.path().join("bad.csv");
    std::fs::write(&bad_log, "t;d\n0;0\n1;oops\n").unwrap();
    for (file, log, want) in [
        (&truncated, None, "truncated.mp4"),
        (&corrupt, None, "corrupt.avi"),
        (&text, None, "notes.mkv"),
        (&film, Some(&bad_log), "bad.csv: line 3"),
    ] {
        let mut cmd = strain_seer();
        cmd.args(["frames"])
            .arg(file)
            .args(["--every", "0.5", "--out"])
            .arg(dir.path().join("o"));
        if let Some(log) = log {
            cmd.arg("--log").arg(log);
        }
        let o = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", file.display());
        assert!(err.contains(want), "{err}");
    }
    let o = strain_seer()
        .args(["frames"])
        .arg(&film)
        .args(["--at", "99", "--out"])
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("past the end"));
    // A frame-size limit below the film's frames: refused before decoding.
    let small = DecodeOptions {
        max_pixels: 1000,
        ..DecodeOptions::default()
    };
    assert!(matches!(
        Video::open(&film, small),
        Err(VideoError::TooLarge { .. })
    ));
}

/// `decode_film` cuts many wanted times into one run per core, each decoded by a decoder of its
/// own: the frames, their order and their pixels are those one decoder gives, whichever the
/// encoding (inter-coded H.264 with B-frames, intra-only MJPEG), and the progress counts every
/// frame once.
#[test]
fn one_decoder_per_core_gives_the_frames_of_one() {
    use strain_seer::app::frames::FrameSelection;
    use strain_seer::app::video::{FilmRequest, decode_film};
    let dir = frames_dir();
    for film in [
        encode(
            dir.path(),
            "many.mp4",
            &[
                "-c:v", "libx264", "-g", "3", "-bf", "2", "-pix_fmt", "yuv420p",
            ],
        ),
        encode(dir.path(), "many.avi", &["-c:v", "mjpeg"]),
    ] {
        let times: Vec<f64> = (0..FRAMES * 2).map(|k| k as f64 * 0.05 + 0.01).collect();
        let request = FilmRequest {
            selection: FrameSelection::At(times.clone()),
            log_offset_s: 0.0,
            max_decoded_bytes: 1 << 30,
            max_pixels: 1 << 30,
            max_duration_s: f64::INFINITY,
        };
        let mut progress = Vec::new();
        let name = film.file_name().unwrap().to_string_lossy().into_owned();
        let film_frames = decode_film(&film, &name, None, &request, |done, total, _| {
            progress.push((done, total));
        })
        .unwrap();
        let total = times.len();
        assert_eq!(
            progress,
            (1..=total).map(|d| (d, total)).collect::<Vec<_>>()
        );
        let mut one = Video::open(&film, DecodeOptions::default()).unwrap();
        let mut expected = Vec::new();
        for &t in &times {
            let f = one.frame_at(t).unwrap();
            if expected
                .last()
                .is_none_or(|e: &strain_seer::video::Frame| e.time_s != f.time_s)
            {
                expected.push(f);
            }
        }
        assert_eq!(film_frames.frames.len(), expected.len(), "{name}");
        for (got, want) in film_frames.frames.iter().zip(&expected) {
            assert_eq!(got.frame.time_s, want.time_s, "{name}");
            assert!(
                got.frame.image == want.image,
                "{name}: pixels at {} s",
                want.time_s
            );
        }
    }
}

/// Films whose headers claim sizes they don't have: `(lying_avi, y4m_100k, y4m_12k)`.
/// - An MJPEG AVI of 320×240 frames whose `avih` and `strf` headers say 100 000 × 100 000 (about
///   28 GiB as RGB): FFmpeg takes the size from the frames themselves, so it decodes as 320×240.
/// - A Y4M stream whose first line says 100 000 × 100 000: beyond what FFmpeg accepts at all
///   (`av_image_check_size`), refused when the file is opened.
/// - A Y4M stream that says 12 000 × 12 000 (144 Mpx): FFmpeg would take it, the `--max-pixels`
///   limit (100 Mpx by default) refuses it before any frame is decoded.
pub fn lying_headers(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let frames = frames_dir();
    let small = encode(frames.path(), "small.avi", &["-c:v", "mjpeg", "-q:v", "5"]);
    let mut bytes = std::fs::read(&small).unwrap();
    let huge = 100_000u32.to_le_bytes();
    let find = |bytes: &[u8], tag: &[u8]| bytes.windows(4).position(|w| w == tag).unwrap();
    // avih: tag, size, then 8 dwords before dwWidth, dwHeight.
    let avih = find(&bytes, b"avih") + 8 + 8 * 4;
    // strf (BITMAPINFOHEADER): tag, size, biSize, then biWidth, biHeight.
    let strf = find(&bytes, b"strf") + 8 + 4;
    assert_eq!(bytes[avih..avih + 4], 320u32.to_le_bytes());
    assert_eq!(bytes[strf..strf + 4], 320u32.to_le_bytes());
    for at in [avih, avih + 4, strf, strf + 4] {
        bytes[at..at + 4].copy_from_slice(&huge);
    }
    let avi = dir.join("lying.avi");
    std::fs::write(&avi, bytes).unwrap();
    let y4m = |name: &str, side: u32| {
        let path = dir.join(name);
        let mut raw =
            format!("YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\nFRAME\n").into_bytes();
        raw.extend(std::iter::repeat_n(128u8, 64 * 1024));
        std::fs::write(&path, raw).unwrap();
        path
    };
    (avi, y4m("huge.y4m", 100_000), y4m("big.y4m", 12_000))
}

/// Issue 11 item 7: a header claiming 100 000 × 100 000 px exits 2 naming the file, one over
/// `--max-pixels` exits 2 naming the limit, before anything is decoded (no 28 GiB allocation, no
/// crash); a container header that lies about a smaller stream is decoded at the frames' size.
#[test]
fn a_header_claiming_100000_by_100000_pixels_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (avi, huge, big) = lying_headers(dir.path());
    for (film, want) in [(&huge, "huge.y4m"), (&big, "more than the limit")] {
        for command in ["frames", "detect"] {
            let o = strain_seer()
                .arg(command)
                .arg(film)
                .args(["--count", "2", "--out"])
                .arg(dir.path().join(format!("{command}-out")))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{command} {want}: {err}");
            assert!(err.contains(want), "{command}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    assert!(matches!(
        Video::open(&huge, DecodeOptions::default()),
        Err(VideoError::Unreadable { .. })
    ));
    assert!(matches!(
        Video::open(&big, DecodeOptions::default()),
        Err(VideoError::TooLarge { .. })
    ));
    let video = Video::open(&avi, DecodeOptions::default()).unwrap();
    assert_eq!((video.info().width, video.info().height), (320, 240));
}

fn analyze(file: &Path, method: &str) -> Value {
    let o = succeeds(
        strain_seer()
            .args(["analyze", "--format", "json", "--scale-method", method])
            .arg(file),
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The demo photos 0, 10, 20, 30 mm, each held a second (10 frames/s, padded to 1476×1144,
/// centred), H.264 High, and a log stepping 10 mm a second (`;`, decimal comma, kN: force
/// 0, 500, 1000, 1500 N): `(film, log)` in `dir`.
pub fn demo_film(dir: &Path) -> (PathBuf, PathBuf) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let mut args: Vec<String> = Vec::new();
    let mut filter = String::new();
    for (i, mm) in ["00", "10", "20", "30"].iter().enumerate() {
        let photo = demo.join(format!("deformation-{mm}mm-force.png"));
        args.extend(["-loop", "1", "-framerate", "10", "-t", "1", "-i"].map(String::from));
        args.push(photo.to_str().unwrap().to_owned());
        filter.push_str(&format!(
            "[{i}]pad=1476:1144:(ow-iw)/2:(oh-ih)/2:gray,setsar=1[v{i}];"
        ));
    }
    filter.push_str("[v0][v1][v2][v3]concat=n=4:v=1,format=yuv420p[v]");
    let film = dir.join("demo.mp4");
    args.extend(
        [
            "-filter_complex",
            &filter,
            "-map",
            "[v]",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-crf",
            "12",
        ]
        .map(String::from),
    );
    args.push(film.to_str().unwrap().to_owned());
    ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let mut log = String::from("Zeit [s];Weg [mm];Kraft [kN]\n");
    for i in 0..=40 {
        let d = 10 * (i / 10).min(3);
        log.push_str(&format!(
            "{},{};{d},0;{},{:03}\n",
            i / 10,
            i % 10,
            d / 20,
            (d % 20) * 50
        ));
    }
    let log_path = dir.join("log.csv");
    std::fs::write(&log_path, log).unwrap();
    (film, log_path)
}

/// Issue 11's Done-when: the demo photos, each held a second (padded to one size, centred),
/// H.264, with a log stepping 10 mm a second (`;`, decimal comma, kN) give through
/// `detect VIDEO --at … --log` and `analyze` the photos' strains within 0.005 and their distances.
/// (The `rectified` scale is compared on the photos' own sizes only: it depends on the frame
/// size, which padding changes.)
#[test]
fn demo_film_and_log_give_the_photos_strains() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/demo");
    let (film, log_path) = demo_film(dir.path());
    let from_film = dir.path().join("film.json");
    succeeds(
        strain_seer()
            .arg("detect")
            .arg(&film)
            .args(["--at", "0.5,1.5,2.5,3.5", "--log"])
            .arg(&log_path)
            .arg("--out")
            .arg(&from_film),
    );
    let from_photos = dir.path().join("photos.json");
    succeeds(
        strain_seer()
            .arg("detect")
            .args(
                [
                    "deformation-00mm-force.png",
                    "deformation-10mm-force.png",
                    "deformation-20mm-force.png",
                    "deformation-30mm-force.png",
                ]
                .map(|n| demo.join(n)),
            )
            .arg("--out")
            .arg(&from_photos),
    );
    for method in ["span", "ruler"] {
        let (v, p) = (analyze(&from_film, method), analyze(&from_photos, method));
        let (rv, rp) = (v["rows"].as_array().unwrap(), p["rows"].as_array().unwrap());
        assert_eq!(rv.len(), 4);
        for (k, (a, b)) in rv.iter().zip(rp).enumerate() {
            assert_eq!(a["name"], format!("demo-t{}.500s.png", k));
            assert_eq!(a["deformation"].as_f64(), Some(10.0 * k as f64));
            for c in ["xx", "yy", "xy"] {
                let (x, y) = (
                    a["measures"]["small"][c].as_f64().unwrap(),
                    b["measures"]["small"][c].as_f64().unwrap(),
                );
                assert!(
                    (x - y).abs() < 0.005,
                    "{method} frame {k} ε{c}: film {x:.5}, photo {y:.5}"
                );
            }
        }
    }
    // `analyze --area`: the log's force over 20 mm² is the stress, fitted against the strain.
    let o = succeeds(
        strain_seer()
            .args(["analyze", "--format", "json", "--area", "20"])
            .arg(&from_film),
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let frames: Vec<Vec<Option<f64>>> = serde_json::from_value(v["frames"].clone()).unwrap();
    for (k, f) in frames.iter().enumerate() {
        let k = k as f64;
        assert_eq!(f, &[Some(k + 0.5), Some(500.0 * k), Some(25.0 * k)]);
    }
    assert_eq!(v["area_mm2"].as_f64(), Some(20.0));
    assert_eq!(v["stress_strain"]["fit"]["n"], 4, "{}", v["stress_strain"]);
    let o = succeeds(
        strain_seer()
            .args(["analyze", "--area", "20"])
            .arg(&from_film),
    );
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("Film frames and the test machine's log (cross-section area 20 mm²)"),
        "{table}"
    );
    assert!(table.contains("Stress–strain fit"), "{table}");
    // The report carries the same table and fit.
    let report = dir.path().join("film-report.html");
    let out = dir.path().join("film-out");
    succeeds(
        strain_seer()
            .args(["analyze", "--area", "20", "--report"])
            .arg(&report)
            .arg("--out")
            .arg(&out)
            .arg(&from_film),
    );
    for plot in ["plot-stress_strain.svg", "plot-stress_strain.png"] {
        assert!(out.join(plot).is_file(), "{plot} not written");
    }
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("Film frames and the test machine&#39;s log")
            || html.contains("Film frames and the test machine's log"),
        "report has no frames table"
    );
    assert!(
        html.contains("cross-section area A = 20 mm²"),
        "report: no area"
    );
    assert!(
        html.contains("Stress–strain fit: σ = E·ε"),
        "report: no fit"
    );
    assert!(
        html.contains("stress_MPa"),
        "report appendix: no stress column"
    );
    assert!(
        html.contains("Engineering stress against the loading-axis strain"),
        "report: no plot"
    );
    let o = strain_seer()
        .args(["analyze", "--area", "-1"])
        .arg(&from_film)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--area"));
}
