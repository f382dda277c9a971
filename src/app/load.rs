//! The test machine's side of an analysis: each result row's time in the film, force and
//! engineering stress, and the stress–strain fit (apparent modulus). One rule for the CLI's
//! tables and exports, the web app's analysis and exports, and the report.
//!
//! A row is a film frame when its image carries a time or a force (from the film and the
//! machine's log, [`crate::app::film`]). Stress needs the force and the project's cross-section
//! area (`area_mm2`): `σ = F / A` ([`crate::engine::stress`]). The fit needs at least 3 fitted
//! rows with a stress and two different strains; otherwise [`FrameColumns::stress_strain_note`]
//! says why there is none.

use crate::engine::stress::{StressStrain, row_stresses, stress_strain};
use crate::engine::{Analysis, RegressionError};
use std::collections::HashMap;

/// Film time, force and stress of each result row, and the stress–strain fit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameColumns {
    /// Parallel to `analysis.rows`: `[time_s, force_N, stress_MPa]`. Empty when no row is a
    /// film frame (a photo series): tables then have no film columns.
    pub rows: Vec<[Option<f64>; 3]>,
    /// The cross-section area used, mm².
    pub area_mm2: Option<f64>,
    /// `σ = E·ε + σ₀` over the fitted rows with a stress.
    pub stress_strain: Option<StressStrain>,
    /// Why there is no stress–strain fit although some rows have a force (no area entered, too
    /// few forces, …); `None` when there is a fit or no force at all.
    pub stress_strain_note: Option<String>,
}

impl FrameColumns {
    /// The columns of `analysis`, with `frame(name)` = the image's `(time_s, force_N)`.
    pub fn new(
        analysis: &Analysis,
        frame: impl Fn(&str) -> Option<(Option<f64>, Option<f64>)>,
        area_mm2: Option<f64>,
    ) -> Self {
        let frames: Vec<_> = analysis.rows.iter().map(|r| frame(&r.name)).collect();
        if frames
            .iter()
            .all(|f| matches!(f, None | Some((None, None))))
        {
            return FrameColumns {
                area_mm2,
                ..FrameColumns::default()
            };
        }
        let forces: Vec<Option<f64>> = frames.iter().map(|f| f.and_then(|f| f.1)).collect();
        let stresses = match area_mm2 {
            Some(area) => row_stresses(&forces, area),
            None => vec![None; forces.len()],
        };
        let rows = frames
            .iter()
            .zip(&forces)
            .zip(&stresses)
            .map(|((f, force), stress)| [f.and_then(|f| f.0), *force, *stress])
            .collect();
        let has_force = forces.iter().any(Option::is_some);
        let (fit, note) = match (has_force, area_mm2) {
            (false, _) => (None, None),
            (true, None) => (
                None,
                Some("enter the specimen's cross-section area (mm²) for stress".to_owned()),
            ),
            (true, Some(_)) => match stress_strain(analysis, &stresses) {
                Ok(fit) => (Some(fit), None),
                Err(e) => (None, Some(fit_note(&e))),
            },
        };
        FrameColumns {
            rows,
            area_mm2,
            stress_strain: fit,
            stress_strain_note: note,
        }
    }

    /// The columns for images given as `(name, time_s, force_N)`.
    pub fn from_images<'a>(
        analysis: &Analysis,
        images: impl IntoIterator<Item = (&'a str, Option<f64>, Option<f64>)>,
        area_mm2: Option<f64>,
    ) -> Self {
        let by_name: HashMap<&str, (Option<f64>, Option<f64>)> = images
            .into_iter()
            .filter(|(_, t, f)| t.is_some() || f.is_some())
            .map(|(name, t, f)| (name, (t, f)))
            .collect();
        Self::new(analysis, |name| by_name.get(name).copied(), area_mm2)
    }

    /// The columns of a project file's analysis (its images' times and forces, its area).
    pub fn from_project(analysis: &Analysis, project: &crate::formats::Project) -> Self {
        Self::from_images(
            analysis,
            project
                .images
                .iter()
                .map(|i| (i.filename.as_str(), i.time_s, i.force_n)),
            project.area_mm2,
        )
    }

    /// Whether any row is a film frame.
    pub fn any(&self) -> bool {
        !self.rows.is_empty()
    }

    /// Row `position`'s `[time_s, force_N, stress_MPa]` (all `None` for a photo).
    pub fn row(&self, position: usize) -> [Option<f64>; 3] {
        self.rows.get(position).copied().unwrap_or([None; 3])
    }
}

fn fit_note(e: &RegressionError) -> String {
    match e {
        RegressionError::TooFewPoints { n } => {
            format!("the stress–strain fit needs at least 3 fitted frames with a force, got {n}")
        }
        RegressionError::ConstantX { .. } => {
            "the stress–strain fit needs frames with different strains".to_owned()
        }
        other => format!("no stress–strain fit: {other}"),
    }
}

/// The stress–strain fit in one sentence, for tables and reports:
/// `σ = E·εyy + σ₀ over 4 frames: E = -412.7 ± 21.4 MPa (95 % CI [-504.8, -320.6]), σ₀ = 1.9 MPa, r² = 0.9946, p = 0.0027`.
pub fn stress_fit_text(fit: &StressStrain) -> String {
    let r = &fit.fit;
    format!(
        "σ = E·ε{a}{a} + σ₀ over {} frames: E = {} ± {} MPa (95 % CI [{}, {}]), σ₀ = {} MPa, r² = {:.4}, p = {:.3e}",
        r.n,
        fmt_sig(r.slope),
        fmt_sig(r.stderr),
        fmt_sig(r.slope_ci95[0]),
        fmt_sig(r.slope_ci95[1]),
        fmt_sig(r.intercept),
        r.r_squared,
        r.p_value,
        a = fit.axis
    )
}

/// Four significant digits, without scientific notation for the usual range of moduli.
fn fmt_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (3 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::synthetic::{SCALE_LENGTH_MM, synthetic_images};
    use crate::engine::{AnalysisOptions, analyze};

    fn demo_analysis() -> Analysis {
        let options = AnalysisOptions {
            scale_length: SCALE_LENGTH_MM,
            sigma_px: 0.0,
            ..AnalysisOptions::default()
        };
        match analyze(&synthetic_images(6, 11), &options) {
            Ok(a) => a,
            Err(e) => panic!("synthetic analysis: {e}"),
        }
    }

    /// The columns when row `i` has `frame(i) = (time, force)` and the area is `area`.
    fn columns(
        analysis: &Analysis,
        frame: impl Fn(usize) -> (Option<f64>, Option<f64>),
        area: Option<f64>,
    ) -> FrameColumns {
        FrameColumns::from_images(
            analysis,
            analysis.rows.iter().enumerate().map(|(i, r)| {
                let (t, f) = frame(i);
                (r.name.as_str(), t, f)
            }),
            area,
        )
    }

    #[test]
    fn photos_have_no_film_columns() {
        let analysis = demo_analysis();
        let cols = columns(&analysis, |_| (None, None), Some(10.0));
        assert!(!cols.any());
        assert_eq!(cols.row(0), [None; 3]);
        assert_eq!((cols.stress_strain, cols.stress_strain_note), (None, None));
    }

    #[test]
    fn frames_get_time_force_and_stress_and_a_fit() {
        let analysis = demo_analysis();
        let cols = columns(
            &analysis,
            |i| (Some(i as f64), Some(100.0 * i as f64)),
            Some(20.0),
        );
        assert!(cols.any());
        assert_eq!(cols.row(3), [Some(3.0), Some(300.0), Some(15.0)]);
        let fit = cols.stress_strain.as_ref().map(stress_fit_text);
        assert!(
            fit.is_some_and(|t| t.starts_with("σ = E·ε")),
            "{:?}",
            cols.stress_strain_note
        );
    }

    #[test]
    fn force_without_area_says_what_is_missing() {
        let analysis = demo_analysis();
        let cols = columns(&analysis, |_| (Some(1.0), Some(5.0)), None);
        assert_eq!(cols.row(0), [Some(1.0), Some(5.0), None]);
        assert!(cols.stress_strain.is_none());
        assert!(cols.stress_strain_note.is_some_and(|n| n.contains("area")));
    }

    #[test]
    fn the_fit_in_one_sentence_has_four_significant_digits() {
        use crate::engine::{Axis, Component, Regression};
        let fit = StressStrain {
            component: Component::EpsYy,
            axis: Axis::Y,
            fit: Regression {
                n: 4,
                slope: -412.73,
                intercept: 1.94321,
                r_value: -0.9973,
                r_squared: 0.99461,
                p_value: 0.0027,
                stderr: 21.4449,
                intercept_stderr: 0.5,
                slope_ci95: [-504.84, -320.62],
            },
        };
        assert_eq!(
            stress_fit_text(&fit),
            "σ = E·εyy + σ₀ over 4 frames: E = -412.7 ± 21.44 MPa (95 % CI [-504.8, -320.6]), \
             σ₀ = 1.943 MPa, r² = 0.9946, p = 2.700e-3"
        );
        assert_eq!(
            (fmt_sig(0.0), fmt_sig(12345.6), fmt_sig(0.5)),
            ("0".into(), "12346".into(), "0.5000".into())
        );
    }

    #[test]
    fn too_few_forces_is_a_note_not_an_error() {
        let analysis = demo_analysis();
        let first = analysis.rows[0].name.clone();
        let cols = FrameColumns::from_images(
            &analysis,
            [(first.as_str(), Some(0.0), Some(1.0))],
            Some(2.0),
        );
        assert_eq!(cols.row(0), [Some(0.0), Some(1.0), Some(0.5)]);
        assert_eq!(cols.row(1), [None; 3]);
        assert!(
            cols.stress_strain_note
                .is_some_and(|n| n.contains("at least 3"))
        );
    }
}
