//! `strain-seer detect`: find the five markers and the ruler scale in photos and write an
//! annotation file that `strain-seer analyze` reads.

use crate::app::detect::{
    SequenceDetection, detect_sequence, marker_points, method_name, scale_points,
};
use crate::app::target::{TargetReport, find_target};
use crate::app::video::describe;
use crate::cli::BadInput;
use crate::cli::video::{FrameArgs, chosen_frames};
use crate::store::blobs::{DEFAULT_MAX_PIXELS, decode_oriented};
use crate::store::distance_from_filename;
use anyhow::Context;
use image::DynamicImage;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strain_seer_engine::detect::{MarkerOptions, MarkerPolarity};
use strain_seer_formats::machine_log::LogSample;
use strain_seer_formats::{Project, ProjectImage, to_annotation_json, to_project_json};

const AFTER_HELP: &str = "\
Examples:
  strain-seer detect photos/*.png --out project.json
  strain-seer detect photos/*.jpg --out annotations.json --format python
  strain-seer detect photos/*.png --scale-length 30 --out annotations.json
  strain-seer detect photos/*.png --no-ruler --allow-partial > annotations.json
  strain-seer detect photos/*.jpg --target-pitch 5 --out project.json
  strain-seer detect photos/*.jpg --target-pitch 5 --target-from calibration.jpg --out project.json

Photos are taken in the order given (the sequence order). In each photo the detector finds the
five fiducial markers (dark dots by default) and labels them 0 top-left, 1 top-right,
2 bottom-right, 3 bottom-left, 4 centre; where a photo's pattern is not clear on its own, the
markers are tracked from the previous photo. It then finds the ruler's millimetre graduation and
places the two scale points on centimetre lines SCALE-LENGTH mm apart, at the markers' height.
With --target-pitch, it first looks for a printed dot-grid calibration target of that pitch
(`strain-seer target` prints one) in each photo, fits its map (the `target` scale of `analyze`)
and keeps its card out of the marker search; --target-from gives the map of a calibration photo,
taken from the same camera position, to every photo in which no target is found.
The deformation distance is read from the filename where it carries one before \"mm\"
(deformation-05mm-force.png → 5); otherwise the image is left without a distance.

From a video (built with --features video): `strain-seer detect test.mp4 --at 0.5,1.5,2.5
--log machine.csv --out project.json` decodes the chosen frames (named test-t0.500s.png, …;
see `strain-seer frames --help`), detects the markers in the first and tracks them through the
others, and takes each frame's deformation distance from the log at its time + --log-offset.

A per-image summary (markers with confidences, mm/px) is printed on standard error; the file is
written to --out, or to standard output.

Exit status: 0 success; 2 when a photo cannot be read or decoded, or when markers or ruler are not
found in a photo (the message names it; nothing is written unless --allow-partial is given, which
writes what was found and marks those photos incomplete); 1 any other failure.";

/// Which file `detect` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DetectFormat {
    /// The Python Strain Seer's annotation JSON (docs/cli.md, "File formats").
    Python,
    /// Strain Seer's project JSON, with detection confidences and checksums.
    Project,
}

/// Whether markers are darker or brighter than the specimen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Polarity {
    Dark,
    Bright,
}

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct DetectArgs {
    /// Photos (png, jpg, gif, bmp, tiff), in sequence order; or one video (mp4, mov, avi, mkv)
    /// with --every, --count, --at or --log choosing its frames.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,

    #[command(flatten)]
    pub video: FrameArgs,

    /// Output file; "-" or none writes to standard output.
    #[arg(long, short, value_name = "FILE", env = "STRAIN_SEER_DETECT_OUT")]
    pub out: Option<PathBuf>,

    /// Distance between the two scale points, whole mm. Default: the longest whole number of
    /// centimetres visible on the ruler in every photo.
    #[arg(long, value_name = "MM", env = "STRAIN_SEER_SCALE_LENGTH")]
    pub scale_length: Option<u32>,

    /// Output format. The project file keeps each photo's ruler model, which the ruler-model
    /// and perspective-corrected scales of `analyze` need; the Python file has only the two
    /// scale points (the span scale).
    #[arg(long, value_enum, default_value_t = DetectFormat::Project, env = "STRAIN_SEER_DETECT_FORMAT")]
    pub format: DetectFormat,

    /// Do not look for a ruler (scale points are then left to be placed by hand).
    #[arg(long, env = "STRAIN_SEER_NO_RULER")]
    pub no_ruler: bool,

    /// Markers darker (ink dots) or brighter than the specimen.
    #[arg(long, value_enum, default_value_t = Polarity::Dark, env = "STRAIN_SEER_MARKER_POLARITY")]
    pub marker_polarity: Polarity,

    /// Pitch of a dot-grid calibration target in the photos (distance between dot centres),
    /// mm: look for it and save its map with each photo.
    #[arg(long, value_name = "MM", env = "STRAIN_SEER_TARGET_PITCH")]
    pub target_pitch: Option<f64>,

    /// A calibration photo of the target from the same camera position as the sequence: its
    /// map is given to the photos in which no target is found. Needs --target-pitch.
    #[arg(
        long,
        value_name = "FILE",
        requires = "target_pitch",
        env = "STRAIN_SEER_TARGET_FROM"
    )]
    pub target_from: Option<PathBuf>,

    /// Write what was found even when a photo's markers or ruler are not found (those photos
    /// are marked incomplete) and exit 0.
    #[arg(long, env = "STRAIN_SEER_ALLOW_PARTIAL")]
    pub allow_partial: bool,
}

/// Decode an image file's bytes with its EXIF orientation applied (the pixel grid points refer
/// to), with the same checks and limits as an upload to the web app (`store::blobs`): the header
/// is read first and a file of more than [`DEFAULT_MAX_PIXELS`] pixels is refused undecoded.
pub fn decode_image(bytes: &[u8], name: &str) -> anyhow::Result<DynamicImage> {
    let (_, _, image) = decode_oriented(bytes, name, DEFAULT_MAX_PIXELS)?;
    Ok(image)
}

/// One decoded photo.
struct Photo {
    name: String,
    image: DynamicImage,
    sha256: String,
    /// 35 mm-equivalent focal length from the file's EXIF.
    focal_35mm: Option<f64>,
}

fn load(path: &Path) -> anyhow::Result<Photo> {
    let name = crate::app::file_label(path);
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let image = decode_image(&bytes, &name).map_err(|e| {
        BadInput(format!(
            "{}: cannot decode the image: {e:#}",
            path.display()
        ))
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Photo {
        name,
        image,
        sha256,
        focal_35mm: strain_seer_formats::exif::focal_35mm(&bytes),
    })
}

/// Each video frame's time and what the log says then (`None` outside its time span).
type Distances = Vec<(f64, Option<LogSample>)>;

/// The photos: the files given, or the chosen frames of a video with the log's distance at
/// each (`Some` distances only for a video).
fn photos(args: &DetectArgs) -> anyhow::Result<(Vec<Photo>, Option<Distances>)> {
    if let [path] = args.images.as_slice()
        && crate::video::is_video_path(path)
    {
        let film = chosen_frames(path, &args.video)?;
        eprintln!(
            "{}",
            describe(&path.display().to_string(), &film.info, film.log.as_ref())
        );
        let chosen = film.frames;
        let distances = chosen.iter().map(|c| (c.frame.time_s, c.log)).collect();
        let photos = chosen
            .into_iter()
            .map(|c| Photo {
                name: format!("{}.png", c.name),
                image: DynamicImage::ImageRgb8(c.frame.image),
                sha256: String::new(),
                focal_35mm: None,
            })
            .collect();
        return Ok((photos, Some(distances)));
    }
    if args.video.any() {
        return Err(BadInput(
            "--every, --count, --at and --log choose the frames of one video file \
             (mp4, mov, avi, mkv), not photos"
                .to_owned(),
        )
        .into());
    }
    let photos = args
        .images
        .par_iter()
        .map(|p| load(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((photos, None))
}

pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    if args.scale_length == Some(0) {
        return Err(BadInput("--scale-length must be at least 1 mm".to_owned()).into());
    }
    if let Some(p) = args.target_pitch {
        crate::store::validate_target_pitch(p)
            .map_err(|e| BadInput(format!("--target-pitch: {e}")))?;
    }
    let (photos, distances) = photos(&args)?;
    let targets: Vec<Option<TargetReport>> = photos
        .par_iter()
        .map(|p| args.target_pitch.map(|pitch| find_target(&p.image, pitch)))
        .collect();
    let calibration = match (&args.target_from, args.target_pitch) {
        (Some(path), Some(pitch)) => {
            let photo = load(path)?;
            let report = find_target(&photo.image, pitch);
            let Some(model) = report.model else {
                return Err(BadInput(format!(
                    "{}: {}",
                    path.display(),
                    report.message.unwrap_or_default()
                ))
                .into());
            };
            if photos.iter().any(|p| {
                (p.image.width(), p.image.height()) != (photo.image.width(), photo.image.height())
            }) {
                return Err(BadInput(format!(
                    "{}: the calibration photo is {}×{} px, not the size of the photos",
                    path.display(),
                    photo.image.width(),
                    photo.image.height()
                ))
                .into());
            }
            Some((photo.name, model))
        }
        _ => None,
    };
    let polarity = match args.marker_polarity {
        Polarity::Dark => MarkerPolarity::Dark,
        Polarity::Bright => MarkerPolarity::Bright,
    };
    let markers = MarkerOptions {
        polarity,
        // Every photo's target card (the camera barely moves within a sequence).
        exclude: targets
            .iter()
            .flat_map(|t| TargetReport::exclusions(t.as_ref()))
            .collect(),
        ..MarkerOptions::default()
    };
    let images: Vec<&DynamicImage> = photos.iter().map(|p| &p.image).collect();
    let SequenceDetection {
        span,
        markers,
        rulers,
    } = detect_sequence(&images, markers, !args.no_ruler, args.scale_length);

    let mut project = Project::new("");
    project.target_pitch_mm = args.target_pitch;
    if let Some(span) = span.or(args.scale_length) {
        project.scale_length = f64::from(span);
    }
    let mut failures: Vec<String> = Vec::new();
    let mut summary = String::new();
    for (i, photo) in photos.iter().enumerate() {
        let mut image = ProjectImage::new(format!("img{i}"), &photo.name, i as i64);
        image.sha256 = (!photo.sha256.is_empty()).then(|| photo.sha256.clone());
        image.width = Some(photo.image.width());
        image.height = Some(photo.image.height());
        image.focal_35mm = photo.focal_35mm;
        image.deformation_distance = match &distances {
            Some(d) => {
                let (time_s, sample) = d[i];
                image.time_s = Some(time_s);
                image.force_n = sample.and_then(|s| s.force_n);
                sample.map(|s| s.displacement_mm)
            }
            None => distance_from_filename(&photo.name),
        };
        let _ = write!(summary, "{}: ", photo.name);
        match (&targets[i], &calibration) {
            (
                Some(TargetReport {
                    model: Some(model), ..
                }),
                _,
            ) => {
                let _ = write!(
                    summary,
                    "target {} dots ({}×{}, RMS {:.2} px{}); ",
                    model.dots,
                    model.grid[0],
                    model.grid[1],
                    model.rms_px,
                    if model.has_radial() {
                        format!(", k1 {:.4}", model.radial_k1)
                    } else {
                        String::new()
                    }
                );
                image.target = Some(model.clone());
            }
            (Some(_), Some((name, model))) => {
                let _ = write!(summary, "target from {name}; ");
                image.target = Some(model.clone());
            }
            (Some(report), None) => {
                let message = report.message.clone().unwrap_or_default();
                let _ = write!(summary, "{message}; ");
                failures.push(format!("{}: {message}", photo.name));
            }
            (None, _) => {}
        }
        match &markers[i] {
            Ok(m) => {
                image.fiducials = marker_points(m);
                let conf: Vec<String> = m
                    .markers
                    .iter()
                    .map(|d| format!("{:.2}", d.confidence))
                    .collect();
                let _ = write!(
                    summary,
                    "5 markers ({}, confidence {})",
                    method_name(m.method),
                    conf.join(" ")
                );
            }
            Err(e) => {
                let _ = write!(summary, "markers NOT FOUND ({e})");
                failures.push(format!("{}: {e}", photo.name));
            }
        }
        if let Some(r) = rulers.get(i) {
            match r {
                Ok(r) => {
                    image.scale_points = scale_points(r);
                    image.ruler = Some(r.model);
                    if let Some(pct) = image
                        .target
                        .as_ref()
                        .and_then(|t| crate::app::target::ruler_check_pct(t, &r.model))
                    {
                        let _ = write!(summary, "; ruler vs target {pct:+.2} %");
                    }
                    let _ = write!(
                        summary,
                        "; ruler {:.5} mm/px over {} mm (confidence {:.2})",
                        r.mm_per_px, r.span_mm, r.confidence
                    );
                    if let Ok(m) = &markers[i] {
                        let fiducials = m.fiducials;
                        let _ = write!(
                            summary,
                            ", {:.5} mm/px at the markers ({} lines, RMS {:.2} px)",
                            r.model.scale_at_markers(&fiducials).1,
                            r.model.ticks,
                            r.model.rms_px
                        );
                    }
                }
                Err(e) => {
                    let _ = write!(summary, "; ruler NOT FOUND ({e})");
                    failures.push(format!("{}: ruler: {e}", photo.name));
                }
            }
        }
        if image.deformation_distance.is_none() {
            let _ = write!(
                summary,
                "; {}",
                if distances.is_some() {
                    "outside the log's time span: no distance"
                } else {
                    "no distance in the filename"
                }
            );
        }
        summary.push('\n');
        project.images.push(image);
    }
    eprint!("{summary}");
    if !failures.is_empty() && !args.allow_partial {
        return Err(BadInput(format!(
            "detection failed for {} photo(s) (use --allow-partial to write what was found):\n  {}",
            failures.len(),
            failures.join("\n  ")
        ))
        .into());
    }
    let text = match args.format {
        DetectFormat::Python => to_annotation_json(&project),
        DetectFormat::Project => to_project_json(&project),
    };
    match args.out.as_deref() {
        Some(path) if path != Path::new("-") => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} ({} photos, scale length {} mm)",
                path.display(),
                photos.len(),
                project.scale_length
            );
        }
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .context("writing to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bug of issue 10: `detect` read the *last* number before "mm", the upload the first
    /// (`run-5mm-at-2mm.png` was 2 mm here and 5 mm in the web app). One parser now.
    #[test]
    fn regression_detect_reads_distances_like_the_upload() {
        assert_eq!(distance_from_filename("run-5mm-at-2mm.png"), Some(5.0));
        assert_eq!(
            distance_from_filename("deformation-05mm-force.png"),
            Some(5.0)
        );
        assert_eq!(distance_from_filename("step_2.5MM.jpg"), Some(2.5));
        assert_eq!(distance_from_filename("photo.png"), None);
    }
}
