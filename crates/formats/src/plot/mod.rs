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
//!
//! The parts: `data` takes the samples, the fit and the band out of an analysis;
//! `labels` formats the text; `draw` draws on any plotters backend; this module checks the
//! size, picks the backend (SVG text, or an RGB bitmap encoded as PNG) and names the files.

mod data;
mod draw;
mod labels;

use crate::error::ExportError;
use data::PlotData;
use draw::draw;
use image::ImageEncoder;
use plotters::backend::RGBPixel;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::sync::OnceLock;
use strain_seer_engine::{Analysis, Component, StressStrain};

/// Default plot size in pixels (SVG user units): 960 × 640.
pub const DEFAULT_SIZE: (u32, u32) = (960, 640);
/// Default PNG size: 1.5 × [`DEFAULT_SIZE`], sharp enough for a report.
pub const DEFAULT_PNG_SIZE: (u32, u32) = (1440, 960);
/// Smallest and largest accepted side, pixels.
pub const MIN_SIDE: u32 = 200;
pub const MAX_SIDE: u32 = 6000;

const FONT: &str = "sans-serif";
static FONT_DATA: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
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
    use super::labels::{padded_range, pretty, pretty_p, tick_formatter, y_axis_label};
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
