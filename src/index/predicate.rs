//! Exact spatial predicates between a feature and a query geometry, and the geodesic distance
//! between two geometries.
//!
//! CRS: WGS84 longitude/latitude in degrees; distances in metres, geodesic on the WGS84 ellipsoid
//! (Karney, through `geo`'s [`Geodesic`]). Predicates follow OGC simple features (DE-9IM, as
//! computed by `geo`'s [`Relate`]) with edges straight in lon/lat.

use std::f64::consts::PI;

use geo::{Coord, Distance, Geodesic, Geometry, Intersects, Point, Relate};

/// A spatial relation between a feature (the subject) and a query geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Predicate {
    /// The two share at least one point (interior or boundary).
    Intersects,
    /// The feature lies in the query: no point of it outside the query, and their interiors meet.
    Within,
    /// The query lies in the feature: the converse of [`Predicate::Within`].
    Contains,
    /// The two share no point.
    Disjoint,
}

impl Predicate {
    /// Every predicate, in the order of their names.
    pub const ALL: [Self; 4] = [Self::Intersects, Self::Within, Self::Contains, Self::Disjoint];

    /// Parses a lowercase name: `intersects`, `within`, `contains` or `disjoint`.
    ///
    /// ```
    /// use citygrid::index::predicate::Predicate;
    /// assert_eq!(Predicate::parse("within"), Some(Predicate::Within));
    /// assert_eq!(Predicate::parse("touches"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The lowercase name, as parsed by [`Predicate::parse`].
    pub fn name(self) -> &'static str {
        match self {
            Self::Intersects => "intersects",
            Self::Within => "within",
            Self::Contains => "contains",
            Self::Disjoint => "disjoint",
        }
    }
}

/// Whether `predicate` holds with `feature` as the subject: `Within` means the feature lies
/// within `query`.
///
/// DE-9IM exactly: a line lying along a polygon's boundary intersects it but is not within it
/// (their interiors do not meet), and a polygon does not contain a point on its boundary.
///
/// ```
/// use citygrid::index::predicate::{Predicate, holds};
/// use geo::{Geometry, line_string, polygon};
///
/// let square: Geometry<f64> =
///     polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)].into();
/// let edge: Geometry<f64> = line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0)].into();
/// assert!(holds(Predicate::Intersects, &edge, &square));
/// assert!(!holds(Predicate::Within, &edge, &square));
/// ```
pub fn holds(predicate: Predicate, feature: &Geometry<f64>, query: &Geometry<f64>) -> bool {
    use geo::BoundingRect;
    let (Some(fb), Some(qb)) = (feature.bounding_rect(), query.bounding_rect()) else {
        // An empty geometry relates to nothing: it is disjoint from everything.
        return predicate == Predicate::Disjoint;
    };
    let inside = |inner: geo::Rect<f64>, outer: geo::Rect<f64>| {
        outer.min().x <= inner.min().x
            && outer.min().y <= inner.min().y
            && inner.max().x <= outer.max().x
            && inner.max().y <= outer.max().y
    };
    match predicate {
        Predicate::Intersects => fb.intersects(&qb) && feature.intersects(query),
        Predicate::Disjoint => !(fb.intersects(&qb) && feature.intersects(query)),
        Predicate::Within => inside(fb, qb) && feature.relate(query).is_within(),
        Predicate::Contains => inside(qb, fb) && feature.relate(query).is_contains(),
    }
}

/// WGS84 semi-major axis, metres.
pub(crate) const WGS84_A: f64 = 6_378_137.0;
/// WGS84 flattening.
const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// An equirectangular projection to metres, exact in scale at its centre.
#[derive(Debug, Clone, Copy)]
struct Frame {
    origin: Coord<f64>,
    /// Metres per degree of longitude at the centre (the parallel's radius × π/180).
    kx: f64,
    /// Metres per degree of latitude at the centre (the meridian's radius of curvature × π/180).
    ky: f64,
}

impl Frame {
    fn at(origin: Coord<f64>) -> Self {
        let e2 = WGS84_F * (2.0 - WGS84_F);
        let (sin, cos) = origin.y.to_radians().sin_cos();
        let w2 = 1.0 - e2 * sin * sin;
        let prime_vertical = WGS84_A / w2.sqrt();
        let meridian = WGS84_A * (1.0 - e2) / (w2 * w2.sqrt());
        Self {
            origin,
            kx: prime_vertical * cos * PI / 180.0,
            ky: meridian * PI / 180.0,
        }
    }

    fn project(&self, c: Coord<f64>) -> [f64; 2] {
        [
            (c.x - self.origin.x) * self.kx,
            (c.y - self.origin.y) * self.ky,
        ]
    }
}

/// The segments of a geometry in lon/lat; a point is a segment of length zero.
fn segments(g: &Geometry<f64>, out: &mut Vec<[Coord<f64>; 2]>) {
    fn line(coords: &[Coord<f64>], out: &mut Vec<[Coord<f64>; 2]>) {
        match coords {
            [] => {}
            [only] => out.push([*only, *only]),
            _ => out.extend(coords.windows(2).map(|w| [w[0], w[1]])),
        }
    }
    match g {
        Geometry::Point(p) => out.push([p.0, p.0]),
        Geometry::MultiPoint(points) => out.extend(points.iter().map(|p| [p.0, p.0])),
        Geometry::Line(l) => out.push([l.start, l.end]),
        Geometry::LineString(ls) => line(&ls.0, out),
        Geometry::MultiLineString(mls) => mls.iter().for_each(|ls| line(&ls.0, out)),
        Geometry::Polygon(p) => {
            line(&p.exterior().0, out);
            p.interiors().iter().for_each(|r| line(&r.0, out));
        }
        Geometry::MultiPolygon(mp) => {
            for p in mp {
                line(&p.exterior().0, out);
                p.interiors().iter().for_each(|r| line(&r.0, out));
            }
        }
        Geometry::Rect(r) => line(&r.to_polygon().exterior().0, out),
        Geometry::Triangle(t) => line(&t.to_polygon().exterior().0, out),
        Geometry::GeometryCollection(items) => items.iter().for_each(|g| segments(g, out)),
    }
}

/// A segment projected to metres, with its lon/lat ends and its projected bounding box.
struct Projected {
    ends: [Coord<f64>; 2],
    a: [f64; 2],
    b: [f64; 2],
    min: [f64; 2],
    max: [f64; 2],
}

fn project_all(frame: &Frame, segs: &[[Coord<f64>; 2]]) -> Vec<Projected> {
    segs.iter()
        .map(|&ends| {
            let a = frame.project(ends[0]);
            let b = frame.project(ends[1]);
            Projected {
                ends,
                a,
                b,
                min: [a[0].min(b[0]), a[1].min(b[1])],
                max: [a[0].max(b[0]), a[1].max(b[1])],
            }
        })
        .collect()
}

/// The squared distance from `p` to the segment and the parameter of the closest point on it.
fn point_segment(point: [f64; 2], seg: &Projected) -> (f64, f64) {
    let dir = [seg.b[0] - seg.a[0], seg.b[1] - seg.a[1]];
    let len2 = dir[0] * dir[0] + dir[1] * dir[1];
    let along = if len2 > 0.0 {
        (((point[0] - seg.a[0]) * dir[0] + (point[1] - seg.a[1]) * dir[1]) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let dx = point[0] - (seg.a[0] + along * dir[0]);
    let dy = point[1] - (seg.a[1] + along * dir[1]);
    (dx * dx + dy * dy, along)
}

fn along(ends: [Coord<f64>; 2], t: f64) -> Coord<f64> {
    ends[0] + (ends[1] - ends[0]) * t
}

fn box_gap2(a: &Projected, b: &Projected) -> f64 {
    let dx = (a.min[0] - b.max[0]).max(b.min[0] - a.max[0]).max(0.0);
    let dy = (a.min[1] - b.max[1]).max(b.min[1] - a.max[1]).max(0.0);
    dx * dx + dy * dy
}

/// The closest pair (lon/lat) between two sets of segments that do not cross, measured in
/// `frame`. Between two segments that do not cross, the minimum is at an end of one of them.
fn closest_pair(
    frame: &Frame,
    a: &[[Coord<f64>; 2]],
    b: &[[Coord<f64>; 2]],
) -> (Coord<f64>, Coord<f64>) {
    let pa = project_all(frame, a);
    let pb = project_all(frame, b);
    let mut best = (f64::INFINITY, a[0][0], b[0][0]);
    for s in &pa {
        for t in &pb {
            if box_gap2(s, t) >= best.0 {
                continue;
            }
            for (end, p) in [(s.ends[0], s.a), (s.ends[1], s.b)] {
                let (d2, u) = point_segment(p, t);
                if d2 < best.0 {
                    best = (d2, end, along(t.ends, u));
                }
            }
            for (end, p) in [(t.ends[0], t.a), (t.ends[1], t.b)] {
                let (d2, u) = point_segment(p, s);
                if d2 < best.0 {
                    best = (d2, along(s.ends, u), end);
                }
            }
        }
    }
    (best.1, best.2)
}

/// The minimum geodesic distance in metres between two geometries: 0 when they intersect, else
/// the distance between the closest points of their boundaries (a line's or a polygon's closest
/// point, not its centre). Infinite when either geometry is empty.
///
/// The closest pair of points is found in an equirectangular projection centred between the
/// two geometries, then again in one centred on the pair found (so the scale is exact where it
/// matters); the result is Karney's geodesic distance between that pair. At city scale (up to
/// tens of kilometres apart) this agrees with a brute-force densified geodesic minimum to far
/// better than 0.01 %; it is never below the true minimum. Geometries must not cross the
/// antimeridian.
///
/// ```
/// use citygrid::index::predicate::geodesic_distance_m;
/// use geo::{Geometry, line_string, point};
///
/// // A point 0.01° north of the middle of an east–west street, at the equator: about 1,106 m.
/// let street: Geometry<f64> = line_string![(x: -0.01, y: 0.0), (x: 0.01, y: 0.0)].into();
/// let p: Geometry<f64> = point!(x: 0.0, y: 0.01).into();
/// assert!((geodesic_distance_m(&p, &street) - 1_105.7).abs() < 0.5);
/// ```
pub fn geodesic_distance_m(a: &Geometry<f64>, b: &Geometry<f64>) -> f64 {
    use geo::BoundingRect;
    let (Some(ba), Some(bb)) = (a.bounding_rect(), b.bounding_rect()) else {
        return f64::INFINITY;
    };
    if ba.intersects(&bb) && a.intersects(b) {
        return 0.0;
    }
    let mut sa = Vec::new();
    let mut sb = Vec::new();
    segments(a, &mut sa);
    segments(b, &mut sb);
    let centre = ba.center() * 0.5 + bb.center() * 0.5;
    let (p, q) = closest_pair(&Frame::at(centre), &sa, &sb);
    let (p, q) = closest_pair(&Frame::at((p + q) * 0.5), &sa, &sb);
    Geodesic.distance(Point(p), Point(q))
}
