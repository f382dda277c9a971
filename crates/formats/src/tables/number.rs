//! Numbers in the tables: the shortest decimal that reads back to the same 64-bit float, laid
//! out as Rust's `{:?}` (and so as the Python tool's exports) writes it, formatted into a
//! reused buffer.

/// A number in full precision: the shortest decimal that reads back to the same float
/// (`0.1`, `2.5994328203143333e-18`, `40.0`); empty for NaN, `inf`/`-inf` for infinities.
pub fn number(v: f64) -> String {
    let mut text = String::new();
    push_number(&mut text, v, &mut zmij::Buffer::new());
    text
}

/// [`number`]`(v)` when it is exactly what `zmij` writes (a finite number outside the two
/// ranges [`push_number`] rewrites), straight from `digits`; `None` otherwise.
pub(super) fn plain_number(v: f64, digits: &mut zmij::Buffer) -> Option<&str> {
    if !v.is_finite() {
        return None;
    }
    let text = digits.format_finite(v);
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let rewritten = unsigned.starts_with("0.0000") || text.as_bytes().contains(&b'+');
    (!rewritten).then_some(text)
}

/// Appends [`number`]`(v)` to `out` without allocating: Rust's `{:?}` layout of a float
/// (decimal from 1e-4 up to 1e16, `1.5e-7`/`1e16` outside), with the shortest round-trip
/// digits from `zmij` (serde_json's float writer: the digits `ryu` finds, about twice as
/// fast). Where two shortest decimals are equally close to `v` (`661175584419356.25`), the
/// even last digit is taken (`…356.2`) as Python's `repr` does, where `{:?}` takes the upper
/// one. `zmij` lays out two ranges differently from `{:?}`, and those are rewritten:
/// [1e-5, 1e-4) as `0.0000ddd` (`{:?}`: `d.dde-5`), and positive exponents as `1e+16`
/// (`{:?}`: `1e16`).
pub(super) fn push_number(out: &mut String, v: f64, digits: &mut zmij::Buffer) {
    if v.is_nan() {
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let text = digits.format_finite(v);
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    if let Some(digits) = unsigned.strip_prefix("0.0000") {
        // 1e-5 <= |v| < 1e-4: `digits` starts with the first significant digit.
        out.push_str(sign);
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str("e-5");
    } else if let Some(plus) = text.find('+') {
        // `…e+16`: only an exponent has a `+`.
        out.push_str(&text[..plus]);
        out.push_str(&text[plus + 1..]);
    } else {
        out.push_str(text);
    }
}
