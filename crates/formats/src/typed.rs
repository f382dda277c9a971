//! One pass over the text of an annotation or project file, straight into typed structs.
//!
//! The Python tool's `files_data` is read image by image, in file order, without building a
//! `serde_json::Value` of the file: points into `[x, y]` pairs, labels into their role, the
//! status into "marked complete or not". Any other top-level key (the project format's) is kept
//! as a `Value`. A decoding error carries its JSON path (`files_data.img12.points[3].point[1]`,
//! from `serde_path_to_error`).
//!
//! Strict JSON first; only when that fails with a syntax error is the text passed through
//! [`lenient::quote_non_finite`] (Python's bare `NaN`/`Infinity`, numbers beyond `f64`) and
//! read again, so that validation can name the image and point holding the non-finite number.

use crate::error::{FormatError, Location};
use crate::lenient::{self, Num};
use foldhash::HashMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use strain_seer_engine::PointRole;

/// The top level of a file: the Python `files_data` (typed, in file order) when it came before
/// any `"format"` key, every other key as a `Value`.
#[derive(Debug, Default)]
pub(crate) struct Top {
    pub files_data: Option<Vec<(String, RawImage)>>,
    pub others: serde_json::Map<String, Value>,
    /// The text was JSON but not an object.
    pub not_object: bool,
}

impl Top {
    pub fn has(&self, key: &str) -> bool {
        self.others.contains_key(key) || (key == "files_data" && self.files_data.is_some())
    }
}

/// One image of `files_data`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawImage {
    pub filename: String,
    #[serde(default)]
    pub order: Option<Value>,
    #[serde(default)]
    pub points: Option<Vec<RawPoint>>,
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub deformation_distance: Option<Num>,
    /// Strain Seer's addition (the Python tool ignores keys it does not know): the reason the
    /// image is excluded from the fits.
    #[serde(default)]
    pub excluded: Option<String>,
}

/// One entry of an image's `points`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawPoint {
    pub point: Coords,
    #[serde(default)]
    pub label: Option<Label>,
    #[serde(default)]
    pub label_id: Option<i64>,
}

/// `[x, y]`: the first two numbers and how many there were (the arity is checked later, where
/// the point's role is known).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Coords {
    pub xy: [f64; 2],
    pub len: usize,
}

impl<'de> Deserialize<'de> for Coords {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CoordsVisitor;
        impl<'de> Visitor<'de> for CoordsVisitor {
            type Value = Coords;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Coords, A::Error> {
                let mut coords = Coords {
                    xy: [f64::NAN; 2],
                    len: 0,
                };
                while let Some(Num(v)) = seq.next_element::<Num>()? {
                    if let Some(slot) = coords.xy.get_mut(coords.len) {
                        *slot = v;
                    }
                    coords.len += 1;
                }
                Ok(coords)
            }
        }
        deserializer.deserialize_seq(CoordsVisitor)
    }
}

/// A point's `label`: `Fiducial` or `Scale` (any case, trimmed), or something else (kept for
/// the error message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Label {
    Role(PointRole),
    Other(String),
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelVisitor;
        impl Visitor<'_> for LabelVisitor {
            type Value = Label;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Label, E> {
                let word = v.trim();
                Ok(
                    if word.eq_ignore_ascii_case(crate::python::FIDUCIAL_LABEL) {
                        Label::Role(PointRole::Fiducial)
                    } else if word.eq_ignore_ascii_case(crate::python::SCALE_LABEL) {
                        Label::Role(PointRole::Scale)
                    } else {
                        Label::Other(v.to_owned())
                    },
                )
            }
        }
        deserializer.deserialize_str(LabelVisitor)
    }
}

/// Whether the Python `status` says Complete: `[true, "Complete"]`, `true` or `"Complete"`
/// (anything else, of any type, says not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Status(pub bool);

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;
        impl<'de> Visitor<'de> for StatusVisitor {
            type Value = Status;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Status, E> {
                Ok(Status(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Status, E> {
                Ok(Status(v.trim().eq_ignore_ascii_case("complete")))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Status, E> {
                Ok(Status(false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Status, E> {
                Ok(Status(false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Status, E> {
                Ok(Status(false))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Status, E> {
                Ok(Status(false))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Status, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Status(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Status, A::Error> {
                // An item says Complete only as `true` or "Complete"; nested lists do not count.
                let mut complete = false;
                while let Some(item) = seq.next_element::<IgnoredOr>()? {
                    complete |= item.0;
                }
                Ok(Status(complete))
            }
        }
        /// One item of a status list: `true` or "Complete" says complete, anything else not.
        struct IgnoredOr(bool);
        impl<'de> Deserialize<'de> for IgnoredOr {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ItemVisitor;
                impl<'de> Visitor<'de> for ItemVisitor {
                    type Value = IgnoredOr;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a status item")
                    }
                    fn visit_bool<E: de::Error>(self, v: bool) -> Result<IgnoredOr, E> {
                        Ok(IgnoredOr(v))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<IgnoredOr, E> {
                        Ok(IgnoredOr(v.trim().eq_ignore_ascii_case("complete")))
                    }
                    fn visit_i64<E: de::Error>(self, _: i64) -> Result<IgnoredOr, E> {
                        Ok(IgnoredOr(false))
                    }
                    fn visit_u64<E: de::Error>(self, _: u64) -> Result<IgnoredOr, E> {
                        Ok(IgnoredOr(false))
                    }
                    fn visit_f64<E: de::Error>(self, _: f64) -> Result<IgnoredOr, E> {
                        Ok(IgnoredOr(false))
                    }
                    fn visit_unit<E: de::Error>(self) -> Result<IgnoredOr, E> {
                        Ok(IgnoredOr(false))
                    }
                    fn visit_seq<A: SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<IgnoredOr, A::Error> {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        Ok(IgnoredOr(false))
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<IgnoredOr, A::Error> {
                        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                        Ok(IgnoredOr(false))
                    }
                }
                deserializer.deserialize_any(ItemVisitor)
            }
        }
        deserializer.deserialize_any(StatusVisitor)
    }
}

/// `files_data`: the images in file order. A key given twice keeps its first place and its
/// last value, as Python's `json.load` does.
pub(crate) struct FilesData(pub Vec<(String, RawImage)>);

impl FilesData {
    /// The entries as read, in file order, with each key given twice resolved (first place,
    /// last value).
    pub(crate) fn from_entries(entries: Vec<(String, RawImage)>) -> Self {
        let mut keys: foldhash::HashSet<&str> = foldhash::HashSet::with_capacity_and_hasher(
            entries.len(),
            foldhash::fast::RandomState::default(),
        );
        if entries.iter().all(|(id, _)| keys.insert(id)) {
            return Self(entries);
        }
        drop(keys);
        let mut images: Vec<(String, RawImage)> = Vec::with_capacity(entries.len());
        let mut seen: HashMap<String, usize> = crate::fast_map(entries.len());
        for (id, image) in entries {
            match seen.get(&id) {
                Some(&at) => images[at].1 = image,
                None => {
                    seen.insert(id.clone(), images.len());
                    images.push((id, image));
                }
            }
        }
        Self(images)
    }
}

impl<'de> Deserialize<'de> for FilesData {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FilesVisitor;
        impl<'de> Visitor<'de> for FilesVisitor {
            type Value = FilesData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FilesData, A::Error> {
                let mut entries: Vec<(String, RawImage)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(id) = map.next_key::<String>()? {
                    entries.push((id, map.next_value()?));
                }
                Ok(FilesData::from_entries(entries))
            }
        }
        deserializer.deserialize_map(FilesVisitor)
    }
}

impl<'de> Deserialize<'de> for Top {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TopVisitor;
        impl<'de> Visitor<'de> for TopVisitor {
            type Value = Top;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
                let mut top = Top::default();
                while let Some(key) = map.next_key::<String>()? {
                    // After a "format" key the file is a project: `files_data` stays a Value.
                    if key == "files_data" && !top.others.contains_key("format") {
                        top.files_data = Some(map.next_value::<FilesData>()?.0);
                    } else {
                        let value: Value = map.next_value()?;
                        top.others.insert(key, value);
                    }
                }
                Ok(top)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(not_object())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top, E> {
                Ok(not_object())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top, E> {
                Ok(not_object())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top, E> {
                Ok(not_object())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top, E> {
                Ok(not_object())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Top, E> {
                Ok(not_object())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Top, E> {
                Ok(not_object())
            }
        }
        fn not_object() -> Top {
            Top {
                not_object: true,
                ..Top::default()
            }
        }
        deserializer.deserialize_any(TopVisitor)
    }
}

/// Only the top-level keys, every value skipped: enough to tell the format.
#[derive(Debug, Default)]
pub(crate) struct TopKeys {
    pub keys: Vec<String>,
    pub not_object: bool,
}

impl<'de> Deserialize<'de> for TopKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = IgnoredTop::deserialize(deserializer)?;
        Ok(value.0)
    }
}

struct IgnoredTop(TopKeys);

impl<'de> Deserialize<'de> for IgnoredTop {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = IgnoredTop;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IgnoredTop, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(IgnoredTop(TopKeys {
                    keys,
                    not_object: false,
                }))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IgnoredTop, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(other())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<IgnoredTop, E> {
                Ok(other())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<IgnoredTop, E> {
                Ok(other())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<IgnoredTop, E> {
                Ok(other())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<IgnoredTop, E> {
                Ok(other())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<IgnoredTop, E> {
                Ok(other())
            }
            fn visit_unit<E: de::Error>(self) -> Result<IgnoredTop, E> {
                Ok(other())
            }
        }
        fn other() -> IgnoredTop {
            IgnoredTop(TopKeys {
                keys: Vec::new(),
                not_object: true,
            })
        }
        deserializer.deserialize_any(KeysVisitor)
    }
}

/// Reads the top level of a file: in pieces on every core when it is a long Python annotation
/// file ([`crate::split`]), else (and whenever that gives up) in one pass with [`read`].
pub(crate) fn read_top(text: &str) -> Result<Top, FormatError> {
    match crate::split::read_top(text) {
        Some(top) => Ok(top),
        None => read(text),
    }
}

/// A failed typed read: the decoder's error and, for a value that did not decode, the JSON
/// path where it happened.
type ReadError = (serde_json::Error, Option<serde_path_to_error::Path>);

fn read_strict<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, ReadError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().clone();
        (err.into_inner(), Some(path))
    })?;
    de.end().map_err(|err| (err, None))?;
    Ok(value)
}

/// Reads `text` into `T`: strict JSON, or, when that is a syntax error and the text has
/// non-finite words or overflowing numbers, the text with those quoted. Errors are located
/// (line and column for syntax, the JSON path and the image for the rest). The reading that
/// succeeds is one plain pass; the path is tracked only when reading again a text that failed.
pub(crate) fn read<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, FormatError> {
    let err = match serde_json::from_str::<T>(text) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    if err.classify() == serde_json::error::Category::Syntax
        && let Cow::Owned(quoted) = lenient::quote_non_finite(text)
    {
        return match serde_json::from_str::<T>(&quoted) {
            Ok(value) => Ok(value),
            Err(err) => Err(located_again::<T>(err, &quoted)),
        };
    }
    Err(located_again::<T>(err, text))
}

/// The error of reading `text`, read again with its JSON path tracked.
fn located_again<T: for<'de> Deserialize<'de>>(err: serde_json::Error, text: &str) -> FormatError {
    match read_strict::<T>(text) {
        Err(tracked) => located(tracked, text),
        Ok(_) => located((err, None), text),
    }
}

/// A decoding error as a [`FormatError`]: syntax errors with line and column; others with the
/// JSON path and, inside `files_data`, the image (id and filename) and the `points` entry.
fn located((inner, path): ReadError, text: &str) -> FormatError {
    use serde_path_to_error::Segment;
    let Some(path) = path.filter(|_| inner.classify() == serde_json::error::Category::Data) else {
        return lenient::syntax_error(&inner);
    };
    let segments: Vec<&Segment> = path.iter().collect();
    let key = |i: usize| match segments.get(i) {
        Some(Segment::Map { key }) => Some(key.as_str()),
        _ => None,
    };
    let mut location = Location::default();
    if key(0) == Some("files_data")
        && let Some(id) = key(1)
    {
        location = Location::image(id, filename_of(text, id).as_deref());
        if key(2) == Some("points")
            && let Some(Segment::Seq { index }) = segments.get(3)
        {
            location.entry = Some(*index);
        }
    }
    if !segments.is_empty() {
        location.json_path = Some(path.to_string());
    }
    let message = inner.to_string();
    // serde_json's data errors end with " at line L column C"; the path says where.
    let message = match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_owned(),
        None => message,
    };
    FormatError::new(location, lenient::kind_of_message(message))
}

/// The filename of image `id`, looked up again for an error message (a slow path: errors only).
fn filename_of(text: &str, id: &str) -> Option<String> {
    let value: Value = serde_json::from_str(text).ok()?;
    value
        .get("files_data")?
        .get(id)?
        .get("filename")?
        .as_str()
        .map(str::to_owned)
}
