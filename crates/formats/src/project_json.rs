//! Strain Seer's own project file: `"format": "strain-seer-project"`, `"version": 1`.
//!
//! Richer than the Python tool's file (project name, reference image, σ, units, per-image
//! checksum and size, per-point source and detection confidence) and deterministic: keys always
//! in the same order, numbers in their shortest round-trip form, 2-space indentation, a trailing
//! newline. Export → import → export gives the same bytes.

use crate::error::{FormatError, FormatErrorKind, Location, PointRef};
use crate::lenient::{self, Num};
use crate::model::{AnnotatedPoint, LENGTH_UNIT, POINT_UNIT, PointSource, Project, ProjectImage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    #[allow(dead_code)]
    format: String,
    #[allow(dead_code)]
    version: Value,
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
    images: Vec<Value>,
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
    fiducials: Vec<Value>,
    scale_points: Vec<Value>,
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
    point: Vec<Num>,
    source: PointSource,
    #[serde(default)]
    confidence: Option<Num>,
}

/// Reads a Strain Seer project file (any `"format"` other than `"strain-seer-project"` or a
/// version other than 1 is an error).
pub fn parse_project_json(json: &str) -> Result<Project, FormatError> {
    let value = lenient::parse_value(json)?;
    from_project_value(value)
}

pub(crate) fn from_project_value(value: Value) -> Result<Project, FormatError> {
    let Some(object) = value.as_object() else {
        return Err(FormatError::bare(FormatErrorKind::UnknownFormat));
    };
    match object.get("format") {
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
    match object.get("version") {
        Some(v) if v.as_u64() == Some(u64::from(PROJECT_VERSION)) => {}
        Some(v) => {
            return Err(FormatError::new(
                Location::field("version"),
                FormatErrorKind::UnsupportedVersion {
                    found: v.to_string(),
                    supported: PROJECT_VERSION,
                },
            ));
        }
        None => {
            return Err(FormatError::new(
                Location::field("version"),
                FormatErrorKind::MissingField("version"),
            ));
        }
    }
    let raw: RawProject = lenient::from_value(value, Location::default)?;
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
        .enumerate()
        .map(|(position, value)| read_image(position, value))
        .collect::<Result<Vec<_>, _>>()?;
    let project = Project {
        name: raw.name,
        scale_length: raw.scale_length.0,
        reference: raw.reference,
        sigma_px: raw.sigma_px.0,
        scale_method: raw.scale_method,
        focal_35mm: raw.focal_35mm.map(|Num(f)| f),
        target_pitch_mm: raw.target_pitch_mm.map(|Num(f)| f),
        area_mm2: raw.area_mm2.map(|Num(f)| f),
        images,
    };
    project.validate()?;
    Ok(project)
}

fn read_image(position: usize, value: Value) -> Result<ProjectImage, FormatError> {
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let filename = value
        .get("filename")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let here = || match &id {
        Some(id) => Location::image(id, filename.as_deref()),
        None => Location {
            filename: filename.clone(),
            field: Some(format!("images[{position}]")),
            ..Location::default()
        },
    };
    let raw: RawImage = lenient::from_value(value, here)?;
    let read_points =
        |role: PointRole, values: Vec<Value>| -> Result<Vec<AnnotatedPoint>, FormatError> {
            values
                .into_iter()
                .enumerate()
                .map(|(index, value)| {
                    let at = || {
                        here().with_point(PointRef {
                            role,
                            index,
                            entry: None,
                        })
                    };
                    let p: RawPoint = lenient::from_value(value, at)?;
                    let [Num(x), Num(y)] = p.point.as_slice() else {
                        return Err(FormatError::new(
                            at().with_field("point"),
                            FormatErrorKind::PointArity(p.point.len()),
                        ));
                    };
                    Ok(AnnotatedPoint {
                        point: Point::new(*x, *y),
                        source: p.source,
                        confidence: p.confidence.map(|Num(c)| c),
                    })
                })
                .collect()
        };
    let fiducials = read_points(PointRole::Fiducial, raw.fiducials)?;
    let scale_points = read_points(PointRole::Scale, raw.scale_points)?;
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
}
