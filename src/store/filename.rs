//! What an uploaded file's name may tell us, and how it is kept for display.
//!
//! A filename is display text only: it is never used to build a path on disk.

use std::collections::HashSet;

/// Longest filename kept, in characters.
pub const MAX_FILENAME_CHARS: usize = 255;

/// The deformation distance (mm) a filename carries, e.g. `deformation-05mm-force.png` → 5,
/// `step-12.5mm.jpg` → 12.5, `b_3 mm.png` → 3. The number is the first one written right before
/// `mm` (case-insensitive, optional spaces between), not preceded by a letter or another digit
/// and not followed by a letter (`5mmol` is not a distance). A `-` before the number is a
/// separator, not a sign. `None` when the name carries no such number.
pub fn distance_from_filename(filename: &str) -> Option<f64> {
    let stem = match filename.rfind('.') {
        Some(dot) if dot > 0 && !filename[dot..].contains(['/', '\\']) => &filename[..dot],
        _ => filename,
    };
    let chars: Vec<char> = stem.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit()
            || (i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '.'))
        {
            i += 1;
            continue;
        }
        let start = i;
        let mut seen_dot = false;
        while i < chars.len() && (chars[i].is_ascii_digit() || (chars[i] == '.' && !seen_dot)) {
            seen_dot |= chars[i] == '.';
            i += 1;
        }
        let mut end = i;
        if chars[end - 1] == '.' {
            end -= 1;
        }
        let mut j = end;
        while j < chars.len() && chars[j] == ' ' {
            j += 1;
        }
        let is_mm = j + 1 < chars.len()
            && chars[j].eq_ignore_ascii_case(&'m')
            && chars[j + 1].eq_ignore_ascii_case(&'m')
            && chars.get(j + 2).is_none_or(|c| !c.is_alphabetic());
        if is_mm {
            let number: String = chars[start..end].iter().collect();
            if let Ok(value) = number.parse::<f64>()
                && value.is_finite()
            {
                return Some(value);
            }
        }
    }
    None
}

/// The name kept for an uploaded file: its last path component (browsers on Windows may send
/// `C:\dir\a.png`), without control characters, trimmed, at most [`MAX_FILENAME_CHARS`]
/// characters; `"image"` when nothing is left.
pub fn clean_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim();
    let kept: String = trimmed.chars().take(MAX_FILENAME_CHARS).collect();
    if kept.is_empty() || kept == "." || kept == ".." {
        "image".to_owned()
    } else {
        kept
    }
}

/// `name` when no image of the project has it, else `stem (2).ext`, `stem (3).ext`, …:
/// filenames are unique in a project, as the exchange formats require.
pub fn unique_filename(name: &str, taken: &HashSet<String>) -> String {
    if !taken.contains(name) {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => name.split_at(dot),
        _ => (name, ""),
    };
    (2u64..)
        .map(|k| format!("{stem} ({k}){ext}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn distances_in_filenames() {
        assert_eq!(
            distance_from_filename("deformation-05mm-force.png"),
            Some(5.0)
        );
        assert_eq!(
            distance_from_filename("deformation-00mm-force.png"),
            Some(0.0)
        );
        assert_eq!(
            distance_from_filename("deformation-30mm-force.png"),
            Some(30.0)
        );
        assert_eq!(distance_from_filename("run-12.5mm-b.jpg"), Some(12.5));
        assert_eq!(distance_from_filename("12.5mm.jpg"), Some(12.5));
        assert_eq!(distance_from_filename("step_3 mm.png"), Some(3.0));
        assert_eq!(distance_from_filename("STEP-7MM.PNG"), Some(7.0));
        assert_eq!(distance_from_filename("x-2mm-then-4mm.png"), Some(2.0));
    }

    #[test]
    fn names_without_distance() {
        assert_eq!(distance_from_filename("IMG_0001.jpg"), None);
        assert_eq!(distance_from_filename("photo.png"), None);
        assert_eq!(distance_from_filename("mm.png"), None);
        assert_eq!(distance_from_filename("5mmol-sample.png"), None);
        assert_eq!(distance_from_filename("img2mm.png"), None);
        assert_eq!(distance_from_filename(""), None);
        assert_eq!(distance_from_filename("5mm"), Some(5.0));
    }

    #[test]
    fn extension_is_not_part_of_the_number() {
        assert_eq!(distance_from_filename("5.png"), None);
        assert_eq!(distance_from_filename("a-5mm"), Some(5.0));
    }

    #[test]
    fn filenames_are_cleaned_for_display() {
        assert_eq!(clean_filename("C:\\Users\\me\\a.png"), "a.png");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("a\0b\n.png"), "ab.png");
        assert_eq!(clean_filename("  "), "image");
        assert_eq!(clean_filename(".."), "image");
        assert_eq!(clean_filename("<script>.png"), "<script>.png");
        assert_eq!(
            clean_filename(&"x".repeat(1000)).chars().count(),
            MAX_FILENAME_CHARS
        );
    }

    proptest! {
        #[test]
        fn written_distances_are_read_back(value in 0u32..100_000, frac in 0u32..100) {
            let written = format!("{value}.{frac:02}");
            let expected: f64 = written.parse().unwrap_or(f64::NAN);
            let name = format!("deformation-{written}mm-force.png");
            prop_assert_eq!(distance_from_filename(&name), Some(expected));
        }

        #[test]
        fn any_name_is_safe(name in ".{0,300}") {
            let _ = distance_from_filename(&name);
            let cleaned = clean_filename(&name);
            prop_assert!(!cleaned.is_empty());
            prop_assert!(!cleaned.contains(['/', '\\', '\0']));
        }
    }

    #[test]
    fn unique_filenames_count_up_before_the_extension() {
        let taken: HashSet<String> = ["a.png", "a (2).png", "noext", ".hidden"]
            .into_iter()
            .map(String::from)
            .collect();
        for (name, unique) in [
            ("b.png", "b.png"),
            ("a.png", "a (3).png"),
            ("noext", "noext (2)"),
            (".hidden", ".hidden (2)"),
        ] {
            assert_eq!(unique_filename(name, &taken), unique, "{name}");
        }
    }
}
