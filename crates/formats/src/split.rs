//! Reading a long `files_data` on every core.
//!
//! A Python annotation file is one object whose `files_data` holds one entry per image, and the
//! entries do not depend on each other. A long file is therefore cut into pieces at entry
//! boundaries, one piece per core, and the pieces are decoded at the same time, each entry by
//! the same typed decoder as the one-pass reader ([`crate::typed`]); the pieces' entries are
//! joined in file order and a key given twice is resolved as there (first place, last value).
//!
//! A cut is found without reading what comes before it: from an even share of the text, the
//! first `},` that is followed by a string, `:` and `{`, i.e. what separates two entries. Such
//! bytes could also sit inside a string or deeper in an entry, so a cut is only a guess, and it
//! is checked: the piece before it must end exactly on it, entry after entry (JSON read from a
//! known state is read the same way whoever reads it, so a piece that ends on the next piece's
//! start proves that start was an entry boundary).
//!
//! Anything else gives up and leaves the file to the one-pass reader: a cut that does not hold,
//! any syntax or decoding error (the one-pass reader then says where), Python's bare `NaN` (read
//! by the lenient path there), a key before `files_data`, a short file, one core. The result is
//! therefore the one-pass reader's, only sooner. One difference is left: each entry is decoded
//! with serde_json's nesting limit (128) counted from the entry, not from the file, so a value
//! nested 126 or 127 levels deep inside an image is read here and refused by the one-pass
//! reader; such a file is not an annotation file a tool writes.

use crate::typed::{FilesData, RawImage, Top};
use rayon::prelude::*;
use serde::Deserialize;

/// Files shorter than this are read in one pass (cutting them would not pay).
const MIN_BYTES: usize = 1 << 20;

/// How far past its even share a cut is looked for before giving up.
const CUT_WINDOW: usize = 1 << 20;

/// Reads the top level of a Python annotation file in pieces, one per core; `None` when the
/// file is not one that can be cut (see the module documentation), to be read in one pass.
pub(crate) fn read_top(text: &str) -> Option<Top> {
    let pieces = rayon::current_num_threads().min(16);
    if text.len() < MIN_BYTES || pieces < 2 {
        return None;
    }
    in_pieces(text, pieces)
}

/// [`read_top`] with `pieces` pieces, whatever the length of `text`.
fn in_pieces(text: &str, pieces: usize) -> Option<Top> {
    let bytes = text.as_bytes();
    // `{ "files_data": {`
    let mut pos = skip_ws(bytes, 0);
    pos = expect(bytes, pos, b"{")?;
    pos = skip_ws(bytes, pos);
    pos = expect(bytes, pos, b"\"files_data\"")?;
    pos = skip_ws(bytes, pos);
    pos = expect(bytes, pos, b":")?;
    pos = skip_ws(bytes, pos);
    let first = expect(bytes, pos, b"{")?;
    let starts = cuts(text, first, pieces)?;
    let read: Vec<Option<Piece>> = starts
        .par_iter()
        .enumerate()
        .map(|(i, &start)| read_piece(text, start, i == 0, starts.get(i + 1).copied()))
        .collect();
    let mut entries = Vec::new();
    let mut end = None;
    for (i, piece) in read.into_iter().enumerate() {
        let piece = piece?;
        match (piece.end, starts.get(i + 1)) {
            (PieceEnd::Cut(at), Some(&next)) if at == next => {}
            (PieceEnd::Closed(after), None) => end = Some(after),
            _ => return None,
        }
        if entries.is_empty() {
            entries = piece.entries;
        } else {
            entries.extend(piece.entries);
        }
    }
    let files_data = FilesData::from_entries(entries).0;
    let mut top = rest_of_top(text, end?)?;
    // A second `files_data` further on replaces the first, as in the one-pass reader.
    if top.files_data.is_none() {
        top.files_data = Some(files_data);
    }
    Some(top)
}

/// The keys after `files_data` (`"scale_length"`…), read as the one-pass reader reads them.
fn rest_of_top(text: &str, after: usize) -> Option<Top> {
    let bytes = text.as_bytes();
    let pos = skip_ws(bytes, after);
    match bytes.get(pos)? {
        b'}' => (skip_ws(bytes, pos + 1) == bytes.len()).then(Top::default),
        b',' => {
            let rest = format!("{{{}", &text[pos + 1..]);
            serde_json::from_str::<Top>(&rest).ok()
        }
        _ => None,
    }
}

/// Where each piece starts: the first right after `files_data`'s `{`, the others on the `,`
/// of a likely entry boundary near an even share of the text. `None` when a share has no
/// boundary near it.
fn cuts(text: &str, first: usize, pieces: usize) -> Option<Vec<usize>> {
    let bytes = text.as_bytes();
    let span = bytes.len() - first;
    let mut starts = vec![first];
    for i in 1..pieces {
        let from = (first + span * i / pieces).max(starts[i - 1] + 1);
        let to = (from + CUT_WINDOW).min(bytes.len());
        let cut = (from..to.saturating_sub(1))
            .filter(|&at| bytes[at] == b'}' && bytes[at + 1] == b',')
            .map(|at| at + 1)
            .find(|&comma| starts_entry(text, comma + 1))?;
        starts.push(cut);
    }
    Some(starts)
}

/// Whether an entry (`"key": {`) starts at `pos`, after white space.
fn starts_entry(text: &str, pos: usize) -> bool {
    let bytes = text.as_bytes();
    let Some((_, after_key)) = read_key(text, skip_ws(bytes, pos)) else {
        return false;
    };
    let colon = skip_ws(bytes, after_key);
    bytes.get(colon) == Some(&b':') && bytes.get(skip_ws(bytes, colon + 1)) == Some(&b'{')
}

/// How a piece ended: on a `,` at this offset (a cut), or with `files_data`'s `}`, followed by
/// this offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PieceEnd {
    Cut(usize),
    Closed(usize),
}

struct Piece {
    entries: Vec<(String, RawImage)>,
    end: PieceEnd,
}

/// Reads the entries from `start` (right after `{` for the first piece, on a `,` for the
/// others) until the `,` at or past `stop` or the closing `}`. `None` on anything but
/// well-formed entries.
fn read_piece(text: &str, start: usize, first: bool, stop: Option<usize>) -> Option<Piece> {
    let bytes = text.as_bytes();
    let stop = stop.unwrap_or(usize::MAX);
    let mut entries = Vec::new();
    let mut pos = skip_ws(bytes, start);
    if first {
        if bytes.get(pos) == Some(&b'}') {
            return Some(Piece {
                entries,
                end: PieceEnd::Closed(pos + 1),
            });
        }
        pos = read_entry(text, pos, &mut entries)?;
    }
    loop {
        pos = skip_ws(bytes, pos);
        match bytes.get(pos)? {
            b',' if pos >= stop => {
                return Some(Piece {
                    entries,
                    end: PieceEnd::Cut(pos),
                });
            }
            b',' => pos = read_entry(text, pos + 1, &mut entries)?,
            b'}' => {
                return Some(Piece {
                    entries,
                    end: PieceEnd::Closed(pos + 1),
                });
            }
            _ => return None,
        }
    }
}

/// Reads one `"key": {…}` from `pos` into `entries`; returns the offset after it.
fn read_entry(text: &str, pos: usize, entries: &mut Vec<(String, RawImage)>) -> Option<usize> {
    let bytes = text.as_bytes();
    let (key, after_key) = read_key(text, skip_ws(bytes, pos))?;
    let colon = skip_ws(bytes, after_key);
    let value = expect(bytes, colon, b":")?;
    let (image, after) = read_one::<RawImage>(text, value)?;
    entries.push((key, image));
    Some(after)
}

/// A JSON string at `pos` (exactly there) and the offset after it.
fn read_key(text: &str, pos: usize) -> Option<(String, usize)> {
    if text.as_bytes().get(pos) != Some(&b'"') {
        return None;
    }
    read_one::<String>(text, pos)
}

/// One JSON value of type `T` from `pos` (white space first allowed), decoded as the one-pass
/// reader decodes it, and the offset right after it.
fn read_one<T: for<'de> Deserialize<'de>>(text: &str, pos: usize) -> Option<(T, usize)> {
    let rest = text.get(pos..)?;
    let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<T>();
    let value = stream.next()?.ok()?;
    Some((value, pos + stream.byte_offset()))
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(pos) {
        pos += 1;
    }
    pos
}

/// The offset after `token` if it is at `pos`.
fn expect(bytes: &[u8], pos: usize, token: &[u8]) -> Option<usize> {
    bytes
        .get(pos..)?
        .starts_with(token)
        .then_some(pos + token.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Project, parse_python_annotations, to_annotation_json};

    const DEMO: &str = include_str!("../../../testdata/demo/annotations.json");

    /// The demo's four images repeated to `n`, as the annotation file Strain Seer writes.
    fn long_file(n: usize) -> String {
        let demo = parse_python_annotations(DEMO).unwrap();
        let images = (0..n)
            .map(|i| {
                let mut image = demo.images[i % demo.images.len()].clone();
                image.id = format!("img{i}");
                image.filename = format!("photo-{i:05}.png");
                image.order = i64::try_from(i).unwrap();
                image
            })
            .collect();
        to_annotation_json(&Project { images, ..demo })
    }

    fn one_pass(text: &str) -> String {
        format!("{:?}", crate::typed::read::<Top>(text).unwrap())
    }

    /// Read in `pieces` pieces, it is what the one-pass reader reads.
    fn same_as_one_pass(text: &str, pieces: usize) {
        let top = in_pieces(text, pieces).unwrap_or_else(|| panic!("{pieces} pieces gave up"));
        assert_eq!(format!("{top:?}"), one_pass(text), "{pieces} pieces");
    }

    #[test]
    fn pieces_give_the_one_pass_result() {
        let text = long_file(300);
        for pieces in 2..=7 {
            same_as_one_pass(&text, pieces);
        }
        // More pieces than entries: cuts fall on the same boundary or nowhere.
        let short = long_file(3);
        for pieces in 2..=5 {
            if let Some(top) = in_pieces(&short, pieces) {
                assert_eq!(format!("{top:?}"), one_pass(&short));
            }
        }
    }

    #[test]
    fn compact_json_and_other_layouts_are_cut_too() {
        let text = long_file(200);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let compact = serde_json::to_string(&value).unwrap();
        same_as_one_pass(&compact, 3);
        let crlf = text.replace('\n', "\r\n").replace("  ", "\t");
        same_as_one_pass(&crlf, 3);
    }

    #[test]
    fn a_key_given_twice_across_pieces_keeps_its_first_place_and_last_value() {
        let text = long_file(200);
        // img0 again at the end of files_data, with another filename.
        let end = text.find("\n  },\n  \"scale_length\"").unwrap();
        let again = r#",
    "img0": {"filename": "again.png", "points": [], "status": [false, "Missing"]}"#;
        let text = format!("{}{again}{}", &text[..end], &text[end..]);
        same_as_one_pass(&text, 4);
        let top = in_pieces(&text, 4).unwrap();
        let files = top.files_data.unwrap();
        assert_eq!(files.len(), 200);
        assert_eq!(files[0].0, "img0");
        assert_eq!(files[0].1.filename, "again.png");
    }

    #[test]
    fn keys_after_files_data_are_read_as_in_one_pass() {
        let text = long_file(100);
        let more = text.replacen(
            "\"scale_length\": 40.0",
            "\"scale_length\": 40.0, \"note\": {\"a\": [1, 2]}, \"files_data\": {}",
            1,
        );
        same_as_one_pass(&more, 2);
        let top = in_pieces(&more, 2).unwrap();
        assert!(
            top.files_data.unwrap().is_empty(),
            "the second files_data wins"
        );
        assert!(top.others.contains_key("note"));
    }

    /// `}, "key": {` inside an image (two nested objects in keys the reader ignores) looks like
    /// an entry boundary: a cut taken there does not hold, and the pieces give up; the cuts
    /// that fall on true boundaries read the file right.
    #[test]
    fn a_boundary_inside_an_entry_is_not_taken_for_one() {
        let text = long_file(100).replace(
            "\"filename\":",
            "\"extra\": {\"a\": 1}, \"more\": {\"b\": \"}, \\\"x\\\": {\"}, \"filename\":",
        );
        assert!(
            text.contains(r#""more": {"b": "}, \"x\": {"}"#),
            "{}",
            &text[..400]
        );
        let mut gave_up = 0;
        for pieces in 2..=12 {
            match in_pieces(&text, pieces) {
                Some(top) => assert_eq!(format!("{top:?}"), one_pass(&text), "{pieces}"),
                None => gave_up += 1,
            }
        }
        assert!(gave_up > 0, "no cut fell inside an image");
    }

    /// What the one-pass reader must see (to say where the error is, or to take the lenient
    /// path) makes the pieces give up.
    #[test]
    fn bad_or_unusual_files_are_left_to_the_one_pass_reader() {
        let text = long_file(100);
        let nan = text.replacen("422.0", "NaN", 1);
        assert!(in_pieces(&nan, 2).is_none(), "bare NaN");
        let broken = text.replacen("\"label_id\": 1", "\"label_id\": 1,,", 1);
        assert!(in_pieces(&broken, 2).is_none(), "syntax error");
        let wrong = text.replacen("\"filename\": \"photo-00099.png\"", "\"filename\": 7", 1);
        assert!(
            in_pieces(&wrong, 2).is_none(),
            "a filename that is not a string"
        );
        let trailing = format!("{text}x");
        assert!(in_pieces(&trailing, 2).is_none(), "text after the object");
        let key_first = text.replacen("{\n  \"files_data\"", "{\"a\": 1, \"files_data\"", 1);
        assert!(
            in_pieces(&key_first, 2).is_none(),
            "a key before files_data"
        );
        assert!(in_pieces("[1, 2]", 2).is_none());
        assert!(in_pieces("", 2).is_none());
        assert!(read_top(&text).is_none(), "shorter than MIN_BYTES");
    }

    #[test]
    fn an_empty_files_data_has_no_cut() {
        let text = "{\"files_data\": {}, \"scale_length\": 40.0}";
        assert!(in_pieces(text, 2).is_none());
        assert!(
            crate::typed::read_top(text)
                .unwrap()
                .files_data
                .unwrap()
                .is_empty()
        );
    }

    /// Read in pieces and converted on every core, a long file's error is still its first bad
    /// image in file order, as the one-pass reader says it.
    #[test]
    fn a_long_file_reports_its_first_bad_image() {
        let mut value: serde_json::Value = serde_json::from_str(&long_file(3000)).unwrap();
        value["files_data"]["img2900"]["points"][0]["point"] = serde_json::json!([1.0]);
        value["files_data"]["img1500"]["points"][2]["label"] = serde_json::json!("Ruler");
        // (The map is written with its keys sorted: img1500 before img2900, far apart.)
        let text = serde_json::to_string_pretty(&value).unwrap();
        assert!(text.len() > MIN_BYTES);
        assert!(
            in_pieces(&text, 2).is_some(),
            "decodes; the error is in the conversion"
        );
        let err = parse_python_annotations(&text).unwrap_err();
        assert!(err.to_string().contains("img1500"), "{err}");
        assert!(err.to_string().contains("Ruler"), "{err}");
    }

    /// The whole reader: a file past `MIN_BYTES` parses to the same project either way.
    #[test]
    fn a_long_file_parses_to_the_same_project() {
        let text = long_file(1500);
        assert!(text.len() > MIN_BYTES);
        let top = crate::typed::read::<Top>(&text).unwrap();
        let project = crate::python::from_top(top).unwrap();
        assert_eq!(parse_python_annotations(&text).unwrap(), project);
        assert_eq!(crate::parse_any(&text).unwrap(), project);
    }
}
