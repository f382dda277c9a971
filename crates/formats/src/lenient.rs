//! Reading JSON the way Python writes it.
//!
//! Python's `json.dumps` writes `NaN`, `Infinity` and `-Infinity` as bare words, and a number such
//! as `1e999` overflows a 64-bit float. Strict JSON parsers (serde_json included) refuse all of
//! these with a message that says only "expected value at line 12 column 9". To report instead
//! *which image and which point* holds the bad number, [`quote_non_finite`] rewrites these tokens
//! into strings (`"NaN"`, `"Infinity"`, `"-Infinity"`) before parsing, [`Num`] accepts such strings
//! as numbers, and validation then rejects the non-finite value with its full location.

use crate::error::{FormatError, FormatErrorKind, Location};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Rewrites bare `NaN`/`Infinity`/`-Infinity`/`inf` words and numbers that overflow `f64` into
/// JSON strings. Everything inside strings, and every other token, is left untouched; no newline
/// is added or removed, so line numbers in later parse errors stay right.
pub(crate) fn quote_non_finite(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `text` already copied to `out`
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                i += 1;
            }
            b'-' | b'+' | b'0'..=b'9' | b'.' | b'a'..=b'z' | b'A'..=b'Z' => {
                let start = i;
                i += 1;
                while i < bytes.len()
                    && matches!(bytes[i], b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'.' | b'+' | b'-' | b'_')
                {
                    i += 1;
                }
                let token = &text[start..i];
                if let Some(replacement) = non_finite_replacement(token) {
                    let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
                    out.push_str(&text[copied..start]);
                    out.push('"');
                    out.push_str(replacement);
                    out.push('"');
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The string a bare token becomes, if it is a non-finite number.
fn non_finite_replacement(token: &str) -> Option<&'static str> {
    let (negative, word) = match token.as_bytes().first() {
        Some(b'-') => (true, &token[1..]),
        Some(b'+') => (false, &token[1..]),
        _ => (false, token),
    };
    let lower = word.to_ascii_lowercase();
    match lower.as_str() {
        "nan" => return Some("NaN"),
        "infinity" | "inf" => return Some(if negative { "-Infinity" } else { "Infinity" }),
        _ => {}
    }
    // A JSON number that is too large for f64 (e.g. 1e999) parses to ±infinity in Rust.
    let looks_numeric = word.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if looks_numeric
        && let Ok(v) = token.parse::<f64>()
        && v.is_infinite()
    {
        return Some(if v < 0.0 { "-Infinity" } else { "Infinity" });
    }
    None
}

/// Parses JSON text after [`quote_non_finite`], mapping syntax errors to [`FormatError`] with the
/// line and column.
/// Strict JSON is tried first; the text is rewritten only when that fails.
pub(crate) fn parse_value(text: &str) -> Result<serde_json::Value, FormatError> {
    let err = match serde_json::from_str(text) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    match quote_non_finite(text) {
        Cow::Owned(quoted) => serde_json::from_str(&quoted).map_err(|err| syntax_error(&err)),
        Cow::Borrowed(_) => Err(syntax_error(&err)),
    }
}

/// A JSON syntax error as a [`FormatError`] with the line and column.
pub(crate) fn syntax_error(err: &serde_json::Error) -> FormatError {
    let location = Location {
        line: Some(err.line()),
        column: Some(err.column()),
        ..Location::default()
    };
    // serde_json's message ends with " at line L column C"; the location says that already.
    let message = err.to_string();
    let message = match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_owned(),
        None => message,
    };
    let message = if message == "expected ident" {
        "expected a JSON value (an object, array, string, number, true, false or null)".to_owned()
    } else {
        message
    };
    FormatError::new(location, FormatErrorKind::Syntax(message))
}

/// A number that may also be written as a string (`"NaN"`, `"Infinity"`, `"1.5"`), as the
/// non-finite rewriting produces. Non-finite values are kept so validation can name them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Num(pub f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumVisitor;
        impl Visitor<'_> for NumVisitor {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                v.trim()
                    .parse::<f64>()
                    .map(Num)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(NumVisitor)
    }
}

/// Deserialises one JSON value into `T`, attaching `location` to any error.
pub(crate) fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    location: impl FnOnce() -> Location,
) -> Result<T, FormatError> {
    serde_json::from_value(value)
        .map_err(|err| FormatError::new(location(), kind_of_message(err.to_string())))
}

/// A decoder's message as an error kind: a missing field this crate requires, or invalid.
pub(crate) fn kind_of_message(message: String) -> FormatErrorKind {
    match missing_field_name(&message) {
        Some(field) => FormatErrorKind::MissingField(field),
        None => FormatErrorKind::Invalid(message),
    }
}

/// serde's "missing field `x`" message → the field name, for the fields this crate requires.
fn missing_field_name(message: &str) -> Option<&'static str> {
    const KNOWN: [&str; 16] = [
        "files_data",
        "scale_length",
        "filename",
        "point",
        "format",
        "version",
        "name",
        "units",
        "sigma_px",
        "reference",
        "images",
        "id",
        "order",
        "fiducials",
        "scale_points",
        "source",
    ];
    let rest = message.strip_prefix("missing field `")?;
    let name = &rest[..rest.find('`')?];
    KNOWN.iter().copied().find(|k| *k == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_python_non_finite_words() {
        assert_eq!(
            quote_non_finite(r#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN x"}"#),
            r#"{"a": "NaN", "b": ["Infinity", "-Infinity"], "c": "NaN x"}"#
        );
    }

    #[test]
    fn quotes_overflowing_numbers_only() {
        assert_eq!(
            quote_non_finite("[1e999, -1e999, 1e300, 2.5]"),
            r#"["Infinity", "-Infinity", 1e300, 2.5]"#
        );
    }

    #[test]
    fn leaves_strings_with_escapes_alone() {
        let text = r#"{"a\"NaN": "x\\", "b": true, "c": null}"#;
        assert!(matches!(quote_non_finite(text), Cow::Borrowed(_)));
    }

    #[test]
    fn num_accepts_numbers_and_strings() {
        let v: Vec<Num> =
            serde_json::from_str(r#"[1, -2, 2.5, "NaN", "Infinity", "-Infinity", "3"]"#).unwrap();
        assert_eq!(v[0], Num(1.0));
        assert_eq!(v[2], Num(2.5));
        assert!(v[3].0.is_nan());
        assert_eq!(v[4].0, f64::INFINITY);
        assert_eq!(v[5].0, f64::NEG_INFINITY);
        assert_eq!(v[6], Num(3.0));
        assert!(serde_json::from_str::<Num>(r#""abc""#).is_err());
        assert!(serde_json::from_str::<Num>("true").is_err());
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = parse_value("{\n  \"a\": [1,\n  }").unwrap_err();
        assert_eq!(err.location.line, Some(3));
        assert!(matches!(err.kind, FormatErrorKind::Syntax(_)), "{err}");
        assert!(
            err.to_string()
                .starts_with("line 3, column 3: not valid JSON"),
            "{err}"
        );
    }
}
