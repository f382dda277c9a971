//! The common project model that both file formats load into and write from, and its conversion
//! to the engine's inputs.

use crate::error::{FormatError, FormatErrorKind, Location, PointRef};
pub use crate::valid::ValidProject;
use foldhash::HashMap;
use serde::{Deserialize, Serialize};
use strain_seer_engine::scale::FOCAL_35MM_RANGE;
use strain_seer_engine::{
    AnalysisOptions, Fiducials, ImageInput, ImageStatus, Point, PointError, PointRole, RulerModel,
    ScaleMethod, ScalePoints, TargetModel,
};

/// Unit of lengths (scale length, deformation distance, residuals).
pub const LENGTH_UNIT: &str = "mm";
/// Unit of point coordinates.
pub const POINT_UNIT: &str = "px";
/// Default scale length (mm) of a new project, as in the Python tool.
pub const DEFAULT_SCALE_LENGTH: f64 = 10.0;
/// Default point-placement uncertainty (px).
pub const DEFAULT_SIGMA_PX: f64 = 1.0;

/// How a point was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PointSource {
    /// Placed or moved by a person.
    #[default]
    Manual,
    /// Found by automatic detection and not moved since.
    Auto,
}

/// A point with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnnotatedPoint {
    /// Pixel coordinates (origin top-left, x right, y down).
    pub point: Point,
    pub source: PointSource,
    /// Detection confidence in [0, 1] for automatic points; `None` for manual ones.
    pub confidence: Option<f64>,
}

impl AnnotatedPoint {
    /// A point placed by hand.
    pub fn manual(point: Point) -> Self {
        Self {
            point,
            source: PointSource::Manual,
            confidence: None,
        }
    }

    /// A point found by detection with its confidence.
    pub fn auto(point: Point, confidence: Option<f64>) -> Self {
        Self {
            point,
            source: PointSource::Auto,
            confidence,
        }
    }
}

/// One photo of the sequence and its annotations. Partial annotations are allowed: fewer than
/// five fiducials or two scale points, or no deformation distance, make the image not complete.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectImage {
    /// Stable id (the Python tool's `files_data` key). Unique in the project, not empty.
    pub id: String,
    /// Image filename. Unique in the project, not empty; names the image in tables and errors.
    pub filename: String,
    /// Position in the sequence; images are analysed in (order, id) order.
    pub order: i64,
    /// SHA-256 of the image file, lowercase hex.
    pub sha256: Option<String>,
    /// Image size in pixels (after EXIF orientation).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Deformation distance in mm.
    pub deformation_distance: Option<f64>,
    /// 0–5 fiducial points in the order 0 TL, 1 TR, 2 BR, 3 BL, 4 centre.
    pub fiducials: Vec<AnnotatedPoint>,
    /// 0–2 scale points.
    pub scale_points: Vec<AnnotatedPoint>,
    /// The ruler's graduation fitted by the detector, saved so that the result can be
    /// recomputed and audited (the ruler-model scales need it).
    pub ruler: Option<RulerModel>,
    /// The calibration target's map (detected in the photo, or given to it from a calibration
    /// photo of the same camera position), saved like the ruler model.
    pub target: Option<TargetModel>,
    /// 35 mm-equivalent focal length from the photo's EXIF, mm.
    pub focal_35mm: Option<f64>,
    /// Left out of the fits and Poisson's ratio by the user, with the reason (may be empty);
    /// the image stays in the tables, marked. `None` = fitted.
    pub excluded: Option<String>,
    /// A film's frame: its presentation time in the film, s.
    pub time_s: Option<f64>,
    /// The test machine's force at the frame's time, from its log, N.
    pub force_n: Option<f64>,
}

impl ProjectImage {
    /// An image with no annotations yet.
    pub fn new(id: impl Into<String>, filename: impl Into<String>, order: i64) -> Self {
        Self {
            id: id.into(),
            filename: filename.into(),
            order,
            sha256: None,
            width: None,
            height: None,
            deformation_distance: None,
            fiducials: Vec::new(),
            scale_points: Vec::new(),
            ruler: None,
            target: None,
            focal_35mm: None,
            excluded: None,
            time_s: None,
            force_n: None,
        }
    }

    /// Annotation status (docs/strain.md §1) from the point counts and the distance.
    pub fn status(&self) -> ImageStatus {
        ImageStatus::from_counts(
            self.fiducials.len(),
            self.scale_points.len(),
            self.deformation_distance.is_some(),
        )
    }

    fn location(&self) -> Location {
        Location::image(&self.id, Some(&self.filename))
    }

    /// Checks counts, finiteness, confidences, distinct scale points and the distance.
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.id.is_empty() {
            return Err(FormatError::new(
                self.location().with_field("id"),
                FormatErrorKind::Empty,
            ));
        }
        if self.filename.is_empty() {
            return Err(FormatError::new(
                self.location().with_field("filename"),
                FormatErrorKind::Empty,
            ));
        }
        for (role, points, max) in [
            (PointRole::Fiducial, &self.fiducials, Fiducials::COUNT),
            (PointRole::Scale, &self.scale_points, ScalePoints::COUNT),
        ] {
            if points.len() > max {
                let field = match role {
                    PointRole::Fiducial => "fiducials",
                    PointRole::Scale => "scale_points",
                };
                return Err(FormatError::new(
                    self.location().with_field(field),
                    FormatErrorKind::TooManyPoints {
                        role,
                        got: points.len(),
                        max,
                    },
                ));
            }
            for (index, p) in points.iter().enumerate() {
                let at = |field: &str| {
                    self.location()
                        .with_point(PointRef {
                            role,
                            index,
                            entry: None,
                        })
                        .with_field(field)
                };
                for (field, v) in [("x", p.point.x), ("y", p.point.y)] {
                    if !v.is_finite() {
                        return Err(FormatError::new(at(field), FormatErrorKind::NotFinite(v)));
                    }
                }
                if let Some(c) = p.confidence {
                    if !c.is_finite() {
                        return Err(FormatError::new(
                            at("confidence"),
                            FormatErrorKind::NotFinite(c),
                        ));
                    }
                    if !(0.0..=1.0).contains(&c) {
                        return Err(FormatError::new(
                            at("confidence"),
                            FormatErrorKind::ConfidenceOutOfRange(c),
                        ));
                    }
                }
            }
        }
        if let [a, b] = self.scale_points.as_slice()
            && let Err(PointError::CoincidentScalePoints(p)) = ScalePoints::new([a.point, b.point])
        {
            return Err(FormatError::new(
                self.location().with_field("scale_points"),
                FormatErrorKind::CoincidentScalePoints(p),
            ));
        }
        if let Some(d) = self.deformation_distance
            && !d.is_finite()
        {
            return Err(FormatError::new(
                self.location().with_field("deformation_distance"),
                FormatErrorKind::NotFinite(d),
            ));
        }
        if self.ruler.is_some_and(|r| !r.is_valid()) {
            return Err(FormatError::new(
                self.location().with_field("ruler"),
                FormatErrorKind::InvalidRulerModel,
            ));
        }
        if self.target.as_ref().is_some_and(|t| !t.is_valid()) {
            return Err(FormatError::new(
                self.location().with_field("target"),
                FormatErrorKind::InvalidTargetModel,
            ));
        }
        check_focal(self.focal_35mm, || self.location().with_field("focal_35mm"))
    }

    /// The engine's view of this image (call [`ProjectImage::validate`] first).
    fn to_engine_input(&self) -> Result<ImageInput, FormatError> {
        let to_err = |err: PointError| {
            let (role, index) = match &err {
                PointError::NotFinite { role, index, .. } => (*role, Some(*index)),
                PointError::WrongCount { role, .. } => (*role, None),
                PointError::CoincidentScalePoints(_) => (PointRole::Scale, None),
            };
            let mut location = self.location();
            if let Some(index) = index {
                location = location.with_point(PointRef {
                    role,
                    index,
                    entry: None,
                });
            }
            FormatError::new(location, FormatErrorKind::Invalid(err.to_string()))
        };
        let fiducials = match self.fiducials.as_slice() {
            [a, b, c, d, e] => Some(
                Fiducials::new([a.point, b.point, c.point, d.point, e.point]).map_err(to_err)?,
            ),
            _ => None,
        };
        let scale = match self.scale_points.as_slice() {
            [a, b] => Some(ScalePoints::new([a.point, b.point]).map_err(to_err)?),
            _ => None,
        };
        Ok(ImageInput {
            name: self.filename.clone(),
            fiducials,
            scale,
            deformation: self.deformation_distance,
            placed: Some((self.fiducials.len(), self.scale_points.len())),
            ruler: self.ruler,
            size: self.width.zip(self.height).map(|(w, h)| [w, h]),
            focal_35mm: self.focal_35mm,
            target: self.target.clone(),
            excluded: self.excluded.clone(),
        })
    }
}

/// A focal length, when given, must be finite and in the engine's accepted range.
pub(crate) fn check_focal(
    focal: Option<f64>,
    at: impl Fn() -> Location,
) -> Result<(), FormatError> {
    match focal {
        Some(f) if !f.is_finite() => Err(FormatError::new(at(), FormatErrorKind::NotFinite(f))),
        Some(f) if !FOCAL_35MM_RANGE.contains(&f) => Err(FormatError::new(
            at(),
            FormatErrorKind::FocalLengthOutOfRange(f),
        )),
        _ => Ok(()),
    }
}

/// The scale length must be a finite number of mm, more than 0.
pub(crate) fn check_scale_length(length: f64) -> Result<(), FormatError> {
    let at = || Location::field("scale_length");
    if !length.is_finite() {
        return Err(FormatError::new(at(), FormatErrorKind::NotFinite(length)));
    }
    if length <= 0.0 {
        return Err(FormatError::new(
            at(),
            FormatErrorKind::ScaleLengthNotPositive(length),
        ));
    }
    Ok(())
}

/// σ must be a finite number of px, 0 or more.
pub(crate) fn check_sigma(sigma: f64) -> Result<(), FormatError> {
    let at = || Location::field("sigma_px");
    if !sigma.is_finite() {
        return Err(FormatError::new(at(), FormatErrorKind::NotFinite(sigma)));
    }
    if sigma < 0.0 {
        return Err(FormatError::new(
            at(),
            FormatErrorKind::SigmaNegative(sigma),
        ));
    }
    Ok(())
}

/// A calibration-target pitch, when given, is more than 0 and at most 100 mm.
pub(crate) fn check_target_pitch(pitch: Option<f64>) -> Result<(), FormatError> {
    match pitch {
        Some(p) if !(p.is_finite() && p > 0.0 && p <= 100.0) => Err(FormatError::new(
            Location::field("target_pitch_mm"),
            FormatErrorKind::InvalidTargetPitch(p),
        )),
        _ => Ok(()),
    }
}

/// A cross-section area, when given, is more than 0 and at most 1 m².
pub(crate) fn check_area(area: Option<f64>) -> Result<(), FormatError> {
    match area {
        Some(a) if !(a.is_finite() && a > 0.0 && a <= 1e6) => Err(FormatError::new(
            Location::field("area_mm2"),
            FormatErrorKind::InvalidArea(a),
        )),
        _ => Ok(()),
    }
}

/// The reference, when given, is the filename of one of the images.
pub(crate) fn check_reference(
    reference: Option<&str>,
    is_filename: impl Fn(&str) -> bool,
) -> Result<(), FormatError> {
    match reference {
        Some(name) if !is_filename(name) => Err(FormatError::new(
            Location::field("reference"),
            FormatErrorKind::UnknownReference(name.to_owned()),
        )),
        _ => Ok(()),
    }
}

/// A Strain Seer project: settings and annotated images. Both file formats load into this.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Project name ("" when the file had none, as the Python tool's files do not).
    pub name: String,
    /// Real distance between the two scale points, mm (> 0).
    pub scale_length: f64,
    /// Filename of the reference image; `None` = smallest deformation distance (ties by order).
    pub reference: Option<String>,
    /// Point-placement uncertainty, px (≥ 0).
    pub sigma_px: f64,
    /// How pixels become mm; `None` = chosen from the annotations
    /// ([`strain_seer_engine::auto_scale_method`]).
    pub scale_method: Option<ScaleMethod>,
    /// 35 mm-equivalent focal length for the perspective correction, mm; `None` = each photo's
    /// EXIF value, else the engine's default.
    pub focal_35mm: Option<f64>,
    /// Pitch of the dot-grid calibration target in the photos, mm; `None` = no target.
    pub target_pitch_mm: Option<f64>,
    /// The specimen's cross-section area, mm²: engineering stress = force / area. `None` = not
    /// entered.
    pub area_mm2: Option<f64>,
    /// Images in file order; [`Project::sorted_images`] gives analysis order.
    pub images: Vec<ProjectImage>,
}

impl Default for Project {
    fn default() -> Self {
        Self::new("")
    }
}

impl Project {
    /// An empty project with the default scale length (10 mm) and σ (1 px).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            scale_length: DEFAULT_SCALE_LENGTH,
            reference: None,
            sigma_px: DEFAULT_SIGMA_PX,
            scale_method: None,
            focal_35mm: None,
            target_pitch_mm: None,
            area_mm2: None,
            images: Vec::new(),
        }
    }

    /// Images sorted by `(order, id)`: the order of the analysis, the tables and the files.
    pub fn sorted_images(&self) -> Vec<&ProjectImage> {
        let mut images: Vec<&ProjectImage> = self.images.iter().collect();
        images.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
        images
    }

    /// Sorts [`Project::images`] in place by `(order, id)`.
    pub fn sort_images(&mut self) {
        self.images
            .sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
    }

    /// The image with this filename.
    pub fn image_by_filename(&self, filename: &str) -> Option<&ProjectImage> {
        self.images.iter().find(|i| i.filename == filename)
    }

    /// Checks the settings and every image; the first problem found is returned with its location.
    /// [`Project::into_valid`] keeps the result in the type.
    pub fn validate(&self) -> Result<(), FormatError> {
        check_scale_length(self.scale_length)?;
        check_sigma(self.sigma_px)?;
        check_focal(self.focal_35mm, || Location::field("focal_35mm"))?;
        check_target_pitch(self.target_pitch_mm)?;
        check_area(self.area_mm2)?;
        let n = self.images.len();
        let mut ids: HashMap<&str, &ProjectImage> = crate::fast_map(n);
        let mut filenames: HashMap<&str, &ProjectImage> = crate::fast_map(n);
        for image in self.sorted_images() {
            image.validate()?;
            if ids.insert(&image.id, image).is_some() {
                return Err(FormatError::new(
                    image.location().with_field("id"),
                    FormatErrorKind::DuplicateId(image.id.clone()),
                ));
            }
            if let Some(first) = filenames.insert(&image.filename, image) {
                return Err(FormatError::new(
                    image.location().with_field("filename"),
                    FormatErrorKind::DuplicateFilename {
                        filename: image.filename.clone(),
                        first_id: first.id.clone(),
                        second_id: image.id.clone(),
                    },
                ));
            }
        }
        check_reference(self.reference.as_deref(), |name| {
            filenames.contains_key(name)
        })
    }

    /// The project, checked once ([`Project::validate`]), as a [`ValidProject`]: the engine's
    /// inputs without checking again, settings changed with the setters that check only what
    /// they change.
    pub fn into_valid(self) -> Result<ValidProject, FormatError> {
        self.validate()?;
        Ok(ValidProject::parsed(self))
    }

    /// The engine's inputs, one per image in `(order, id)` order, after [`Project::validate`].
    /// Incomplete images are included (with `None` parts); the engine reports them as excluded.
    /// For a project already checked, [`ValidProject::to_engine_inputs`] does not check again.
    pub fn to_engine_inputs(&self) -> Result<Vec<ImageInput>, FormatError> {
        self.validate()?;
        self.engine_inputs()
    }

    /// The engine's inputs of a project known valid.
    /// The images are converted in parallel; the first error in `(order, id)` order is the one
    /// returned.
    pub(crate) fn engine_inputs(&self) -> Result<Vec<ImageInput>, FormatError> {
        use rayon::prelude::*;
        let inputs: Vec<Result<ImageInput, FormatError>> = self
            .sorted_images()
            .into_par_iter()
            .with_min_len(1024)
            .map(ProjectImage::to_engine_input)
            .collect();
        inputs.into_iter().collect()
    }

    /// Analysis options from the project settings (scale length, reference, σ); the loading axis
    /// and the regressed components are the engine's defaults.
    pub fn analysis_options(&self) -> AnalysisOptions {
        AnalysisOptions {
            scale_length: self.scale_length,
            reference: self.reference.clone(),
            sigma_px: self.sigma_px,
            scale_method: self.scale_method,
            focal_35mm: self.focal_35mm,
            ..AnalysisOptions::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete_image(id: &str, order: i64, d: f64) -> ProjectImage {
        let mut image = ProjectImage::new(id, format!("{id}.png"), order);
        image.fiducials = [
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (5.0, 5.0),
        ]
        .into_iter()
        .map(|(x, y)| AnnotatedPoint::manual(Point::new(x, y)))
        .collect();
        image.scale_points = vec![
            AnnotatedPoint::manual(Point::new(0.0, 20.0)),
            AnnotatedPoint::auto(Point::new(10.0, 20.0), Some(0.9)),
        ];
        image.deformation_distance = Some(d);
        image
    }

    #[test]
    fn engine_inputs_follow_order_then_id() {
        let mut p = Project::new("t");
        p.images = vec![
            complete_image("b", 1, 1.0),
            complete_image("c", 0, 2.0),
            complete_image("a", 1, 3.0),
        ];
        let inputs = p.to_engine_inputs().unwrap();
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["c.png", "a.png", "b.png"]);
        assert!(
            inputs
                .iter()
                .all(|i| i.fiducials.is_some() && i.scale.is_some())
        );
        assert_eq!(inputs[0].placed, Some((5, 2)));
    }

    #[test]
    fn partial_image_is_passed_with_none() {
        let mut p = Project::new("t");
        let mut img = complete_image("a", 0, 1.0);
        img.fiducials.truncate(4);
        img.deformation_distance = None;
        assert_eq!(img.status(), ImageStatus::Incomplete);
        p.images = vec![img];
        let inputs = p.to_engine_inputs().unwrap();
        assert!(inputs[0].fiducials.is_none());
        assert_eq!(inputs[0].placed, Some((4, 2)));
    }

    #[test]
    fn validation_names_image_point_and_field() {
        let mut p = Project::new("t");
        let mut img = complete_image("img7", 0, 1.0);
        img.fiducials[3].point.y = f64::NAN;
        p.images = vec![img];
        let err = p.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "image 'img7.png' (id 'img7'), fiducial point 3 (bottom-left), field 'y': NaN is not a finite number"
        );
    }

    #[test]
    fn duplicate_filenames_and_unknown_reference_are_refused() {
        let mut p = Project::new("t");
        let a = complete_image("a", 0, 1.0);
        let mut b = complete_image("b", 1, 1.0);
        b.filename = a.filename.clone();
        p.images = vec![a, b];
        assert!(matches!(
            p.validate().unwrap_err().kind,
            FormatErrorKind::DuplicateFilename { .. }
        ));
        p.images.pop();
        p.reference = Some("nope.png".into());
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "field 'reference': the reference image \"nope.png\" is not one of the project's images"
        );
    }

    #[test]
    fn coincident_scale_points_and_bad_confidence() {
        let mut p = Project::new("t");
        let mut img = complete_image("a", 0, 1.0);
        img.scale_points[1].point = img.scale_points[0].point;
        p.images = vec![img];
        assert!(matches!(
            p.validate().unwrap_err().kind,
            FormatErrorKind::CoincidentScalePoints(_)
        ));
        p.images[0] = complete_image("a", 0, 1.0);
        p.images[0].scale_points[1].confidence = Some(1.5);
        assert!(matches!(
            p.validate().unwrap_err().kind,
            FormatErrorKind::ConfidenceOutOfRange(_)
        ));
    }

    #[test]
    fn scale_length_and_sigma_are_checked() {
        let mut p = Project::new("t");
        p.scale_length = 0.0;
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "field 'scale_length': the scale length must be greater than 0 mm, got 0 mm"
        );
        p.scale_length = 5.0;
        p.sigma_px = -1.0;
        assert!(matches!(
            p.validate().unwrap_err().kind,
            FormatErrorKind::SigmaNegative(_)
        ));
    }

    #[test]
    fn a_valid_project_is_checked_once_and_its_setters_check_what_they_change() {
        let mut p = Project::new("t");
        p.images = vec![complete_image("a", 0, 0.0), complete_image("b", 1, 1.0)];
        let mut valid = p.clone().into_valid().unwrap();
        assert_eq!(
            valid.to_engine_inputs().unwrap(),
            p.to_engine_inputs().unwrap()
        );
        // The same errors as Project::validate, and nothing changed.
        assert_eq!(
            valid.set_scale_length(-2.0).unwrap_err().to_string(),
            "field 'scale_length': the scale length must be greater than 0 mm, got -2 mm"
        );
        assert_eq!(
            valid
                .set_reference(Some("nope.png".into()))
                .unwrap_err()
                .to_string(),
            "field 'reference': the reference image \"nope.png\" is not one of the project's images"
        );
        assert!(matches!(
            valid.set_sigma_px(f64::NAN).unwrap_err().kind,
            FormatErrorKind::NotFinite(_)
        ));
        assert!(matches!(
            valid.set_focal_35mm(Some(1.0)).unwrap_err().kind,
            FormatErrorKind::FocalLengthOutOfRange(_)
        ));
        assert!(matches!(
            valid.set_area_mm2(Some(0.0)).unwrap_err().kind,
            FormatErrorKind::InvalidArea(_)
        ));
        assert_eq!(*valid, p);
        valid.set_scale_length(20.0).unwrap();
        valid.set_reference(Some("b.png".into())).unwrap();
        valid.set_sigma_px(0.5).unwrap();
        assert_eq!(valid.scale_length, 20.0);
        assert_eq!(valid.analysis_options().reference.as_deref(), Some("b.png"));
        // An image edit that breaks the image is refused and undone.
        let err = valid
            .edit_image(1, |image| image.scale_points[1] = image.scale_points[0])
            .unwrap_err();
        assert!(
            matches!(err.kind, FormatErrorKind::CoincidentScalePoints(_)),
            "{err}"
        );
        let err = valid
            .edit_image(1, |image| image.filename = "a.png".into())
            .unwrap_err();
        assert!(
            matches!(err.kind, FormatErrorKind::DuplicateFilename { .. }),
            "{err}"
        );
        assert_eq!(valid.images[1], complete_image("b", 1, 1.0));
        valid
            .edit_image(1, |image| image.excluded = Some("blurred".into()))
            .unwrap();
        assert_eq!(valid.images[1].excluded.as_deref(), Some("blurred"));
        assert!(valid.clone().into_inner().validate().is_ok());
    }
}
