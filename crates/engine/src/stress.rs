//! Engineering stress from the test machine's force, and the stress–strain fit.
//!
//! A film's frames carry the force the test machine logged at their time (N). With the
//! specimen's cross-section area `A` (mm², measured before the test), the **engineering stress**
//! of a frame is `σ = F / A` in N/mm² = MPa: the nominal stress on the undeformed section, the
//! stress that goes with the engineering (small) strain. (True stress would divide by the
//! current area, which a 2D measurement of one face does not give.)
//!
//! The **stress–strain fit** regresses σ against the small normal strain along the loading
//! axis, `σ = E·ε + σ₀`, by the same least squares as the strain–deformation fits
//! ([`crate::linregress`]), over the rows that are fitted ([`crate::ImageResult::is_fitted`]) and have
//! a force. Its slope `E` is the apparent (secant-fit) modulus in MPa, with its standard error,
//! 95 % interval, r² and p. The loading axis is the one Poisson's ratio used (given or chosen by
//! the larger strain slope), else y. The fit is linear: it describes the elastic part of a test;
//! past yield, read the plot, not `E`.

use crate::analysis::{Analysis, Axis};
use crate::regression::{Regression, RegressionError, linregress};
use crate::strain::Component;
use serde::{Deserialize, Serialize};

/// The engineering stress `F / A`, MPa, for a force in N and an area in mm²; `None` unless both
/// are finite and the area is positive.
pub fn engineering_stress_mpa(force_n: f64, area_mm2: f64) -> Option<f64> {
    let stress = force_n / area_mm2;
    (force_n.is_finite() && area_mm2.is_finite() && area_mm2 > 0.0 && stress.is_finite())
        .then_some(stress + 0.0)
}

/// The fit of stress against the loading-axis strain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressStrain {
    /// The strain on the x axis of the fit: the small normal strain along `axis`.
    pub component: Component,
    pub axis: Axis,
    /// `σ (MPa) = slope·ε + intercept`: the slope is the apparent modulus E, MPa.
    pub fit: Regression,
}

/// Each result row's engineering stress (MPa), parallel to `analysis.rows`: `forces_n[i]` is row
/// `i`'s force (or `None`), `area_mm2` the cross-section area.
pub fn row_stresses(forces_n: &[Option<f64>], area_mm2: f64) -> Vec<Option<f64>> {
    forces_n
        .iter()
        .map(|f| f.and_then(|f| engineering_stress_mpa(f, area_mm2)))
        .collect()
}

/// The loading axis of the stress–strain fit: Poisson's (given or automatic), else y.
pub fn loading_axis(analysis: &Analysis) -> Axis {
    analysis
        .poisson
        .as_ref()
        .map_or(Axis::Y, |p| p.loading_axis)
}

/// Fit the stresses (parallel to `analysis.rows`, see [`row_stresses`]) against the
/// loading-axis small strain, over the fitted rows that have a stress. Errors as
/// [`linregress`]: fewer than 3 such rows, or all their strains equal.
pub fn stress_strain(
    analysis: &Analysis,
    stresses_mpa: &[Option<f64>],
) -> Result<StressStrain, RegressionError> {
    let axis = loading_axis(analysis);
    let component = axis.component();
    let (strain, stress): (Vec<f64>, Vec<f64>) = analysis
        .rows
        .iter()
        .zip(stresses_mpa)
        .filter(|(row, _)| row.is_fitted())
        .filter_map(|(row, s)| s.map(|s| (component.value(&row.measures), s)))
        .unzip();
    Ok(StressStrain {
        component,
        axis,
        fit: linregress(&strain, &stress)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{SCALE_LENGTH_MM, synthetic_images};
    use crate::{AnalysisOptions, analyze};

    /// The analysis of a synthetic project of `n` images, without uncertainty.
    fn synthetic_analysis(n: usize, seed: u64) -> Result<Analysis, Box<dyn std::error::Error>> {
        let options = AnalysisOptions {
            scale_length: SCALE_LENGTH_MM,
            sigma_px: 0.0,
            ..AnalysisOptions::default()
        };
        Ok(analyze(&synthetic_images(n, seed), &options)?)
    }

    #[test]
    fn stress_is_force_over_area() {
        assert_eq!(engineering_stress_mpa(1000.0, 20.0), Some(50.0));
        assert_eq!(engineering_stress_mpa(-250.0, 12.5), Some(-20.0));
        assert_eq!(engineering_stress_mpa(0.0, 3.0), Some(0.0));
        // -0.0 is written as 0.
        assert!(engineering_stress_mpa(-0.0, 3.0).is_some_and(|s| s.is_sign_positive()));
        for (f, a) in [
            (1.0, 0.0),
            (1.0, -2.0),
            (f64::NAN, 1.0),
            (1.0, f64::INFINITY),
            (1e308, 1e-308),
        ] {
            assert_eq!(engineering_stress_mpa(f, a), None, "F = {f}, A = {a}");
        }
    }

    #[test]
    fn row_stresses_keep_rows_without_force_empty() {
        assert_eq!(
            row_stresses(&[Some(100.0), None, Some(-50.0)], 10.0),
            vec![Some(10.0), None, Some(-5.0)]
        );
    }

    /// A linear material: stress = E·ε_axial exactly recovers E with r² = 1; rows without force
    /// and excluded rows are left out of the fit.
    #[test]
    fn a_known_modulus_is_recovered() -> Result<(), Box<dyn std::error::Error>> {
        let mut analysis = synthetic_analysis(8, 7)?;
        let axis = loading_axis(&analysis);
        let e_mpa = 2500.0;
        let mut stresses: Vec<Option<f64>> = analysis
            .rows
            .iter()
            .map(|r| Some(e_mpa * axis.component().value(&r.measures) + 3.0))
            .collect();
        stresses[2] = None;
        // An excluded row with a wild stress must not move the fit.
        analysis.rows[4].excluded = Some("slipped".into());
        stresses[4] = Some(1e6);
        let fit = stress_strain(&analysis, &stresses)?;
        assert_eq!(fit.axis, axis);
        assert_eq!(fit.fit.n, analysis.rows.len() - 2);
        assert!(
            (fit.fit.slope - e_mpa).abs() < 1e-6 * e_mpa,
            "{}",
            fit.fit.slope
        );
        assert!((fit.fit.intercept - 3.0).abs() < 1e-6);
        assert!((fit.fit.r_squared - 1.0).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn too_few_forces_is_an_error() -> Result<(), Box<dyn std::error::Error>> {
        let analysis = synthetic_analysis(5, 3)?;
        let mut stresses = vec![None; analysis.rows.len()];
        stresses[0] = Some(1.0);
        stresses[1] = Some(2.0);
        assert_eq!(
            stress_strain(&analysis, &stresses),
            Err(RegressionError::TooFewPoints { n: 2 })
        );
        Ok(())
    }
}
