//! From features to one MVT layer of one tile: project to tile coordinates, clip to the tile
//! and its buffer, round, simplify, fix the ring winding MVT 2.1 asks for, and write the
//! feature with its fields.
//!
//! No feature that reaches the tile is lost on the way: a polygon or line that rounding and
//! simplification would reduce to nothing is written as the smallest shape that can be drawn
//! (a one-unit square or segment where it lies). Only clipping removes what is outside the
//! buffered tile. A `GeometryCollection` (possible in analysts' layers) has no MVT type: it is
//! written as one feature per kind of member (points, lines, polygons), with the same id.

use std::borrow::Cow;
use std::sync::Arc;

use geo::{Coord, Geometry as Geo, LineString, Point, Polygon};

use super::clip::{ClipBox, Parts};
use super::dictionary::LayerDictionary;
use super::mvt::{EXTENT, GeomType, Geometry, LayerEncoder, ring_area2};
use super::rules::LayerRules;
use super::simplify;
use super::tms::{TileId, normalised};
use crate::model::Feature;

/// The buffer around each tile, in tile units: features are clipped this far outside the tile
/// so that lines and polygon edges join without seams and labels near the edge fit.
pub const BUFFER: u32 = 64;

/// The simplification tolerance, in tile units (about the size of a rounding step).
pub const TOLERANCE: f64 = 1.0;

/// The buffer as a fraction of a tile's width (for bounds and tile ranges).
pub fn buffer_fraction() -> f64 {
    f64::from(BUFFER) / f64::from(EXTENT)
}

/// One tile's coordinate frame: WGS84 → tile units.
#[derive(Debug, Clone, Copy)]
pub struct TileFrame {
    /// The tile.
    pub tile: TileId,
    scale: f64,
    origin: [f64; 2],
    clip: ClipBox,
}

impl TileFrame {
    /// The frame of `tile`.
    pub fn new(tile: TileId) -> Self {
        let scale = f64::from(1u32 << tile.z()) * f64::from(EXTENT);
        Self {
            tile,
            scale,
            origin: [
                f64::from(tile.x()) * f64::from(EXTENT),
                f64::from(tile.y()) * f64::from(EXTENT),
            ],
            clip: ClipBox {
                min: -f64::from(BUFFER),
                max: f64::from(EXTENT + BUFFER),
            },
        }
    }

    /// A WGS84 position in this tile's units (x east, y down; the tile is `0..4096`).
    #[inline]
    pub fn project(&self, c: Coord<f64>) -> [f64; 2] {
        let (nx, ny) = normalised(c.x, c.y);
        [
            nx * self.scale - self.origin[0],
            ny * self.scale - self.origin[1],
        ]
    }
}

/// Buffers reused from one feature to the next (and one tile to the next).
#[derive(Debug, Default)]
pub struct Scratch {
    projected: Vec<[f64; 2]>,
    clipped: Vec<[f64; 2]>,
    spare: Vec<[f64; 2]>,
    parts: Parts,
    ints: Vec<[i32; 2]>,
    keep: Vec<bool>,
    geometry: Geometry,
    chosen: Vec<usize>,
    tags: Vec<u32>,
    keys: Vec<u32>,
    /// Per dictionary value: the generation that last used it, and its index in that layer.
    values: Vec<(u32, u32)>,
    generation: u32,
}

/// Writes the features of one layer that belong in the frame's tile. `features` are those whose
/// geometry intersects the buffered tile, in key order; `dictionary` holds their properties.
pub fn render_layer<'v>(
    layer: &mut LayerEncoder<'_, 'v>,
    rules: &'v LayerRules,
    dictionary: &'v LayerDictionary,
    features: &[&Arc<Feature>],
    frame: &TileFrame,
    scratch: &mut Scratch,
) {
    let z = frame.tile.z();
    if z < rules.min_zoom {
        return;
    }
    let mut chosen = std::mem::take(&mut scratch.chosen);
    chosen.clear();
    if z >= rules.complete_zoom {
        chosen.extend(0..features.len());
    } else {
        chosen.extend((0..features.len()).filter(|&i| rules.zoom_of(features[i]) <= z));
        if chosen.len() > rules.cap {
            // Most important first: earlier class, larger extent, then key order.
            chosen.sort_by(|&a, &b| {
                let (fa, fb) = (features[a], features[b]);
                rules
                    .zoom_of(fa)
                    .cmp(&rules.zoom_of(fb))
                    .then_with(|| extent_size(fb).total_cmp(&extent_size(fa)))
                    .then_with(|| fa.fid.cmp(&fb.fid))
            });
            chosen.truncate(rules.cap);
            chosen.sort_unstable();
        }
    }
    start_layer(rules, dictionary, scratch);
    for &i in &chosen {
        let feature = features[i];
        let id = u64::try_from(feature.fid).unwrap_or_default();
        let mut tagged = false;
        for kind in kinds(&feature.geometry) {
            if !encode(&feature.geometry, kind, frame, scratch) {
                continue;
            }
            if !tagged {
                tag(layer, rules, dictionary, feature.fid, scratch);
                tagged = true;
            }
            layer.feature_tags(id, kind, &scratch.geometry, &scratch.tags);
        }
    }
    scratch.chosen = chosen;
}

/// Forgets the previous layer's keys and values (a new generation instead of clearing).
fn start_layer(rules: &LayerRules, dictionary: &LayerDictionary, s: &mut Scratch) {
    s.keys.clear();
    s.keys.resize(rules.fields.len(), u32::MAX);
    s.generation = s.generation.wrapping_add(1);
    if s.generation == 0 {
        s.values.fill((0, 0));
        s.generation = 1;
    }
    if s.values.len() < dictionary.value_count() {
        s.values.resize(dictionary.value_count(), (0, 0));
    }
}

/// The feature's tags in this layer's keys and values tables, into `s.tags`; each key and value
/// is added to the tables on first use.
fn tag<'v>(
    layer: &mut LayerEncoder<'_, 'v>,
    rules: &'v LayerRules,
    dictionary: &'v LayerDictionary,
    fid: i64,
    s: &mut Scratch,
) {
    s.tags.clear();
    for pair in dictionary.tags(fid).chunks_exact(2) {
        let (field, value) = (pair[0] as usize, pair[1]);
        if s.keys[field] == u32::MAX {
            s.keys[field] = layer.key(&rules.fields[field].name);
        }
        let slot = &mut s.values[value as usize];
        if slot.0 != s.generation {
            *slot = (
                s.generation,
                layer.push_value(dictionary.value(value).borrowed()),
            );
        }
        s.tags.push(s.keys[field]);
        s.tags.push(slot.1);
    }
}

/// The width plus height of a feature's extent, degrees (a cheap size for ranking).
fn extent_size(feature: &Feature) -> f64 {
    feature.bbox.map_or(0.0, |b| b.width() + b.height())
}

/// The MVT types a geometry is written as (one, or up to three for a collection).
fn kinds(geometry: &Geo<f64>) -> impl Iterator<Item = GeomType> + use<> {
    let mut has = [false; 3];
    visit(geometry, &mut |piece| match piece {
        Piece::Point(_) => has[0] = true,
        Piece::Line(_) => has[1] = true,
        Piece::Polygon(_) => has[2] = true,
    });
    [GeomType::Point, GeomType::LineString, GeomType::Polygon]
        .into_iter()
        .zip(has)
        .filter_map(|(kind, has)| has.then_some(kind))
}

enum Piece<'g> {
    Point(Point<f64>),
    Line(Cow<'g, LineString<f64>>),
    Polygon(Cow<'g, Polygon<f64>>),
}

fn visit<'g>(geometry: &'g Geo<f64>, f: &mut impl FnMut(Piece<'g>)) {
    match geometry {
        Geo::Point(p) => f(Piece::Point(*p)),
        Geo::MultiPoint(mp) => {
            for p in &mp.0 {
                f(Piece::Point(*p));
            }
        }
        Geo::LineString(l) => f(Piece::Line(Cow::Borrowed(l))),
        Geo::MultiLineString(ml) => {
            for l in &ml.0 {
                f(Piece::Line(Cow::Borrowed(l)));
            }
        }
        Geo::Polygon(p) => f(Piece::Polygon(Cow::Borrowed(p))),
        Geo::MultiPolygon(mp) => {
            for p in &mp.0 {
                f(Piece::Polygon(Cow::Borrowed(p)));
            }
        }
        Geo::GeometryCollection(gc) => {
            for g in &gc.0 {
                visit(g, f);
            }
        }
        Geo::Line(l) => f(Piece::Line(Cow::Owned(LineString::from(vec![
            l.start, l.end,
        ])))),
        Geo::Rect(r) => f(Piece::Polygon(Cow::Owned(r.to_polygon()))),
        Geo::Triangle(t) => f(Piece::Polygon(Cow::Owned(t.to_polygon()))),
    }
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "the point is inside the clip box, far within i32"
)]
fn round(p: [f64; 2]) -> [i32; 2] {
    [p[0].round() as i32, p[1].round() as i32]
}

/// Writes the pieces of `geometry` of type `kind` into `scratch.geometry`; false when nothing of
/// them is in the buffered tile.
fn encode(geometry: &Geo<f64>, kind: GeomType, frame: &TileFrame, s: &mut Scratch) -> bool {
    s.geometry.clear();
    let mut fallback: Option<[i32; 2]> = None;
    match kind {
        GeomType::Point => {
            s.ints.clear();
            visit(geometry, &mut |piece| {
                if let Piece::Point(p) = piece {
                    let t = frame.project(p.0);
                    if frame.clip.contains(t) {
                        s.ints.push(round(t));
                    }
                }
            });
            s.geometry.points(&s.ints);
        }
        GeomType::LineString => visit(geometry, &mut |piece| {
            if let Piece::Line(line) = piece {
                encode_line(&line, frame, s, &mut fallback);
            }
        }),
        GeomType::Polygon => visit(geometry, &mut |piece| {
            if let Piece::Polygon(polygon) = piece {
                encode_polygon(&polygon, frame, s, &mut fallback);
            }
        }),
    }
    if s.geometry.is_empty()
        && let Some([x, y]) = fallback
    {
        match kind {
            GeomType::LineString => s.geometry.line(&[[x, y], [x + 1, y]]),
            _ => s
                .geometry
                .ring(&[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1]]),
        }
    }
    !s.geometry.is_empty()
}

/// Projects a line or ring (dropping a closing point for rings) into `s.projected`; returns
/// whether it lies inside the clip box whole.
fn project(coords: &[Coord<f64>], ring: bool, frame: &TileFrame, s: &mut Scratch) -> bool {
    s.projected.clear();
    let n = if ring && coords.len() > 1 && coords.first() == coords.last() {
        coords.len() - 1
    } else {
        coords.len()
    };
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for &c in &coords[..n] {
        let p = frame.project(c);
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
        s.projected.push(p);
    }
    frame.clip.contains_box(lo, hi)
}

fn encode_line(
    line: &LineString<f64>,
    frame: &TileFrame,
    s: &mut Scratch,
    fallback: &mut Option<[i32; 2]>,
) {
    let inside = project(&line.0, false, frame, s);
    s.parts.clear();
    if inside {
        s.parts.start();
        for &p in &s.projected {
            s.parts.push(p);
        }
    } else {
        frame.clip.clip_line(&s.projected, &mut s.parts);
    }
    for part in s.parts.iter() {
        s.ints.clear();
        s.ints.extend(part.iter().map(|&p| round(p)));
        s.ints.dedup();
        if fallback.is_none() {
            *fallback = s.ints.first().copied();
        }
        simplify::line(&mut s.ints, TOLERANCE, &mut s.keep);
        if s.ints.len() >= 2 {
            s.geometry.line(&s.ints);
        }
    }
}

fn encode_polygon(
    polygon: &Polygon<f64>,
    frame: &TileFrame,
    s: &mut Scratch,
    fallback: &mut Option<[i32; 2]>,
) {
    if !clip_ring(polygon.exterior(), frame, s) {
        return;
    }
    if fallback.is_none() {
        *fallback = s.ints.first().copied();
    }
    if !simplify::ring(&mut s.ints, TOLERANCE, &mut s.keep) {
        return;
    }
    if ring_area2(&s.ints) < 0 {
        s.ints.reverse();
    }
    s.geometry.ring(&s.ints);
    for hole in polygon.interiors() {
        if clip_ring(hole, frame, s) && simplify::ring(&mut s.ints, TOLERANCE, &mut s.keep) {
            if ring_area2(&s.ints) > 0 {
                s.ints.reverse();
            }
            s.geometry.ring(&s.ints);
        }
    }
}

/// Projects, clips and rounds a ring into `s.ints`; false when nothing of it is in the box.
fn clip_ring(ring: &LineString<f64>, frame: &TileFrame, s: &mut Scratch) -> bool {
    let inside = project(&ring.0, true, frame, s);
    let points = if inside {
        &s.projected
    } else {
        frame
            .clip
            .clip_ring(&s.projected, &mut s.clipped, &mut s.spare);
        &s.clipped
    };
    s.ints.clear();
    s.ints.extend(points.iter().map(|&p| round(p)));
    s.ints.dedup();
    !s.ints.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FeatureId;
    use crate::model::layers::builtin;
    use crate::tiles::mvt::{DecodedFeature, TileEncoder, decode};
    use chrono::Utc;
    use geo::{Rect, coord, line_string, point};
    use serde_json::json;

    /// A tile over Zhengzhou's old town.
    fn tile() -> TileId {
        TileId::new(14, 13365, 6503).unwrap()
    }

    /// A WGS84 position at tile units `(u, v)` of `tile()`.
    fn at(u: f64, v: f64) -> Coord<f64> {
        let b = tile().bounds();
        let (x0, y0) = normalised(b.min().x, b.max().y);
        let (x1, y1) = normalised(b.max().x, b.min().y);
        let nx = x0 + (x1 - x0) * u / 4096.0;
        let ny = y0 + (y1 - y0) * v / 4096.0;
        let lat = (std::f64::consts::PI * (1.0 - 2.0 * ny))
            .sinh()
            .atan()
            .to_degrees();
        coord! { x: nx * 360.0 - 180.0, y: lat }
    }

    fn feature(fid: i64, geometry: Geo<f64>, properties: serde_json::Value) -> Arc<Feature> {
        let serde_json::Value::Object(properties) = properties else {
            panic!("properties are an object")
        };
        Arc::new(Feature::new(
            fid,
            FeatureId::parse(&format!("f{fid}")).unwrap(),
            geometry,
            properties,
            1,
            Utc::now(),
            Utc::now(),
        ))
    }

    fn rules(layer: &str) -> LayerRules {
        LayerRules::of(
            &builtin()
                .into_iter()
                .find(|d| d.id.as_str() == layer)
                .unwrap(),
        )
    }

    fn render(layer: &str, tile: TileId, features: &[Arc<Feature>]) -> Vec<DecodedFeature> {
        let rules = rules(layer);
        let refs: Vec<&Arc<Feature>> = features.iter().collect();
        let dictionary = LayerDictionary::build(&rules, features.iter().map(|f| &**f));
        let mut encoder = TileEncoder::default();
        let mut writer = encoder.layer(layer);
        render_layer(
            &mut writer,
            &rules,
            &dictionary,
            &refs,
            &TileFrame::new(tile),
            &mut Scratch::default(),
        );
        writer.finish();
        decode(&encoder.finish())
            .unwrap()
            .pop()
            .map(|l| l.features)
            .unwrap_or_default()
    }

    fn park(fid: i64, exterior: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Arc<Feature> {
        let ring = |r: &[(f64, f64)]| -> LineString<f64> {
            let mut coords: Vec<Coord<f64>> = r.iter().map(|&(u, v)| at(u, v)).collect();
            coords.push(coords[0]);
            LineString::from(coords)
        };
        let polygon = Polygon::new(ring(exterior), holes.iter().map(|h| ring(h)).collect());
        feature(
            fid,
            polygon.into(),
            json!({"name": "公园", "kind": "comprehensive", "area_m2": 1234.5}),
        )
    }

    #[test]
    fn a_point_lands_on_its_tile_coordinates_with_its_fields() {
        let p = at(1000.0, 2000.0);
        let f = feature(
            7,
            point!(x: p.x, y: p.y).into(),
            json!({"component_code": "4101040102000001", "kind": "sewage", "status": "damaged", "owner_unit": "不写入"}),
        );
        let got = render("manholes", tile(), &[f]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, Some(7));
        assert_eq!(got[0].parts, [vec![[1000, 2000]]]);
        assert_eq!(got[0].property("status").unwrap().as_str(), Some("damaged"));
        assert_eq!(got[0].property("id").unwrap().as_str(), Some("f7"));
        assert!(
            got[0].property("owner_unit").is_none(),
            "manholes carry a selection"
        );
    }

    #[test]
    fn properties_out_of_schema_order_are_all_written() {
        let p = at(5.0, 5.0);
        let f = feature(
            8,
            point!(x: p.x, y: p.y).into(),
            json!({"rectified_on": "2024-05-01", "status": "missing", "kind": "gas", "component_code": "4101040104000001"}),
        );
        let got = render("manholes", tile(), &[f]);
        let keys: Vec<&str> = got[0].properties.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["id", "component_code", "kind", "status", "rectified_on"]
        );
    }

    #[test]
    fn exterior_rings_are_clockwise_and_holes_counter_clockwise_whatever_the_input() {
        // Input rings in both orientations (WGS84 counter-clockwise is clockwise in tiles).
        let outer = [
            (100.0, 100.0),
            (900.0, 100.0),
            (900.0, 900.0),
            (100.0, 900.0),
        ];
        let hole = [
            (300.0, 300.0),
            (300.0, 600.0),
            (600.0, 600.0),
            (600.0, 300.0),
        ];
        let mut reversed_outer = outer;
        reversed_outer.reverse();
        let mut reversed_hole = hole;
        reversed_hole.reverse();
        let features = [
            park(1, &outer, &[&hole]),
            park(2, &reversed_outer, &[&reversed_hole]),
        ];
        for f in render("parks", tile(), &features) {
            assert_eq!((f.kind, f.parts.len()), (3, 2));
            assert!(ring_area2(&f.parts[0]) > 0, "exterior: {:?}", f.parts[0]);
            assert!(ring_area2(&f.parts[1]) < 0, "hole: {:?}", f.parts[1]);
        }
    }

    #[test]
    fn a_polygon_larger_than_the_tile_is_clipped_to_the_buffer() {
        let big = park(
            1,
            &[
                (-5000.0, -5000.0),
                (9000.0, -5000.0),
                (9000.0, 9000.0),
                (-5000.0, 9000.0),
            ],
            &[],
        );
        let got = render("parks", tile(), &[big]);
        let ring = &got[0].parts[0];
        assert!(
            ring.iter()
                .all(|p| p.iter().all(|&c| (-64..=4160).contains(&c)))
        );
        let side = i64::from(4096 + 2 * BUFFER);
        assert!(
            (ring_area2(ring) - 2 * side * side).abs() <= 4 * side,
            "{ring:?}"
        );
    }

    #[test]
    fn a_line_crossing_the_tile_is_cut_at_the_buffer() {
        let (a, b) = (at(-2000.0, 500.0), at(6000.0, 500.0));
        let road = feature(
            3,
            line_string![(x: a.x, y: a.y), (x: b.x, y: b.y)].into(),
            json!({"name": "紫荆山路", "class": "arterial"}),
        );
        let got = render("roads", tile(), &[road]);
        assert_eq!(got[0].parts, [vec![[-64, 500], [4160, 500]]]);
    }

    #[test]
    fn a_polygon_smaller_than_a_unit_still_shows_at_its_place() {
        let tiny = park(
            5,
            &[(10.0, 10.0), (10.2, 10.0), (10.2, 10.2), (10.0, 10.2)],
            &[],
        );
        let got = render("parks", TileId::new(14, 13365, 6503).unwrap(), &[tiny]);
        assert_eq!(got.len(), 1);
        assert!(ring_area2(&got[0].parts[0]) > 0);
        assert_eq!(got[0].parts[0][0], [10, 10]);
    }

    #[test]
    fn simplification_removes_detail_below_a_unit() {
        // A zigzag of ±0.2 units along a straight line: the line keeps its two ends only.
        let coords: Vec<Coord<f64>> = (0..=100)
            .map(|i| {
                at(
                    f64::from(i) * 10.0,
                    500.0 + if i % 2 == 0 { 0.2 } else { -0.2 },
                )
            })
            .collect();
        let pipe = feature(
            9,
            LineString::from(coords).into(),
            json!({"kind": "gas", "condition": "aging"}),
        );
        let got = render("pipelines", tile(), &[pipe]);
        assert_eq!(got[0].parts, [vec![[0, 500], [1000, 500]]]);
    }

    #[test]
    fn below_the_complete_zoom_only_the_classes_of_that_zoom_are_drawn() {
        let c = at(2000.0, 2000.0);
        let cell = |fid, level| {
            let r = Rect::new(c, coord! { x: c.x + 0.001, y: c.y + 0.001 });
            feature(
                fid,
                r.to_polygon().into(),
                json!({"level": level, "code": "1", "name": "n"}),
            )
        };
        let cells = [cell(1, "street"), cell(2, "grid")];
        let parent = TileId::containing(c.x, c.y, 12);
        let ids = |tile| -> Vec<Option<u64>> {
            render("grid_cells", tile, &cells)
                .iter()
                .map(|f| f.id)
                .collect()
        };
        assert_eq!(ids(parent), [Some(1)]);
        assert_eq!(ids(tile()), [Some(1), Some(2)]);
    }

    #[test]
    fn the_cap_keeps_the_largest_features_below_the_complete_zoom_only() {
        let mut rules = rules("renovation_areas");
        rules.cap = 2;
        rules.complete_zoom = 15;
        let sized = |fid: i64, size: f64| {
            let c = at(100.0 * fid as f64, 100.0);
            let r = Rect::new(c, coord! { x: c.x + size, y: c.y + size });
            feature(
                fid,
                r.to_polygon().into(),
                json!({"name": "n", "kind": "old_block", "status": "planned"}),
            )
        };
        let features = [sized(1, 0.001), sized(2, 0.003), sized(3, 0.002)];
        let refs: Vec<&Arc<Feature>> = features.iter().collect();
        let dictionary = LayerDictionary::build(&rules, features.iter().map(|f| &**f));
        let ids = |tile: TileId| {
            let mut encoder = TileEncoder::default();
            let mut writer = encoder.layer("renovation_areas");
            render_layer(
                &mut writer,
                &rules,
                &dictionary,
                &refs,
                &TileFrame::new(tile),
                &mut Scratch::default(),
            );
            writer.finish();
            decode(&encoder.finish()).unwrap()[0]
                .features
                .iter()
                .map(|f| f.id.unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(tile()), [2, 3], "the two largest, in key order");
        let child = TileId::new(15, 2 * tile().x(), 2 * tile().y()).unwrap();
        assert_eq!(ids(child), [1, 2, 3], "no cap at the complete zoom");
    }

    #[test]
    fn a_geometry_collection_is_written_as_one_feature_per_kind() {
        let p = at(10.0, 10.0);
        let (a, b) = (at(20.0, 20.0), at(40.0, 20.0));
        let gc = Geo::GeometryCollection(geo::GeometryCollection(vec![
            point!(x: p.x, y: p.y).into(),
            line_string![(x: a.x, y: a.y), (x: b.x, y: b.y)].into(),
        ]));
        let f = feature(4, gc, json!({}));
        let kinds: Vec<u32> = render("renovation_areas", tile(), &[f])
            .iter()
            .map(|f| f.kind)
            .collect();
        assert_eq!(kinds, [1, 2]);
    }
}
