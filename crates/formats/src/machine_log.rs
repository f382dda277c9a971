//! The test machine's log: a CSV of time, displacement and (optionally) force, as it comes off
//! the bench, read into SI-ish units (s, mm, N) and interpolated at any time.
//!
//! Method. Machine logs differ in every detail a spreadsheet hides, so each is detected from the
//! text unless given:
//!
//! - **delimiter**: tab, `;`, `|` or `,` — the one that occurs the same number of times (at least
//!   once) on the longest run of lines at the end of the file (the data, after any preamble);
//!   ties go in that order, tab and `;` first because a `,` may be a decimal comma.
//! - **decimal comma**: with a delimiter other than `,`, numbers written `12,5` are read as 12.5.
//! - **header**: lines before the first all-numeric row are a preamble; the last of them with as
//!   many fields as the data is the header. No such line: columns are taken by index.
//! - **columns**: by name (a header field containing the name, case-insensitive) or 0-based
//!   index; by default the first header field naming time (`time`, `zeit`, `temps`, `t`), then
//!   displacement (`displacement`, `extension`, `position`, `deformation`, `stroke`, `travel`,
//!   `weg`, `disp`, `d`) and force (`force`, `load`, `kraft`, `f`); without a header 0, 1, 2.
//! - **units**: from the header field, in brackets or after the last space or `_`:
//!   s / ms / min, mm / µm (um) / cm / m, N / kN. Without one: s, mm, N.
//!
//! Interpolation ([`MachineLog::at`]) is linear between the two rows around a time; at a row's
//! own time it returns that row's value exactly (the last of several rows with the same time, so
//! a step written as two rows at one time takes effect there). Outside the log's time span there
//! is no value. Times must not decrease; any row that does not parse is an error naming its line.

use std::fmt;

/// Which column: its 0-based index, or a name that a header field contains.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnRef {
    Index(usize),
    Name(String),
}

impl ColumnRef {
    /// `"2"` is an index, anything else a name.
    pub fn parse(text: &str) -> ColumnRef {
        match text.trim().parse::<usize>() {
            Ok(i) => ColumnRef::Index(i),
            Err(_) => ColumnRef::Name(text.trim().to_owned()),
        }
    }
}

/// What the user told us about the log; `None` everywhere means "detect".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    pub delimiter: Option<u8>,
    pub decimal_comma: Option<bool>,
    pub has_header: Option<bool>,
    pub time: Option<ColumnRef>,
    pub displacement: Option<ColumnRef>,
    pub force: Option<ColumnRef>,
}

/// A log that does not read, with the 1-based line it concerns where there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct LogError {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn err(line: Option<usize>, message: impl Into<String>) -> LogError {
    LogError {
        line,
        message: message.into(),
    }
}

/// Displacement and force at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogSample {
    pub displacement_mm: f64,
    pub force_n: Option<f64>,
}

/// The log, in s, mm and N, one entry per data row.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineLog {
    pub time_s: Vec<f64>,
    pub displacement_mm: Vec<f64>,
    pub force_n: Option<Vec<f64>>,
    /// What was detected or given, for the user to check.
    pub delimiter: u8,
    pub decimal_comma: bool,
    /// The header fields of the three columns (or "column N").
    pub columns: Vec<String>,
}

/// At most this many rows (a 1 kHz log of 1000 s).
pub const MAX_ROWS: usize = 1_000_000;

const TIME_NAMES: &[&str] = &["time", "zeit", "temps", "t"];
const DISP_NAMES: &[&str] = &[
    "displacement",
    "extension",
    "position",
    "deformation",
    "stroke",
    "travel",
    "weg",
    "disp",
    "d",
];
const FORCE_NAMES: &[&str] = &["force", "load", "kraft", "f"];

impl MachineLog {
    /// Read a log from its text (see the module documentation for what is detected).
    pub fn parse(text: &str, opts: &LogOptions) -> Result<MachineLog, LogError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty())
            .collect();
        if lines.is_empty() {
            return Err(err(None, "the log is empty"));
        }
        let delimiter = match opts.delimiter {
            Some(d) => d,
            None => detect_delimiter(&lines)?,
        };
        let split = |line: &str| -> Vec<String> {
            line.split(delimiter as char)
                .map(|f| f.trim().trim_matches('"').trim().to_owned())
                .collect()
        };
        let decimal_comma = opts.decimal_comma.unwrap_or_else(|| {
            delimiter != b','
                && lines
                    .iter()
                    .rev()
                    .take(20)
                    .flat_map(|(_, l)| split(l))
                    .any(|f| f.contains(',') && number(&f.replace(',', ".")).is_some())
        });
        let num = |f: &str| {
            if decimal_comma {
                number(&f.replace(',', "."))
            } else {
                number(f)
            }
        };
        let numeric = |fields: &[String]| fields.iter().all(|f| num(f).is_some());
        let first_data = match opts.has_header {
            Some(false) => 0,
            _ => lines
                .iter()
                .position(|(_, l)| numeric(&split(l)))
                .ok_or_else(|| err(None, "no row of numbers in the log"))?,
        };
        let width = split(lines[first_data].1).len();
        let header: Option<Vec<String>> = lines[..first_data]
            .iter()
            .rev()
            .map(|(_, l)| split(l))
            .find(|f| f.len() == width);
        if opts.has_header == Some(true) && header.is_none() {
            return Err(err(None, "no header line before the first row of numbers"));
        }
        let pick = |given: &Option<ColumnRef>,
                    names: &[&str],
                    default: Option<usize>,
                    what: &str|
         -> Result<Option<usize>, LogError> {
            let index = match (given, &header) {
                (Some(ColumnRef::Index(i)), _) => Some(*i),
                (Some(ColumnRef::Name(n)), Some(h)) => {
                    Some(find_column(h, &[n.as_str()], true).ok_or_else(|| {
                        err(
                            None,
                            format!(
                                "no {what} column named \"{n}\" in the header ({})",
                                h.join(", ")
                            ),
                        )
                    })?)
                }
                (Some(ColumnRef::Name(n)), None) => {
                    return Err(err(
                        None,
                        format!(
                            "the {what} column \"{n}\" is given by name but the log has no header"
                        ),
                    ));
                }
                (None, Some(h)) => {
                    find_column(h, names, false).or(if h.iter().all(|f| f.is_empty()) {
                        default
                    } else {
                        None
                    })
                }
                (None, None) => default,
            };
            match index {
                Some(i) if i >= width => Err(err(
                    None,
                    format!("the {what} column {i} is past the log's {width} columns"),
                )),
                other => Ok(other),
            }
        };
        let t_col = pick(&opts.time, TIME_NAMES, Some(0), "time")?.ok_or_else(|| {
            err(
                None,
                "no time column found in the header (name it with the time column option)",
            )
        })?;
        let d_col = pick(&opts.displacement, DISP_NAMES, Some(1), "displacement")?
            .ok_or_else(|| err(None, "no displacement column found in the header (name it with the displacement column option)"))?;
        let f_col = pick(&opts.force, FORCE_NAMES, (width > 2).then_some(2), "force")?
            .filter(|&i| i != t_col && i != d_col);
        let field_name = |i: usize| {
            header
                .as_ref()
                .and_then(|h| h.get(i).cloned())
                .unwrap_or_else(|| format!("column {i}"))
        };
        let t_scale = unit_scale(
            &field_name(t_col),
            &[("ms", 1e-3), ("min", 60.0), ("s", 1.0)],
        )
        .map_err(|u| err(None, format!("unknown time unit \"{u}\" (s, ms, min)")))?;
        let d_scale = unit_scale(
            &field_name(d_col),
            &[
                ("mm", 1.0),
                ("µm", 1e-3),
                ("μm", 1e-3),
                ("um", 1e-3),
                ("cm", 10.0),
                ("m", 1e3),
            ],
        )
        .map_err(|u| {
            err(
                None,
                format!("unknown displacement unit \"{u}\" (mm, µm, cm, m)"),
            )
        })?;
        let f_scale = match f_col {
            Some(c) => unit_scale(&field_name(c), &[("kn", 1e3), ("n", 1.0)])
                .map_err(|u| err(None, format!("unknown force unit \"{u}\" (N, kN)")))?,
            None => 1.0,
        };

        let mut log = MachineLog {
            time_s: Vec::new(),
            displacement_mm: Vec::new(),
            force_n: f_col.map(|_| Vec::new()),
            delimiter,
            decimal_comma,
            columns: [Some(t_col), Some(d_col), f_col]
                .into_iter()
                .flatten()
                .map(field_name)
                .collect(),
        };
        for &(line_no, line) in &lines[first_data..] {
            let fields = split(line);
            let get = |col: usize, what: &str| -> Result<f64, LogError> {
                let f = fields.get(col).ok_or_else(|| {
                    err(
                        Some(line_no),
                        format!("{} fields, no {what} column {col}", fields.len()),
                    )
                })?;
                num(f).ok_or_else(|| err(Some(line_no), format!("{what} \"{f}\" is not a number")))
            };
            let t = get(t_col, "time")? * t_scale;
            if let Some(&prev) = log.time_s.last()
                && t < prev
            {
                return Err(err(
                    Some(line_no),
                    format!("time {t} s goes back (previous row {prev} s)"),
                ));
            }
            log.time_s.push(t);
            log.displacement_mm
                .push(get(d_col, "displacement")? * d_scale);
            if let (Some(c), Some(force)) = (f_col, log.force_n.as_mut()) {
                force.push(get(c, "force")? * f_scale);
            }
            if log.time_s.len() > MAX_ROWS {
                return Err(err(Some(line_no), format!("more than {MAX_ROWS} rows")));
            }
        }
        Ok(log)
    }

    /// Displacement (and force) at `t` seconds of the log's clock, linear between rows; `None`
    /// outside the logged span.
    pub fn at(&self, t: f64) -> Option<LogSample> {
        let n = self.time_s.len();
        if n == 0 || !t.is_finite() || t < self.time_s[0] || t > self.time_s[n - 1] {
            return None;
        }
        // The last row at or before t.
        let i = self.time_s.partition_point(|&x| x <= t) - 1;
        let lerp = |v: &[f64]| {
            if self.time_s[i] == t || i + 1 >= n {
                v[i]
            } else {
                let (t0, t1) = (self.time_s[i], self.time_s[i + 1]);
                v[i] + (v[i + 1] - v[i]) * (t - t0) / (t1 - t0)
            }
        };
        Some(LogSample {
            displacement_mm: lerp(&self.displacement_mm),
            force_n: self.force_n.as_deref().map(lerp),
        })
    }

    /// The times of the rows where the displacement has changed by at least `min_step_mm` since
    /// the last time kept (the first row always kept); every row with `min_step_mm` 0.
    pub fn step_times(&self, min_step_mm: f64) -> Vec<f64> {
        let mut out = Vec::new();
        let mut last: Option<f64> = None;
        for (&t, &d) in self.time_s.iter().zip(&self.displacement_mm) {
            if last.is_none_or(|l| (d - l).abs() >= min_step_mm) {
                out.push(t);
                last = Some(d);
            }
        }
        out
    }

    /// The first time the displacement differs from the first row's by more than `threshold_mm`.
    pub fn first_motion(&self, threshold_mm: f64) -> Option<f64> {
        let d0 = *self.displacement_mm.first()?;
        self.time_s
            .iter()
            .zip(&self.displacement_mm)
            .find(|(_, d)| (**d - d0).abs() > threshold_mm)
            .map(|(t, _)| *t)
    }
}

/// A finite number in Rust's syntax (with a leading `+` allowed).
fn number(field: &str) -> Option<f64> {
    let f = field.trim();
    let f = f.strip_prefix('+').unwrap_or(f);
    if f.is_empty() || f.eq_ignore_ascii_case("nan") || f.to_ascii_lowercase().contains("inf") {
        return None;
    }
    f.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn detect_delimiter(lines: &[(usize, &str)]) -> Result<u8, LogError> {
    // For each candidate, the run of lines from the end (the data) that hold it the same number
    // of times; the longest run wins, ties in the order of preference.
    let tail: Vec<&str> = lines.iter().rev().take(50).map(|(_, l)| *l).collect();
    let mut best: Option<(usize, u8)> = None;
    for d in [b'\t', b';', b'|', b','] {
        let count = |l: &str| l.bytes().filter(|&b| b == d).count();
        let first = count(tail[0]);
        if first == 0 {
            continue;
        }
        let run = tail.iter().take_while(|l| count(l) == first).count();
        if best.is_none_or(|(r, _)| run > r) {
            best = Some((run, d));
        }
    }
    best.map(|(_, d)| d).ok_or_else(|| {
        err(
            None,
            "cannot tell the delimiter (tab, ;, | or , the same number of times on every line)",
        )
    })
}

/// The field's name without its unit, lower case, and the unit (in brackets, or after the last
/// space or `_`).
fn name_and_unit(field: &str) -> (String, Option<String>) {
    let f = field.trim();
    for (open, close) in [('(', ')'), ('[', ']'), ('{', '}')] {
        if let (Some(a), Some(b)) = (f.rfind(open), f.rfind(close))
            && a < b
        {
            return (
                f[..a].trim().to_lowercase(),
                Some(f[a + 1..b].trim().to_owned()),
            );
        }
    }
    if let Some(i) = f.rfind([' ', '_', '/']) {
        return (
            f[..i].trim().to_lowercase(),
            Some(f[i + 1..].trim().to_owned()),
        );
    }
    (f.to_lowercase(), None)
}

fn find_column(header: &[String], names: &[&str], contains: bool) -> Option<usize> {
    for name in names {
        let name = name.to_lowercase();
        let hit = header.iter().position(|h| {
            let (base, _) = name_and_unit(h);
            let full = h.to_lowercase();
            if contains {
                full.contains(&name)
            } else {
                base == name || full == name || (name.len() > 1 && base.contains(&name))
            }
        });
        if hit.is_some() {
            return hit;
        }
    }
    None
}

/// The factor to the base unit for a header field's unit; no unit → 1. A suffix that is not a
/// known unit (e.g. "Standard force" → "force") counts as no unit when the field has no
/// brackets.
fn unit_scale(field: &str, units: &[(&str, f64)]) -> Result<f64, String> {
    let bracketed = field.contains(['(', '[', '{']);
    let (_, unit) = name_and_unit(field);
    let Some(unit) = unit else { return Ok(1.0) };
    let lower = unit.to_lowercase();
    match units.iter().find(|(u, _)| u.to_lowercase() == lower) {
        Some((_, s)) => Ok(*s),
        None if !bracketed => Ok(1.0),
        None => Err(unit),
    }
}

#[cfg(test)]
#[path = "machine_log_tests.rs"]
mod tests;
