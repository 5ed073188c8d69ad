//! Geodesic measures of geometries, whole or clipped to a query region.
//!
//! CRS: WGS84 longitude/latitude in degrees. Lengths are metres and areas m², geodesic on the
//! WGS84 ellipsoid (Karney's algorithms, through `geo`'s [`Geodesic`] metric space and
//! [`GeodesicArea`]). Edges are straight in lon/lat, as every predicate of the crate treats them:
//! clipping ([`Region::clip_measures`]) happens in lon/lat, and each clipped piece is then
//! measured geodesically vertex to vertex.

use geo::{
    BooleanOps, BoundingRect, Contains, Geodesic, GeodesicArea, Geometry, Intersects, Length,
    LineString, MultiLineString, MultiPolygon, Polygon, Rect, Winding, orient::Direction,
    orient::Orient,
};

/// Total geodesic length in metres of the linear parts of `g`: lines, line strings and the lines
/// inside collections. Points and polygons (whose perimeter is not a length of the layer) count 0.
///
/// ```
/// use citygrid::index::measure::geodesic_length_m;
/// use geo::{Geometry, line_string};
///
/// // One degree of meridian at the equator is about 110,574 m.
/// let meridian: Geometry<f64> = line_string![(x: 0.0, y: 0.0), (x: 0.0, y: 1.0)].into();
/// assert!((geodesic_length_m(&meridian) - 110_574.4).abs() < 1.0);
/// ```
pub fn geodesic_length_m(g: &Geometry<f64>) -> f64 {
    match g {
        Geometry::Line(line) => Geodesic.length(line),
        Geometry::LineString(line) => Geodesic.length(line),
        Geometry::MultiLineString(lines) => Geodesic.length(lines),
        Geometry::GeometryCollection(items) => items.iter().map(geodesic_length_m).sum(),
        Geometry::Point(_)
        | Geometry::MultiPoint(_)
        | Geometry::Polygon(_)
        | Geometry::MultiPolygon(_)
        | Geometry::Rect(_)
        | Geometry::Triangle(_) => 0.0,
    }
}

/// Geodesic area in m² of the polygonal parts of `g` (polygons, rectangles, triangles, and those
/// inside collections); 0 for points and lines.
///
/// Robust to ring orientation: a clockwise exterior or a counter-clockwise hole is measured as
/// the region it bounds on the small side, never as the rest of the globe. Polygons are assumed
/// smaller than a hemisphere.
///
/// ```
/// use citygrid::index::measure::geodesic_area_m2;
/// use geo::{Geometry, polygon};
///
/// // A 1° × 1° cell at the equator, given clockwise.
/// let cell: Geometry<f64> =
///     polygon![(x: 0.0, y: 0.0), (x: 0.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 0.0)].into();
/// assert!((geodesic_area_m2(&cell) - 12_308_778_361.0).abs() < 1_000.0);
/// ```
pub fn geodesic_area_m2(g: &Geometry<f64>) -> f64 {
    match g {
        Geometry::Polygon(p) => polygon_area_m2(p),
        Geometry::MultiPolygon(mp) => mp.iter().map(polygon_area_m2).sum(),
        Geometry::Rect(r) => polygon_area_m2(&r.to_polygon()),
        Geometry::Triangle(t) => polygon_area_m2(&t.to_polygon()),
        Geometry::GeometryCollection(items) => items.iter().map(geodesic_area_m2).sum(),
        Geometry::Point(_)
        | Geometry::MultiPoint(_)
        | Geometry::Line(_)
        | Geometry::LineString(_)
        | Geometry::MultiLineString(_) => 0.0,
    }
}

/// The geodesic area of one polygon, orienting its rings first if they are not exterior-CCW,
/// holes-CW (Karney's unsigned area reads a clockwise exterior as the complement on the globe).
fn polygon_area_m2(p: &Polygon<f64>) -> f64 {
    // A degenerate ring has no winding order; it bounds no area either way.
    let exterior_ok = !p.exterior().is_cw();
    let holes_ok = p.interiors().iter().all(|ring| !ring.is_ccw());
    if exterior_ok && holes_ok {
        p.geodesic_area_unsigned()
    } else {
        p.orient(Direction::Default).geodesic_area_unsigned()
    }
}

/// What part of a feature lies in a [`Region`], measured geodesically.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Clipped {
    /// Whether any part of the feature lies inside the region or on its boundary.
    pub inside: bool,
    /// Geodesic length in metres of the feature's lines inside the region (boundary included).
    pub length_m: f64,
    /// Geodesic area in m² of the feature's polygons intersected with the region.
    pub area_m2: f64,
}

/// A query polygon (a multipolygon, holes allowed) prepared once to clip many features.
///
/// ```
/// use citygrid::index::measure::Region;
/// use geo::{Geometry, MultiPolygon, line_string, polygon};
///
/// let region = Region::new(MultiPolygon::new(vec![polygon![
///     (x: 0.0, y: 0.0), (x: 0.01, y: 0.0), (x: 0.01, y: 0.01), (x: 0.0, y: 0.01),
/// ]]));
/// // A line from the middle of the square to well outside it: only its inside half counts.
/// let line: Geometry<f64> = line_string![(x: 0.005, y: 0.005), (x: 0.015, y: 0.005)].into();
/// let clipped = region.clip_measures(&line);
/// assert!(clipped.inside);
/// assert!((clipped.length_m - 556.6).abs() < 0.5);
/// ```
#[derive(Debug, Clone)]
pub struct Region {
    area: MultiPolygon<f64>,
    bbox: Option<Rect<f64>>,
}

impl Region {
    /// Prepares `area` (any ring orientation; holes and several parts allowed).
    pub fn new(area: MultiPolygon<f64>) -> Self {
        let bbox = area.bounding_rect();
        Self { area, bbox }
    }

    /// The region's polygons.
    pub fn area(&self) -> &MultiPolygon<f64> {
        &self.area
    }

    /// The region's bounding rectangle (`None` when it is empty).
    pub fn bbox(&self) -> Option<Rect<f64>> {
        self.bbox
    }

    /// Whether any part of `g` lies inside the region or on its boundary.
    pub fn intersects(&self, g: &Geometry<f64>) -> bool {
        let Some(region_box) = self.bbox else {
            return false;
        };
        g.bounding_rect()
            .is_some_and(|b| b.intersects(&region_box) && self.area.intersects(g))
    }

    /// The part of `g` inside the region (boundary included), measured: lines crossing the
    /// region's edge count only their inside part; polygons count the area of their intersection
    /// with the region; points count as inside or not.
    pub fn clip_measures(&self, g: &Geometry<f64>) -> Clipped {
        let (Some(region_box), Some(feature_box)) = (self.bbox, g.bounding_rect()) else {
            return Clipped::default();
        };
        if !feature_box.intersects(&region_box) {
            return Clipped::default();
        }
        // Fast path: a feature whose bounding box lies in the region lies in it whole.
        // `Contains<Rect>` needs a box with an interior; thin boxes take the exact path.
        let has_interior = feature_box.width() > 0.0 && feature_box.height() > 0.0;
        if has_interior && self.area.contains(&feature_box) {
            return Clipped {
                inside: true,
                length_m: geodesic_length_m(g),
                area_m2: geodesic_area_m2(g),
            };
        }
        if !self.area.intersects(g) {
            return Clipped::default();
        }
        let mut lines = Vec::new();
        let mut polygons = Vec::new();
        collect_parts(g, &mut lines, &mut polygons);
        let length_m = if lines.is_empty() {
            0.0
        } else {
            let inside = self.area.clip(&MultiLineString::new(lines), false);
            Geodesic.length(&inside)
        };
        let area_m2 = if polygons.is_empty() {
            0.0
        } else {
            let inside = MultiPolygon::new(polygons).intersection(&self.area);
            inside.iter().map(polygon_area_m2).sum()
        };
        Clipped {
            inside: true,
            length_m,
            area_m2,
        }
    }
}

/// Splits `g` into its line strings and polygons (points are dropped: they have no measure).
fn collect_parts(g: &Geometry<f64>, lines: &mut Vec<LineString<f64>>, polygons: &mut Vec<Polygon<f64>>) {
    match g {
        Geometry::Line(line) => lines.push(LineString::from(vec![line.start, line.end])),
        Geometry::LineString(line) => lines.push(line.clone()),
        Geometry::MultiLineString(mls) => lines.extend(mls.iter().cloned()),
        Geometry::Polygon(p) => polygons.push(p.clone()),
        Geometry::MultiPolygon(mp) => polygons.extend(mp.iter().cloned()),
        Geometry::Rect(r) => polygons.push(r.to_polygon()),
        Geometry::Triangle(t) => polygons.push(t.to_polygon()),
        Geometry::GeometryCollection(items) => {
            for item in items {
                collect_parts(item, lines, polygons);
            }
        }
        Geometry::Point(_) | Geometry::MultiPoint(_) => {}
    }
}
