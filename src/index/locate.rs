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
        list.iter().map(|&i| &self.cells[i as usize]).filter(move |c| {
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
                    && RobustKernel::orient2d(coord(a), coord(b), coord(p)) == Orientation::Collinear
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
