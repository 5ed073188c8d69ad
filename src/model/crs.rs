//! Conversions between WGS84 and the offset coordinate systems of Chinese web maps.
//!
//! GCJ-02 (`AMap`, Tencent, Tianditu's Chinese basemaps) is WGS84 shifted by the widely published
//! obfuscation formula on the Krasovsky ellipsoid; BD-09 (Baidu) shifts GCJ-02 once more. Outside
//! mainland China (the rectangle below) both leave coordinates unchanged. The inverses have no
//! closed form: they iterate the forward transform to 1e-7° (about 1 cm).
//! All coordinates are `(lon, lat)` in degrees.

use std::f64::consts::PI;

/// Semi-major axis of the Krasovsky 1940 ellipsoid, metres.
const A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const EE: f64 = 0.006_693_421_622_965_943;
/// Convergence threshold of the inverse transforms, degrees.
const INVERSE_TOLERANCE_DEG: f64 = 1e-7;

/// A coordinate system accepted at the edges of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputCrs {
    /// WGS84 / CRS84 (also CGCS2000 within centimetres): stored as is.
    #[default]
    Wgs84,
    /// GCJ-02 (`AMap`, Tencent).
    Gcj02,
    /// BD-09 (Baidu).
    Bd09,
}

impl InputCrs {
    /// Parses `wgs84`, `gcj02` or `bd09` (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "wgs84" | "crs84" | "epsg:4326" => Some(Self::Wgs84),
            "gcj02" | "gcj-02" => Some(Self::Gcj02),
            "bd09" | "bd-09" => Some(Self::Bd09),
            _ => None,
        }
    }

    /// Converts a position given in this system to WGS84.
    pub fn to_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Self::Wgs84 => (lon, lat),
            Self::Gcj02 => gcj02_to_wgs84(lon, lat),
            Self::Bd09 => {
                let (lon, lat) = bd09_to_gcj02(lon, lat);
                gcj02_to_wgs84(lon, lat)
            }
        }
    }

    /// Converts a WGS84 position to this system.
    pub fn from_wgs84(self, lon: f64, lat: f64) -> (f64, f64) {
        match self {
            Self::Wgs84 => (lon, lat),
            Self::Gcj02 => wgs84_to_gcj02(lon, lat),
            Self::Bd09 => {
                let (lon, lat) = wgs84_to_gcj02(lon, lat);
                gcj02_to_bd09(lon, lat)
            }
        }
    }
}

/// Whether the offset applies: mainland China's rough rectangle.
pub fn in_china(lon: f64, lat: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// WGS84 → GCJ-02.
///
/// ```
/// let (lon, lat) = citygrid::model::crs::wgs84_to_gcj02(113.68, 34.75);
/// assert!((lon - 113.686_129_1).abs() < 1e-7 && (lat - 34.748_912_5).abs() < 1e-7);
/// ```
pub fn wgs84_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lon, lat) {
        return (lon, lat);
    }
    let d_lat = transform_lat(lon - 105.0, lat - 35.0);
    let d_lon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let d_lat = (d_lat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let d_lon = (d_lon * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    (lon + d_lon, lat + d_lat)
}

/// GCJ-02 → WGS84, by fixed-point iteration of [`wgs84_to_gcj02`] to 1e-7°.
pub fn gcj02_to_wgs84(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lon, lat) {
        return (lon, lat);
    }
    invert(lon, lat, wgs84_to_gcj02)
}

const X_PI: f64 = PI * 3000.0 / 180.0;

/// GCJ-02 → BD-09; unchanged outside mainland China, like GCJ-02 (Baidu's offset is only
/// defined where the GCJ-02 one is).
pub fn gcj02_to_bd09(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lon, lat) {
        return (lon, lat);
    }
    let z = (lon * lon + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000_003 * (lon * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02, by iteration of [`gcj02_to_bd09`] to 1e-7°; unchanged outside mainland
/// China.
pub fn bd09_to_gcj02(lon: f64, lat: f64) -> (f64, f64) {
    if !in_china(lon, lat) {
        return (lon, lat);
    }
    invert(lon, lat, gcj02_to_bd09)
}

/// Solves `forward(x) = target` by fixed-point iteration; the offsets are smooth and small, so
/// a handful of steps reach 1e-7°.
fn invert(lon: f64, lat: f64, forward: fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    let (mut x, mut y) = (lon, lat);
    for _ in 0..30 {
        let (fx, fy) = forward(x, y);
        let (dx, dy) = (fx - lon, fy - lat);
        x -= dx;
        y -= dy;
        if dx.abs() < INVERSE_TOLERANCE_DEG / 10.0 && dy.abs() < INVERSE_TOLERANCE_DEG / 10.0 {
            break;
        }
    }
    (x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference values of `shared/data/README.md`.
    const REFERENCE: [((f64, f64), (f64, f64)); 3] = [
        ((113.68, 34.75), (113.686_129_1, 34.748_912_5)),
        ((113.55, 34.82), (113.556_127_8, 34.818_926_5)),
        ((116.391, 39.907), (116.397_241, 39.908_401_1)),
    ];

    #[test]
    fn wgs84_to_gcj02_matches_the_reference_values_to_1e_7_degrees() {
        for ((lon, lat), (glon, glat)) in REFERENCE {
            let (x, y) = wgs84_to_gcj02(lon, lat);
            assert!(
                (x - glon).abs() < 1e-7 && (y - glat).abs() < 1e-7,
                "{x},{y}"
            );
        }
    }

    #[test]
    fn gcj02_to_wgs84_inverts_the_reference_values_to_1e_7_degrees() {
        for ((lon, lat), (glon, glat)) in REFERENCE {
            let (x, y) = gcj02_to_wgs84(glon, glat);
            assert!((x - lon).abs() < 1e-7 && (y - lat).abs() < 1e-7, "{x},{y}");
        }
    }

    #[test]
    fn bd09_round_trips_through_wgs84() {
        let (lon, lat) = InputCrs::Bd09.from_wgs84(113.7, 34.7);
        assert!((lon - 113.7).abs() > 1e-3, "BD-09 differs from WGS84");
        let (x, y) = InputCrs::Bd09.to_wgs84(lon, lat);
        assert!((x - 113.7).abs() < 1e-7 && (y - 34.7).abs() < 1e-7);
    }

    #[test]
    fn positions_outside_china_are_unchanged() {
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85));
        assert_eq!(gcj02_to_wgs84(2.35, 48.85), (2.35, 48.85));
    }

    #[test]
    fn bd09_leaves_positions_outside_china_unchanged_both_ways() {
        for (lon, lat) in [(2.35, 48.85), (-74.0, 40.7), (151.2, -33.9), (179.9, 0.0)] {
            assert_eq!(gcj02_to_bd09(lon, lat), (lon, lat));
            assert_eq!(bd09_to_gcj02(lon, lat), (lon, lat));
            assert_eq!(InputCrs::Bd09.to_wgs84(lon, lat), (lon, lat));
            assert_eq!(InputCrs::Bd09.from_wgs84(lon, lat), (lon, lat));
        }
    }
}
