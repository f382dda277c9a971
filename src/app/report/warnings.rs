//! What a reader of the report should look at twice: images left out (incomplete or excluded),
//! fits that explain little, images with a large fit residual, detected points of low
//! confidence, and a scale that may not be what the user thinks.
//!
//! Thresholds: a detection confidence below [`LOW_CONFIDENCE`]; a fit residual more than
//! [`RESIDUAL_FACTOR`] times the median of the other images and above 0.01 mm; r² below
//! [`LOW_R_SQUARED`] for a normal strain; mm per pixel varying by more than
//! [`SCALE_SPREAD`] across the analysed images (the camera moved or zoomed).

use super::ReportInput;
use crate::engine::{Component, ScaleMethod};
use crate::formats::PointSource;

/// Detection confidence below this is flagged (0–1).
pub const LOW_CONFIDENCE: f64 = 0.5;
/// A residual this many times the median is flagged.
pub const RESIDUAL_FACTOR: f64 = 3.0;
/// Normal-strain fits with r² below this are flagged.
pub const LOW_R_SQUARED: f64 = 0.9;
/// Relative spread of mm/px across images above which the scale is flagged.
pub const SCALE_SPREAD: f64 = 0.1;

/// One warning: a short title and what it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub title: &'static str,
    pub detail: String,
}

fn warn(title: &'static str, detail: String) -> Warning {
    Warning { title, detail }
}

/// Names, at most 10, then "and N more".
fn names<'a>(list: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = list.collect();
    let mut text = all
        .iter()
        .take(10)
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > 10 {
        text.push_str(&format!(" and {} more", all.len() - 10));
    }
    text
}

/// Every warning of the report, in a fixed order.
pub fn warnings(input: &ReportInput<'_>) -> Vec<Warning> {
    let a = input.analysis;
    let mut out = Vec::new();
    if !a.excluded.is_empty() {
        let list: Vec<String> = a
            .excluded
            .iter()
            .take(10)
            .map(|(name, status)| format!("'{name}' ({status})"))
            .collect();
        let more = a.excluded.len().saturating_sub(10);
        out.push(warn(
            "Incomplete images left out",
            format!(
                "{} image(s) are not complete and are not in the tables or fits: {}{}",
                a.excluded.len(),
                list.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        ));
    }
    let user: Vec<_> = a.rows.iter().filter(|r| !r.is_fitted()).collect();
    if !user.is_empty() {
        let list: Vec<String> = user
            .iter()
            .take(10)
            .map(|r| match r.excluded.as_deref() {
                Some(reason) if !reason.is_empty() => format!("'{}' ({reason})", r.name),
                _ => format!("'{}' (no reason given)", r.name),
            })
            .collect();
        out.push(warn(
            "Images excluded from the fits",
            format!(
                "{} image(s) are in the tables, marked, but not in the regressions or Poisson's \
                 ratio: {}{}",
                user.len(),
                list.join(", "),
                if user.len() > 10 {
                    format!(" and {} more", user.len() - 10)
                } else {
                    String::new()
                }
            ),
        ));
    }
    for cr in &a.regressions {
        let normal = matches!(cr.component, Component::EpsXx | Component::EpsYy);
        if normal && cr.regression.r_squared < LOW_R_SQUARED {
            out.push(warn(
                "Weak linear fit",
                format!(
                    "{}: r² = {:.3} (below {LOW_R_SQUARED}): the strain is not linear in the \
                     deformation distance, or the points are noisy",
                    cr.component.label(),
                    cr.regression.r_squared
                ),
            ));
        }
    }
    let mut residuals: Vec<f64> = a
        .rows
        .iter()
        .filter(|r| r.index != a.reference)
        .map(|r| r.measures.residual_mm)
        .filter(|v| v.is_finite())
        .collect();
    residuals.sort_by(f64::total_cmp);
    if let Some(&median) = residuals.get(residuals.len() / 2) {
        let high = a.rows.iter().filter(|r| {
            r.measures.residual_mm > RESIDUAL_FACTOR * median && r.measures.residual_mm > 0.01
        });
        let list = names(high.map(|r| r.name.as_str()));
        if !list.is_empty() {
            out.push(warn(
                "High fit residual",
                format!(
                    "the markers of {list} do not move as one homogeneous deformation (residual \
                     more than {RESIDUAL_FACTOR}× the median {median:.4} mm): check their placement"
                ),
            ));
        }
    }
    let low = input.project.sorted_images().into_iter().filter(|im| {
        im.fiducials.iter().chain(&im.scale_points).any(|p| {
            p.source == PointSource::Auto && p.confidence.is_some_and(|c| c < LOW_CONFIDENCE)
        })
    });
    let list = names(low.map(|im| im.filename.as_str()));
    if !list.is_empty() {
        out.push(warn(
            "Low detection confidence",
            format!(
                "detected points with a confidence below {LOW_CONFIDENCE} on {list} (highlighted \
                 on the thumbnails): check them by eye"
            ),
        ));
    }
    let scales: Vec<f64> = a.rows.iter().map(|r| r.mm_per_px).collect();
    let (lo, hi) = scales
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    if lo > 0.0 && hi.is_finite() && hi / lo - 1.0 > SCALE_SPREAD {
        out.push(warn(
            "Scale changes between photos",
            format!(
                "mm per pixel ranges from {lo:.5} to {hi:.5} ({:.0} %): the camera moved or \
                 zoomed, so the scale must be measured on every photo (it is)",
                (hi / lo - 1.0) * 100.0
            ),
        ));
    }
    if a.scale_method == ScaleMethod::Span {
        out.push(warn(
            "Scale from two points",
            "the scale comes from the two scale points alone (method “span”): the camera's tilt is not \
             corrected and the scale points should lie in the specimen's plane near the markers"
                .to_owned(),
        ));
    }
    out
}
