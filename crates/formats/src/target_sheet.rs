//! The printable calibration target: a sheet of dark dots on a square grid of known pitch, as
//! SVG in millimetres, to print at 100 % and lay in the specimen's plane.
//!
//! The sheet carries what the user needs to check the print: the pitch and dot size in words,
//! and a 100 mm bar to measure with a ruler (a printer that scales to fit changes the pitch,
//! which a uniform scale makes harmless to strain but not to a stated pitch). The detector
//! ([`strain_seer_engine::detect::detect_target`]) needs at least 12 dots of the grid in a photo;
//! the dot diameter is 40 % of the pitch by default, well apart from the fiducial markers'
//! size so that neither is taken for the other.

use std::fmt::Write as _;

/// Paper sizes, portrait, mm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

impl Paper {
    /// Width and height, mm.
    pub fn size_mm(self) -> (f64, f64) {
        match self {
            Paper::A4 => (210.0, 297.0),
            Paper::Letter => (215.9, 279.4),
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Paper::A4 => "a4",
            Paper::Letter => "letter",
        }
    }
}

impl std::str::FromStr for Paper {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Ok(Paper::A4),
            "letter" => Ok(Paper::Letter),
            other => Err(format!("unknown paper '{other}' (expected a4 or letter)")),
        }
    }
}

/// A target sheet's design.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetSheet {
    /// Distance between neighbouring dots' centres, mm.
    pub pitch_mm: f64,
    /// Dot diameter, mm; `None` = 40 % of the pitch.
    pub dot_mm: Option<f64>,
    pub paper: Paper,
}

impl Default for TargetSheet {
    fn default() -> Self {
        Self {
            pitch_mm: 5.0,
            dot_mm: None,
            paper: Paper::A4,
        }
    }
}

/// Margin around the printed area (printers do not print to the edge), mm.
const MARGIN_MM: f64 = 12.0;
/// Height of the text and check-bar strip at the top, mm.
const HEADER_MM: f64 = 26.0;

impl TargetSheet {
    /// Why the design cannot be printed, if it cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.pitch_mm.is_finite() && (1.0..=50.0).contains(&self.pitch_mm)) {
            return Err(format!(
                "the pitch must be between 1 and 50 mm, got {}",
                self.pitch_mm
            ));
        }
        let dot = self.dot();
        if !(dot.is_finite() && dot >= 0.3 && dot <= 0.7 * self.pitch_mm) {
            return Err(format!(
                "the dot diameter must be at least 0.3 mm and at most 70 % of the pitch ({} mm), got {dot}",
                0.7 * self.pitch_mm
            ));
        }
        let (cols, rows) = self.grid();
        if cols < 4 || rows < 4 {
            return Err(format!(
                "a {} mm pitch leaves only {cols} × {rows} dots on {} paper",
                self.pitch_mm,
                self.paper.key()
            ));
        }
        Ok(())
    }

    fn dot(&self) -> f64 {
        self.dot_mm.unwrap_or(0.4 * self.pitch_mm)
    }

    /// Dots across and down.
    pub fn grid(&self) -> (u32, u32) {
        let (w, h) = self.paper.size_mm();
        let n = |span: f64| ((span / self.pitch_mm).floor().max(0.0) as u32) + 1;
        (n(w - 2.0 * MARGIN_MM), n(h - 2.0 * MARGIN_MM - HEADER_MM))
    }

    /// The sheet as an SVG document in mm (call [`TargetSheet::validate`] first).
    pub fn to_svg(&self) -> String {
        let (w, h) = self.paper.size_mm();
        let (cols, rows) = self.grid();
        let p = self.pitch_mm;
        let r = self.dot() / 2.0;
        // Centre the grid in the area below the header.
        let gx = (w - f64::from(cols - 1) * p) / 2.0;
        let top = MARGIN_MM + HEADER_MM;
        let gy = top + (h - MARGIN_MM - top - f64::from(rows - 1) * p) / 2.0;
        let mut s = String::with_capacity(64 * (cols * rows) as usize + 2048);
        let _ = write!(
            s,
            r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">
<title>Strain Seer calibration target, pitch {p} mm</title>
<rect width="{w}" height="{h}" fill="#fff"/>
<g font-family="Helvetica, Arial, sans-serif" fill="#000">
<text x="{m}" y="{t1}" font-size="4.2" font-weight="bold">Strain Seer calibration target — pitch {p} mm, dots {d} mm, {cols} × {rows}</text>
<text x="{m}" y="{t2}" font-size="3">Print at 100 % (no “fit to page”). The bar below must measure 100.0 mm; lay the sheet flat in the specimen’s plane, beside the specimen.</text>
</g>
<g stroke="#000" stroke-width="0.3" fill="none">
<line x1="{m}" y1="{bar}" x2="{bar_end}" y2="{bar}"/>
"##,
            m = MARGIN_MM,
            t1 = MARGIN_MM + 4.0,
            t2 = MARGIN_MM + 9.5,
            d = round2(self.dot()),
            bar = MARGIN_MM + 17.0,
            bar_end = MARGIN_MM + 100.0,
        );
        for k in 0..=10 {
            let x = MARGIN_MM + 10.0 * f64::from(k);
            let len = if k % 5 == 0 { 4.0 } else { 2.5 };
            let y0 = MARGIN_MM + 17.0;
            let _ = writeln!(
                s,
                r#"<line x1="{x}" y1="{y0}" x2="{x}" y2="{}"/>"#,
                y0 - len
            );
        }
        let _ = writeln!(
            s,
            r##"</g>
<text x="{}" y="{}" font-family="Helvetica, Arial, sans-serif" font-size="3">100 mm</text>
<g fill="#000">"##,
            MARGIN_MM + 103.0,
            MARGIN_MM + 18.0
        );
        for j in 0..rows {
            for i in 0..cols {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{}" cy="{}" r="{}"/>"#,
                    round3(gx + f64::from(i) * p),
                    round3(gy + f64::from(j) * p),
                    round3(r)
                );
            }
        }
        s.push_str("</g>\n</svg>\n");
        s
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_a4_sheet_at_5_mm_has_the_dots_and_the_check_bar() {
        let sheet = TargetSheet::default();
        assert_eq!(sheet.validate(), Ok(()));
        let (cols, rows) = sheet.grid();
        // (210 − 24)/5 + 1 and (297 − 24 − 26)/5 + 1.
        assert_eq!((cols, rows), (38, 50));
        let svg = sheet.to_svg();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains(r#"width="210mm" height="297mm" viewBox="0 0 210 297""#));
        assert_eq!(svg.matches("<circle").count(), (cols * rows) as usize);
        assert!(svg.contains(r#"r="1""#), "dots of 2 mm");
        assert!(svg.contains("pitch 5 mm, dots 2 mm, 38 × 50"));
        // The check bar: 100 mm long with 11 ticks.
        assert!(svg.contains(r#"<line x1="12" y1="29" x2="112" y2="29"/>"#));
        // Neighbouring dots one pitch apart.
        let xs: Vec<f64> = svg
            .lines()
            .filter(|l| l.starts_with("<circle"))
            .take(2)
            .filter_map(|l| l.split('"').nth(1)?.parse().ok())
            .collect();
        assert!((xs[1] - xs[0] - 5.0).abs() < 1e-9, "{xs:?}");
    }

    #[test]
    fn designs_that_cannot_print_are_refused() {
        for (pitch, dot) in [
            (0.5, None),
            (60.0, None),
            (5.0, Some(4.0)),
            (5.0, Some(0.1)),
        ] {
            let sheet = TargetSheet {
                pitch_mm: pitch,
                dot_mm: dot,
                ..TargetSheet::default()
            };
            assert!(sheet.validate().is_err(), "{pitch} {dot:?}");
        }
        assert_eq!("Letter".parse::<Paper>(), Ok(Paper::Letter));
        assert!("a3".parse::<Paper>().is_err());
        let letter = TargetSheet {
            paper: Paper::Letter,
            ..TargetSheet::default()
        };
        assert!(letter.to_svg().contains(r#"width="215.9mm""#));
    }
}
