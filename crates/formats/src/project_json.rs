//! Strain Seer's own project file: `"format": "strain-seer-project"`, `"version": 1`.
//!
//! Richer than the Python tool's file (project name, reference image, σ, units, per-image
//! checksum and size, per-point source and detection confidence) and deterministic: keys always
//! in the same order, numbers in their shortest round-trip form, 2-space indentation, a trailing
//! newline. Export → import → export gives the same bytes.
//!
//! Reading ([`parse_project_json`]) is one typed pass over the text: the file's structs
//! (`RawProject`, `RawImage`, `RawPoint`, with `deny_unknown_fields`) are decoded straight from
//! the text, the images and points in file order, without a `serde_json::Value` of the file.
//! Only when strict JSON fails with a syntax error is the text rewritten (bare `NaN`/`Infinity`,
//! overflowing numbers quoted) and read again. An error is located on a slow path taken only
//! then: the text is read as a `Value` (syntax errors, the `format`/`version` checks, which come
//! first as for any reader) and decoded again with `serde_path_to_error`, whose path
//! (`images[1].scale_points[0].point[0]`) also gives the image (its id and filename from the
//! `Value`) and the point.

use crate::error::{FormatError, FormatErrorKind, Location, PointRef};
use crate::lenient::{self, Num};
use crate::model::{AnnotatedPoint, LENGTH_UNIT, POINT_UNIT, PointSource, Project, ProjectImage};
use crate::typed::Coords;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;
use strain_seer_engine::{Point, PointRole, RulerModel, ScaleMethod, TargetModel};

/// The value of `"format"` in a project file.
pub const PROJECT_FORMAT: &str = "strain-seer-project";
/// The project file version this build writes and reads.
pub const PROJECT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Units {
    length: String,
    points: String,
}

/// The file as written, decoded in one pass. `format` and `version` are kept as values so that
/// [`check_head`] can say what is wrong with them (a missing one is checked there too).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    #[serde(default)]
    format: Option<Value>,
    #[serde(default)]
    version: Option<Value>,
    name: String,
    units: Units,
    scale_length: Num,
    sigma_px: Num,
    reference: Option<String>,
    #[serde(default)]
    scale_method: Option<ScaleMethod>,
    #[serde(default)]
    focal_35mm: Option<Num>,
    #[serde(default)]
    target_pitch_mm: Option<Num>,
    #[serde(default)]
    area_mm2: Option<Num>,
    images: Vec<RawImage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    id: String,
    filename: String,
    order: i64,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    width: Option<u32>,
    #[serde(default)]
    height: Option<u32>,
    deformation_distance: Option<Num>,
    fiducials: Vec<RawPoint>,
    scale_points: Vec<RawPoint>,
    #[serde(default)]
    ruler: Option<RulerModel>,
    #[serde(default)]
    target: Option<TargetModel>,
    #[serde(default)]
    focal_35mm: Option<Num>,
    #[serde(default)]
    excluded: Option<String>,
    #[serde(default)]
    time_s: Option<Num>,
    #[serde(default)]
    force_n: Option<Num>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    point: Coords,
    source: PointSource,
    #[serde(default)]
    confidence: Option<Num>,
}

/// Reads a Strain Seer project file (any `"format"` other than `"strain-seer-project"` or a
/// version other than 1 is an error) into a validated [`Project`].
///
/// One typed pass over the text, straight into the file's structs (images and points in file
/// order, no `serde_json::Value` of the file). Strict JSON first; only when that fails with a
/// syntax error is the text passed through `lenient::quote_non_finite` (Python's bare
/// `NaN`/`Infinity`, numbers beyond `f64`) and read again, so that validation names the image
/// and point holding the non-finite number. A value that does not decode is reported with its
/// JSON path (`images[3].fiducials[2].point[1]`) and, inside `images`, the image's id and
/// filename and the point; that location is worked out only on this error path.
pub fn parse_project_json(json: &str) -> Result<Project, FormatError> {
    let raw = read_raw(json)?;
    let project = from_raw(raw)?;
    project.validate()?;
    Ok(project)
}

/// Whether the first key of the top-level object is `"format"`, as in every project file this
/// crate writes: then the file is a project (see [`crate::parse_any_with_format`]) and is read
/// by [`parse_project_json`] without a first pass to tell the format.
pub(crate) fn starts_with_format_key(json: &str) -> bool {
    const WS: &[char] = &[' ', '\t', '\n', '\r'];
    json.trim_start_matches(WS)
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start_matches(WS).starts_with("\"format\""))
}

/// The text decoded into [`RawProject`]: strict, else (on a syntax error) with non-finite
/// numbers quoted; a failure is located by [`located`].
fn read_raw(json: &str) -> Result<RawProject, FormatError> {
    let err = match serde_json::from_str::<RawProject>(json) {
        Ok(raw) => return Ok(raw),
        Err(err) => err,
    };
    if err.classify() == serde_json::error::Category::Syntax
        && let Cow::Owned(quoted) = lenient::quote_non_finite(json)
    {
        return serde_json::from_str::<RawProject>(&quoted).map_err(|_| located(&quoted));
    }
    Err(located(json))
}

/// Why `text` does not decode into a [`RawProject`] (the slow path, errors only). In order, as
/// a reader would check: not JSON (line and column); not an object, or the `format`/`version`
/// keys ([`check_head`]); then the decoding error, read again with its JSON path tracked.
fn located(text: &str) -> FormatError {
    let value = match lenient::parse_value(text) {
        Ok(value) => value,
        Err(err) => return err,
    };
    if let Err(err) = check_head(&value) {
        return err;
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let (inner, path) = match serde_path_to_error::deserialize::<_, RawProject>(&mut de) {
        Err(err) => {
            let path = err.path().clone();
            (err.into_inner(), path)
        }
        // Read after the rewriting of non-finite numbers, the text decodes: the caller's error
        // was in the strict text, which `parse_value` has already accepted. Not reachable.
        Ok(_) => {
            return FormatError::bare(FormatErrorKind::Invalid(
                "the project file could not be decoded".to_owned(),
            ));
        }
    };
    if inner.classify() != serde_json::error::Category::Data {
        return lenient::syntax_error(&inner);
    }
    let location = location_of(&path, &value);
    let message = inner.to_string();
    // serde_json's data errors end with " at line L column C"; the path says where.
    let message = match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_owned(),
        None => message,
    };
    FormatError::new(location, lenient::kind_of_message(message))
}

/// The location of a decoding error at `path`: inside `images[i]`, the image (its id and
/// filename when the file has them, else `images[i]` and the filename) and, inside
/// `fiducials[k]` or `scale_points[k]`, the point; always the JSON path.
fn location_of(path: &serde_path_to_error::Path, value: &Value) -> Location {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let key = |i: usize| match segments.get(i) {
        Some(Segment::Map { key }) => Some(key.as_str()),
        _ => None,
    };
    let index = |i: usize| match segments.get(i) {
        Some(Segment::Seq { index }) => Some(*index),
        _ => None,
    };
    let mut location = Location::default();
    if key(0) == Some("images")
        && let Some(position) = index(1)
    {
        let image = value.get("images").and_then(|images| images.get(position));
        let text_of = |field: &str| {
            image
                .and_then(|image| image.get(field))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let filename = text_of("filename");
        location = match text_of("id") {
            Some(id) => Location::image(&id, filename.as_deref()),
            None => Location {
                filename,
                field: Some(format!("images[{position}]")),
                ..Location::default()
            },
        };
        let role = match key(2) {
            Some("fiducials") => Some(PointRole::Fiducial),
            Some("scale_points") => Some(PointRole::Scale),
            _ => None,
        };
        if let (Some(role), Some(index)) = (role, index(3)) {
            location = location.with_point(PointRef {
                role,
                index,
                entry: None,
            });
        }
    }
    if !segments.is_empty() {
        location.json_path = Some(path.to_string());
    }
    location
}

/// The `format` and `version` keys: the file must be an object (else it is not a Strain Seer
/// file at all) whose `format` is `"strain-seer-project"` and whose `version` is 1.
fn check_head(value: &Value) -> Result<(), FormatError> {
    let Some(object) = value.as_object() else {
        return Err(FormatError::bare(FormatErrorKind::UnknownFormat));
    };
    check_format_and_version(object.get("format"), object.get("version"))
}

fn check_format_and_version(
    format: Option<&Value>,
    version: Option<&Value>,
) -> Result<(), FormatError> {
    match format {
        Some(Value::String(s)) if s == PROJECT_FORMAT => {}
        Some(Value::String(s)) => {
            return Err(FormatError::new(
                Location::field("format"),
                FormatErrorKind::WrongFormatTag(s.clone()),
            ));
        }
        Some(other) => {
            return Err(FormatError::new(
                Location::field("format"),
                FormatErrorKind::WrongFormatTag(other.to_string()),
            ));
        }
        None => return Err(FormatError::bare(FormatErrorKind::UnknownFormat)),
    }
    match version {
        Some(v) if v.as_u64() == Some(u64::from(PROJECT_VERSION)) => Ok(()),
        Some(v) => Err(FormatError::new(
            Location::field("version"),
            FormatErrorKind::UnsupportedVersion {
                found: v.to_string(),
                supported: PROJECT_VERSION,
            },
        )),
        None => Err(FormatError::new(
            Location::field("version"),
            FormatErrorKind::MissingField("version"),
        )),
    }
}

/// The decoded file as a [`Project`] (not yet validated): the format, version and units are
/// checked, each point's arity too.
fn from_raw(raw: RawProject) -> Result<Project, FormatError> {
    check_format_and_version(raw.format.as_ref(), raw.version.as_ref())?;
    for (field, expected, found) in [
        ("units.length", LENGTH_UNIT, &raw.units.length),
        ("units.points", POINT_UNIT, &raw.units.points),
    ] {
        if found != expected {
            return Err(FormatError::new(
                Location::field(field),
                FormatErrorKind::UnsupportedUnit {
                    expected,
                    found: found.clone(),
                },
            ));
        }
    }
    let images = raw
        .images
        .into_iter()
        .map(read_image)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Project {
        name: raw.name,
        scale_length: raw.scale_length.0,
        reference: raw.reference,
        sigma_px: raw.sigma_px.0,
        scale_method: raw.scale_method,
        focal_35mm: raw.focal_35mm.map(|Num(f)| f),
        target_pitch_mm: raw.target_pitch_mm.map(|Num(f)| f),
        area_mm2: raw.area_mm2.map(|Num(f)| f),
        images,
    })
}

fn read_image(raw: RawImage) -> Result<ProjectImage, FormatError> {
    let points = |role: PointRole, raw_points: Vec<RawPoint>| {
        raw_points
            .into_iter()
            .enumerate()
            .map(|(index, p)| {
                let Coords { xy: [x, y], len } = p.point;
                if len != 2 {
                    return Err(FormatError::new(
                        Location::image(&raw.id, Some(&raw.filename))
                            .with_point(PointRef {
                                role,
                                index,
                                entry: None,
                            })
                            .with_field("point"),
                        FormatErrorKind::PointArity(len),
                    ));
                }
                Ok(AnnotatedPoint {
                    point: Point::new(x, y),
                    source: p.source,
                    confidence: p.confidence.map(|Num(c)| c),
                })
            })
            .collect::<Result<Vec<_>, FormatError>>()
    };
    let fiducials = points(PointRole::Fiducial, raw.fiducials)?;
    let scale_points = points(PointRole::Scale, raw.scale_points)?;
    Ok(ProjectImage {
        id: raw.id,
        filename: raw.filename,
        order: raw.order,
        sha256: raw.sha256,
        width: raw.width,
        height: raw.height,
        deformation_distance: raw.deformation_distance.map(|Num(d)| d),
        fiducials,
        scale_points,
        ruler: raw.ruler,
        target: raw.target,
        focal_35mm: raw.focal_35mm.map(|Num(f)| f),
        excluded: raw.excluded,
        time_s: raw.time_s.map(|Num(t)| t),
        force_n: raw.force_n.map(|Num(f)| f),
    })
}

#[derive(Serialize)]
struct OutPoint {
    point: [f64; 2],
    source: PointSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<f64>,
}

impl From<&AnnotatedPoint> for OutPoint {
    fn from(p: &AnnotatedPoint) -> Self {
        Self {
            point: [p.point.x, p.point.y],
            source: p.source,
            confidence: p.confidence,
        }
    }
}

#[derive(Serialize)]
struct OutImage<'a> {
    id: &'a str,
    filename: &'a str,
    order: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    deformation_distance: Option<f64>,
    fiducials: Vec<OutPoint>,
    scale_points: Vec<OutPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ruler: Option<&'a RulerModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a TargetModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    focal_35mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    excluded: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    force_n: Option<f64>,
}

#[derive(Serialize)]
struct OutProject<'a> {
    format: &'static str,
    version: u32,
    name: &'a str,
    units: Units,
    scale_length: f64,
    sigma_px: f64,
    reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale_method: Option<ScaleMethod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    focal_35mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_pitch_mm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    area_mm2: Option<f64>,
    images: Vec<OutImage<'a>>,
}

/// Writes the project file: images in `(order, id)` order, deterministic bytes (see the module
/// documentation). A non-finite number (which [`Project::validate`] refuses) is written as `null`.
pub fn to_project_json(project: &Project) -> String {
    crate::to_pretty_json(&out_project(project))
}

/// [`to_project_json`] streamed into `out` (give it a `BufWriter` for a file).
pub fn write_project_json<W: std::io::Write>(project: &Project, out: W) -> std::io::Result<()> {
    crate::write_pretty_json(&out_project(project), out)
}

/// What [`to_project_json`] writes.
fn out_project(project: &Project) -> OutProject<'_> {
    let images = project
        .sorted_images()
        .into_iter()
        .map(|image| OutImage {
            id: &image.id,
            filename: &image.filename,
            order: image.order,
            sha256: image.sha256.as_deref(),
            width: image.width,
            height: image.height,
            deformation_distance: image.deformation_distance,
            fiducials: image.fiducials.iter().map(OutPoint::from).collect(),
            scale_points: image.scale_points.iter().map(OutPoint::from).collect(),
            ruler: image.ruler.as_ref(),
            target: image.target.as_ref(),
            focal_35mm: image.focal_35mm,
            excluded: image.excluded.as_deref(),
            time_s: image.time_s,
            force_n: image.force_n,
        })
        .collect();
    OutProject {
        format: PROJECT_FORMAT,
        version: PROJECT_VERSION,
        name: &project.name,
        units: Units {
            length: LENGTH_UNIT.to_owned(),
            points: POINT_UNIT.to_owned(),
        },
        scale_length: project.scale_length,
        sigma_px: project.sigma_px,
        reference: project.reference.as_deref(),
        scale_method: project.scale_method,
        focal_35mm: project.focal_35mm,
        target_pitch_mm: project.target_pitch_mm,
        area_mm2: project.area_mm2,
        images,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::parse_python_annotations;

    const DEMO: &str = include_str!("../../../testdata/demo/annotations.json");

    fn demo_project() -> Project {
        let mut p = parse_python_annotations(DEMO).unwrap();
        p.name = "demo".into();
        p.reference = Some("deformation-00mm-force.png".into());
        p.sigma_px = 0.5;
        p.images[0].sha256 = Some("ab".repeat(32));
        p.images[0].width = Some(1476);
        p.images[0].height = Some(1144);
        p.images[1].fiducials[2] = AnnotatedPoint::auto(Point::new(556.25, 765.5), Some(0.93));
        p
    }

    #[test]
    fn round_trips_byte_identically() {
        let p = demo_project();
        let first = to_project_json(&p);
        let back = parse_project_json(&first).unwrap();
        assert_eq!(back, p);
        assert_eq!(to_project_json(&back), first);
        assert!(first.ends_with("}\n"));
    }

    #[test]
    fn shape_of_the_file() {
        let text = to_project_json(&demo_project());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["format"], "strain-seer-project");
        assert_eq!(v["version"], 1);
        assert_eq!(v["units"]["length"], "mm");
        assert_eq!(v["units"]["points"], "px");
        assert_eq!(v["reference"], "deformation-00mm-force.png");
        assert_eq!(v["images"][1]["fiducials"][2]["source"], "auto");
        assert_eq!(v["images"][1]["fiducials"][2]["confidence"], 0.93);
        assert!(v["images"][1]["fiducials"][1].get("confidence").is_none());
        assert!(v["images"][1].get("sha256").is_none());
        assert_eq!(v["images"][0]["width"], 1476);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 8);
        let at = |k: &str| text.find(&format!("\"{k}\"")).unwrap();
        assert!(
            at("format") < at("version")
                && at("version") < at("name")
                && at("sigma_px") < at("images")
        );
    }

    #[test]
    fn unsupported_version_and_units_and_unknown_keys() {
        let text = to_project_json(&demo_project());
        let v2 = text.replacen("\"version\": 1", "\"version\": 2", 1);
        assert_eq!(
            parse_project_json(&v2).unwrap_err().to_string(),
            "field 'version': project file version 2 is not supported (this Strain Seer reads version 1)"
        );
        let cm = text.replacen("\"length\": \"mm\"", "\"length\": \"cm\"", 1);
        assert!(matches!(
            parse_project_json(&cm).unwrap_err().kind,
            FormatErrorKind::UnsupportedUnit { .. }
        ));
        let typo = text.replacen("\"scale_points\"", "\"scale_pts\"", 1);
        let err = parse_project_json(&typo).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `scale_pts`"),
            "{err}"
        );
        assert_eq!(err.location.image_id.as_deref(), Some("img0"));
    }

    #[test]
    fn bad_point_is_located() {
        let text = to_project_json(&demo_project());
        let bad = text.replacen("\"source\": \"auto\"", "\"source\": \"robot\"", 1);
        let err = parse_project_json(&bad).unwrap_err();
        assert_eq!(
            err.location.filename.as_deref(),
            Some("deformation-10mm-force.png")
        );
        assert_eq!(
            err.location.point.map(|p| (p.role, p.index)),
            Some((PointRole::Fiducial, 2))
        );
        let bad = text.replacen("0.93", "NaN", 1);
        let err = parse_project_json(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image 'deformation-10mm-force.png' (id 'img1'), fiducial point 2 (bottom-right), field \
             'confidence': NaN is not a finite number"
        );
    }

    #[test]
    fn empty_project_round_trips() {
        let p = Project::new("");
        let text = to_project_json(&p);
        assert_eq!(to_project_json(&parse_project_json(&text).unwrap()), text);
        assert!(text.contains("\"images\": []"));
    }

    #[test]
    fn a_bad_number_deep_in_an_image_names_the_path_image_and_point() {
        let text = to_project_json(&demo_project());
        let v: Value = serde_json::from_str(&text).unwrap();
        let x = v["images"][1]["scale_points"][0]["point"][0].to_string();
        // The first occurrence of the coordinate in image 1's scale points.
        let at = text.find("\"id\": \"img1\"").unwrap();
        let sp = at + text[at..].find("\"scale_points\"").unwrap();
        let px = sp + text[sp..].find(&x).unwrap();
        let bad = format!("{}\"twelve\"{}", &text[..px], &text[px + x.len()..]);
        let err = parse_project_json(&bad).unwrap_err();
        assert_eq!(
            err.location.json_path.as_deref(),
            Some("images[1].scale_points[0].point[0]")
        );
        assert_eq!(err.location.image_id.as_deref(), Some("img1"));
        assert_eq!(
            err.location.point.map(|p| (p.role, p.index)),
            Some((PointRole::Scale, 0))
        );
        assert_eq!(
            err.to_string(),
            "image 'deformation-10mm-force.png' (id 'img1'), scale point 0: invalid value: \
             string \"twelve\", expected a number (at images[1].scale_points[0].point[0])"
        );
    }

    #[test]
    fn a_missing_filename_names_the_image_by_id() {
        let text = to_project_json(&demo_project());
        let bad = text.replacen("\"filename\": \"deformation-20mm-force.png\",", "", 1);
        let err = parse_project_json(&bad).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::MissingField("filename"));
        assert_eq!(err.location.image_id.as_deref(), Some("img2"));
        assert_eq!(err.location.filename, None);
        assert_eq!(err.location.json_path.as_deref(), Some("images[2]"));
        assert_eq!(
            err.to_string(),
            "image id 'img2': missing required field \"filename\" (at images[2])"
        );
        // Without an id either, the image is named by its position.
        let bad = bad.replacen("\"id\": \"img2\",", "", 1);
        let err = parse_project_json(&bad).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::MissingField("id"));
        assert_eq!(err.location.field.as_deref(), Some("images[2]"));
    }

    #[test]
    fn an_unknown_field_in_a_point_names_the_point() {
        let text = to_project_json(&demo_project());
        let bad = text.replacen(
            "\"source\": \"auto\"",
            "\"source\": \"auto\", \"colour\": 1",
            1,
        );
        let err = parse_project_json(&bad).unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
        assert_eq!(err.location.image_id.as_deref(), Some("img1"));
        assert_eq!(
            err.location.point.map(|p| (p.role, p.index)),
            Some((PointRole::Fiducial, 2))
        );
        assert_eq!(
            err.location.json_path.as_deref(),
            Some("images[1].fiducials[2].colour")
        );
    }

    #[test]
    fn bare_non_finite_numbers_are_read_leniently_and_refused_by_validation() {
        let text = to_project_json(&demo_project());
        let v: Value = serde_json::from_str(&text).unwrap();
        let y = v["images"][2]["fiducials"][1]["point"][1].to_string();
        let at = text.find("\"id\": \"img2\"").unwrap();
        // The y of image 2's second fiducial becomes a bare NaN, as Python writes it.
        let fid = at + text[at..].find("\"fiducials\"").unwrap();
        let second = fid + text[fid..].match_indices("\"point\"").nth(1).unwrap().0;
        let num = second + text[second..].find(&y).unwrap();
        let bad = format!("{}NaN{}", &text[..num], &text[num + y.len()..]);
        let err = parse_project_json(&bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image 'deformation-20mm-force.png' (id 'img2'), fiducial point 1 (top-right), \
             field 'y': NaN is not a finite number"
        );
        let huge = format!("{}-1e999{}", &text[..num], &text[num + y.len()..]);
        assert_eq!(
            parse_project_json(&huge).unwrap_err().kind,
            FormatErrorKind::NotFinite(f64::NEG_INFINITY)
        );
    }

    #[test]
    fn format_version_and_shape_are_checked_before_the_fields() {
        let text = to_project_json(&demo_project());
        let other = text.replacen("\"strain-seer-project\"", "\"other\"", 1);
        let other = other.replacen("\"name\"", "\"nom\"", 1);
        assert_eq!(
            parse_project_json(&other).unwrap_err().kind,
            FormatErrorKind::WrongFormatTag("other".into())
        );
        let v9 = text.replacen("\"version\": 1", "\"version\": 9", 1);
        let v9 = v9.replacen("\"name\"", "\"nom\"", 1);
        assert!(matches!(
            parse_project_json(&v9).unwrap_err().kind,
            FormatErrorKind::UnsupportedVersion { .. }
        ));
        let no_version = text.replacen("\"version\": 1,", "", 1);
        assert_eq!(
            parse_project_json(&no_version).unwrap_err().kind,
            FormatErrorKind::MissingField("version")
        );
        assert_eq!(
            parse_project_json("[1, 2]").unwrap_err().kind,
            FormatErrorKind::UnknownFormat
        );
        assert_eq!(
            parse_project_json("{\"name\": \"x\"}").unwrap_err().kind,
            FormatErrorKind::UnknownFormat
        );
        let err = parse_project_json("{\"format\": \"strain-seer-project\",\n  \"version\": }")
            .unwrap_err();
        assert_eq!(
            (err.location.line, err.location.column),
            (Some(2), Some(14))
        );
    }

    #[test]
    fn the_format_key_first_is_recognised() {
        assert!(starts_with_format_key("{\"format\": 1}"));
        assert!(starts_with_format_key(" \n{\r\n\t \"format\" : 1}"));
        assert!(!starts_with_format_key(
            "{\"files_data\": {}, \"format\": 1}"
        ));
        assert!(!starts_with_format_key("[\"format\"]"));
        assert!(!starts_with_format_key(""));
    }

    /// A behaviour change of the typed reading: a key given twice was read as its last value
    /// (through a `serde_json::Value`); it is now refused. Strain Seer never writes one.
    #[test]
    fn a_key_given_twice_is_refused() {
        let text = to_project_json(&demo_project());
        let twice = text.replacen(
            "\"name\": \"demo\",",
            "\"name\": \"demo\", \"name\": \"x\",",
            1,
        );
        assert_ne!(twice, text);
        let err = parse_project_json(&twice).unwrap_err();
        assert_eq!(err.to_string(), "duplicate field `name`");
    }
}
