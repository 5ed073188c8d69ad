//! Area-balanced splitting of a region with axis-aligned cuts, used to partition the district
//! into streets, communities and grid cells.
//!
//! A cut clips every ring against the half-planes `x ≤ c` and `x ≥ c` (or the same in `y`) with
//! Sutherland–Hodgman. The cut coordinate and every new vertex are rounded to 7 decimals, and a
//! new vertex is computed from the edge's end points in a canonical order, so both sides get
//! bit-identical vertices: the two parts share their boundary exactly and later rounding of the
//! output changes nothing. Sutherland–Hodgman leaves zero-width bridges along the cut where a
//! concave ring falls apart; a unary union (`i_overlay` through `geo`) removes them and yields
//! proper (multi)polygons. Its integer snapping is far finer than 1e-7°, so rounding its output
//! again restores the exact input vertices.
//!
//! The cut position is found by bisection on the geodesic area of the clipped rings (clipped
//! rings with bridges have the same area as the cleaned parts, so the bisection needs no union).

use geo::{
    BoundingRect, Coord, GeodesicArea, LineString, MultiPolygon, Polygon,
    orient::{Direction, Orient},
};

use super::geom::{LocalMetric, ring_area2, round_line, round7};

/// Parts smaller than this (m²) are dropped as slivers.
const SLIVER_M2: f64 = 1.0;

/// Direction of a cut: `X` cuts at a longitude (west | east), `Y` at a latitude (north | south).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    /// A cut along a meridian; the first part is the western one.
    X,
    /// A cut along a parallel; the first part is the northern one.
    Y,
}

/// Value of a coordinate along the axis.
fn along(axis: Axis, c: Coord) -> f64 {
    match axis {
        Axis::X => c.x,
        Axis::Y => c.y,
    }
}

/// Where edge `a`–`b` meets the cut at `c`, rounded, computed the same way for both directions.
fn cut_point(axis: Axis, start: Coord, end: Coord, at: f64) -> Coord {
    let (low, high) = if (start.x, start.y) <= (end.x, end.y) {
        (start, end)
    } else {
        (end, start)
    };
    match axis {
        Axis::X => Coord {
            x: at,
            y: round7(low.y + (at - low.x) * (high.y - low.y) / (high.x - low.x)),
        },
        Axis::Y => Coord {
            x: round7(low.x + (at - low.y) * (high.x - low.x) / (high.y - low.y)),
            y: at,
        },
    }
}

/// Sutherland–Hodgman clip of a closed ring to the side `≤ c` (`low`) or `≥ c`; returns a closed
/// ring or an empty vector.
fn clip_ring(ring: &[Coord], axis: Axis, c: f64, low: bool) -> Vec<Coord> {
    let keep = |p: Coord| {
        let v = along(axis, p);
        if low { v <= c } else { v >= c }
    };
    let mut out: Vec<Coord> = Vec::with_capacity(ring.len() + 4);
    for w in ring.windows(2) {
        let (p, q) = (w[0], w[1]);
        let (kp, kq) = (keep(p), keep(q));
        if kp != kq {
            let (vp, vq) = (along(axis, p), along(axis, q));
            // Only a strict crossing needs a new vertex; a vertex on the cut is kept as is.
            if (vp < c && vq > c) || (vp > c && vq < c) {
                out.push(cut_point(axis, p, q, c));
            }
        }
        if kq {
            out.push(q);
        }
    }
    out.dedup();
    if out.len() < 3 {
        return Vec::new();
    }
    if out.first() != out.last() {
        out.push(out[0]);
    }
    if out.len() < 4 { Vec::new() } else { out }
}

/// Geodesic area (m²) of a closed ring, unsigned.
fn ring_area_m2(ring: &[Coord]) -> f64 {
    if ring.len() < 4 {
        return 0.0;
    }
    Polygon::new(LineString::new(ring.to_vec()), Vec::new()).geodesic_area_unsigned()
}

/// Geodesic area (m²) of a region.
pub(crate) fn area_m2(region: &MultiPolygon) -> f64 {
    region.geodesic_area_unsigned()
}

/// Area (m²) of the part of `region` on one side of the cut.
fn side_area_m2(region: &MultiPolygon, axis: Axis, c: f64, low: bool) -> f64 {
    region
        .iter()
        .map(|polygon| {
            let outer = ring_area_m2(&clip_ring(&polygon.exterior().0, axis, c, low));
            let holes: f64 = polygon
                .interiors()
                .iter()
                .map(|h| ring_area_m2(&clip_ring(&h.0, axis, c, low)))
                .sum();
            outer - holes
        })
        .sum()
}

/// The part of `region` on one side of the cut, as clean polygons.
fn side(region: &MultiPolygon, axis: Axis, c: f64, low: bool) -> MultiPolygon {
    let mut clipped = Vec::new();
    for polygon in region {
        let outer = clip_ring(&polygon.exterior().0, axis, c, low);
        if outer.is_empty() {
            continue;
        }
        let holes = polygon
            .interiors()
            .iter()
            .map(|h| clip_ring(&h.0, axis, c, low))
            .filter(|h| !h.is_empty())
            .map(LineString::new)
            .collect();
        clipped.push(Polygon::new(LineString::new(outer), holes).orient(Direction::Default));
    }
    if clipped.is_empty() {
        return MultiPolygon::new(Vec::new());
    }
    normalize(&geo::unary_union(&clipped))
}

/// Rounds to 7 decimals, removes repeated points, orients exteriors counter-clockwise (RFC 7946)
/// and drops slivers and degenerate rings.
pub(crate) fn normalize(shape: &MultiPolygon) -> MultiPolygon {
    let mut out = Vec::new();
    for polygon in shape {
        let Some(exterior) = clean_ring(&polygon.exterior().0) else {
            continue;
        };
        let holes = polygon
            .interiors()
            .iter()
            .filter_map(|h| clean_ring(&h.0))
            .collect();
        let p = Polygon::new(exterior, holes).orient(Direction::Default);
        if p.geodesic_area_unsigned() >= SLIVER_M2 {
            out.push(p);
        }
    }
    MultiPolygon::new(out)
}

/// A rounded ring without repeated points, or `None` if fewer than 4 positions remain.
fn clean_ring(ring: &[Coord]) -> Option<LineString> {
    let mut coords = round_line(ring);
    while coords.len() > 1 && coords.first() == coords.last() {
        coords.pop();
    }
    if coords.len() < 3 || ring_area2(&closed(&coords)) == 0.0 {
        return None;
    }
    coords.push(coords[0]);
    Some(LineString::new(coords))
}

/// The ring closed by repeating its first point.
fn closed(coords: &[Coord]) -> Vec<Coord> {
    let mut v = coords.to_vec();
    if let Some(first) = coords.first() {
        v.push(*first);
    }
    v
}

/// Splits `region` with one cut so that the first part (west for `X`, north for `Y`) has
/// `first_fraction` of its area. Returns `(first, second)`.
pub(crate) fn cut(
    region: &MultiPolygon,
    axis: Axis,
    first_fraction: f64,
) -> (MultiPolygon, MultiPolygon) {
    let Some(rect) = region.bounding_rect() else {
        return (region.clone(), MultiPolygon::new(Vec::new()));
    };
    let (lo, hi) = match axis {
        Axis::X => (rect.min().x, rect.max().x),
        Axis::Y => (rect.min().y, rect.max().y),
    };
    let total = area_m2(region);
    let target = first_fraction.clamp(0.0, 1.0) * total;
    // The first part is the low side for X (west) and the high side for Y (north).
    let first_is_low = axis == Axis::X;
    let (mut a, mut b) = (lo, hi);
    while b - a > 2e-8 {
        let m = 0.5 * (a + b);
        let first_area = side_area_m2(region, axis, m, first_is_low);
        let too_small = first_area < target;
        // For X the first area grows with c; for Y it shrinks.
        if too_small == first_is_low {
            a = m;
        } else {
            b = m;
        }
    }
    let c = round7(0.5 * (a + b)).clamp(round7(lo) + 1e-7, round7(hi) - 1e-7);
    let low = side(region, axis, c, true);
    let high = side(region, axis, c, false);
    if first_is_low {
        (low, high)
    } else {
        (high, low)
    }
}

/// The axis across the longer side of the region's bounding box (in metres).
pub(crate) fn longer_axis(region: &MultiPolygon, metric: LocalMetric) -> Axis {
    match region.bounding_rect() {
        Some(rect) => {
            let (w, h) = metric.rect_size_m(rect);
            if w >= h { Axis::X } else { Axis::Y }
        }
        None => Axis::X,
    }
}

/// Partitions `region` into `weights.len()` parts with areas proportional to the weights, by
/// recursive halving across the longer side; earlier weights get western or northern parts.
pub(crate) fn partition(
    region: MultiPolygon,
    weights: &[f64],
    metric: LocalMetric,
) -> Vec<MultiPolygon> {
    if weights.len() <= 1 {
        return vec![region];
    }
    let k = weights.len() / 2;
    let first: f64 = weights[..k].iter().sum();
    let total: f64 = weights.iter().sum();
    let axis = longer_axis(&region, metric);
    let (a, b) = cut(&region, axis, first / total);
    let mut out = partition(a, &weights[..k], metric);
    out.extend(partition(b, &weights[k..], metric));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn l_shape() -> MultiPolygon {
        MultiPolygon::new(vec![polygon![
            (x: 113.70, y: 34.70), (x: 113.73, y: 34.70), (x: 113.73, y: 34.71),
            (x: 113.71, y: 34.71), (x: 113.71, y: 34.73), (x: 113.70, y: 34.73)
        ]])
    }

    #[test]
    fn a_cut_keeps_the_requested_share_of_the_area() {
        let region = l_shape();
        let (west, east) = cut(&region, Axis::X, 0.3);
        let total = area_m2(&region);
        assert!((area_m2(&west) / total - 0.3).abs() < 1e-4);
        // Splitting an east-west edge moves it from the geodesic onto the parallel, which
        // changes the area by about 1e-5 at this size.
        assert!((area_m2(&west) + area_m2(&east) - total).abs() / total < 1e-4);
    }

    #[test]
    fn a_cut_through_a_concave_region_gives_separate_polygons() {
        let region = MultiPolygon::new(vec![polygon![
            (x: 113.70, y: 34.70), (x: 113.73, y: 34.70), (x: 113.73, y: 34.73),
            (x: 113.72, y: 34.73), (x: 113.72, y: 34.71), (x: 113.71, y: 34.71),
            (x: 113.71, y: 34.73), (x: 113.70, y: 34.73)
        ]]);
        // The northern 40 % lies above y = 34.71 where only the two prongs are.
        let (north, south) = cut(&region, Axis::Y, 0.4);
        assert_eq!(north.0.len(), 2);
        assert_eq!(south.0.len(), 1);
    }

    #[test]
    fn the_parts_of_a_partition_share_vertices_exactly() {
        let parts = partition(l_shape(), &[1.0, 2.0, 1.0, 3.0], LocalMetric::at_lat(34.7));
        assert_eq!(parts.len(), 4);
        let union = geo::unary_union(&parts);
        assert_eq!(union.0.len(), 1, "no gaps between the parts");
        assert!(union.0[0].interiors().is_empty());
    }
}
