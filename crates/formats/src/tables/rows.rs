//! The CSV writer of the tables: `\n` line ends, a 256 KiB buffer (as large as the file's
//! `BufWriter`, which then passes it on without copying it), numbers formatted into one
//! reused buffer (no `String` per cell), and the line number in its errors.

use super::number::{plain_number, push_number};
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
        Self::with_buffer(out, 1, 1 << 18)
    }

    /// A writer into memory whose first record is line `line` of the file (for its error
    /// messages), with a small buffer of its own.
    pub(super) fn in_memory(out: W, line: usize) -> Self {
        Self::with_buffer(out, line, 1 << 13)
    }

    fn with_buffer(out: W, line: usize, capacity: usize) -> Self {
        Self {
            csv: csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .buffer_capacity(capacity)
                .from_writer(out),
            digits: zmij::Buffer::new(),
            scratch: String::with_capacity(32),
            line,
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
        let written = if let Some(text) = plain_number(v, &mut self.digits) {
            // Most numbers: the digits as they are, without a copy.
            self.csv.write_field(text)
        } else {
            self.scratch.clear();
            push_number(&mut self.scratch, v, &mut self.digits);
            self.csv.write_field(self.scratch.as_bytes())
        };
        written.map_err(|e| ExportError::Csv {
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
