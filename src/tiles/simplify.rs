//! Douglas–Peucker simplification of lines and rings already rounded to tile coordinates.
//!
//! The tolerance is in tile units, so the same value simplifies more on the ground at lower
//! zooms. A ring that simplification would reduce below three points or to no area is kept as it
//! was: simplification never makes a feature vanish.

use super::mvt::ring_area2;

/// Simplifies an open line in place (its end points stay).
pub fn line(points: &mut Vec<[i32; 2]>, tolerance: f64, keep: &mut Vec<bool>) {
    if points.len() <= 2 || tolerance <= 0.0 {
        return;
    }
    mark(points, tolerance * tolerance, keep);
    let mut i = 0;
    points.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// Simplifies a ring (open: the first point is not repeated) in place, unless that would make it
/// degenerate. Returns whether the ring has at least three points and a non-zero area.
pub fn ring(points: &mut Vec<[i32; 2]>, tolerance: f64, keep: &mut Vec<bool>) -> bool {
    while points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.len() < 3 {
        return false;
    }
    if tolerance > 0.0 && points.len() > 4 {
        // Close the ring so that both ends are the same fixed point.
        points.push(points[0]);
        mark(points, tolerance * tolerance, keep);
        let kept = keep.iter().filter(|&&k| k).count() - 1;
        if kept >= 3 {
            let mut i = 0;
            let mut simplified: Vec<[i32; 2]> = Vec::with_capacity(kept + 1);
            simplified.extend(points.iter().filter(|_| {
                i += 1;
                keep[i - 1]
            }));
            simplified.pop();
            if ring_area2(&simplified) != 0 {
                *points = simplified;
                return true;
            }
        }
        points.pop();
    }
    ring_area2(points) != 0
}

/// Marks the points Douglas–Peucker keeps (squared tolerance), iteratively.
fn mark(points: &[[i32; 2]], tolerance2: f64, keep: &mut Vec<bool>) {
    keep.clear();
    keep.resize(points.len(), false);
    let last = points.len() - 1;
    keep[0] = true;
    keep[last] = true;
    let mut stack = vec![(0usize, last)];
    while let Some((first, end)) = stack.pop() {
        if end <= first + 1 {
            continue;
        }
        let (mut worst, mut worst_d) = (0, -1.0);
        for (i, &p) in points.iter().enumerate().take(end).skip(first + 1) {
            let d = distance2(p, points[first], points[end]);
            if d > worst_d {
                worst = i;
                worst_d = d;
            }
        }
        if worst_d > tolerance2 {
            keep[worst] = true;
            stack.push((first, worst));
            stack.push((worst, end));
        }
    }
}

/// The squared distance from `p` to the segment `a–b`.
fn distance2(p: [i32; 2], a: [i32; 2], b: [i32; 2]) -> f64 {
    let [px, py] = p.map(f64::from);
    let [ax, ay] = a.map(f64::from);
    let [bx, by] = b.map(f64::from);
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    };
    let (cx, cy) = (ax + t * dx - px, ay + t * dy - py);
    cx * cx + cy * cy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_within_the_tolerance_of_a_straight_line_are_removed() {
        let mut l = vec![[0, 0], [5, 1], [10, 0], [20, 0], [30, 8]];
        line(&mut l, 1.0, &mut Vec::new());
        assert_eq!(l, [[0, 0], [20, 0], [30, 8]]);
    }

    #[test]
    fn a_bend_larger_than_the_tolerance_stays() {
        let mut l = vec![[0, 0], [5, 3], [10, 0]];
        line(&mut l, 1.0, &mut Vec::new());
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn a_ring_keeps_its_corners_and_loses_collinear_points() {
        let mut r = vec![[0, 0], [5, 0], [10, 0], [10, 10], [5, 10], [0, 10]];
        assert!(ring(&mut r, 1.0, &mut Vec::new()));
        assert_eq!(r, [[0, 0], [10, 0], [10, 10], [0, 10]]);
    }

    #[test]
    fn a_ring_smaller_than_the_tolerance_is_kept_rather_than_lost() {
        let mut r = vec![[0, 0], [1, 0], [2, 0], [2, 1], [1, 1], [0, 1]];
        assert!(ring(&mut r, 5.0, &mut Vec::new()));
        assert!(r.len() >= 3 && ring_area2(&r) != 0, "{r:?}");
    }

    #[test]
    fn a_ring_without_area_is_degenerate() {
        let mut r = vec![[0, 0], [5, 0], [10, 0], [0, 0]];
        assert!(!ring(&mut r, 1.0, &mut Vec::new()));
        let mut r = vec![[0, 0], [1, 1]];
        assert!(!ring(&mut r, 1.0, &mut Vec::new()));
    }
}
