//! The 2-space-indented JSON of every JSON file this crate writes, as serde_json's
//! `PrettyFormatter` writes it, byte for byte, only faster.
//!
//! `PrettyFormatter` writes a line break and then the indentation one level at a time (one
//! `write_all` of two spaces per level). An annotation file of 20 000 images has 1.2 million
//! lines, most of them five or six levels deep, so those small writes are a good part of the
//! time it takes to write it. This formatter writes `,` (when it is not the first value), the
//! line break and the whole indentation with one `write_all` of a slice of a constant line.

use serde::Serialize;
use serde_json::ser::Formatter;
use std::io::{self, Write};

/// `,`, a line break, and the indentation of 63 levels; deeper lines are written a level at
/// a time.
const LINE: &[u8] = b",\n                                                                                                                              ";

/// serde_json's `PrettyFormatter` with its default two-space indentation, byte for byte.
#[derive(Debug, Default)]
pub(crate) struct Pretty {
    depth: usize,
    has_value: bool,
}

/// A line break (after `,` unless `first`) and the indentation of `depth` levels.
fn new_line<W: ?Sized + Write>(out: &mut W, first: bool, depth: usize) -> io::Result<()> {
    let from = usize::from(first);
    match LINE.get(from..2 + 2 * depth) {
        Some(line) => out.write_all(line),
        None => {
            out.write_all(&LINE[from..2])?;
            (0..depth).try_for_each(|_| out.write_all(b"  "))
        }
    }
}

impl Pretty {
    /// `[` or `{`: one level deeper, no value yet.
    fn open<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        out.write_all(bracket)
    }

    /// `]` or `}`: on a line of its own after values, right after the opening one if none.
    fn close<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            new_line(out, true, self.depth)?;
        }
        out.write_all(bracket)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        new_line(out, first, self.depth)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.open(out, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        new_line(out, first, self.depth)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `value` as pretty JSON into `out`.
pub(crate) fn to_writer<T: Serialize + ?Sized, W: Write>(
    out: W,
    value: &T,
) -> serde_json::Result<()> {
    value.serialize(&mut serde_json::Serializer::with_formatter(
        out,
        Pretty::default(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn serde_pretty(value: &Value) -> Vec<u8> {
        serde_json::to_vec_pretty(value).unwrap()
    }

    fn ours(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        to_writer(&mut out, value).unwrap();
        out
    }

    #[test]
    fn writes_what_serde_jsons_pretty_formatter_writes() {
        let demo: Value =
            serde_json::from_str(include_str!("../../../testdata/demo/annotations.json")).unwrap();
        for value in [
            demo,
            json!(null),
            json!([]),
            json!({}),
            json!([[], {}, [[]], {"a": {}}, {"b": []}]),
            json!({"a": [1, 2.5, -0.0, "x\"y\n", true, null], "b": {"c": {"d": [1e300]}}}),
        ] {
            assert_eq!(
                String::from_utf8(ours(&value)).unwrap(),
                String::from_utf8(serde_pretty(&value)).unwrap()
            );
        }
    }

    /// Deeper than the constant line: the rest of the indentation a level at a time.
    #[test]
    fn deep_nesting_is_indented_as_serde_json_does() {
        for depth in [62, 63, 64, 65, 100] {
            let mut value = json!([1, {"k": "v"}]);
            for _ in 0..depth {
                value = json!({"a": [value, 2]});
            }
            assert_eq!(ours(&value), serde_pretty(&value), "depth {depth}");
        }
    }
}
