//! Validity of a query polygon (OGC simple features, the checks of `geo`'s `Validation`) in
//! time that grows gently with its size, and that stops when asked.
//!
//! `geo` tests every pair of a ring's segments for a self-intersection and relates every pair of
//! a multipolygon's parts, so a 100,000-vertex ring takes minutes and a 4,000-part multipolygon
//! as long. Here the segments are swept in order of their leftmost x (only segments whose x
//! ranges overlap are tested), and rings and parts are related only when their bounding boxes
//! meet. `stop` is asked between steps: a caller with a time budget or a client that went away
//! ends the work early. CRS: the plane of the coordinates given (lon/lat degrees).

use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::{BoundingRect, Coord, Intersects, Line, LineString, Polygon, Rect, Relate};

/// Why a query polygon was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidityError {
    /// The geometry is not valid; the message says where.
    #[error("{0}")]
    Invalid(String),
    /// `stop` answered true before the check ended.
    #[error("stopped before the validity check ended")]
    Stopped,
}

/// How many inner steps run between two questions to `stop`.
const STEPS_PER_CHECK: usize = 4096;

/// Counts steps and asks `stop` every [`STEPS_PER_CHECK`].
struct Steps<'a> {
    stop: &'a dyn Fn() -> bool,
    count: usize,
}

impl Steps<'_> {
    fn step(&mut self) -> Result<(), ValidityError> {
        self.count += 1;
        if self.count.is_multiple_of(STEPS_PER_CHECK) && (self.stop)() {
            return Err(ValidityError::Stopped);
        }
        Ok(())
    }

    fn now(&self) -> Result<(), ValidityError> {
        if (self.stop)() {
            return Err(ValidityError::Stopped);
        }
        Ok(())
    }
}

/// Checks polygons (each part of a multipolygon and the parts against each other); other
/// geometries are valid here when their coordinates are finite.
pub fn check(geometry: &geo::Geometry<f64>, stop: &dyn Fn() -> bool) -> Result<(), ValidityError> {
    let mut steps = Steps { stop, count: 0 };
    match geometry {
        geo::Geometry::Polygon(p) => polygon(p, "the polygon", &mut steps),
        geo::Geometry::MultiPolygon(m) => {
            for (i, p) in m.0.iter().enumerate() {
                polygon(p, &format!("polygon {i}"), &mut steps)?;
            }
            parts_apart(&m.0, &mut steps)
        }
        other => {
            if geo::CoordsIter::coords_iter(other).all(|c| c.x.is_finite() && c.y.is_finite()) {
                Ok(())
            } else {
                Err(ValidityError::Invalid("a coordinate is not finite".into()))
            }
        }
    }
}

fn invalid(message: String) -> ValidityError {
    ValidityError::Invalid(message)
}

fn polygon(p: &Polygon<f64>, name: &str, steps: &mut Steps<'_>) -> Result<(), ValidityError> {
    if p.exterior().0.is_empty() {
        return Ok(());
    }
    let rings = std::iter::once(p.exterior()).chain(p.interiors());
    for (i, ring) in rings.enumerate() {
        if ring.0.is_empty() {
            continue;
        }
        let role = if i == 0 {
            format!("the exterior ring of {name}")
        } else {
            format!("interior ring {} of {name}", i - 1)
        };
        if let Some(c) = ring
            .0
            .iter()
            .position(|c| !c.x.is_finite() || !c.y.is_finite())
        {
            return Err(invalid(format!("{role}: coordinate {c} is not finite")));
        }
        let mut distinct = ring.0.clone();
        distinct.dedup();
        if distinct.len() < 4 {
            return Err(invalid(format!("{role} has fewer than 4 points")));
        }
        if let Some(at) = self_intersection(ring, steps)? {
            return Err(invalid(format!(
                "{role} has a self-intersection near ({:.7}, {:.7})",
                at.x, at.y
            )));
        }
    }
    let holes: Vec<&LineString<f64>> = p.interiors().iter().filter(|r| !r.0.is_empty()).collect();
    if holes.is_empty() {
        return Ok(());
    }
    let exterior = Polygon::new(p.exterior().clone(), vec![]);
    let prepared = geo::PreparedGeometry::from(&exterior);
    let shapes: Vec<Polygon<f64>> = holes
        .iter()
        .map(|r| Polygon::new((*r).clone(), vec![]))
        .collect();
    for (i, hole) in shapes.iter().enumerate() {
        steps.now()?;
        let matrix = prepared.relate(hole);
        if !matrix.is_contains() {
            return Err(invalid(format!(
                "interior ring {i} of {name} is not inside its exterior ring"
            )));
        }
        if matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            return Err(invalid(format!(
                "interior ring {i} of {name} touches the exterior ring along a line"
            )));
        }
    }
    for (i, j) in meeting_pairs(&shapes, steps)? {
        steps.now()?;
        let matrix = shapes[i].relate(&shapes[j]);
        if matrix.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
            return Err(invalid(format!(
                "interior rings {i} and {j} of {name} overlap"
            )));
        }
        if matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            return Err(invalid(format!(
                "interior rings {i} and {j} of {name} touch along a line"
            )));
        }
    }
    Ok(())
}

/// The parts of a multipolygon may touch at points only.
fn parts_apart(parts: &[Polygon<f64>], steps: &mut Steps<'_>) -> Result<(), ValidityError> {
    for (i, j) in meeting_pairs(parts, steps)? {
        steps.now()?;
        let matrix = parts[i].relate(&parts[j]);
        if matrix.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
            return Err(invalid(format!("polygons {i} and {j} overlap")));
        }
        if matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            return Err(invalid(format!("polygons {i} and {j} touch along a line")));
        }
    }
    Ok(())
}

/// The pairs (i < j) of polygons whose bounding boxes meet: the only ones that can overlap or
/// touch.
fn meeting_pairs(
    polygons: &[Polygon<f64>],
    steps: &mut Steps<'_>,
) -> Result<Vec<(usize, usize)>, ValidityError> {
    let mut boxes: Vec<(usize, Rect<f64>)> = polygons
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.bounding_rect().map(|r| (i, r)))
        .collect();
    boxes.sort_by(|a, b| a.1.min().x.total_cmp(&b.1.min().x));
    let mut pairs = Vec::new();
    for (k, (i, a)) in boxes.iter().enumerate() {
        for (j, b) in &boxes[k + 1..] {
            steps.step()?;
            if b.min().x > a.max().x {
                break;
            }
            if a.intersects(b) {
                pairs.push(((*i).min(*j), (*i).max(*j)));
            }
        }
    }
    Ok(pairs)
}

/// A point where two segments of `ring` cross or overlap other than at the vertex two
/// neighbouring segments share (the rule of `geo`'s check).
fn self_intersection(
    ring: &LineString<f64>,
    steps: &mut Steps<'_>,
) -> Result<Option<Coord<f64>>, ValidityError> {
    let mut segments: Vec<Line<f64>> = ring.lines().collect();
    let left = |l: &Line<f64>| l.start.x.min(l.end.x);
    let right = |l: &Line<f64>| l.start.x.max(l.end.x);
    segments.sort_by(|a, b| left(a).total_cmp(&left(b)));
    for (k, a) in segments.iter().enumerate() {
        let a_right = right(a);
        for b in &segments[k + 1..] {
            steps.step()?;
            if left(b) > a_right {
                break;
            }
            if a.intersects(b) && a.start != b.end && a.end != b.start {
                return Ok(Some(a.start));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Geometry, wkt};

    fn never() -> bool {
        false
    }

    #[test]
    fn a_square_is_valid() {
        let square: Geometry<f64> = wkt!(POLYGON((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.))).into();
        assert_eq!(check(&square, &never), Ok(()));
    }

    #[test]
    fn a_bow_tie_has_a_self_intersection() {
        let bow: Geometry<f64> = wkt!(POLYGON((0. 0.,1. 1.,1. 0.,0. 1.,0. 0.))).into();
        assert!(
            matches!(check(&bow, &never), Err(ValidityError::Invalid(m)) if m.contains("self-intersection"))
        );
    }

    #[test]
    fn overlapping_parts_are_invalid_and_touching_corners_are_not() {
        let overlapping: Geometry<f64> =
            wkt!(MULTIPOLYGON(((0. 0.,2. 0.,2. 2.,0. 2.,0. 0.)),((1. 1.,3. 1.,3. 3.,1. 3.,1. 1.))))
                .into();
        assert!(
            matches!(check(&overlapping, &never), Err(ValidityError::Invalid(m)) if m.contains("overlap"))
        );
        let corner: Geometry<f64> =
            wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.)),((1. 1.,2. 1.,2. 2.,1. 2.,1. 1.))))
                .into();
        assert_eq!(check(&corner, &never), Ok(()));
    }

    #[test]
    fn a_hole_outside_its_shell_is_invalid() {
        let outside: Geometry<f64> = wkt!(POLYGON(
            (0. 0.,1. 0.,1. 1.,0. 1.,0. 0.),
            (2. 2.,3. 2.,3. 3.,2. 2.)
        ))
        .into();
        assert!(
            matches!(check(&outside, &never), Err(ValidityError::Invalid(m)) if m.contains("not inside"))
        );
    }

    #[test]
    fn the_check_ends_when_asked_to_stop() {
        // A comb: many long segments whose x ranges all overlap.
        let mut coords: Vec<(f64, f64)> = (0..20_000)
            .map(|i| (f64::from(i % 2), f64::from(i) * 1e-3))
            .collect();
        coords.push((-1.0, 20.0));
        coords.push((-1.0, 0.0));
        coords.push(coords[0]);
        let comb: Geometry<f64> = Polygon::new(LineString::from(coords), vec![]).into();
        assert_eq!(check(&comb, &|| true), Err(ValidityError::Stopped));
    }

    #[test]
    fn it_agrees_with_geo_on_small_shapes() {
        use geo::Validation;
        let shapes: Vec<Geometry<f64>> = vec![
            wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.),(1. 1.,2. 1.,2. 2.,1. 1.))).into(),
            wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.),(1. 1.,2. 1.,2. 2.,1. 1.),(1.5 1.2,3. 1.2,3. 3.,1.5 1.2))).into(),
            wkt!(POLYGON((0. 0.,4. 0.,2. 2.,4. 4.,0. 4.,2. 2.,0. 0.))).into(),
            wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.)),((1. 0.,2. 0.,2. 1.,1. 1.,1. 0.)))).into(),
        ];
        for shape in &shapes {
            assert_eq!(check(shape, &never).is_ok(), shape.is_valid(), "{shape:?}");
        }
    }
}
