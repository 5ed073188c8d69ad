//! Reading GeoJSON files as a stream, never holding the whole file: a FeatureCollection's
//! `features` array element by element (its other members may come before or after it), a
//! single Feature, newline-delimited features and RFC 8142 text sequences line by line.
//!
//! One thread reads the file and cuts it into batches of feature texts, checking the JSON syntax
//! as it goes; one worker thread per core parses each text into a feature and hands it to the
//! caller's work (validation), so parsing and validating run on every core while the file is
//! still being read. Results arrive in any order, tagged with their position; [`InOrder`] puts
//! them back in file order.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::ImportError;

/// Features per batch handed to a worker.
const BATCH: usize = 1_024;

/// Bytes read from the file at a time (more while one value is larger than what is buffered).
const BLOCK: usize = 1 << 20;

/// An error this close to the end of the bytes read so far may be the end of a value cut short.
const CUT_MARGIN: usize = 16;

/// The largest feature (bytes of its JSON text) read by default: 64 MiB. A feature is held
/// whole while it is parsed, several times its text in memory; a bigger one is refused.
pub const MAX_FEATURE_BYTES: usize = 64 << 20;

/// Consecutive features of a file, as text.
struct Batch {
    /// Position of the first feature in the file, 0-based (messages say it 1-based).
    first: usize,
    /// The bytes holding the features.
    text: Vec<u8>,
    /// Each feature's bytes in `text`.
    items: Vec<Range<usize>>,
    /// Where the features are in the file, for messages.
    origin: Origin,
}

/// Where the features of a batch are in the file.
enum Origin {
    /// Lines of a newline-delimited file: the 1-based line number of each item.
    Lines(Vec<usize>),
    /// Part of a FeatureCollection's array: the 1-based line and column of the batch's first
    /// byte.
    Collection { line: usize, column: usize },
    /// The whole file is one Feature, starting at this 1-based line and column.
    Single { line: usize, column: usize },
}

impl Batch {
    /// Names item `i` and where it starts, for messages.
    fn place(&self, i: usize) -> String {
        let (line, column) = match &self.origin {
            Origin::Lines(lines) => return format!("line {}", lines[i]),
            Origin::Single { line, column } => return format!("line {line} column {column}"),
            Origin::Collection { line, column } => {
                let before = &self.text[..self.items[i].start];
                match memchr::memrchr(b'\n', before) {
                    None => (*line, column + before.len()),
                    Some(last) => (
                        line + memchr::memchr_iter(b'\n', before).count(),
                        before.len() - last,
                    ),
                }
            }
        };
        format!(
            "feature {} at line {line} column {column}",
            self.first + i + 1
        )
    }
}

/// The results of one batch: the position of its first feature and its features' results in
/// order, or why the batch could not be parsed.
pub(super) struct Done<T> {
    first: usize,
    result: Result<Vec<T>, ImportError>,
}

/// Puts batches that arrive in any order back in file order.
pub(super) struct InOrder<T> {
    next: usize,
    waiting: BTreeMap<usize, Result<Vec<T>, ImportError>>,
}

impl<T> InOrder<T> {
    pub(super) fn new() -> Self {
        Self {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }

    /// Takes one batch's results.
    pub(super) fn push(&mut self, done: Done<T>) {
        self.waiting.insert(done.first, done.result);
    }

    /// The next batch in file order, with the position of its first feature, once it has
    /// arrived; an error ends the sequence.
    pub(super) fn pop(&mut self) -> Option<Result<(usize, Vec<T>), ImportError>> {
        let result = self.waiting.remove(&self.next)?;
        Some(result.map(|items| {
            let first = self.next;
            self.next += items.len();
            (first, items)
        }))
    }
}

/// Why reading stopped early.
enum Stop {
    /// The file cannot be read or is not GeoJSON.
    Failed(ImportError),
    /// The consumer of the features is gone.
    Cancelled,
}

impl From<ImportError> for Stop {
    fn from(error: ImportError) -> Self {
        Self::Failed(error)
    }
}

/// A reader that reports how many bytes it has read, for progress bars.
struct Counting<R, F> {
    inner: R,
    read: u64,
    progress: F,
}

impl<R: Read, F: FnMut(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

/// JSON's insignificant whitespace.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// The message of a `serde_json` error without its position (given relative to the text it
/// was parsing, not to the file).
fn message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) if error.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}

/// The file as a window of bytes that slides forward, knowing the line and column of what it
/// holds.
struct Window<R> {
    reader: R,
    /// The bytes read and not yet discarded.
    buf: Vec<u8>,
    /// The next byte to look at, in `buf`.
    pos: usize,
    /// Whether the reader is exhausted.
    eof: bool,
    /// Newlines are counted up to this index of `buf`...
    counted: usize,
    /// ...which is on this 1-based line...
    line: usize,
    /// ...this many bytes after the line's start.
    column: usize,
    /// The largest value the scanner accepts: reading ahead stops once a value is known to be
    /// larger, so the buffer stays near this size instead of doubling past it.
    limit: usize,
}

impl<R: Read> Window<R> {
    fn new(reader: R, limit: usize) -> Self {
        Self {
            limit,
            reader,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            counted: 0,
            line: 1,
            column: 0,
        }
    }

    /// The 1-based line and column of `buf[index]`; `index` may not go backwards.
    fn position(&mut self, index: usize) -> (usize, usize) {
        let between = &self.buf[self.counted..index];
        match memchr::memrchr(b'\n', between) {
            None => self.column += between.len(),
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', between).count();
                self.column = between.len() - last - 1;
            }
        }
        self.counted = index;
        (self.line, self.column + 1)
    }

    /// Discards the bytes before `pos` and reads at least `BLOCK` more bytes, and at least as
    /// many as are buffered after `pos` (so that a value larger than the buffer is re-parsed a
    /// logarithmic number of times). Returns false at the end of the file.
    fn fill(&mut self) -> std::io::Result<bool> {
        self.position(self.pos);
        self.buf.drain(..self.pos);
        self.counted -= self.pos;
        self.pos = 0;
        // Enough to tell that a value is over the limit, no more.
        let room = self.limit.saturating_add(1).saturating_sub(self.buf.len());
        let want = BLOCK.max(self.buf.len().min(room));
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let mut filled = start;
        while filled < self.buf.len() {
            match self.reader.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(e);
                }
            }
        }
        self.buf.truncate(filled);
        Ok(filled > start)
    }
}

/// Cuts a file into batches of feature texts and hands them to `send`.
struct Scanner<'a, R> {
    window: Window<R>,
    /// The file's name, for messages.
    path: &'a str,
    /// The batch being gathered: each item's bytes in `window.buf`, and its line when the file
    /// is newline-delimited.
    items: Vec<Range<usize>>,
    lines: Vec<usize>,
    /// Features handed on so far.
    sent: usize,
    send: &'a mut dyn FnMut(Batch) -> bool,
    /// The largest value (a feature or a member of the top-level object) read, bytes.
    max_value: usize,
    /// What the value being read is, for the message when it is too large.
    reading: Reading,
}

/// What a scanner is reading, to name it when it is too large.
#[derive(Debug, Clone)]
enum Reading {
    /// The feature at this 1-based position of the features array.
    Feature(usize),
    /// A member of the top-level object (of a single Feature, or other than `features`).
    Member(String),
    /// The file's single Feature.
    Single,
}

impl<R: Read> Scanner<'_, R> {
    fn io(&self, source: std::io::Error) -> Stop {
        Stop::Failed(ImportError::Io {
            path: self.path.to_owned(),
            source,
        })
    }

    fn format(&self, reason: String) -> Stop {
        Stop::Failed(ImportError::Format {
            path: self.path.to_owned(),
            reason,
        })
    }

    /// An error about the byte at `index` of the window.
    fn error_at(&mut self, index: usize, what: &str) -> Stop {
        let (line, column) = self.window.position(index);
        self.format(format!("not JSON: {what} at line {line} column {column}"))
    }

    /// Hands on the batch gathered so far.
    fn flush(&mut self) -> Result<(), Stop> {
        let Some(start) = self.items.first().map(|r| r.start) else {
            return Ok(());
        };
        let end = self.items.last().map_or(start, |r| r.end);
        let origin = if self.lines.is_empty() {
            let (line, column) = self.window.position(start);
            Origin::Collection { line, column }
        } else {
            Origin::Lines(std::mem::take(&mut self.lines))
        };
        let items: Vec<Range<usize>> = self
            .items
            .drain(..)
            .map(|r| r.start - start..r.end - start)
            .collect();
        let batch = Batch {
            first: self.sent,
            text: self.window.buf[start..end].to_vec(),
            items,
            origin,
        };
        self.sent += batch.items.len();
        if (self.send)(batch) {
            Ok(())
        } else {
            Err(Stop::Cancelled)
        }
    }

    /// Hands on the batch gathered so far, then slides the window; false at the end of the file.
    fn fill(&mut self) -> Result<bool, Stop> {
        self.flush()?;
        self.window.fill().map_err(|e| self.io(e))
    }

    /// The next byte that is not whitespace, without consuming it; `None` at the end of the file.
    fn peek(&mut self) -> Result<Option<u8>, Stop> {
        loop {
            let window = &mut self.window;
            while window.pos < window.buf.len() && is_space(window.buf[window.pos]) {
                window.pos += 1;
            }
            if window.pos < window.buf.len() {
                return Ok(Some(window.buf[window.pos]));
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Consumes the next non-whitespace byte, which must be one of `expected`.
    fn expect(&mut self, expected: &[u8], what: &str) -> Result<u8, Stop> {
        match self.peek()? {
            Some(byte) if expected.contains(&byte) => {
                self.window.pos += 1;
                Ok(byte)
            }
            Some(_) => Err(self.error_at(self.window.pos, &format!("expected {what}"))),
            None => {
                let end = self.window.buf.len();
                Err(self.error_at(end, &format!("the file ends where {what} was expected")))
            }
        }
    }

    /// The error for a value starting at `start` of the window that is larger than allowed.
    fn too_large(&mut self, start: usize) -> Stop {
        let (line, column) = self.window.position(start);
        self.too_large_at(line, column)
    }

    /// The error for a value starting at this 1-based line and column that is too large.
    fn too_large_at(&self, line: usize, column: usize) -> Stop {
        let what = match &self.reading {
            Reading::Feature(n) => format!("feature {n}"),
            Reading::Member(name) => format!("the member {name:?}"),
            Reading::Single => "the Feature".to_owned(),
        };
        self.format(format!(
            "{what} at line {line} column {column} is larger than {} bytes, the largest feature \
             accepted (--max-feature-bytes)",
            self.max_value
        ))
    }

    /// Parses the JSON value that starts at `pos` as a `T`, consuming it; returns it and its
    /// bytes in the window. A value longer than `max_value` is refused as soon as that many of
    /// its bytes are buffered, without reading the rest.
    fn value<T: for<'de> Deserialize<'de>>(&mut self) -> Result<(T, Range<usize>), Stop> {
        loop {
            let start = self.window.pos;
            let text = &self.window.buf[start..];
            let mut stream = serde_json::Deserializer::from_slice(text).into_iter::<T>();
            let outcome = stream.next();
            let end = start + stream.byte_offset();
            match outcome {
                // A number could go on in the bytes not read yet.
                Some(Ok(_)) if end - start > self.max_value => {
                    return Err(self.too_large(start));
                }
                Some(Ok(value)) if end < self.window.buf.len() || self.window.eof => {
                    self.window.pos = end;
                    return Ok((value, start..end));
                }
                Some(Err(e)) => {
                    // The error's position is relative to `text`.
                    let offset = match e.line() {
                        0 | 1 => e.column().saturating_sub(1),
                        line => {
                            memchr::memchr_iter(b'\n', text)
                                .nth(line - 2)
                                .map_or(0, |newline| newline + 1)
                                + e.column().saturating_sub(1)
                        }
                    };
                    let at = (start + offset).min(self.window.buf.len());
                    // A value cut by the end of what is read so far fails as the end of the
                    // file would, or, inside a number or a character, as bad syntax there.
                    let cut = e.is_eof() || at + CUT_MARGIN >= self.window.buf.len();
                    if !cut || self.window.eof {
                        return Err(self.error_at(at, &message(&e)));
                    }
                }
                None if self.window.eof => {
                    let end = self.window.buf.len();
                    return Err(self.error_at(end, "the file ends where a value was expected"));
                }
                _ => {}
            }
            if self.window.buf.len() - start > self.max_value {
                return Err(self.too_large(start));
            }
            self.fill()?;
        }
    }

    /// Reads a FeatureCollection (its features go out in batches) or a single Feature (which goes
    /// out as a batch of one); anything else is an error.
    fn object(&mut self) -> Result<(), Stop> {
        if self.peek()?.is_none() {
            return Err(self.format("the file is empty".into()));
        }
        let open = self.window.pos;
        let (line, column) = self.window.position(open);
        self.expect(b"{", "a GeoJSON object")?;
        let mut kind: Option<Value> = None;
        let mut features = false;
        // The members other than the features, as JSON text, to read a single Feature from.
        let mut members: Vec<u8> = b"{".to_vec();
        let mut first = true;
        loop {
            if first && self.peek()? == Some(b'}') {
                self.window.pos += 1;
                break;
            }
            first = false;
            if self.peek()? != Some(b'"') {
                self.expect(b"\"", "a member name")?;
            }
            self.reading = Reading::Member("(a member name)".into());
            let (key, _) = self.value::<String>()?;
            self.expect(b":", "':'")?;
            self.reading = Reading::Member(key.clone());
            let streams = key == "features"
                && kind
                    .as_ref()
                    .is_none_or(|k| k.as_str() == Some("FeatureCollection"));
            if streams {
                self.features()?;
                features = true;
            } else {
                if members.len() > 1 {
                    members.push(b',');
                }
                serde_json::to_writer(&mut members, &key).expect("writing to memory");
                members.push(b':');
                if key == "type" {
                    let (value, _) = self.value::<Value>()?;
                    serde_json::to_writer(&mut members, &value).expect("writing to memory");
                    kind = Some(value);
                } else {
                    let (_, bytes) = self.value::<IgnoredAny>()?;
                    members.extend_from_slice(&self.window.buf[bytes]);
                }
                if members.len() > self.max_value {
                    self.reading = Reading::Single;
                    return Err(self.too_large_at(line, column));
                }
            }
            if self.expect(b",}", "',' or '}'")? == b'}' {
                break;
            }
        }
        if self.peek()?.is_some() {
            return Err(self.error_at(self.window.pos, "trailing characters after the object"));
        }
        members.push(b'}');
        match kind.as_ref().and_then(Value::as_str) {
            Some("FeatureCollection") if features => Ok(()),
            Some("FeatureCollection") => {
                Err(self.format("a FeatureCollection without a features member".into()))
            }
            Some("Feature") if !features => {
                let batch = Batch {
                    first: 0,
                    items: std::iter::once(0..members.len()).collect(),
                    text: members,
                    origin: Origin::Single { line, column },
                };
                self.sent = 1;
                if (self.send)(batch) {
                    Ok(())
                } else {
                    Err(Stop::Cancelled)
                }
            }
            Some(
                "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon"
                | "MultiPolygon" | "GeometryCollection",
            ) => {
                Err(self.format("a bare geometry; expected a FeatureCollection or features".into()))
            }
            Some(other) => Err(self.format(format!(
                "a GeoJSON object of type {other:?}; expected a FeatureCollection or features"
            ))),
            None => Err(self.format(
                "an object without a type; expected a FeatureCollection or features".into(),
            )),
        }
    }

    /// Reads the features array, element by element.
    fn features(&mut self) -> Result<(), Stop> {
        self.expect(b"[", "the features array")?;
        if self.peek()? == Some(b']') {
            self.window.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek()? != Some(b'{') {
                self.expect(b"{", "a Feature object")?;
            }
            self.reading = Reading::Feature(self.sent + self.items.len() + 1);
            let (_, bytes) = self.value::<IgnoredAny>()?;
            self.items.push(bytes);
            if self.items.len() == BATCH {
                self.flush()?;
            }
            if self.expect(b",]", "',' or ']'")? == b']' {
                return self.flush();
            }
        }
    }

    /// Reads a newline-delimited file or RFC 8142 text sequence: one feature per line, blank
    /// lines skipped.
    fn lines(&mut self) -> Result<(), Stop> {
        let mut number = 0;
        loop {
            let window = &self.window;
            let rest = &window.buf[window.pos..];
            let (line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) if i > self.max_value => return Err(self.line_too_long(number + 1)),
                Some(i) => (window.pos..window.pos + i, window.pos + i + 1),
                None if rest.len() > self.max_value => {
                    return Err(self.line_too_long(number + 1));
                }
                None if !window.eof => {
                    self.fill()?;
                    continue;
                }
                None if rest.is_empty() => return self.flush(),
                None => (window.pos..window.buf.len(), window.buf.len()),
            };
            number += 1;
            self.window.pos = next;
            let bytes = &self.window.buf[line.clone()];
            let lead = bytes
                .iter()
                .position(|&b| b != 0x1e && !is_space(b))
                .unwrap_or(bytes.len());
            let tail = bytes
                .iter()
                .rposition(|&b| !is_space(b))
                .map_or(0, |i| i + 1);
            if lead >= tail {
                continue;
            }
            self.items.push(line.start + lead..line.start + tail);
            self.lines.push(number);
            if self.items.len() == BATCH {
                self.flush()?;
            }
        }
    }

    /// The error for line `number` (1-based) of a newline-delimited file being too long.
    fn line_too_long(&self, number: usize) -> Stop {
        self.format(format!(
            "line {number} (feature {}) is longer than {} bytes, the largest feature accepted \
             (--max-feature-bytes)",
            self.sent + self.items.len() + 1,
            self.max_value
        ))
    }

    /// Whether the file is newline-delimited: its first line is a whole Feature. A UTF-8
    /// byte-order mark at the start of the file is skipped (editors on Windows write one).
    fn newline_delimited(&mut self) -> Result<bool, Stop> {
        if !self.window.fill().map_err(|e| self.io(e))? {
            return Ok(false);
        }
        if self.window.buf.starts_with(b"\xEF\xBB\xBF") {
            self.window.buf.drain(..3);
        }
        let buf = &self.window.buf;
        let end = memchr::memchr(b'\n', buf).unwrap_or(buf.len());
        let line = &buf[..end];
        let lead = line.iter().take_while(|&&b| b == 0x1e).count();
        let kind = serde_json::from_slice::<Kind>(&line[lead..]).ok();
        Ok(kind.and_then(|k| k.kind).as_deref() == Some("Feature"))
    }

    /// Reads the whole file; returns the number of features.
    fn run(&mut self) -> Result<usize, Stop> {
        if self.newline_delimited()? {
            self.lines()?;
        } else {
            self.object()?;
        }
        Ok(self.sent)
    }
}

/// The type of a GeoJSON object, other members skipped.
#[derive(Deserialize)]
struct Kind<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
}

/// A member that may be absent, null or have a value.
#[derive(Default)]
enum Member<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Member<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Self::Null, Self::Value))
    }
}

/// A Feature as read from the file: what validation needs of it, other members skipped.
#[derive(Deserialize)]
struct FeatureText<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "feature_id")]
    id: Option<geojson::feature::Id>,
    #[serde(default, borrow)]
    geometry: Member<GeometryText<'a>>,
    #[serde(default, deserialize_with = "properties")]
    properties: Option<Map<String, Value>>,
}

/// A geometry as read from the file; its coordinates are parsed once its type is known (the
/// members may come in any order).
#[derive(Deserialize)]
struct GeometryText<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    coordinates: Option<&'a RawValue>,
    #[serde(default, borrow)]
    geometries: Option<Vec<GeometryText<'a>>>,
}

/// Properties: an object or null, read into a map sized at once (growing it member by member
/// costs several reallocations per feature).
fn properties<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Map<String, Value>>, D::Error> {
    struct Properties;
    impl<'de> Visitor<'de> for Properties {
        type Value = Option<Map<String, Value>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object or null")
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
            let mut map = Map::with_capacity(members.size_hint().unwrap_or(16));
            while let Some((key, value)) = members.next_entry::<String, Value>()? {
                map.insert(key, value);
            }
            Ok(Some(map))
        }
    }
    deserializer.deserialize_option(Properties)
}

fn feature_id<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<geojson::feature::Id>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) => Ok(Some(geojson::feature::Id::String(s))),
        Value::Number(n) => Ok(Some(geojson::feature::Id::Number(n))),
        other => Err(serde::de::Error::custom(format!(
            "the id {other} is neither a string nor a number"
        ))),
    }
}

impl GeometryText<'_> {
    fn coordinates<T: for<'de> Deserialize<'de>>(&self) -> Result<T, String> {
        let raw = self
            .coordinates
            .ok_or_else(|| format!("a {} without coordinates", self.kind))?;
        serde_json::from_str(raw.get())
            .map_err(|e| format!("the coordinates of a {}: {}", self.kind, message(&e)))
    }

    fn value(self) -> Result<geojson::Value, String> {
        use geojson::Value as G;
        Ok(match &*self.kind {
            "Point" => G::Point(self.coordinates()?),
            "MultiPoint" => G::MultiPoint(self.coordinates()?),
            "LineString" => G::LineString(self.coordinates()?),
            "MultiLineString" => G::MultiLineString(self.coordinates()?),
            "Polygon" => G::Polygon(self.coordinates()?),
            "MultiPolygon" => G::MultiPolygon(self.coordinates()?),
            "GeometryCollection" => G::GeometryCollection(
                self.geometries
                    .ok_or("a GeometryCollection without geometries")?
                    .into_iter()
                    .map(|g| g.value().map(geojson::Geometry::new))
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("unknown geometry type {other:?}")),
        })
    }
}

/// Parses one Feature object.
fn parse_feature(text: &str) -> Result<geojson::Feature, String> {
    feature(serde_json::from_str(text).map_err(|e| message(&e))?)
}

/// Parses one Feature object from bytes that may not be UTF-8.
fn parse_feature_bytes(text: &[u8]) -> Result<geojson::Feature, String> {
    feature(serde_json::from_slice(text).map_err(|e| message(&e))?)
}

fn feature(feature: FeatureText) -> Result<geojson::Feature, String> {
    match feature.kind.as_deref() {
        Some("Feature") => {}
        Some(other) => return Err(format!("an object of type {other:?}; expected a Feature")),
        None => return Err("an object without a type; expected a Feature".into()),
    }
    let geometry = match feature.geometry {
        Member::Absent => return Err("a Feature without a geometry member".into()),
        Member::Null => None,
        Member::Value(g) => Some(geojson::Geometry::new(g.value()?)),
    };
    Ok(geojson::Feature {
        bbox: None,
        geometry,
        id: feature.id,
        properties: feature.properties,
        foreign_members: None,
    })
}

/// Reads the features of the GeoJSON file at `path` (see the module documentation) on this
/// thread, parses each on one of `workers` threads and runs `work` on it there. `sink` receives
/// each batch's results, in any order, and returns false to stop reading. `progress` is called
/// with the bytes read so far. Returns the number of features read, or why the file could not
/// be read; batches handed to `sink` before a syntax error come before it in the file.
pub(super) fn run<T: Send>(
    path: &Path,
    max_feature_bytes: usize,
    progress: impl FnMut(u64),
    workers: usize,
    work: &(dyn Fn(geojson::Feature) -> T + Sync),
    sink: &(dyn Fn(Done<T>) -> bool + Sync),
) -> Result<usize, ImportError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ImportError::Io {
        path: shown.clone(),
        source,
    })?;
    let reader = Counting {
        inner: file,
        read: 0,
        progress,
    };
    let (to_workers, batches) = std::sync::mpsc::sync_channel::<Batch>(workers * 2);
    // The workers share the receiving end; when the last one stops, sending fails and reading
    // stops.
    let batches = Arc::new(Mutex::new(batches));
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let batches = Arc::clone(&batches);
            let shown = &shown;
            scope.spawn(move || {
                loop {
                    let next = batches.lock().map(|b| b.recv());
                    let Ok(Ok(batch)) = next else { break };
                    // Checking the batch's UTF-8 at once is cheaper than string by string;
                    // when it fails, parsing the bytes names the feature at fault.
                    let text = std::str::from_utf8(&batch.text).ok();
                    let result = batch
                        .items
                        .iter()
                        .enumerate()
                        .map(|(i, range)| {
                            let feature = match text {
                                Some(text) => parse_feature(&text[range.clone()]),
                                None => parse_feature_bytes(&batch.text[range.clone()]),
                            };
                            feature.map(work).map_err(|reason| ImportError::Format {
                                path: shown.clone(),
                                reason: format!("{}: {reason}", batch.place(i)),
                            })
                        })
                        .collect::<Result<Vec<T>, ImportError>>();
                    if !sink(Done {
                        first: batch.first,
                        result,
                    }) {
                        break;
                    }
                }
            });
        }
        drop(batches);
        // Sending ends with the scanner, so that the workers see the end of the batches.
        let mut hand_on = move |batch: Batch| to_workers.send(batch).is_ok();
        let mut scanner = Scanner {
            window: Window::new(reader, max_feature_bytes),
            path: &shown,
            items: Vec::new(),
            lines: Vec::new(),
            sent: 0,
            send: &mut hand_on,
            max_value: max_feature_bytes,
            reading: Reading::Single,
        };
        let outcome = scanner.run();
        let sent = scanner.sent;
        drop(scanner);
        drop(hand_on);
        match outcome {
            Ok(read) => Ok(read),
            Err(Stop::Failed(error)) => Err(error),
            Err(Stop::Cancelled) => Ok(sent),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{Just, Strategy, any, prop, prop_oneof};

    /// Reads `text` as a file; returns the features, or the error's message.
    fn read(text: &str) -> Result<Vec<geojson::Feature>, String> {
        read_bytes(text.as_bytes(), MAX_FEATURE_BYTES)
    }

    fn point(id: usize) -> String {
        format!(
            r#"{{"type":"Feature","id":"p{id}","geometry":{{"type":"Point","coordinates":[{id},1]}},"properties":{{"n":{id}}}}}"#
        )
    }

    #[test]
    fn features_come_back_in_file_order_across_many_batches() {
        let features: Vec<String> = (0..BATCH * 3 + 5).map(point).collect();
        let text = format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[{}]}}",
            features.join(",\n")
        );
        let read = read(&text).unwrap();
        assert_eq!(read.len(), BATCH * 3 + 5);
        for (i, f) in read.iter().enumerate() {
            assert_eq!(f.id, Some(geojson::feature::Id::String(format!("p{i}"))));
        }
    }

    #[test]
    fn the_features_member_may_come_after_crs_bbox_and_foreign_members() {
        let text = format!(
            r#"{{"bbox": [0, 0, 9, 9], "crs": {{"type": "name", "properties": {{"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}}},
               "name": "x", "features": [{}, {}], "type": "FeatureCollection", "extra": [1, {{"a": "]"}}]}}"#,
            point(1),
            point(2)
        );
        let read = read(&text).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].id, Some(geojson::feature::Id::String("p2".into())));
    }

    #[test]
    fn nested_properties_brackets_in_strings_and_escapes_survive() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"properties":{"a":{"b":[1,{"c":"]}\"{["}]},"d":"\u4e2d\n"},"geometry":null,"type":"Feature","id":7}
        ]}"#;
        let read = read(text).unwrap();
        let props = read[0].properties.as_ref().unwrap();
        assert_eq!(props["a"]["b"][1]["c"], "]}\"{[");
        assert_eq!(props["d"], "中\n");
        assert_eq!(read[0].geometry, None);
        assert_eq!(
            read[0].id,
            Some(geojson::feature::Id::Number(serde_json::Number::from(7)))
        );
    }

    #[test]
    fn geometry_members_may_come_in_any_order_and_collections_nest() {
        let text = r#"{"type":"Feature","properties":null,"geometry":{"geometries":[
            {"coordinates":[[0,0],[1,1]],"type":"LineString"},
            {"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}],"type":"GeometryCollection"}}"#;
        let read = read(&text.replace('\n', " ")).unwrap();
        let Some(geojson::Geometry {
            value: geojson::Value::GeometryCollection(parts),
            ..
        }) = &read[0].geometry
        else {
            panic!("{:?}", read[0].geometry)
        };
        assert_eq!(
            parts[0].value,
            geojson::Value::LineString(vec![vec![0.0, 0.0], vec![1.0, 1.0]])
        );
        assert!(matches!(parts[1].value, geojson::Value::Polygon(_)));
    }

    #[test]
    fn a_single_feature_spread_over_lines_is_one_feature() {
        let text = "{\n  \"type\": \"Feature\",\n  \"geometry\": {\"type\": \"Point\", \"coordinates\": [1, 2]},\n  \"properties\": {\"a\": 1}\n}\n";
        let read = read(text).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].properties.as_ref().unwrap()["a"], 1);
    }

    #[test]
    fn a_truncated_collection_names_the_line_and_column_where_it_ends() {
        let text = format!(
            "{{\"type\": \"FeatureCollection\", \"features\": [\n{},\n{}",
            point(1),
            &point(2)[..40]
        );
        let err = read(&text).unwrap_err();
        assert!(
            err.contains("not JSON") && err.contains("line 3 column 40"),
            "{err}"
        );
        let err = read("{\"type\": \"FeatureCollection\", \"features\": [").unwrap_err();
        assert!(err.contains("line 1 column 44"), "{err}");
    }

    #[test]
    fn a_syntax_error_deep_in_a_large_file_names_its_line() {
        let mut features: Vec<String> = (0..3000).map(point).collect();
        features[2500] = features[2500].replace("\"Point\"", "\"Point\" 5");
        let text = format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}",
            features.join(",\n")
        );
        let err = read(&text).unwrap_err();
        assert!(err.contains("line 2502 column"), "{err}");
    }

    #[test]
    fn a_malformed_feature_names_its_position() {
        let bad = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":["a",1]},"properties":{}}"#;
        let text = format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[\n{},\n  {bad}]}}",
            point(0)
        );
        let err = read(&text).unwrap_err();
        assert!(
            err.contains("feature 2 at line 3 column 3") && err.contains("coordinates"),
            "{err}"
        );
        let nd = format!("{}\n\n{bad}\n", point(0));
        let err = read(&nd).unwrap_err();
        assert!(err.contains("line 3:"), "{err}");
    }

    #[test]
    fn objects_that_are_not_features_are_refused_with_their_kind() {
        let err = read(r#"{"type":"Point","coordinates":[1,2]}"#).unwrap_err();
        assert!(err.contains("a bare geometry"), "{err}");
        let err = read(r#"{"type":"Topology","objects":{}}"#).unwrap_err();
        assert!(err.contains("\"Topology\""), "{err}");
        let err = read(r#"{"type":"FeatureCollection"}"#).unwrap_err();
        assert!(err.contains("without a features member"), "{err}");
        let err = read(r"[1, 2]").unwrap_err();
        assert!(err.contains("expected a GeoJSON object"), "{err}");
        let err = read("").unwrap_err();
        assert!(err.contains("empty"), "{err}");
        let err = read(r#"{"type":"FeatureCollection","features":[]} x"#).unwrap_err();
        assert!(err.contains("trailing"), "{err}");
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{}, 5]}}"#,
            point(1)
        );
        assert!(read(&text).unwrap_err().contains("a Feature object"));
        let text =
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{}}]}"#;
        assert!(read(text).unwrap_err().contains("without a geometry"));
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":[1],"geometry":null}]}"#;
        assert!(
            read(text)
                .unwrap_err()
                .contains("neither a string nor a number")
        );
    }

    #[test]
    fn an_empty_collection_has_no_features() {
        assert_eq!(
            read(r#" {"features": [ ], "type": "FeatureCollection"} "#).unwrap(),
            vec![]
        );
    }

    #[test]
    fn a_value_larger_than_the_read_block_is_read_whole() {
        let ring: Vec<String> = (0..=BLOCK / 10)
            .map(|i| format!("[{}.5,{}.25]", i % 100, i % 7))
            .collect();
        let text = format!(
            r#"{{"type":"FeatureCollection","name":"{}","features":[{{"type":"Feature","geometry":{{"type":"LineString","coordinates":[{}]}},"properties":null}}]}}"#,
            "n".repeat(BLOCK * 2),
            ring.join(",")
        );
        let read = read(&text).unwrap();
        let Some(geojson::Geometry {
            value: geojson::Value::LineString(line),
            ..
        }) = &read[0].geometry
        else {
            panic!("not a line")
        };
        assert_eq!(line.len(), ring.len());
    }

    #[test]
    fn values_cut_anywhere_by_the_read_block_are_read_whole() {
        // Features of ~100 bytes with numbers, escapes and multi-byte characters: some of the
        // first block's ends fall inside each kind of token.
        for shift in 0..40 {
            let feature = |i: usize| {
                format!(
                    r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[113.{i:07},-3.5e-1]}},"properties":{{"名":"中\u4e2d\"{i}"}}}}"#
                )
            };
            let features: Vec<String> = (0..BLOCK / 90).map(feature).collect();
            let text = format!(
                "{{\"type\":\"FeatureCollection\",\"pad\":\"{}\",\"features\":[{}]}}",
                "x".repeat(shift),
                features.join(",")
            );
            let read = read(&text).unwrap();
            assert_eq!(read.len(), features.len(), "shift {shift}");
            let last = read.last().unwrap().properties.as_ref().unwrap();
            assert_eq!(last["名"], format!("中中\"{}", features.len() - 1));
        }
    }

    #[test]
    fn a_number_cut_by_the_read_block_is_not_cut() {
        // The foreign member's number ends exactly where the first block does.
        let prefix = "{\"type\":\"FeatureCollection\",\"pad\":\"";
        let number = "123456789";
        let pad = BLOCK - prefix.len() - "\",\"n\":".len() - 4;
        let text = format!(
            "{prefix}{}\",\"n\":{number},\"features\":[{}]}}",
            "x".repeat(pad),
            point(1)
        );
        assert_eq!(read(&text).unwrap().len(), 1);
    }

    /// Reads `bytes` as a file with a feature cap; returns the features, or the error's message.
    fn read_bytes(bytes: &[u8], max_feature_bytes: usize) -> Result<Vec<geojson::Feature>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.geojson");
        std::fs::write(&path, bytes).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let outcome = run(&path, max_feature_bytes, |_| {}, 2, &|f| f, &|done| {
            tx.send(done).is_ok()
        });
        drop(tx);
        let mut order = InOrder::new();
        for done in rx {
            order.push(done);
        }
        let mut features = Vec::new();
        while let Some(batch) = order.pop() {
            features.extend(batch.map_err(|e| e.to_string())?.1);
        }
        outcome.map_err(|e| e.to_string())?;
        Ok(features)
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_accepted_in_every_form() {
        let bom = "\u{feff}";
        let collection = format!(
            "{bom}{{\"type\":\"FeatureCollection\",\"features\":[{},{}]}}",
            point(1),
            point(2)
        );
        assert_eq!(read(&collection).unwrap().len(), 2);
        let lines = format!("{bom}{}\n{}\n", point(1), point(2));
        assert_eq!(read(&lines).unwrap().len(), 2);
        let single = format!("{bom}{}", point(1));
        assert_eq!(read(&single).unwrap().len(), 1);
        // Positions still count from the first character after the mark.
        let bad = format!("{bom}{{\"type\": \"FeatureCollection\", \"features\": [5]}}");
        let err = read(&bad).unwrap_err();
        assert!(err.contains("line 1 column 44"), "{err}");
    }

    #[test]
    fn a_feature_over_the_size_cap_is_refused_naming_its_position_without_reading_on() {
        let big = format!(
            r#"{{"type":"Feature","geometry":null,"properties":{{"s":"{}"}}}}"#,
            "x".repeat(BLOCK * 3)
        );
        let text = format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[\n{},\n{big},\n{}]}}",
            point(1),
            point(3)
        );
        let err = read_bytes(text.as_bytes(), BLOCK).unwrap_err();
        assert!(
            err.contains("feature 2 at line 3 column 1")
                && err.contains(&format!("larger than {BLOCK} bytes"))
                && err.contains("the largest feature accepted (--max-feature-bytes)"),
            "{err}"
        );
        // The same file is read under a larger cap.
        assert_eq!(read_bytes(text.as_bytes(), BLOCK * 4).unwrap().len(), 3);
        // A feature over the cap that is read in one block with the rest of a small file.
        let small = format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[{},{}]}}",
            point(1),
            big.replace(&"x".repeat(BLOCK * 3), &"x".repeat(300))
        );
        let err = read_bytes(small.as_bytes(), 200).unwrap_err();
        assert!(
            err.contains("feature 2") && err.contains("larger than 200 bytes"),
            "{err}"
        );
        assert_eq!(read_bytes(small.as_bytes(), 400).unwrap().len(), 2);
        // Newline-delimited: the line is named.
        let lines = format!("{}\n{}\n{big}\n", point(1), point(2));
        let err = read_bytes(lines.as_bytes(), BLOCK).unwrap_err();
        assert!(err.contains("line 3 (feature 3)"), "{err}");
        // A single Feature.
        let err = read_bytes(big.as_bytes(), BLOCK).unwrap_err();
        assert!(err.contains("larger than"), "{err}");
    }

    #[test]
    fn a_feature_without_end_stops_at_the_cap_not_at_the_end_of_the_input() {
        // An endless array inside one feature: the reader gives up after about the cap, long
        // before the input ends (a reader that buffered the whole feature would take 64 MiB).
        struct Endless {
            given: usize,
        }
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let head = br#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"a":["#;
                let mut n = 0;
                while n < buf.len() {
                    buf[n] = if self.given < head.len() {
                        head[self.given]
                    } else if (self.given - head.len()).is_multiple_of(2) {
                        b'1'
                    } else {
                        b','
                    };
                    self.given += 1;
                    n += 1;
                }
                Ok(n)
            }
        }
        let mut sent = |_: Batch| true;
        let mut scanner = Scanner {
            window: Window::new(Endless { given: 0 }, 4 * BLOCK),
            path: "endless",
            items: Vec::new(),
            lines: Vec::new(),
            sent: 0,
            send: &mut sent,
            max_value: 4 * BLOCK,
            reading: Reading::Single,
        };
        let Err(Stop::Failed(err)) = scanner.run() else {
            panic!("an endless feature was accepted")
        };
        assert!(err.to_string().contains("feature 1"), "{err}");
        assert!(
            scanner.window.reader.given <= 6 * BLOCK,
            "read {} bytes",
            scanner.window.reader.given
        );
    }

    #[test]
    fn coordinates_and_property_numbers_are_read_bit_identical() {
        let numbers = [
            "113.68581234567891",
            "34.74712345678901",
            "0.30000000000000004",
            "5e-324",
            "1.7976931348623157e308",
            "-2.2250738585072014e-308",
            "9007199254740993.0",
            "0.1",
        ];
        let props: Vec<String> = numbers
            .iter()
            .enumerate()
            .map(|(i, n)| format!("\"n{i}\":{n}"))
            .collect();
        let text = format!(
            r#"{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{},{}]}},"properties":{{{}}}}}"#,
            numbers[0],
            numbers[1],
            props.join(",")
        );
        let read = read(&text).unwrap();
        let Some(geojson::Geometry {
            value: geojson::Value::Point(p),
            ..
        }) = &read[0].geometry
        else {
            panic!("not a point")
        };
        let exact = |n: &str| n.parse::<f64>().unwrap().to_bits();
        assert_eq!(p[0].to_bits(), exact(numbers[0]));
        assert_eq!(p[1].to_bits(), exact(numbers[1]));
        let properties = read[0].properties.as_ref().unwrap();
        for (i, n) in numbers.iter().enumerate() {
            let value = properties[&format!("n{i}")].as_f64().unwrap();
            assert_eq!(value.to_bits(), exact(n), "{n}");
            // Written back in the shortest form that reads as the same number.
            let written = serde_json::to_string(&properties[&format!("n{i}")]).unwrap();
            assert_eq!(
                written.parse::<f64>().unwrap().to_bits(),
                exact(n),
                "{n} → {written}"
            );
        }
        assert_eq!(serde_json::to_string(&p[0]).unwrap(), numbers[0]);
    }

    /// GeoJSON-ish texts: valid files, then cut, mutated or nested deep.
    fn geojson_text() -> impl Strategy<Value = Vec<u8>> {
        let feature = (0..5_usize, -180.0..180.0_f64, -90.0..90.0_f64).prop_map(|(i, x, y)| {
            format!(
                r#"{{"type":"Feature","id":{i},"geometry":{{"type":"Point","coordinates":[{x},{y}]}},"properties":{{"n":{i},"s":"中\"{i}"}}}}"#
            )
        });
        let file = (
            proptest::collection::vec(feature, 0..6),
            0..3_u8,
            any::<bool>(),
        )
            .prop_map(|(features, form, bom)| {
                let body = match form {
                    0 => format!(
                        "{{\"type\":\"FeatureCollection\",\"features\":[{}]}}",
                        features.join(",\n")
                    ),
                    1 => features.join("\n"),
                    _ => features.first().cloned().unwrap_or_default(),
                };
                let mut bytes = if bom {
                    b"\xEF\xBB\xBF".to_vec()
                } else {
                    Vec::new()
                };
                bytes.extend_from_slice(body.as_bytes());
                bytes
            });
        let deep = (1..5_000_usize, prop_oneof![Just(b'['), Just(b'{')]).prop_map(|(depth, open)| {
            let mut bytes =
                br#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"a":"#
                    .to_vec();
            for _ in 0..depth {
                bytes.push(open);
                if open == b'{' {
                    bytes.extend_from_slice(br#""k":"#);
                }
            }
            bytes
        });
        let mutated = (
            file.clone(),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3_u8), 1..5),
        )
            .prop_map(|(mut bytes, edits)| {
                for (at, byte, kind) in edits {
                    if bytes.is_empty() {
                        break;
                    }
                    let i = at.index(bytes.len());
                    match kind {
                        0 => bytes[i] = byte,
                        1 => bytes.insert(i, byte),
                        _ => bytes.truncate(i),
                    }
                }
                bytes
            });
        prop_oneof![
            file,
            deep,
            mutated,
            proptest::collection::vec(any::<u8>(), 0..256)
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        #[test]
        fn random_truncated_mutated_and_deeply_nested_geojson_never_panics_and_errors_name_a_position(
            bytes in geojson_text()
        ) {
            match read_bytes(&bytes, MAX_FEATURE_BYTES) {
                Ok(features) => proptest::prop_assert!(features.len() <= 6),
                Err(message) => {
                    let placed = message.contains("line ")
                        || message.contains("feature ")
                        || message.contains("empty")
                        || message.contains("expected a FeatureCollection")
                        || message.contains("a bare geometry")
                        || message.contains("without a features member");
                    proptest::prop_assert!(placed, "{}", message);
                }
            }
        }
    }
}
