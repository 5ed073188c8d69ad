//! The WebMercatorQuad tile matrix set (OGC TMS 2.0; the `z/x/y` scheme of web maps): tile
//! identifiers, their bounds in WGS84 and EPSG:3857, and the tiles that cover a rectangle.
//!
//! Tile `(z, x, y)` has column `x` counted eastwards from 180° W and row `y` counted southwards
//! from 85.0511° N; zoom `z` has `2^z × 2^z` tiles. "Normalised" coordinates put the projected
//! world in the unit square, x east and y **down** (as in tiles).

use std::f64::consts::PI;
use std::ops::RangeInclusive;

use geo::{Rect, coord};

/// The deepest tile matrix of WebMercatorQuad (OGC TMS 2.0 defines 0–24).
pub const MAX_ZOOM: u8 = 24;

/// The equatorial radius of the WGS84 ellipsoid used by EPSG:3857, metres.
pub const EARTH_RADIUS_M: f64 = 6_378_137.0;

/// Half the width of the projected world in EPSG:3857, metres (`π × EARTH_RADIUS_M`).
pub const ORIGIN_SHIFT_M: f64 = PI * EARTH_RADIUS_M;

/// The latitude where EPSG:3857 makes the world square, degrees.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// A tile identifier that does not exist in WebMercatorQuad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The zoom level is beyond the deepest tile matrix.
    #[error("zoom level {z} is outside 0–{MAX_ZOOM}")]
    Zoom {
        /// The zoom level asked for.
        z: u32,
    },
    /// The column is beyond the matrix width at this zoom.
    #[error("column {x} is outside 0–{} at zoom {z}", (1u64 << z) - 1)]
    Column {
        /// The zoom level.
        z: u8,
        /// The column asked for.
        x: u32,
    },
    /// The row is beyond the matrix height at this zoom.
    #[error("row {y} is outside 0–{} at zoom {z}", (1u64 << z) - 1)]
    Row {
        /// The zoom level.
        z: u8,
        /// The row asked for.
        y: u32,
    },
}

/// One tile of WebMercatorQuad, known to exist.
///
/// ```
/// use citygrid::tiles::tms::TileId;
/// let tile = TileId::containing(113.68, 34.75, 14);
/// assert_eq!((tile.z(), tile.x(), tile.y()), (14, 13365, 6503));
/// assert!(TileId::new(2, 4, 0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    z: u8,
    x: u32,
    y: u32,
}

impl TileId {
    /// The tile at zoom `z`, column `x`, row `y`, if it exists.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, TileError> {
        let z = u8::try_from(z)
            .ok()
            .filter(|&z| z <= MAX_ZOOM)
            .ok_or(TileError::Zoom { z })?;
        let size = 1u64 << z;
        if u64::from(x) >= size {
            return Err(TileError::Column { z, x });
        }
        if u64::from(y) >= size {
            return Err(TileError::Row { z, y });
        }
        Ok(Self { z, x, y })
    }

    /// The tile at zoom `z` containing a WGS84 position (clamped to the projected world).
    pub fn containing(lon: f64, lat: f64, z: u8) -> Self {
        let z = z.min(MAX_ZOOM);
        let (nx, ny) = normalised(lon, lat);
        let max = (1u32 << z) - 1;
        let scale = f64::from(1u32 << z);
        Self {
            z,
            x: index(nx * scale, max),
            y: index(ny * scale, max),
        }
    }

    /// The zoom level (tile matrix).
    pub fn z(self) -> u8 {
        self.z
    }

    /// The column, from the west.
    pub fn x(self) -> u32 {
        self.x
    }

    /// The row, from the north.
    pub fn y(self) -> u32 {
        self.y
    }

    /// The tile's bounds in WGS84 degrees.
    pub fn bounds(self) -> Rect<f64> {
        self.buffered_bounds(0.0)
    }

    /// The tile's bounds in WGS84 degrees grown by `buffer` tile widths on every side (e.g.
    /// `64.0 / 4096.0`), clamped to the world's longitudes.
    pub fn buffered_bounds(self, buffer: f64) -> Rect<f64> {
        let scale = f64::from(1u32 << self.z);
        let x0 = (f64::from(self.x) - buffer) / scale;
        let x1 = (f64::from(self.x) + 1.0 + buffer) / scale;
        let y0 = (f64::from(self.y) - buffer) / scale;
        let y1 = (f64::from(self.y) + 1.0 + buffer) / scale;
        Rect::new(
            coord! { x: lon_of(x0).max(-180.0), y: lat_of(y1) },
            coord! { x: lon_of(x1).min(180.0), y: lat_of(y0) },
        )
    }

    /// The tile's bounds in EPSG:3857 metres: `[min x, min y, max x, max y]`.
    pub fn bounds_3857(self) -> [f64; 4] {
        let size = 2.0 * ORIGIN_SHIFT_M / f64::from(1u32 << self.z);
        let min_x = -ORIGIN_SHIFT_M + f64::from(self.x) * size;
        let max_y = ORIGIN_SHIFT_M - f64::from(self.y) * size;
        [min_x, max_y - size, min_x + size, max_y]
    }
}

/// Truncates a non-negative tile coordinate to an index in `0..=max`.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 0..=max (< 2^24) before the cast"
)]
fn index(v: f64, max: u32) -> u32 {
    v.floor().clamp(0.0, f64::from(max)) as u32
}

/// A WGS84 position in normalised WebMercatorQuad coordinates (unit square, y down), with the
/// latitude clamped to ±[`MAX_LATITUDE`].
#[inline]
pub fn normalised(lon: f64, lat: f64) -> (f64, f64) {
    let sin = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE).to_radians().sin();
    let x = (lon + 180.0) / 360.0;
    // asinh(tan φ) = atanh(sin φ) = ½ ln((1 + sin φ) / (1 − sin φ)) = ½ ln_1p(2 sin φ / (1 − sin φ)):
    // one sine and one logarithm, where asinh(tan) costs a tangent, a hypot and a logarithm
    // (a third of an uncached tile's rendering).
    let y = 0.5 - (2.0 * sin / (1.0 - sin)).ln_1p() / (4.0 * PI);
    (x, y)
}

/// A WGS84 position in EPSG:3857 metres.
///
/// ```
/// let (x, y) = citygrid::tiles::tms::to_3857(113.68, 34.75);
/// assert!((x - 12_654_799.713).abs() < 0.001 && (y - 4_129_958.829).abs() < 0.001);
/// ```
pub fn to_3857(lon: f64, lat: f64) -> (f64, f64) {
    let (nx, ny) = normalised(lon, lat);
    (
        (2.0 * nx - 1.0) * ORIGIN_SHIFT_M,
        (1.0 - 2.0 * ny) * ORIGIN_SHIFT_M,
    )
}

fn lon_of(nx: f64) -> f64 {
    nx * 360.0 - 180.0
}

fn lat_of(ny: f64) -> f64 {
    (PI * (1.0 - 2.0 * ny)).sinh().atan().to_degrees()
}

/// The tiles of one zoom level in a block of columns and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileRange {
    /// The zoom level.
    pub z: u8,
    /// Columns, west to east.
    pub x: RangeInclusive<u32>,
    /// Rows, north to south.
    pub y: RangeInclusive<u32>,
}

impl TileRange {
    /// The tiles at zoom `z` whose bounds grown by `buffer` tile widths intersect `rect` (WGS84,
    /// boundaries included). A hair wider than exact, so that float rounding can only add a tile.
    pub fn covering(rect: Rect<f64>, z: u8, buffer: f64) -> Self {
        let z = z.min(MAX_ZOOM);
        let scale = f64::from(1u32 << z);
        let max = (1u32 << z) - 1;
        let (x0, y0) = normalised(rect.min().x, rect.max().y);
        let (x1, y1) = normalised(rect.max().x, rect.min().y);
        let slack = buffer + 1e-6;
        Self {
            z,
            x: index(x0 * scale - slack, max)..=index(x1 * scale + slack, max),
            y: index(y0 * scale - slack, max)..=index(y1 * scale + slack, max),
        }
    }

    /// The number of tiles (at least one).
    pub fn count(&self) -> u64 {
        (u64::from(*self.x.end()) + 1 - u64::from(*self.x.start()))
            * (u64::from(*self.y.end()) + 1 - u64::from(*self.y.start()))
    }

    /// Whether `tile` is in the range.
    pub fn contains(&self, tile: TileId) -> bool {
        tile.z == self.z && self.x.contains(&tile.x) && self.y.contains(&tile.y)
    }

    /// Every tile of the range, row by row.
    pub fn tiles(&self) -> impl Iterator<Item = TileId> + '_ {
        self.y
            .clone()
            .flat_map(move |y| self.x.clone().map(move |x| TileId { z: self.z, x, y }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_z14_tile_of_the_old_town_is_13365_6503() {
        // Independent values: x = (lon + 180) / 360 × 2^z, y = (1 − asinh(tan φ) / π) / 2 × 2^z,
        // computed with Python's math module: 13365.703, 6503.535.
        let tile = TileId::containing(113.68, 34.75, 14);
        assert_eq!((tile.x(), tile.y()), (13365, 6503));
        let b = tile.bounds();
        assert!(b.min().x <= 113.68 && 113.68 <= b.max().x);
        assert!(b.min().y <= 34.75 && 34.75 <= b.max().y);
    }

    #[test]
    fn zoom_0_is_the_whole_projected_world() {
        let b = TileId::new(0, 0, 0).unwrap().bounds();
        assert!((b.min().x + 180.0).abs() < 1e-12 && (b.max().x - 180.0).abs() < 1e-12);
        assert!((b.max().y - MAX_LATITUDE).abs() < 1e-9);
        assert!((b.min().y + MAX_LATITUDE).abs() < 1e-9);
        let m = TileId::new(0, 0, 0).unwrap().bounds_3857();
        assert!((m[0] + 20_037_508.342_789_244).abs() < 1e-6);
        assert!((m[3] - 20_037_508.342_789_244).abs() < 1e-6);
    }

    #[test]
    fn tiles_outside_the_matrix_are_refused_with_the_coordinate_named() {
        assert_eq!(TileId::new(25, 0, 0), Err(TileError::Zoom { z: 25 }));
        assert_eq!(TileId::new(1, 2, 0), Err(TileError::Column { z: 1, x: 2 }));
        assert_eq!(TileId::new(1, 0, 2), Err(TileError::Row { z: 1, y: 2 }));
        assert!(TileId::new(24, (1 << 24) - 1, (1 << 24) - 1).is_ok());
        assert!(
            TileError::Row { z: 3, y: 9 }
                .to_string()
                .contains("0–7 at zoom 3")
        );
    }

    #[test]
    fn the_epsg_3857_bounds_of_a_child_are_a_quarter_of_its_parent() {
        let parent = TileId::new(10, 834, 406).unwrap().bounds_3857();
        let child = TileId::new(11, 1669, 813).unwrap().bounds_3857();
        let mid_x = f64::midpoint(parent[0], parent[2]);
        let mid_y = f64::midpoint(parent[1], parent[3]);
        assert!((child[0] - mid_x).abs() < 1e-6, "east half");
        assert!((child[3] - mid_y).abs() < 1e-6, "south half");
    }

    #[test]
    fn a_covering_range_includes_the_neighbours_the_buffer_reaches() {
        let tile = TileId::containing(113.68, 34.75, 14);
        let b = tile.bounds();
        // A point just inside the tile's west edge is in the western neighbour's buffer.
        let near_west = Rect::new(
            coord! { x: b.min().x + 1e-7, y: b.min().y + 1e-3 },
            coord! { x: b.min().x + 1e-7, y: b.min().y + 1e-3 },
        );
        let range = TileRange::covering(near_west, 14, 64.0 / 4096.0);
        assert!(range.contains(tile));
        assert!(range.contains(TileId::new(14, tile.x() - 1, tile.y()).unwrap()));
        assert!(!range.contains(TileId::new(14, tile.x() + 1, tile.y()).unwrap()));
        // Without a buffer the point's own tile covers it (and rounding may add one more).
        let plain = TileRange::covering(near_west, 14, 0.0);
        assert!(plain.contains(tile) && plain.count() <= 2);
        assert_eq!(range.tiles().count() as u64, range.count());
    }

    #[test]
    fn the_buffered_bounds_grow_by_the_buffer_on_every_side() {
        let tile = TileId::new(14, 13365, 6503).unwrap();
        let b = tile.bounds();
        let g = tile.buffered_bounds(0.5);
        let width = b.max().x - b.min().x;
        assert!((b.min().x - g.min().x - width / 2.0).abs() < 1e-9);
        assert!(g.max().y > b.max().y && g.min().y < b.min().y);
    }
}
