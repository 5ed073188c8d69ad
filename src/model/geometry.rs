//! Geometry validation at the edge and GeoJSON ⇄ `geo` conversion.
//!
//! Input positions are CRS84 `[lon, lat]` (a third number, a height, is accepted and dropped).
//! Areas are geodesic on the WGS84 ellipsoid, in m².

use geo::{GeodesicArea, Geometry};
use geojson::Value as Gj;

use super::crs::InputCrs;

/// The geometry types a collection accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryFamily {
    /// `Point` only.
    Point,
    /// `Point` or `MultiPoint`.
    Points,
    /// `LineString` or `MultiLineString`.
    Line,
    /// `Polygon` or `MultiPolygon`.
    Polygon,
    /// Any GeoJSON geometry.
    Any,
}

impl GeometryFamily {
    /// The GeoJSON type names accepted.
    pub fn type_names(self) -> &'static [&'static str] {
        match self {
            Self::Point => &["Point"],
            Self::Points => &["Point", "MultiPoint"],
            Self::Line => &["LineString", "MultiLineString"],
            Self::Polygon => &["Polygon", "MultiPolygon"],
            Self::Any => &[
                "Point",
                "MultiPoint",
                "LineString",
                "MultiLineString",
                "Polygon",
                "MultiPolygon",
                "GeometryCollection",
            ],
        }
    }

    /// The OGC item type / JSON Schema `$ref` for the geometry queryable.
    pub fn schema_url(self) -> &'static str {
        match self {
            Self::Point => "https://geojson.org/schema/Point.json",
            Self::Points => "https://geojson.org/schema/MultiPoint.json",
            Self::Line => "https://geojson.org/schema/MultiLineString.json",
            Self::Polygon => "https://geojson.org/schema/MultiPolygon.json",
            Self::Any => "https://geojson.org/schema/Geometry.json",
        }
    }

    /// The family named by a GeoJSON schema URL (or OGC `geometry-*` format).
    pub fn from_schema_ref(reference: &str) -> Self {
        let name = reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .trim_end_matches(".json")
            .trim_start_matches("geometry-")
            .to_ascii_lowercase();
        match name.as_str() {
            "point" => Self::Point,
            "multipoint" => Self::Points,
            "linestring" | "multilinestring" => Self::Line,
            "polygon" | "multipolygon" => Self::Polygon,
            _ => Self::Any,
        }
    }

    /// The narrowest family containing the GeoJSON type `name`.
    pub fn of_type(name: &str) -> Self {
        match name {
            "Point" => Self::Point,
            "MultiPoint" => Self::Points,
            "LineString" | "MultiLineString" => Self::Line,
            "Polygon" | "MultiPolygon" => Self::Polygon,
            _ => Self::Any,
        }
    }

    /// The narrowest family containing both.
    #[must_use]
    pub fn union(self, other: Self) -> Self {
        match (self, other) {
            (a, b) if a == b => a,
            (Self::Point | Self::Points, Self::Point | Self::Points) => Self::Points,
            _ => Self::Any,
        }
    }

    /// A stable lowercase name (stored, and shown in metadata).
    pub fn name(self) -> &'static str {
        match self {
            Self::Point => "point",
            Self::Points => "points",
            Self::Line => "line",
            Self::Polygon => "polygon",
            Self::Any => "any",
        }
    }

    /// Parses [`GeometryFamily::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Point,
            Self::Points,
            Self::Line,
            Self::Polygon,
            Self::Any,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// Why a geometry was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// The feature has no geometry.
    #[error("the feature has no geometry")]
    Missing,
    /// The type is not accepted by the collection.
    #[error("geometry type {found} is not accepted here; allowed: {}", allowed.join(", "))]
    WrongType {
        /// The type found.
        found: String,
        /// The types accepted.
        allowed: Vec<&'static str>,
    },
    /// A position that is not 2 or 3 finite numbers.
    #[error("a position must have 2 or 3 finite numbers, found {0:?}")]
    BadPosition(String),
    /// A position outside lon −180..180, lat −90..90.
    #[error("position [{0}, {1}] is outside longitude -180..180 / latitude -90..90")]
    OutOfRange(f64, f64),
    /// A line with fewer than 2 positions.
    #[error("a LineString needs at least 2 positions, found {0}")]
    ShortLine(usize),
    /// A ring with fewer than 4 positions.
    #[error("a polygon ring needs at least 4 positions, found {0}")]
    ShortRing(usize),
    /// A ring whose last position differs from its first.
    #[error("a polygon ring must be closed (last position equal to the first)")]
    OpenRing,
    /// A polygon that is not valid (self-intersection, hole outside its shell…).
    #[error("invalid polygon: {0}")]
    Invalid(String),
    /// An empty multi-geometry or collection.
    #[error("empty {0}")]
    Empty(&'static str),
}

fn check_position(position: &[f64]) -> Result<(), GeometryError> {
    if !(2..=3).contains(&position.len()) || position.iter().any(|n| !n.is_finite()) {
        return Err(GeometryError::BadPosition(format!("{position:?}")));
    }
    let (lon, lat) = (position[0], position[1]);
    let limit_lon = 180.0 + RANGE_NOISE_DEG;
    let limit_lat = 90.0 + RANGE_NOISE_DEG;
    if !(-limit_lon..=limit_lon).contains(&lon) || !(-limit_lat..=limit_lat).contains(&lat) {
        return Err(GeometryError::OutOfRange(lon, lat));
    }
    Ok(())
}

fn check_line(line: &[Vec<f64>]) -> Result<(), GeometryError> {
    line.iter().try_for_each(|p| check_position(p))?;
    if line.len() < 2 {
        return Err(GeometryError::ShortLine(line.len()));
    }
    Ok(())
}

fn check_rings(rings: &[Vec<Vec<f64>>]) -> Result<(), GeometryError> {
    if rings.is_empty() {
        return Err(GeometryError::Empty("Polygon"));
    }
    for ring in rings {
        ring.iter().try_for_each(|p| check_position(p))?;
        if ring.len() < 4 {
            return Err(GeometryError::ShortRing(ring.len()));
        }
        if ring.first().map(|p| &p[..2]) != ring.last().map(|p| &p[..2]) {
            return Err(GeometryError::OpenRing);
        }
    }
    Ok(())
}

fn check_value(value: &Gj) -> Result<(), GeometryError> {
    match value {
        Gj::Point(p) => check_position(p),
        Gj::MultiPoint(points) => {
            if points.is_empty() {
                return Err(GeometryError::Empty("MultiPoint"));
            }
            points.iter().try_for_each(|p| check_position(p))
        }
        Gj::LineString(line) => check_line(line),
        Gj::MultiLineString(lines) => {
            if lines.is_empty() {
                return Err(GeometryError::Empty("MultiLineString"));
            }
            lines.iter().try_for_each(|l| check_line(l))
        }
        Gj::Polygon(rings) => check_rings(rings),
        Gj::MultiPolygon(polygons) => {
            if polygons.is_empty() {
                return Err(GeometryError::Empty("MultiPolygon"));
            }
            polygons.iter().try_for_each(|p| check_rings(p))
        }
        Gj::GeometryCollection(items) => {
            if items.is_empty() {
                return Err(GeometryError::Empty("GeometryCollection"));
            }
            items.iter().try_for_each(|g| check_value(&g.value))
        }
    }
}

/// The GeoJSON type name of a value.
pub fn type_name(value: &Gj) -> &'static str {
    match value {
        Gj::Point(_) => "Point",
        Gj::MultiPoint(_) => "MultiPoint",
        Gj::LineString(_) => "LineString",
        Gj::MultiLineString(_) => "MultiLineString",
        Gj::Polygon(_) => "Polygon",
        Gj::MultiPolygon(_) => "MultiPolygon",
        Gj::GeometryCollection(_) => "GeometryCollection",
    }
}

/// Positions this close outside the valid range are floating-point noise of real data (e.g.
/// 180.00000000000006) and are clamped onto the range rather than refused.
const RANGE_NOISE_DEG: f64 = 1e-9;

fn convert_positions(value: &mut Gj, crs: InputCrs) {
    let convert = |p: &mut Vec<f64>| {
        p.truncate(2);
        let (lon, lat) = crs.to_wgs84(p[0].clamp(-180.0, 180.0), p[1].clamp(-90.0, 90.0));
        p[0] = lon;
        p[1] = lat;
    };
    match value {
        Gj::Point(p) => convert(p),
        Gj::MultiPoint(ps) | Gj::LineString(ps) => ps.iter_mut().for_each(convert),
        Gj::MultiLineString(ls) | Gj::Polygon(ls) => ls.iter_mut().flatten().for_each(convert),
        Gj::MultiPolygon(pss) => pss.iter_mut().flatten().flatten().for_each(convert),
        Gj::GeometryCollection(items) => {
            for g in items.iter_mut() {
                convert_positions(&mut g.value, crs);
            }
        }
    }
}

/// Validates a GeoJSON geometry for a collection of `family`, converts it from `crs` to WGS84
/// and returns it as a `geo` geometry.
pub fn parse(
    value: Option<Gj>,
    family: GeometryFamily,
    crs: InputCrs,
) -> Result<Geometry<f64>, GeometryError> {
    let geometry = parse_without_validity(value, family, crs)?;
    // Orientation (done by the parse) changes no ring's shape, so validity is the same.
    check_validity(&geometry)?;
    Ok(geometry)
}

/// As [`parse`] but without the polygon validity check, which is quadratic in `geo`: for a query
/// geometry, counted first and checked by [`crate::index::validity`] under a time budget.
pub fn parse_without_validity(
    value: Option<Gj>,
    family: GeometryFamily,
    crs: InputCrs,
) -> Result<Geometry<f64>, GeometryError> {
    let mut value = value.ok_or(GeometryError::Missing)?;
    let found = type_name(&value);
    if !family.type_names().contains(&found) {
        return Err(GeometryError::WrongType {
            found: found.to_owned(),
            allowed: family.type_names().to_vec(),
        });
    }
    check_value(&value)?;
    convert_positions(&mut value, crs);
    let geometry =
        Geometry::<f64>::try_from(value).map_err(|e| GeometryError::Invalid(e.to_string()))?;
    Ok(orient(geometry))
}

/// Orients polygon rings as RFC 7946 asks (exterior counter-clockwise, holes clockwise); the
/// geodesic area of a clockwise exterior would be that of the rest of the globe.
fn orient(geometry: Geometry<f64>) -> Geometry<f64> {
    use geo::orient::{Direction, Orient};
    match geometry {
        Geometry::Polygon(p) => Geometry::Polygon(p.orient(Direction::Default)),
        Geometry::MultiPolygon(m) => Geometry::MultiPolygon(m.orient(Direction::Default)),
        Geometry::GeometryCollection(items) => {
            Geometry::GeometryCollection(items.into_iter().map(orient).collect())
        }
        other => other,
    }
}

/// Checks polygons for self-intersections, holes outside shells and the like (OGC simple
/// features validity, as implemented by `geo`).
fn check_validity(geometry: &Geometry<f64>) -> Result<(), GeometryError> {
    use geo::algorithm::Validation;
    let polygons: &[geo::Polygon<f64>] = match geometry {
        Geometry::Polygon(p) => std::slice::from_ref(p),
        Geometry::MultiPolygon(m) => &m.0,
        _ => return Ok(()),
    };
    geometry.check_validation().map_err(|e| {
        let reason = e.to_string();
        if !reason.contains("self-intersection") {
            return GeometryError::Invalid(reason);
        }
        match first_self_intersection(polygons) {
            Some(place) => GeometryError::Invalid(format!("{reason}: {place}")),
            None => GeometryError::Invalid(reason),
        }
    })
}

/// Where the first ring that crosses or touches itself does so: the point (lon, lat), the
/// ring (exterior, or the 1-based hole) and, in a MultiPolygon, the 1-based polygon. Found the
/// way `geo` finds it (two segments that meet other than end to start), so it runs only when
/// `geo` has already reported a self-intersection.
fn first_self_intersection(polygons: &[geo::Polygon<f64>]) -> Option<String> {
    use geo::line_intersection::{LineIntersection, line_intersection};
    use geo::{Intersects as _, LineString};
    let crossing = |ring: &LineString<f64>| {
        for (i, line) in ring.lines().enumerate() {
            for (j, other) in ring.lines().enumerate() {
                if i != j
                    && line.intersects(&other)
                    && line.start != other.end
                    && line.end != other.start
                {
                    return match line_intersection(line, other)? {
                        LineIntersection::SinglePoint { intersection, .. } => Some(intersection),
                        LineIntersection::Collinear { intersection } => Some(intersection.start),
                    };
                }
            }
        }
        None
    };
    for (k, polygon) in polygons.iter().enumerate() {
        let rings = std::iter::once(polygon.exterior()).chain(polygon.interiors());
        for (r, ring) in rings.enumerate() {
            if let Some(at) = crossing(ring) {
                let ring = if r == 0 {
                    "the exterior ring".to_owned()
                } else {
                    format!("hole {r}")
                };
                let part = if polygons.len() > 1 {
                    format!("polygon {} of the MultiPolygon, ", k + 1)
                } else {
                    String::new()
                };
                return Some(format!(
                    "{part}{ring} crosses itself at {}, {} (lon, lat)",
                    at.x, at.y
                ));
            }
        }
    }
    None
}

/// Geodesic area of the polygons in `geometry`, m² (zero for points and lines).
pub fn geodesic_area_m2(geometry: &Geometry<f64>) -> f64 {
    match geometry {
        Geometry::Polygon(p) => p.geodesic_area_unsigned(),
        Geometry::MultiPolygon(mp) => mp.geodesic_area_unsigned(),
        Geometry::GeometryCollection(items) => items.iter().map(geodesic_area_m2).sum(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_self_intersection_names_the_point_the_ring_and_the_polygon() {
        // A bow tie: the edges (0,0)-(2,2) and (2,0)-(0,2) cross at (1, 1).
        let bow_tie = json!([[[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0], [0.0, 0.0]]]);
        let square = json!([[
            [10.0, 10.0],
            [11.0, 10.0],
            [11.0, 11.0],
            [10.0, 11.0],
            [10.0, 10.0]
        ]]);
        let err = parse(
            gj(json!({"type": "Polygon", "coordinates": bow_tie})),
            GeometryFamily::Polygon,
            InputCrs::Wgs84,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("exterior ring crosses itself at 1, 1 (lon, lat)"),
            "{err}"
        );
        let err = parse(
            gj(json!({"type": "MultiPolygon", "coordinates": [square, bow_tie]})),
            GeometryFamily::Polygon,
            InputCrs::Wgs84,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("polygon 2 of the MultiPolygon, the exterior ring crosses itself at 1, 1"),
            "{err}"
        );
    }

    #[expect(
        clippy::unnecessary_wraps,
        reason = "parse takes the Option a GeoJSON feature carries"
    )]
    fn gj(value: serde_json::Value) -> Option<Gj> {
        Some(geojson::Geometry::from_json_value(value).unwrap().value)
    }

    #[test]
    fn a_point_layer_refuses_a_polygon() {
        let err = parse(
            gj(json!({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]})),
            GeometryFamily::Point,
            InputCrs::Wgs84,
        )
        .unwrap_err();
        assert!(matches!(err, GeometryError::WrongType { .. }), "{err}");
    }

    #[test]
    fn open_and_short_rings_are_refused() {
        let open = gj(json!({"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1]]]}));
        assert_eq!(
            parse(open, GeometryFamily::Polygon, InputCrs::Wgs84),
            Err(GeometryError::OpenRing)
        );
        let short = gj(json!({"type": "Polygon", "coordinates": [[[0,0],[1,0],[0,0]]]}));
        assert_eq!(
            parse(short, GeometryFamily::Polygon, InputCrs::Wgs84),
            Err(GeometryError::ShortRing(3))
        );
    }

    #[test]
    fn a_self_intersecting_polygon_is_refused() {
        let bowtie =
            gj(json!({"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]}));
        assert!(matches!(
            parse(bowtie, GeometryFamily::Polygon, InputCrs::Wgs84),
            Err(GeometryError::Invalid(_))
        ));
    }

    #[test]
    fn out_of_range_positions_are_refused() {
        let far = gj(json!({"type": "Point", "coordinates": [200, 0]}));
        assert!(matches!(
            parse(far, GeometryFamily::Point, InputCrs::Wgs84),
            Err(GeometryError::OutOfRange(..))
        ));
        let noise = Some(Gj::Point(vec![180.000_000_000_000_06, 1.0]));
        let Ok(Geometry::Point(p)) = parse(noise, GeometryFamily::Point, InputCrs::Wgs84) else {
            panic!("noise refused")
        };
        assert!((p.x() - 180.0).abs() < f64::EPSILON);
        let nan = Some(Gj::Point(vec![f64::NAN, 1.0]));
        assert!(matches!(
            parse(nan, GeometryFamily::Point, InputCrs::Wgs84),
            Err(GeometryError::BadPosition(_))
        ));
        let four = Some(Gj::Point(vec![1.0, 2.0, 3.0, 4.0]));
        assert!(matches!(
            parse(four, GeometryFamily::Point, InputCrs::Wgs84),
            Err(GeometryError::BadPosition(_))
        ));
    }

    #[test]
    fn gcj02_input_is_converted_to_wgs84() {
        let point =
            gj(json!({"type": "Point", "coordinates": [113.686_129_1, 34.748_912_5, 12.0]}));
        let Geometry::Point(p) = parse(point, GeometryFamily::Point, InputCrs::Gcj02).unwrap()
        else {
            panic!("not a point");
        };
        assert!((p.x() - 113.68).abs() < 1e-7 && (p.y() - 34.75).abs() < 1e-7);
    }

    #[test]
    fn a_clockwise_polygon_is_oriented_and_measures_the_same() {
        let ccw = gj(
            json!({"type": "Polygon", "coordinates": [[[113.0,34.75],[113.001,34.75],[113.001,34.751],[113.0,34.751],[113.0,34.75]]]}),
        );
        let cw = gj(
            json!({"type": "Polygon", "coordinates": [[[113.0,34.75],[113.0,34.751],[113.001,34.751],[113.001,34.75],[113.0,34.75]]]}),
        );
        let a = geodesic_area_m2(&parse(ccw, GeometryFamily::Polygon, InputCrs::Wgs84).unwrap());
        let b = geodesic_area_m2(&parse(cw, GeometryFamily::Polygon, InputCrs::Wgs84).unwrap());
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn geodesic_area_of_a_small_square_is_close_to_its_planar_metres() {
        // 0.001° × 0.001° at 34.75°N ≈ 91.5 m × 110.9 m.
        let square = gj(
            json!({"type": "Polygon", "coordinates": [[[113.0,34.75],[113.001,34.75],[113.001,34.751],[113.0,34.751],[113.0,34.75]]]}),
        );
        let area =
            geodesic_area_m2(&parse(square, GeometryFamily::Polygon, InputCrs::Wgs84).unwrap());
        assert!((area - 10_150.0).abs() < 60.0, "{area}");
    }
}
