//! Changing the scale length after detection: never a silently wrong scale.
//!
//! Two scale points mean "these two points are the scale length apart". Changing the length
//! therefore changes what every image's scale points mean. The rule, per image with two scale
//! points:
//!
//! - **detected** points (both `auto`) with a saved ruler model are placed again from the model
//!   for the new length ([`RulerModel::scale_points`]: on graduation lines that far apart, as
//!   near the markers as the visible graduation allows); when the graduation shown is shorter
//!   than the new length they are removed and the image says why (it is then incomplete until
//!   they are placed again);
//! - detected points **without** a model (detected by an older version) cannot be re-placed and
//!   are removed the same way, asking for a new detection;
//! - **hand-placed** points are kept as they are and listed, so the user is told that they now
//!   stand for the new length.
//!
//! The analysis's ruler-model scales do not read the scale points at all, so for them the change
//! only moves the displayed points.

use super::round_point;
use crate::engine::{Fiducials, Point, RulerModel, ScalePoints};
use serde::Serialize;

/// What a scale-length change does to one image's scale points.
#[derive(Debug, Clone, PartialEq)]
pub enum ScaleAction {
    /// Nothing to do (no scale points, or the length did not change).
    Keep,
    /// Detected points placed again for the new length.
    Replace([Point; 2]),
    /// Detected points removed, with the reason.
    Remove(String),
    /// Hand-placed points kept: they now mean the new length.
    Manual,
}

/// The action for one image: its scale points, whether they were detected (all `auto`), its
/// ruler model and markers, and the old and new scale lengths (mm).
pub fn scale_action(
    scale: &[Point],
    detected: bool,
    ruler: Option<&RulerModel>,
    fiducials: &[Point],
    old_length: f64,
    new_length: f64,
) -> ScaleAction {
    if scale.len() != ScalePoints::COUNT || old_length == new_length {
        return ScaleAction::Keep;
    }
    if !detected {
        return ScaleAction::Manual;
    }
    let Some(model) = ruler else {
        return ScaleAction::Remove(
            "its scale points were detected for the old scale length and no ruler model was \
             saved with them: detect its ruler again"
                .to_owned(),
        );
    };
    let markers = <[Point; 5]>::try_from(fiducials)
        .ok()
        .and_then(|p| Fiducials::new(p).ok());
    match model.scale_points(new_length, markers.as_ref()) {
        Some(points) => ScaleAction::Replace(points.points().map(round_point)),
        None => ScaleAction::Remove(format!(
            "the ruler's visible graduation spans {} mm, less than the new scale length of {new_length} mm",
            (model.mm_range[1] - model.mm_range[0]).floor()
        )),
    }
}

/// One image named in a [`ScaleLengthChange`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageNote {
    pub image_id: Option<i64>,
    pub filename: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What a scale-length change did, for the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScaleLengthChange {
    pub old_length: f64,
    pub new_length: f64,
    /// Detected scale points placed again from the ruler model.
    pub replaced: Vec<ImageNote>,
    /// Detected scale points removed (the image says why).
    pub removed: Vec<ImageNote>,
    /// Hand-placed scale points kept: they now stand for the new length.
    pub manual: Vec<ImageNote>,
}

impl ScaleLengthChange {
    /// Record one image's action.
    pub fn record(&mut self, image_id: Option<i64>, filename: &str, action: &ScaleAction) {
        let note = |message: Option<String>| ImageNote {
            image_id,
            filename: filename.to_owned(),
            message,
        };
        match action {
            ScaleAction::Keep => {}
            ScaleAction::Replace(_) => self.replaced.push(note(None)),
            ScaleAction::Remove(reason) => self.removed.push(note(Some(reason.clone()))),
            ScaleAction::Manual => self.manual.push(note(None)),
        }
    }

    /// Warnings for a person, one per line (empty when nothing needs saying).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for n in &self.removed {
            out.push(format!(
                "{}: scale points removed: {}",
                n.filename,
                n.message.as_deref().unwrap_or("")
            ));
        }
        for n in &self.manual {
            out.push(format!(
                "{}: hand-placed scale points kept; they now stand for {} mm (they stood for {} mm)",
                n.filename, self.new_length, self.old_length
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fronto-parallel ruler, 10 px/mm, graduation 0–45 mm, cm lines at 0, 10, …
    fn model() -> RulerModel {
        let mm: Vec<f64> = (0..=45).map(f64::from).collect();
        let u: Vec<f64> = mm.iter().map(|m| 10.0 * m).collect();
        RulerModel::fit(Point::new(900.0, 800.0), [0.0, -1.0], &mm, &u, Some(0.0)).unwrap()
    }

    fn markers() -> Vec<Point> {
        [
            (400.0, 500.0),
            (600.0, 500.0),
            (600.0, 700.0),
            (400.0, 700.0),
            (500.0, 600.0),
        ]
        .iter()
        .map(|&(x, y)| Point::new(x, y))
        .collect()
    }

    #[test]
    fn detected_points_follow_the_new_length() {
        let m = model();
        let old = m.scale_points(10.0, None).unwrap();
        let action = scale_action(old.points(), true, Some(&m), &markers(), 10.0, 40.0);
        let ScaleAction::Replace([a, b]) = action else {
            panic!("{action:?}");
        };
        assert!((a.distance(b) - 400.0).abs() < 1e-6);
    }

    #[test]
    fn regression_points_found_10mm_apart_never_become_40mm() {
        // The bug this module fixes: 10 mm points relabelled as 40 mm (mm/px × 4).
        let m = model();
        let old = m.scale_points(10.0, None).unwrap();
        for action in [
            scale_action(old.points(), true, Some(&m), &markers(), 10.0, 40.0),
            scale_action(old.points(), true, None, &markers(), 10.0, 40.0),
            scale_action(old.points(), true, Some(&m), &markers(), 10.0, 60.0),
        ] {
            if let ScaleAction::Replace([a, b]) = &action {
                assert!((a.distance(*b) - 400.0).abs() < 1e-6);
            } else {
                assert!(matches!(action, ScaleAction::Remove(_)), "{action:?}");
            }
        }
        let ScaleAction::Remove(reason) =
            scale_action(old.points(), true, Some(&m), &markers(), 10.0, 60.0)
        else {
            panic!("60 mm does not fit a 45 mm graduation");
        };
        assert!(reason.contains("45 mm"), "{reason}");
    }

    #[test]
    fn hand_placed_points_are_kept_and_named() {
        let pts = [Point::new(1.0, 2.0), Point::new(3.0, 4.0)];
        assert_eq!(
            scale_action(&pts, false, Some(&model()), &[], 10.0, 20.0),
            ScaleAction::Manual
        );
        assert_eq!(
            scale_action(&pts, true, None, &[], 10.0, 10.0),
            ScaleAction::Keep
        );
        assert_eq!(
            scale_action(&pts[..1], true, None, &[], 10.0, 20.0),
            ScaleAction::Keep
        );
        let mut change = ScaleLengthChange {
            old_length: 10.0,
            new_length: 20.0,
            ..Default::default()
        };
        change.record(Some(3), "a.png", &ScaleAction::Manual);
        assert_eq!(
            change.warnings(),
            [
                "a.png: hand-placed scale points kept; they now stand for 20 mm (they stood for 10 mm)"
            ]
        );
    }
}
