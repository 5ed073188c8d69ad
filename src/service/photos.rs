//! Case photos: checked by content, cleaned of metadata that can carry a location, stored
//! content-addressed on disk outside the database.
//!
//! A photo is accepted only if its bytes are a JPEG, PNG or WebP image whose container parses
//! (whatever name or media type it was sent with): JPEG from SOI through a frame header (SOF) and
//! every scan to EOI; PNG with its signature, IHDR first, IDAT, IEND last and every chunk's CRC
//! right; WebP as a RIFF/WEBP file whose first chunk is VP8, VP8L or VP8X with image data.
//!
//! Cleaning rewrites the container only, never the pixels: the compressed image data are copied
//! byte for byte, so the picture is exactly the one taken. What survives is an allow-list of the
//! structures needed to show the picture right — JPEG: frame, tables, scans, JFIF APP0, ICC
//! profile APP2, Adobe APP14; PNG: critical chunks, colour and transparency chunks (tRNS, cHRM,
//! gAMA, iCCP, sBIT, sRGB, cICP, mDCV, cLLI, bKGD, hIST, pHYs, sPLT) and APNG animation; WebP:
//! VP8X, VP8, VP8L, ALPH, ANIM, ANMF, ICCP. Everything else goes: Exif (with GPS), XMP (also
//! extended XMP), IPTC/Photoshop APP13, comments, MPF and any data after a JPEG's EOI (phones
//! append preview images there, each with its own Exif), PNG text chunks (tEXt, zTXt, iTXt),
//! eXIf and tIME, private chunks, and unknown chunks inside WebP animation frames. The WebP
//! VP8X flags are brought in line with the chunks kept.
//!
//! Trade-off: Exif also says which way up the camera was held. Dropping it whole would show
//! portrait photos on their side, so the Orientation value (when other than 1, "upright") is
//! kept in a new minimal Exif of a single tag, written from scratch; nothing else of the original
//! Exif (date, camera, GPS) is copied. The colour profile is kept too: without it colours shift.
//!
//! Photos are stored under their SHA-256 (of the cleaned bytes) as `dir/ab/abcdef…`, written to
//! a temporary file in the same directory, flushed to disk and renamed into place, so a reader
//! never sees a partial photo; storing the same photo again finds it and writes nothing.

use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::png::{Png, PngChunk};
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::WebP;
use sha2::{Digest as _, Sha256};

/// The largest photo accepted, in bytes (10 MiB).
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;

/// The most pixels an accepted photo may claim (50 megapixels: beyond any phone camera). Read
/// from the header (JPEG SOF, PNG IHDR, WebP VP8X/VP8/VP8L) without decoding: a small file can
/// claim gigapixels and make every viewer that decodes it allocate gigabytes.
pub const MAX_PIXELS: u64 = 50_000_000;

/// The most photos one case report carries.
pub const MAX_PHOTOS_PER_CASE: usize = 6;

/// An accepted photo format, told by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhotoType {
    /// JPEG (JFIF or Exif).
    Jpeg,
    /// PNG, including animated PNG.
    Png,
    /// WebP, lossy or lossless, simple or extended.
    Webp,
}

impl PhotoType {
    /// The media type served with a photo of this type.
    ///
    /// ```
    /// use citygrid::service::photos::PhotoType;
    /// assert_eq!(PhotoType::Webp.media_type(), "image/webp");
    /// ```
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    /// The file name extension of a photo of this type.
    ///
    /// ```
    /// use citygrid::service::photos::PhotoType;
    /// assert_eq!(PhotoType::Jpeg.extension(), "jpg");
    /// ```
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    /// The type the magic bytes at the start of `data` announce, without checking the rest.
    ///
    /// ```
    /// use citygrid::service::photos::PhotoType;
    /// assert_eq!(PhotoType::sniff(b"\xff\xd8\xff\xe0"), Some(PhotoType::Jpeg));
    /// assert_eq!(PhotoType::sniff(b"GIF89a"), None);
    /// ```
    pub fn sniff(data: &[u8]) -> Option<Self> {
        if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if data.starts_with(PNG_SIGNATURE) {
            Some(Self::Png)
        } else if data.len() >= 12 && data.starts_with(b"RIFF") && &data[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }
}

/// A stored photo, as a case refers to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhotoRef {
    /// SHA-256 of the stored (cleaned) bytes, 64 lowercase hexadecimal digits: the photo's id.
    pub sha256: String,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub media_type: String,
    /// Size of the stored bytes.
    pub bytes: u64,
}

/// A photo refused or not stored.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The photo is larger than [`MAX_PHOTO_BYTES`].
    #[error("the photo is {bytes} bytes; at most {limit} bytes (10 MB) are accepted")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The content is not a JPEG, PNG or WebP image, whatever type it was sent as.
    #[error(
        "the photo is not a JPEG, PNG or WebP image{}",
        detected.as_ref().map(|d| format!(" (its content is {d})")).unwrap_or_default()
    )]
    Unsupported {
        /// The media type the content looks like, when recognised.
        detected: Option<String>,
    },
    /// The content starts as a JPEG, PNG or WebP image but its structure does not parse.
    #[error("the photo is not a valid image: {reason}")]
    Corrupt {
        /// What is wrong, naming the format.
        reason: String,
    },
    /// The image header claims more pixels than [`MAX_PIXELS`].
    #[error(
        "the photo claims {width} × {height} pixels; at most {limit} pixels (50 megapixels) are accepted"
    )]
    TooManyPixels {
        /// The width its header claims.
        width: u64,
        /// The height its header claims.
        height: u64,
        /// The limit.
        limit: u64,
    },
    /// A photo id that is not 64 lowercase hexadecimal digits.
    #[error("{0:?} is not a photo id (64 lowercase hexadecimal digits)")]
    BadId(String),
    /// Reading or writing the photo directory failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn corrupt(reason: impl Into<String>) -> PhotoError {
    PhotoError::Corrupt {
        reason: reason.into(),
    }
}

/// Refuses an image whose header claims more than [`MAX_PIXELS`].
fn check_pixels(width: u64, height: u64) -> Result<(), PhotoError> {
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit: MAX_PIXELS,
        });
    }
    Ok(())
}

fn check_size(bytes: usize) -> Result<(), PhotoError> {
    if bytes > MAX_PHOTO_BYTES {
        return Err(PhotoError::TooLarge {
            bytes,
            limit: MAX_PHOTO_BYTES,
        });
    }
    Ok(())
}

/// Checks that `data` is a JPEG, PNG or WebP image and returns its type and the same image
/// without metadata that can carry a location (see the module documentation). The size is
/// checked first, before anything is copied.
///
/// ```
/// use citygrid::service::photos::{PhotoError, clean};
/// assert!(matches!(clean(b"GIF89a\x01\x00\x01\x00"),
///     Err(PhotoError::Unsupported { detected: Some(t) }) if t == "image/gif"));
/// ```
pub fn clean(data: &[u8]) -> Result<(PhotoType, Vec<u8>), PhotoError> {
    check_size(data.len())?;
    clean_bytes(Bytes::copy_from_slice(data))
}

/// [`clean`] without copying the input.
fn clean_bytes(data: Bytes) -> Result<(PhotoType, Vec<u8>), PhotoError> {
    check_size(data.len())?;
    let Some(kind) = PhotoType::sniff(&data) else {
        return Err(PhotoError::Unsupported {
            detected: detect(&data).map(str::to_owned),
        });
    };
    let cleaned = match kind {
        PhotoType::Jpeg => clean_jpeg(&data),
        PhotoType::Png => clean_png(data),
        PhotoType::Webp => clean_webp(data),
    }?;
    Ok((kind, cleaned))
}

/// What a refused file looks like, for the message: common formats people try to send.
fn detect(data: &[u8]) -> Option<&'static str> {
    let head = &data[..data.len().min(1024)];
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if head.starts_with(b"BM") && head.len() >= 14 {
        return Some("image/bmp");
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Some("image/tiff");
    }
    if head.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    if head.starts_with(b"PK\x03\x04") {
        return Some("application/zip");
    }
    if head.get(4..8) == Some(b"ftyp") {
        return match head.get(8..12) {
            Some(b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1") => {
                Some("image/heic")
            }
            Some(b"avif" | b"avis") => Some("image/avif"),
            _ => Some("video/mp4"),
        };
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Cut inside a character at the end of the 1 KiB window: still text.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    if text.is_empty()
        || text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return None;
    }
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if start.starts_with("<svg") || (start.starts_with("<?xml") && text.contains("<svg")) {
        Some("image/svg+xml")
    } else {
        Some("text/plain")
    }
}

// ---- JPEG ----

/// `APPn` segments kept, by the signature their contents start with: JFIF (APP0), ICC profile
/// (APP2), Adobe colour transform (APP14). Every other `APPn` and COM segment is dropped.
fn keep_jpeg_app(segment: &JpegSegment) -> bool {
    let contents = segment.contents();
    match segment.marker() {
        markers::APP0 => contents.starts_with(b"JFIF\0"),
        markers::APP2 => contents.starts_with(b"ICC_PROFILE\0"),
        markers::APP14 => contents.starts_with(b"Adobe"),
        _ => false,
    }
}

fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, markers::DHT | markers::JPG | markers::DAC)
}

fn clean_jpeg(data: &Bytes) -> Result<Vec<u8>, PhotoError> {
    let input_len = data.len();
    let mut jpeg = Jpeg::from_bytes(data.clone()).map_err(|e| corrupt(format!("JPEG: {e}")))?;
    // img-parts parses up to the first scan and keeps the rest of the file, unparsed, as that
    // scan's entropy-coded data; the scans are walked below.
    let mut frame = false;
    let mut orientation = None;
    for segment in jpeg.segments() {
        match segment.marker() {
            markers::SOS if !frame => {
                return Err(corrupt(
                    "JPEG: a scan (SOS) comes before any frame header (SOF)",
                ));
            }
            markers::SOS | markers::DHT | markers::DAC | markers::DQT | markers::DRI => {}
            m if is_sof(m) => {
                // Precision, then height and width, big-endian. A height of 0 is given later
                // (DNL) and can be up to 65535: counted as the most it can be.
                let contents = segment.contents();
                if contents.len() < 5 {
                    return Err(corrupt("JPEG: a frame header (SOF) shorter than 5 bytes"));
                }
                let height = u64::from(u16::from_be_bytes([contents[1], contents[2]]));
                let width = u64::from(u16::from_be_bytes([contents[3], contents[4]]));
                check_pixels(width, if height == 0 { 65_535 } else { height })?;
                frame = true;
            }
            markers::APP1 if orientation.is_none() => {
                orientation = segment
                    .contents()
                    .strip_prefix(b"Exif\0\0")
                    .and_then(exif_orientation);
            }
            markers::APP0..=markers::APP15 | markers::COM => {}
            m => {
                return Err(corrupt(format!(
                    "JPEG: unsupported marker 0xFF{m:02X} before the first scan"
                )));
            }
        }
    }
    let Some(scan) = jpeg
        .segments()
        .last()
        .filter(|s| s.marker() == markers::SOS)
    else {
        return Err(corrupt(
            "JPEG: no image data (SOS) before the end of the image",
        ));
    };
    let entropy_len = scan.len_with_entropy() - scan.len();
    let scans = jpeg_scans(&data.slice(input_len - entropy_len..))?;
    let last_scan = JpegSegment::new_with_entropy(markers::SOS, scan.contents().clone(), scans);

    let segments = jpeg.segments_mut();
    segments.pop();
    segments.retain(|s| {
        !matches!(s.marker(), markers::APP0..=markers::APP15 | markers::COM) || keep_jpeg_app(s)
    });
    if let Some(value) = orientation {
        let at = usize::from(
            segments
                .first()
                .is_some_and(|s| s.marker() == markers::APP0),
        );
        let mut contents = BytesMut::from(&b"Exif\0\0"[..]);
        contents.extend_from_slice(&orientation_exif(value));
        segments.insert(
            at,
            JpegSegment::new_with_contents(markers::APP1, contents.freeze()),
        );
    }
    segments.push(last_scan);
    let mut out = Vec::with_capacity(jpeg.len());
    jpeg.encoder().write_to(&mut out)?;
    Ok(out)
}

/// Walks the entropy-coded data after the first scan header, through later scans and the tables
/// between them, to EOI. Returns those bytes through EOI, without the `APPn` and COM segments
/// between scans and without anything after EOI.
fn jpeg_scans(tail: &Bytes) -> Result<Bytes, PhotoError> {
    let truncated = || corrupt("JPEG: truncated (the image data end before the EOI marker)");
    let segment_end = |at: usize| -> Result<usize, PhotoError> {
        let length = tail.get(at..at + 2).ok_or_else(truncated)?;
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 || at + length > tail.len() {
            return Err(truncated());
        }
        Ok(at + length)
    };
    let mut kept: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    let mut at = 0;
    loop {
        let ff = at
            + tail[at..]
                .iter()
                .position(|&b| b == 0xFF)
                .ok_or_else(truncated)?;
        let mut m = ff + 1;
        while tail.get(m) == Some(&0xFF) {
            m += 1; // fill bytes
        }
        let marker = *tail.get(m).ok_or_else(truncated)?;
        match marker {
            // A stuffed 0xFF data byte, or a restart marker inside a scan.
            0x00 | markers::RST0..=markers::RST7 => at = m + 1,
            markers::EOI => {
                kept.push(start..m + 1);
                break;
            }
            markers::SOS
            | markers::DHT
            | markers::DAC
            | markers::DQT
            | markers::DRI
            | markers::DNL => at = segment_end(m + 1)?,
            markers::APP0..=markers::APP15 | markers::COM => {
                kept.push(start..ff);
                start = segment_end(m + 1)?;
                at = start;
            }
            other => {
                return Err(corrupt(format!(
                    "JPEG: unsupported marker 0xFF{other:02X} after the first scan"
                )));
            }
        }
    }
    if let [range] = kept.as_slice() {
        return Ok(tail.slice(range.clone()));
    }
    let mut joined = BytesMut::with_capacity(kept.iter().map(ExactSizeIterator::len).sum());
    for range in kept {
        joined.extend_from_slice(&tail[range]);
    }
    Ok(joined.freeze())
}

// ---- PNG ----

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Chunks kept: the critical ones, colour, transparency and pixel size, and APNG animation.
const PNG_KEPT: [&[u8; 4]; 20] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
    b"cICP", b"mDCV", b"cLLI", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"acTL", b"fcTL", b"fdAT",
];

fn clean_png(data: Bytes) -> Result<Vec<u8>, PhotoError> {
    let mut png = Png::from_bytes(data).map_err(|e| corrupt(format!("PNG: {e}")))?;
    let chunks = png.chunks();
    if chunks
        .first()
        .is_none_or(|c| &c.kind() != b"IHDR" || c.contents().len() != 13)
    {
        return Err(corrupt("PNG: the first chunk is not a 13-byte IHDR"));
    }
    let ihdr = chunks[0].contents();
    check_pixels(
        u64::from(u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]])),
        u64::from(u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]])),
    )?;
    if chunks.last().is_none_or(|c| &c.kind() != b"IEND") {
        return Err(corrupt("PNG: truncated (no IEND chunk)"));
    }
    if !chunks.iter().any(|c| &c.kind() == b"IDAT") {
        return Err(corrupt("PNG: no image data (IDAT)"));
    }
    let mut orientation = None;
    for chunk in chunks {
        let kind = chunk.kind();
        // Bit 5 of the first letter clear: critical, a decoder must understand it.
        if kind[0] & 0x20 == 0 && !PNG_KEPT.contains(&&kind) {
            return Err(corrupt(format!(
                "PNG: unknown critical chunk {:?}",
                String::from_utf8_lossy(&kind)
            )));
        }
        if &kind == b"eXIf" && orientation.is_none() {
            orientation = exif_orientation(chunk.contents());
        }
    }
    let chunks = png.chunks_mut();
    chunks.retain(|c| PNG_KEPT.contains(&&c.kind()));
    if let Some(value) = orientation {
        let idat = chunks
            .iter()
            .position(|c| &c.kind() == b"IDAT")
            .expect("an IDAT chunk was checked for");
        chunks.insert(
            idat,
            PngChunk::new(*b"eXIf", Bytes::from(orientation_exif(value))),
        );
    }
    let mut out = Vec::with_capacity(png.len());
    png.encoder().write_to(&mut out)?;
    Ok(out)
}

// ---- WebP ----

/// Chunks kept at the top level of a WebP file.
const WEBP_KEPT: [&[u8; 4]; 7] = [
    b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
/// VP8X flags: ICC profile, alpha, Exif, XMP, animation.
const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;
const VP8X_ANIMATION: u8 = 0x02;

fn clean_webp(data: Bytes) -> Result<Vec<u8>, PhotoError> {
    let mut webp = WebP::from_bytes(data).map_err(|e| corrupt(format!("WebP: {e}")))?;
    let data_of = |chunk: &RiffChunk| -> Result<Bytes, PhotoError> {
        chunk.content().data().cloned().ok_or_else(|| {
            corrupt(format!(
                "WebP: chunk {:?} is a list",
                String::from_utf8_lossy(&chunk.id())
            ))
        })
    };
    let chunks = webp.chunks();
    let Some(first) = chunks.first() else {
        return Err(corrupt("WebP: no chunks"));
    };
    let vp8x = if &first.id() == b"VP8X" {
        let header = data_of(first)?;
        if header.len() < 10 {
            return Err(corrupt("WebP: the VP8X chunk is shorter than 10 bytes"));
        }
        // Canvas width and height minus one, 24 bits little-endian each.
        check_pixels(
            u64::from(u32::from_le_bytes([header[4], header[5], header[6], 0])) + 1,
            u64::from(u32::from_le_bytes([header[7], header[8], header[9], 0])) + 1,
        )?;
        let animated = header[0] & VP8X_ANIMATION != 0;
        let has_image = chunks
            .iter()
            .any(|c| matches!(&c.id(), b"VP8 " | b"VP8L") || (animated && &c.id() == b"ANMF"));
        if !has_image {
            return Err(corrupt("WebP: no image data (VP8, VP8L or ANMF chunk)"));
        }
        Some(header)
    } else if matches!(&first.id(), b"VP8 " | b"VP8L") {
        None
    } else {
        return Err(corrupt("WebP: the first chunk is not VP8, VP8L or VP8X"));
    };
    let mut orientation = None;
    for chunk in chunks {
        match &chunk.id() {
            b"VP8 " => check_vp8(&data_of(chunk)?)?,
            b"VP8L" => check_vp8l(&data_of(chunk)?)?,
            b"EXIF" if orientation.is_none() => {
                let exif = data_of(chunk)?;
                // The format says raw TIFF; some writers put the JPEG "Exif\0\0" prefix first.
                orientation = exif_orientation(exif.strip_prefix(b"Exif\0\0").unwrap_or(&exif));
            }
            _ => {}
        }
    }
    let mut frames = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        if &chunk.id() == b"ANMF" {
            frames.push((i, clean_webp_frame(&data_of(chunk)?)?));
        }
    }

    // Not `ImageEXIF::set_exif`: img-parts then rebuilds VP8X from scratch, dropping it (and
    // the alpha and animation flags) when no ICC profile or Exif is left.
    let chunks = webp.chunks_mut();
    for (i, frame) in frames {
        chunks[i] = RiffChunk::new(*b"ANMF", RiffContent::Data(frame));
    }
    chunks.retain(|c| WEBP_KEPT.contains(&&c.id()));
    if let Some(header) = vp8x {
        let mut header = BytesMut::from(&header[..]);
        header[0] &= !(VP8X_EXIF | VP8X_XMP);
        if let Some(value) = orientation {
            header[0] |= VP8X_EXIF;
            chunks.push(RiffChunk::new(
                *b"EXIF",
                RiffContent::Data(Bytes::from(orientation_exif(value))),
            ));
        }
        chunks[0] = RiffChunk::new(*b"VP8X", RiffContent::Data(header.freeze()));
    }
    let mut out = Vec::with_capacity(webp.len() as usize);
    webp.encoder().write_to(&mut out)?;
    Ok(out)
}

/// A VP8 (lossy) bitstream must start with a key frame and its start code; its size (14 bits
/// each after the start code) must be within [`MAX_PIXELS`].
fn check_vp8(data: &[u8]) -> Result<(), PhotoError> {
    if data.len() < 10 || data[0] & 1 != 0 || data[3..6] != [0x9D, 0x01, 0x2A] {
        return Err(corrupt(
            "WebP: the VP8 chunk does not start with a key frame",
        ));
    }
    check_pixels(
        u64::from(u16::from_le_bytes([data[6], data[7]]) & 0x3FFF),
        u64::from(u16::from_le_bytes([data[8], data[9]]) & 0x3FFF),
    )
}

/// A VP8L (lossless) bitstream starts with its signature byte, then width and height minus one
/// in 14 bits each (little-endian bit order); the size must be within [`MAX_PIXELS`].
fn check_vp8l(data: &[u8]) -> Result<(), PhotoError> {
    if data.len() < 5 || data[0] != 0x2F {
        return Err(corrupt("WebP: the VP8L chunk has no VP8L signature"));
    }
    let bits = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
    check_pixels(
        u64::from(bits & 0x3FFF) + 1,
        u64::from((bits >> 14) & 0x3FFF) + 1,
    )
}

/// One ANMF chunk's payload (16-byte frame header, then chunks) with only its ALPH, VP8 and VP8L
/// chunks: the format allows unknown chunks in a frame, and they could carry anything.
fn clean_webp_frame(frame: &Bytes) -> Result<Bytes, PhotoError> {
    if frame.len() < 16 {
        return Err(corrupt(
            "WebP: an ANMF chunk is shorter than its 16-byte header",
        ));
    }
    let mut kept = BytesMut::with_capacity(frame.len());
    kept.extend_from_slice(&frame[..16]);
    let mut image = false;
    let mut at = 16;
    while at < frame.len() {
        let header = frame
            .get(at..at + 8)
            .ok_or_else(|| corrupt("WebP: a chunk inside an ANMF frame is truncated"))?;
        let id = &header[..4];
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let end = at + 8 + len + len % 2;
        let body = frame
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| corrupt("WebP: a chunk inside an ANMF frame is truncated"))?;
        match id {
            b"VP8 " => check_vp8(body)?,
            b"VP8L" => check_vp8l(body)?,
            _ => {}
        }
        if matches!(id, b"ALPH" | b"VP8 " | b"VP8L") {
            image |= id != b"ALPH";
            kept.extend_from_slice(&frame[at..end.min(frame.len())]);
        }
        at = end;
    }
    if !image {
        return Err(corrupt("WebP: an ANMF frame has no image data"));
    }
    if kept.len() == frame.len() {
        return Ok(frame.clone());
    }
    Ok(kept.freeze())
}

// ---- Exif orientation ----

/// The Orientation tag (0x0112) of IFD0 in a TIFF-structured Exif block, when it is 2 to 8
/// (1 means upright and needs no Exif). Reads nothing but that one entry.
fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let big_endian = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |at: usize| {
        let b = tiff.get(at..at.checked_add(2)?)?;
        Some(if big_endian {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd0 = usize::try_from(u32_at(4)?).ok()?;
    let entries = u16_at(ifd0)?;
    for k in 0..usize::from(entries) {
        let entry = ifd0 + 2 + 12 * k;
        if u16_at(entry)? == 0x0112 {
            // SHORT, one value, stored in the entry itself.
            if u16_at(entry + 2)? != 3 || u32_at(entry + 4)? != 1 {
                return None;
            }
            return u16_at(entry + 8).filter(|v| (2..=8).contains(v));
        }
    }
    None
}

/// A TIFF-structured Exif block with IFD0 holding the Orientation tag only.
fn orientation_exif(value: u16) -> Vec<u8> {
    let mut tiff = Vec::with_capacity(26);
    tiff.extend_from_slice(b"MM\0*");
    tiff.extend_from_slice(&8_u32.to_be_bytes()); // IFD0 right after the header
    tiff.extend_from_slice(&1_u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112_u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3_u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1_u32.to_be_bytes()); // one value
    tiff.extend_from_slice(&value.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the value field
    tiff.extend_from_slice(&0_u32.to_be_bytes()); // no next IFD
    tiff
}

// ---- storage ----

/// The photo directory: cleaned photos stored under their SHA-256.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    dir: Arc<Path>,
}

impl PhotoStore {
    /// Opens the photo directory `dir`, creating it (and its parents) if missing.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir: PathBuf = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| with_path(&e, &dir))?;
        Ok(Self { dir: dir.into() })
    }

    /// A photo directory of its own under the system's temporary directory, created on the first
    /// photo stored: for tests and for states built without configuration.
    pub fn temporary() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("citygrid-photos-{}-{n}", std::process::id()));
        Self { dir: dir.into() }
    }

    /// The photo directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Checks `data` and stores it cleaned of location metadata ([`clean`]) as
    /// `dir/ab/abcdef…`, named by the SHA-256 of the cleaned bytes. The same photo stored again
    /// gets the same reference and is not rewritten. The work runs on the blocking thread pool.
    pub async fn put(&self, data: Bytes) -> Result<PhotoRef, PhotoError> {
        check_size(data.len())?;
        let dir = Arc::clone(&self.dir);
        blocking(move || store(&dir, data)).await?
    }

    /// A stored photo's bytes and type; `None` when no photo has this id.
    pub async fn get(&self, sha256: &str) -> Result<Option<(Bytes, PhotoType)>, PhotoError> {
        let path = self.path(sha256)?;
        let data = match tokio::fs::read(&path).await {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(with_path(&e, &path).into()),
        };
        let kind = PhotoType::sniff(&data).ok_or_else(|| {
            corrupt(format!(
                "the stored file {} is not a JPEG, PNG or WebP image",
                path.display()
            ))
        })?;
        Ok(Some((Bytes::from(data), kind)))
    }

    /// Deletes the stored photo `sha256`; nothing happens when there is none.
    pub async fn remove(&self, sha256: &str) -> Result<(), PhotoError> {
        let path = self.path(sha256)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(with_path(&e, &path).into()),
        }
    }

    /// Whether a photo with this id is stored.
    pub fn contains(&self, sha256: &str) -> Result<bool, PhotoError> {
        let path = self.path(sha256)?;
        match std::fs::metadata(&path) {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(with_path(&e, &path).into()),
        }
    }

    /// Where the photo `sha256` lives; refuses anything but 64 lowercase hexadecimal digits, so
    /// an id never names a path outside the directory (nor a temporary file).
    fn path(&self, sha256: &str) -> Result<PathBuf, PhotoError> {
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(PhotoError::BadId(sha256.to_owned()));
        }
        Ok(photo_path(&self.dir, sha256))
    }
}

fn photo_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(&sha256[..2]).join(sha256)
}

/// An I/O error that names the file it happened on.
fn with_path(e: &std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Cleans, hashes and writes one photo (blocking).
fn store(dir: &Path, data: Bytes) -> Result<PhotoRef, PhotoError> {
    let (kind, cleaned) = clean_bytes(data)?;
    let sha256 = hex::encode(Sha256::digest(&cleaned));
    let path = photo_path(dir, &sha256);
    let exists = path.try_exists().map_err(|e| with_path(&e, &path))?;
    if !exists {
        let shard = path.parent().expect("a photo path has a shard directory");
        std::fs::create_dir_all(shard).map_err(|e| with_path(&e, shard))?;
        // Same directory as the photo, so the rename is atomic; the name starts with a dot and
        // is no photo id. Dropped (and deleted) if anything below fails.
        let mut file = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(shard)
            .map_err(|e| with_path(&e, shard))?;
        file.write_all(&cleaned)
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| with_path(&e, file.path()))?;
        file.persist(&path)
            .map_err(|e| with_path(&e.error, &path))?;
        sync_dir(shard)?;
    }
    Ok(PhotoRef {
        sha256,
        media_type: kind.media_type().to_owned(),
        bytes: cleaned.len() as u64,
    })
}

/// Makes a rename in `dir` durable: the photo must outlive a crash once its case is recorded.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(&e, dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Runs `work` on the blocking thread pool; a panic there goes on in the caller.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PhotoError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(std::io::Error::other(format!("the photo task did not finish: {e}")).into()),
    }
}

#[cfg(test)]
mod tests;
