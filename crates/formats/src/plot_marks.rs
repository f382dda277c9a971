//! The marks of a plot's data series, each drawn as one element (one pass over the backend,
//! however many points), and the decimation of error bars that would overlap.
//!
//! **Decimation rule.** The plot area is cut into columns as wide as an error bar's cap (in
//! device pixels); bars whose centres fall in the same column would overlap there. When no
//! column holds more than one bar, every bar is drawn as it is (the plot is what it always
//! was). Otherwise, in each column, the bars' vertical extents `[value − sd, value + sd]` are
//! sorted and every run of overlapping extents is drawn as one bar from the run's lowest to its
//! highest end, at the mean position of its members (without the small ring at the value, which
//! the points show). So the lowest and highest ends of each column, and any gap between groups
//! of bars, are exactly those of the bars drawn one by one; only the bars hidden inside others
//! disappear. 20 000 images make about 300 bars instead of 20 000.

use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters_backend::{BackendCoord, DrawingErrorKind};

/// A vertical error bar at `x` from `lo` to `hi`; `mid` is the value it belongs to (drawn as
/// a small ring), `None` for the merged bar of several values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bar {
    pub x: f64,
    pub lo: f64,
    pub mid: Option<f64>,
    pub hi: f64,
}

/// The bars to draw after the decimation rule of this module; `column` maps a bar's `x` to the
/// index of its column on the device.
pub(crate) fn decimate(bars: Vec<Bar>, column: impl Fn(f64) -> i64) -> Vec<Bar> {
    let mut keyed: Vec<(i64, Bar)> = bars.iter().map(|b| (column(b.x), *b)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.lo.total_cmp(&b.1.lo)));
    if keyed.windows(2).all(|w| w[0].0 != w[1].0) {
        return bars;
    }
    let mut out: Vec<Bar> = Vec::new();
    // The run being merged: its column, extent, sum of x and member count.
    let mut run: Option<(i64, f64, f64, f64, usize, Bar)> = None;
    let flush = |run: (i64, f64, f64, f64, usize, Bar), out: &mut Vec<Bar>| {
        let (_, lo, hi, sum_x, count, first) = run;
        out.push(if count == 1 {
            first
        } else {
            #[allow(clippy::cast_precision_loss)]
            let x = sum_x / count as f64;
            Bar {
                x,
                lo,
                mid: None,
                hi,
            }
        });
    };
    for (col, bar) in keyed {
        run = match run {
            Some((c, lo, hi, sum_x, count, first)) if c == col && bar.lo <= hi => {
                Some((c, lo, hi.max(bar.hi), sum_x + bar.x, count + 1, first))
            }
            Some(done) => {
                flush(done, &mut out);
                Some((col, bar.lo, bar.hi, bar.x, 1, bar))
            }
            None => Some((col, bar.lo, bar.hi, bar.x, 1, bar)),
        };
    }
    if let Some(done) = run {
        flush(done, &mut out);
    }
    out
}

/// The marks of one data series, drawn as one element.
pub(crate) enum Marks {
    /// Error bars, each drawn as plotters' `ErrorBar` draws it (caps `cap` px wide at both
    /// ends, the bar, a ring at the value when it has one).
    ErrorBars {
        bars: Vec<Bar>,
        style: ShapeStyle,
        cap: u32,
    },
    /// Circles of one radius and style at many points; points that fall on the same device
    /// pixel are drawn once.
    Markers {
        centres: Vec<(f64, f64)>,
        radius: u32,
        style: ShapeStyle,
    },
}

impl<'a> PointCollection<'a, (f64, f64)> for &'a Marks {
    type Point = (f64, f64);
    type IntoIter = Vec<(f64, f64)>;
    fn point_iter(self) -> Self::IntoIter {
        match self {
            Marks::ErrorBars { bars, .. } => bars
                .iter()
                .flat_map(|b| [(b.x, b.lo), (b.x, b.mid.unwrap_or(b.lo)), (b.x, b.hi)])
                .collect(),
            Marks::Markers { centres, .. } => centres.clone(),
        }
    }
}

impl<DB: DrawingBackend> Drawable<DB> for Marks {
    fn draw<I: Iterator<Item = BackendCoord>>(
        &self,
        points: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> Result<(), DrawingErrorKind<DB::ErrorType>> {
        match self {
            Marks::ErrorBars { bars, style, cap } => {
                #[allow(clippy::cast_possible_wrap)]
                let half = *cap as i32 / 2;
                let points: Vec<BackendCoord> = points.collect();
                for (bar, p) in bars.iter().zip(points.chunks_exact(3)) {
                    let (lo, mid, hi) = (p[0], p[1], p[2]);
                    backend.draw_line((lo.0 - half, lo.1), (lo.0 + half, lo.1), style)?;
                    backend.draw_line((hi.0 - half, hi.1), (hi.0 + half, hi.1), style)?;
                    backend.draw_line(lo, hi, style)?;
                    if bar.mid.is_some() {
                        backend.draw_circle(mid, cap / 2, style, style.filled)?;
                    }
                }
            }
            Marks::Markers {
                centres,
                radius,
                style,
            } => {
                // A marker on the pixel of one already drawn would only darken it: drawn once.
                let mut drawn: foldhash::HashSet<BackendCoord> =
                    foldhash::HashSet::with_capacity_and_hasher(
                        centres.len(),
                        foldhash::fast::RandomState::default(),
                    );
                for centre in points {
                    if drawn.insert(centre) {
                        backend.draw_circle(centre, *radius, style, style.filled)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(x: f64, y: f64, sd: f64) -> Bar {
        Bar {
            x,
            lo: y - sd,
            mid: Some(y),
            hi: y + sd,
        }
    }

    #[allow(clippy::cast_possible_truncation)]
    fn column(x: f64) -> i64 {
        x.floor() as i64
    }

    #[test]
    fn bars_apart_are_kept_as_they_are() {
        let bars = vec![bar(0.5, 1.0, 0.1), bar(2.5, 0.0, 0.2), bar(1.5, 3.0, 0.1)];
        assert_eq!(decimate(bars.clone(), column), bars);
    }

    #[test]
    fn decimation_keeps_each_columns_extremes_and_gaps() {
        let mut bars = Vec::new();
        for k in 0..10_000 {
            let x = f64::from(k) * 1e-3; // ten columns of 1 000 bars
            let y = 2.0 * x + (f64::from(k) * 0.37).sin() * 0.05;
            bars.push(bar(x, y, 0.02 + 0.01 * (f64::from(k) * 0.11).cos()));
        }
        // An outlier far above the others of its column: its own bar, a gap below it.
        bars.push(bar(3.5, 40.0, 0.5));
        let out = decimate(bars.clone(), column);
        assert!(out.len() < 40, "{} bars", out.len());
        for col in 0..10 {
            let of = |set: &[Bar]| {
                let lows = set.iter().filter(|b| column(b.x) == col).map(|b| b.lo);
                let highs = set.iter().filter(|b| column(b.x) == col).map(|b| b.hi);
                (
                    lows.fold(f64::INFINITY, f64::min),
                    highs.fold(f64::NEG_INFINITY, f64::max),
                )
            };
            assert_eq!(of(&out), of(&bars), "column {col}");
        }
        let outlier: Vec<&Bar> = out.iter().filter(|b| b.hi > 30.0).collect();
        assert_eq!(outlier.len(), 1);
        assert_eq!(
            (outlier[0].lo, outlier[0].hi, outlier[0].mid),
            (39.5, 40.5, Some(40.0))
        );
        // Every value of every input bar is covered by an output bar of its column.
        for b in &bars {
            assert!(
                out.iter()
                    .any(|o| column(o.x) == column(b.x) && o.lo <= b.lo && o.hi >= b.hi)
            );
        }
    }
}
