//! The report as one self-contained HTML file: inline CSS, inline SVG plots, JPEG thumbnails as
//! `data:` URIs under an SVG overlay of the points, no script and nothing fetched. The layout
//! reflows to a phone's width; the print stylesheet gives A4 pages with page numbers, table
//! headers repeated on every page and no row, figure or photo cut in two, so the browser's
//! *Save as PDF* makes a clean document.

use super::{
    ReportError, ReportInput, Thumbnail, distance, fmt_stat, fmt_value, full_precision,
    method_paragraphs, plots, settings, table_components, warnings,
};
use crate::formats::{ProjectImage, tables};
use std::fmt::Write as _;

const STYLE: &str = r#"
:root{--ink:#1b1f24;--muted:#5b6470;--line:#d5dae0;--warn:#9a5b00;--bad:#b3261e;--accent:#1f5fbf}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);margin:0 auto;max-width:1100px;padding:16px}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;border-bottom:2px solid var(--line);padding-bottom:.2em;margin-top:1.6em}
.meta{color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.4em 0}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.name{text-align:left}
thead th{background:#f3f5f7}
table.kv td{white-space:normal;text-align:left}
tr.excluded td{color:var(--muted);font-style:italic}
.nu{font-size:1.3em;margin:.5em 0}
ul.warnings li{margin:.3em 0}ul.warnings b{color:var(--warn)}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px}
.plots svg{width:100%;height:auto;display:block}
.photos{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px}
figure{margin:0;break-inside:avoid}
figure.photo svg{width:100%;height:auto;display:block;background:#eee}
figcaption{font-size:.85em;color:var(--muted);overflow-wrap:anywhere}
figure.low figcaption .conf{color:var(--bad);font-weight:600}
.method p{margin:.4em 0}
.appendix{columns:2 360px;font-size:.72em;column-gap:24px}
.appendix p{margin:0 0 .6em;break-inside:avoid-column;overflow-wrap:anywhere}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.9em}
td.mono{overflow-wrap:anywhere}
@media (max-width:600px){body{padding:8px;font-size:14px}.plots{grid-template-columns:1fr}}
@page{size:A4;margin:14mm 12mm 16mm;@bottom-right{content:"page " counter(page) " of " counter(pages);font-size:9pt;color:#555}}
@media print{body{max-width:none;padding:0;font-size:10pt}
 .scroll{overflow:visible}thead{display:table-header-group}tr,figure,li{break-inside:avoid}
 th{white-space:normal}th,td{padding:2px 4px}.scroll table{font-size:.8em}
 td:first-child,td.name,td.pm{white-space:normal}td.pm span{white-space:nowrap}
 h2{break-after:avoid}.plots{display:block}.plots figure{margin-bottom:8mm}
 .photos{grid-template-columns:repeat(4,1fr)}a{color:inherit;text-decoration:none}}
"#;

/// `<`, `>`, `&`, `"` and `'` escaped for text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The lowest detection confidence of an image's points, when any were detected.
pub fn min_confidence(image: &ProjectImage) -> Option<f64> {
    image
        .fiducials
        .iter()
        .chain(&image.scale_points)
        .filter_map(|p| p.confidence)
        .filter(|c| c.is_finite())
        .reduce(f64::min)
}

/// A photo's thumbnail with its markers (blue), scale points (orange) and low-confidence points
/// (red ring) drawn in the photo's pixel coordinates.
pub(super) fn photo_svg(out: &mut String, image: &ProjectImage, thumb: Option<&Thumbnail>) {
    let [w, h] = match (image.width, image.height, thumb) {
        (Some(w), Some(h), _) => [f64::from(w), f64::from(h)],
        (_, _, Some(t)) => [f64::from(t.size[0]), f64::from(t.size[1])],
        _ => [4.0, 3.0],
    };
    let [w, h] = [w.max(1.0), h.max(1.0)];
    let r = w.max(h) / 70.0;
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
        esc(&image.filename)
    );
    match thumb {
        Some(t) => {
            let _ = write!(
                out,
                r#"<image width="{w}" height="{h}" href="data:image/jpeg;base64,{}"/>"#,
                base64(&t.jpeg)
            );
        }
        None => {
            let _ = write!(
                out,
                r##"<text x="{}" y="{}" font-size="{}" text-anchor="middle" fill="#555">photo not available</text>"##,
                w / 2.0,
                h / 2.0,
                h / 12.0
            );
        }
    }
    for (points, colour) in [
        (&image.fiducials, "#1f5fbf"),
        (&image.scale_points, "#e07000"),
    ] {
        for p in points {
            let (x, y) = (p.point.x, p.point.y);
            if !(x.is_finite() && y.is_finite()) {
                continue;
            }
            let _ = write!(
                out,
                r#"<circle cx="{x}" cy="{y}" r="{r}" fill="none" stroke="{colour}" stroke-width="{}"/>"#,
                r / 3.0
            );
            if p.confidence
                .is_some_and(|c| c < super::warnings::LOW_CONFIDENCE)
            {
                let _ = write!(
                    out,
                    r##"<circle cx="{x}" cy="{y}" r="{}" fill="none" stroke="#d00" stroke-width="{}"/>"##,
                    r * 2.2,
                    r / 2.5
                );
            }
        }
    }
    out.push_str("</svg>");
}

fn table_head(out: &mut String, columns: &[String]) {
    out.push_str("<div class=\"scroll\"><table><thead><tr>");
    for c in columns {
        let _ = write!(out, "<th>{c}</th>");
    }
    out.push_str("</tr></thead><tbody>");
}

/// The report as an HTML document.
pub fn render(input: &ReportInput<'_>) -> Result<String, ReportError> {
    let a = input.analysis;
    let p = input.project;
    let title = if p.name.is_empty() {
        "Strain analysis".to_owned()
    } else {
        p.name.clone()
    };
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{t} — strain report</title><style>{STYLE}</style></head><body>\
         <header><h1>Strain analysis report</h1><p class=\"meta\"><b>{t}</b> · {date} · \
         Strain Seer {v}</p></header>",
        t = esc(&title),
        date = esc(&input.generated),
        v = super::VERSION
    );

    out.push_str("<h2>Settings</h2><table class=\"kv\"><tbody>");
    for (k, v) in settings(input) {
        let _ = write!(out, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    out.push_str("</tbody></table>");

    let warns = warnings(input);
    out.push_str("<h2>Warnings</h2>");
    if warns.is_empty() {
        out.push_str("<p>None.</p>");
    } else {
        out.push_str("<ul class=\"warnings\">");
        for w in &warns {
            let _ = write!(out, "<li><b>{}</b>: {}</li>", w.title, esc(&w.detail));
        }
        out.push_str("</ul>");
    }

    out.push_str("<h2>Results</h2>");
    match &a.poisson {
        Some(nu) => {
            let _ = write!(
                out,
                "<p class=\"nu\">Poisson's ratio ν = <b>{:.4} ± {:.4}</b> (loading axis {}, \
                 from the slopes of {} images)</p>",
                nu.from_slopes,
                nu.from_slopes_stderr,
                nu.loading_axis,
                tables::fitted_count(a)
            );
        }
        None => out
            .push_str("<p class=\"nu\">Poisson's ratio is undefined (no axial strain change).</p>"),
    }
    out.push_str("<h3>Linear fit against deformation distance (slope per mm)</h3>");
    let head: Vec<String> = [
        "component",
        "slope",
        "± s.e.",
        "95 % CI of slope",
        "intercept",
        "± s.e.",
        "r²",
        "p-value",
        "n",
    ]
    .map(str::to_owned)
    .to_vec();
    table_head(&mut out, &head);
    for cr in &a.regressions {
        let r = &cr.regression;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>[{}, {}]</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(cr.component.label()),
            fmt_value(r.slope),
            fmt_stat(r.stderr),
            fmt_value(r.slope_ci95[0]),
            fmt_value(r.slope_ci95[1]),
            fmt_value(r.intercept),
            fmt_stat(r.intercept_stderr),
            fmt_stat(r.r_squared),
            fmt_stat(r.p_value),
            r.n
        );
    }
    if let Some(nu) = &a.poisson {
        let ci = tables::poisson_ci95(nu.from_slopes, nu.from_slopes_stderr);
        let _ = write!(
            out,
            "<tr><td>Poisson's ratio ν</td><td>{}</td><td>{}</td><td>[{}, {}]</td>\
             <td></td><td></td><td></td><td></td><td>{}</td></tr>",
            fmt_value(nu.from_slopes),
            fmt_stat(nu.from_slopes_stderr),
            fmt_value(ci[0]),
            fmt_value(ci[1]),
            tables::fitted_count(a)
        );
    }
    out.push_str("</tbody></table></div>");

    let components = table_components(a);
    out.push_str(
        "<h3>Strain of every image relative to the reference (± 1 standard uncertainty)</h3>",
    );
    let mut head: Vec<String> = ["#", "image", "d (mm)", "mm/px"]
        .map(str::to_owned)
        .to_vec();
    head.extend(components.iter().map(|c| esc(c.label())));
    head.extend(["ν", "residual (mm)", "note"].map(str::to_owned));
    table_head(&mut out, &head);
    for (i, row) in a.rows.iter().enumerate() {
        let note = match (&row.excluded, row.index == a.reference) {
            (Some(reason), _) if reason.is_empty() => "excluded".to_owned(),
            (Some(reason), _) => format!("excluded: {}", esc(reason)),
            (None, true) => "reference".to_owned(),
            (None, false) => String::new(),
        };
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td class=\"name\">{}</td><td>{}</td><td>{:.6}</td>",
            if row.is_fitted() {
                ""
            } else {
                " class=\"excluded\""
            },
            i + 1,
            esc(&row.name),
            distance(row.deformation),
            row.mm_per_px
        );
        for c in &components {
            let _ = write!(
                out,
                "<td class=\"pm\"><span>{}</span> <span>± {}</span></td>",
                fmt_value(c.value(&row.measures)),
                fmt_stat(c.value(&row.uncertainty).abs())
            );
        }
        let nu = tables::poisson_of_row(a, i).map_or_else(|| "—".to_owned(), |v| format!("{v:.4}"));
        let _ = write!(
            out,
            "<td>{nu}</td><td>{:.4}</td><td>{note}</td></tr>",
            row.measures.residual_mm
        );
    }
    out.push_str("</tbody></table></div>");

    let frames = super::frame_columns(input);
    if frames.any() {
        out.push_str("<h3>Film frames and the test machine's log</h3>");
        let head: Vec<String> = ["#", "image", "t (s)", "F (N)", "σ (MPa)"]
            .map(str::to_owned)
            .to_vec();
        table_head(&mut out, &head);
        for cells in super::frame_table(a, &frames) {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"name\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                cells[0],
                esc(&cells[1]),
                cells[2],
                cells[3],
                cells[4]
            );
        }
        out.push_str("</tbody></table></div>");
        let _ = write!(out, "<p>{}</p>", esc(&super::frame_summary(&frames)));
    }

    out.push_str("<h2>Plots</h2><div class=\"plots\">");
    for (component, svg) in plots(a)? {
        let _ = write!(
            out,
            "<figure>{svg}<figcaption>{} against deformation distance</figcaption></figure>",
            esc(component.label())
        );
    }
    if let Some(svg) = super::stress_plot(a, &frames)? {
        let _ = write!(
            out,
            "<figure>{svg}<figcaption>Engineering stress against the loading-axis strain (film \
             frames)</figcaption></figure>"
        );
    }
    out.push_str("</div>");

    out.push_str(
        "<h2>Photos</h2><p class=\"meta\">Fiducial markers blue, scale points orange, detected \
         points of low confidence ringed red.</p><div class=\"photos\">",
    );
    for (k, image) in p.sorted_images().into_iter().enumerate() {
        let conf = min_confidence(image);
        let low = conf.is_some_and(|c| c < super::warnings::LOW_CONFIDENCE);
        let _ = write!(
            out,
            "<figure class=\"photo{}\">",
            if low { " low" } else { "" }
        );
        photo_svg(
            &mut out,
            image,
            input.thumbnails.get(k).and_then(Option::as_ref),
        );
        let _ = write!(
            out,
            "<figcaption>{}<br>d = {} · {}{}</figcaption></figure>",
            esc(&image.filename),
            image
                .deformation_distance
                .map_or_else(|| "—".to_owned(), |d| format!("{} mm", distance(d))),
            conf.map_or_else(
                || "placed by hand".to_owned(),
                |c| format!("<span class=\"conf\">confidence {c:.2}</span>")
            ),
            image
                .excluded
                .as_deref()
                .map(|r| format!(
                    " · excluded{}",
                    if r.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", esc(r))
                    }
                ))
                .unwrap_or_default()
        );
    }
    out.push_str("</div>");

    out.push_str("<h2>Method</h2><div class=\"method\">");
    for (heading, text) in method_paragraphs(a) {
        let _ = write!(out, "<p><b>{heading}.</b> {}</p>", esc(&text));
    }
    out.push_str("</div>");

    out.push_str(
        "<h2>Input photos (SHA-256)</h2><table class=\"kv\"><thead><tr><th>photo</th>\
         <th>SHA-256</th></tr></thead><tbody>",
    );
    for image in p.sorted_images() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"mono\">{}</td></tr>",
            esc(&image.filename),
            image
                .sha256
                .as_deref()
                .map_or_else(|| "not available".to_owned(), esc)
        );
    }
    out.push_str("</tbody></table>");

    out.push_str(
        "<h2>Appendix: every exported number in full precision</h2><p class=\"meta\">As in \
         strains.csv and regression.json.</p><div class=\"appendix\">",
    );
    for (title, pairs) in full_precision(a, &frames)? {
        let _ = write!(out, "<p><b>{}</b>", esc(&title));
        for (k, v) in pairs {
            let _ = write!(out, " · {}&nbsp;{}", esc(&k), esc(&v));
        }
        out.push_str("</p>");
    }
    out.push_str("</div></body></html>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
