//! The Python Strain Seer's annotation ("raw data") JSON, docs/cli.md, "File formats".
//!
//! Reading is as tolerant as the Python tool's own files are: partial point lists, a
//! `deformation_distance` that is `null` or absent, fiducial and scale points interleaved in
//! `points` (their order within each label is what counts), `label` or only `label_id`, bare
//! `NaN`/`Infinity` words. What it refuses, with the image and point named: non-finite numbers, an
//! image marked Complete whose points say otherwise, more than 5 fiducial or 2 scale points,
//! coincident scale points, a scale length that is not > 0.
//!
//! Writing produces the keys, nesting and order the Python tool writes (`json.dumps(indent=2)`
//! style), so the Python tool opens our files.

use crate::error::{FormatError, FormatErrorKind, Location, PointRef};
use crate::lenient::{self, Num};
use crate::model::{AnnotatedPoint, Project, ProjectImage};
use crate::typed::{self, Coords, Label, RawImage, Status, Top};
use rayon::prelude::*;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;
use strain_seer_engine::{Fiducials, Point, PointRole, ScalePoints};

pub(crate) const FIDUCIAL_LABEL: &str = "Fiducial";
pub(crate) const SCALE_LABEL: &str = "Scale";

/// Reads a Python Strain Seer annotation file into a [`Project`] (images sorted by `order`).
pub fn parse_python_annotations(json: &str) -> Result<Project, FormatError> {
    let top: Top = typed::read_top(json)?;
    if top.not_object {
        return Err(FormatError::bare(FormatErrorKind::UnknownFormat));
    }
    from_top(top)
}

/// The project of a file read by [`typed::read`] whose top level has `files_data`.
pub(crate) fn from_top(top: Top) -> Result<Project, FormatError> {
    let Top {
        files_data,
        mut others,
        ..
    } = top;
    let Some(files_data) = files_data else {
        return Err(FormatError::new(
            Location::default(),
            match others.get("files_data") {
                // Only a project file keeps `files_data` as a value; not readable here.
                Some(_) => FormatErrorKind::UnknownFormat,
                None => FormatErrorKind::MissingField("files_data"),
            },
        ));
    };
    let scale_length = match others.remove("scale_length") {
        None | Some(Value::Null) => {
            return Err(FormatError::new(
                Location::field("scale_length"),
                FormatErrorKind::MissingField("scale_length"),
            ));
        }
        Some(value) => {
            let Num(v) = lenient::from_value(value, || Location::field("scale_length"))?;
            v
        }
    };
    // Each image on its own (on every core for a long file); the first error in file order.
    let images: Vec<Result<ProjectImage, FormatError>> = files_data
        .into_par_iter()
        .with_min_len(1024)
        .enumerate()
        .map(|(position, (id, raw))| read_image(id, position, raw))
        .collect();
    let images = images.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut project = Project {
        name: String::new(),
        scale_length,
        reference: None,
        sigma_px: crate::model::DEFAULT_SIGMA_PX,
        images,
        ..Project::default()
    };
    project.sort_images();
    project.validate()?;
    Ok(project)
}

/// One image of `files_data`; `position` is its place in the file (its order when it has none).
fn read_image(id: String, position: usize, raw: RawImage) -> Result<ProjectImage, FormatError> {
    let here = || Location::image(&id, Some(&raw.filename));
    let order = match &raw.order {
        None | Some(Value::Null) => i64::try_from(position).unwrap_or(i64::MAX),
        Some(value) => {
            read_order(value).map_err(|kind| FormatError::new(here().with_field("order"), kind))?
        }
    };
    let points = raw.points.as_deref().unwrap_or_default();
    let mut fiducials = Vec::with_capacity(Fiducials::COUNT);
    let mut scale_points = Vec::with_capacity(ScalePoints::COUNT);
    for (entry, raw_point) in points.iter().enumerate() {
        let at_entry = || Location {
            entry: Some(entry),
            ..here()
        };
        let role = point_role(raw_point.label.as_ref(), raw_point.label_id)
            .map_err(|kind| FormatError::new(at_entry().with_field("label"), kind))?;
        let list: &mut Vec<AnnotatedPoint> = match role {
            PointRole::Fiducial => &mut fiducials,
            PointRole::Scale => &mut scale_points,
        };
        let at_point = || {
            here().with_point(PointRef {
                role,
                index: list.len(),
                entry: Some(entry),
            })
        };
        let Coords { xy: [x, y], len } = raw_point.point;
        if len != 2 {
            return Err(FormatError::new(
                at_point().with_field("point"),
                FormatErrorKind::PointArity(len),
            ));
        }
        for (field, v) in [("x", x), ("y", y)] {
            if !v.is_finite() {
                return Err(FormatError::new(
                    at_point().with_field(field),
                    FormatErrorKind::NotFinite(v),
                ));
            }
        }
        list.push(AnnotatedPoint::manual(Point::new(x, y)));
    }
    let deformation_distance = raw.deformation_distance.map(|Num(d)| d);
    if raw.status.is_some_and(|Status(complete)| complete) {
        let (fiducials, scale) = (fiducials.len(), scale_points.len());
        let has_distance = deformation_distance.is_some();
        if fiducials != Fiducials::COUNT || scale != ScalePoints::COUNT || !has_distance {
            return Err(FormatError::new(
                here().with_field("points"),
                FormatErrorKind::MarkedCompleteButNot {
                    fiducials,
                    scale,
                    has_distance,
                },
            ));
        }
    }
    let mut image = ProjectImage::new(id, raw.filename, order);
    image.fiducials = fiducials;
    image.scale_points = scale_points;
    image.deformation_distance = deformation_distance;
    image.excluded = raw.excluded;
    Ok(image)
}

/// The `order` of an image: an integer (exactly, also beyond 2⁵³), or a float with no fraction.
fn read_order(value: &Value) -> Result<i64, FormatErrorKind> {
    if let Some(n) = value.as_i64() {
        return Ok(n);
    }
    let v = match value {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => s.trim().parse::<f64>().unwrap_or(f64::NAN),
        other => {
            return Err(FormatErrorKind::Invalid(format!(
                "expected a whole number, got {other}"
            )));
        }
    };
    whole_number(v).ok_or(FormatErrorKind::OrderNotInteger(v))
}

/// `Some(n)` when `v` is a whole number that fits an i64.
#[allow(clippy::cast_possible_truncation)]
fn whole_number(v: f64) -> Option<i64> {
    // 2^63 is exactly representable; anything at or above it does not fit.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (v.is_finite() && v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v)).then_some(v as i64)
}

/// The role of a point from its `label` (case-insensitive) and/or `label_id`.
fn point_role(label: Option<&Label>, label_id: Option<i64>) -> Result<PointRole, FormatErrorKind> {
    let label_text = || {
        label.map(|l| match l {
            Label::Role(PointRole::Fiducial) => FIDUCIAL_LABEL.to_owned(),
            Label::Role(PointRole::Scale) => SCALE_LABEL.to_owned(),
            Label::Other(text) => text.clone(),
        })
    };
    let from_label = match label {
        None => None,
        Some(Label::Role(role)) => Some(*role),
        Some(Label::Other(_)) => {
            return Err(FormatErrorKind::UnknownLabel {
                label: label_text(),
                label_id,
            });
        }
    };
    let from_id = match label_id {
        None => None,
        Some(0) => Some(PointRole::Fiducial),
        Some(1) => Some(PointRole::Scale),
        Some(_) if from_label.is_some() => None,
        Some(_) => {
            return Err(FormatErrorKind::UnknownLabel {
                label: label_text(),
                label_id,
            });
        }
    };
    match (from_label, from_id) {
        (Some(a), Some(b)) if a != b => Err(FormatErrorKind::LabelMismatch {
            label: label_text().unwrap_or_default(),
            label_id: label_id.unwrap_or_default(),
        }),
        (Some(role), _) | (None, Some(role)) => Ok(role),
        (None, None) => Err(FormatErrorKind::UnknownLabel {
            label: None,
            label_id: None,
        }),
    }
}

/// The status pair the Python tool computes (its `validate_annotation`).
fn python_status(image: &ProjectImage) -> (bool, &'static str) {
    let points = image.fiducials.len() + image.scale_points.len();
    if points == 0 {
        (false, "Missing")
    } else if image.fiducials.len() != Fiducials::COUNT
        || image.scale_points.len() != ScalePoints::COUNT
    {
        (false, "Incomplete")
    } else if image.deformation_distance.is_none() {
        (false, "Missing Distance")
    } else {
        (true, "Complete")
    }
}

#[derive(Serialize)]
struct OutPoint {
    point: [f64; 2],
    label: &'static str,
    label_id: u8,
}

#[derive(Serialize)]
struct OutImage<'a> {
    id: &'a str,
    filename: &'a str,
    order: i64,
    points: Vec<OutPoint>,
    status: (bool, &'static str),
    deformation_distance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    excluded: Option<&'a str>,
}

struct OutFilesData<'a>(Vec<&'a ProjectImage>);

impl Serialize for OutFilesData<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for image in &self.0 {
            let points = image
                .fiducials
                .iter()
                .map(|p| (p, FIDUCIAL_LABEL, 0))
                .chain(image.scale_points.iter().map(|p| (p, SCALE_LABEL, 1)))
                .map(|(p, label, label_id)| OutPoint {
                    point: [p.point.x, p.point.y],
                    label,
                    label_id,
                })
                .collect();
            let out = OutImage {
                id: &image.id,
                filename: &image.filename,
                order: image.order,
                points,
                status: python_status(image),
                deformation_distance: image.deformation_distance,
                excluded: image.excluded.as_deref(),
            };
            map.serialize_entry(&image.id, &out)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct OutFile<'a> {
    files_data: OutFilesData<'a>,
    scale_length: f64,
}

/// Writes the project as a Python Strain Seer annotation file: images in `(order, id)` order,
/// fiducials then scale points, the Python status pair, 2-space indentation, trailing newline.
/// Point sources, confidences, checksums, the reference and σ are not part of this format.
pub fn to_annotation_json(project: &Project) -> String {
    crate::to_pretty_json(&out_file(project))
}

/// [`to_annotation_json`] streamed into `out` (give it a `BufWriter` for a file).
pub fn write_annotation_json<W: std::io::Write>(project: &Project, out: W) -> std::io::Result<()> {
    crate::write_pretty_json(&out_file(project), out)
}

fn out_file(project: &Project) -> OutFile<'_> {
    OutFile {
        files_data: OutFilesData(project.sorted_images()),
        scale_length: project.scale_length,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../../testdata/demo/annotations.json");

    fn demo_with(edit: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(DEMO).unwrap();
        edit(&mut v);
        serde_json::to_string_pretty(&v).unwrap()
    }

    #[test]
    fn reads_the_demo() {
        let p = parse_python_annotations(DEMO).unwrap();
        assert_eq!(p.scale_length, 40.0);
        assert_eq!(p.images.len(), 4);
        assert_eq!(p.images[1].filename, "deformation-10mm-force.png");
        assert_eq!(p.images[1].id, "img1");
        assert_eq!(p.images[1].fiducials[4].point, Point::new(422.0, 580.7));
        assert_eq!(p.images[3].scale_points[1].point, Point::new(820.0, 50.72));
        assert_eq!(p.images[2].deformation_distance, Some(20.0));
        assert!(p.images.iter().all(|i| i.status().is_complete()));
    }

    #[test]
    fn demo_writes_back_identically_up_to_the_final_newline() {
        let p = parse_python_annotations(DEMO).unwrap();
        let out = to_annotation_json(&p);
        assert_eq!(out.trim_end(), DEMO.trim_end());
    }

    #[test]
    fn partial_points_and_null_distance_are_incomplete() {
        let text = demo_with(|v| {
            let img = &mut v["files_data"]["img2"];
            img["points"].as_array_mut().unwrap().truncate(3);
            img["status"] = serde_json::json!([false, "Incomplete"]);
            img["deformation_distance"] = Value::Null;
            v["files_data"]["img3"]
                .as_object_mut()
                .unwrap()
                .remove("deformation_distance");
            v["files_data"]["img3"]["status"] = serde_json::json!([false, "Missing Distance"]);
        });
        let p = parse_python_annotations(&text).unwrap();
        assert_eq!(p.images[2].fiducials.len(), 3);
        assert_eq!(p.images[2].deformation_distance, None);
        assert_eq!(p.images[2].status().label(), "Incomplete");
        assert_eq!(p.images[3].status().label(), "Missing Distance");
        let again = parse_python_annotations(&to_annotation_json(&p)).unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn four_fiducials_marked_complete_is_refused() {
        let text = demo_with(|v| {
            v["files_data"]["img1"]["points"]
                .as_array_mut()
                .unwrap()
                .remove(2);
        });
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image 'deformation-10mm-force.png' (id 'img1'), field 'points': marked Complete but has 4 of 5 \
             fiducial points and 2 of 2 scale points"
        );
    }

    #[test]
    fn python_nan_literal_is_located() {
        let text = demo_with(|v| {
            v["files_data"]["img2"]["points"][3]["point"][1] = Value::String("__NAN__".into());
        })
        .replace("\"__NAN__\"", "NaN");
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image 'deformation-20mm-force.png' (id 'img2'), fiducial point 3 (bottom-left) = points[3], \
             field 'y': NaN is not a finite number"
        );
    }

    #[test]
    fn overflowing_number_is_located() {
        let text = demo_with(|v| {
            v["files_data"]["img0"]["points"][6]["point"][0] = Value::String("__BIG__".into());
        })
        .replace("\"__BIG__\"", "1e999");
        let err = parse_python_annotations(&text).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "image 'deformation-00mm-force.png' (id 'img0'), scale point 1 = points[6], field 'x': infinity"
            ),
            "{err}"
        );
    }

    #[test]
    fn non_finite_distance_and_scale_length() {
        let text =
            demo_with(|v| v["files_data"]["img3"]["deformation_distance"] = "Infinity".into());
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(err.location.field.as_deref(), Some("deformation_distance"));
        assert_eq!(
            err.location.filename.as_deref(),
            Some("deformation-30mm-force.png")
        );
        let text = demo_with(|v| v["scale_length"] = (-4.0).into());
        assert_eq!(
            parse_python_annotations(&text).unwrap_err().to_string(),
            "field 'scale_length': the scale length must be greater than 0 mm, got -4 mm"
        );
        let text = demo_with(|v| {
            v.as_object_mut().unwrap().remove("scale_length");
        });
        assert_eq!(
            parse_python_annotations(&text).unwrap_err().kind,
            FormatErrorKind::MissingField("scale_length")
        );
    }

    #[test]
    fn duplicate_scale_points_are_refused() {
        let text = demo_with(|v| {
            let p = v["files_data"]["img1"]["points"][5]["point"].clone();
            v["files_data"]["img1"]["points"][6]["point"] = p;
        });
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "image 'deformation-10mm-force.png' (id 'img1'), field 'scale_points': the two scale points \
             coincide at (940, 671.15): the scale (mm per pixel) is undefined"
        );
    }

    #[test]
    fn labels_interleaved_and_by_id_only() {
        let text = demo_with(|v| {
            let pts = v["files_data"]["img0"]["points"].as_array_mut().unwrap();
            let scale = pts.remove(5);
            pts.insert(0, scale);
            for p in pts.iter_mut() {
                p.as_object_mut().unwrap().remove("label");
            }
        });
        let p = parse_python_annotations(&text).unwrap();
        let demo = parse_python_annotations(DEMO).unwrap();
        assert_eq!(p.images[0].fiducials, demo.images[0].fiducials);
        assert_eq!(p.images[0].scale_points, demo.images[0].scale_points);
        let bad = demo_with(|v| v["files_data"]["img0"]["points"][1]["label"] = "Corner".into());
        let err = parse_python_annotations(&bad).unwrap_err();
        assert_eq!(err.location.entry, Some(1));
        assert!(matches!(err.kind, FormatErrorKind::UnknownLabel { .. }));
        let bad = demo_with(|v| v["files_data"]["img0"]["points"][1]["label_id"] = 1.into());
        assert!(matches!(
            parse_python_annotations(&bad).unwrap_err().kind,
            FormatErrorKind::LabelMismatch { .. }
        ));
    }

    #[test]
    fn too_many_fiducials_and_bad_shapes() {
        let text = demo_with(|v| {
            let pts = v["files_data"]["img0"]["points"].as_array_mut().unwrap();
            let extra = pts[0].clone();
            pts.insert(0, extra);
            v["files_data"]["img0"]["status"] = serde_json::json!([false, "Incomplete"]);
        });
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(
            err.kind,
            FormatErrorKind::TooManyPoints {
                role: PointRole::Fiducial,
                got: 6,
                max: 5
            }
        );
        let text = demo_with(|v| {
            v["files_data"]["img0"]["points"][2]["point"] = serde_json::json!([1, 2, 3])
        });
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::PointArity(3));
        assert_eq!(err.location.point.map(|p| p.index), Some(2));
        let text = demo_with(|v| v["files_data"]["img0"]["points"][2]["point"] = "here".into());
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(err.location.entry, Some(2));
        assert!(
            err.to_string().contains("invalid type: string \"here\""),
            "{err}"
        );
        let text = demo_with(|v| v["files_data"]["img0"]["order"] = 1.5.into());
        assert_eq!(
            parse_python_annotations(&text).unwrap_err().kind,
            FormatErrorKind::OrderNotInteger(1.5)
        );
        let text = demo_with(|v| v["files_data"]["img0"]["order"] = u64::MAX.into());
        assert!(matches!(
            parse_python_annotations(&text).unwrap_err().kind,
            FormatErrorKind::OrderNotInteger(_)
        ));
        let text = demo_with(|v| v["files_data"]["img0"]["order"] = 2.0.into());
        assert_eq!(
            parse_python_annotations(&text).unwrap().images[1].id,
            "img0"
        );
    }

    #[test]
    fn decoding_errors_name_the_json_path() {
        let text = demo_with(|v| {
            v["files_data"]["img1"]["points"][3]["point"] = serde_json::json!([1.0, "a"]);
        });
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(
            err.location.json_path.as_deref(),
            Some("files_data.img1.points[3].point[1]")
        );
        assert_eq!(err.location.entry, Some(3));
        assert_eq!(
            err.to_string(),
            "image 'deformation-10mm-force.png' (id 'img1'), points[3]: invalid value: string \"a\", \
             expected a number (at files_data.img1.points[3].point[1])"
        );
        let text = demo_with(|v| v["files_data"]["img2"]["order"] = serde_json::json!([1]));
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(err.location.field.as_deref(), Some("order"));
        let text = demo_with(|v| {
            v["files_data"]["img3"]
                .as_object_mut()
                .unwrap()
                .remove("filename");
        });
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(err.kind, FormatErrorKind::MissingField("filename"));
        assert_eq!(err.location.image_id.as_deref(), Some("img3"));
        assert_eq!(err.location.json_path.as_deref(), Some("files_data.img3"));
        let text = demo_with(|v| v["scale_length"] = "long".into());
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(err.location.field.as_deref(), Some("scale_length"));
    }

    #[test]
    fn file_order_is_kept_for_images_without_order() {
        // Keys that sort differently from their place in the file: img10 comes first.
        let text = r#"{"files_data": {
            "img10": {"filename": "c.png", "points": []},
            "img2": {"filename": "a.png", "points": []},
            "img1": {"filename": "b.png", "points": []},
            "img2": {"filename": "a2.png", "points": []}
        }, "scale_length": 10}"#;
        let p = parse_python_annotations(text).unwrap();
        let names: Vec<(&str, &str, i64)> = p
            .images
            .iter()
            .map(|i| (i.id.as_str(), i.filename.as_str(), i.order))
            .collect();
        // A key given twice keeps its first place and its last content (Python's json.load).
        assert_eq!(
            names,
            [
                ("img10", "c.png", 0),
                ("img2", "a2.png", 1),
                ("img1", "b.png", 2)
            ]
        );
    }

    #[test]
    fn strict_json_is_read_as_is_and_python_words_take_the_lenient_path() {
        // Strict JSON: no rewriting (a string "NaN" stays a string value, refused as a distance).
        let text = demo_with(|v| v["files_data"]["img1"]["filename"] = "NaN Infinity.png".into());
        let p = parse_python_annotations(&text).unwrap();
        assert_eq!(p.images[1].filename, "NaN Infinity.png");
        // Python's bare words, and an overflowing number, anywhere: read, then named.
        let text = demo_with(|v| {
            v["files_data"]["img3"]["deformation_distance"] = "@D@".into();
        })
        .replace("\"@D@\"", "-Infinity");
        let err = parse_python_annotations(&text).unwrap_err();
        assert_eq!(err.location.image_id.as_deref(), Some("img3"));
        assert_eq!(err.location.field.as_deref(), Some("deformation_distance"));
        // A syntax error that is not a Python word stays a syntax error with its line.
        let err = parse_python_annotations("{\"files_data\": {\n  \"a\": nope}}").unwrap_err();
        assert!(matches!(err.kind, FormatErrorKind::Syntax(_)), "{err}");
        assert_eq!(err.location.line, Some(2));
    }

    #[test]
    fn images_are_sorted_by_order_not_key() {
        let text = demo_with(|v| {
            v["files_data"]["img0"]["order"] = 9.into();
        });
        let p = parse_python_annotations(&text).unwrap();
        assert_eq!(p.images[3].id, "img0");
        assert_eq!(p.images[0].id, "img1");
    }

    #[test]
    fn written_status_follows_the_python_rules() {
        let mut image = ProjectImage::new("a", "a.png", 0);
        assert_eq!(python_status(&image), (false, "Missing"));
        image.deformation_distance = Some(1.0);
        assert_eq!(python_status(&image), (false, "Missing"));
        image
            .fiducials
            .push(AnnotatedPoint::manual(Point::new(1.0, 1.0)));
        assert_eq!(python_status(&image), (false, "Incomplete"));
    }
}
