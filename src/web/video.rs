//! `POST /api/projects/{id}/video`: a film (and optionally the test machine's log) becomes
//! images of the project.
//!
//! Multipart fields: `video` (the film: MP4, MOV, AVI, MKV…), `log` (optional CSV of time,
//! displacement and force), and the choice of frames: `every` (s), `count`, `at` (times in s,
//! comma-separated), or none of them with a log to take the log's rows (`log_step`: only rows
//! where the displacement changed by at least this many mm); `log_offset` (log time − video
//! time, s), `log_time_column`, `log_displacement_column`, `log_force_column` (a header name or
//! a 0-based index), `polarity` (`dark` or `bright`). Send the small fields before the film.
//!
//! The film streams to a temporary file in the data directory (the decoder needs a path; it is
//! removed when the request ends), at most `--max-request-mb`; the log is at most
//! `--max-upload-mb`. Then, off the async threads, [`crate::app::film::import_film`] reads the
//! log, decodes the chosen frames and detects along them; each frame is staged like an uploaded
//! image and all are added in one transaction. A binary built without the `video` feature
//! answers the film with 415 and how to get video support, before reading it.

use super::error::{AppError, AppMultipart, AppPath, ErrorKind};
use super::images::{human_bytes, read_field};
use super::{AppState, Limits, blocking};
use crate::app::film::{FilmDetect, FilmImport, FilmProgress, FrameReport, import_film};
use crate::app::video::{FilmError, FilmRequest, LogColumns, selection};
use crate::engine::detect::MarkerPolarity;
use crate::store::{
    ImageRecord, MAX_SCALE_POINTS, NewImage, Project, ProjectPatch, clean_filename,
};
use crate::video::VideoError;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Instant;
use tokio::io::AsyncWriteExt;

/// The frames of one film decoded at once take at most this much memory (RGB).
pub const MAX_FILM_DECODED_BYTES: u64 = 1 << 30;
/// Largest text field (`at` holds up to 2000 times).
const MAX_TEXT_FIELD: usize = 64 * 1024;

pub fn routes(limits: &Limits) -> Router<AppState> {
    Router::new().route(
        "/api/projects/{id}/video",
        post(upload_film).layer(DefaultBodyLimit::max(limits.max_upload_bytes)),
    )
}

/// A file in the data directory's `tmp/`, removed when dropped.
#[derive(Debug)]
struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The form's fields.
#[derive(Debug, Default)]
struct Form {
    film: Option<(String, TempPath, u64)>,
    log: Option<(String, Vec<u8>)>,
    every: Option<f64>,
    count: Option<usize>,
    at: Option<String>,
    log_step: f64,
    log_offset: f64,
    columns: LogColumns,
    polarity: MarkerPolarity,
}

fn number<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, AppError> {
    text.trim()
        .parse::<T>()
        .map_err(|_| AppError::bad_request(format!("{field}: \"{}\" is not a number", text.trim())))
}

fn finite(field: &str, text: &str) -> Result<f64, AppError> {
    let v: f64 = number(field, text)?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(AppError::bad_request(format!(
            "{field}: \"{}\" is not a finite number",
            text.trim()
        )))
    }
}

fn unsupported(name: &str) -> AppError {
    AppError::new(
        ErrorKind::UnsupportedMediaType,
        VideoError::NotBuilt {
            name: name.to_owned(),
        }
        .to_string(),
    )
    .with_detail("video_support", false)
}

/// Stream the film to a new file in `tmp/`, refusing it once it exceeds `max_bytes`.
async fn save_film(
    field: &mut Field<'_>,
    dir: PathBuf,
    filename: &str,
    max_bytes: usize,
) -> Result<(TempPath, u64), AppError> {
    let io = |e: std::io::Error| {
        AppError::from(crate::store::StoreError::io(
            format!("cannot write the film to {}", dir.display()),
            e,
        ))
    };
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    let path = TempPath(dir.join(format!("film-{:016x}.part", rand::random::<u64>())));
    let mut file = tokio::fs::File::create_new(&path.0).await.map_err(io)?;
    let mut total = 0u64;
    while let Some(chunk) = field.chunk().await? {
        total += chunk.len() as u64;
        if total > max_bytes as u64 {
            return Err(AppError::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "{filename}: the film is larger than the limit of {} (--max-request-mb)",
                    human_bytes(max_bytes)
                ),
            )
            .with_detail("limit_bytes", max_bytes));
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok((path, total))
}

async fn read_form(
    state: &AppState,
    multipart: &mut axum::extract::Multipart,
) -> Result<Form, AppError> {
    let limits = &state.limits;
    let mut form = Form::default();
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "video" => {
                let filename = clean_filename(field.file_name().unwrap_or("video"));
                if !crate::video::SUPPORTED {
                    return Err(unsupported(&filename));
                }
                if form.film.is_some() {
                    return Err(AppError::bad_request("send one film per request"));
                }
                let dir = state.store.data_dir().join("tmp");
                let (path, size) =
                    save_film(&mut field, dir, &filename, limits.max_upload_bytes).await?;
                form.film = Some((filename, path, size));
            }
            "log" => {
                let filename = clean_filename(field.file_name().unwrap_or("log.csv"));
                let bytes = read_field(&mut field, &filename, limits.max_file_bytes).await?;
                form.log = Some((filename, bytes));
            }
            _ => {
                let bytes = read_field(&mut field, &name, MAX_TEXT_FIELD).await?;
                let text = String::from_utf8_lossy(&bytes).trim().to_owned();
                let value = (!text.is_empty()).then_some(text);
                let Some(text) = value else { continue };
                match name.as_str() {
                    "every" => form.every = Some(finite("every", &text)?),
                    "count" => form.count = Some(number("count", &text)?),
                    "at" => form.at = Some(text),
                    "log_step" => form.log_step = finite("log_step", &text)?,
                    "log_offset" => form.log_offset = finite("log_offset", &text)?,
                    "log_time_column" => form.columns.time = Some(text),
                    "log_displacement_column" => form.columns.displacement = Some(text),
                    "log_force_column" => form.columns.force = Some(text),
                    "polarity" => {
                        form.polarity = match text.as_str() {
                            "dark" => MarkerPolarity::Dark,
                            "bright" => MarkerPolarity::Bright,
                            other => {
                                return Err(AppError::bad_request(format!(
                                    "polarity: \"{other}\" is neither \"dark\" nor \"bright\""
                                )));
                            }
                        }
                    }
                    other => {
                        return Err(AppError::bad_request(format!(
                            "unexpected multipart field {other:?}: expected video, log, every, \
                             count, at, log_step, log_offset, log_time_column, \
                             log_displacement_column, log_force_column, polarity"
                        )));
                    }
                }
            }
        }
    }
    Ok(form)
}

/// The status of a film that cannot give frames, with the file (and log line) named.
fn film_error(err: FilmError) -> AppError {
    let kind = match &err {
        FilmError::Video(VideoError::Io { .. }) => ErrorKind::Internal,
        FilmError::Video(VideoError::NotBuilt { .. })
        | FilmError::Video(VideoError::Unreadable { .. })
        | FilmError::Video(VideoError::NoVideoStream { .. }) => ErrorKind::UnsupportedMediaType,
        FilmError::Video(VideoError::TooLarge { .. })
        | FilmError::TooManyPixels { .. }
        | FilmError::TooLong { .. } => ErrorKind::PayloadTooLarge,
        FilmError::Video(_) | FilmError::Log { .. } | FilmError::Selection { .. } => {
            ErrorKind::BadRequest
        }
    };
    let mut app = AppError::new(kind, err.to_string());
    match &err {
        FilmError::Log { name, source } => {
            app = app.with_detail("file", name.as_str());
            if let Some(line) = source.line {
                app = app.with_detail("line", line);
            }
        }
        FilmError::Video(VideoError::NotBuilt { .. }) => {
            app = app.with_detail("video_support", false);
        }
        _ => {}
    }
    app
}

/// The answer: the new images, the project's new counts, and what was found in each frame.
#[derive(Debug, Serialize)]
struct FilmResponse {
    images: Vec<ImageRecord>,
    project: Project,
    video: Value,
    frames: Vec<FrameReport>,
    /// Set when the project's scale length was changed to the span placed on the frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_length_set: Option<f64>,
    timing_ms: Value,
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e4).round() / 10.0
}

/// The media type of a streamed answer with progress ([`upload_film`]).
const NDJSON: &str = "application/x-ndjson";

/// One line of a streamed answer.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum StreamLine {
    Progress(FilmProgress),
    Done { result: Box<FilmResponse> },
    Error { status: u16, error: Value },
}

impl StreamLine {
    fn error(err: AppError) -> Self {
        let (status, error) = err.status_and_body();
        StreamLine::Error {
            status: status.as_u16(),
            error,
        }
    }

    fn bytes(&self) -> Bytes {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|e| {
            format!(r#"{{"event":"error","status":500,"error":{{"error":"{e}"}}}}"#).into_bytes()
        });
        line.push(b'\n');
        Bytes::from(line)
    }
}

async fn upload_film(
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    headers: HeaderMap,
    AppMultipart(multipart): AppMultipart,
) -> Result<Response, AppError> {
    let stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().starts_with(NDJSON)));
    if !stream {
        let response = import_upload(state, id, multipart, None).await?;
        return Ok((StatusCode::CREATED, super::AppJson(response)).into_response());
    }
    // Progress as JSON lines. The checks before decoding still answer a plain 4xx; from the
    // first decoded frame on the answer is 200 and its last line says how the import ended.
    // The import runs to its end even if the client goes away: the frames are saved.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
    let progress: Progress = {
        let tx = tx.clone();
        let mut first = Some(first_tx);
        Box::new(move |p| {
            if let Some(first) = first.take() {
                let _ = first.send(());
            }
            let _ = tx.send(StreamLine::Progress(p).bytes());
        })
    };
    let task = tokio::spawn(import_upload(state, id, multipart, Some(progress)));
    if first_rx.await.is_err() {
        // No frame was decoded: the import ended early, an ordinary answer says how.
        let response = task
            .await
            .map_err(|e| AppError::internal(format!("a background task failed: {e}")))??;
        return Ok((StatusCode::CREATED, super::AppJson(response)).into_response());
    }
    tokio::spawn(async move {
        let last = match task.await {
            Ok(Ok(response)) => StreamLine::Done {
                result: Box::new(response),
            },
            Ok(Err(err)) => StreamLine::error(err),
            Err(e) => {
                StreamLine::error(AppError::internal(format!("a background task failed: {e}")))
            }
        };
        let _ = tx.send(last.bytes());
    });
    let lines = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|line| (Ok::<_, std::convert::Infallible>(line), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, NDJSON)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(lines))
        .map_err(|e| AppError::internal(e.to_string()))
}

/// Called with each step of a film import.
type Progress = Box<dyn FnMut(FilmProgress) + Send>;

async fn import_upload(
    state: AppState,
    id: i64,
    mut multipart: axum::extract::Multipart,
    progress: Option<Progress>,
) -> Result<FilmResponse, AppError> {
    let started = Instant::now();
    // Unknown project: say so before reading a large body.
    blocking(&state, move |s| Ok(s.project(id)?)).await?;
    let form = read_form(&state, &mut multipart).await?;
    let upload_ms = ms(started);
    let Some((film_name, film_path, film_bytes)) = form.film else {
        return Err(AppError::bad_request(
            "no film in the request: send it in a multipart field named \"video\"",
        ));
    };
    let request = FilmRequest {
        selection: selection(
            form.every,
            form.count,
            form.at.as_deref(),
            form.log.is_some(),
            form.log_step,
        )
        .map_err(|e| AppError::bad_request(format!("{film_name}: {e}")))?,
        log_offset_s: form.log_offset,
        max_decoded_bytes: MAX_FILM_DECODED_BYTES,
        max_duration_s: state.limits.max_film_seconds as f64,
        max_pixels: state.limits.max_pixels,
    };
    let limits = state.limits.clone();
    let slot = super::cpu_slot().await?;
    let task_name = film_name.clone();
    let mut progress = progress.unwrap_or_else(|| Box::new(|_| {}));
    let (import, records, project, scale_length_set) = blocking(&state, move |s| {
        let _slot = slot;
        let project = s.project(id)?;
        let (_, existing) = s.project_points(id)?;
        let others_have_scale = existing.iter().any(|i| i.scale.len() == MAX_SCALE_POINTS);
        let whole = project.scale_length.round();
        let span_mm = (others_have_scale
            && (project.scale_length - whole).abs() < 1e-6
            && (1.0..=10_000.0).contains(&whole))
        .then_some(whole as u32);
        let detect = FilmDetect {
            polarity: form.polarity,
            span_mm,
            target_pitch_mm: project.target_pitch_mm,
        };
        let log = form.log.as_ref().map(|(n, b)| (n.as_str(), b.as_slice()));
        let import = import_film(
            &film_path.0,
            &task_name,
            log,
            &form.columns,
            &request,
            &detect,
            &mut progress,
        )
        .map_err(film_error)?;
        drop(film_path);
        let mut staged = Vec::with_capacity(import.frames.len());
        let mut new_images = Vec::with_capacity(import.frames.len());
        for (i, frame) in import.frames.iter().enumerate() {
            staged.push(s.stage_image(&frame.png, &frame.filename, limits.max_pixels)?);
            new_images.push(NewImage {
                staged: i,
                filename: frame.filename.clone(),
                annotation: frame.annotation.clone(),
            });
        }
        let records = s.add_images(id, staged, &new_images, limits.max_images_per_project)?;
        let new_length = import
            .span_mm
            .map(f64::from)
            .filter(|&l| span_mm.is_none() && l != project.scale_length);
        let project = match new_length {
            Some(length) => s.update_project(
                id,
                ProjectPatch {
                    scale_length: Some(length),
                    ..ProjectPatch::default()
                },
            )?,
            None => s.project(id)?,
        };
        Ok((import, records, project, new_length))
    })
    .await?;
    let FilmImport {
        description,
        info,
        log_rows,
        log_columns,
        frames,
        timing,
        ..
    } = import;
    tracing::info!(
        project = id,
        frames = records.len(),
        film_bytes,
        upload_ms,
        decode_ms = timing.decode,
        detect_ms = timing.detect,
        total_ms = ms(started),
        "{description}"
    );
    let frames: Vec<FrameReport> = frames.into_iter().map(|f| f.report).collect();
    Ok(FilmResponse {
        images: records,
        project,
        video: json!({
            "filename": film_name,
            "size_bytes": film_bytes,
            "codec": info.codec,
            "width": info.width,
            "height": info.height,
            "duration_s": info.duration_s,
            "rotation_deg": info.rotation_deg,
            "avg_fps": info.avg_fps,
            "log_rows": log_rows,
            "log_columns": log_columns,
            "description": description,
        }),
        frames,
        scale_length_set,
        timing_ms: json!({
            "upload": upload_ms,
            "decode": timing.decode,
            "detect": timing.detect,
            "encode": timing.encode,
            "total": ms(started),
        }),
    })
}
