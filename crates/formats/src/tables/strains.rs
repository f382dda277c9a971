//! The strain table CSV: one row per analysed image, the Python tool's five columns first,
//! then the uncertainties, every other measure with its own, the deformation gradient, the
//! scale, the flags, and the film frames' log columns when there are film frames.

use super::rows::RowWriter;
use super::{extra_components, poisson_of_row, strain_table_columns};
use crate::error::ExportError;
use std::io::Write;
use strain_seer_engine::{Analysis, Component, ImageResult};

/// Writes the cells of one strain table row (the columns of [`strain_table_columns`]),
/// without ending the record.
fn strain_row<W: Write>(
    out: &mut RowWriter<W>,
    analysis: &Analysis,
    position: usize,
    row: &ImageResult,
) -> Result<(), ExportError> {
    let m = &row.measures;
    let u = &row.uncertainty;
    out.text(&row.name)?;
    out.number(row.deformation)?;
    for c in Component::DEFAULT {
        out.number(c.value(m))?;
    }
    for c in Component::DEFAULT {
        out.number(c.value(u))?;
    }
    for c in extra_components() {
        out.number(c.value(m))?;
        out.number(c.value(u))?;
    }
    for v in [
        m.f[0][0],
        m.f[0][1],
        m.f[1][0],
        m.f[1][1],
        m.residual_mm,
        row.mm_per_px,
    ] {
        out.number(v)?;
    }
    out.text(bool_text(row.index == analysis.reference))?;
    out.opt_number(poisson_of_row(analysis, position))?;
    out.text(bool_text(!row.is_fitted()))?;
    out.text(row.excluded.as_deref().unwrap_or_default())
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

pub(super) fn into_text(bytes: Vec<u8>) -> Result<String, ExportError> {
    String::from_utf8(bytes).map_err(|e| ExportError::Csv {
        line: 0,
        message: e.to_string(),
    })
}

/// The strain table: one row per analysed image in image order, the columns of
/// [`strain_table_columns`]: `filename,deformation_distance,strain_xx,strain_yy,strain_xy`, the
/// standard uncertainties `strain_xx_sd,strain_yy_sd,strain_xy_sd`, every other component with its
/// `_sd`, the deformation gradient `f_xx,f_xy,f_yx,f_yy`, the fit residual (mm), the image's mm per
/// pixel, `is_reference` (`true`/`false`), the image's Poisson's ratio `poisson_ratio` (empty
/// when undefined), `excluded` (`true`/`false`: left out of the fits by the user) and
/// `excluded_reason`.
pub fn strain_table_csv(analysis: &Analysis) -> Result<String, ExportError> {
    let mut bytes = Vec::with_capacity(64 + analysis.rows.len() * 1200);
    write_strain_table_csv(analysis, &mut bytes)?;
    into_text(bytes)
}

/// [`strain_table_csv`] streamed into `out` (give it a `BufWriter` for a file).
pub fn write_strain_table_csv<W: Write>(analysis: &Analysis, out: W) -> Result<(), ExportError> {
    write_table(analysis, &[], strain_table_columns(), out)
}

/// The records of `rows` (with their `frames` cells when there are any).
fn write_rows<W: Write>(
    w: &mut RowWriter<W>,
    analysis: &Analysis,
    frames: &[[Option<f64>; 3]],
    rows: std::ops::Range<usize>,
) -> Result<(), ExportError> {
    for position in rows {
        strain_row(w, analysis, position, &analysis.rows[position])?;
        if !frames.is_empty() {
            for v in frames.get(position).copied().unwrap_or([None; 3]) {
                w.opt_number(v)?;
            }
        }
        w.end()?;
    }
    Ok(())
}

/// Rows per block of a long table (about 600 kB of text).
const BLOCK_ROWS: usize = 512;

/// The strain table with `header`, each row followed by its `frames` cells when there are any.
/// A table longer than one block is formatted a few blocks at a time, one per core, into
/// buffers that are reused from one round to the next, and written in order: the largest
/// export does not hold up the others alone, and its memory stays a few blocks (fresh memory
/// costs a page fault per 4 kB).
fn write_table<W: Write>(
    analysis: &Analysis,
    frames: &[[Option<f64>; 3]],
    header: Vec<String>,
    out: W,
) -> Result<(), ExportError> {
    use rayon::prelude::*;
    let n = analysis.rows.len();
    let mut w = RowWriter::new(out);
    w.header(&header)?;
    if n <= BLOCK_ROWS {
        write_rows(&mut w, analysis, frames, 0..n)?;
        return w.finish().map(drop);
    }
    let mut out = w.finish()?;
    let round = rayon::current_num_threads().max(1);
    let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); round];
    for first in (0..n).step_by(BLOCK_ROWS * round) {
        buffers
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(i, buffer)| {
                let start = first + i * BLOCK_ROWS;
                buffer.clear();
                if start >= n {
                    return Ok(());
                }
                // Line numbers (for errors) as in the whole file: the header is line 1.
                let mut w = RowWriter::in_memory(std::mem::take(buffer), start + 2);
                write_rows(&mut w, analysis, frames, start..(start + BLOCK_ROWS).min(n))?;
                *buffer = w.finish()?;
                Ok(())
            })?;
        for (i, buffer) in buffers.iter().enumerate() {
            out.write_all(buffer).map_err(|e| ExportError::Csv {
                line: first + i * BLOCK_ROWS + 2,
                message: e.to_string(),
            })?;
        }
    }
    Ok(())
}

/// The columns [`strain_table_csv_with_frames`] adds after the strain table's: a film frame's
/// time in the film (s), the test machine's force at that time (N) and the engineering stress
/// force / cross-section area (MPa).
pub const FRAME_LOG_COLUMNS: [&str; 3] = ["time_s", "force_N", "stress_MPa"];

/// The strain table of [`strain_table_csv`] with, when any image is a film's frame (`frames`
/// is parallel to `analysis.rows` and holds `[time_s, force_N, stress_MPa]`), the columns
/// [`FRAME_LOG_COLUMNS`] at the end (empty where a value is missing). With `frames` empty it is
/// exactly [`strain_table_csv`].
pub fn strain_table_csv_with_frames(
    analysis: &Analysis,
    frames: &[[Option<f64>; 3]],
) -> Result<String, ExportError> {
    let mut bytes = Vec::with_capacity(64 + analysis.rows.len() * 1260);
    write_strain_table_csv_with_frames(analysis, frames, &mut bytes)?;
    into_text(bytes)
}

/// [`strain_table_csv_with_frames`] streamed into `out` (give it a `BufWriter` for a file).
pub fn write_strain_table_csv_with_frames<W: Write>(
    analysis: &Analysis,
    frames: &[[Option<f64>; 3]],
    out: W,
) -> Result<(), ExportError> {
    let mut header = strain_table_columns();
    if !frames.is_empty() {
        header.extend(FRAME_LOG_COLUMNS.iter().map(|s| (*s).to_owned()));
    }
    write_table(analysis, frames, header, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::demo_analysis;

    /// The demo's rows repeated to `n` (names and indices made unique).
    fn long_analysis(n: usize) -> Analysis {
        let mut analysis = demo_analysis();
        let demo = analysis.rows.clone();
        analysis.rows = (0..n)
            .map(|i| {
                let mut row = demo[i % demo.len()].clone();
                row.index = i;
                row.name = format!("photo-{i}.png");
                row.deformation += i as f64 * 1e-3;
                row
            })
            .collect();
        analysis
    }

    /// The table formatted in blocks on every core is the table written row by row.
    #[test]
    fn a_long_table_in_blocks_is_the_table_row_by_row() {
        for n in [BLOCK_ROWS, BLOCK_ROWS + 1, 7 * BLOCK_ROWS + 17] {
            let analysis = long_analysis(n);
            let frames: Vec<[Option<f64>; 3]> = (0..n)
                .map(|i| [Some(i as f64), (i % 3 == 0).then_some(2.5), None])
                .collect();
            for frames in [&[][..], &frames[..]] {
                let blocks = strain_table_csv_with_frames(&analysis, frames).unwrap();
                let mut header = strain_table_columns();
                if !frames.is_empty() {
                    header.extend(FRAME_LOG_COLUMNS.iter().map(|s| (*s).to_owned()));
                }
                let mut w = RowWriter::new(Vec::new());
                w.header(&header).unwrap();
                write_rows(&mut w, &analysis, frames, 0..n).unwrap();
                let one_by_one = into_text(w.finish().unwrap()).unwrap();
                assert_eq!(blocks.lines().count(), n + 1);
                assert!(
                    blocks == one_by_one,
                    "{n} rows, frames: {}",
                    !frames.is_empty()
                );
            }
        }
    }
}
