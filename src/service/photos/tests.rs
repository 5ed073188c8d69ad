//! Fixtures: `tests/fixtures/photos/make.py` (Pillow) wrote each `gps-*` file with location
//! metadata in every place its format allows, and beside it `*.clean.*`, the expected output
//! built independently and checked there to decode to the same pixels.

use super::*;
use proptest::prelude::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/photos/",
            $name
        ))
        .as_slice()
    };
}

const GPS_JPEG: &[u8] = fixture!("gps.jpg");
const GPS_JPEG_CLEAN: &[u8] = fixture!("gps.clean.jpg");
const GPS_PROGRESSIVE: &[u8] = fixture!("gps-progressive.jpg");
const GPS_PROGRESSIVE_CLEAN: &[u8] = fixture!("gps-progressive.clean.jpg");
const GPS_PNG: &[u8] = fixture!("gps.png");
const GPS_PNG_CLEAN: &[u8] = fixture!("gps.clean.png");
const GPS_WEBP: &[u8] = fixture!("gps.webp");
const GPS_WEBP_CLEAN: &[u8] = fixture!("gps.clean.webp");
const GPS_LOSSLESS: &[u8] = fixture!("gps-lossless-alpha.webp");
const GPS_LOSSLESS_CLEAN: &[u8] = fixture!("gps-lossless-alpha.clean.webp");
const GPS_ANIMATED: &[u8] = fixture!("gps-animated.webp");
const GPS_ANIMATED_CLEAN: &[u8] = fixture!("gps-animated.clean.webp");
const PLAIN_JPEG: &[u8] = fixture!("plain.jpg");
const PLAIN_PNG: &[u8] = fixture!("plain.png");
const PLAIN_WEBP: &[u8] = fixture!("plain.webp");

/// Every input fixture with its expected output and type.
const CASES: [(&str, &[u8], &[u8], PhotoType); 9] = [
    ("gps.jpg", GPS_JPEG, GPS_JPEG_CLEAN, PhotoType::Jpeg),
    (
        "gps-progressive.jpg",
        GPS_PROGRESSIVE,
        GPS_PROGRESSIVE_CLEAN,
        PhotoType::Jpeg,
    ),
    ("gps.png", GPS_PNG, GPS_PNG_CLEAN, PhotoType::Png),
    ("gps.webp", GPS_WEBP, GPS_WEBP_CLEAN, PhotoType::Webp),
    (
        "gps-lossless-alpha.webp",
        GPS_LOSSLESS,
        GPS_LOSSLESS_CLEAN,
        PhotoType::Webp,
    ),
    (
        "gps-animated.webp",
        GPS_ANIMATED,
        GPS_ANIMATED_CLEAN,
        PhotoType::Webp,
    ),
    ("plain.jpg", PLAIN_JPEG, PLAIN_JPEG, PhotoType::Jpeg),
    ("plain.png", PLAIN_PNG, PLAIN_PNG, PhotoType::Png),
    ("plain.webp", PLAIN_WEBP, PLAIN_WEBP, PhotoType::Webp),
];

/// Strings that only location metadata put into the fixtures.
const LOCATION_MARKERS: [&[u8]; 6] = [
    b"GPS",
    b"<x:xmpmeta",
    b"Zhengzhou",
    b"34.7583N",
    b"http://ns.adobe.com/xap",
    b"WGS-84",
];

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn cleaned(data: &[u8]) -> Vec<u8> {
    let (_, out) = clean(data).unwrap_or_else(|e| panic!("clean failed: {e}"));
    out
}

fn jpeg_segments(data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    Jpeg::from_bytes(Bytes::copy_from_slice(data))
        .unwrap()
        .segments()
        .iter()
        .map(|s| (s.marker(), s.contents().to_vec()))
        .collect()
}

fn webp_chunks(data: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    WebP::from_bytes(Bytes::copy_from_slice(data))
        .unwrap()
        .chunks()
        .iter()
        .map(|c| (c.id(), c.content().data().unwrap().to_vec()))
        .collect()
}

#[test]
fn every_fixture_cleans_to_exactly_the_expected_file() {
    for (name, input, expected, kind) in CASES {
        let (found, out) = clean(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(found, kind, "{name}");
        assert!(
            out == expected,
            "{name}: output differs from the expected file"
        );
    }
}

#[test]
fn no_location_metadata_survives_cleaning() {
    for (name, input, _, _) in CASES {
        let out = cleaned(input);
        if name.starts_with("gps") {
            assert!(find(input, b"GPS") > 0, "{name}: the fixture has GPS data");
        }
        for marker in LOCATION_MARKERS {
            assert_eq!(
                find(&out, marker),
                0,
                "{name}: {:?} survived",
                String::from_utf8_lossy(marker)
            );
        }
    }
}

#[test]
fn a_jpeg_keeps_its_image_data_colour_profile_and_orientation_only() {
    let before = jpeg_segments(GPS_JPEG);
    let after = jpeg_segments(&cleaned(GPS_JPEG));
    let structural = |segments: &[(u8, Vec<u8>)]| -> Vec<(u8, Vec<u8>)> {
        segments
            .iter()
            .filter(|(m, _)| !matches!(m, 0xE0..=0xEF | 0xFE))
            .cloned()
            .collect()
    };
    assert_eq!(structural(&after), structural(&before));
    let out = cleaned(GPS_JPEG);
    let scan = |d: &[u8]| d.windows(2).position(|w| w == b"\xff\xda").unwrap();
    assert!(
        out[scan(&out)..] == GPS_JPEG[scan(GPS_JPEG)..],
        "the scan and its entropy-coded data are copied byte for byte"
    );
    let apps: Vec<(u8, &[u8])> = after
        .iter()
        .filter(|(m, _)| matches!(m, 0xE0..=0xEF | 0xFE))
        .map(|(m, c)| (*m, &c[..c.len().min(12)]))
        .collect();
    assert_eq!(
        apps,
        [
            (0xE0, &b"JFIF\0\x01\x01\0\0\x01\0\x01"[..]),
            (0xE1, &b"Exif\0\0MM\0*\0\0"[..]),
            (0xE2, &b"ICC_PROFILE\0"[..]),
        ]
    );
    let icc = |segments: &[(u8, Vec<u8>)]| segments.iter().find(|(m, _)| *m == 0xE2).cloned();
    assert_eq!(icc(&after), icc(&before), "the ICC profile is unchanged");
    let exif = &after.iter().find(|(m, _)| *m == 0xE1).unwrap().1;
    assert_eq!(exif.len(), 6 + 26, "only the orientation entry is left");
    assert_eq!(exif_orientation(&exif[6..]), Some(6));
}

#[test]
fn metadata_between_the_scans_of_a_progressive_jpeg_is_removed() {
    assert_eq!(find(GPS_PROGRESSIVE, b"\xff\xda"), 10, "ten scans");
    let out = cleaned(GPS_PROGRESSIVE);
    assert_eq!(find(&out, b"\xff\xda"), 10, "every scan is kept");
    assert_eq!(
        find(&out, b"Exif"),
        0,
        "no orientation in the input, no Exif at all"
    );
    assert_eq!(out, GPS_PROGRESSIVE_CLEAN);
}

#[test]
fn whatever_follows_the_end_of_a_jpeg_is_dropped() {
    // Phones append preview images (MPF) after EOI, each with its own Exif.
    let appended = [PLAIN_JPEG, GPS_JPEG].concat();
    assert_eq!(cleaned(&appended), PLAIN_JPEG);
}

#[test]
fn a_png_keeps_its_image_data_and_colour_chunks_only() {
    let kinds = |data: &[u8]| -> Vec<String> {
        Png::from_bytes(Bytes::copy_from_slice(data))
            .unwrap()
            .chunks()
            .iter()
            .map(|c| String::from_utf8_lossy(&c.kind()).into_owned())
            .collect()
    };
    assert_eq!(
        kinds(GPS_PNG),
        [
            "IHDR", "iCCP", "iTXt", "tEXt", "zTXt", "tIME", "loCa", "pHYs", "eXIf", "IDAT", "IEND"
        ]
    );
    let out = cleaned(GPS_PNG);
    assert_eq!(
        kinds(&out),
        ["IHDR", "iCCP", "pHYs", "eXIf", "IDAT", "IEND"]
    );
    let png = Png::from_bytes(Bytes::from(out)).unwrap();
    let exif = png.chunk_by_type(*b"eXIf").unwrap().contents();
    assert_eq!(exif.len(), 26);
    assert_eq!(exif_orientation(exif), Some(6));
    let idat = |p: &Png| p.chunk_by_type(*b"IDAT").unwrap().contents().clone();
    assert_eq!(
        idat(&png),
        idat(&Png::from_bytes(Bytes::from_static(GPS_PNG)).unwrap())
    );
}

#[test]
fn a_webp_loses_its_exif_and_xmp_chunks_and_their_vp8x_flags() {
    let before = webp_chunks(GPS_WEBP);
    let ids = |chunks: &[([u8; 4], Vec<u8>)]| -> Vec<String> {
        chunks
            .iter()
            .map(|(id, _)| String::from_utf8_lossy(id).into_owned())
            .collect()
    };
    assert_eq!(ids(&before), ["VP8X", "ICCP", "VP8 ", "EXIF", "XMP "]);
    assert_eq!(
        before[0].1[0],
        0x20 | 0x08 | 0x04,
        "ICC, Exif and XMP flags"
    );
    let after = webp_chunks(&cleaned(GPS_WEBP));
    assert_eq!(ids(&after), ["VP8X", "ICCP", "VP8 ", "EXIF"]);
    assert_eq!(after[0].1[0], 0x20 | 0x08, "ICC and the orientation Exif");
    assert_eq!(
        after[0].1[1..],
        before[0].1[1..],
        "the canvas size is unchanged"
    );
    assert_eq!(
        after[1..3],
        before[1..3],
        "colour profile and bitstream unchanged"
    );
    assert_eq!(exif_orientation(&after[3].1), Some(3));
    assert_eq!(after[3].1.len(), 26);
}

#[test]
fn a_lossless_webp_with_alpha_keeps_its_extended_header_and_alpha_flag() {
    let before = webp_chunks(GPS_LOSSLESS);
    assert_eq!(
        before[0].1[0],
        0x10 | 0x08 | 0x04,
        "alpha, Exif and XMP flags"
    );
    let after = webp_chunks(&cleaned(GPS_LOSSLESS));
    assert_eq!(after.len(), 2);
    assert_eq!(&after[0].0, b"VP8X");
    assert_eq!(after[0].1[0], 0x10, "alpha only");
    assert_eq!(after[1], before[1], "the VP8L bitstream is unchanged");
}

#[test]
fn unknown_chunks_inside_animation_frames_are_removed() {
    assert_eq!(find(GPS_ANIMATED, b"LOCA"), 1);
    let out = cleaned(GPS_ANIMATED);
    assert_eq!(find(&out, b"LOCA"), 0);
    assert_eq!(find(&out, b"ANMF"), 2, "both frames are kept");
    assert_eq!(webp_chunks(&out)[0].1[0], 0x02, "the animation flag only");
}

#[test]
fn a_photo_without_metadata_comes_out_byte_for_byte() {
    for input in [PLAIN_JPEG, PLAIN_PNG, PLAIN_WEBP] {
        assert_eq!(cleaned(input), input);
    }
}

#[test]
fn cleaning_a_cleaned_photo_changes_nothing() {
    for (name, input, _, _) in CASES {
        let once = cleaned(input);
        assert_eq!(cleaned(&once), once, "{name}");
    }
}

#[test]
fn the_orientation_is_read_in_either_byte_order_and_only_from_a_short() {
    let big = orientation_exif(8);
    assert_eq!(exif_orientation(&big), Some(8));
    let mut little = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x05\0\0\0\0\0\0\0".to_vec();
    assert_eq!(exif_orientation(&little), Some(5));
    little[12] = 4; // LONG instead of SHORT
    assert_eq!(exif_orientation(&little), None);
    assert_eq!(exif_orientation(&orientation_exif(1)), None, "1 is upright");
    assert_eq!(
        exif_orientation(&orientation_exif(9)),
        None,
        "9 is not an orientation"
    );
    assert_eq!(exif_orientation(&big[..19]), None, "cut inside the value");
}

#[test]
fn a_photo_over_ten_megabytes_is_refused_before_it_is_parsed() {
    // A valid JPEG followed by zeros, which cleaning drops (they follow EOI).
    let mut data = GPS_JPEG.to_vec();
    data.resize(MAX_PHOTO_BYTES, 0);
    assert_eq!(cleaned(&data), GPS_JPEG_CLEAN, "exactly 10 MiB is accepted");
    data.push(0);
    assert!(matches!(
        clean(&data),
        Err(PhotoError::TooLarge { bytes, limit: MAX_PHOTO_BYTES }) if bytes == MAX_PHOTO_BYTES + 1
    ));
}

#[test]
fn files_that_are_not_jpeg_png_or_webp_are_refused_and_named() {
    let cases: [(&[u8], Option<&str>); 9] = [
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", Some("image/gif")),
        (
            b"just some text, renamed to photo.jpg\n",
            Some("text/plain"),
        ),
        (
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            Some("image/svg+xml"),
        ),
        (
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
            Some("image/svg+xml"),
        ),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", Some("image/heic")),
        (b"%PDF-1.7\n", Some("application/pdf")),
        (b"RIFF\x04\0\0\0WAVE", None),
        (b"", None),
        (&[0xFF, 0xD8, 0x00, 0x01], None),
    ];
    for (data, detected) in cases {
        match clean(data) {
            Err(PhotoError::Unsupported { detected: d }) => {
                assert_eq!(
                    d.as_deref(),
                    detected,
                    "{:?}",
                    String::from_utf8_lossy(data)
                );
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(data)),
        }
    }
    let message = clean(b"GIF89a").unwrap_err().to_string();
    assert_eq!(
        message,
        "the photo is not a JPEG, PNG or WebP image (its content is image/gif)"
    );
}

#[test]
fn a_truncated_image_is_refused_at_every_length() {
    for (name, input, _, kind) in CASES {
        // Shorter than the magic bytes: not recognised at all.
        let recognised = match kind {
            PhotoType::Jpeg => 3,
            PhotoType::Png => 8,
            PhotoType::Webp => 12,
        };
        for len in recognised..input.len() {
            let result = clean(&input[..len]);
            assert!(
                matches!(result, Err(PhotoError::Corrupt { .. })),
                "{name} cut to {len} bytes: {result:?}"
            );
        }
    }
}

#[test]
fn a_png_with_a_bad_crc_is_refused() {
    let mut data = PLAIN_PNG.to_vec();
    let idat = data.windows(4).position(|w| w == b"IDAT").unwrap();
    data[idat + 10] ^= 0x01;
    let err = clean(&data).unwrap_err();
    assert!(
        matches!(&err, PhotoError::Corrupt { reason } if reason.contains("CRC")),
        "{err:?}"
    );
}

#[test]
fn images_missing_a_required_part_are_refused() {
    let reason = |data: &[u8]| match clean(data) {
        Err(PhotoError::Corrupt { reason }) => reason,
        other => panic!("{other:?}"),
    };
    // A JPEG without its frame header.
    let sof = PLAIN_JPEG
        .windows(2)
        .position(|w| w == b"\xff\xc0")
        .unwrap();
    let len = usize::from(u16::from_be_bytes([
        PLAIN_JPEG[sof + 2],
        PLAIN_JPEG[sof + 3],
    ]));
    let no_sof = [&PLAIN_JPEG[..sof], &PLAIN_JPEG[sof + 2 + len..]].concat();
    assert!(reason(&no_sof).contains("SOF"));
    // A JPEG that ends before any scan.
    assert!(reason(&[&PLAIN_JPEG[..sof], b"\xff\xd9"].concat()).contains("SOS"));
    // A PNG without IDAT.
    let png = Png::from_bytes(Bytes::from_static(PLAIN_PNG)).unwrap();
    let mut png = png.clone();
    png.remove_chunks_by_type(*b"IDAT");
    assert!(reason(&png.encoder().bytes()).contains("IDAT"));
    // A WebP holding only metadata.
    let xmp = RiffChunk::new(*b"XMP ", RiffContent::Data(Bytes::from_static(b"<x/>")));
    let riff = RiffChunk::new(
        *b"RIFF",
        RiffContent::List {
            kind: Some(*b"WEBP"),
            subchunks: vec![xmp],
        },
    );
    assert!(reason(&riff.encoder().bytes()).contains("VP8"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn damaged_photos_never_panic_and_what_is_accepted_is_stable(
        which in 0..CASES.len(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut data = CASES[which].1.to_vec();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        if let Ok((kind, out)) = clean(&data) {
            prop_assert_eq!(PhotoType::sniff(&out), Some(kind));
            prop_assert_eq!(cleaned(&out), out);
        }
    }
}

// ---- storage ----

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn store_in(dir: &tempfile::TempDir) -> PhotoStore {
    PhotoStore::open(dir.path().join("photos")).unwrap()
}

#[tokio::test]
async fn storing_a_photo_twice_gives_one_reference_and_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(&tmp);
    let first = store.put(Bytes::from_static(GPS_JPEG)).await.unwrap();
    let expected = hex::encode(Sha256::digest(GPS_JPEG_CLEAN));
    assert_eq!(
        first,
        PhotoRef {
            sha256: expected.clone(),
            media_type: "image/jpeg".into(),
            bytes: GPS_JPEG_CLEAN.len() as u64,
        }
    );
    let path = store.dir().join(&expected[..2]).join(&expected);
    assert_eq!(files_under(store.dir()), std::slice::from_ref(&path));
    assert_eq!(std::fs::read(&path).unwrap(), GPS_JPEG_CLEAN);

    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(&path).unwrap().ino()
    };
    let again = store.put(Bytes::from_static(GPS_JPEG)).await.unwrap();
    assert_eq!(again, first);
    let cleaned_again = store.put(Bytes::from_static(GPS_JPEG_CLEAN)).await.unwrap();
    assert_eq!(cleaned_again, first, "the cleaned photo is the same photo");
    assert_eq!(files_under(store.dir()), std::slice::from_ref(&path));
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().ino(),
            inode,
            "the file was not rewritten"
        );
    }
}

#[tokio::test]
async fn a_stored_photo_is_read_back_cleaned_with_its_type() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(&tmp);
    let stored = store.put(Bytes::from_static(GPS_WEBP)).await.unwrap();
    assert!(store.contains(&stored.sha256).unwrap());
    let (data, kind) = store.get(&stored.sha256).await.unwrap().unwrap();
    assert_eq!(kind, PhotoType::Webp);
    assert_eq!(data, GPS_WEBP_CLEAN);
    assert_eq!(stored.media_type, kind.media_type());

    let absent = hex::encode(Sha256::digest(b"never stored"));
    assert!(store.get(&absent).await.unwrap().is_none());
    assert!(!store.contains(&absent).unwrap());
}

#[tokio::test]
async fn ids_that_are_not_64_lowercase_hex_digits_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(&tmp);
    let stored = store.put(Bytes::from_static(PLAIN_PNG)).await.unwrap();
    let upper = stored.sha256.to_uppercase();
    let short = &stored.sha256[..63];
    let partial = format!(".partial-{}", &stored.sha256[..54]);
    for id in ["../etc/passwd", "", upper.as_str(), short, partial.as_str()] {
        assert!(
            matches!(store.get(id).await, Err(PhotoError::BadId(ref b)) if b == id),
            "{id}"
        );
        assert!(
            matches!(store.contains(id), Err(PhotoError::BadId(_))),
            "{id}"
        );
    }
}

#[tokio::test]
async fn a_refused_photo_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(&tmp);
    let truncated = Bytes::copy_from_slice(&GPS_JPEG[..GPS_JPEG.len() - 10]);
    assert!(matches!(
        store.put(truncated).await,
        Err(PhotoError::Corrupt { .. })
    ));
    assert!(matches!(
        store.put(Bytes::from_static(b"GIF89a")).await,
        Err(PhotoError::Unsupported { .. })
    ));
    let big = Bytes::from(vec![0_u8; MAX_PHOTO_BYTES + 1]);
    assert!(matches!(
        store.put(big).await,
        Err(PhotoError::TooLarge { .. })
    ));
    assert!(files_under(store.dir()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stores_of_one_photo_leave_one_complete_file_and_no_temporary() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store_in(&tmp);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            let data = if i % 2 == 0 { GPS_PNG } else { GPS_PNG_CLEAN };
            tokio::spawn(async move { store.put(Bytes::from_static(data)).await.unwrap() })
        })
        .collect();
    let mut refs = Vec::new();
    for task in tasks {
        refs.push(task.await.unwrap());
    }
    assert!(refs.iter().all(|r| *r == refs[0]));
    let files = files_under(store.dir());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(std::fs::read(&files[0]).unwrap(), GPS_PNG_CLEAN);
}

#[test]
fn opening_a_store_creates_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/photos");
    let store = PhotoStore::open(&dir).unwrap();
    assert!(dir.is_dir());
    assert_eq!(store.dir(), dir);
}

// ---- claimed pixel counts ----

/// `PLAIN_JPEG` with its frame header claiming `width` × `height`.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut data = PLAIN_JPEG.to_vec();
    let sof = data.windows(2).position(|w| w == b"\xff\xc0").unwrap();
    // Marker, length (2), precision (1), then height and width.
    data[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    data[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    data
}

/// `PLAIN_PNG` with an IHDR claiming `width` × `height` (and a right CRC).
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = Png::from_bytes(Bytes::from_static(PLAIN_PNG)).unwrap();
    let mut ihdr = png.chunks()[0].contents().to_vec();
    ihdr[..4].copy_from_slice(&width.to_be_bytes());
    ihdr[4..8].copy_from_slice(&height.to_be_bytes());
    png.chunks_mut()[0] = PngChunk::new(*b"IHDR", Bytes::from(ihdr));
    png.encoder().bytes().to_vec()
}

/// A WebP file of these chunks.
fn webp_of(chunks: Vec<([u8; 4], Vec<u8>)>) -> Vec<u8> {
    let riff = RiffChunk::new(
        *b"RIFF",
        RiffContent::List {
            kind: Some(*b"WEBP"),
            subchunks: chunks
                .into_iter()
                .map(|(id, data)| RiffChunk::new(id, RiffContent::Data(Bytes::from(data))))
                .collect(),
        },
    );
    riff.encoder().bytes().to_vec()
}

/// A lossy VP8 key frame header claiming `width` × `height` (14 bits each), padded.
fn vp8_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut data = vec![0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A];
    data.extend_from_slice(&width.to_le_bytes());
    data.extend_from_slice(&height.to_le_bytes());
    data.extend_from_slice(&[0; 22]);
    data
}

/// A lossless VP8L header claiming `width` × `height` (1 to 16384 each), padded.
fn vp8l_claiming(width: u32, height: u32) -> Vec<u8> {
    let bits = (width - 1) | ((height - 1) << 14);
    let mut data = vec![0x2F];
    data.extend_from_slice(&bits.to_le_bytes());
    data.extend_from_slice(&[0; 11]);
    data
}

/// A VP8X header with canvas `width` × `height` and no flags.
fn vp8x_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut data = vec![0; 4];
    data.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    data.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    data
}

fn too_many_pixels(data: &[u8]) -> bool {
    matches!(clean(data), Err(PhotoError::TooManyPixels { limit, .. }) if limit == MAX_PIXELS)
}

#[test]
fn a_jpeg_whose_frame_header_claims_gigapixels_is_refused_without_decoding() {
    assert!(too_many_pixels(&jpeg_claiming(65_535, 65_535)));
    assert!(too_many_pixels(&jpeg_claiming(8_000, 7_000)));
    // A height of 0 (given later by DNL) counts as the most it could be.
    assert!(too_many_pixels(&jpeg_claiming(1_000, 0)));
    // 7,000 × 7,000 = 49 megapixels is within the limit (only the header is read).
    assert!(clean(&jpeg_claiming(7_000, 7_000)).is_ok());
    let err = clean(&jpeg_claiming(65_535, 65_535))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("65535 × 65535") && err.contains("50 megapixels"),
        "{err}"
    );
}

#[test]
fn a_small_png_claiming_ten_gigapixels_is_refused() {
    let data = png_claiming(100_000, 100_000);
    assert!(data.len() < 10 * 1024);
    assert!(too_many_pixels(&data));
    assert!(too_many_pixels(&png_claiming(u32::MAX, u32::MAX)));
    assert!(clean(&png_claiming(5_000, 10_000)).is_ok());
}

#[test]
fn webp_canvas_and_bitstream_sizes_are_all_checked() {
    // Simple lossy and lossless files.
    assert!(too_many_pixels(&webp_of(vec![(
        *b"VP8 ",
        vp8_claiming(16_383, 16_383)
    )])));
    assert!(clean(&webp_of(vec![(*b"VP8 ", vp8_claiming(640, 480))])).is_ok());
    assert!(too_many_pixels(&webp_of(vec![(
        *b"VP8L",
        vp8l_claiming(16_384, 16_384)
    )])));
    assert!(clean(&webp_of(vec![(*b"VP8L", vp8l_claiming(7_000, 7_000))])).is_ok());
    // An extended file: a huge canvas, or a small canvas over a huge bitstream.
    assert!(too_many_pixels(&webp_of(vec![
        (*b"VP8X", vp8x_claiming(16_000_000, 16_000_000)),
        (*b"VP8L", vp8l_claiming(10, 10)),
    ])));
    assert!(too_many_pixels(&webp_of(vec![
        (*b"VP8X", vp8x_claiming(10, 10)),
        (*b"VP8L", vp8l_claiming(16_384, 16_384)),
    ])));
    assert!(
        clean(&webp_of(vec![
            (*b"VP8X", vp8x_claiming(10, 10)),
            (*b"VP8L", vp8l_claiming(10, 10)),
        ]))
        .is_ok()
    );
}

// ---- fuzzing the cleaner ----

/// The metadata a cleaned photo still carries, by structure: any JPEG `APPn` other than JFIF,
/// ICC, Adobe and a single-tag orientation Exif, or a COM segment; any PNG chunk outside the
/// kept list; any WebP chunk outside the kept list (EXIF only as the orientation block).
fn metadata_left(kind: PhotoType, out: &[u8]) -> Option<String> {
    let orientation_only = |exif: &[u8]| exif.len() == 26 && exif_orientation(exif).is_some();
    match kind {
        PhotoType::Jpeg => {
            let jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(out)).ok()?;
            jpeg.segments().iter().find_map(|s| {
                let kept = match s.marker() {
                    markers::APP1 => s
                        .contents()
                        .strip_prefix(b"Exif\0\0")
                        .is_some_and(orientation_only),
                    markers::APP0..=markers::APP15 | markers::COM => keep_jpeg_app(s),
                    _ => true,
                };
                (!kept).then(|| format!("JPEG segment 0xFF{:02X}", s.marker()))
            })
        }
        PhotoType::Png => {
            let png = Png::from_bytes(Bytes::copy_from_slice(out)).ok()?;
            png.chunks().iter().find_map(|c| {
                let kept = PNG_KEPT.contains(&&c.kind())
                    || (&c.kind() == b"eXIf" && orientation_only(c.contents()));
                (!kept).then(|| format!("PNG chunk {:?}", String::from_utf8_lossy(&c.kind())))
            })
        }
        PhotoType::Webp => {
            let webp = WebP::from_bytes(Bytes::copy_from_slice(out)).ok()?;
            webp.chunks().iter().find_map(|c| {
                let kept = WEBP_KEPT.contains(&&c.id())
                    || (&c.id() == b"EXIF"
                        && c.content().data().is_some_and(|d| orientation_only(d)));
                (!kept).then(|| format!("WebP chunk {:?}", String::from_utf8_lossy(&c.id())))
            })
        }
    }
}

/// One change to a file: overwrite, insert or delete bytes, or cut it short.
#[derive(Debug, Clone)]
enum Mutation {
    Overwrite(prop::sample::Index, Vec<u8>),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes = proptest::collection::vec(any::<u8>(), 1..16);
    prop_oneof![
        (any::<prop::sample::Index>(), bytes.clone()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        (any::<prop::sample::Index>(), bytes).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<prop::sample::Index>(), 1..64_usize).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(data: &mut Vec<u8>, mutation: &Mutation) {
    if data.is_empty() {
        return;
    }
    match mutation {
        Mutation::Overwrite(at, bytes) => {
            let i = at.index(data.len());
            let end = (i + bytes.len()).min(data.len());
            data[i..end].copy_from_slice(&bytes[..end - i]);
        }
        Mutation::Insert(at, bytes) => {
            let i = at.index(data.len() + 1);
            data.splice(i..i, bytes.iter().copied());
        }
        Mutation::Delete(at, n) => {
            let i = at.index(data.len());
            data.drain(i..(i + n).min(data.len()));
        }
        Mutation::Truncate(at) => data.truncate(at.index(data.len())),
    }
}

/// Files that start like a photo and go on with anything.
fn magic_then_noise() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            Just(b"\xff\xd8\xff".to_vec()),
            Just(PNG_SIGNATURE.to_vec()),
            Just(b"RIFF\x20\x00\x00\x00WEBPVP8X".to_vec()),
            Just(b"RIFF\x20\x00\x00\x00WEBPVP8 ".to_vec()),
            Just(b"RIFF\x20\x00\x00\x00WEBPVP8L".to_vec()),
        ],
        proptest::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(|(magic, noise)| [magic, noise].concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn mutated_photos_never_panic_never_grow_and_keep_no_metadata(
        which in 0..CASES.len(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let mut data = CASES[which].1.to_vec();
        for m in &mutations {
            mutate(&mut data, m);
        }
        if let Ok((kind, out)) = clean(&data) {
            // At most the minimal orientation Exif (and its segment or chunk header) is added,
            // and only where a larger Exif was taken out.
            prop_assert!(out.len() <= data.len() + 64, "{} → {} bytes", data.len(), out.len());
            prop_assert_eq!(metadata_left(kind, &out), None);
            prop_assert_eq!(PhotoType::sniff(&out), Some(kind));
        }
    }

    #[test]
    fn noise_behind_a_photo_signature_never_panics(data in magic_then_noise()) {
        if let Ok((kind, out)) = clean(&data) {
            prop_assert!(out.len() <= data.len() + 64);
            prop_assert_eq!(metadata_left(kind, &out), None);
        }
    }
}
