//! The `parks`, `renovation_areas` and `facilities` layers.
//!
//! Parks and renovation areas are (rotated or notched) rectangles placed by rejection sampling:
//! wholly inside the boundary and, within a layer, not overlapping (renovation blocks and
//! communities may lie wholly inside a renovation area, never across its edge). Facilities are
//! points, the public toilets and car parks beside roads, and are named after the street or
//! road they are in.

use geo::{Contains, Coord, Point};
use geojson::Feature;
use rand::{Rng, seq::IndexedRandom};

use super::cells::NamedArea;
use super::geom::{LocalMetric, ring_area2, round_coord};
use super::names::StemPool;
use super::network::{OLD_TOWN, Road};
use super::output::{Props, feature, point_value, polygons_value, random_date};
use super::{Context, DemoError};

/// Random streams of the three layers.
const PARK_STREAM: u64 = 3;
const RENOVATION_STREAM: u64 = 4;
const FACILITY_STREAM: u64 = 5;

/// How often a shape may be redrawn before giving up.
const ATTEMPTS: usize = 4000;

/// Sampling areas (min lon, min lat, max lon, max lat).
const WHOLE: [f64; 4] = [113.646, 34.613, 113.866, 34.771];
const NORTH_WEST: [f64; 4] = [113.657, 34.700, 113.740, 34.760];

/// A placed polygon: its closed ring and bounding box.
#[derive(Debug, Clone)]
struct Placed {
    ring: Vec<Coord>,
    bbox: [f64; 4],
}

impl Placed {
    fn overlaps(&self, other: &[f64; 4]) -> bool {
        self.bbox[0] < other[2]
            && other[0] < self.bbox[2]
            && self.bbox[1] < other[3]
            && other[1] < self.bbox[3]
    }

    fn within(&self, other: &[f64; 4]) -> bool {
        self.bbox[0] >= other[0]
            && self.bbox[1] >= other[1]
            && self.bbox[2] <= other[2]
            && self.bbox[3] <= other[3]
    }

    fn shape(&self) -> geo::MultiPolygon {
        geo::MultiPolygon::new(vec![geo::Polygon::new(
            geo::LineString::new(self.ring.clone()),
            Vec::new(),
        )])
    }
}

/// What to draw: area range (m²), greatest rotation (degrees), chance of a notched corner.
#[derive(Debug, Clone, Copy)]
struct ShapeSpec {
    area_m2: (f64, f64),
    max_angle_deg: f64,
    notch: f64,
}

/// A rectangle (perhaps with a notched corner) of about the drawn area around `center`,
/// rotated, rounded to 7 decimals, counter-clockwise and closed.
fn draw_shape(metric: LocalMetric, center: Coord, spec: ShapeSpec, rng: &mut impl Rng) -> Placed {
    let area = rng.random_range(spec.area_m2.0..spec.area_m2.1);
    let aspect = rng.random_range(1.0..2.2);
    let (w, h) = ((area * aspect).sqrt(), (area / aspect).sqrt());
    let angle = if spec.max_angle_deg > 0.0 {
        rng.random_range(-spec.max_angle_deg..spec.max_angle_deg)
            .to_radians()
    } else {
        0.0
    };
    let (hw, hh) = (0.5 * w, 0.5 * h);
    let corners: Vec<(f64, f64)> = if rng.random_bool(spec.notch) {
        let (nw, nh) = (0.4 * w, 0.4 * h);
        vec![
            (-hw, -hh),
            (hw, -hh),
            (hw, hh - nh),
            (hw - nw, hh - nh),
            (hw - nw, hh),
            (-hw, hh),
        ]
    } else {
        vec![(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)]
    };
    let (sin, cos) = angle.sin_cos();
    let mut outline: Vec<Coord> = corners
        .iter()
        .map(|&(x, y)| round_coord(metric.offset(center, x * cos - y * sin, x * sin + y * cos)))
        .collect();
    outline.push(outline[0]);
    if ring_area2(&outline) < 0.0 {
        outline.reverse();
    }
    let bbox = outline
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, c| {
            [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)]
        });
    Placed {
        ring: outline,
        bbox,
    }
}

/// A uniformly drawn point of a rectangle.
fn point_in(area: [f64; 4], rng: &mut impl Rng) -> Coord {
    Coord {
        x: rng.random_range(area[0]..area[2]),
        y: rng.random_range(area[1]..area[3]),
    }
}

/// Draws shapes until one lies inside the boundary and passes `fits`.
fn place(
    ctx: &Context,
    area: [f64; 4],
    spec: ShapeSpec,
    rng: &mut impl Rng,
    fits: impl Fn(&Placed) -> bool,
) -> Option<Placed> {
    (0..ATTEMPTS).find_map(|_| {
        let shape = draw_shape(ctx.metric, point_in(area, rng), spec, rng);
        (ctx.index.contains_ring(&shape.ring) && fits(&shape)).then_some(shape)
    })
}

/// The shape grown by `margin_m` on every side, as a bounding box.
fn grown(shape: &Placed, metric: LocalMetric, margin_m: f64) -> [f64; 4] {
    let (dx, dy) = (metric.dx_deg(margin_m), metric.dy_deg(margin_m));
    [
        shape.bbox[0] - dx,
        shape.bbox[1] - dy,
        shape.bbox[2] + dx,
        shape.bbox[3] + dy,
    ]
}

/// Comprehensive parks: name, where to look, area range (m²).
const COMPREHENSIVE_PARKS: [(&str, [f64; 4], (f64, f64)); 4] = [
    ("商城遗址公园", OLD_TOWN, (120_000.0, 200_000.0)),
    (
        "十八里河湿地公园",
        [113.650, 34.640, 113.720, 34.690],
        (250_000.0, 400_000.0),
    ),
    (
        "南曹森林公园",
        [113.720, 34.615, 113.790, 34.660],
        (250_000.0, 400_000.0),
    ),
    (
        "潮河滨水公园",
        [113.780, 34.700, 113.860, 34.750],
        (150_000.0, 300_000.0),
    ),
];

/// How many community and pocket parks.
const COMMUNITY_PARKS: usize = 14;
const POCKET_PARKS: usize = 28;

/// Generates the `parks` layer.
pub(crate) fn parks(ctx: &Context) -> Result<Vec<Feature>, DemoError> {
    let mut rng = ctx.rng(PARK_STREAM);
    let mut stems = StemPool::new(&mut rng);
    let mut placed: Vec<Placed> = Vec::new();
    let mut features = Vec::new();
    let mut plan: Vec<(String, &str, [f64; 4], ShapeSpec)> = COMPREHENSIVE_PARKS
        .iter()
        .map(|(name, area, size)| {
            let spec = ShapeSpec {
                area_m2: *size,
                max_angle_deg: 10.0,
                notch: 0.5,
            };
            ((*name).to_owned(), "comprehensive", *area, spec)
        })
        .collect();
    for _ in 0..COMMUNITY_PARKS {
        let spec = ShapeSpec {
            area_m2: (10_000.0, 50_000.0),
            max_angle_deg: 15.0,
            notch: 0.3,
        };
        plan.push((
            format!("{}公园", stems.next_stem()),
            "community",
            WHOLE,
            spec,
        ));
    }
    for i in 0..POCKET_PARKS {
        let spec = ShapeSpec {
            area_m2: (1_000.0, 10_000.0),
            max_angle_deg: 20.0,
            notch: 0.2,
        };
        let area = if i % 2 == 0 { OLD_TOWN } else { NORTH_WEST };
        plan.push((format!("{}游园", stems.next_stem()), "pocket", area, spec));
    }
    for (name, kind, area, spec) in plan {
        let margins: Vec<[f64; 4]> = placed.iter().map(|p| grown(p, ctx.metric, 30.0)).collect();
        let shape = place(ctx, area, spec, &mut rng, |s| {
            margins.iter().all(|m| !s.overlaps(m))
        })
        .ok_or_else(|| DemoError::Layout {
            layer: "parks",
            what: name.clone(),
        })?;
        let (opened, hours) = match kind {
            "comprehensive" => (
                random_date(&mut rng, 1990, 2015),
                *["06:00-22:00", "05:30-22:30"]
                    .choose(&mut rng)
                    .unwrap_or(&"06:00-22:00"),
            ),
            "community" => (
                random_date(&mut rng, 2005, 2022),
                *["全天开放", "06:00-22:00"]
                    .choose(&mut rng)
                    .unwrap_or(&"全天开放"),
            ),
            _ => (random_date(&mut rng, 2015, 2024), "全天开放"),
        };
        let props = Props::new()
            .text("name", name)
            .text("kind", kind)
            .text("opened_on", opened)
            .text("open_hours", hours);
        features.push(feature(
            format!("park-{:03}", features.len() + 1),
            polygons_value(&shape.shape()),
            props,
        ));
        placed.push(shape);
    }
    Ok(features)
}

/// Renovation areas of the 2023 plan.
const OLD_AREAS: [&str; 3] = ["商城遗址片区", "书院街片区", "南关片区"];
const OLD_BLOCKS: [&str; 6] = [
    "书院街历史文化街区",
    "北大清真寺街区",
    "南大街街区",
    "顺河路街区",
    "管城街街区",
    "陇海马路街区",
];
const OLD_COMMUNITIES: [&str; 14] = [
    "郑州卷烟厂家属院",
    "城南路17号院",
    "市三院家属院",
    "平等街9号院",
    "郑州纺织机械厂家属院",
    "南学街22号院",
    "河南省第一建筑公司家属院",
    "顺河路35号院",
    "郑州铁路局家属院",
    "城东南路48号院",
    "郑州市自来水公司家属院",
    "东大街126号院",
    "管城区粮食局家属院",
    "陇海马路61号院",
];
const OLD_FACTORIES: [&str; 2] = ["郑州卷烟厂旧厂区", "豫丰纱厂旧址"];

/// Places the renovation areas of each kind: areas, blocks, communities and factories.
fn place_renovation_areas(
    ctx: &Context,
    rng: &mut impl Rng,
) -> Result<[Vec<Placed>; 4], DemoError> {
    let rect = |area_m2| ShapeSpec {
        area_m2,
        max_angle_deg: 0.0,
        notch: 0.0,
    };
    let mut areas: Vec<Placed> = Vec::new();
    let mut blocks: Vec<Placed> = Vec::new();
    let mut communities: Vec<Placed> = Vec::new();
    let mut factories: Vec<Placed> = Vec::new();
    let fail = |what: &str| DemoError::Layout {
        layer: "renovation_areas",
        what: what.to_owned(),
    };
    for name in OLD_AREAS {
        let shape = place(ctx, OLD_TOWN, rect((400_000.0, 700_000.0)), rng, |s| {
            areas.iter().all(|a| !s.overlaps(&a.bbox))
        })
        .ok_or_else(|| fail(name))?;
        areas.push(shape);
    }
    for (i, name) in OLD_BLOCKS.iter().enumerate() {
        // Four blocks inside the areas, two on their own.
        let inside = i < 4;
        let search = if inside {
            areas[i % areas.len()].bbox
        } else {
            NORTH_WEST
        };
        let shape = place(ctx, search, rect((50_000.0, 150_000.0)), rng, |s| {
            blocks.iter().all(|b| !s.overlaps(&b.bbox))
                && if inside {
                    s.within(&areas[i % areas.len()].bbox)
                } else {
                    areas.iter().all(|a| !s.overlaps(&a.bbox))
                }
        })
        .ok_or_else(|| fail(name))?;
        blocks.push(shape);
    }
    for (i, name) in OLD_COMMUNITIES.iter().enumerate() {
        let search = if i % 3 == 0 { NORTH_WEST } else { OLD_TOWN };
        let spec = ShapeSpec {
            area_m2: (10_000.0, 40_000.0),
            max_angle_deg: 0.0,
            notch: 0.3,
        };
        let shape = place(ctx, search, spec, rng, |s| {
            communities.iter().all(|c| !s.overlaps(&c.bbox))
                && areas
                    .iter()
                    .chain(&blocks)
                    .all(|p| !s.overlaps(&p.bbox) || s.within(&p.bbox))
        })
        .ok_or_else(|| fail(name))?;
        communities.push(shape);
    }
    for name in OLD_FACTORIES {
        let factory_area = [113.660, 34.700, 113.750, 34.745];
        let shape = place(ctx, factory_area, rect((100_000.0, 200_000.0)), rng, |s| {
            areas
                .iter()
                .chain(&blocks)
                .chain(&communities)
                .chain(&factories)
                .all(|p| !s.overlaps(&p.bbox))
        })
        .ok_or_else(|| fail(name))?;
        factories.push(shape);
    }
    Ok([areas, blocks, communities, factories])
}

/// Generates the `renovation_areas` layer.
pub(crate) fn renovation_areas(ctx: &Context) -> Result<Vec<Feature>, DemoError> {
    let mut rng = ctx.rng(RENOVATION_STREAM);
    let [areas, blocks, communities, factories] = place_renovation_areas(ctx, &mut rng)?;
    let groups: [(&str, &[&str], &[Placed]); 4] = [
        ("old_area", &OLD_AREAS, &areas),
        ("old_block", &OLD_BLOCKS, &blocks),
        ("old_community", &OLD_COMMUNITIES, &communities),
        ("old_factory", &OLD_FACTORIES, &factories),
    ];
    let mut features = Vec::new();
    for (kind, names, shapes) in groups {
        for (name, shape) in names.iter().zip(shapes) {
            let plan_year = match kind {
                "old_factory" => 2024,
                "old_community" if rng.random_bool(0.15) => 2022,
                _ => 2023,
            };
            let status = match rng.random_range(0..10) {
                0..2 => "planned",
                2..7 => "in_progress",
                _ => "done",
            };
            let props = Props::new()
                .text("name", *name)
                .text("kind", kind)
                .int("plan_year", plan_year)
                .text("status", status);
            features.push(feature(
                format!("renov-{:02}", features.len() + 1),
                polygons_value(&shape.shape()),
                props,
            ));
        }
    }
    Ok(features)
}

/// Facility kinds: code, count at scale 1, whether the count grows with the scale.
const FACILITY_KINDS: [(&str, usize, bool); 8] = [
    ("public_toilet", 60, true),
    ("sanitation_transfer_station", 9, false),
    ("civil_air_defence", 28, false),
    ("parking", 40, true),
    ("school", 30, false),
    ("kindergarten", 36, false),
    ("hospital", 8, false),
    ("fitness_path", 15, false),
];

/// District hospitals, named first; further hospitals are street health centres.
const HOSPITALS: [&str; 4] = [
    "管城回族区人民医院",
    "管城回族区中医院",
    "管城回族区妇幼保健院",
    "管城回族区第二人民医院",
];

/// Counts names already given so repeats get a number: "商城路公厕", "商城路2号公厕".
#[derive(Debug, Default)]
struct NameCounter(Vec<(String, usize)>);

impl NameCounter {
    fn next(&mut self, base: &str) -> usize {
        if let Some(entry) = self.0.iter_mut().find(|(b, _)| b == base) {
            entry.1 += 1;
            entry.1
        } else {
            self.0.push((base.to_owned(), 1));
            1
        }
    }

    /// `stem` + `suffix`, with "N号" before the suffix from the second time on.
    fn numbered(&mut self, stem: &str, suffix: &str) -> String {
        match self.next(&format!("{stem}{suffix}")) {
            1 => format!("{stem}{suffix}"),
            n => format!("{stem}{n}号{suffix}"),
        }
    }
}

/// Names facilities after their road or street, or with generated stems.
struct FacilityNamer {
    stems: StemPool,
    counter: NameCounter,
}

impl FacilityNamer {
    /// Name of the `made`-th facility of a kind, beside `road` (if any) in `street`.
    fn name(&mut self, kind: &str, made: usize, road: &str, street: &str) -> String {
        let counter = &mut self.counter;
        match kind {
            "public_toilet" => counter.numbered(road, "公厕"),
            "parking" => counter.numbered(road, "公共停车场"),
            "sanitation_transfer_station" => counter.numbered(street, "垃圾中转站"),
            "civil_air_defence" => {
                let n = counter.next(&format!("{street}人防工程"));
                format!("{street}人防工程{n}号")
            }
            "school" if made.is_multiple_of(3) => {
                format!("管城回族区{}中学", self.stems.next_stem())
            }
            "school" => format!("管城回族区{}小学", self.stems.next_stem()),
            "kindergarten" => format!("管城回族区{}幼儿园", self.stems.next_stem()),
            "hospital" => HOSPITALS
                .get(made)
                .map_or_else(|| counter.numbered(street, "卫生院"), |h| (*h).to_owned()),
            _ => format!("{}健身步道", self.stems.next_stem()),
        }
    }
}

/// A point beside a road (on the pavement or just behind it), with the road's name.
fn beside_road<'a>(
    ctx: &Context,
    roads: &'a [Road],
    rng: &mut impl Rng,
) -> Option<(Coord, &'a str)> {
    let road = roads.choose(rng)?;
    let piece = road.pieces.choose(rng)?;
    let metric = ctx.metric;
    let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let shifted = metric.offset_line(
        piece,
        side * (0.5 * road.width_m + rng.random_range(5.0..20.0)),
    );
    let at = rng.random_range(0.0..metric.length_m(&shifted).max(1.0));
    Some((
        round_coord(metric.point_along(&shifted, at)),
        road.name.as_str(),
    ))
}

/// Generates the `facilities` layer.
pub(crate) fn facilities(
    ctx: &Context,
    roads: &[Road],
    streets: &[NamedArea],
) -> Result<Vec<Feature>, DemoError> {
    let mut rng = ctx.rng(FACILITY_STREAM);
    let mut namer = FacilityNamer {
        stems: StemPool::new(&mut rng),
        counter: NameCounter::default(),
    };
    let mut features = Vec::new();
    let street_of = |c: Coord| {
        streets
            .iter()
            .find(|s| s.shape.contains(&Point::from(c)))
            .map_or("管城", |s| s.short_name.as_str())
    };
    for (kind, count, scales) in FACILITY_KINDS {
        let wanted = if scales {
            count * ctx.scale as usize
        } else {
            count
        };
        let mut made = 0;
        for _ in 0..wanted * 50 {
            if made == wanted {
                break;
            }
            let (at, road) = if matches!(kind, "public_toilet" | "parking") {
                match beside_road(ctx, roads, &mut rng) {
                    Some(found) => found,
                    None => break,
                }
            } else {
                let area = if rng.random_bool(0.5) {
                    NORTH_WEST
                } else {
                    WHOLE
                };
                (round_coord(point_in(area, &mut rng)), "")
            };
            if !ctx.index.contains(at) {
                continue;
            }
            let name = namer.name(kind, made, road, street_of(at));
            let status = match rng.random_range(0..100) {
                0..92 => "in_service",
                92..97 => "under_construction",
                _ => "closed",
            };
            let props = Props::new()
                .text("kind", kind)
                .text("name", name)
                .text("status", status);
            features.push(feature(
                format!("fac-{:04}", features.len() + 1),
                point_value(at),
                props,
            ));
            made += 1;
        }
        if made < wanted {
            return Err(DemoError::Layout {
                layer: "facilities",
                what: format!("{wanted} facilities of kind {kind}"),
            });
        }
    }
    Ok(features)
}
