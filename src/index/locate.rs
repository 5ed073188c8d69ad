//! Point-in-polygon prepared for the grid cells: which cell holds a point.
//!
//! CRS: WGS84 longitude/latitude in degrees, edges straight in lon/lat. The cells' rings are
//! stored flat, and a uniform bucket grid over their union's bounding box lists the cells whose
//! bounding box meets each bucket, so a lookup tests a handful of short rings.
//!
//! # The edge rule
//!
//! [`CellLocator::locate`] uses the half-open crossing-number rule, evaluated exactly (the side
//! of an edge comes from the robust `orient2d` predicate, never from a rounded intersection):
//! a ray is cast from the point towards +longitude; an edge counts when its lower end's latitude
//! is ≤ the point's and its upper end's latitude is > the point's (horizontal edges never
//! count), and the point lies strictly west of the edge. The result is that of the point moved by
//! an infinitesimal amount east, then an even smaller amount north. So a point on an edge shared
//! by two cells belongs to exactly one: to the cell east of the edge (for a north–south edge) or
//! north of it (for an east–west edge); a point on a cell's west or south edge belongs to it, one
//! on its east or north edge to the neighbour. Cells that partition an area with identical shared
//! vertices therefore give exactly one cell for every point of their union, except points on the
//! union's outer boundary that the rule sends outside: those fall back to the closed test (a point
//! on the boundary counts) and take the cell with the lowest key. When cells overlap, the lowest
//! key among those holding the point wins.

use geo::{Coord, Geometry, Kernel, Orientation, Polygon, kernels::RobustKernel};

/// One cell: its key, bounding box and range of rings in [`CellLocator::rings`].
#[derive(Debug, Clone)]
struct Cell {
    key: u32,
    min: [f64; 2],
    max: [f64; 2],
    rings: std::ops::Range<u32>,
}

/// Grid cells prepared for point location.
///
/// ```
/// use citygrid::index::locate::CellLocator;
/// use geo::{Geometry, polygon};
///
/// let west: Geometry<f64> =
///     polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)].into();
/// let east: Geometry<f64> =
///     polygon![(x: 1.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 1.0), (x: 1.0, y: 1.0)].into();
/// let cells = CellLocator::new(vec![(7, &west), (9, &east)]);
/// assert_eq!(cells.locate(0.5, 0.5), Some(7));
/// assert_eq!(cells.locate(1.0, 0.5), Some(9)); // the shared edge is the east cell's west edge
/// assert_eq!(cells.locate_all(1.0, 0.5), vec![7, 9]);
/// assert_eq!(cells.locate(2.0, 0.5), Some(9)); // outer boundary: the closed test
/// assert_eq!(cells.locate(3.0, 0.5), None);
/// ```
#[derive(Debug, Clone, Default)]
pub struct CellLocator {
    /// Cells sorted by key.
    cells: Vec<Cell>,
    /// Ring `i` is `coords[rings[i]..rings[i + 1]]`, closed (first = last).
    rings: Vec<u32>,
    coords: Vec<[f64; 2]>,
    /// The buckets' origin, size and counts; bucket `(i, j)` lists cells
    /// `bucket_cells[bucket_start[j * nx + i]..bucket_start[j * nx + i + 1]]`, in key order.
    origin: [f64; 2],
    inverse_size: [f64; 2],
    nx: usize,
    ny: usize,
    bucket_start: Vec<u32>,
    bucket_cells: Vec<u32>,
}

fn index32(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 cells and vertices")
}

impl CellLocator {
    /// Prepares `cells` (key, Polygon or MultiPolygon, holes allowed; other geometry types hold
    /// no point and are skipped).
    pub fn new(cells: Vec<(u32, &Geometry<f64>)>) -> Self {
        let mut cells = cells;
        cells.sort_by_key(|&(key, _)| key);
        let mut out = Self {
            rings: vec![0],
            ..Self::default()
        };
        for (key, geometry) in cells {
            let polygons: Vec<&Polygon<f64>> = match geometry {
                Geometry::Polygon(p) => vec![p],
                Geometry::MultiPolygon(mp) => mp.iter().collect(),
                _ => continue,
            };
            let first_ring = index32(out.rings.len() - 1);
            let mut min = [f64::INFINITY; 2];
            let mut max = [f64::NEG_INFINITY; 2];
            for ring in polygons
                .iter()
                .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            {
                if ring.0.len() < 2 {
                    continue;
                }
                for c in &ring.0 {
                    min = [min[0].min(c.x), min[1].min(c.y)];
                    max = [max[0].max(c.x), max[1].max(c.y)];
                    out.coords.push([c.x, c.y]);
                }
                if ring.0.first() != ring.0.last() {
                    out.coords.push([ring.0[0].x, ring.0[0].y]);
                }
                out.rings.push(index32(out.coords.len()));
            }
            let last_ring = index32(out.rings.len() - 1);
            if last_ring > first_ring {
                out.cells.push(Cell {
                    key,
                    min,
                    max,
                    rings: first_ring..last_ring,
                });
            }
        }
        out.build_buckets();
        out
    }

    /// Lays a uniform grid of about two buckets per cell over the cells' union bounding box.
    fn build_buckets(&mut self) {
        if self.cells.is_empty() {
            return;
        }
        let mut min = [f64::INFINITY; 2];
        let mut max = [f64::NEG_INFINITY; 2];
        for cell in &self.cells {
            min = [min[0].min(cell.min[0]), min[1].min(cell.min[1])];
            max = [max[0].max(cell.max[0]), max[1].max(cell.max[1])];
        }
        let width = (max[0] - min[0]).max(f64::MIN_POSITIVE);
        let height = (max[1] - min[1]).max(f64::MIN_POSITIVE);
        let target = 2.0 * self.cells.len() as f64;
        let nx = (target * width / height).sqrt().ceil().clamp(1.0, 4096.0);
        let ny = (target / nx).ceil().clamp(1.0, 4096.0);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "nx and ny are clamped to 1..=4096"
        )]
        let (nx, ny) = (nx as usize, ny as usize);
        self.origin = min;
        self.nx = nx;
        self.ny = ny;
        self.inverse_size = [nx as f64 / width, ny as f64 / height];
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); nx * ny];
        for (i, cell) in self.cells.iter().enumerate() {
            let (i0, j0) = self.bucket(cell.min[0], cell.min[1]);
            let (i1, j1) = self.bucket(cell.max[0], cell.max[1]);
            for j in j0..=j1 {
                for b in &mut lists[j * nx + i0..=j * nx + i1] {
                    b.push(index32(i));
                }
            }
        }
        self.bucket_start = Vec::with_capacity(lists.len() + 1);
        self.bucket_start.push(0);
        for list in lists {
            self.bucket_cells.extend(list);
            self.bucket_start.push(index32(self.bucket_cells.len()));
        }
    }

    /// The bucket of a position, clamped to the grid. Monotone in each coordinate, so a point
    /// inside a cell's bounding box falls in a bucket that lists the cell.
    fn bucket(&self, lon: f64, lat: f64) -> (usize, usize) {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to the grid; NaN casts to 0 and is rejected before"
        )]
        let cell = |v: f64, origin: f64, inverse: f64, n: usize| {
            (((v - origin) * inverse).floor().max(0.0) as usize).min(n - 1)
        };
        (
            cell(lon, self.origin[0], self.inverse_size[0], self.nx),
            cell(lat, self.origin[1], self.inverse_size[1], self.ny),
        )
    }

    /// The cells (indexes into `cells`) whose bounding box holds the point, in key order.
    fn candidates(&self, lon: f64, lat: f64) -> impl Iterator<Item = &Cell> {
        let outside = self.cells.is_empty()
            || !(self.origin[0] <= lon && self.origin[1] <= lat)
            || !(lon.is_finite() && lat.is_finite());
        let list: &[u32] = if outside {
            &[]
        } else {
            let (i, j) = self.bucket(lon, lat);
            let b = j * self.nx + i;
            &self.bucket_cells[self.bucket_start[b] as usize..self.bucket_start[b + 1] as usize]
        };
        list.iter()
            .map(|&i| &self.cells[i as usize])
            .filter(move |c| {
                c.min[0] <= lon && lon <= c.max[0] && c.min[1] <= lat && lat <= c.max[1]
            })
    }

    fn ring(&self, r: u32) -> &[[f64; 2]] {
        &self.coords[self.rings[r as usize] as usize..self.rings[r as usize + 1] as usize]
    }

    /// The half-open crossing-number test (see the module docs), exact.
    fn holds_half_open(&self, cell: &Cell, p: [f64; 2]) -> bool {
        let mut inside = false;
        for r in cell.rings.clone() {
            for edge in self.ring(r).windows(2) {
                let (a, b) = (edge[0], edge[1]);
                if (a[1] <= p[1]) == (b[1] <= p[1]) {
                    continue;
                }
                let (lo, hi) = if a[1] < b[1] { (a, b) } else { (b, a) };
                let west = if p[0] < lo[0].min(hi[0]) {
                    true
                } else if p[0] > lo[0].max(hi[0]) {
                    false
                } else {
                    RobustKernel::orient2d(coord(lo), coord(hi), coord(p))
                        == Orientation::CounterClockwise
                };
                inside ^= west;
            }
        }
        inside
    }

    /// Whether the point lies on one of the cell's edges, exactly.
    fn on_boundary(&self, cell: &Cell, p: [f64; 2]) -> bool {
        cell.rings.clone().any(|r| {
            self.ring(r).windows(2).any(|edge| {
                let (a, b) = (edge[0], edge[1]);
                a[0].min(b[0]) <= p[0]
                    && p[0] <= a[0].max(b[0])
                    && a[1].min(b[1]) <= p[1]
                    && p[1] <= a[1].max(b[1])
                    && RobustKernel::orient2d(coord(a), coord(b), coord(p))
                        == Orientation::Collinear
            })
        })
    }

    /// The key of the cell holding the point, by the half-open rule of the module docs; on the
    /// outer boundary of the cells, the lowest key among cells whose closed polygon holds it.
    pub fn locate(&self, lon: f64, lat: f64) -> Option<u32> {
        let p = [lon, lat];
        self.candidates(lon, lat)
            .find(|c| self.holds_half_open(c, p))
            .or_else(|| self.candidates(lon, lat).find(|c| self.on_boundary(c, p)))
            .map(|c| c.key)
    }

    /// The keys of every cell whose closed polygon (boundary included) holds the point, in key
    /// order.
    pub fn locate_all(&self, lon: f64, lat: f64) -> Vec<u32> {
        let p = [lon, lat];
        self.candidates(lon, lat)
            .filter(|c| self.holds_half_open(c, p) || self.on_boundary(c, p))
            .map(|c| c.key)
            .collect()
    }

    /// The keys of every cell holding the point by the half-open rule alone, in key order: one
    /// for a point of a partition's union, away from its east and north outer boundary.
    pub fn locate_half_open(&self, lon: f64, lat: f64) -> Vec<u32> {
        let p = [lon, lat];
        self.candidates(lon, lat)
            .filter(|c| self.holds_half_open(c, p))
            .map(|c| c.key)
            .collect()
    }

    /// The number of cells prepared.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether no cell was prepared.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

fn coord(p: [f64; 2]) -> Coord<f64> {
    Coord { x: p[0], y: p[1] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Intersects, LineString, MultiPolygon, Point, polygon};
    use proptest::prelude::*;

    fn square(x: f64, y: f64) -> Geometry<f64> {
        polygon![(x: x, y: y), (x: x + 1.0, y: y), (x: x + 1.0, y: y + 1.0), (x: x, y: y + 1.0)]
            .into()
    }

    /// Four unit squares: SW key 40, SE 30, NW 20, NE 10.
    fn two_by_two() -> Vec<(u32, Geometry<f64>)> {
        vec![
            (40, square(0.0, 0.0)),
            (30, square(1.0, 0.0)),
            (20, square(0.0, 1.0)),
            (10, square(1.0, 1.0)),
        ]
    }

    fn locator(cells: &[(u32, Geometry<f64>)]) -> CellLocator {
        CellLocator::new(cells.iter().map(|(k, g)| (*k, g)).collect())
    }

    #[test]
    fn a_shared_vertex_belongs_to_the_north_east_cell() {
        let cells = locator(&two_by_two());
        assert_eq!(cells.locate(1.0, 1.0), Some(10));
        assert_eq!(cells.locate_all(1.0, 1.0), vec![10, 20, 30, 40]);
    }

    #[test]
    fn shared_edges_belong_to_the_cell_east_or_north_of_them() {
        let cells = locator(&two_by_two());
        assert_eq!(cells.locate(1.0, 0.5), Some(30)); // SE's west edge
        assert_eq!(cells.locate(1.0, 1.5), Some(10)); // NE's west edge
        assert_eq!(cells.locate(0.5, 1.0), Some(20)); // NW's south edge
        assert_eq!(cells.locate(1.5, 1.0), Some(10)); // NE's south edge
    }

    #[test]
    fn the_outer_west_and_south_edges_belong_to_their_cell() {
        let cells = locator(&two_by_two());
        assert_eq!(cells.locate_half_open(0.0, 0.5), vec![40]);
        assert_eq!(cells.locate_half_open(1.5, 0.0), vec![30]);
        assert_eq!(cells.locate_half_open(0.0, 0.0), vec![40]);
    }

    #[test]
    fn the_outer_east_and_north_edges_fall_back_to_the_lowest_key_holding_them() {
        let cells = locator(&two_by_two());
        assert!(cells.locate_half_open(2.0, 0.5).is_empty());
        assert_eq!(cells.locate(2.0, 0.5), Some(30));
        assert_eq!(cells.locate(0.5, 2.0), Some(20));
        // Between NW (20) and NE (10) on the north edge: both hold it, the lower key wins.
        assert_eq!(cells.locate_all(1.0, 2.0), vec![10, 20]);
        assert_eq!(cells.locate(1.0, 2.0), Some(10));
        assert_eq!(cells.locate(2.0, 2.0), Some(10));
        assert_eq!(cells.locate(2.0, 0.0), Some(30));
    }

    #[test]
    fn points_outside_every_cell_and_nan_find_nothing() {
        let cells = locator(&two_by_two());
        for (lon, lat) in [
            (-0.1, 0.5),
            (2.1, 0.5),
            (0.5, -1e-12),
            (f64::NAN, 0.5),
            (0.5, f64::INFINITY),
        ] {
            assert_eq!(cells.locate(lon, lat), None, "({lon}, {lat})");
            assert!(cells.locate_all(lon, lat).is_empty());
        }
        let empty = CellLocator::new(vec![]);
        assert!(empty.is_empty());
        assert_eq!(empty.locate(0.0, 0.0), None);
    }

    #[test]
    fn a_diagonal_shared_edge_gives_exactly_one_cell() {
        let lower: Geometry<f64> =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)].into();
        let upper: Geometry<f64> =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)].into();
        let cells = locator(&[(1, lower), (2, upper)]);
        for k in 1..1000 {
            let t = f64::from(k) / 1000.0;
            assert_eq!(cells.locate_half_open(t, t).len(), 1, "({t}, {t})");
            // Points a hair either side of the diagonal.
            let off = t + 1e-15;
            assert_eq!(cells.locate_half_open(off, t).len(), 1);
        }
        // On the diagonal the point is west of the lower triangle's edge: it is the lower's.
        assert_eq!(cells.locate(0.5, 0.5), Some(1));
    }

    #[test]
    fn an_enclave_takes_the_points_of_its_host_hole() {
        let host: Geometry<f64> = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 1.0, y: 3.0), (x: 3.0, y: 3.0), (x: 3.0, y: 1.0)]],
        )
        .into();
        let enclave: Geometry<f64> =
            polygon![(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0)].into();
        let cells = locator(&[(5, host), (6, enclave)]);
        assert_eq!(cells.locate(2.0, 2.0), Some(6));
        assert_eq!(cells.locate(0.5, 2.0), Some(5));
        assert_eq!(cells.locate(1.0, 2.0), Some(6)); // the enclave's west edge
        assert_eq!(cells.locate(3.0, 2.0), Some(5)); // the enclave's east edge: the host's
        assert_eq!(cells.locate_all(3.0, 2.0), vec![5, 6]);
    }

    /// A rectangle of `nx` × `ny` jittered quadrilateral cells sharing their vertices, one
    /// holding a triangular enclave, two opposite corners merged into a multipolygon, keys
    /// shuffled. Outer vertices move only along the rectangle's sides.
    #[derive(Debug, Clone)]
    struct Partition {
        cells: Vec<(u32, Geometry<f64>)>,
        max: [f64; 2],
        /// Every vertex, and points on every edge (midpoints and interpolated).
        special: Vec<[f64; 2]>,
    }

    const W: f64 = 0.001;

    fn partition(
        nx: usize,
        ny: usize,
        jitter: &[(f64, f64)],
        keys: &[u32],
        enclave_at: usize,
        t: f64,
    ) -> Partition {
        let base = [113.70, 34.70];
        let vertex = |i: usize, j: usize| {
            let (mut dx, mut dy) = jitter[(i * (ny + 1) + j) % jitter.len()];
            if i == 0 || i == nx {
                dx = 0.0;
            }
            if j == 0 || j == ny {
                dy = 0.0;
            }
            Coord {
                x: base[0] + (i as f64 + dx) * W,
                y: base[1] + (j as f64 + dy) * W,
            }
        };
        let mut polygons = Vec::new();
        let mut special = Vec::new();
        let mut key = keys.iter().copied();
        let mut cells = Vec::new();
        for i in 0..nx {
            for j in 0..ny {
                let ring = vec![
                    vertex(i, j),
                    vertex(i + 1, j),
                    vertex(i + 1, j + 1),
                    vertex(i, j + 1),
                    vertex(i, j),
                ];
                let mut holes = Vec::new();
                if i * ny + j == enclave_at % (nx * ny) {
                    let at = |u: f64, v: f64| Coord {
                        x: base[0] + (i as f64 + u) * W,
                        y: base[1] + (j as f64 + v) * W,
                    };
                    let triangle = vec![at(0.4, 0.4), at(0.6, 0.45), at(0.5, 0.62), at(0.4, 0.4)];
                    let mut reversed = triangle.clone();
                    reversed.reverse();
                    holes.push(LineString::new(reversed));
                    cells.push((
                        key.next().unwrap(),
                        Polygon::new(LineString::new(triangle.clone()), vec![]).into(),
                    ));
                    special_points(&triangle, t, &mut special);
                }
                special_points(&ring, t, &mut special);
                polygons.push(Polygon::new(LineString::new(ring), holes));
            }
        }
        let first = polygons.remove(0);
        if let Some(last) = polygons.pop() {
            cells.push((
                key.next().unwrap(),
                MultiPolygon::new(vec![first, last]).into(),
            ));
        } else {
            cells.push((key.next().unwrap(), first.into()));
        }
        for p in polygons {
            cells.push((key.next().unwrap(), p.into()));
        }
        Partition {
            cells,
            max: [base[0] + nx as f64 * W, base[1] + ny as f64 * W],
            special,
        }
    }

    fn special_points(ring: &[Coord<f64>], t: f64, out: &mut Vec<[f64; 2]>) {
        for w in ring.windows(2) {
            let (a, b) = (w[0], w[1]);
            out.push([a.x, a.y]);
            let mid = (a + b) * 0.5;
            out.push([mid.x, mid.y]);
            let at = a + (b - a) * t;
            out.push([at.x, at.y]);
        }
    }

    fn a_partition() -> impl Strategy<Value = Partition> {
        (1..6_usize, 1..6_usize)
            .prop_flat_map(|(nx, ny)| {
                (
                    Just((nx, ny)),
                    prop::collection::vec((-0.3..0.3_f64, -0.3..0.3_f64), 1..64),
                    Just(
                        (0..u32::try_from(nx * ny + 1).unwrap())
                            .map(|k| k * 3 + 1)
                            .collect::<Vec<_>>(),
                    )
                    .prop_shuffle(),
                    0..64_usize,
                    0.0..1.0_f64,
                )
            })
            .prop_map(|((nx, ny), jitter, keys, enclave_at, t)| {
                partition(nx, ny, &jitter, &keys, enclave_at, t)
            })
    }

    fn check_point(
        cells: &CellLocator,
        partition: &Partition,
        p: [f64; 2],
    ) -> Result<(), TestCaseError> {
        let base = [113.70, 34.70];
        let all = cells.locate_all(p[0], p[1]);
        let mut expected_all: Vec<u32> = partition
            .cells
            .iter()
            .filter(|(_, g)| g.intersects(&Point::new(p[0], p[1])))
            .map(|&(k, _)| k)
            .collect();
        expected_all.sort_unstable();
        prop_assert_eq!(&all, &expected_all, "closed test at {:?}", p);
        let half = cells.locate_half_open(p[0], p[1]);
        let in_half_open_box = base[0] <= p[0]
            && p[0] < partition.max[0]
            && base[1] <= p[1]
            && p[1] < partition.max[1];
        if in_half_open_box {
            prop_assert_eq!(half.len(), 1, "half-open cells at {:?}: {:?}", p, half);
        } else {
            prop_assert!(
                half.is_empty(),
                "half-open cells at {:?} outside: {:?}",
                p,
                half
            );
        }
        prop_assert!(half.iter().all(|k| all.contains(k)));
        let located = cells.locate(p[0], p[1]);
        prop_assert_eq!(located, half.first().or(all.first()).copied(), "at {:?}", p);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn every_point_of_a_partition_falls_in_exactly_one_cell(
            partition in a_partition(),
            randoms in prop::collection::vec((-0.05..1.05_f64, -0.05..1.05_f64), 64),
        ) {
            let cells = locator(&partition.cells);
            let base = [113.70, 34.70];
            for &p in &partition.special {
                check_point(&cells, &partition, p)?;
            }
            for (u, v) in randoms {
                let p = [base[0] + u * (partition.max[0] - base[0]), base[1] + v * (partition.max[1] - base[1])];
                check_point(&cells, &partition, p)?;
            }
        }
    }
}
