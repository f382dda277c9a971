//! Synthetic truth for the scale methods: photo sequences of a specimen deformed by a known
//! gradient, each photo taken through its own camera pose, run through the real detectors and
//! the analysis, and compared with the true strain.
//!
//! A trial is a sequence of photos at deformation distances 0, 10, 20, … mm. The specimen plane
//! holds five 3 mm dots (a 24 × 24 mm square around a centre dot) deformed by
//! `F(d) = [[1 + 0.008d, 0.0006d], [−0.0004d, 1 − 0.012d]]` and a steel ruler beside them
//! ([`crate::detect::scene`]). Every photo gets a random pose: a tilt up to `max_tilt_deg` about
//! the axis chosen ([`TiltAxis`]), a distance of 0.9–1.1 and a shift of up to 3 % of the frame,
//! plus blur and noise. Markers and ruler are found by [`crate::detect::detect_markers`] and
//! [`crate::detect::detect_ruler`] (asked for a span of 40 mm, and again of 10 mm, near the
//! markers), and each method's εxx and εyy are compared with `F − I` of the plane. The plane
//! also holds a dot-grid calibration target left of the markers (7 × 15 dots at a 5 mm pitch,
//! [`crate::detect::scene::TargetLayout`]) unless the scene says otherwise; it is found by
//! [`crate::detect::detect_target`] first and its card excluded from the marker search.
//!
//! The report per method: the absolute errors (median, p95, max) and the coverage of the
//! reported 95 % interval (`|error| ≤ 1.96 σ` with σ the combined standard uncertainty).

use crate::analysis::{AnalysisOptions, ImageInput, analyze};
use crate::detect::scene::{Pose, SceneConfig, TargetLayout, render_scene, square_markers};
use crate::detect::{self, MarkerOptions, RulerOptions, TargetOptions};
use crate::points::Point;
use crate::scale::{FULL_FRAME_DIAGONAL_MM, ScaleMethod};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Which way the camera is tilted in a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TiltAxis {
    /// About the image's horizontal axis, across the (vertical) ruler: the ruler sees it.
    AcrossRuler,
    /// About the vertical axis, along the ruler: its positions do not show it, the convergence
    /// of its graduation lines does.
    AlongRuler,
}

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialConfig {
    /// Number of sequences.
    pub sequences: usize,
    /// Photos per sequence (distances 0, 10, 20, … mm).
    pub photos: usize,
    pub axis: TiltAxis,
    /// Largest tilt, degrees (uniform in ±this).
    pub max_tilt_deg: f64,
    /// Point σ given to the analysis, px.
    pub sigma_px: f64,
    pub seed: u64,
    /// The scene's look and camera.
    pub scene: SceneConfig,
}

impl Default for TrialConfig {
    fn default() -> Self {
        Self {
            sequences: 20,
            photos: 4,
            axis: TiltAxis::AcrossRuler,
            max_tilt_deg: 15.0,
            sigma_px: 0.1,
            seed: 1,
            scene: SceneConfig {
                target: Some(TargetLayout::default()),
                ..SceneConfig::default()
            },
        }
    }
}

/// The variants compared: a method, and for the span the span asked of the detector. The
/// target variant is run only when the scene has a target.
pub const VARIANTS: [(&str, ScaleMethod, u32); 5] = [
    ("span 10 mm", ScaleMethod::Span, 10),
    ("span 40 mm", ScaleMethod::Span, 40),
    ("ruler model", ScaleMethod::Ruler, 40),
    ("ruler + perspective", ScaleMethod::Rectified, 40),
    ("calibration target", ScaleMethod::Target, 40),
];

/// The variants a configuration runs.
fn variants(cfg: &TrialConfig) -> impl Iterator<Item = &'static (&'static str, ScaleMethod, u32)> {
    let target = cfg.scene.target.is_some();
    VARIANTS
        .iter()
        .filter(move |v| target || v.1 != ScaleMethod::Target)
}

/// Errors and coverage of one variant over all trials.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VariantResult {
    pub name: &'static str,
    /// |ε − ε_true| of εxx and εyy of every non-reference photo.
    pub errors: Vec<f64>,
    /// How many of them lie within 1.96 σ.
    pub covered: usize,
}

impl VariantResult {
    /// The `q` quantile (0..1) of the errors, nearest rank.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut v = self.errors.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        v[i]
    }

    pub fn max(&self) -> f64 {
        self.errors.iter().copied().fold(0.0, f64::max)
    }

    /// Fraction of errors within the 95 % interval.
    pub fn coverage(&self) -> f64 {
        self.covered as f64 / self.errors.len().max(1) as f64
    }
}

/// The outcome of [`run_trials`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrialReport {
    pub variants: Vec<VariantResult>,
    /// Sequences left out because a photo's markers or ruler were not found, with the reason.
    pub failures: Vec<String>,
    /// Sequences analysed.
    pub sequences: usize,
}

/// The true deformation gradient at distance `d` mm.
pub fn true_gradient(d: f64) -> [[f64; 2]; 2] {
    [
        [1.0 + 0.008 * d, 0.0006 * d],
        [-0.0004 * d, 1.0 - 0.012 * d],
    ]
}

/// One sequence's images per variant, or why it could not be detected.
fn sequence(cfg: &TrialConfig, index: usize) -> Result<Vec<Vec<ImageInput>>, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_mul(1_000_003) ^ index as u64);
    let layout = square_markers(12.0);
    let (w, h) = (cfg.scene.width, cfg.scene.height);
    let mut per_variant: Vec<Vec<ImageInput>> = vec![Vec::new(); variants(cfg).count()];
    for k in 0..cfg.photos {
        let d = 10.0 * k as f64;
        let f = true_gradient(d);
        let markers = layout
            .map(|p| Point::new(f[0][0] * p.x + f[0][1] * p.y, f[1][0] * p.x + f[1][1] * p.y));
        let tilt = rng.random_range(-cfg.max_tilt_deg..=cfg.max_tilt_deg);
        let (tilt_x_deg, tilt_y_deg) = match cfg.axis {
            TiltAxis::AcrossRuler => (tilt, 0.0),
            TiltAxis::AlongRuler => (0.0, tilt),
        };
        let pose = Pose {
            tilt_x_deg,
            tilt_y_deg,
            distance: rng.random_range(0.9..1.1),
            shift: [rng.random_range(-0.03..0.03), rng.random_range(-0.03..0.03)],
            ..Pose::default()
        };
        let scene = render_scene(rng.random(), &cfg.scene, &markers, f, &pose);
        let name = format!("seq{index}-{k}.png");
        let target = match &cfg.scene.target {
            Some(t) => Some(
                detect::detect_target(
                    &scene.image,
                    &TargetOptions {
                        pitch_mm: t.pitch_mm,
                        ..TargetOptions::default()
                    },
                )
                .map_err(|e| format!("{name}: target: {e}"))?,
            ),
            None => None,
        };
        let marker_options = MarkerOptions {
            exclude: target.iter().filter_map(|t| t.outline()).collect(),
            ..MarkerOptions::default()
        };
        let found = detect::detect_markers(&scene.image, &marker_options)
            .map_err(|e| format!("{name}: markers: {e}"))?;
        let focal_35mm = scene.focal_px * FULL_FRAME_DIAGONAL_MM / f64::from(w).hypot(f64::from(h));
        for (slot, &(_, _, span)) in per_variant.iter_mut().zip(variants(cfg)) {
            let ruler = detect::detect_ruler(
                &scene.image,
                &RulerOptions {
                    span_mm: Some(span),
                    near_markers: Some(found.fiducials),
                    ..RulerOptions::default()
                },
            )
            .map_err(|e| format!("{name}: ruler ({span} mm): {e}"))?;
            slot.push(ImageInput {
                ruler: Some(ruler.model),
                size: Some([w, h]),
                focal_35mm: Some(focal_35mm),
                target: target.as_ref().map(|t| t.model.clone()),
                ..ImageInput::complete(name.clone(), found.fiducials, ruler.scale_points, d)
            });
        }
    }
    Ok(per_variant)
}

/// Run the trials (in parallel) and compare every variant with the truth.
pub fn run_trials(cfg: &TrialConfig) -> TrialReport {
    let sequences: Vec<Result<Vec<Vec<ImageInput>>, String>> = (0..cfg.sequences)
        .into_par_iter()
        .map(|i| sequence(cfg, i))
        .collect();
    let mut report = TrialReport {
        variants: variants(cfg)
            .map(|&(name, _, _)| VariantResult {
                name,
                ..VariantResult::default()
            })
            .collect(),
        ..TrialReport::default()
    };
    for seq in sequences {
        let per_variant = match seq {
            Ok(v) => v,
            Err(e) => {
                report.failures.push(e);
                continue;
            }
        };
        let mut analysed = Vec::with_capacity(per_variant.len());
        for (images, &(name, method, span)) in per_variant.iter().zip(variants(cfg)) {
            let options = AnalysisOptions {
                scale_length: f64::from(span),
                sigma_px: cfg.sigma_px,
                scale_method: Some(method),
                ..AnalysisOptions::default()
            };
            match analyze(images, &options) {
                Ok(a) => analysed.push(a),
                Err(e) => {
                    report.failures.push(format!("{name}: {e}"));
                    break;
                }
            }
        }
        if analysed.len() != per_variant.len() {
            continue;
        }
        report.sequences += 1;
        for (result, a) in report.variants.iter_mut().zip(&analysed) {
            for row in a.rows.iter().filter(|r| r.index != a.reference) {
                let f = true_gradient(row.deformation);
                for (got, truth, sigma) in [
                    (
                        row.measures.small.xx,
                        f[0][0] - 1.0,
                        row.uncertainty.small.xx,
                    ),
                    (
                        row.measures.small.yy,
                        f[1][1] - 1.0,
                        row.uncertainty.small.yy,
                    ),
                ] {
                    let err = (got - truth).abs();
                    result.errors.push(err);
                    if err <= 1.96 * sigma {
                        result.covered += 1;
                    }
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small run of the bench's check: the perspective correction's p95 error at least 5×
    /// smaller than the span's (10 mm), and its 95 % interval holding the truth in ≥ 90 %.
    fn rectification_beats_the_span(axis: TiltAxis) {
        let report = run_trials(&TrialConfig {
            sequences: 4,
            axis,
            ..TrialConfig::default()
        });
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        let by = |name: &str| {
            report
                .variants
                .iter()
                .find(|v| v.name == name)
                .cloned()
                .unwrap_or_default()
        };
        let (span, rect) = (by("span 10 mm"), by("ruler + perspective"));
        assert!(
            rect.quantile(0.95) * 5.0 <= span.quantile(0.95),
            "{axis:?}: p95 rectified {} vs span {}",
            rect.quantile(0.95),
            span.quantile(0.95)
        );
        assert!(
            rect.coverage() >= 0.9,
            "{axis:?}: coverage {}",
            rect.coverage()
        );
    }

    /// Tilted about the axis across the ruler: its positions show it.
    #[test]
    fn rectification_beats_the_span_on_tilted_photos() {
        rectification_beats_the_span(TiltAxis::AcrossRuler);
    }

    /// Tilted about the ruler's own axis: its lines' convergence shows it.
    #[test]
    fn rectification_beats_the_span_on_photos_tilted_about_the_ruler() {
        rectification_beats_the_span(TiltAxis::AlongRuler);
    }

    /// With a calibration target in the plane: p95 error ≤ 0.003 whichever way the camera is
    /// tilted (up to 15°), and the 95 % interval holding the truth in ≥ 90 %.
    #[test]
    fn a_calibration_target_keeps_the_error_below_0_003() {
        for axis in [TiltAxis::AcrossRuler, TiltAxis::AlongRuler] {
            let report = run_trials(&TrialConfig {
                sequences: 3,
                axis,
                ..TrialConfig::default()
            });
            assert!(report.failures.is_empty(), "{:?}", report.failures);
            let target = report
                .variants
                .iter()
                .find(|v| v.name == "calibration target")
                .cloned()
                .unwrap_or_default();
            assert_eq!(target.errors.len(), 3 * 3 * 2);
            assert!(
                target.quantile(0.95) <= 0.003,
                "{axis:?}: p95 {}",
                target.quantile(0.95)
            );
            assert!(
                target.coverage() >= 0.9,
                "{axis:?}: coverage {}",
                target.coverage()
            );
        }
    }
}
