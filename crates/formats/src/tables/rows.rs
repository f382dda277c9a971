//! The CSV writer of the tables: `\n` line ends, a 64 KiB buffer, numbers formatted into one
//! reused buffer (no `String` per cell), and the line number in its errors.

use super::number::push_number;
use crate::error::ExportError;
use std::io::Write;

/// A CSV writer that formats numbers into one reused buffer (no `String` per cell) and counts
/// lines for its errors.
pub(super) struct RowWriter<W: Write> {
    csv: csv::Writer<W>,
    digits: zmij::Buffer,
    scratch: String,
    line: usize,
}

impl<W: Write> RowWriter<W> {
    pub(super) fn new(out: W) -> Self {
        Self {
            csv: csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .buffer_capacity(1 << 16)
                .from_writer(out),
            digits: zmij::Buffer::new(),
            scratch: String::with_capacity(32),
            line: 1,
        }
    }

    pub(super) fn error(&self, err: &dyn std::fmt::Display) -> ExportError {
        ExportError::Csv {
            line: self.line,
            message: err.to_string(),
        }
    }

    pub(super) fn text(&mut self, text: &str) -> Result<(), ExportError> {
        self.csv.write_field(text).map_err(|e| self.error(&e))
    }

    pub(super) fn number(&mut self, v: f64) -> Result<(), ExportError> {
        self.scratch.clear();
        push_number(&mut self.scratch, v, &mut self.digits);
        self.csv
            .write_field(self.scratch.as_bytes())
            .map_err(|e| ExportError::Csv {
                line: self.line,
                message: e.to_string(),
            })
    }

    pub(super) fn opt_number(&mut self, v: Option<f64>) -> Result<(), ExportError> {
        match v {
            Some(v) => self.number(v),
            None => self.text(""),
        }
    }

    pub(super) fn end(&mut self) -> Result<(), ExportError> {
        self.csv
            .write_record(None::<&[u8]>)
            .map_err(|e| self.error(&e))?;
        self.line += 1;
        Ok(())
    }

    pub(super) fn header<S: AsRef<str>>(&mut self, header: &[S]) -> Result<(), ExportError> {
        for name in header {
            self.text(name.as_ref())?;
        }
        self.end()
    }

    pub(super) fn finish(self) -> Result<W, ExportError> {
        let line = self.line;
        self.csv.into_inner().map_err(|e| ExportError::Csv {
            line,
            message: e.to_string(),
        })
    }
}
