//! `strain-seer bench video`: decoding films (issue 11, item 8), side by side in the same run with
//! the `ffmpeg` program doing the same work. Makes a test film with `ffmpeg` (or takes one), then
//! prints decode throughput over every frame (one thread and all threads), seek + decode time for
//! frames at chosen times against `ffmpeg -ss T -i FILM -frames:v 1 T.png` per time and one
//! `select` filter, and `detect FILM --at …` against the `ffmpeg` extraction to PNG followed by
//! `detect` on the PNGs; with the peak resident memory of each. Prints numbers; asserts nothing.

use crate::cli::BadInput;
use crate::cli::video::film_error;
use crate::video::{DecodeOptions, Video};
use anyhow::Context;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use strain_seer_engine::detect::synth::{self, SynthConfig};
use strain_seer_engine::detect::{MarkerOptions, detect_markers};

mod measure;

use measure::{Measure, WorkDir, child, fps, in_process, per_frame, row, secs};

const AFTER_HELP: &str = "\
Examples:
  strain-seer bench video
  strain-seer bench video --duration 600 --frames 100          # issue 11's 10-minute film
  strain-seer bench video --film test.mp4 --frames 50 --no-detect

Without --film, a film is made with the ffmpeg program: a synthetic specimen (five markers and a
ruler, drawn once) with fresh noise in every frame, so that every frame costs what a camera's
does; H.264 High profile (libx264, veryfast, crf 20, yuv420p), a keyframe every second as phones
record. Timed, in the same run: decoding every frame, by strain-seer (in this process, FFmpeg's
libraries; without and with the conversion to RGB) and by `ffmpeg -i FILM -f null -`, on one
thread and on all; the frames at N chosen times (mid-way between keyframes, where a seek costs
most) decoded in memory, written as PNG by `strain-seer frames`, extracted by `ffmpeg -ss T -i
FILM -frames:v 1 T.png` once per time, and by one ffmpeg `select` filter over the whole film;
and `strain-seer detect FILM --at …` against the ffmpeg extraction followed by `strain-seer
detect` on its PNGs (issue 11's target: ours at least 2× faster). Peak RSS: this process's
high-water mark (reset before each step) for the in-process rows, the children's sampled every
5 ms for the others. Needs a strain-seer built with --features video, and the ffmpeg program.";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct VideoBenchArgs {
    /// Time this film instead of making one (the detect rows need the five markers in it).
    #[arg(long, value_name = "FILE", env = "STRAIN_SEER_BENCH_FILM")]
    pub film: Option<PathBuf>,

    /// Length of the film made, s.
    #[arg(
        long,
        value_name = "S",
        default_value_t = 60.0,
        env = "STRAIN_SEER_BENCH_DURATION"
    )]
    pub duration: f64,

    /// Frame size of the film made, WIDTHxHEIGHT.
    #[arg(
        long,
        value_name = "WxH",
        default_value = "1920x1080",
        env = "STRAIN_SEER_BENCH_SIZE"
    )]
    pub size: String,

    /// Frame rate of the film made, frames/s.
    #[arg(
        long,
        value_name = "FPS",
        default_value_t = 30,
        env = "STRAIN_SEER_BENCH_FPS"
    )]
    pub fps: u32,

    /// Frames chosen (evenly spaced, mid-way between keyframes) for the seek and detect rows.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        env = "STRAIN_SEER_BENCH_FRAMES"
    )]
    pub frames: usize,

    /// Skip the detect rows.
    #[arg(long, env = "STRAIN_SEER_BENCH_NO_DETECT")]
    pub no_detect: bool,

    /// The ffmpeg program.
    #[arg(
        long,
        value_name = "PROGRAM",
        default_value = "ffmpeg",
        env = "STRAIN_SEER_BENCH_FFMPEG"
    )]
    pub ffmpeg: PathBuf,
}

pub fn run(args: VideoBenchArgs) -> anyhow::Result<ExitCode> {
    if args.frames == 0 || args.frames > crate::app::frames::MAX_FRAMES {
        return Err(BadInput(format!(
            "--frames must be 1 to {}",
            crate::app::frames::MAX_FRAMES
        ))
        .into());
    }
    if !(args.duration.is_finite() && args.duration > 0.0 && args.duration <= 3600.0) {
        return Err(
            BadInput("--duration must be more than 0 and at most 3600 s".to_owned()).into(),
        );
    }
    if args.fps == 0 || args.fps > 240 {
        return Err(BadInput("--fps must be 1 to 240".to_owned()).into());
    }
    let (width, height) = parse_size(&args.size).ok_or_else(|| {
        BadInput(format!(
            "--size {}: expected WIDTHxHEIGHT, each 16 to 8192, e.g. 1920x1080",
            args.size
        ))
    })?;
    let me = std::env::current_exe().context("finding this program")?;
    let work = WorkDir(
        std::env::temp_dir().join(format!("strain-seer-bench-video-{}", std::process::id())),
    );
    std::fs::create_dir_all(&work.0).with_context(|| format!("creating {}", work.0.display()))?;
    let dir = work.0.as_path();
    let log = dir.join("stderr.txt");
    let ffmpeg = || {
        let mut c = Command::new(&args.ffmpeg);
        c.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]);
        c
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    println!("strain-seer bench video");
    let version = Command::new(&args.ffmpeg)
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            BadInput(format!(
                "the ffmpeg program ({}) does not run: install it (Debian: apt-get install ffmpeg) or give --ffmpeg",
                args.ffmpeg.display()
            ))
        })?;
    println!("machine: {cores} logical CPUs; {version}");

    // --- the film -------------------------------------------------------------------------
    let film = match &args.film {
        Some(film) => film.clone(),
        None => {
            let png = dir.join("specimen.png");
            specimen(width, height)
                .save(&png)
                .with_context(|| format!("writing {}", png.display()))?;
            let film = dir.join("bench.mp4");
            let (fps, duration) = (args.fps.to_string(), format!("{:.3}", args.duration));
            let m = child(
                ffmpeg()
                    .args(["-loop", "1", "-framerate", fps.as_str(), "-i"])
                    .arg(&png)
                    .args([
                        "-t",
                        duration.as_str(),
                        "-vf",
                        "noise=alls=6:allf=t,format=yuv420p",
                    ])
                    .args([
                        "-c:v",
                        "libx264",
                        "-profile:v",
                        "high",
                        "-preset",
                        "veryfast",
                    ])
                    .args(["-crf", "20", "-g", fps.as_str(), "-movflags", "+faststart"])
                    .arg(&film),
                &log,
            )?;
            println!(
                "film made in {:.1} s: synthetic specimen + noise in every frame, libx264 High, veryfast, crf 20, keyframe every 1 s",
                secs(m.wall)
            );
            film
        }
    };
    let open = |threads: usize| -> anyhow::Result<Video> {
        let opts = DecodeOptions {
            threads,
            ..DecodeOptions::default()
        };
        Video::open(&film, opts).map_err(|e| film_error(e.into()))
    };
    let info = open(0)?.info().clone();
    let size_mb = std::fs::metadata(&film).map_or(0.0, |m| m.len() as f64 / 1e6);
    println!(
        "film: {} ({:.1} MB): {} {}×{} px, {:.3} s, {:.2} frames/s average",
        film.display(),
        size_mb,
        info.codec,
        info.width,
        info.height,
        info.duration_s,
        info.avg_fps
    );
    println!(
        "  {:<58} {:>11} {:>16} {:>8}",
        "", "wall", "rate", "peak RSS"
    );

    // --- every frame ------------------------------------------------------------------------
    let mut frame_count = 0;
    for (threads, label) in [(1, "1 thread".to_owned()), (0, format!("{cores} threads"))] {
        println!("Decode every frame, {label}");
        let decode_every = |rgb: bool| {
            in_process(|| {
                let mut video = open(threads)?;
                video
                    .decode_all(rgb, |_| {})
                    .map_err(|e| film_error(e.into()))
            })
        };
        let (n, m) = decode_every(false)?;
        frame_count = n;
        row("strain-seer (FFmpeg libraries, in process)", m, fps(n, m));
        let (n_rgb, m) = decode_every(true)?;
        row("strain-seer, + conversion to RGB", m, fps(n_rgb, m));
        let t = if threads == 1 { "1" } else { "0" };
        // `ffmpeg -threads T -i FILM [OUTPUT OPTIONS] -f null -`: decode everything, keep nothing.
        for output in [&[][..], &["-pix_fmt", "rgb24"][..]] {
            let m = child(
                ffmpeg()
                    .args(["-threads", t, "-i"])
                    .arg(&film)
                    .args(output)
                    .args(["-f", "null", "-"]),
                &log,
            )?;
            let options: String = output.iter().map(|o| format!(" {o}")).collect();
            row(
                &format!("ffmpeg -threads {t} -i FILM{options} -f null -"),
                m,
                fps(n, m),
            );
        }
    }
    println!("  ({frame_count} frames)");

    // --- frames at chosen times ---------------------------------------------------------------
    let n = args.frames;
    // Mid-way between evenly spaced points: rarely on a keyframe, so each costs a real seek.
    let times: Vec<f64> = (0..n)
        .map(|i| ((i as f64 + 0.5) * info.duration_s / n as f64 * 1e3).round() / 1e3)
        .collect();
    let at = times
        .iter()
        .map(|t| format!("{t:.3}"))
        .collect::<Vec<_>>()
        .join(",");
    println!(
        "{n} frames at chosen times ({:.3} s, {:.3} s, … {:.3} s), seek + decode",
        times[0],
        times.get(1).copied().unwrap_or(times[0]),
        times[n - 1]
    );
    let (_, m) = in_process(|| {
        let mut video = open(0)?;
        for &t in &times {
            video.frame_at(t).map_err(|e| film_error(e.into()))?;
        }
        Ok(())
    })?;
    row(
        "strain-seer, RGB in memory (what detect uses)",
        m,
        per_frame(n, m),
    );
    let ours_png = dir.join("ours");
    let m = child(
        Command::new(&me)
            .arg("frames")
            .arg(&film)
            .args(["--at", at.as_str(), "--out"])
            .arg(&ours_png),
        &log,
    )?;
    row(
        "strain-seer frames FILM --at … --out DIR (PNG)",
        m,
        per_frame(n, m),
    );
    let theirs_png = dir.join("theirs");
    std::fs::create_dir_all(&theirs_png)
        .with_context(|| format!("creating {}", theirs_png.display()))?;
    let mut extract = Measure::default();
    let mut pngs = Vec::with_capacity(n);
    for (i, t) in times.iter().enumerate() {
        let png = theirs_png.join(format!("frame-{i:04}.png"));
        extract = extract.then(child(
            ffmpeg()
                .args(["-ss", format!("{t:.3}").as_str(), "-i"])
                .arg(&film)
                .args(["-frames:v", "1"])
                .arg(&png),
            &log,
        )?);
        pngs.push(png);
    }
    row(
        "ffmpeg -ss T -i FILM -frames:v 1 T.png, once per time",
        extract,
        per_frame(n, extract),
    );
    let select = times
        .iter()
        .map(|t| format!("lt(prev_pts*TB,{t:.3})*gte(pts*TB,{t:.3})"))
        .collect::<Vec<_>>()
        .join("+");
    let select_dir = dir.join("select");
    std::fs::create_dir_all(&select_dir)
        .with_context(|| format!("creating {}", select_dir.display()))?;
    let m = child(
        ffmpeg()
            .arg("-i")
            .arg(&film)
            .args([
                "-vf",
                format!("select='{select}'").as_str(),
                "-fps_mode",
                "passthrough",
            ])
            .arg(select_dir.join("frame-%04d.png")),
        &log,
    )?;
    row(
        "ffmpeg -i FILM -vf select=… one pass to PNGs",
        m,
        per_frame(n, m),
    );

    // --- detect -------------------------------------------------------------------------------
    if !args.no_detect {
        println!("detect on the {n} frames (markers and ruler; tracked from frame to frame)");
        let ours = child(
            Command::new(&me)
                .arg("detect")
                .arg(&film)
                .args(["--at", at.as_str(), "--allow-partial", "--out"])
                .arg(dir.join("ours.json")),
            &log,
        )?;
        row("strain-seer detect FILM --at …", ours, per_frame(n, ours));
        let detect_pngs = child(
            Command::new(&me)
                .arg("detect")
                .args(&pngs)
                .args(["--allow-partial", "--out"])
                .arg(dir.join("theirs.json")),
            &log,
        )?;
        row(
            "strain-seer detect PNGs (after the ffmpeg -ss extraction)",
            detect_pngs,
            per_frame(n, detect_pngs),
        );
        let pair = extract.then(detect_pngs);
        row(
            "ffmpeg -ss extraction + detect PNGs",
            pair,
            per_frame(n, pair),
        );
        println!(
            "  (ffmpeg extraction + detect on PNGs) / detect FILM: {:.2}× (issue 11's target: ≥ 2×)",
            secs(pair.wall) / secs(ours.wall).max(1e-9)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_size(text: &str) -> Option<(u32, u32)> {
    let (w, h) = text.split_once(['x', 'X', '×'])?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (16..=8192).contains(&w).then_some(())?;
    (16..=8192).contains(&h).then_some(())?;
    Some((w, h))
}

/// A synthetic specimen of the film's size in which the detector finds the five markers.
fn specimen(width: u32, height: u32) -> image::GrayImage {
    let scale = f64::from(height) / 480.0;
    let cfg = SynthConfig {
        width,
        height,
        marker_diameter: [14.0 * scale, 30.0 * scale],
        ..SynthConfig::default()
    };
    let mut first = None;
    for seed in 0..20 {
        let im = synth::generate(seed, &cfg);
        if detect_markers(&im.image, &MarkerOptions::default()).is_ok() {
            return im.image;
        }
        first.get_or_insert(im.image);
    }
    first.unwrap_or_else(|| synth::generate(0, &cfg).image)
}
