//! The report as a PDF, typeset in-process by typst with the fonts embedded in the binary
//! (typst-assets): no system fonts, no files, nothing fetched.
//!
//! The report is written as typst markup in which every piece of user data (names, reasons,
//! numbers) is a typst string literal (`#"…"`), escaped here, so no input can change the markup.
//! Plots and photo thumbnails (with their point overlay, the same SVG as the HTML report's)
//! are SVG files of a small in-memory file system and stay vectors in the PDF. Tables repeat
//! their header row on every page. Typst is run under `catch_unwind`: a failure of the
//! typesetter is a [`ReportError::Typeset`], never a panic of the caller.

use super::html::{min_confidence, photo_svg};
use super::{
    ReportError, ReportInput, distance, fmt_stat, fmt_value, full_precision, method_paragraphs,
    plots, settings, table_components, warnings,
};
use crate::formats::tables;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

/// The embedded fonts, parsed once.
fn fonts() -> &'static (LazyHash<FontBook>, Vec<Font>) {
    static FONTS: OnceLock<(LazyHash<FontBook>, Vec<Font>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts()
            .flat_map(|data| Font::iter(Bytes::new(data)))
            .collect();
        (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
    })
}

fn library() -> &'static LazyHash<Library> {
    static LIBRARY: OnceLock<LazyHash<Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::default()))
}

/// The report's source and its in-memory files.
struct ReportWorld {
    main: Source,
    files: HashMap<FileId, Bytes>,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().0
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(id.vpath().get_without_slash().into()))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .get(&id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().get_without_slash().into()))
    }

    fn font(&self, index: usize) -> Option<Font> {
        fonts().1.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

/// At most this many photos are drawn in the PDF. Typst names every file it reads by an id
/// from a process-wide table of 65 535 that is never emptied; the photo files are named by
/// position (`/photo-17.svg`), so this bounds the ids the reports of a long-running server take.
pub const MAX_PHOTOS: usize = 2000;

/// A file of the report's in-memory file system, by its absolute path (`/photo-3.svg`).
fn file_id(path: &str) -> Result<FileId, ReportError> {
    let vpath = VirtualPath::new(path)
        .map_err(|e| ReportError::Typeset(format!("file name {path}: {e:?}")))?;
    Ok(FileId::new(RootedPath::new(VirtualRoot::Project, vpath)))
}

/// A typst string literal of `text`: `"…"` with `\`, `"` and control characters escaped.
pub fn lit(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A table cell holding `text` as a string.
fn cell(text: &str) -> String {
    format!("[#{}]", lit(text))
}

const PREAMBLE: &str = r#"
#set document(title: "Strain analysis report")
#set page(paper: "a4", margin: (x: 14mm, top: 14mm, bottom: 18mm),
  footer: context [#set text(8pt, fill: luma(90)); Strain Seer report #h(1fr) page #counter(page).display("1 of 1", both: true)])
#set text(font: ("Libertinus Serif", "New Computer Modern"), size: 9.5pt, lang: "en")
#set par(justify: false)
#show heading.where(level: 1): it => block(above: 1.2em, below: 0.6em, text(13pt, weight: "bold", it.body))
#show heading.where(level: 2): it => block(above: 1em, below: 0.4em, text(10.5pt, weight: "bold", it.body))
#show table.cell.where(y: 0): set text(weight: "bold")
#set table(stroke: (x, y) => (bottom: 0.4pt + luma(180)), inset: (x: 4pt, y: 2.5pt))
"#;

/// The report as typst markup and its files.
/// Typst markup and its in-memory files `(path, bytes)`.
type Markup = (String, Vec<(String, Vec<u8>)>);

fn source(input: &ReportInput<'_>) -> Result<Markup, ReportError> {
    let a = input.analysis;
    let p = input.project;
    let mut files = Vec::new();
    let mut s = String::from(PREAMBLE);
    let title = if p.name.is_empty() {
        "Strain analysis"
    } else {
        p.name.as_str()
    };
    let _ = writeln!(
        s,
        "#text(18pt, weight: \"bold\")[Strain analysis report] \\\n#text(12pt)[#{}] \\\n\
         #text(fill: luma(80))[#{} · Strain Seer {}]\n",
        lit(title),
        lit(&input.generated),
        super::VERSION
    );

    s.push_str("= Settings\n#table(columns: (auto, 1fr), stroke: none,\n");
    for (k, v) in settings(input) {
        let _ = writeln!(s, "  [*#{}*], {},", lit(k), cell(&v));
    }
    s.push_str(")\n");

    s.push_str("= Warnings\n");
    let warns = warnings(input);
    if warns.is_empty() {
        s.push_str("None.\n");
    }
    for w in &warns {
        let _ = writeln!(s, "- *#{}*: #{}", lit(w.title), lit(&w.detail));
    }

    s.push_str("= Results\n");
    match &a.poisson {
        Some(nu) => {
            let _ = writeln!(
                s,
                "#text(11pt)[Poisson's ratio ν = *#{}* (loading axis {}, from the slopes of {} images)]\n",
                lit(&format!(
                    "{:.4} ± {:.4}",
                    nu.from_slopes, nu.from_slopes_stderr
                )),
                nu.loading_axis,
                tables::fitted_count(a)
            );
        }
        None => s.push_str("Poisson's ratio is undefined (no axial strain change).\n\n"),
    }
    s.push_str(
        "== Linear fit against deformation distance (slope per mm)\n#table(columns: 9, \
         align: (left, ..(right,) * 8),\n  table.header([component], [slope], [± s.e.], \
         [95 % CI of slope], [intercept], [± s.e.], [r²], [p-value], [n]),\n",
    );
    for cr in &a.regressions {
        let r = &cr.regression;
        let cells = [
            cr.component.label().to_owned(),
            fmt_value(r.slope),
            fmt_stat(r.stderr),
            format!(
                "[{}, {}]",
                fmt_value(r.slope_ci95[0]),
                fmt_value(r.slope_ci95[1])
            ),
            fmt_value(r.intercept),
            fmt_stat(r.intercept_stderr),
            fmt_stat(r.r_squared),
            fmt_stat(r.p_value),
            r.n.to_string(),
        ];
        let _ = writeln!(s, "  {},", cells.map(|c| cell(&c)).join(", "));
    }
    if let Some(nu) = &a.poisson {
        let ci = tables::poisson_ci95(nu.from_slopes, nu.from_slopes_stderr);
        let cells = [
            "Poisson's ratio ν".to_owned(),
            fmt_value(nu.from_slopes),
            fmt_stat(nu.from_slopes_stderr),
            format!("[{}, {}]", fmt_value(ci[0]), fmt_value(ci[1])),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            tables::fitted_count(a).to_string(),
        ];
        let _ = writeln!(s, "  {},", cells.map(|c| cell(&c)).join(", "));
    }
    s.push_str(")\n");

    let components = table_components(a);
    let _ = writeln!(
        s,
        "== Strain of every image relative to the reference (± 1 standard uncertainty)\n\
         #text(size: {})[#table(columns: {}, align: (right, left, ..(right,) * {}),",
        if components.len() > 4 {
            "6.5pt"
        } else {
            "7.5pt"
        },
        components.len() + 6,
        components.len() + 4
    );
    let mut head = vec![
        "#".to_owned(),
        "image".into(),
        "d (mm)".into(),
        "mm/px".into(),
    ];
    head.extend(
        components
            .iter()
            .map(|c| c.label().split(" (").next().unwrap_or("").to_owned()),
    );
    head.extend(["ν".to_owned(), "note".to_owned()]);
    let _ = writeln!(
        s,
        "  table.header({}),",
        head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(", ")
    );
    for (i, row) in a.rows.iter().enumerate() {
        let note = match (&row.excluded, row.index == a.reference) {
            (Some(r), _) if r.is_empty() => "excluded".to_owned(),
            (Some(r), _) => format!("excluded: {r}"),
            (None, true) => "reference".to_owned(),
            (None, false) => String::new(),
        };
        let mut cells = vec![
            (i + 1).to_string(),
            row.name.clone(),
            distance(row.deformation),
            format!("{:.6}", row.mm_per_px),
        ];
        cells.extend(components.iter().map(|c| {
            format!(
                "{} ± {}",
                fmt_value(c.value(&row.measures)),
                fmt_stat(c.value(&row.uncertainty).abs())
            )
        }));
        cells.push(
            tables::poisson_of_row(a, i).map_or_else(|| "—".to_owned(), |v| format!("{v:.4}")),
        );
        cells.push(note);
        let _ = writeln!(
            s,
            "  {},",
            cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(", ")
        );
    }
    s.push_str(")]\n");

    let frames = super::frame_columns(input);
    if frames.any() {
        s.push_str(
            "== Film frames and the test machine's log\n#text(size: 7.5pt)[#table(columns: 5, \
             align: (right, left, right, right, right),\n  table.header([\\#], [image], [t (s)], \
             [F (N)], [σ (MPa)]),\n",
        );
        for cells in super::frame_table(a, &frames) {
            let _ = writeln!(
                s,
                "  {},",
                cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(", ")
            );
        }
        s.push_str(")]\n");
        let _ = writeln!(s, "#{}\n", lit(&super::frame_summary(&frames)));
    }

    s.push_str("= Plots\n");
    for (k, (component, svg)) in plots(a)?.into_iter().enumerate() {
        let name = format!("/plot-{k}.svg");
        let _ = writeln!(
            s,
            "#figure(image({}, width: 100%), caption: [#{}])\n",
            lit(&name),
            lit(&format!(
                "{} against deformation distance",
                component.label()
            ))
        );
        files.push((name, svg.into_bytes()));
    }
    if let Some(svg) = super::stress_plot(a, &frames)? {
        let name = "/plot-stress.svg".to_owned();
        let _ = writeln!(
            s,
            "#figure(image({}, width: 100%), caption: [Engineering stress against the loading-axis strain (film frames)])\n",
            lit(&name)
        );
        files.push((name, svg.into_bytes()));
    }

    s.push_str(
        "= Photos\nFiducial markers blue, scale points orange, detected points of low \
         confidence ringed red.\n#grid(columns: 4, gutter: 6pt,\n",
    );
    let sorted = p.sorted_images();
    for (k, image) in sorted.iter().take(MAX_PHOTOS).enumerate() {
        let mut svg = String::new();
        photo_svg(
            &mut svg,
            image,
            input.thumbnails.get(k).and_then(Option::as_ref),
        );
        let name = format!("/photo-{k}.svg");
        let conf = min_confidence(image);
        let caption = format!(
            "{} · d = {}{}{}",
            image.filename,
            image
                .deformation_distance
                .map_or_else(|| "—".to_owned(), |d| format!("{} mm", distance(d))),
            conf.map_or_else(String::new, |c| format!(" · confidence {c:.2}")),
            image
                .excluded
                .as_deref()
                .map(|r| if r.is_empty() {
                    " · excluded".to_owned()
                } else {
                    format!(" · excluded: {r}")
                })
                .unwrap_or_default()
        );
        let low = conf.is_some_and(|c| c < super::warnings::LOW_CONFIDENCE);
        let _ = writeln!(
            s,
            "  block(breakable: false)[#image({}, width: 100%) #text(7pt, fill: {})[#{}]],",
            lit(&name),
            if low { "rgb(\"#b3261e\")" } else { "luma(70)" },
            lit(&caption)
        );
        files.push((name, svg.into_bytes()));
    }
    s.push_str(")\n");
    if sorted.len() > MAX_PHOTOS {
        let _ = writeln!(
            s,
            "#{}\n",
            lit(&format!(
                "The first {MAX_PHOTOS} of {} photos are shown; the HTML report shows every one.",
                sorted.len()
            ))
        );
    }

    s.push_str("= Method\n");
    for (heading, text) in method_paragraphs(a) {
        let _ = writeln!(s, "*#{}* #{}\n", lit(&format!("{heading}.")), lit(&text));
    }

    s.push_str(
        "= Input photos (SHA-256)\n#text(7.5pt)[#table(columns: (auto, 1fr), \
         table.header([photo], [SHA-256]),\n",
    );
    for image in p.sorted_images() {
        let _ = writeln!(
            s,
            "  {}, [#text(font: \"DejaVu Sans Mono\")[#{}]],",
            cell(&image.filename),
            lit(image.sha256.as_deref().unwrap_or("not available"))
        );
    }
    s.push_str(")]\n");

    s.push_str(
        "= Appendix: every exported number in full precision\nAs in strains.csv and \
         regression.json.\n#text(6.5pt)[#columns(2, gutter: 12pt)[\n",
    );
    for (title, pairs) in full_precision(a, &frames)? {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "*#{}* · #{}\n", lit(&title), lit(&body.join(" · ")));
    }
    s.push_str("]]\n");
    Ok((s, files))
}

/// The typesetter's first three errors (of compiling or of writing the PDF), as one message.
fn typeset_error(errors: impl AsRef<[SourceDiagnostic]>) -> ReportError {
    ReportError::Typeset(
        errors
            .as_ref()
            .iter()
            .take(3)
            .map(|e| e.message.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The report as PDF bytes.
pub fn render(input: &ReportInput<'_>) -> Result<Vec<u8>, ReportError> {
    let (markup, files) = source(input)?;
    let typeset = move || -> Result<Vec<u8>, ReportError> {
        let main = Source::new(file_id("/report.typ")?, markup);
        let files = files
            .into_iter()
            .map(|(name, bytes)| Ok((file_id(&name)?, Bytes::new(bytes))))
            .collect::<Result<_, ReportError>>()?;
        let world = ReportWorld { main, files };
        let document: PagedDocument = typst::compile(&world).output.map_err(typeset_error)?;
        typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default()).map_err(typeset_error)
    };
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(typeset)).unwrap_or_else(|_| {
            Err(ReportError::Typeset(
                "the typesetter failed unexpectedly".to_owned(),
            ))
        });
    // Typst memoises across compilations; a server makes reports of ever new data, so drop
    // what the last few reports did not use.
    comemo::evict(3);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_quotes_backslashes_and_control_characters() {
        assert_eq!(lit(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(lit("x\ny"), "\"x\\u{a}y\"");
        assert_eq!(lit("#set page(width: 1pt)"), "\"#set page(width: 1pt)\"");
    }
}
