//! Plots of one strain component against deformation distance, as SVG and PNG.
//!
//! Each plot shows the measured values with ± one standard uncertainty (from the analysis'
//! point-placement σ) as error bars, the reference image as a hollow marker, the least-squares
//! line, and the 95 % confidence band of the fitted mean,
//! `ŷ(d) ± t₀.₉₇₅,ₙ₋₂ · s · √(1/n + (d − d̄)² / Sdd)`, with `s² = Σ(y − ŷ)² / (n − 2)`. The legend
//! gives the slope, r² and p-value. Text uses the embedded DejaVu Sans font.
//!
//! The strain–stress plot of a film's frames ([`stress_strain_svg`]) is drawn the same way:
//! engineering stress (MPa) against the loading-axis strain, the fit `σ = E·ε + σ₀` and its band;
//! the strain's uncertainty is shown in the strain plots, not as bars here.

use crate::error::ExportError;
use crate::plot_marks::{self, Bar, ErrorBars, Markers};
use image::ImageEncoder;
use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::sync::OnceLock;
use strain_seer_engine::{Analysis, Component, Regression, StressStrain};

/// Default plot size in pixels (SVG user units): 960 × 640.
pub const DEFAULT_SIZE: (u32, u32) = (960, 640);
/// Default PNG size: 1.5 × [`DEFAULT_SIZE`], sharp enough for a report.
pub const DEFAULT_PNG_SIZE: (u32, u32) = (1440, 960);
/// Smallest and largest accepted side, pixels.
pub const MIN_SIDE: u32 = 200;
pub const MAX_SIDE: u32 = 6000;

const FONT: &str = "sans-serif";
static FONT_DATA: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static FONT_REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the embedded font with plotters once per process.
fn ensure_font() -> Result<(), ExportError> {
    let ok =
        *FONT_REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_DATA).is_ok());
    if ok { Ok(()) } else { Err(ExportError::Font) }
}

const BLUE: RGBColor = RGBColor(31, 92, 160);
const RED: RGBColor = RGBColor(200, 40, 40);
const GRID_LIGHT: RGBColor = RGBColor(246, 246, 246);
const GRID_BOLD: RGBColor = RGBColor(214, 214, 214);
const GREY_TEXT: RGBColor = RGBColor(90, 90, 90);

/// File name stem of a component's plot: `plot-<key>` (e.g. `plot-eps_xx`).
pub fn plot_file_stem(component: Component) -> String {
    format!("plot-{}", component.key())
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    x: f64,
    y: f64,
    sd: f64,
    reference: bool,
    /// Excluded from the fit by the user: drawn as a grey cross, left out of the band.
    excluded: bool,
}

/// Everything a plot shows, extracted from an analysis.
#[derive(Debug, Clone)]
struct PlotData {
    /// Names the plot in errors: the component key, or `stress_strain`.
    key: String,
    title: String,
    x_desc: String,
    y_desc: String,
    /// Unit of the slope in the legend (`/mm`, `MPa`).
    slope_unit: &'static str,
    /// Legend of the measured points.
    points_label: &'static str,
    samples: Vec<Sample>,
    fit: Regression,
    /// Half-width of the confidence band: `t · s`, and the `1/n`, `d̄`, `Sdd` of the band formula.
    band: Option<Band>,
    subtitle: String,
}

#[derive(Debug, Clone, Copy)]
struct Band {
    t_s: f64,
    n: f64,
    mean_x: f64,
    sxx: f64,
}

impl Band {
    fn half_width(&self, x: f64) -> f64 {
        self.t_s * (1.0 / self.n + (x - self.mean_x).powi(2) / self.sxx).sqrt()
    }
}

impl PlotData {
    fn from_analysis(analysis: &Analysis, component: Component) -> Result<Self, ExportError> {
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
    fn stress_strain(
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
fn confidence_band(samples: &[Sample], fit: &Regression) -> Option<Band> {
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

/// `1`, `0.5`, `1.25`: a setting as the user typed it.
fn trim_number(v: f64) -> String {
    format!("{v}")
}

fn superscript(exp: i32) -> String {
    exp.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

/// `v` with `sig` significant digits, as `0.0123` for moderate magnitudes and `1.23×10⁻⁵` otherwise.
#[allow(clippy::cast_possible_truncation)]
fn pretty(v: f64, sig: usize) -> String {
    if !v.is_finite() {
        return crate::error::show_number(v);
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let exp = v.abs().log10().floor() as i32;
    if (-3..4).contains(&exp) {
        let decimals = usize::try_from(i32::try_from(sig).unwrap_or(4) - 1 - exp).unwrap_or(0);
        format!("{v:.decimals$}")
    } else {
        let mantissa = v / 10f64.powi(exp);
        let decimals = sig.saturating_sub(1);
        format!("{mantissa:.decimals$}×10{}", superscript(exp))
    }
}

/// A p-value for the legend.
fn pretty_p(p: f64) -> String {
    if p.is_finite() && p > 0.0 && p < 1e-15 {
        "< 10⁻¹⁵".to_owned()
    } else {
        format!("= {}", pretty(p, 3))
    }
}

/// Short symbol of a component for the axis: the label up to its first " (".
fn symbol(component: Component) -> &'static str {
    let label = component.label();
    label.split(" (").next().unwrap_or(label)
}

fn y_axis_label(component: Component) -> String {
    let unit = match component {
        Component::J => "–",
        c if c.is_angle() => "°",
        _ => "mm/mm",
    };
    format!("{} ({unit})", symbol(component))
}

/// Tick label with just enough decimals for the axis' span: as many as the tick step (the
/// smallest 1, 2 or 5 × 10ᵏ giving at most ten ticks, as plotters picks it) needs; scientific for tiny or huge spans.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn tick_formatter(span: f64) -> impl Fn(&f64) -> String {
    let scientific = span > 0.0 && !(1e-3..=1e6).contains(&span);
    let decimals = if span > 0.0 && span.is_finite() {
        let raw = span / 9.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| *s >= raw * (1.0 - 1e-9))
            .unwrap_or(10.0 * magnitude);
        (0..=8)
            .find(|d| {
                let scaled = step * 10f64.powi(*d);
                (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
            })
            .unwrap_or(8) as usize
    } else {
        2
    };
    move |v: &f64| {
        if scientific {
            format!("{v:.1e}")
        } else if v.abs() < span * 1e-9 {
            // Avoid "-0.00".
            format!("{:.decimals$}", 0.0)
        } else {
            format!("{v:.decimals$}")
        }
    }
}

/// Axis range `[lo, hi]` of `values`, padded; a fallback when empty or flat.
fn padded_range(values: impl Iterator<Item = f64>, pad_low: f64, pad_high: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() || !hi.is_finite() {
        return (-1.0, 1.0);
    }
    let span = hi - lo;
    let span = if span > 0.0 {
        span
    } else if lo != 0.0 {
        lo.abs() * 0.1
    } else {
        1.0
    };
    let range = (lo - pad_low * span, hi + pad_high * span);
    if range.0.is_finite() && range.1.is_finite() && range.1 > range.0 {
        range
    } else {
        (-1.0, 1.0)
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &PlotData,
    scale: f64,
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let px = |v: f64| (v * scale).round().max(1.0) as u32;
    #[allow(clippy::cast_possible_truncation)]
    let ipx = |v: f64| (v * scale).round() as i32;
    let size = |v: f64| v * scale;
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();

    root.fill(&WHITE).map_err(e)?;
    let (width, _) = root.dim_in_pixel();
    #[allow(clippy::cast_possible_wrap)]
    let centre = (width / 2) as i32;
    root.draw(&Text::new(
        data.title.clone(),
        (centre, ipx(14.0)),
        (FONT, size(24.0))
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(e)?;
    root.draw(&Text::new(
        data.subtitle.clone(),
        (centre, ipx(46.0)),
        (FONT, size(15.0))
            .into_font()
            .color(&GREY_TEXT)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))
    .map_err(e)?;
    let area = root.margin(px(72.0), px(12.0), px(12.0), px(28.0));

    let fit = &data.fit;
    let (x0, x1) = padded_range(data.samples.iter().map(|s| s.x), 0.06, 0.06);
    let line_at = |x: f64| fit.intercept + fit.slope * x;
    let band_at = |x: f64| data.band.map_or(0.0, |b| b.half_width(x));
    let mut ys: Vec<f64> = data
        .samples
        .iter()
        .flat_map(|s| [s.y - s.sd, s.y + s.sd])
        .collect();
    for x in [x0, x1] {
        ys.extend([line_at(x) - band_at(x), line_at(x) + band_at(x)]);
    }
    // Room at the top for the legend.
    let (y0, y1) = padded_range(ys.into_iter(), 0.08, 0.45);

    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(px(58.0))
        .y_label_area_size(px(96.0))
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;
    let x_fmt = tick_formatter(x1 - x0);
    let y_fmt = tick_formatter(y1 - y0);
    chart
        .configure_mesh()
        .x_desc(data.x_desc.as_str())
        .y_desc(data.y_desc.as_str())
        .axis_desc_style((FONT, size(18.0)))
        .label_style((FONT, size(15.0)))
        .x_labels(10)
        .y_labels(10)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(GRID_LIGHT)
        .bold_line_style(GRID_BOLD)
        .axis_style(ShapeStyle::from(&BLACK).stroke_width(px(1.0)))
        .draw()
        .map_err(e)?;

    // Confidence band.
    if let Some(band) = data.band {
        let steps = 120;
        let xs: Vec<f64> = (0..=steps)
            .map(|i| x0 + (x1 - x0) * f64::from(i) / f64::from(steps))
            .collect();
        let mut polygon: Vec<(f64, f64)> = xs
            .iter()
            .map(|&x| (x, line_at(x) + band.half_width(x)))
            .collect();
        polygon.extend(
            xs.iter()
                .rev()
                .map(|&x| (x, line_at(x) - band.half_width(x))),
        );
        let fill = RED.mix(0.14).filled();
        let legend_box = px(9.0);
        let legend_w = px(22.0);
        #[allow(clippy::cast_possible_wrap)]
        let (bh, bw) = (legend_box as i32 / 2 + 1, legend_w as i32);
        chart
            .draw_series(std::iter::once(Polygon::new(polygon, fill)))
            .map_err(e)?
            .label("95 % confidence band of the fitted line")
            .legend(move |(x, y)| Rectangle::new([(x, y - bh), (x + bw, y + bh)], fill));
    }

    // Error bars, then the points on top, each series one element. Many points: smaller,
    // translucent markers and bars so the cloud stays readable, and the bars that would
    // overlap merged (the rule: crate::plot_marks).
    let crowded = data.samples.len() > 30;
    let (bar_style, cap) = if crowded {
        (BLUE.mix(0.35).stroke_width(px(1.0)), px(5.0))
    } else {
        (BLUE.mix(0.85).stroke_width(px(1.5)), px(12.0))
    };
    let bars: Vec<Bar> = data
        .samples
        .iter()
        .filter(|s| s.sd > 0.0)
        .map(|s| Bar {
            x: s.x,
            lo: s.y - s.sd,
            mid: Some(s.y),
            hi: s.y + s.sd,
        })
        .collect();
    let cap_columns = i64::from(cap.max(1));
    let bars = plot_marks::decimate(bars, |x| {
        i64::from(chart.backend_coord(&(x, y0)).0).div_euclid(cap_columns)
    });
    chart
        .draw_series(std::iter::once(ErrorBars {
            bars,
            style: bar_style,
            cap,
        }))
        .map_err(e)?;
    let r = if crowded { px(3.0) } else { px(5.5) };
    let point_style = if crowded {
        BLUE.mix(0.6).filled()
    } else {
        BLUE.filled()
    };
    #[allow(clippy::cast_possible_wrap)]
    let half = px(22.0) as i32 / 2;
    chart
        .draw_series(std::iter::once(Markers {
            centres: data
                .samples
                .iter()
                .filter(|s| !s.reference && !s.excluded)
                .map(|s| (s.x, s.y))
                .collect(),
            radius: r,
            style: point_style,
        }))
        .map_err(e)?
        .label(data.points_label)
        .legend(move |(x, y)| Circle::new((x + half, y), r, point_style));
    if data.samples.iter().any(|s| s.reference) {
        let ring = ShapeStyle::from(&BLUE).stroke_width(px(2.0));
        chart
            .draw_series(data.samples.iter().filter(|s| s.reference).flat_map(|s| {
                [
                    Circle::new((s.x, s.y), r + 1, WHITE.filled()),
                    Circle::new((s.x, s.y), r + 1, ring),
                ]
            }))
            .map_err(e)?
            .label("reference image (zero strain by definition)")
            .legend(move |(x, y)| Circle::new((x + half, y), r + 1, ring));
    }
    if data.samples.iter().any(|s| s.excluded) {
        let grey = ShapeStyle::from(&RGBColor(110, 110, 110)).stroke_width(px(2.5));
        #[allow(clippy::cast_possible_wrap)]
        let size = (r + 2) as i32;
        chart
            .draw_series(
                data.samples
                    .iter()
                    .filter(|s| s.excluded)
                    .map(|s| Cross::new((s.x, s.y), size, grey)),
            )
            .map_err(e)?
            .label("excluded from the fit")
            .legend(move |(x, y)| Cross::new((x + half, y), size, grey));
    }

    // The fitted line on top of the points.
    let fit_style = RED.stroke_width(px(2.5));
    #[allow(clippy::cast_possible_wrap)]
    let lw = px(22.0) as i32;
    chart
        .draw_series(LineSeries::new(
            [(x0, line_at(x0)), (x1, line_at(x1))],
            fit_style,
        ))
        .map_err(e)?
        .label(format!(
            "least squares: slope {} {}, r² = {}, p {}",
            pretty(fit.slope, 4),
            data.slope_unit,
            pretty(fit.r_squared, 4),
            pretty_p(fit.p_value)
        ))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + lw, y)], fit_style));

    let position = if fit.slope < 0.0 {
        SeriesLabelPosition::UpperRight
    } else {
        SeriesLabelPosition::UpperLeft
    };
    chart
        .configure_series_labels()
        .position(position)
        .margin(px(10.0))
        .legend_area_size(px(30.0))
        .label_font((FONT, size(15.0)))
        .background_style(WHITE.mix(0.92))
        .border_style(GRID_BOLD)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

fn check_size((width, height): (u32, u32)) -> Result<(), ExportError> {
    let ok = |v: u32| (MIN_SIDE..=MAX_SIDE).contains(&v);
    if ok(width) && ok(height) {
        Ok(())
    } else {
        Err(ExportError::PlotSize {
            width,
            height,
            min: MIN_SIDE,
            max: MAX_SIDE,
        })
    }
}

fn scale_for((width, height): (u32, u32)) -> f64 {
    let (w0, h0) = DEFAULT_SIZE;
    (f64::from(width) / f64::from(w0))
        .min(f64::from(height) / f64::from(h0))
        .max(0.4)
}

/// The plot of `component` (which must be one of the analysis' regressions) as an SVG document.
pub fn to_svg(
    analysis: &Analysis,
    component: Component,
    size: (u32, u32),
) -> Result<String, ExportError> {
    check_size(size)?;
    render_svg(&PlotData::from_analysis(analysis, component)?, size)
}

/// The plot of `component` (which must be one of the analysis' regressions) as PNG bytes.
pub fn to_png(
    analysis: &Analysis,
    component: Component,
    size: (u32, u32),
) -> Result<Vec<u8>, ExportError> {
    check_size(size)?;
    render_png(&PlotData::from_analysis(analysis, component)?, size)
}

/// File name stem of the strain–stress plot.
pub const STRESS_PLOT_STEM: &str = "plot-stress_strain";

/// The strain–stress plot of a film's frames as an SVG document: engineering stress
/// (`stresses`, parallel to `analysis.rows`) against the loading-axis strain, with the fit
/// `σ = E·ε + σ₀` and its 95 % band; the slope in the legend is the apparent modulus E (MPa).
pub fn stress_strain_svg(
    analysis: &Analysis,
    stresses: &[Option<f64>],
    fit: &StressStrain,
    size: (u32, u32),
) -> Result<String, ExportError> {
    check_size(size)?;
    render_svg(&PlotData::stress_strain(analysis, stresses, fit)?, size)
}

/// [`stress_strain_svg`] as PNG bytes.
pub fn stress_strain_png(
    analysis: &Analysis,
    stresses: &[Option<f64>],
    fit: &StressStrain,
    size: (u32, u32),
) -> Result<Vec<u8>, ExportError> {
    check_size(size)?;
    render_png(&PlotData::stress_strain(analysis, stresses, fit)?, size)
}

fn render_svg(data: &PlotData, size: (u32, u32)) -> Result<String, ExportError> {
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root, data, scale_for(size)).map_err(|message| ExportError::Plot {
            component: data.key.clone(),
            message,
        })?;
    }
    Ok(svg)
}

fn render_png(data: &PlotData, size: (u32, u32)) -> Result<Vec<u8>, ExportError> {
    ensure_font()?;
    let plot_error = |message: String| ExportError::Plot {
        component: data.key.clone(),
        message,
    };
    let (width, height) = size;
    // Both sides are ≤ MAX_SIDE, so this cannot overflow.
    let len = usize::try_from(u64::from(width) * u64::from(height) * 3)
        .map_err(|e| plot_error(e.to_string()))?;
    let mut pixels = vec![0u8; len];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut pixels, size)
            .map_err(|err| plot_error(err.to_string()))?;
        let root = backend.into_drawing_area();
        draw(&root, data, scale_for(size)).map_err(plot_error)?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|err| ExportError::Png {
            component: data.key.clone(),
            message: err.to_string(),
        })?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::demo_analysis;

    /// Writes the plot to $STRAIN_SEER_PLOT_DIR when set, to look at it.
    fn keep(name: &str, bytes: &[u8]) {
        if let Some(dir) = std::env::var_os("STRAIN_SEER_PLOT_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
        }
    }

    #[test]
    fn the_stress_strain_plot_has_its_axes_points_and_modulus() {
        let a = demo_analysis();
        let axis = strain_seer_engine::stress::loading_axis(&a);
        let stresses: Vec<Option<f64>> = a
            .rows
            .iter()
            .map(|r| Some(1200.0 * axis.component().value(&r.measures)))
            .collect();
        let fit = strain_seer_engine::stress::stress_strain(&a, &stresses).unwrap();
        let svg = stress_strain_svg(&a, &stresses, &fit, DEFAULT_SIZE).unwrap();
        keep("plot-stress_strain.svg", svg.as_bytes());
        assert!(svg.contains("Engineering stress vs"), "title");
        assert!(svg.contains("Engineering stress σ (MPa)"), "y axis");
        assert!(
            svg.contains("least squares: slope 1200 MPa, r² = 1"),
            "legend"
        );
        assert!(svg.contains("film frames"));
        let png = stress_strain_png(&a, &stresses, &fit, DEFAULT_PNG_SIZE).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        // No frame with a stress: an error, not an empty plot.
        let none = vec![None; a.rows.len()];
        assert!(stress_strain_svg(&a, &none, &fit, DEFAULT_SIZE).is_err());
    }

    #[test]
    fn svg_has_title_axes_legend_and_every_point() {
        let a = demo_analysis();
        for c in Component::DEFAULT {
            let svg = to_svg(&a, c, DEFAULT_SIZE).unwrap();
            keep(&format!("{}.svg", plot_file_stem(c)), svg.as_bytes());
            assert!(svg.starts_with("<svg"), "{}", &svg[..50]);
            assert!(svg.contains(&format!("{} vs deformation distance", c.label())));
            assert!(svg.contains("Deformation distance (mm)"));
            assert!(svg.contains(&y_axis_label(c)));
            assert!(svg.contains("95 % confidence band"));
            assert!(svg.contains("least squares: slope"));
            assert!(svg.contains("reference image"));
            assert!(svg.contains("<polygon"), "band missing");
            assert!(svg.matches("<circle").count() >= 4, "points missing");
        }
        let svg = to_svg(&a, Component::EpsXx, DEFAULT_SIZE).unwrap();
        assert!(
            svg.contains("slope 0.009100 /mm, r² = 0.9912, p = 0.00442"),
            "legend text"
        );
    }

    #[test]
    fn png_decodes_to_the_requested_size() {
        let a = demo_analysis();
        for (c, size) in [
            (Component::EpsYy, DEFAULT_PNG_SIZE),
            (Component::EpsXx, (640, 400)),
        ] {
            let png = to_png(&a, c, size).unwrap();
            keep(
                &format!("{}-{}x{}.png", plot_file_stem(c), size.0, size.1),
                &png,
            );
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
            let img = image::load_from_memory(&png).unwrap().to_rgb8();
            assert_eq!(img.dimensions(), size);
            // Not blank: text, grid and data are drawn in several colours.
            let distinct: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
            assert!(distinct.len() > 20, "{} colours", distinct.len());
        }
    }

    #[test]
    fn missing_regression_and_degenerate_data_do_not_panic() {
        let mut a = demo_analysis();
        assert!(matches!(
            to_svg(&a, Component::J, DEFAULT_SIZE),
            Err(ExportError::NoRegression(_))
        ));
        for row in &mut a.rows {
            row.measures.small.xx = f64::NAN;
        }
        a.regressions[0].regression.slope = f64::INFINITY;
        assert!(to_png(&a, Component::EpsXx, (300, 200)).is_ok());
        a.rows.clear();
        assert!(to_svg(&a, Component::EpsYy, DEFAULT_SIZE).is_ok());
    }

    #[test]
    fn confidence_band_matches_the_textbook_formula() {
        let a = demo_analysis();
        let data = PlotData::from_analysis(&a, Component::EpsXx).unwrap();
        let band = data.band.unwrap();
        // At the mean distance the half-width is t·s/√n, and s = stderr·√Sdd.
        let s = a.regressions[0].regression.stderr * 500f64.sqrt();
        approx::assert_relative_eq!(
            band.half_width(15.0),
            4.302652729911275 * s / 2.0,
            max_relative = 1e-9
        );
    }

    #[test]
    fn pretty_numbers() {
        assert_eq!(pretty(0.00910010373354716, 4), "0.009100");
        assert_eq!(pretty(-0.0011885, 3), "-0.00119");
        assert_eq!(pretty(0.9911750891251511, 4), "0.9912");
        assert_eq!(pretty(2.5e-5, 3), "2.50×10⁻⁵");
        assert_eq!(pretty(12345.0, 3), "1.23×10⁴");
        assert_eq!(pretty(0.0, 3), "0");
        assert_eq!(pretty_p(1e-20), "< 10⁻¹⁵");
        assert_eq!(pretty_p(0.0), "= 0");
    }

    #[test]
    fn axis_labels_have_units() {
        assert_eq!(y_axis_label(Component::EpsXx), "εxx (mm/mm)");
        assert_eq!(y_axis_label(Component::J), "J (–)");
        assert_eq!(y_axis_label(Component::Rotation), "rigid rotation (°)");
    }

    #[test]
    fn ticks_use_enough_decimals() {
        let f = tick_formatter(0.8);
        assert_eq!(f(&0.1), "0.1");
        assert_eq!(f(&-1e-17), "0.0");
        assert_eq!(tick_formatter(0.2)(&0.05), "0.05");
        assert_eq!(tick_formatter(0.05)(&0.02), "0.02");
        assert_eq!(tick_formatter(0.9)(&0.4), "0.4");
        assert_eq!(tick_formatter(35.0)(&10.0), "10");
        assert_eq!(tick_formatter(1e-6)(&2e-7), "2.0e-7");
    }

    #[test]
    fn ranges_are_padded_and_never_flat() {
        assert_eq!(
            padded_range([0.0, 10.0].into_iter(), 0.1, 0.1),
            (-1.0, 11.0)
        );
        let (lo, hi) = padded_range([5.0, 5.0].into_iter(), 0.1, 0.1);
        assert!(lo < 5.0 && hi > 5.0);
        assert_eq!(padded_range([f64::NAN].into_iter(), 0.1, 0.1), (-1.0, 1.0));
        assert_eq!(
            padded_range([-1e308, 1e308].into_iter(), 0.1, 0.1),
            (-1.0, 1.0)
        );
    }

    #[test]
    fn sizes_outside_the_range_are_refused() {
        assert!(matches!(
            check_size((10, 600)),
            Err(ExportError::PlotSize { .. })
        ));
        assert!(check_size(DEFAULT_SIZE).is_ok() && check_size(DEFAULT_PNG_SIZE).is_ok());
    }
}
