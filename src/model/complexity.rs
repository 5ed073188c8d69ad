//! How large a geometry a client may send as a question (a search area, a summary region, a
//! geometry literal in a CQL2 filter): vertices, parts and rings, counted before anything costly.
//!
//! Checking validity (self-intersections, overlapping parts) and clipping cost far more than
//! linear time in the vertices and parts, so a geometry is counted first, on the GeoJSON value
//! before it is parsed or on a geometry read from WKT, without allocating and without recursion,
//! and refused beyond [`MAX_QUERY_VERTICES`], [`MAX_QUERY_PARTS`] or [`MAX_QUERY_RINGS`].

use geo::Geometry;
use serde_json::Value;

/// The most vertices (positions) in a query geometry.
pub const MAX_QUERY_VERTICES: usize = 20_000;
/// The most parts in a query geometry (polygons of a multipolygon, lines of a multiline, points
/// of a multipoint, members of a collection).
pub const MAX_QUERY_PARTS: usize = 500;
/// The most rings (exterior and holes, over all polygons) in a query geometry.
pub const MAX_QUERY_RINGS: usize = 1_000;

/// A query geometry beyond a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ComplexityError {
    /// More than [`MAX_QUERY_VERTICES`] positions.
    #[error("more than {MAX_QUERY_VERTICES} vertices (at least {0})")]
    Vertices(usize),
    /// More than [`MAX_QUERY_PARTS`] parts.
    #[error("more than {MAX_QUERY_PARTS} parts (at least {0})")]
    Parts(usize),
    /// More than [`MAX_QUERY_RINGS`] rings.
    #[error("more than {MAX_QUERY_RINGS} rings (at least {0})")]
    Rings(usize),
}

/// Running totals, refusing as soon as one passes its limit.
#[derive(Debug, Default)]
struct Tally {
    vertices: usize,
    parts: usize,
    rings: usize,
}

impl Tally {
    fn vertices(&mut self, n: usize) -> Result<(), ComplexityError> {
        self.vertices += n;
        if self.vertices > MAX_QUERY_VERTICES {
            return Err(ComplexityError::Vertices(self.vertices));
        }
        Ok(())
    }

    fn parts(&mut self, n: usize) -> Result<(), ComplexityError> {
        self.parts += n;
        if self.parts > MAX_QUERY_PARTS {
            return Err(ComplexityError::Parts(self.parts));
        }
        Ok(())
    }

    fn rings(&mut self, n: usize) -> Result<(), ComplexityError> {
        self.rings += n;
        if self.rings > MAX_QUERY_RINGS {
            return Err(ComplexityError::Rings(self.rings));
        }
        Ok(())
    }
}

fn array(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Counts a GeoJSON geometry object before it is parsed. Malformed members count as empty: the
/// parser that follows names what is wrong with them.
///
/// ```
/// use citygrid::model::complexity::{check_geojson, ComplexityError, MAX_QUERY_VERTICES};
/// let ring: Vec<[f64; 2]> = (0..=MAX_QUERY_VERTICES).map(|i| [i as f64, 0.0]).collect();
/// let polygon = serde_json::json!({ "type": "Polygon", "coordinates": [ring] });
/// assert!(matches!(check_geojson(&polygon), Err(ComplexityError::Vertices(_))));
/// ```
pub fn check_geojson(value: &Value) -> Result<(), ComplexityError> {
    let mut tally = Tally::default();
    // Collections nest; an explicit stack instead of recursion (the JSON parser bounds the
    // depth, but the walk should not depend on it).
    let mut pending: Vec<&Value> = vec![value];
    while let Some(geometry) = pending.pop() {
        let coordinates = geometry.get("coordinates");
        match geometry.get("type").and_then(Value::as_str).unwrap_or("") {
            "Point" => tally.vertices(1)?,
            "MultiPoint" => {
                let points = array(coordinates);
                tally.parts(points.len())?;
                tally.vertices(points.len())?;
            }
            "LineString" => tally.vertices(array(coordinates).len())?,
            "MultiLineString" => {
                let lines = array(coordinates);
                tally.parts(lines.len())?;
                for line in lines {
                    tally.vertices(array(Some(line)).len())?;
                }
            }
            "Polygon" => polygon(&mut tally, array(coordinates))?,
            "MultiPolygon" => {
                let polygons = array(coordinates);
                tally.parts(polygons.len())?;
                for rings in polygons {
                    polygon(&mut tally, array(Some(rings)))?;
                }
            }
            "GeometryCollection" => {
                let members = array(geometry.get("geometries"));
                tally.parts(members.len())?;
                pending.extend(members);
            }
            _ => {}
        }
    }
    Ok(())
}

fn polygon(tally: &mut Tally, rings: &[Value]) -> Result<(), ComplexityError> {
    tally.rings(rings.len())?;
    for ring in rings {
        tally.vertices(array(Some(ring)).len())?;
    }
    Ok(())
}

/// Counts a geometry already read (from WKT in a CQL2 filter, whose length is bounded).
pub fn check_geometry(geometry: &Geometry<f64>) -> Result<(), ComplexityError> {
    let mut tally = Tally::default();
    let mut pending: Vec<&Geometry<f64>> = vec![geometry];
    while let Some(geometry) = pending.pop() {
        match geometry {
            Geometry::Point(_) => tally.vertices(1)?,
            Geometry::Line(_) => tally.vertices(2)?,
            Geometry::LineString(l) => tally.vertices(l.0.len())?,
            Geometry::MultiPoint(m) => {
                tally.parts(m.0.len())?;
                tally.vertices(m.0.len())?;
            }
            Geometry::MultiLineString(m) => {
                tally.parts(m.0.len())?;
                for l in &m.0 {
                    tally.vertices(l.0.len())?;
                }
            }
            Geometry::Polygon(p) => polygon_rings(&mut tally, p)?,
            Geometry::MultiPolygon(m) => {
                tally.parts(m.0.len())?;
                for p in &m.0 {
                    polygon_rings(&mut tally, p)?;
                }
            }
            Geometry::Rect(_) => tally.vertices(5)?,
            Geometry::Triangle(_) => tally.vertices(4)?,
            Geometry::GeometryCollection(c) => {
                tally.parts(c.0.len())?;
                pending.extend(&c.0);
            }
        }
    }
    Ok(())
}

fn polygon_rings(tally: &mut Tally, p: &geo::Polygon<f64>) -> Result<(), ComplexityError> {
    tally.rings(1 + p.interiors().len())?;
    tally.vertices(p.exterior().0.len())?;
    for ring in p.interiors() {
        tally.vertices(ring.0.len())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(x: f64) -> Value {
        json!([[[x, 0.0], [x + 0.5, 0.0], [x + 0.5, 0.5], [x, 0.5], [x, 0.0]]])
    }

    #[test]
    fn a_small_polygon_passes() {
        assert_eq!(
            check_geojson(&json!({ "type": "Polygon", "coordinates": square(0.0) })),
            Ok(())
        );
    }

    #[test]
    fn a_multipolygon_of_four_thousand_parts_is_refused_by_its_parts() {
        let parts: Vec<Value> = (0..4000).map(|i| square(f64::from(i))).collect();
        let value = json!({ "type": "MultiPolygon", "coordinates": parts });
        assert_eq!(check_geojson(&value), Err(ComplexityError::Parts(4000)));
    }

    #[test]
    fn a_ring_of_a_hundred_thousand_vertices_is_refused_by_its_vertices() {
        let ring: Vec<Value> = (0..100_000)
            .map(|i| json!([f64::from(i) * 1e-5, 0.0]))
            .collect();
        let value = json!({ "type": "Polygon", "coordinates": [ring] });
        assert!(matches!(
            check_geojson(&value),
            Err(ComplexityError::Vertices(_))
        ));
    }

    #[test]
    fn collections_count_the_members_of_their_members() {
        let inner = json!({ "type": "GeometryCollection", "geometries": vec![json!({ "type": "Point", "coordinates": [0, 0] }); 300] });
        let value = json!({ "type": "GeometryCollection", "geometries": [inner.clone(), inner] });
        assert!(matches!(
            check_geojson(&value),
            Err(ComplexityError::Parts(_))
        ));
    }

    #[test]
    fn polygons_with_too_many_holes_are_refused_by_their_rings() {
        let rings: Vec<Value> = (0..1001)
            .map(|_| json!([[0, 0], [1, 0], [0, 1], [0, 0]]))
            .collect();
        let value = json!({ "type": "Polygon", "coordinates": rings });
        assert_eq!(check_geojson(&value), Err(ComplexityError::Rings(1001)));
    }

    #[test]
    fn a_parsed_geometry_is_counted_alike() {
        let many = geo::MultiPoint(
            (0..600)
                .map(|i| geo::point!(x: f64::from(i), y: 0.0))
                .collect(),
        );
        assert_eq!(
            check_geometry(&Geometry::MultiPoint(many)),
            Err(ComplexityError::Parts(600))
        );
    }
}
