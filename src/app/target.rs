//! The calibration target in one photo: looked for when the project names a pitch, reported the
//! same way by the command line and the web app, and its card kept out of the marker search.

use super::round3;
use crate::engine::detect::{self, AsLuma, TargetOptions};
use crate::engine::{Point, RulerModel, TargetModel};
use serde::Serialize;

/// What the target detection found (or why not), as the CLI prints it and the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    pub found: bool,
    /// Pitch asked for, mm.
    pub pitch_mm: f64,
    /// Dots used by the fit, and the grid they span (columns, rows).
    pub dots: Option<u32>,
    pub grid: Option<[u32; 2]>,
    /// RMS distance of the dots from the fitted map, px.
    pub rms_px: Option<f64>,
    /// The radial-distortion term, when significant (else 0).
    pub radial_k1: Option<f64>,
    /// Local scale at the image centre, mm/px.
    pub mm_per_px_at_centre: Option<f64>,
    /// The target's card in the image (the dots' grid grown by a pitch), px: drawn on the
    /// photo and kept out of the marker search.
    pub outline: Option<[Point; 4]>,
    /// The ruler as a check of the target, when both were found: the length the target gives
    /// to the ruler's graduation (its first to last line) over what the graduation says, − 1,
    /// in %. A few tenths of a percent is the two fits' noise; more means a target that was not
    /// printed at 100 %, a wrong pitch, or a ruler or target out of the specimen's plane.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruler_check_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip)]
    pub model: Option<TargetModel>,
}

/// How far the target's map and the ruler's graduation disagree on the ruler's length (see
/// [`TargetReport::ruler_check_pct`]), or `None` when the ruler lies beyond the target's horizon.
pub fn ruler_check_pct(target: &TargetModel, ruler: &RulerModel) -> Option<f64> {
    let [a, b] = ruler.mm_range;
    if b <= a || !(b - a).is_finite() {
        return None;
    }
    let ends = target
        .to_plane(&[ruler.point_at_mm(a), ruler.point_at_mm(b)])
        .ok()?;
    let pct = (ends[0].distance(ends[1]) / (b - a) - 1.0) * 100.0;
    pct.is_finite().then(|| (pct * 1000.0).round() / 1000.0)
}

impl TargetReport {
    /// Fill in the ruler check when the ruler was found too.
    pub fn check_ruler(&mut self, ruler: Option<&RulerModel>) {
        if let (Some(t), Some(r)) = (&self.model, ruler) {
            self.ruler_check_pct = ruler_check_pct(t, r);
        }
    }

    /// The regions the marker search must leave alone.
    pub fn exclusions(report: Option<&TargetReport>) -> Vec<[Point; 4]> {
        report.and_then(|r| r.outline).into_iter().collect()
    }
}

/// Look for a dot grid of `pitch_mm` in `image`.
pub fn find_target<I: AsLuma + ?Sized>(image: &I, pitch_mm: f64) -> TargetReport {
    let opts = TargetOptions {
        pitch_mm,
        ..TargetOptions::default()
    };
    match detect::detect_target(image, &opts) {
        Ok(found) => {
            let m = &found.model;
            TargetReport {
                found: true,
                pitch_mm,
                dots: Some(m.dots),
                grid: Some(m.grid),
                rms_px: Some(round3(m.rms_px)),
                radial_k1: Some(m.radial_k1),
                mm_per_px_at_centre: m.mm_per_px_at(m.centre),
                outline: found.outline(),
                ruler_check_pct: None,
                message: None,
                model: Some(found.model),
            }
        }
        Err(e) => TargetReport {
            found: false,
            pitch_mm,
            dots: None,
            grid: None,
            rms_px: None,
            radial_k1: None,
            mm_per_px_at_centre: None,
            outline: None,
            ruler_check_pct: None,
            message: Some(format!("no calibration target: {e}")),
            model: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::detect::scene::{
        Pose, SceneConfig, TargetLayout, render_scene, square_markers,
    };

    #[test]
    fn a_target_is_reported_with_its_card() {
        let cfg = SceneConfig {
            target: Some(TargetLayout::default()),
            ..SceneConfig::default()
        };
        let scene = render_scene(
            1,
            &cfg,
            &square_markers(12.0),
            [[1.0, 0.0], [0.0, 1.0]],
            &Pose::default(),
        );
        let report = find_target(&scene.image, 5.0);
        assert!(report.found, "{:?}", report.message);
        assert_eq!(report.grid, Some([7, 15]));
        assert_eq!(TargetReport::exclusions(Some(&report)).len(), 1);
        // 120 mm over 900 px.
        let scale = report.mm_per_px_at_centre.unwrap_or_default();
        assert!((scale - 120.0 / 900.0).abs() < 1e-3, "{scale}");

        // The ruler checks the target: right pitch → within a few tenths of a percent; a pitch
        // typed 10 % too large → the ruler comes out 10 % too long.
        let ruler = crate::engine::detect::detect_ruler(
            &scene.image,
            &crate::engine::detect::RulerOptions::default(),
        )
        .unwrap_or_else(|e| panic!("ruler: {e}"));
        let mut checked = report.clone();
        checked.check_ruler(Some(&ruler.model));
        let pct = checked.ruler_check_pct.unwrap_or(f64::NAN);
        assert!(pct.abs() < 0.3, "ruler check {pct} %");
        let wrong = find_target(&scene.image, 5.5);
        let pct = wrong
            .model
            .as_ref()
            .and_then(|t| ruler_check_pct(t, &ruler.model))
            .unwrap_or(f64::NAN);
        assert!(
            (pct - 10.0).abs() < 0.3,
            "ruler check with a wrong pitch {pct} %"
        );

        let blank = image::GrayImage::from_pixel(200, 200, image::Luma([100]));
        let none = find_target(&blank, 5.0);
        assert!(!none.found);
        assert!(
            none.message
                .is_some_and(|m| m.starts_with("no calibration target"))
        );
        assert!(TargetReport::exclusions(None).is_empty());
    }
}
