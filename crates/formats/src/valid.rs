//! A project checked once: [`ValidProject`], and its setters that check only what they change.

use crate::error::{FormatError, Location};
use crate::model::{
    Project, ProjectImage, check_area, check_focal, check_reference, check_scale_length,
    check_sigma,
};
use strain_seer_engine::{ImageInput, ScaleMethod};

/// A [`Project`] that passed [`Project::validate`] ([`Project::into_valid`], or the parsers
/// through [`crate::parse_any_valid`]): the engine's inputs come from it without checking the
/// whole project again. It reads as a `Project` (`Deref`); it changes only through its setters,
/// each of which checks what it changes, with the same error as [`Project::validate`], and
/// leaves the project unchanged on error. So a project is validated once per analysis, however
/// many settings are overridden between reading and analysing (`strain-seer analyze`).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidProject(Project);

impl std::ops::Deref for ValidProject {
    type Target = Project;

    fn deref(&self) -> &Project {
        &self.0
    }
}

impl ValidProject {
    /// A project that a parser of this crate has just validated.
    pub(crate) fn parsed(project: Project) -> Self {
        Self(project)
    }

    /// The project, to change freely (check it again with [`Project::into_valid`]).
    pub fn into_inner(self) -> Project {
        self.0
    }

    /// The engine's inputs, one per image in `(order, id)` order (see
    /// [`Project::to_engine_inputs`]), without checking the project again.
    pub fn to_engine_inputs(&self) -> Result<Vec<ImageInput>, FormatError> {
        self.0.engine_inputs()
    }

    /// Sets the project name (any text).
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.0.name = name.into();
    }

    /// Sets the scale length, mm (finite, more than 0).
    pub fn set_scale_length(&mut self, length: f64) -> Result<(), FormatError> {
        check_scale_length(length)?;
        self.0.scale_length = length;
        Ok(())
    }

    /// Sets σ, px (finite, 0 or more).
    pub fn set_sigma_px(&mut self, sigma: f64) -> Result<(), FormatError> {
        check_sigma(sigma)?;
        self.0.sigma_px = sigma;
        Ok(())
    }

    /// Sets how pixels become mm (`None` = chosen from the annotations).
    pub fn set_scale_method(&mut self, method: Option<ScaleMethod>) {
        self.0.scale_method = method;
    }

    /// Sets the 35 mm-equivalent focal length, mm (in the engine's range).
    pub fn set_focal_35mm(&mut self, focal: Option<f64>) -> Result<(), FormatError> {
        check_focal(focal, || Location::field("focal_35mm"))?;
        self.0.focal_35mm = focal;
        Ok(())
    }

    /// Sets the cross-section area, mm² (more than 0, at most 1 m²).
    pub fn set_area_mm2(&mut self, area: Option<f64>) -> Result<(), FormatError> {
        check_area(area)?;
        self.0.area_mm2 = area;
        Ok(())
    }

    /// Sets the reference image (the filename of one of the images; `None` = automatic).
    pub fn set_reference(&mut self, reference: Option<String>) -> Result<(), FormatError> {
        check_reference(reference.as_deref(), |name| {
            self.0.image_by_filename(name).is_some()
        })?;
        self.0.reference = reference;
        Ok(())
    }

    /// Changes image `index` (of [`Project::images`]) with `edit`, then checks that image
    /// ([`ProjectImage::validate`]) and, if its id or filename changed, that they are still
    /// unique and that the reference still names an image. On error the image is put back as
    /// it was. An index out of range is not an error: nothing happens.
    pub fn edit_image(
        &mut self,
        index: usize,
        edit: impl FnOnce(&mut ProjectImage),
    ) -> Result<(), FormatError> {
        let Some(image) = self.0.images.get_mut(index) else {
            return Ok(());
        };
        let before = image.clone();
        edit(image);
        let renamed = image.id != before.id || image.filename != before.filename;
        let checked = image
            .validate()
            .and_then(|()| if renamed { self.0.validate() } else { Ok(()) });
        if checked.is_err() {
            self.0.images[index] = before;
        }
        checked
    }
}
