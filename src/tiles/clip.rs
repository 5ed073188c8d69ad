//! Clipping to the buffered tile square, in tile coordinates (floats, before rounding):
//! Sutherland–Hodgman for polygon rings, Liang–Barsky for lines.
//!
//! Sutherland–Hodgman keeps a ring in one piece: where a polygon leaves the square and comes back,
//! the result runs along the square's edge (zero-width slivers on the buffer's boundary, outside
//! the visible tile). Renderers draw that correctly, which is why tile servers clip this way.

/// A clipping square `[min, max]²` in tile coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipBox {
    /// The lower bound on both axes (e.g. `-64`).
    pub min: f64,
    /// The upper bound on both axes (e.g. `4096 + 64`).
    pub max: f64,
}

impl ClipBox {
    /// Whether the box contains `[x0, y0]–[x1, y1]` whole.
    pub fn contains_box(&self, lo: [f64; 2], hi: [f64; 2]) -> bool {
        lo[0] >= self.min && lo[1] >= self.min && hi[0] <= self.max && hi[1] <= self.max
    }

    /// Whether the box contains `p` (boundary included).
    pub fn contains(&self, p: [f64; 2]) -> bool {
        p[0] >= self.min && p[0] <= self.max && p[1] >= self.min && p[1] <= self.max
    }

    /// Clips a ring (open: the first point is not repeated at the end) into `out`, using
    /// `scratch`; `out` is empty when nothing of the ring is inside.
    pub fn clip_ring(
        &self,
        ring: &[[f64; 2]],
        out: &mut Vec<[f64; 2]>,
        scratch: &mut Vec<[f64; 2]>,
    ) {
        out.clear();
        out.extend_from_slice(ring);
        for (axis, bound, keep_above) in [
            (0, self.min, true),
            (0, self.max, false),
            (1, self.min, true),
            (1, self.max, false),
        ] {
            std::mem::swap(out, scratch);
            out.clear();
            let Some(&last) = scratch.last() else {
                return;
            };
            let inside = |p: [f64; 2]| {
                if keep_above {
                    p[axis] >= bound
                } else {
                    p[axis] <= bound
                }
            };
            let mut prev = last;
            for &cur in scratch.iter() {
                match (inside(prev), inside(cur)) {
                    (true, true) => out.push(cur),
                    (true, false) => out.push(crossing(prev, cur, axis, bound)),
                    (false, true) => {
                        out.push(crossing(prev, cur, axis, bound));
                        out.push(cur);
                    }
                    (false, false) => {}
                }
                prev = cur;
            }
        }
    }

    /// Clips a line into the pieces inside the box, appended to `out`.
    #[expect(
        clippy::float_cmp,
        reason = "Liang–Barsky leaves t at exactly 0 or 1 for an uncut end; that joins segments"
    )]
    pub fn clip_line(&self, line: &[[f64; 2]], out: &mut Parts) {
        let mut open = false;
        for segment in line.windows(2) {
            let (a, b) = (segment[0], segment[1]);
            let Some((t0, t1)) = self.liang_barsky(a, b) else {
                open = false;
                continue;
            };
            let start = lerp(a, b, t0);
            if !(open && t0 == 0.0) {
                out.start();
                out.push(start);
            }
            out.push(lerp(a, b, t1));
            open = t1 == 1.0;
        }
    }

    /// The parameters `t0 ≤ t1` in `[0, 1]` of the part of `a→b` inside the box.
    fn liang_barsky(&self, a: [f64; 2], b: [f64; 2]) -> Option<(f64, f64)> {
        let d = [b[0] - a[0], b[1] - a[1]];
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        for axis in 0..2 {
            for (p, q) in [
                (-d[axis], a[axis] - self.min),
                (d[axis], self.max - a[axis]),
            ] {
                if p == 0.0 {
                    if q < 0.0 {
                        return None;
                    }
                } else {
                    let r = q / p;
                    if p < 0.0 {
                        t0 = t0.max(r);
                    } else {
                        t1 = t1.min(r);
                    }
                }
            }
        }
        (t0 <= t1).then_some((t0, t1))
    }
}

fn crossing(a: [f64; 2], b: [f64; 2], axis: usize, bound: f64) -> [f64; 2] {
    let t = (bound - a[axis]) / (b[axis] - a[axis]);
    let mut p = lerp(a, b, t);
    p[axis] = bound;
    p
}

#[expect(
    clippy::float_cmp,
    reason = "t is exactly 0 or 1 for an uncut end, which must stay the input point bit for bit"
)]
fn lerp(a: [f64; 2], b: [f64; 2], t: f64) -> [f64; 2] {
    if t == 0.0 {
        return a;
    }
    if t == 1.0 {
        return b;
    }
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
}

/// Several lines in one buffer (no allocation per part).
#[derive(Debug, Default, Clone)]
pub struct Parts {
    points: Vec<[f64; 2]>,
    starts: Vec<usize>,
}

impl Parts {
    /// Removes every part.
    pub fn clear(&mut self) {
        self.points.clear();
        self.starts.clear();
    }

    /// Begins a new part.
    pub fn start(&mut self) {
        self.starts.push(self.points.len());
    }

    /// Adds a point to the current part.
    pub fn push(&mut self, p: [f64; 2]) {
        self.points.push(p);
    }

    /// The parts, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[[f64; 2]]> {
        self.starts.iter().enumerate().map(|(i, &s)| {
            let end = self.starts.get(i + 1).copied().unwrap_or(self.points.len());
            &self.points[s..end]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOX: ClipBox = ClipBox {
        min: 0.0,
        max: 10.0,
    };

    fn area2(ring: &[[f64; 2]]) -> f64 {
        let n = ring.len();
        (0..n)
            .map(|i| ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1])
            .sum()
    }

    #[test]
    fn a_ring_inside_the_box_is_unchanged() {
        let ring = [[1.0, 1.0], [5.0, 1.0], [5.0, 5.0]];
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        BOX.clip_ring(&ring, &mut out, &mut scratch);
        assert_eq!(out, ring);
    }

    #[test]
    fn a_square_across_a_corner_keeps_the_quarter_inside() {
        let ring = [[-5.0, -5.0], [5.0, -5.0], [5.0, 5.0], [-5.0, 5.0]];
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        BOX.clip_ring(&ring, &mut out, &mut scratch);
        assert!((area2(&out).abs() / 2.0 - 25.0).abs() < 1e-9, "{out:?}");
        assert!(out.iter().all(|&p| BOX.contains(p)));
    }

    #[test]
    fn a_ring_covering_the_box_becomes_the_box() {
        let ring = [[-50.0, -50.0], [50.0, -50.0], [50.0, 50.0], [-50.0, 50.0]];
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        BOX.clip_ring(&ring, &mut out, &mut scratch);
        assert!(
            (area2(&out) / 2.0 - 100.0).abs() < 1e-9,
            "winding kept: {out:?}"
        );
    }

    #[test]
    fn a_ring_outside_the_box_vanishes() {
        let ring = [[20.0, 20.0], [30.0, 20.0], [30.0, 30.0]];
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        BOX.clip_ring(&ring, &mut out, &mut scratch);
        assert!(out.is_empty());
    }

    #[test]
    fn a_line_leaving_and_reentering_becomes_two_parts() {
        let line = [
            [-5.0, 5.0],
            [5.0, 5.0],
            [5.0, 15.0],
            [8.0, 15.0],
            [8.0, 5.0],
        ];
        let mut parts = Parts::default();
        BOX.clip_line(&line, &mut parts);
        let got: Vec<Vec<[f64; 2]>> = parts.iter().map(<[_]>::to_vec).collect();
        assert_eq!(
            got,
            [
                vec![[0.0, 5.0], [5.0, 5.0], [5.0, 10.0]],
                vec![[8.0, 10.0], [8.0, 5.0]]
            ]
        );
    }

    #[test]
    fn a_line_missing_the_box_gives_no_part() {
        let mut parts = Parts::default();
        BOX.clip_line(&[[-5.0, -1.0], [15.0, -1.0]], &mut parts);
        assert_eq!(parts.iter().count(), 0);
    }
}
