//! The `roads`, `pipelines` and `manholes` layers.
//!
//! Arterials are real roads of the district at approximate positions. Secondary roads, branch
//! roads and alleys come from families of parallel lines broken into pieces with gaps, denser in
//! the old town; the scale divides their spacing. Each road carries several kinds of utility
//! line, each at its own offset from the centre line inside the road width, cut into sections
//! of at most about a kilometre with their own age and condition. About 17 km of pre-2000 gas
//! main, old town first, is marked as needing renovation. Manholes sit on the lines every
//! 30–80 m, plus
//! street-light manholes along arterials and a few ownerless ones beside roads. Arterials do
//! not multiply with the scale; their pipeline sections and manholes get shorter and closer
//! instead, so the pipeline and manhole counts grow with the scale too.

use geo::{Coord, Geodesic, Length, LineString};
use geojson::Feature;
use rand::{Rng, seq::IndexedRandom, seq::SliceRandom};

use super::geom::{round_coord, round_line};
use super::names::StemPool;
use super::output::{Props, feature, lines_value, point_value, random_date};
use super::{Context, DISTRICT_CODE, DemoError, MANHOLE_MINOR_CLASSES};

/// Random stream of these layers.
const STREAM: u64 = 2;

/// The old town, roughly: the north-western lobe of the district (min lon, min lat, max lon,
/// max lat).
pub(crate) const OLD_TOWN: [f64; 4] = [113.657, 34.7355, 113.711, 34.7595];

/// The built-up north of the district (south edge at 南三环).
const URBAN: [f64; 4] = [113.646, 34.700, 113.866, 34.771];

/// Whether a coordinate lies in [`OLD_TOWN`].
pub(crate) fn in_old_town(c: Coord) -> bool {
    in_rect(OLD_TOWN, c)
}

fn in_rect(r: [f64; 4], c: Coord) -> bool {
    (r[0]..=r[2]).contains(&c.x) && (r[1]..=r[3]).contains(&c.y)
}

/// Gas main to mark as needing renovation (the district's target is 17 km): sections are added
/// while they keep the total below the maximum, until it reaches the stop value. Sections are
/// shorter than the difference, so the total ends between the two.
const GAS_RENOVATION_STOP_M: f64 = 16_700.0;
const GAS_RENOVATION_MAX_M: f64 = 17_400.0;

/// Range of the longest pipeline section (m), drawn per line; sections stay shorter than the
/// renovation window above so its total can always be met.
const SECTION_MAX_M: (f64, f64) = (400.0, 690.0);

/// Class of a road.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoadClass {
    Arterial,
    Secondary,
    Branch,
    Alley,
}

impl RoadClass {
    fn code(self) -> &'static str {
        match self {
            RoadClass::Arterial => "arterial",
            RoadClass::Secondary => "secondary",
            RoadClass::Branch => "branch",
            RoadClass::Alley => "alley",
        }
    }
}

/// A generated road.
#[derive(Debug, Clone)]
pub(crate) struct Road {
    /// Road name.
    pub(crate) name: String,
    /// Road class.
    pub(crate) class: RoadClass,
    /// Width between the kerbs (m).
    pub(crate) width_m: f64,
    built_year: i32,
    old_town: bool,
    /// Centre line before clipping.
    line: Vec<Coord>,
    /// Centre line clipped to the boundary, rounded.
    pub(crate) pieces: Vec<Vec<Coord>>,
}

/// The three generated layers and the roads for the facilities.
pub(crate) struct Network {
    pub(crate) roads: Vec<Road>,
    pub(crate) road_features: Vec<Feature>,
    pub(crate) pipelines: Vec<Feature>,
    pub(crate) manholes: Vec<Feature>,
}

/// A real arterial: name, width (m) and a polyline (lon, lat) running past the boundary.
type Arterial = (&'static str, f64, &'static [(f64, f64)]);

/// The arterials of the district.
const ARTERIALS: [Arterial; 21] = [
    (
        "京广南路",
        50.0,
        &[(113.6625, 34.775), (113.6630, 34.690), (113.6620, 34.600)],
    ),
    (
        "紫荆山南路",
        50.0,
        &[(113.6845, 34.775), (113.6850, 34.600)],
    ),
    ("城东南路", 40.0, &[(113.6985, 34.775), (113.6980, 34.680)]),
    ("东明路", 40.0, &[(113.7085, 34.775), (113.7090, 34.660)]),
    ("未来路", 50.0, &[(113.7190, 34.775), (113.7195, 34.600)]),
    ("中州大道", 60.0, &[(113.7385, 34.775), (113.7380, 34.600)]),
    ("第二大街", 40.0, &[(113.7570, 34.735), (113.7570, 34.600)]),
    ("南曹路", 40.0, &[(113.7680, 34.690), (113.7685, 34.600)]),
    ("第八大街", 40.0, &[(113.7790, 34.775), (113.7790, 34.640)]),
    (
        "第十五大街",
        40.0,
        &[(113.8050, 34.775), (113.8050, 34.690)],
    ),
    ("东四环", 60.0, &[(113.8300, 34.775), (113.8300, 34.690)]),
    ("东大街", 30.0, &[(113.6500, 34.7545), (113.7150, 34.7545)]),
    ("商城路", 40.0, &[(113.6500, 34.7500), (113.7300, 34.7500)]),
    (
        "陇海东路",
        50.0,
        &[(113.6450, 34.7370), (113.8700, 34.7370)],
    ),
    (
        "航海东路",
        50.0,
        &[(113.6450, 34.7190), (113.8700, 34.7190)],
    ),
    ("南三环", 60.0, &[(113.6450, 34.7010), (113.8700, 34.7010)]),
    ("金岱路", 40.0, &[(113.6450, 34.6850), (113.8000, 34.6850)]),
    ("南四环", 60.0, &[(113.6450, 34.6660), (113.8000, 34.6660)]),
    ("紫辰路", 40.0, &[(113.7000, 34.6440), (113.8000, 34.6440)]),
    ("商都路", 50.0, &[(113.7350, 34.7545), (113.8700, 34.7545)]),
    (
        "郑汴路",
        50.0,
        &[
            (113.7000, 34.7525),
            (113.7800, 34.7460),
            (113.8700, 34.7380),
        ],
    ),
];

/// Real street names of the old town, used first for its secondary roads.
const OLD_TOWN_STREETS: [&str; 14] = [
    "北大街",
    "南大街",
    "西大街",
    "管城街",
    "书院街",
    "顺河路",
    "城南路",
    "城北路",
    "南顺城街",
    "北顺城街",
    "平等街",
    "南学街",
    "南关街",
    "代书胡同",
];

/// A family of parallel roads of one class.
struct Family {
    class: RoadClass,
    area: [f64; 4],
    spacing_m: f64,
    piece_m: (f64, f64),
    gap: f64,
    skip_old_town: bool,
}

const FAMILIES: [Family; 5] = [
    Family {
        class: RoadClass::Secondary,
        area: [113.646, 34.613, 113.866, 34.771],
        spacing_m: 1500.0,
        piece_m: (1500.0, 4000.0),
        gap: 0.55,
        skip_old_town: true,
    },
    Family {
        class: RoadClass::Secondary,
        area: OLD_TOWN,
        spacing_m: 500.0,
        piece_m: (600.0, 1500.0),
        gap: 0.25,
        skip_old_town: false,
    },
    Family {
        class: RoadClass::Branch,
        area: URBAN,
        spacing_m: 700.0,
        piece_m: (300.0, 900.0),
        gap: 0.65,
        skip_old_town: true,
    },
    Family {
        class: RoadClass::Branch,
        area: OLD_TOWN,
        spacing_m: 220.0,
        piece_m: (150.0, 450.0),
        gap: 0.4,
        skip_old_town: false,
    },
    Family {
        class: RoadClass::Alley,
        area: OLD_TOWN,
        spacing_m: 150.0,
        piece_m: (60.0, 200.0),
        gap: 0.6,
        skip_old_town: false,
    },
];

/// Kind of a utility line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PipeKind {
    Gas,
    Water,
    Sewage,
    Rain,
    Heat,
    Power,
    Telecom,
}

impl PipeKind {
    const ALL: [PipeKind; 7] = [
        PipeKind::Water,
        PipeKind::Sewage,
        PipeKind::Rain,
        PipeKind::Gas,
        PipeKind::Heat,
        PipeKind::Power,
        PipeKind::Telecom,
    ];

    fn code(self) -> &'static str {
        match self {
            PipeKind::Gas => "gas",
            PipeKind::Water => "water",
            PipeKind::Sewage => "sewage",
            PipeKind::Rain => "rain",
            PipeKind::Heat => "heat",
            PipeKind::Power => "power",
            PipeKind::Telecom => "telecom",
        }
    }

    /// Index into [`MANHOLE_MINOR_CLASSES`] of the manholes on this kind of line.
    fn manhole_class(self) -> usize {
        match self {
            PipeKind::Water => 0,
            PipeKind::Sewage => 1,
            PipeKind::Rain => 2,
            PipeKind::Gas => 3,
            PipeKind::Heat => 4,
            PipeKind::Power => 5,
            PipeKind::Telecom => 6,
        }
    }

    /// Offset from the centre line as a share of half the road width (positive: left).
    fn offset_share(self) -> f64 {
        match self {
            PipeKind::Water => -0.55,
            PipeKind::Gas => 0.55,
            PipeKind::Sewage => -0.15,
            PipeKind::Rain => 0.15,
            PipeKind::Heat => -0.8,
            PipeKind::Power => 0.8,
            PipeKind::Telecom => -0.35,
        }
    }

    /// Probability that a road of a class carries this kind.
    fn probability(self, class: RoadClass) -> f64 {
        use RoadClass::{Alley, Arterial, Branch, Secondary};
        match (self, class) {
            (PipeKind::Water | PipeKind::Sewage, Arterial) => 1.0,
            (PipeKind::Gas, Arterial) | (PipeKind::Water | PipeKind::Gas, Secondary) => 0.9,
            (PipeKind::Rain | PipeKind::Telecom | PipeKind::Power, Arterial)
            | (PipeKind::Sewage, Secondary)
            | (PipeKind::Water, Branch) => 0.7,
            (PipeKind::Gas, Branch) => 0.6,
            (PipeKind::Heat, Arterial) | (PipeKind::Rain, Secondary) => 0.5,
            (PipeKind::Water | PipeKind::Gas, Alley) => 0.45,
            (PipeKind::Sewage, Branch) => 0.3,
            (_, Secondary) => 0.2,
            (_, Branch | Alley) => 0.0,
        }
    }

    /// Range of the distance between manholes on the line (m).
    fn manhole_spacing_m(self) -> (f64, f64) {
        match self {
            PipeKind::Sewage => (40.0, 60.0),
            PipeKind::Rain => (40.0, 70.0),
            PipeKind::Water => (50.0, 80.0),
            _ => (55.0, 80.0),
        }
    }

    /// Depth range of the line (m).
    fn depth_m(self) -> (f64, f64) {
        match self {
            PipeKind::Gas => (1.0, 1.6),
            PipeKind::Water => (1.2, 2.0),
            PipeKind::Sewage => (2.0, 5.0),
            PipeKind::Rain => (1.5, 3.5),
            PipeKind::Heat => (1.5, 2.5),
            PipeKind::Power => (0.8, 1.5),
            PipeKind::Telecom => (0.7, 1.2),
        }
    }

    /// Owners of this kind of line (telecom has several operators).
    fn owners(self) -> &'static [&'static str] {
        match self {
            PipeKind::Gas => &["郑州华润燃气股份有限公司"],
            PipeKind::Water => &["郑州自来水投资控股有限公司"],
            PipeKind::Sewage => &["郑州市污水净化有限公司"],
            PipeKind::Rain => &["郑州市市政工程管理处"],
            PipeKind::Heat => &["郑州热力集团有限公司"],
            PipeKind::Power => &["国网郑州供电公司"],
            PipeKind::Telecom => &[
                "中国电信郑州分公司",
                "中国联通郑州市分公司",
                "中国移动郑州分公司",
                "中国广电郑州分公司",
            ],
        }
    }

    /// Material of a line installed in `year`.
    fn material(self, year: i32, rng: &mut impl Rng) -> &'static str {
        let old = year < 2000;
        let choices: &[&str] = match (self, old) {
            (PipeKind::Gas, true) => &["灰口铸铁", "灰口铸铁", "钢"],
            (PipeKind::Gas, false) => &["PE", "PE", "钢"],
            (PipeKind::Water, true) => &["灰口铸铁", "球墨铸铁", "钢"],
            (PipeKind::Water, false) => &["球墨铸铁", "球墨铸铁", "PE", "钢"],
            (PipeKind::Sewage | PipeKind::Rain, true) => &["钢筋混凝土"],
            (PipeKind::Sewage, false) => &["钢筋混凝土", "HDPE", "PVC"],
            (PipeKind::Rain, false) => &["钢筋混凝土", "HDPE"],
            (PipeKind::Heat, _) => &["钢"],
            (PipeKind::Power, _) => &["铜缆"],
            (PipeKind::Telecom, true) => &["铜缆", "光缆"],
            (PipeKind::Telecom, false) => &["光缆"],
        };
        choices.choose(rng).copied().unwrap_or("钢")
    }

    /// Diameter (mm) of a line of this kind on a road of a class.
    fn diameter_mm(self, class: RoadClass, rng: &mut impl Rng) -> i64 {
        use RoadClass::{Alley, Arterial, Branch, Secondary};
        let choices: &[i64] = match (self, class) {
            (PipeKind::Gas, Arterial) | (PipeKind::Water, Secondary) => &[300, 400, 500],
            (PipeKind::Gas, Secondary) => &[200, 250, 300],
            (PipeKind::Gas | PipeKind::Water, Branch | Alley) => &[100, 150, 200],
            (PipeKind::Water, Arterial) => &[600, 800, 1000, 1200],
            (PipeKind::Sewage, Arterial) => &[800, 1000, 1200, 1500],
            (PipeKind::Sewage, Secondary) => &[500, 600, 800],
            (PipeKind::Sewage, Branch | Alley) => &[300, 400],
            (PipeKind::Rain, Arterial) => &[1000, 1200, 1500, 2000],
            (PipeKind::Rain, _) => &[600, 800, 1000],
            (PipeKind::Heat, Arterial) => &[500, 700, 1000],
            (PipeKind::Heat, _) => &[300, 400, 600],
            (PipeKind::Power, _) => &[150, 200],
            (PipeKind::Telecom, _) => &[100, 110],
        };
        choices.choose(rng).copied().unwrap_or(200)
    }
}

/// One pipeline feature before it is written.
struct Section {
    kind: PipeKind,
    road: usize,
    coords: Vec<Coord>,
    install_year: i32,
    condition: &'static str,
    renovated_on: Option<String>,
    material: &'static str,
    diameter_mm: i64,
    pressure_class: Option<&'static str>,
    depth_m: f64,
    owner: &'static str,
}

/// A manhole before it is written: position, minor class index, owner and the year it went in.
struct Manhole {
    at: Coord,
    class: usize,
    owner: &'static str,
    year: i32,
}

/// Generates the three layers.
pub(crate) fn generate(ctx: &Context) -> Result<Network, DemoError> {
    let mut rng = ctx.rng(STREAM);
    let roads = roads(ctx, &mut rng);
    let (mut sections, mut manholes) = pipelines(ctx, &roads, &mut rng);
    mark_gas_renovation(&mut sections, &roads, &mut rng)?;
    for (section_index, m) in &mut manholes {
        let s = &sections[*section_index];
        m.year = s.install_year;
    }
    let mut manholes: Vec<Manhole> = manholes.into_iter().map(|(_, m)| m).collect();
    manholes.extend(street_light_manholes(ctx, &roads, &mut rng));
    manholes.extend(ownerless_manholes(ctx, &roads, &mut rng));
    let road_features = road_features(&roads, &mut rng);
    let pipelines = sections
        .iter()
        .enumerate()
        .map(|(i, s)| pipeline_feature(i, s, &roads))
        .collect();
    let manholes = manhole_features(&manholes, &mut rng)?;
    Ok(Network {
        roads,
        road_features,
        pipelines,
        manholes,
    })
}

/// Year a road was built.
fn built_year(class: RoadClass, old_town: bool, rng: &mut impl Rng) -> i32 {
    match (class, old_town) {
        (RoadClass::Arterial, true) => rng.random_range(1955..=1990),
        (RoadClass::Arterial, false) => rng.random_range(1985..=2012),
        (RoadClass::Alley, true) => rng.random_range(1950..=1985),
        (_, true) => rng.random_range(1958..=1998),
        (_, false) => rng.random_range(1998..=2022),
    }
}

/// Road width (m) of a class.
fn width_m(class: RoadClass, rng: &mut impl Rng) -> f64 {
    let choices: &[f64] = match class {
        RoadClass::Arterial => &[40.0, 50.0, 60.0],
        RoadClass::Secondary => &[20.0, 24.0, 26.0, 30.0],
        RoadClass::Branch => &[12.0, 14.0, 16.0],
        RoadClass::Alley => &[4.0, 5.0, 6.0, 7.0],
    };
    choices.choose(rng).copied().unwrap_or(12.0)
}

/// Shortest clipped piece kept for a class (m).
fn min_piece_m(class: RoadClass) -> f64 {
    match class {
        RoadClass::Arterial => 100.0,
        RoadClass::Secondary => 60.0,
        RoadClass::Branch => 40.0,
        RoadClass::Alley => 30.0,
    }
}

/// Makes a road from its centre line, or `None` if nothing of it lies inside.
fn make_road(
    ctx: &Context,
    name: String,
    class: RoadClass,
    width_m: f64,
    line: Vec<Coord>,
    rng: &mut impl Rng,
) -> Option<Road> {
    let pieces = ctx.index.clip_line(&line, ctx.metric, min_piece_m(class));
    if pieces.is_empty() {
        return None;
    }
    let old_town = in_old_town(pieces[0][pieces[0].len() / 2]);
    Some(Road {
        name,
        class,
        width_m,
        built_year: built_year(class, old_town, rng),
        old_town,
        line,
        pieces,
    })
}

/// All roads: arterials, then the families.
fn roads(ctx: &Context, rng: &mut impl Rng) -> Vec<Road> {
    let mut roads = Vec::new();
    for (name, width, points) in ARTERIALS {
        let line: Vec<Coord> = points.iter().map(|&(x, y)| Coord { x, y }).collect();
        if let Some(road) = make_road(ctx, name.to_owned(), RoadClass::Arterial, width, line, rng) {
            roads.push(road);
        }
    }
    let mut stems = StemPool::new(rng);
    let mut old_town_names = OLD_TOWN_STREETS.iter();
    for family in &FAMILIES {
        for north_south in [true, false] {
            family_roads(
                ctx,
                family,
                north_south,
                &mut stems,
                &mut old_town_names,
                rng,
                &mut roads,
            );
        }
    }
    roads
}

/// Name of the next road line of a family.
fn road_name(
    family: &Family,
    north_south: bool,
    stems: &mut StemPool,
    old_town_names: &mut std::slice::Iter<&str>,
) -> String {
    if family.class == RoadClass::Secondary
        && family.area == OLD_TOWN
        && let Some(name) = old_town_names.next()
    {
        return (*name).to_owned();
    }
    let suffix = match (family.class, north_south) {
        (RoadClass::Alley, _) => "巷",
        (_, true) => "路",
        (_, false) => "街",
    };
    format!("{}{suffix}", stems.next_stem())
}

/// Roads of one family in one direction.
fn family_roads(
    ctx: &Context,
    family: &Family,
    north_south: bool,
    stems: &mut StemPool,
    old_town_names: &mut std::slice::Iter<&str>,
    rng: &mut impl Rng,
    out: &mut Vec<Road>,
) {
    let metric = ctx.metric;
    let [min_x, min_y, max_x, max_y] = family.area;
    let spacing_m = family.spacing_m / f64::from(ctx.scale);
    // Across: the coordinate that is constant along a line; along: the one that varies.
    let (across, along) = if north_south {
        ((min_x, max_x), (min_y, max_y))
    } else {
        ((min_y, max_y), (min_x, max_x))
    };
    let to_across_deg = |m| {
        if north_south {
            metric.dx_deg(m)
        } else {
            metric.dy_deg(m)
        }
    };
    let to_along_deg = |m| {
        if north_south {
            metric.dy_deg(m)
        } else {
            metric.dx_deg(m)
        }
    };
    let point = |a: f64, b: f64| {
        if north_south {
            Coord { x: a, y: b }
        } else {
            Coord { x: b, y: a }
        }
    };
    let mut position = across.0 + to_across_deg(spacing_m * rng.random_range(0.2..1.0));
    while position < across.1 {
        let name = road_name(family, north_south, stems, old_town_names);
        let width = width_m(family.class, rng);
        let mut start = along.0;
        while start < along.1 {
            let length = to_along_deg(rng.random_range(family.piece_m.0..family.piece_m.1));
            let end = (start + length).min(along.1);
            if rng.random_bool(family.gap) {
                start = end;
                continue;
            }
            let wobble = to_across_deg(rng.random_range(-6.0..6.0));
            let line = vec![
                point(position, start),
                point(position + wobble, 0.5 * (start + end)),
                point(position, end),
            ];
            start = end;
            if family.skip_old_town && in_old_town(line[1]) {
                continue;
            }
            if let Some(road) = make_road(ctx, name.clone(), family.class, width, line, rng) {
                out.push(road);
            }
        }
        position += to_across_deg(spacing_m * rng.random_range(0.8..1.2));
    }
}

/// Install year of a line on a road.
fn install_year(road: &Road, rng: &mut impl Rng) -> i32 {
    if road.old_town || road.built_year < 2000 {
        if rng.random_bool(0.7) {
            rng.random_range(road.built_year.max(1965)..=1999)
        } else {
            rng.random_range(2000..=2020)
        }
    } else {
        rng.random_range(road.built_year..=2023)
    }
}

/// Condition of a line (gas lines never draw `needs_renovation`: those are chosen to meet the
/// renovation target) and when it was renovated.
fn condition(kind: PipeKind, year: i32, rng: &mut impl Rng) -> (&'static str, Option<String>) {
    let draw: f64 = rng.random();
    let condition = if year < 1990 {
        match draw {
            d if d < 0.45 => "aging",
            d if d < 0.8 => "renovated",
            d if d < 0.9 => "good",
            _ if kind == PipeKind::Gas => "aging",
            _ => "needs_renovation",
        }
    } else if year < 2005 {
        match draw {
            d if d < 0.55 => "good",
            d if d < 0.85 => "aging",
            _ => "renovated",
        }
    } else if draw < 0.93 {
        "good"
    } else {
        "aging"
    };
    let renovated_on =
        (condition == "renovated").then(|| random_date(rng, (year + 10).max(2012), 2024));
    (condition, renovated_on)
}

/// Pipeline sections of all roads and the manholes on them (with the index of their section).
fn pipelines(
    ctx: &Context,
    roads: &[Road],
    rng: &mut impl Rng,
) -> (Vec<Section>, Vec<(usize, Manhole)>) {
    let metric = ctx.metric;
    let mut sections = Vec::new();
    let mut manholes = Vec::new();
    for (road_index, road) in roads.iter().enumerate() {
        // Arterials do not multiply with the scale, so their sections and manholes get closer.
        let spacing_divisor = if road.class == RoadClass::Arterial {
            f64::from(ctx.scale)
        } else {
            1.0
        };
        for kind in PipeKind::ALL {
            if !rng.random_bool(kind.probability(road.class)) {
                continue;
            }
            let offset = kind.offset_share() * 0.5 * road.width_m;
            let shifted = metric.offset_line(&road.line, offset);
            let owner = kind.owners().choose(rng).copied().unwrap_or("");
            for piece in ctx.index.clip_line(&shifted, metric, 30.0) {
                let total = metric.length_m(&piece);
                let longest_m =
                    rng.random_range(SECTION_MAX_M.0..SECTION_MAX_M.1) / spacing_divisor;
                let parts = (total / longest_m).ceil().max(1.0);
                let part_m = total / parts;
                let first_section = sections.len();
                let mut from = 0.0;
                while from < total - 1e-6 {
                    let to = (from + part_m).min(total);
                    let coords = round_line(&metric.sub_line(&piece, from, to));
                    from = to;
                    if coords.len() < 2 {
                        continue;
                    }
                    let year = install_year(road, rng);
                    let (condition, renovated_on) = condition(kind, year, rng);
                    let (depth_lo, depth_hi) = kind.depth_m();
                    sections.push(Section {
                        kind,
                        road: road_index,
                        coords,
                        install_year: year,
                        condition,
                        renovated_on,
                        material: kind.material(year, rng),
                        diameter_mm: kind.diameter_mm(road.class, rng),
                        pressure_class: pressure_class(kind, road.class, rng),
                        depth_m: rng.random_range(depth_lo..depth_hi),
                        owner,
                    });
                }
                let last_section = sections.len();
                if last_section == first_section {
                    continue;
                }
                let mut at = rng.random_range(5.0..30.0);
                while at < total - 3.0 {
                    let part = index_at(at / part_m).min(last_section - first_section - 1);
                    let c = round_coord(metric.point_along(&piece, at));
                    if ctx.index.contains(c) {
                        manholes.push((
                            first_section + part,
                            Manhole {
                                at: c,
                                class: kind.manhole_class(),
                                owner,
                                year: 0,
                            },
                        ));
                    }
                    let (lo, hi) = kind.manhole_spacing_m();
                    at += rng.random_range(lo..hi) / spacing_divisor;
                }
            }
        }
    }
    (sections, manholes)
}

/// The index a non-negative position falls on.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "positions along a line are non-negative and far below usize::MAX"
)]
fn index_at(position: f64) -> usize {
    position.max(0.0).floor() as usize
}

/// Pressure class of a gas line; `None` for other kinds.
fn pressure_class(kind: PipeKind, class: RoadClass, rng: &mut impl Rng) -> Option<&'static str> {
    (kind == PipeKind::Gas).then(|| match class {
        RoadClass::Arterial if rng.random_bool(0.2) => "high",
        RoadClass::Arterial => "medium_a",
        RoadClass::Secondary => "medium_b",
        RoadClass::Branch | RoadClass::Alley => "low",
    })
}

/// Marks pre-2000 gas main as needing renovation until the total reaches
/// [`GAS_RENOVATION_STOP_M`]: old-town sections first, then other pre-2000 ones, then (if ever
/// needed) newer ones, which are then dated back before 2000.
fn mark_gas_renovation(
    sections: &mut [Section],
    roads: &[Road],
    rng: &mut impl Rng,
) -> Result<(), DemoError> {
    let mut tiers: [Vec<usize>; 3] = Default::default();
    for (i, s) in sections.iter().enumerate() {
        if s.kind != PipeKind::Gas {
            continue;
        }
        let tier = match (s.install_year < 2000, roads[s.road].old_town) {
            (true, true) => 0,
            (true, false) => 1,
            (false, _) => 2,
        };
        tiers[tier].push(i);
    }
    let mut total = 0.0;
    for tier in &mut tiers {
        tier.shuffle(rng);
        for &i in tier.iter() {
            if total >= GAS_RENOVATION_STOP_M {
                return Ok(());
            }
            let s = &mut sections[i];
            let length = Geodesic.length(&LineString::new(s.coords.clone()));
            if total + length > GAS_RENOVATION_MAX_M {
                continue;
            }
            total += length;
            s.condition = "needs_renovation";
            s.renovated_on = None;
            if s.install_year >= 2000 {
                s.install_year = rng.random_range(1978..=1999);
                s.material = "灰口铸铁";
            }
        }
    }
    if total >= GAS_RENOVATION_STOP_M {
        Ok(())
    } else {
        Err(DemoError::Layout {
            layer: "pipelines",
            what: format!("17 km of gas main to renovate (only {total:.0} m of gas main exist)"),
        })
    }
}

/// Street-light manholes along one side of the arterials, every 60–80 m (divided by the scale).
fn street_light_manholes(ctx: &Context, roads: &[Road], rng: &mut impl Rng) -> Vec<Manhole> {
    let metric = ctx.metric;
    let mut out = Vec::new();
    for road in roads.iter().filter(|r| r.class == RoadClass::Arterial) {
        for piece in &road.pieces {
            let kerb = metric.offset_line(piece, 0.5 * road.width_m - 1.5);
            let total = metric.length_m(&kerb);
            let mut at = rng.random_range(5.0..40.0);
            while at < total - 3.0 {
                let c = round_coord(metric.point_along(&kerb, at));
                if ctx.index.contains(c) {
                    out.push(Manhole {
                        at: c,
                        class: 7,
                        owner: "郑州市城市照明灯饰管理处",
                        year: rng.random_range(road.built_year.max(1990)..=2023),
                    });
                }
                at += rng.random_range(60.0..80.0) / f64::from(ctx.scale);
            }
        }
    }
    out
}

/// A few manholes of unknown owner on the pavements, 40 per unit of scale.
fn ownerless_manholes(ctx: &Context, roads: &[Road], rng: &mut impl Rng) -> Vec<Manhole> {
    let metric = ctx.metric;
    let wanted = 40 * ctx.scale as usize;
    let mut out = Vec::with_capacity(wanted);
    for _ in 0..wanted * 20 {
        if out.len() == wanted {
            break;
        }
        let Some(road) = roads.choose(rng) else {
            break;
        };
        let Some(piece) = road.pieces.choose(rng) else {
            continue;
        };
        let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let lateral = side * (0.5 * road.width_m + rng.random_range(1.5..5.0));
        let shifted = metric.offset_line(piece, lateral);
        let at = rng.random_range(0.0..metric.length_m(&shifted).max(1.0));
        let c = round_coord(metric.point_along(&shifted, at));
        if ctx.index.contains(c) {
            out.push(Manhole {
                at: c,
                class: 8,
                owner: "权属不明",
                year: rng.random_range(1970..=2010),
            });
        }
    }
    out
}

/// The road features.
fn road_features(roads: &[Road], rng: &mut impl Rng) -> Vec<Feature> {
    roads
        .iter()
        .enumerate()
        .map(|(i, road)| {
            let resurfaced_on = rng
                .random_bool(0.6)
                .then(|| random_date(rng, (road.built_year + 5).max(2010), 2025));
            let props = Props::new()
                .text("name", road.name.as_str())
                .text("class", road.class.code())
                .number("width_m", road.width_m, 1)
                .int("built_year", i64::from(road.built_year))
                .opt_text("resurfaced_on", resurfaced_on);
            feature(
                format!("road-{:04}", i + 1),
                lines_value(&road.pieces),
                props,
            )
        })
        .collect()
}

/// One pipeline feature.
fn pipeline_feature(i: usize, s: &Section, roads: &[Road]) -> Feature {
    let props = Props::new()
        .text("kind", s.kind.code())
        .text("material", s.material)
        .int("diameter_mm", s.diameter_mm)
        .opt_text("pressure_class", s.pressure_class.map(str::to_owned))
        .number("depth_m", s.depth_m, 1)
        .int("install_year", i64::from(s.install_year))
        .text("owner_unit", s.owner)
        .text("condition", s.condition)
        .opt_text("renovated_on", s.renovated_on.clone())
        .text("road_name", roads[s.road].name.as_str());
    feature(
        format!("pipe-{:06}", i + 1),
        lines_value(std::slice::from_ref(&s.coords)),
        props,
    )
}

/// Maintainer of a manhole given its minor class index and owner.
fn maintainer(class: usize, owner: &'static str) -> &'static str {
    match class {
        1 | 2 => "管城回族区市政设施维护中心",
        7 | 8 => "管城回族区城市管理局",
        _ => owner,
    }
}

/// Status of a manhole: about 11 % not intact.
fn manhole_status(rng: &mut impl Rng) -> &'static str {
    match rng.random_range(0..1000) {
        0..890 => "intact",
        890..925 => "damaged",
        925..935 => "missing",
        935..955 => "displaced",
        955..980 => "sunken",
        _ => "rattling",
    }
}

/// The manhole features; codes number each minor class from 000001.
fn manhole_features(manholes: &[Manhole], rng: &mut impl Rng) -> Result<Vec<Feature>, DemoError> {
    let mut sequences = [0u32; 9];
    let mut out = Vec::with_capacity(manholes.len());
    for m in manholes {
        sequences[m.class] += 1;
        let sequence = sequences[m.class];
        let (minor, kind, _) = MANHOLE_MINOR_CLASSES[m.class];
        if sequence > 999_999 {
            return Err(DemoError::Layout {
                layer: "manholes",
                what: format!("more than 999999 manholes of class {minor}"),
            });
        }
        let code = format!("{DISTRICT_CODE}01{minor}{sequence:06}");
        let status = manhole_status(rng);
        let materials: &[&str] = match m.class {
            1 | 2 => &["钢筋混凝土", "球墨铸铁", "球墨铸铁", "复合材料"],
            5..=7 => &["复合材料", "复合材料", "铸铁", "球墨铸铁"],
            8 => &["铸铁", "钢筋混凝土"],
            _ => &["球墨铸铁", "球墨铸铁", "铸铁", "复合材料"],
        };
        let diameters: &[i64] = match m.class {
            1 | 2 => &[700, 800, 1000],
            6 | 7 => &[600, 700],
            _ => &[600, 700, 700, 800],
        };
        let last_inspected_on = rng.random_bool(0.85).then(|| random_date(rng, 2024, 2025));
        let rectified_on =
            (status == "intact" && rng.random_bool(0.06)).then(|| random_date(rng, 2023, 2025));
        let props = Props::new()
            .text("component_code", code.as_str())
            .text("kind", kind)
            .text("status", status)
            .text("owner_unit", m.owner)
            .text("maintainer_unit", maintainer(m.class, m.owner))
            .text("material", materials.choose(rng).copied().unwrap_or("铸铁"))
            .int("diameter_mm", diameters.choose(rng).copied().unwrap_or(700))
            .text("installed_on", random_date(rng, m.year, m.year))
            .opt_text("last_inspected_on", last_inspected_on)
            .opt_text("rectified_on", rectified_on);
        out.push(feature(code, point_value(m.at), props));
    }
    Ok(out)
}
