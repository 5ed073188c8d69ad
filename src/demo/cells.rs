//! The `grid_cells` layer: the district, its streets, communities and grid cells, each level an
//! exact partition of the level above (see `split` for how the cuts stay exact).
//!
//! Streets follow a hand-made cut plan so the old town (北下街, 西大街, 南关街, 城东路, 东大街)
//! ends up small in the north-west and the suburban streets large in the south and east, with
//! nominal areas roughly like the real ones. Communities split their street into nearly equal
//! parts; grid cells cut their community into horizontal strips and each strip into columns, so
//! the sequence numbers run in reading order (west to east, rows north to south).

use geo::{BoundingRect, MultiPolygon};
use geojson::Feature;
use rand::{Rng, seq::index};

use super::names::{community_short, person, street_short, street_unit};
use super::output::{Props, feature, polygons_value};
use super::split::{Axis, area_m2, cut, partition};
use super::{Context, DISTRICT_CODE, DemoError, Division, DivisionLevel};

/// Random stream of this layer.
const STREAM: u64 = 1;

/// How many communities had their grid redrawn on 2025-01-01.
const REDRAWN_COMMUNITIES: usize = 3;

/// Nominal areas (km²) of the streets, only their ratios matter.
const STREET_KM2: [(&str, f64); 14] = [
    ("410104001", 1.2),  // 北下街
    ("410104002", 1.3),  // 西大街
    ("410104003", 2.2),  // 南关街
    ("410104004", 2.4),  // 城东路
    ("410104005", 1.6),  // 东大街
    ("410104006", 3.5),  // 二里岗
    ("410104007", 3.0),  // 陇海马路
    ("410104008", 6.5),  // 紫荆山南路
    ("410104009", 14.0), // 航海东路
    ("410104010", 30.0), // 十八里河
    ("410104011", 45.0), // 南曹
    ("410104012", 25.0), // 金岱
    ("410104202", 35.0), // 圃田乡
    ("410104570", 27.0), // 商都路
];

/// A named area used by later layers to name what lies in it.
#[derive(Debug, Clone)]
pub(crate) struct NamedArea {
    /// Short name, e.g. "北下街".
    pub(crate) short_name: String,
    /// Its geometry.
    pub(crate) shape: MultiPolygon,
}

/// The generated layer plus the street shapes.
pub(crate) struct CellLayer {
    /// All features of the layer.
    pub(crate) features: Vec<Feature>,
    /// The streets, for naming facilities.
    pub(crate) streets: Vec<NamedArea>,
}

/// A node of the street cut plan: a street code, or a cut with its first (west or north) and
/// second part.
enum Plan {
    Leaf(&'static str),
    Cut(Axis, Box<Plan>, Box<Plan>),
}

fn leaf(code: &'static str) -> Plan {
    Plan::Leaf(code)
}

fn cut_plan(axis: Axis, first: Plan, second: Plan) -> Plan {
    Plan::Cut(axis, Box::new(first), Box::new(second))
}

/// Where the streets go, after their real layout.
fn street_plan() -> Plan {
    use Axis::{X, Y};
    let old_town = cut_plan(
        X,
        cut_plan(
            Y,
            leaf("410104001"),
            cut_plan(Y, leaf("410104002"), leaf("410104003")),
        ),
        cut_plan(X, leaf("410104005"), leaf("410104004")),
    );
    let west = cut_plan(
        Y,
        cut_plan(
            Y,
            cut_plan(
                Y,
                old_town,
                cut_plan(X, leaf("410104007"), leaf("410104006")),
            ),
            cut_plan(X, leaf("410104008"), leaf("410104009")),
        ),
        leaf("410104010"),
    );
    let east = cut_plan(
        Y,
        cut_plan(X, leaf("410104570"), leaf("410104202")),
        cut_plan(Y, leaf("410104012"), leaf("410104011")),
    );
    cut_plan(X, west, east)
}

impl Plan {
    fn codes(&self, out: &mut Vec<&'static str>) {
        match self {
            Plan::Leaf(code) => out.push(code),
            Plan::Cut(_, a, b) => {
                a.codes(out);
                b.codes(out);
            }
        }
    }

    fn weight(&self) -> f64 {
        match self {
            Plan::Leaf(code) => STREET_KM2
                .iter()
                .find(|(c, _)| c == code)
                .map_or(1.0, |(_, w)| *w),
            Plan::Cut(_, a, b) => a.weight() + b.weight(),
        }
    }

    fn apply(&self, region: MultiPolygon, out: &mut Vec<(&'static str, MultiPolygon)>) {
        match self {
            Plan::Leaf(code) => out.push((code, region)),
            Plan::Cut(axis, a, b) => {
                let (wa, wb) = (a.weight(), b.weight());
                let (ra, rb) = cut(&region, *axis, wa / (wa + wb));
                a.apply(ra, out);
                b.apply(rb, out);
            }
        }
    }
}

/// Street shapes in the order of `streets`: by the cut plan when the streets are exactly the
/// ones it knows, otherwise by area-balanced halving weighted by community counts.
fn street_shapes(ctx: &Context, streets: &[&Division]) -> Vec<MultiPolygon> {
    let plan = street_plan();
    let mut planned = Vec::new();
    plan.codes(&mut planned);
    let mut known: Vec<&str> = streets.iter().map(|s| s.code.as_str()).collect();
    known.sort_unstable();
    planned.sort_unstable();
    if known == planned {
        let mut placed = Vec::new();
        plan.apply(ctx.boundary.clone(), &mut placed);
        streets
            .iter()
            .map(|s| {
                placed
                    .iter()
                    .find(|(code, _)| *code == s.code)
                    .map_or_else(|| MultiPolygon::new(Vec::new()), |(_, shape)| shape.clone())
            })
            .collect()
    } else {
        let weights: Vec<f64> = streets
            .iter()
            .map(|s| ctx.reference.communities_of(&s.code).count().max(1) as f64)
            .collect();
        partition(ctx.boundary.clone(), &weights, ctx.metric)
    }
}

/// Cuts `region` into `n` cells in reading order: `rows` horizontal strips (north first), each
/// cut into columns (west first). `weights` gives the relative cell areas.
fn grid(region: &MultiPolygon, weights: &[f64], rows: usize) -> Vec<MultiPolygon> {
    let n = weights.len();
    let rows = rows.clamp(1, n.max(1));
    let mut per_row = vec![n / rows; rows];
    for count in per_row.iter_mut().take(n % rows) {
        *count += 1;
    }
    let mut cells = Vec::with_capacity(n);
    let mut rest = region.clone();
    let mut start = 0;
    for (i, count) in per_row.iter().enumerate() {
        let row_weights = &weights[start..start + count];
        let remaining: f64 = weights[start..].iter().sum();
        let row_weight: f64 = row_weights.iter().sum();
        let mut strip = if i + 1 == rows {
            std::mem::replace(&mut rest, MultiPolygon::new(Vec::new()))
        } else {
            let (north, south) = cut(&rest, Axis::Y, row_weight / remaining);
            rest = south;
            north
        };
        for (j, w) in row_weights.iter().enumerate() {
            if j + 1 == row_weights.len() {
                cells.push(std::mem::replace(&mut strip, MultiPolygon::new(Vec::new())));
            } else {
                let left: f64 = row_weights[j..].iter().sum();
                let (west, east) = cut(&strip, Axis::X, w / left);
                strip = east;
                cells.push(west);
            }
        }
        start += count;
    }
    cells
}

/// Rows for `n` cells in a region, so cells come out roughly square.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the value is small, positive and clamped"
)]
fn rows_for(region: &MultiPolygon, n: usize, ctx: &Context) -> usize {
    let Some(rect) = region.bounding_rect() else {
        return 1;
    };
    let (w, h) = ctx.metric.rect_size_m(rect);
    let rows = (n as f64 * h / w.max(1.0)).sqrt().round();
    (rows.max(1.0) as usize).min(n)
}

/// Properties shared by all cells.
struct CellProps<'a> {
    code: &'a str,
    name: &'a str,
    level: &'a str,
    parent_code: Option<&'a str>,
    responsible_unit: Option<String>,
    workers: Vec<String>,
    valid_from: &'a str,
    valid_to: Option<&'a str>,
}

fn cell_feature(p: CellProps, shape: &MultiPolygon) -> Feature {
    let props = Props::new()
        .text("code", p.code)
        .text("name", p.name)
        .text("level", p.level)
        .opt_text("parent_code", p.parent_code.map(str::to_owned))
        .opt_text("responsible_unit", p.responsible_unit)
        .texts("workers", p.workers)
        .text("valid_from", p.valid_from)
        .opt_text("valid_to", p.valid_to.map(str::to_owned));
    feature(p.code.to_owned(), polygons_value(shape), props)
}

/// 1–3 distinct worker names.
fn workers(rng: &mut impl Rng) -> Vec<String> {
    let n = rng.random_range(1..=3);
    let mut names: Vec<String> = Vec::with_capacity(n);
    while names.len() < n {
        let name = person(rng);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Grid cells of one community, appended to `out`.
struct GridRun<'a> {
    community: &'a Division,
    shape: &'a MultiPolygon,
    count: usize,
    retired: usize,
}

fn grid_cells(
    ctx: &Context,
    run: &GridRun,
    rng: &mut impl Rng,
    out: &mut Vec<Feature>,
) -> Result<(), DemoError> {
    let short = community_short(&run.community.name);
    let weights: Vec<f64> = (0..run.count).map(|_| rng.random_range(0.8..1.2)).collect();
    let current = grid(run.shape, &weights, rows_for(run.shape, run.count, ctx));
    let old_weights: Vec<f64> = (0..run.retired)
        .map(|_| rng.random_range(0.8..1.2))
        .collect();
    let retired = grid(run.shape, &old_weights, 1);
    let redrawn = run.retired > 0;
    let cells = current
        .iter()
        .map(|c| (c, false))
        .chain(retired.iter().map(|c| (c, true)));
    for (i, (shape, is_retired)) in cells.enumerate() {
        let seq = i + 1;
        let code = format!("{}{seq:03}", run.community.code);
        if shape.0.is_empty() || area_m2(shape) < 1.0 {
            return Err(DemoError::Layout {
                layer: "grid_cells",
                what: format!("grid cell {code} (it came out empty)"),
            });
        }
        let name = format!("{short}第{seq}网格");
        let unit_draw: f64 = rng.random();
        let responsible_unit = if unit_draw < 0.1 {
            None
        } else if unit_draw < 0.55 {
            Some(run.community.name.clone())
        } else {
            Some(format!("{name}工作站"))
        };
        let (valid_from, valid_to) = match (redrawn, is_retired) {
            (_, true) => ("2021-01-01", Some("2024-12-31")),
            (true, false) => ("2025-01-01", None),
            (false, false) => ("2021-01-01", None),
        };
        out.push(cell_feature(
            CellProps {
                code: &code,
                name: &name,
                level: "grid",
                parent_code: Some(&run.community.code),
                responsible_unit,
                workers: workers(rng),
                valid_from,
                valid_to,
            },
            shape,
        ));
    }
    Ok(())
}

/// Generates the `grid_cells` layer.
pub(crate) fn generate(ctx: &Context) -> Result<CellLayer, DemoError> {
    let mut rng = ctx.rng(STREAM);
    let reference = ctx.reference;
    let district_name = reference
        .divisions
        .iter()
        .find(|d| d.level == DivisionLevel::District)
        .map_or("管城回族区", |d| d.name.as_str());
    let mut features = vec![cell_feature(
        CellProps {
            code: DISTRICT_CODE,
            name: district_name,
            level: "district",
            parent_code: None,
            responsible_unit: Some(format!("{district_name}人民政府")),
            workers: Vec::new(),
            valid_from: "2021-01-01",
            valid_to: None,
        },
        &ctx.boundary,
    )];

    let streets: Vec<&Division> = reference.streets().collect();
    let street_shapes = street_shapes(ctx, &streets);
    let all_communities: Vec<&Division> = streets
        .iter()
        .flat_map(|s| reference.communities_of(&s.code))
        .collect();
    let redrawn: Vec<usize> = index::sample(
        &mut rng,
        all_communities.len(),
        REDRAWN_COMMUNITIES.min(all_communities.len()),
    )
    .into_vec();

    let mut grid_features = Vec::new();
    let mut community_features = Vec::new();
    let mut named_streets = Vec::new();
    let mut community_index = 0;
    for (street, shape) in streets.iter().zip(&street_shapes) {
        features.push(cell_feature(
            CellProps {
                code: &street.code,
                name: &street.name,
                level: "street",
                parent_code: Some(DISTRICT_CODE),
                responsible_unit: Some(street_unit(&street.name)),
                workers: Vec::new(),
                valid_from: "2021-01-01",
                valid_to: None,
            },
            shape,
        ));
        named_streets.push(NamedArea {
            short_name: street_short(&street.name),
            shape: shape.clone(),
        });
        let communities: Vec<&Division> = reference.communities_of(&street.code).collect();
        if communities.is_empty() {
            return Err(DemoError::EmptyStreet {
                code: street.code.clone(),
            });
        }
        let weights: Vec<f64> = communities
            .iter()
            .map(|_| rng.random_range(0.7..1.3))
            .collect();
        let shapes = partition(shape.clone(), &weights, ctx.metric);
        for (community, community_shape) in communities.iter().zip(&shapes) {
            community_features.push(cell_feature(
                CellProps {
                    code: &community.code,
                    name: &community.name,
                    level: "community",
                    parent_code: Some(&street.code),
                    responsible_unit: Some(community.name.clone()),
                    workers: Vec::new(),
                    valid_from: "2021-01-01",
                    valid_to: None,
                },
                community_shape,
            ));
            let is_redrawn = redrawn.contains(&community_index);
            community_index += 1;
            let run = GridRun {
                community,
                shape: community_shape,
                count: rng.random_range(4..=12),
                retired: if is_redrawn {
                    rng.random_range(3..=4)
                } else {
                    0
                },
            };
            grid_cells(ctx, &run, &mut rng, &mut grid_features)?;
        }
    }
    features.extend(community_features);
    features.extend(grid_features);
    Ok(CellLayer {
        features,
        streets: named_streets,
    })
}
