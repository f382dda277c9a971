//! What a plot shows, taken from an analysis: the samples (value, uncertainty, reference and
//! excluded flags), the fit, and the 95 % confidence band of the fitted mean,
//! `ŷ(d) ± t₀.₉₇₅,ₙ₋₂ · s · √(1/n + (d − d̄)² / Sdd)`, with `s² = Σ(y − ŷ)² / (n − 2)` over the
//! fitted samples.

use super::labels::{symbol, trim_number, y_axis_label};
use crate::error::ExportError;
use statrs::distribution::{ContinuousCDF, StudentsT};
use strain_seer_engine::{Analysis, Component, Regression, StressStrain};

#[derive(Debug, Clone, Copy)]
pub(super) struct Sample {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) sd: f64,
    pub(super) reference: bool,
    /// Excluded from the fit by the user: drawn as a grey cross, left out of the band.
    pub(super) excluded: bool,
}

/// Everything a plot shows, extracted from an analysis.
#[derive(Debug, Clone)]
pub(super) struct PlotData {
    /// Names the plot in errors: the component key, or `stress_strain`.
    pub(super) key: String,
    pub(super) title: String,
    pub(super) x_desc: String,
    pub(super) y_desc: String,
    /// Unit of the slope in the legend (`/mm`, `MPa`).
    pub(super) slope_unit: &'static str,
    /// Legend of the measured points.
    pub(super) points_label: &'static str,
    pub(super) samples: Vec<Sample>,
    pub(super) fit: Regression,
    /// Half-width of the confidence band: `t · s`, and the `1/n`, `d̄`, `Sdd` of the band formula.
    pub(super) band: Option<Band>,
    pub(super) subtitle: String,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Band {
    pub(super) t_s: f64,
    pub(super) n: f64,
    pub(super) mean_x: f64,
    pub(super) sxx: f64,
}

impl Band {
    pub(super) fn half_width(&self, x: f64) -> f64 {
        self.t_s * (1.0 / self.n + (x - self.mean_x).powi(2) / self.sxx).sqrt()
    }
}

impl PlotData {
    pub(super) fn from_analysis(
        analysis: &Analysis,
        component: Component,
    ) -> Result<Self, ExportError> {
        let fit = analysis
            .regressions
            .iter()
            .find(|cr| cr.component == component)
            .map(|cr| cr.regression)
            .ok_or_else(|| ExportError::NoRegression(component.key().to_owned()))?;
        let samples: Vec<Sample> = analysis
            .rows
            .iter()
            .map(|row| Sample {
                x: row.deformation,
                y: component.value(&row.measures),
                sd: component.value(&row.uncertainty).abs(),
                reference: row.index == analysis.reference,
                excluded: !row.is_fitted(),
            })
            .filter(|s| s.x.is_finite() && s.y.is_finite())
            .map(|s| Sample {
                sd: if s.sd.is_finite() { s.sd } else { 0.0 },
                ..s
            })
            .collect();
        let band = confidence_band(&samples, &fit);
        let subtitle = format!(
            "{} images · reference {} · error bars ± 1 standard uncertainty from σ = {} px",
            samples.len(),
            analysis.reference_name,
            trim_number(analysis.sigma_px)
        );
        Ok(Self {
            key: component.key().to_owned(),
            title: format!("{} vs deformation distance", component.label()),
            x_desc: "Deformation distance (mm)".to_owned(),
            y_desc: y_axis_label(component),
            slope_unit: "/mm",
            points_label: "measured (± 1 standard uncertainty)",
            samples,
            fit,
            band,
            subtitle,
        })
    }

    /// Stress against the loading-axis strain of the film frames that have a stress
    /// (`stresses` parallel to `analysis.rows`), with the fit `σ = E·ε + σ₀`.
    pub(super) fn stress_strain(
        analysis: &Analysis,
        stresses: &[Option<f64>],
        fit: &StressStrain,
    ) -> Result<Self, ExportError> {
        let component = fit.component;
        let samples: Vec<Sample> = analysis
            .rows
            .iter()
            .zip(stresses)
            .filter_map(|(row, stress)| {
                Some(Sample {
                    x: component.value(&row.measures),
                    y: (*stress)?,
                    sd: 0.0,
                    reference: row.index == analysis.reference,
                    excluded: !row.is_fitted(),
                })
            })
            .filter(|s| s.x.is_finite() && s.y.is_finite())
            .collect();
        if samples.is_empty() {
            return Err(ExportError::NoRegression("stress_strain".to_owned()));
        }
        let band = confidence_band(&samples, &fit.fit);
        let subtitle = format!(
            "{} film frames · engineering stress = force / cross-section area · reference {}",
            samples.len(),
            analysis.reference_name,
        );
        Ok(Self {
            key: "stress_strain".to_owned(),
            title: format!("Engineering stress vs {}", symbol(component)),
            x_desc: format!("{} (mm/mm)", symbol(component)),
            y_desc: "Engineering stress σ (MPa)".to_owned(),
            slope_unit: "MPa",
            points_label: "film frames",
            samples,
            fit: fit.fit,
            band,
            subtitle,
        })
    }
}

/// The 95 % confidence band of the fitted mean, when it is defined (n ≥ 3, spread in d).
#[allow(clippy::cast_precision_loss)]
pub(super) fn confidence_band(samples: &[Sample], fit: &Regression) -> Option<Band> {
    let samples: Vec<&Sample> = samples.iter().filter(|s| !s.excluded).collect();
    let n = samples.len();
    if n < 3 || !fit.slope.is_finite() || !fit.intercept.is_finite() {
        return None;
    }
    let nf = n as f64;
    let mean_x = samples.iter().map(|s| s.x).sum::<f64>() / nf;
    let sxx: f64 = samples.iter().map(|s| (s.x - mean_x).powi(2)).sum();
    let sse: f64 = samples
        .iter()
        .map(|s| (s.y - (fit.intercept + fit.slope * s.x)).powi(2))
        .sum();
    if sxx <= 0.0 || !sse.is_finite() {
        return None;
    }
    let s = (sse / (nf - 2.0)).sqrt();
    let t = StudentsT::new(0.0, 1.0, nf - 2.0).ok()?.inverse_cdf(0.975);
    t.is_finite().then_some(Band {
        t_s: t * s,
        n: nf,
        mean_x,
        sxx,
    })
}
