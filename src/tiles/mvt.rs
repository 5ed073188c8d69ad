//! Mapbox Vector Tile 2.1 written by hand: the protobuf wire format (varints, zigzag, packed
//! fields), geometry commands (`MoveTo`, `LineTo`, `ClosePath`) and per-layer keys and values
//! tables without duplicates; and a small decoder, for tests and for checking tiles.
//!
//! Coordinates are integers in tile space: `0..EXTENT` across the tile, x east, **y down**.
//! The encoder writes what it is given; making geometry valid (ring winding, no degenerate
//! parts) is the caller's job ([`super::render`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// The tile extent: coordinates per tile side.
pub const EXTENT: u32 = 4096;

/// The MVT version written.
pub const VERSION: u32 = 2;

/// The media type of a vector tile.
pub const MEDIA_TYPE: &str = "application/vnd.mapbox-vector-tile";

/// The geometry type of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomType {
    /// One or more points (`MoveTo` with a count).
    Point = 1,
    /// One or more lines.
    LineString = 2,
    /// One or more polygons: an exterior ring (clockwise, y down) then its holes.
    Polygon = 3,
}

/// A property value in a tile.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Text.
    String(Cow<'a, str>),
    /// A 64-bit float.
    Double(f64),
    /// A signed integer (written as `sint_value` when negative, `uint_value` otherwise).
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl Value<'_> {
    /// The same value, borrowing its text.
    pub fn borrowed(&self) -> Value<'_> {
        match self {
            Self::String(s) => Value::String(Cow::Borrowed(s)),
            Self::Double(d) => Value::Double(*d),
            Self::Int(i) => Value::Int(*i),
            Self::Bool(b) => Value::Bool(*b),
        }
    }
}

impl Eq for Value<'_> {}

impl Hash for Value<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Self::String(s) => {
                state.write_u8(0);
                s.hash(state);
            }
            Self::Double(d) => {
                state.write_u8(1);
                state.write_u64(d.to_bits());
            }
            Self::Int(i) => {
                state.write_u8(2);
                state.write_i64(*i);
            }
            Self::Bool(b) => {
                state.write_u8(3);
                state.write_u8(u8::from(*b));
            }
        }
    }
}

/// The hasher of value tables: fast on short strings, no denial-of-service concern since
/// values come from the store, not from requests.
pub(crate) type FastHash = foldhash::fast::FixedState;

// --- wire format -------------------------------------------------------------------------------

const WIRE_VARINT: u32 = 0;
const WIRE_FIXED64: u32 = 1;
const WIRE_LEN: u32 = 2;

/// Appends `v` as a protobuf varint.
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "takes the low 7 bits on purpose"
)]
pub fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The number of bytes of `v` as a varint.
#[inline]
pub fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits; 0 takes one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Zigzag encoding of a signed 32-bit value (small magnitudes → small varints).
#[inline]
#[expect(clippy::cast_sign_loss, reason = "zigzag is a bit reinterpretation")]
pub fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Zigzag decoding.
#[inline]
#[expect(
    clippy::cast_possible_wrap,
    reason = "zigzag is a bit reinterpretation"
)]
pub fn unzigzag(v: u32) -> i32 {
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

#[inline]
fn key(field: u32, wire: u32) -> u64 {
    u64::from((field << 3) | wire)
}

fn write_bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_varint(out, key(field, WIRE_LEN));
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn write_packed(out: &mut Vec<u8>, field: u32, values: &[u32]) {
    write_varint(out, key(field, WIRE_LEN));
    let len: usize = values.iter().map(|&v| varint_len(u64::from(v))).sum();
    write_varint(out, len as u64);
    for &v in values {
        write_varint(out, u64::from(v));
    }
}

fn packed_len(field: u32, values: &[u32]) -> usize {
    let len: usize = values.iter().map(|&v| varint_len(u64::from(v))).sum();
    varint_len(key(field, WIRE_LEN)) + varint_len(len as u64) + len
}

// --- geometry commands -------------------------------------------------------------------------

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

#[inline]
fn command(id: u32, count: usize) -> u32 {
    let count = u32::try_from(count).expect("fewer than 2^29 vertices in one part");
    (id & 0x7) | (count << 3)
}

/// Builds the packed geometry commands of one feature, tracking the cursor across parts.
///
/// ```
/// use citygrid::tiles::mvt::Geometry;
/// let mut g = Geometry::default();
/// g.points(&[[25, 17]]);
/// assert_eq!(g.commands(), [9, 50, 34]); // MoveTo(1), zigzag(25), zigzag(17)
/// ```
#[derive(Debug, Default, Clone)]
pub struct Geometry {
    commands: Vec<u32>,
    cursor: [i32; 2],
}

impl Geometry {
    /// Clears the commands for the next feature.
    pub fn clear(&mut self) {
        self.commands.clear();
        self.cursor = [0, 0];
    }

    /// Whether no part has been added.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The packed commands.
    pub fn commands(&self) -> &[u32] {
        &self.commands
    }

    #[inline]
    fn push_point(&mut self, p: [i32; 2]) {
        self.commands
            .push(zigzag(p[0].wrapping_sub(self.cursor[0])));
        self.commands
            .push(zigzag(p[1].wrapping_sub(self.cursor[1])));
        self.cursor = p;
    }

    /// Points: one `MoveTo` with a count.
    pub fn points(&mut self, points: &[[i32; 2]]) {
        if points.is_empty() {
            return;
        }
        self.commands.push(command(MOVE_TO, points.len()));
        for &p in points {
            self.push_point(p);
        }
    }

    /// One line of at least two points.
    pub fn line(&mut self, line: &[[i32; 2]]) {
        debug_assert!(line.len() >= 2, "a line has two points or more");
        self.commands.push(command(MOVE_TO, 1));
        self.push_point(line[0]);
        self.commands.push(command(LINE_TO, line.len() - 1));
        for &p in &line[1..] {
            self.push_point(p);
        }
    }

    /// One ring of at least three points, without the closing point (`ClosePath` closes it).
    pub fn ring(&mut self, ring: &[[i32; 2]]) {
        debug_assert!(ring.len() >= 3, "a ring has three points or more");
        self.line(ring);
        self.commands.push(command(CLOSE_PATH, 1));
    }
}

// --- encoder -----------------------------------------------------------------------------------

/// A tile being written, layer by layer.
#[derive(Debug, Default)]
pub struct TileEncoder {
    tile: Vec<u8>,
    layer: Vec<u8>,
    features: Vec<u8>,
}

impl TileEncoder {
    /// Starts a layer named `name`. Layers without features are left out of the tile.
    pub fn layer<'e, 'v>(&'e mut self, name: &'e str) -> LayerEncoder<'e, 'v> {
        self.features.clear();
        LayerEncoder {
            tile: self,
            name,
            keys: Vec::new(),
            values: Vec::new(),
            value_index: HashMap::default(),
            tags: Vec::new(),
            count: 0,
        }
    }

    /// Whether no layer with features was written.
    pub fn is_empty(&self) -> bool {
        self.tile.is_empty()
    }

    /// The encoded tile (empty when no layer has a feature).
    pub fn finish(self) -> Vec<u8> {
        self.tile
    }
}

/// One layer being written: features, then [`LayerEncoder::finish`].
#[derive(Debug)]
pub struct LayerEncoder<'e, 'v> {
    tile: &'e mut TileEncoder,
    name: &'e str,
    keys: Vec<&'v str>,
    values: Vec<Value<'v>>,
    value_index: HashMap<Value<'v>, u32, FastHash>,
    tags: Vec<u32>,
    count: usize,
}

impl<'v> LayerEncoder<'_, 'v> {
    /// The number of features written so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no feature was written.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn key_index(&mut self, name: &'v str) -> u32 {
        // Layers have a handful of keys: a linear scan beats hashing.
        let found = self
            .keys
            .iter()
            .position(|k| std::ptr::eq(*k, name) || *k == name);
        let i = found.unwrap_or_else(|| {
            self.keys.push(name);
            self.keys.len() - 1
        });
        u32::try_from(i).expect("fewer than 2^32 keys")
    }

    fn value_index(&mut self, value: Value<'v>) -> u32 {
        if let Some(&i) = self.value_index.get(&value) {
            return i;
        }
        let i = u32::try_from(self.values.len()).expect("fewer than 2^32 values");
        self.values.push(value.clone());
        self.value_index.insert(value, i);
        i
    }

    /// Adds `name` to the keys table if missing; its index.
    pub fn key(&mut self, name: &'v str) -> u32 {
        self.key_index(name)
    }

    /// Appends a value to the values table without looking for an equal one; its index. For
    /// callers that deduplicate values themselves (see [`super::dictionary`]).
    pub fn push_value(&mut self, value: Value<'v>) -> u32 {
        let i = u32::try_from(self.values.len()).expect("fewer than 2^32 values");
        self.values.push(value);
        i
    }

    /// Adds a feature with integer `id`, geometry commands of type `kind`, and properties
    /// (deduplicated into the keys and values tables). Empty geometry is not written.
    pub fn feature(
        &mut self,
        id: u64,
        kind: GeomType,
        geometry: &Geometry,
        properties: impl IntoIterator<Item = (&'v str, Value<'v>)>,
    ) {
        let mut tags = std::mem::take(&mut self.tags);
        tags.clear();
        for (name, value) in properties {
            tags.push(self.key_index(name));
            tags.push(self.value_index(value));
        }
        self.feature_tags(id, kind, geometry, &tags);
        self.tags = tags;
    }

    /// Adds a feature whose tags are already indices into this layer's keys and values tables
    /// (pairs of key, value). Empty geometry is not written.
    pub fn feature_tags(&mut self, id: u64, kind: GeomType, geometry: &Geometry, tags: &[u32]) {
        if geometry.is_empty() {
            return;
        }
        let commands = geometry.commands();
        let body_len = 1
            + varint_len(id)
            + if tags.is_empty() {
                0
            } else {
                packed_len(2, tags)
            }
            + 2
            + packed_len(4, commands);
        let out = &mut self.tile.features;
        write_varint(out, key(2, WIRE_LEN));
        write_varint(out, body_len as u64);
        write_varint(out, key(1, WIRE_VARINT));
        write_varint(out, id);
        if !tags.is_empty() {
            write_packed(out, 2, tags);
        }
        write_varint(out, key(3, WIRE_VARINT));
        write_varint(out, kind as u64);
        write_packed(out, 4, commands);
        self.count += 1;
    }

    /// Writes the layer into the tile (nothing when it has no feature).
    pub fn finish(self) {
        if self.count == 0 {
            return;
        }
        let TileEncoder {
            tile,
            layer,
            features,
        } = self.tile;
        layer.clear();
        write_varint(layer, key(15, WIRE_VARINT));
        write_varint(layer, u64::from(VERSION));
        write_bytes_field(layer, 1, self.name.as_bytes());
        layer.extend_from_slice(features);
        for k in &self.keys {
            write_bytes_field(layer, 3, k.as_bytes());
        }
        let mut value = Vec::with_capacity(32);
        for v in &self.values {
            value.clear();
            match v {
                Value::String(s) => write_bytes_field(&mut value, 1, s.as_bytes()),
                Value::Double(d) => {
                    write_varint(&mut value, key(3, WIRE_FIXED64));
                    value.extend_from_slice(&d.to_le_bytes());
                }
                Value::Int(i) if *i < 0 => {
                    write_varint(&mut value, key(6, WIRE_VARINT));
                    write_varint(&mut value, zigzag64(*i));
                }
                Value::Int(i) => {
                    write_varint(&mut value, key(5, WIRE_VARINT));
                    write_varint(&mut value, i.unsigned_abs());
                }
                Value::Bool(b) => {
                    write_varint(&mut value, key(7, WIRE_VARINT));
                    write_varint(&mut value, u64::from(*b));
                }
            }
            write_bytes_field(layer, 4, &value);
        }
        write_varint(layer, key(5, WIRE_VARINT));
        write_varint(layer, u64::from(EXTENT));
        write_bytes_field(tile, 3, layer);
    }
}

#[expect(clippy::cast_sign_loss, reason = "zigzag is a bit reinterpretation")]
fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[expect(
    clippy::cast_possible_wrap,
    reason = "zigzag is a bit reinterpretation"
)]
fn unzigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

// --- decoder -----------------------------------------------------------------------------------

/// A tile that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end inside a field.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// A wire type this format does not use.
    #[error("unsupported wire type {wire} at byte {at}")]
    WireType {
        /// The wire type.
        wire: u64,
        /// Where.
        at: usize,
    },
    /// A structure that breaks the MVT rules (bad command, tag index out of range, bad UTF-8).
    #[error("invalid tile: {0}")]
    Invalid(String),
}

/// A decoded property value.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodedValue {
    /// `string_value`.
    String(String),
    /// `float_value`.
    Float(f32),
    /// `double_value`.
    Double(f64),
    /// `int_value`.
    Int(i64),
    /// `uint_value`.
    Uint(u64),
    /// `sint_value`.
    Sint(i64),
    /// `bool_value`.
    Bool(bool),
}

impl DecodedValue {
    /// The text, for string values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer, for integer values.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) | Self::Sint(i) => Some(*i),
            Self::Uint(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }
}

/// A decoded feature.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFeature {
    /// The feature id, when present.
    pub id: Option<u64>,
    /// 0 unknown, 1 point, 2 line, 3 polygon.
    pub kind: u32,
    /// Properties by key.
    pub properties: Vec<(String, DecodedValue)>,
    /// Parts in tile coordinates: points (one per part), lines, or rings (without the closing
    /// point).
    pub parts: Vec<Vec<[i32; 2]>>,
}

impl DecodedFeature {
    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&DecodedValue> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A decoded layer.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedLayer {
    /// The layer's name.
    pub name: String,
    /// Its version.
    pub version: u32,
    /// Its extent.
    pub extent: u32,
    /// The keys table.
    pub keys: Vec<String>,
    /// The values table.
    pub values: Vec<DecodedValue>,
    /// The features.
    pub features: Vec<DecodedFeature>,
}

/// Twice the signed area of a ring in tile coordinates (y down): positive for an exterior ring
/// as MVT 2.1 wants it (clockwise on screen), negative for a hole.
pub fn ring_area2(ring: &[[i32; 2]]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let [x0, y0] = ring[i];
            let [x1, y1] = ring[(i + 1) % n];
            i64::from(x0) * i64::from(y1) - i64::from(x1) * i64::from(y0)
        })
        .sum()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or(DecodeError::Truncated(self.at))?;
            self.at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError::Invalid(format!(
            "varint too long at {}",
            self.at
        )))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(DecodeError::Truncated(self.at))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// The next field: number, and its payload as a varint value or bytes.
    fn field(&mut self) -> Result<(u64, Payload<'a>), DecodeError> {
        let at = self.at;
        let k = self.varint()?;
        let payload = match k & 7 {
            0 => Payload::Varint(self.varint()?),
            1 => Payload::Fixed(self.take(8)?),
            2 => {
                let n =
                    usize::try_from(self.varint()?).map_err(|_| DecodeError::Truncated(self.at))?;
                Payload::Bytes(self.take(n)?)
            }
            5 => Payload::Fixed(self.take(4)?),
            wire => return Err(DecodeError::WireType { wire, at }),
        };
        Ok((k >> 3, payload))
    }
}

enum Payload<'a> {
    Varint(u64),
    Fixed(&'a [u8]),
    Bytes(&'a [u8]),
}

fn text(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| DecodeError::Invalid(e.to_string()))
}

fn packed(bytes: &[u8]) -> Result<Vec<u32>, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    let mut out = Vec::new();
    while !r.done() {
        out.push(
            u32::try_from(r.varint()?)
                .map_err(|_| DecodeError::Invalid("packed value above 2^32".into()))?,
        );
    }
    Ok(out)
}

/// Decodes a tile.
///
/// ```
/// use citygrid::tiles::mvt::{decode, Geometry, GeomType, TileEncoder, Value};
/// let mut tile = TileEncoder::default();
/// let mut layer = tile.layer("pois");
/// let mut g = Geometry::default();
/// g.points(&[[10, 20]]);
/// layer.feature(7, GeomType::Point, &g, [("name", Value::String("井".into()))]);
/// layer.finish();
/// let layers = decode(&tile.finish()).unwrap();
/// assert_eq!(layers[0].features[0].parts, [vec![[10, 20]]]);
/// assert_eq!(layers[0].features[0].property("name").unwrap().as_str(), Some("井"));
/// ```
pub fn decode(bytes: &[u8]) -> Result<Vec<DecodedLayer>, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    let mut layers = Vec::new();
    while !r.done() {
        if let (3, Payload::Bytes(layer)) = r.field()? {
            layers.push(decode_layer(layer)?);
        }
    }
    Ok(layers)
}

fn decode_layer(bytes: &[u8]) -> Result<DecodedLayer, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    let mut layer = DecodedLayer {
        name: String::new(),
        version: 1,
        extent: EXTENT,
        keys: Vec::new(),
        values: Vec::new(),
        features: Vec::new(),
    };
    let mut raw_features = Vec::new();
    while !r.done() {
        match r.field()? {
            (15, Payload::Varint(v)) => layer.version = u32::try_from(v).unwrap_or(u32::MAX),
            (1, Payload::Bytes(b)) => layer.name = text(b)?,
            (2, Payload::Bytes(b)) => raw_features.push(b),
            (3, Payload::Bytes(b)) => layer.keys.push(text(b)?),
            (4, Payload::Bytes(b)) => layer.values.push(decode_value(b)?),
            (5, Payload::Varint(v)) => layer.extent = u32::try_from(v).unwrap_or(u32::MAX),
            _ => {}
        }
    }
    for raw in raw_features {
        let feature = decode_feature(raw, &layer)?;
        layer.features.push(feature);
    }
    Ok(layer)
}

fn decode_value(bytes: &[u8]) -> Result<DecodedValue, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    let mut value = None;
    while !r.done() {
        value = Some(match r.field()? {
            (1, Payload::Bytes(b)) => DecodedValue::String(text(b)?),
            (2, Payload::Fixed(b)) if b.len() == 4 => {
                DecodedValue::Float(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            (3, Payload::Fixed(b)) if b.len() == 8 => DecodedValue::Double(f64::from_le_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            ])),
            #[expect(clippy::cast_possible_wrap, reason = "int_value is two's complement")]
            (4, Payload::Varint(v)) => DecodedValue::Int(v as i64),
            (5, Payload::Varint(v)) => DecodedValue::Uint(v),
            (6, Payload::Varint(v)) => DecodedValue::Sint(unzigzag64(v)),
            (7, Payload::Varint(v)) => DecodedValue::Bool(v != 0),
            _ => return Err(DecodeError::Invalid("unknown value field".into())),
        });
    }
    value.ok_or_else(|| DecodeError::Invalid("empty value".into()))
}

fn decode_feature(bytes: &[u8], layer: &DecodedLayer) -> Result<DecodedFeature, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    let mut feature = DecodedFeature {
        id: None,
        kind: 0,
        properties: Vec::new(),
        parts: Vec::new(),
    };
    let mut commands = Vec::new();
    while !r.done() {
        match r.field()? {
            (1, Payload::Varint(v)) => feature.id = Some(v),
            (2, Payload::Bytes(b)) => {
                let tags = packed(b)?;
                if tags.len() % 2 != 0 {
                    return Err(DecodeError::Invalid("odd number of tags".into()));
                }
                for pair in tags.chunks_exact(2) {
                    let k = layer.keys.get(pair[0] as usize);
                    let v = layer.values.get(pair[1] as usize);
                    let (Some(k), Some(v)) = (k, v) else {
                        return Err(DecodeError::Invalid(format!("tag {pair:?} out of range")));
                    };
                    feature.properties.push((k.clone(), v.clone()));
                }
            }
            (3, Payload::Varint(v)) => feature.kind = u32::try_from(v).unwrap_or(0),
            (4, Payload::Bytes(b)) => commands = packed(b)?,
            _ => {}
        }
    }
    feature.parts = decode_geometry(&commands, feature.kind)?;
    Ok(feature)
}

fn decode_geometry(commands: &[u32], kind: u32) -> Result<Vec<Vec<[i32; 2]>>, DecodeError> {
    let mut parts: Vec<Vec<[i32; 2]>> = Vec::new();
    let mut cursor = [0i32, 0i32];
    let mut i = 0;
    let bad = |what: &str| DecodeError::Invalid(format!("geometry: {what}"));
    while i < commands.len() {
        let (id, count) = (commands[i] & 7, (commands[i] >> 3) as usize);
        i += 1;
        match id {
            MOVE_TO | LINE_TO => {
                if id == LINE_TO && parts.is_empty() {
                    return Err(bad("LineTo before MoveTo"));
                }
                if count == 0 {
                    return Err(bad("command with count 0"));
                }
                for _ in 0..count {
                    let (Some(&dx), Some(&dy)) = (commands.get(i), commands.get(i + 1)) else {
                        return Err(bad("missing parameters"));
                    };
                    i += 2;
                    cursor = [
                        cursor[0].wrapping_add(unzigzag(dx)),
                        cursor[1].wrapping_add(unzigzag(dy)),
                    ];
                    if id == MOVE_TO {
                        parts.push(vec![cursor]);
                    } else if let Some(part) = parts.last_mut() {
                        part.push(cursor);
                    }
                }
            }
            CLOSE_PATH => {
                if kind != GeomType::Polygon as u32 || count != 1 {
                    return Err(bad("ClosePath outside a polygon ring"));
                }
            }
            other => return Err(bad(&format!("unknown command {other}"))),
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_examples() {
        let mut out = Vec::new();
        write_varint(&mut out, 1);
        write_varint(&mut out, 300);
        write_varint(&mut out, 0);
        assert_eq!(out, [0x01, 0xac, 0x02, 0x00]);
        for v in [
            0,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            assert_eq!(Reader { bytes: &out, at: 0 }.varint(), Ok(v));
        }
    }

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_numbers() {
        assert_eq!(
            [0, -1, 1, -2, 2].map(zigzag),
            [0, 1, 2, 3, 4],
            "the protobuf table"
        );
        assert_eq!(zigzag(i32::MAX), u32::MAX - 1);
        assert_eq!(zigzag(i32::MIN), u32::MAX);
        for v in [0, 1, -1, 4095, -4096, i32::MAX, i32::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        for v in [0, -3, 3, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag64(zigzag64(v)), v);
        }
    }

    #[test]
    fn geometry_commands_match_the_specification_examples() {
        // MVT 2.1 §4.3.5: a polygon ring (3,6) (8,12) (20,34).
        let mut g = Geometry::default();
        g.ring(&[[3, 6], [8, 12], [20, 34]]);
        assert_eq!(g.commands(), [9, 6, 12, 18, 10, 12, 24, 44, 15]);
        // §4.3.5 multi point: (5,7) (3,2).
        let mut g = Geometry::default();
        g.points(&[[5, 7], [3, 2]]);
        assert_eq!(g.commands(), [17, 10, 14, 3, 9]);
        // §4.3.5 multi line string: the cursor carries over to the second line.
        let mut g = Geometry::default();
        g.line(&[[2, 2], [2, 10], [10, 10]]);
        g.line(&[[1, 1], [3, 5]]);
        assert_eq!(
            g.commands(),
            [9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]
        );
    }

    #[test]
    fn keys_and_values_are_written_once_per_layer() {
        let mut tile = TileEncoder::default();
        let mut layer = tile.layer("manholes");
        let mut g = Geometry::default();
        for (id, status) in [(1, "intact"), (2, "damaged"), (3, "intact")] {
            g.clear();
            g.points(&[[100, 200]]);
            layer.feature(
                id,
                GeomType::Point,
                &g,
                [
                    ("status", Value::String(status.into())),
                    ("diameter_mm", Value::Int(700)),
                    ("depth_m", Value::Double(-1.5)),
                    ("synthetic", Value::Bool(true)),
                    ("offset", Value::Int(-3)),
                ],
            );
        }
        layer.finish();
        let layers = decode(&tile.finish()).unwrap();
        let layer = &layers[0];
        assert_eq!(
            (layer.name.as_str(), layer.version, layer.extent),
            ("manholes", 2, 4096)
        );
        assert_eq!(
            layer.keys,
            ["status", "diameter_mm", "depth_m", "synthetic", "offset"]
        );
        assert_eq!(
            layer.values,
            [
                DecodedValue::String("intact".into()),
                DecodedValue::Uint(700),
                DecodedValue::Double(-1.5),
                DecodedValue::Bool(true),
                DecodedValue::Sint(-3),
                DecodedValue::String("damaged".into()),
            ]
        );
        let ids: Vec<_> = layer.features.iter().map(|f| f.id).collect();
        assert_eq!(ids, [Some(1), Some(2), Some(3)]);
        assert_eq!(
            layer.features[1].property("status").unwrap().as_str(),
            Some("damaged")
        );
        assert_eq!(
            layer.features[2].property("offset").unwrap().as_i64(),
            Some(-3)
        );
    }

    #[test]
    fn a_layer_without_features_is_left_out_and_an_empty_tile_has_no_bytes() {
        let mut tile = TileEncoder::default();
        let mut layer = tile.layer("empty");
        layer.feature(1, GeomType::Point, &Geometry::default(), []);
        assert!(layer.is_empty());
        layer.finish();
        assert!(tile.is_empty());
        assert!(tile.finish().is_empty());
    }

    #[test]
    fn polygons_round_trip_with_their_winding() {
        let mut tile = TileEncoder::default();
        let mut layer = tile.layer("parks");
        let mut g = Geometry::default();
        let exterior = [[0, 0], [10, 0], [10, 10], [0, 10]];
        let hole = [[2, 2], [2, 8], [8, 8], [8, 2]];
        g.ring(&exterior);
        g.ring(&hole);
        layer.feature(42, GeomType::Polygon, &g, []);
        layer.finish();
        let layers = decode(&tile.finish()).unwrap();
        let f = &layers[0].features[0];
        assert_eq!((f.id, f.kind), (Some(42), 3));
        assert_eq!(f.parts, [exterior.to_vec(), hole.to_vec()]);
        assert!(ring_area2(&f.parts[0]) > 0, "exterior clockwise, y down");
        assert!(ring_area2(&f.parts[1]) < 0, "hole counter-clockwise");
    }

    #[test]
    fn truncated_or_malformed_tiles_are_errors_not_panics() {
        let mut tile = TileEncoder::default();
        let mut layer = tile.layer("x");
        let mut g = Geometry::default();
        g.line(&[[0, 0], [5, 5]]);
        layer.feature(1, GeomType::LineString, &g, [("k", Value::Int(1))]);
        layer.finish();
        let bytes = tile.finish();
        for cut in 1..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(
            decode(&[0x1b]),
            Err(DecodeError::WireType { wire: 3, .. })
        ));
    }
}
