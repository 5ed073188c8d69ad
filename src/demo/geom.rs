//! Small geometric helpers on WGS84 lon/lat coordinates shared by the generators: rounding to
//! 7 decimals (about 1 cm), a local metric for distances and offsets in metres, and an index of
//! the district boundary for fast point-in-polygon tests and line clipping.
//!
//! The generators create millions of points at high scales, so the boundary tests here work on
//! the raw edge list with a band index instead of going through `geo`'s general predicates; the
//! tests check the results with `geo`.

use geo::{BoundingRect, Coord, MultiPolygon, Rect};

/// How many units of the last kept decimal make one degree (7 decimals).
const DECIMALS_SCALE: f64 = 1e7;

/// Rounds a coordinate value to 7 decimals.
pub(crate) fn round7(value: f64) -> f64 {
    (value * DECIMALS_SCALE).round() / DECIMALS_SCALE
}

/// Rounds both values of a coordinate to 7 decimals.
pub(crate) fn round_coord(c: Coord) -> Coord {
    Coord {
        x: round7(c.x),
        y: round7(c.y),
    }
}

/// Rounds a line to 7 decimals and drops points that became equal to their predecessor.
pub(crate) fn round_line(line: &[Coord]) -> Vec<Coord> {
    let mut out: Vec<Coord> = Vec::with_capacity(line.len());
    for c in line {
        let r = round_coord(*c);
        if out.last() != Some(&r) {
            out.push(r);
        }
    }
    out
}

/// A flat approximation of the ellipsoid around one latitude: metres per degree of longitude
/// and latitude. Over the 20 km of the district it is within 0.1 % of geodesic distances, which
/// is plenty for spacing and offsets; lengths and areas that are asserted use `geo`'s geodesic
/// measures instead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalMetric {
    m_per_deg_x: f64,
    m_per_deg_y: f64,
}

impl LocalMetric {
    /// The metric at latitude `lat` (degrees).
    pub(crate) fn at_lat(lat: f64) -> Self {
        let p = lat.to_radians();
        Self {
            m_per_deg_x: 111_412.84 * p.cos() - 93.5 * (3.0 * p).cos(),
            m_per_deg_y: 111_132.92 - 559.82 * (2.0 * p).cos() + 1.175 * (4.0 * p).cos(),
        }
    }

    /// Distance in metres between two coordinates.
    pub(crate) fn distance_m(self, a: Coord, b: Coord) -> f64 {
        ((b.x - a.x) * self.m_per_deg_x).hypot((b.y - a.y) * self.m_per_deg_y)
    }

    /// Length in metres of a polyline.
    pub(crate) fn length_m(self, line: &[Coord]) -> f64 {
        line.windows(2).map(|w| self.distance_m(w[0], w[1])).sum()
    }

    /// Degrees of longitude spanning `m` metres.
    pub(crate) fn dx_deg(self, m: f64) -> f64 {
        m / self.m_per_deg_x
    }

    /// Degrees of latitude spanning `m` metres.
    pub(crate) fn dy_deg(self, m: f64) -> f64 {
        m / self.m_per_deg_y
    }

    /// Width and height in metres of a rectangle.
    pub(crate) fn rect_size_m(self, rect: Rect) -> (f64, f64) {
        (
            rect.width() * self.m_per_deg_x,
            rect.height() * self.m_per_deg_y,
        )
    }

    /// The coordinate `east_m` metres east and `north_m` metres north of `c`.
    pub(crate) fn offset(self, c: Coord, east_m: f64, north_m: f64) -> Coord {
        Coord {
            x: c.x + self.dx_deg(east_m),
            y: c.y + self.dy_deg(north_m),
        }
    }

    /// Unit vector (in metres) from `a` to `b`, or `None` for coincident points.
    fn direction(self, a: Coord, b: Coord) -> Option<(f64, f64)> {
        let dx = (b.x - a.x) * self.m_per_deg_x;
        let dy = (b.y - a.y) * self.m_per_deg_y;
        let len = dx.hypot(dy);
        (len > 0.0).then(|| (dx / len, dy / len))
    }

    /// The polyline shifted `offset_m` metres to its left (negative: to its right), with mitred
    /// joints (the mitre is capped so sharp bends do not shoot out).
    pub(crate) fn offset_line(self, line: &[Coord], offset_m: f64) -> Vec<Coord> {
        let n = line.len();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let before = if i > 0 {
                self.direction(line[i - 1], line[i])
            } else {
                None
            };
            let after = if i + 1 < n {
                self.direction(line[i], line[i + 1])
            } else {
                None
            };
            let (ux, uy) = match (before, after) {
                (Some(b), Some(a)) => {
                    let (sx, sy) = (b.0 + a.0, b.1 + a.1);
                    let len = sx.hypot(sy);
                    if len < 1e-9 { b } else { (sx / len, sy / len) }
                }
                (Some(d), None) | (None, Some(d)) => d,
                (None, None) => (1.0, 0.0),
            };
            // Left normal of the mean direction, lengthened so that both adjacent segments stay
            // `offset_m` away.
            let cos_half = match (before, after) {
                (Some(b), Some(_)) => (b.0 * ux + b.1 * uy).max(0.5),
                _ => 1.0,
            };
            let d = offset_m / cos_half;
            out.push(self.offset(line[i], -uy * d, ux * d));
        }
        out
    }

    /// The point `distance_m` metres along the polyline (clamped to its ends).
    pub(crate) fn point_along(self, line: &[Coord], distance_m: f64) -> Coord {
        let mut left = distance_m.max(0.0);
        for w in line.windows(2) {
            let len = self.distance_m(w[0], w[1]);
            if left <= len && len > 0.0 {
                let t = left / len;
                return lerp(w[0], w[1], t);
            }
            left -= len;
        }
        line.last().copied().unwrap_or(Coord { x: 0.0, y: 0.0 })
    }

    /// The part of the polyline between `from_m` and `to_m` metres along it.
    pub(crate) fn sub_line(self, line: &[Coord], from_m: f64, to_m: f64) -> Vec<Coord> {
        let mut out = vec![self.point_along(line, from_m)];
        let mut walked = 0.0;
        for w in line.windows(2) {
            walked += self.distance_m(w[0], w[1]);
            if walked > from_m && walked < to_m {
                out.push(w[1]);
            }
        }
        out.push(self.point_along(line, to_m));
        out.dedup();
        out
    }
}

/// Linear interpolation between two coordinates.
pub(crate) fn lerp(a: Coord, b: Coord, t: f64) -> Coord {
    Coord {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
    }
}

/// Twice the signed planar area of a closed ring (positive when counter-clockwise).
pub(crate) fn ring_area2(ring: &[Coord]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

/// Number of horizontal bands of the boundary index.
const BANDS: usize = 128;

/// The district boundary as an edge list with a band index, for point-in-polygon tests and
/// clipping of lines.
#[derive(Debug, Clone)]
pub(crate) struct Boundary {
    edges: Vec<(Coord, Coord)>,
    bands: Vec<Vec<u32>>,
    min_y: f64,
    band_height: f64,
    /// Bounding rectangle of the boundary.
    pub(crate) rect: Rect,
}

impl Boundary {
    /// Indexes all rings of a multipolygon; `None` if it is empty.
    pub(crate) fn new(shape: &MultiPolygon) -> Option<Self> {
        let rect = shape.bounding_rect()?;
        let mut edges = Vec::new();
        for polygon in shape {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                edges.extend(ring.lines().map(|l| (l.start, l.end)));
            }
        }
        let band_height = rect.height() / BANDS as f64;
        let mut bands = vec![Vec::new(); BANDS];
        for (i, (a, b)) in edges.iter().enumerate() {
            let id = u32::try_from(i).ok()?;
            let lo = band_index(a.y.min(b.y), rect.min().y, band_height);
            let hi = band_index(a.y.max(b.y), rect.min().y, band_height);
            for band in &mut bands[lo..=hi] {
                band.push(id);
            }
        }
        Some(Self {
            edges,
            bands,
            min_y: rect.min().y,
            band_height,
            rect,
        })
    }

    /// Whether `p` lies inside the boundary (even-odd rule; points exactly on an edge count
    /// either way).
    pub(crate) fn contains(&self, p: Coord) -> bool {
        if !(self.rect.min().y..=self.rect.max().y).contains(&p.y)
            || !(self.rect.min().x..=self.rect.max().x).contains(&p.x)
        {
            return false;
        }
        let band = band_index(p.y, self.min_y, self.band_height);
        let mut inside = false;
        for &id in &self.bands[band] {
            let (a, b) = self.edges[id as usize];
            if (a.y > p.y) != (b.y > p.y) {
                let x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
                if p.x < x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Whether a closed ring lies inside the boundary: all vertices inside and no edge crossing
    /// the boundary.
    pub(crate) fn contains_ring(&self, ring: &[Coord]) -> bool {
        ring.iter().all(|c| self.contains(*c))
            && ring.windows(2).all(|w| {
                let mut ts = Vec::new();
                self.crossings(w[0], w[1], &mut ts);
                ts.is_empty()
            })
    }

    /// Parameters `t` in `[0, 1]` where segment `a`–`b` meets a boundary edge.
    fn crossings(&self, start: Coord, end: Coord, out: &mut Vec<f64>) {
        let (min_x, max_x) = (start.x.min(end.x), start.x.max(end.x));
        let (min_y, max_y) = (start.y.min(end.y), start.y.max(end.y));
        let along = end - start;
        for &(edge_start, edge_end) in &self.edges {
            if edge_start.x.max(edge_end.x) < min_x
                || edge_start.x.min(edge_end.x) > max_x
                || edge_start.y.max(edge_end.y) < min_y
                || edge_start.y.min(edge_end.y) > max_y
            {
                continue;
            }
            let edge = edge_end - edge_start;
            let denom = along.x * edge.y - along.y * edge.x;
            if denom == 0.0 {
                continue;
            }
            let gap = edge_start - start;
            let on_segment = (gap.x * edge.y - gap.y * edge.x) / denom;
            let on_edge = (gap.x * along.y - gap.y * along.x) / denom;
            if (0.0..=1.0).contains(&on_segment) && (0.0..=1.0).contains(&on_edge) {
                out.push(on_segment);
            }
        }
    }

    /// Clips a polyline to the boundary. Every returned piece is rounded to 7 decimals, has all
    /// its vertices strictly inside (ends cut at the boundary are pulled back by about half a
    /// metre so rounding cannot push them out) and is at least `min_length_m` long.
    pub(crate) fn clip_line(
        &self,
        line: &[Coord],
        metric: LocalMetric,
        min_length_m: f64,
    ) -> Vec<Vec<Coord>> {
        let mut pieces = Vec::new();
        let mut current: Vec<Coord> = Vec::new();
        let mut ts = Vec::new();
        for w in line.windows(2) {
            let (a, b) = (w[0], w[1]);
            ts.clear();
            ts.push(0.0);
            ts.push(1.0);
            self.crossings(a, b, &mut ts);
            ts.sort_by(f64::total_cmp);
            ts.dedup();
            for t in ts.windows(2) {
                let (t0, t1) = (t[0], t[1]);
                if t1 - t0 < 1e-12 {
                    continue;
                }
                if self.contains(lerp(a, b, 0.5 * (t0 + t1))) {
                    if current.is_empty() {
                        current.push(lerp(a, b, t0));
                    }
                    current.push(lerp(a, b, t1));
                } else if !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                }
            }
        }
        if !current.is_empty() {
            pieces.push(current);
        }
        pieces
            .into_iter()
            .filter_map(|piece| self.settle_piece(piece, metric, min_length_m))
            .collect()
    }

    /// Trims a clipped piece until its rounded vertices are all strictly inside.
    fn settle_piece(
        &self,
        mut piece: Vec<Coord>,
        metric: LocalMetric,
        min_length_m: f64,
    ) -> Option<Vec<Coord>> {
        let mut trim_m = 0.5;
        for _ in 0..6 {
            let total = metric.length_m(&piece);
            if total < min_length_m + 2.0 * trim_m {
                return None;
            }
            let trimmed = metric.sub_line(&piece, trim_m, total - trim_m);
            let rounded = round_line(&trimmed);
            if rounded.len() >= 2 && rounded.iter().all(|c| self.contains(*c)) {
                return Some(rounded);
            }
            if rounded.len() >= 2
                && !rounded[1..rounded.len() - 1]
                    .iter()
                    .all(|c| self.contains(*c))
            {
                // An inner vertex lies within a centimetre of the boundary: split there is not
                // worth it, drop the piece.
                return None;
            }
            piece = trimmed;
            trim_m = 1.0;
        }
        None
    }
}

/// Band of the boundary index holding latitude `y`.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the value is clamped to 0..BANDS before the cast"
)]
fn band_index(y: f64, min_y: f64, band_height: f64) -> usize {
    let i = ((y - min_y) / band_height).floor();
    i.clamp(0.0, (BANDS - 1) as f64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{coord, polygon};

    fn square() -> Boundary {
        let p =
            polygon![(x: 0.0, y: 0.0), (x: 0.01, y: 0.0), (x: 0.01, y: 0.01), (x: 0.0, y: 0.01)];
        Boundary::new(&MultiPolygon::new(vec![p])).expect("a square has a bounding box")
    }

    #[test]
    fn a_line_crossing_a_square_is_cut_to_the_part_inside() {
        let b = square();
        let metric = LocalMetric::at_lat(0.0);
        let pieces = b.clip_line(
            &[coord! {x: -0.005, y: 0.005}, coord! {x: 0.015, y: 0.005}],
            metric,
            1.0,
        );
        assert_eq!(pieces.len(), 1);
        let piece = &pieces[0];
        assert!(piece.iter().all(|c| b.contains(*c)));
        let len = metric.length_m(piece);
        assert!(
            (len - 0.01 * metric.dx_deg(1.0).recip()).abs() < 2.0,
            "{len}"
        );
    }

    #[test]
    fn a_line_leaving_and_reentering_gives_two_pieces() {
        let p = polygon![
            (x: 0.0, y: 0.0), (x: 0.03, y: 0.0), (x: 0.03, y: 0.02), (x: 0.02, y: 0.02),
            (x: 0.02, y: 0.005), (x: 0.01, y: 0.005), (x: 0.01, y: 0.02), (x: 0.0, y: 0.02)
        ];
        let b = Boundary::new(&MultiPolygon::new(vec![p])).expect("non-empty");
        let pieces = b.clip_line(
            &[coord! {x: -0.01, y: 0.01}, coord! {x: 0.04, y: 0.01}],
            LocalMetric::at_lat(0.0),
            1.0,
        );
        assert_eq!(pieces.len(), 2);
    }

    #[test]
    fn an_offset_line_keeps_its_distance() {
        let metric = LocalMetric::at_lat(34.7);
        let line = [coord! {x: 113.70, y: 34.70}, coord! {x: 113.71, y: 34.70}];
        let shifted = metric.offset_line(&line, 5.0);
        assert!((metric.distance_m(line[0], shifted[0]) - 5.0).abs() < 1e-6);
        assert!(
            shifted[0].y > line[0].y,
            "left of an eastward line is north"
        );
    }
}
