//! The text of a plot: numbers in the legend (significant digits, ×10ⁿ for extreme
//! magnitudes), axis titles with units, tick labels with just enough decimals for the tick
//! step, and the padded axis ranges.

use strain_seer_engine::Component;

/// `1`, `0.5`, `1.25`: a setting as the user typed it.
pub(super) fn trim_number(v: f64) -> String {
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
pub(super) fn pretty(v: f64, sig: usize) -> String {
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
pub(super) fn pretty_p(p: f64) -> String {
    if p.is_finite() && p > 0.0 && p < 1e-15 {
        "< 10⁻¹⁵".to_owned()
    } else {
        format!("= {}", pretty(p, 3))
    }
}

/// Short symbol of a component for the axis: the label up to its first " (".
pub(super) fn symbol(component: Component) -> &'static str {
    let label = component.label();
    label.split(" (").next().unwrap_or(label)
}

pub(super) fn y_axis_label(component: Component) -> String {
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
pub(super) fn tick_formatter(span: f64) -> impl Fn(&f64) -> String {
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
pub(super) fn padded_range(
    values: impl Iterator<Item = f64>,
    pad_low: f64,
    pad_high: f64,
) -> (f64, f64) {
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
