//! The CQL2 spatial functions, with DE-9IM semantics (geo's `Relate`), evaluated in the plane of
//! CRS84 longitude/latitude degrees as the standard does. `BBOX` literals whose west edge lies
//! east of their east edge cross the antimeridian and become two boxes.

use geo::{BoundingRect, Geometry, Intersects, MultiPolygon, Polygon, Rect, Relate};

use crate::model::Bbox;

/// The spatial functions of CQL2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpatialOp {
    /// `S_INTERSECTS`: at least one point in common.
    Intersects,
    /// `S_DISJOINT`: no point in common.
    Disjoint,
    /// `S_EQUALS`: topologically equal.
    Equals,
    /// `S_TOUCHES`: boundaries meet, interiors do not.
    Touches,
    /// `S_WITHIN`: `a` lies in `b`, interiors meet.
    Within,
    /// `S_CONTAINS`: `b` lies in `a`, interiors meet.
    Contains,
    /// `S_OVERLAPS`: same dimension, interiors meet, neither contains the other.
    Overlaps,
    /// `S_CROSSES`: interiors meet in a lower dimension.
    Crosses,
}

impl SpatialOp {
    /// The function named `op`, in any case.
    pub fn from_name(op: &str) -> Option<Self> {
        Some(match op.to_ascii_lowercase().as_str() {
            "s_intersects" => Self::Intersects,
            "s_disjoint" => Self::Disjoint,
            "s_equals" => Self::Equals,
            "s_touches" => Self::Touches,
            "s_within" => Self::Within,
            "s_contains" => Self::Contains,
            "s_overlaps" => Self::Overlaps,
            "s_crosses" => Self::Crosses,
            _ => return None,
        })
    }

    /// The relation with its arguments swapped: `a op b` ⇔ `b op.converse() a`.
    #[must_use]
    pub fn converse(self) -> Self {
        match self {
            Self::Within => Self::Contains,
            Self::Contains => Self::Within,
            other => other,
        }
    }

    /// Whether the relation implies that the geometries intersect (all but `S_DISJOINT`).
    pub fn implies_intersection(self) -> bool {
        self != Self::Disjoint
    }

    /// Whether `a` stands in this relation to `b`. `b_rect` is `b`'s bounding rectangle, when
    /// known, so that geometries far apart are settled without computing their relation.
    ///
    /// ```
    /// use citygrid::filter::spatial::SpatialOp;
    /// use geo::{Geometry, point, wkt};
    /// let square: Geometry = wkt! { POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.)) }.into();
    /// let inside: Geometry = point!(x: 5., y: 5.).into();
    /// assert!(SpatialOp::Within.holds(&inside, &square, None));
    /// assert!(SpatialOp::Contains.holds(&square, &inside, None));
    /// assert!(!SpatialOp::Touches.holds(&inside, &square, None));
    /// ```
    pub fn holds(self, a: &Geometry<f64>, b: &Geometry<f64>, b_rect: Option<Rect<f64>>) -> bool {
        match self {
            Self::Intersects => return a.intersects(b),
            Self::Disjoint => return !a.intersects(b),
            _ => {}
        }
        let apart = match (a.bounding_rect(), b_rect.or_else(|| b.bounding_rect())) {
            (Some(ra), Some(rb)) => !ra.intersects(&rb),
            _ => true,
        };
        if apart {
            return false;
        }
        let matrix = a.relate(b);
        match self {
            Self::Equals => matrix.is_equal_topo(),
            Self::Touches => matrix.is_touches(),
            Self::Within => matrix.is_within(),
            Self::Contains => matrix.is_contains(),
            Self::Overlaps => matrix.is_overlaps(),
            Self::Crosses => matrix.is_crosses(),
            Self::Intersects | Self::Disjoint => unreachable!("answered above"),
        }
    }
}

/// The geometry of a `BBOX` literal: one rectangle, or two when it crosses the antimeridian.
pub fn bbox_geometry(bbox: &Bbox) -> (Geometry<f64>, Vec<Rect<f64>>) {
    let rects = bbox.rects();
    let geometry = if let [rect] = rects.as_slice() {
        Geometry::Polygon(rect.to_polygon())
    } else {
        Geometry::MultiPolygon(MultiPolygon::new(
            rects
                .iter()
                .copied()
                .map(Rect::to_polygon)
                .collect::<Vec<Polygon<f64>>>(),
        ))
    };
    (geometry, rects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{point, wkt};

    #[test]
    fn a_bbox_with_min_lon_greater_than_max_lon_crosses_the_antimeridian() {
        let bbox = Bbox::from_numbers(&[150.0, -90.0, -150.0, 90.0]).unwrap();
        let (geometry, rects) = bbox_geometry(&bbox);
        assert_eq!(rects.len(), 2);
        let fiji: Geometry = point!(x: 178.4, y: -18.1).into();
        let samoa: Geometry = point!(x: -171.8, y: -13.8).into();
        let greenwich: Geometry = point!(x: 0.0, y: 51.5).into();
        assert!(SpatialOp::Intersects.holds(&fiji, &geometry, None));
        assert!(SpatialOp::Intersects.holds(&samoa, &geometry, None));
        assert!(!SpatialOp::Intersects.holds(&greenwich, &geometry, None));
        assert!(SpatialOp::Disjoint.holds(&greenwich, &geometry, None));
    }

    #[test]
    fn polygons_sharing_an_edge_touch_and_do_not_overlap() {
        let left: Geometry = wkt! { POLYGON((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.)) }.into();
        let right: Geometry = wkt! { POLYGON((1. 0.,2. 0.,2. 1.,1. 1.,1. 0.)) }.into();
        let shifted: Geometry = wkt! { POLYGON((0.5 0.,1.5 0.,1.5 1.,0.5 1.,0.5 0.)) }.into();
        assert!(SpatialOp::Touches.holds(&left, &right, None));
        assert!(!SpatialOp::Overlaps.holds(&left, &right, None));
        assert!(SpatialOp::Overlaps.holds(&left, &shifted, None));
        assert!(SpatialOp::Equals.holds(&left, &left, None));
    }

    #[test]
    fn a_line_through_a_polygon_crosses_it() {
        let square: Geometry = wkt! { POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.)) }.into();
        let through: Geometry = wkt! { LINESTRING(-5. 5.,15. 5.) }.into();
        let inside: Geometry = wkt! { LINESTRING(2. 2.,8. 8.) }.into();
        assert!(SpatialOp::Crosses.holds(&through, &square, None));
        assert!(!SpatialOp::Crosses.holds(&inside, &square, None));
        assert!(SpatialOp::Within.holds(&inside, &square, None));
    }

    #[test]
    fn geometries_far_apart_stand_in_no_relation_but_disjoint() {
        let a: Geometry = point!(x: 0.0, y: 0.0).into();
        let b: Geometry = point!(x: 50.0, y: 50.0).into();
        for op in [
            SpatialOp::Intersects,
            SpatialOp::Equals,
            SpatialOp::Touches,
            SpatialOp::Within,
            SpatialOp::Contains,
            SpatialOp::Overlaps,
            SpatialOp::Crosses,
        ] {
            assert!(!op.holds(&a, &b, None), "{op:?}");
        }
        assert!(SpatialOp::Disjoint.holds(&a, &b, None));
    }
}
