//! Drawing one plot on any plotters backend (SVG or bitmap): title and subtitle, the axes and
//! grid, the confidence band, the error bars and markers (each series one element, crowded
//! error bars merged: [`crate::plot_marks`]), the reference and excluded points, the fitted line
//! and the legend. Sizes are given for [`super::DEFAULT_SIZE`] and multiplied by `scale`.

use super::data::PlotData;
use super::labels::{padded_range, pretty, pretty_p, tick_formatter};
use super::{BLUE, FONT, GREY_TEXT, GRID_BOLD, GRID_LIGHT, RED};
use crate::plot_marks::{self, Bar, Marks};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Draws `data` on `root`; an error is plotters' message.
pub(super) fn draw<DB: DrawingBackend>(
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
    // A line of text centred at the top, `y` px down, `pt` px high.
    let centred = |text: &str, y: f64, pt: f64, colour: &RGBColor| {
        root.draw(&Text::new(
            text.to_owned(),
            (centre, ipx(y)),
            (FONT, size(pt))
                .into_font()
                .color(colour)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(e)
    };
    centred(&data.title, 14.0, 24.0, &BLACK)?;
    centred(&data.subtitle, 46.0, 15.0, &GREY_TEXT)?;
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
        .draw_series(std::iter::once(Marks::ErrorBars {
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
        .draw_series(std::iter::once(Marks::Markers {
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
