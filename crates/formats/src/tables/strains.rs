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
    let mut w = RowWriter::new(out);
    w.header(&strain_table_columns())?;
    for (position, row) in analysis.rows.iter().enumerate() {
        strain_row(&mut w, analysis, position, row)?;
        w.end()?;
    }
    w.finish().map(drop)
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
    if frames.is_empty() {
        return write_strain_table_csv(analysis, out);
    }
    let mut header = strain_table_columns();
    header.extend(FRAME_LOG_COLUMNS.iter().map(|s| (*s).to_owned()));
    let mut w = RowWriter::new(out);
    w.header(&header)?;
    for (position, row) in analysis.rows.iter().enumerate() {
        strain_row(&mut w, analysis, position, row)?;
        for v in frames.get(position).copied().unwrap_or([None; 3]) {
            w.opt_number(v)?;
        }
        w.end()?;
    }
    w.finish().map(drop)
}
