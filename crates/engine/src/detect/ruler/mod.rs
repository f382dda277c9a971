//! Ruler scale: find a millimetre graduation and place two scale points a whole number of
//! millimetres apart on it.

mod directions;
mod graduation;
mod measure;
mod ticks;

use super::plane::{self, Plane};
use super::{AsLuma, DetectError, check_size};
use crate::points::{Fiducials, Point, ScalePoints};
use crate::scale::{RulerModel, TickDirections};
use graduation::columns;
use measure::measure;
use serde::{Deserialize, Serialize};
use ticks::{dominant_direction, find_ticks};

/// Options of [`detect_ruler`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RulerOptions {
    /// Distance between the two scale points in whole millimetres. `None`: the longest whole
    /// number of centimetres the visible graduation offers (or of millimetres when no
    /// centimetre lines are recognised).
    pub span_mm: Option<u32>,
    /// Centre the span on these markers' extent along the ruler, so that the scale is measured
    /// at the markers' height (perspective makes mm/px vary along a ruler). `None`: centre it on
    /// the visible graduation.
    pub near_markers: Option<Fiducials>,
    /// Fewest ticks a graduation needs. Default 15.
    pub min_ticks: usize,
    /// Ticks are found on a copy box-downscaled so that its long side is at most this many
    /// pixels. Default 2400 (photos up to ~2400 px are used at full resolution); 64 to 4096.
    pub working_max_side: u32,
}

impl Default for RulerOptions {
    fn default() -> Self {
        Self {
            span_mm: None,
            near_markers: None,
            min_ticks: 15,
            working_max_side: 2400,
        }
    }
}

/// The finest graduation of the ruler edge that was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Graduation {
    Millimetre,
    HalfMillimetre,
}

/// What the two scale points sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RulerSpan {
    /// Two centimetre lines (the longest graduation lines).
    CentimetreLines,
    /// Two millimetre lines (no centimetre lines recognised, or a span that is not whole cm).
    MillimetreLines,
}

/// A ruler found in a photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RulerDetection {
    /// Two points on graduation lines, `span_mm` apart along the ruler.
    pub scale_points: ScalePoints,
    /// Real distance between the scale points (mm).
    pub span_mm: u32,
    /// `span_mm` / pixel distance of the scale points: the scale averaged over the span.
    pub mm_per_px: f64,
    pub px_per_mm: f64,
    pub span: RulerSpan,
    /// True when the span was centred on `near_markers` and covers at least half of their
    /// extent along the ruler.
    pub local_to_markers: bool,
    /// Local mm/px of the graduation at the middle of the markers' extent along the ruler (the
    /// slope of the graduation there), when markers were given and lie alongside the graduation.
    pub local_mm_per_px_at_markers: Option<f64>,
    /// Smallest and largest local mm/px along the visible graduation (perspective).
    pub mm_per_px_range: [f64; 2],
    pub graduation: Graduation,
    /// Direction of the ruler's axis, degrees from +x towards +y, in (−90, 90].
    pub axis_angle_deg: f64,
    /// Graduation ticks used.
    pub ticks: usize,
    /// RMS distance (px) of the ticks from a smooth (projective) index → position model.
    pub fit_rms_px: f64,
    /// Length of the visible graduation (whole mm).
    pub visible_mm: u32,
    /// Every centimetre line found, in order along the ruler (points on the lines).
    pub cm_lines: Vec<Point>,
    /// 0..1.
    pub confidence: f64,
    /// The whole graduation as one 1-D projective map with its covariance: the scale anywhere
    /// along the ruler, independent of the span chosen for the two scale points.
    pub model: RulerModel,
}

#[derive(Debug, Clone, Copy)]
struct Tick {
    /// Position along the ruler axis and across it (working px).
    u: f64,
    v: f64,
    len: f64,
    width: f64,
    angle: f64,
}

/// One graduation: ticks with an aligned end, indexed in units of the base period.
#[derive(Debug, Clone)]
struct Column {
    ticks: Vec<Tick>,
    /// Integer index of each tick (units of the finest graduation of this column).
    n: Vec<i64>,
    period: f64,
    irregular: usize,
    /// −1 when the ticks' low-v ends are aligned on the ruler's edge, +1 for the high-v ends.
    side: f64,
}

/// Find a millimetre ruler and place two scale points on it.
///
/// # Errors
///
/// [`DetectError::NoRuler`] (with the reason) when no regular graduation is found,
/// [`DetectError::RulerTooShort`] when the visible graduation is shorter than
/// [`RulerOptions::span_mm`], [`DetectError::ImageTooSmall`], [`DetectError::InvalidOption`].
pub fn detect_ruler<I: AsLuma + ?Sized>(
    image: &I,
    opts: &RulerOptions,
) -> Result<RulerDetection, DetectError> {
    if opts.span_mm == Some(0) {
        return Err(DetectError::InvalidOption {
            name: "span_mm",
            reason: "must be at least 1 mm".into(),
        });
    }
    if !(64..=4096).contains(&opts.working_max_side) {
        return Err(DetectError::InvalidOption {
            name: "working_max_side",
            reason: "must be between 64 and 4096".into(),
        });
    }
    let pixels = image.luma_view();
    let (w, h) = pixels.dimensions();
    check_size(w, h)?;
    let long = w.max(h) as usize;
    let f = long.div_ceil(opts.working_max_side as usize).max(1);
    let work = pixels.coarse(0, 0, w as usize, h as usize, f);
    let ticks = find_ticks(&work)?;
    let (theta, aligned) = dominant_direction(&ticks, opts.min_ticks)?;
    let columns = columns(&aligned, opts.min_ticks);
    if columns.is_empty() {
        return Err(DetectError::NoRuler {
            reason: format!(
                "{} parallel tick-like marks but no regular graduation of at least {} ticks",
                aligned.len(),
                opts.min_ticks
            ),
        });
    }
    // Columns of one ruler agree on its scale. The scale each column implies (over its longest
    // span, centred) is compared with the tick-weighted median of all columns; a column more than
    // 10 % off is not a graduation (e.g. the inner ends of two tick families that happen to line
    // up, read with the wrong unit) and is dropped when any column agrees.
    let probe_opts = RulerOptions {
        span_mm: None,
        near_markers: None,
        ..opts.clone()
    };
    let probes: Vec<Option<(f64, f64)>> = columns
        .iter()
        .map(|c| {
            measure(c, None, theta, f, &probe_opts)
                .ok()
                .map(|d| (d.mm_per_px, d.ticks as f64))
        })
        .collect();
    let consensus = {
        let mut v: Vec<(f64, f64)> = probes.iter().flatten().copied().collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = v.iter().map(|x| x.1).sum();
        let mut acc = 0.0;
        v.iter()
            .find(|x| {
                acc += x.1;
                acc >= 0.5 * total
            })
            .map(|x| x.0)
    };
    let agrees = |i: usize| match (probes[i], consensus) {
        (Some((m, _)), Some(c)) => (m / c - 1.0).abs() <= 0.1,
        _ => false,
    };
    let any_agree = (0..columns.len()).any(agrees);
    let mut best: Option<(f64, usize, Result<RulerDetection, DetectError>)> = None;
    for (i, col) in columns.iter().enumerate() {
        if any_agree && !agrees(i) {
            continue;
        }
        let res = measure(col, None, theta, f, opts);
        let rank = match &res {
            Ok(d) => 1.0 + d.confidence * (d.ticks as f64).sqrt(),
            Err(DetectError::RulerTooShort { .. }) => 0.5,
            Err(_) => 0.0,
        };
        if best.as_ref().is_none_or(|b| rank > b.0) {
            best = Some((rank, i, res));
        }
    }
    match best {
        // The chosen column again, now also measuring its lines' directions (the same
        // detection otherwise; measured once rather than for every column tried).
        Some((_, i, Ok(_))) => measure(&columns[i], Some(&work), theta, f, opts),
        Some((_, _, res)) => res,
        None => Err(DetectError::NoRuler {
            reason: "no graduation could be measured".into(),
        }),
    }
}

/// Median of a slice (copied).
fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        0.5 * (s[m - 1] + s[m])
    }
}
