//! The chosen pattern → a [`MarkerDetection`]: each blob refined at full resolution (its coarse
//! estimate kept, at a lower quality, when the refinement fails or wanders off the blob), and a
//! confidence per marker from the blob's quality, how well it sits in the pattern (centre on the
//! diagonals), how certain the labels are and how far ahead of the runner-up the pattern was.

use super::Choice;
use super::geometry::centre_offsets;
use crate::detect::blobs::{self, Found};
use crate::detect::plane::LumaView;
use crate::detect::{
    Candidate, DetectError, DetectedMarker, DetectionMethod, Diagnostics, MarkerDetection,
};
use crate::points::Fiducials;

/// Refine the chosen blobs at full resolution and build the result.
pub(crate) fn finish(
    p: &LumaView<'_>,
    found: &Found,
    choice: &Choice,
    method: DetectionMethod,
) -> Result<MarkerDetection, DetectError> {
    let mut markers = [DetectedMarker::default(); 5];
    let mut quality = [0.0; 5];
    for (label, &i) in choice.idx.iter().enumerate() {
        let blob = found.blobs[i];
        let refined = match choice.refined[label] {
            Some(r) => Some(r),
            None => blobs::refine(p, blob.cx, blob.cy, blob.major, blob.minor),
        };
        match refined {
            Some(r) if r.point.distance(blob.point()) <= 0.5 * blob.major + 2.0 => {
                markers[label] = DetectedMarker {
                    point: r.point,
                    confidence: 0.0,
                    major_px: r.major,
                    minor_px: r.minor,
                    angle_deg: r.angle.to_degrees(),
                    contrast: r.contrast,
                };
                quality[label] = r.quality;
            }
            _ => {
                markers[label] = DetectedMarker {
                    point: blob.point(),
                    confidence: 0.0,
                    major_px: blob.major,
                    minor_px: blob.minor,
                    angle_deg: 0.0,
                    contrast: blob.contrast,
                };
                quality[label] = 0.3 * blob.score;
            }
        }
    }
    let points = markers.map(|m| m.point);
    let offs = centre_offsets(&points);
    let g = offs.map(|o| (-(o / 0.2).powi(2)).exp());
    let geometry = [g[0], g[1], g[0], g[1], (g[0] * g[1]).sqrt()];
    // A runner-up under half the best score does not lower confidence; one near the ambiguity
    // limit halves it.
    let ambiguity = choice.runner_up.map_or(1.0, |r| {
        let rho = r / choice.score.max(1e-12);
        1.0 - 0.5 * ((rho - 0.5) / 0.25).clamp(0.0, 1.0)
    });
    let label_factor = 0.5 + 0.5 * choice.label_certainty;
    for (i, m) in markers.iter_mut().enumerate() {
        m.confidence =
            (quality[i] * (0.6 + 0.4 * geometry[i]) * label_factor * ambiguity).clamp(0.0, 1.0);
    }
    let fiducials = Fiducials::new(points).map_err(|_| DetectError::NoPattern {
        candidates: found.blobs.len(),
    })?;
    Ok(MarkerDetection {
        fiducials,
        markers,
        pattern_score: choice.score.clamp(0.0, 1.0),
        method,
        diagnostics: diagnostics(found, choice.considered, choice.runner_up),
    })
}

pub(crate) fn diagnostics(found: &Found, considered: usize, runner_up: Option<f64>) -> Diagnostics {
    Diagnostics {
        working_scale: found.factor as u32,
        components: found.components,
        candidates: found
            .blobs
            .iter()
            .map(|b| Candidate {
                point: b.point(),
                major_px: b.major,
                minor_px: b.minor,
                score: b.score,
            })
            .collect(),
        patterns_considered: considered,
        runner_up_score: runner_up,
    }
}
