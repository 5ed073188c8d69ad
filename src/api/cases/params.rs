//! The query strings of the case routes, one typed struct per route, parsed once with the
//! problems the API has always given: `GET /cases` ([`CasesParams`]), `GET /cases/hazards`
//! ([`HazardsParams`]), `GET /cases/metrics` ([`MetricsParams`]), `GET /cases/suggested-asset`
//! ([`SuggestedAssetParams`]), `GET /cases/calendar` ([`CalendarParams`]) and
//! `GET /cases/events` ([`EventsParams`]).

use chrono::{DateTime, Datelike as _, NaiveDate, TimeZone as _, Utc};
use utoipa::IntoParams;

use super::super::ApiError;
use super::super::extract::{FromQuery, QueryParams};
use super::super::spatial::{crs_param, position};
use crate::model::calendar::china_offset;
use crate::model::case::{CaseState, ReadScope};
use crate::model::crs::InputCrs;
use crate::model::user::User;
use crate::service::cases::MetricsWindow;
use crate::service::cases::metrics::GroupBy;
use crate::store::cases::{CaseOrder, CaseQuery};

/// Largest page of a case listing.
const MAX_LIMIT: u32 = 1_000;

/// A finite number, or a 400 saying `allowed`.
fn number(query: &mut QueryParams, name: &str, allowed: &str) -> Result<Option<f64>, ApiError> {
    query.parse_with(name, |raw| {
        raw.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or_else(|| ApiError::invalid(name, raw, allowed, "not a number"))
    })
}

/// A date (China time; the day after it when `end_of_day`) or an RFC 3339 instant.
fn time_param(raw: &str, name: &str, end_of_day: bool) -> Result<Option<DateTime<Utc>>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ApiError::invalid(
            name,
            raw,
            "a date YYYY-MM-DD (China time) or an RFC 3339 instant",
            "not a date",
        )
    })?;
    let day = if end_of_day {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Ok(china_offset()
        .from_local_datetime(&start)
        .single()
        .map(|t| t.with_timezone(&Utc)))
}

fn time(
    query: &mut QueryParams,
    name: &str,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    Ok(query
        .parse_with(name, |raw| time_param(raw, name, end_of_day))?
        .flatten())
}

fn states_param(raw: &str) -> Result<Vec<CaseState>, ApiError> {
    let allowed = || {
        CaseState::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
            + ", open"
    };
    let mut states = Vec::new();
    for part in raw.split(',').map(str::trim) {
        if part == "open" {
            states.extend(CaseState::ALL.into_iter().filter(|s| s.is_open()));
        } else {
            states.push(
                CaseState::parse(part)
                    .ok_or_else(|| ApiError::invalid("state", part, allowed(), "unknown state"))?,
            );
        }
    }
    Ok(states)
}

fn bbox_param(raw: &str) -> Result<[f64; 4], ApiError> {
    crate::model::Bbox::parse(raw)
        .map(|bbox| {
            // The district never crosses the antimeridian: one box covers the parts.
            let (mut west, mut south, mut east, mut north) =
                (180.0_f64, 90.0_f64, -180.0_f64, -90.0_f64);
            for rect in bbox.rects() {
                west = west.min(rect.min().x);
                south = south.min(rect.min().y);
                east = east.max(rect.max().x);
                north = north.max(rect.max().y);
            }
            [west, south, east, north]
        })
        .map_err(|e| {
            ApiError::invalid(
                "bbox",
                raw,
                "west,south,east,north in degrees",
                e.to_string(),
            )
        })
}

fn bool_param(raw: &str, name: &str) -> Result<bool, ApiError> {
    match raw {
        "false" => Ok(false),
        "true" => Ok(true),
        other => Err(ApiError::invalid(
            name,
            other,
            "true or false",
            "not a boolean",
        )),
    }
}

fn order_param(raw: &str) -> Result<CaseOrder, ApiError> {
    match raw {
        "newest" => Ok(CaseOrder::Newest),
        "deadline" => Ok(CaseOrder::Deadline),
        other => Err(ApiError::invalid(
            "order",
            other,
            "newest or deadline",
            "unknown order",
        )),
    }
}

fn geojson_param(raw: &str) -> Result<bool, ApiError> {
    match raw {
        "json" => Ok(false),
        "geojson" => Ok(true),
        other => Err(ApiError::invalid(
            "f",
            other,
            "json or geojson",
            "unknown format",
        )),
    }
}

fn limit_param(raw: &str) -> Result<u32, ApiError> {
    raw.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            ApiError::invalid(
                "limit",
                raw,
                format!("an integer from 1 to {MAX_LIMIT}"),
                "not allowed",
            )
        })
}

fn list_param(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The query of `GET /cases`.
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CasesParams {
    /// Comma-separated states, or `open`
    #[param(value_type = Option<String>, example = "open")]
    state: Vec<CaseState>,
    /// A category code
    category: Option<String>,
    /// The unit dispatched to
    unit: Option<String>,
    /// Cell codes (comma-separated); a code matches every cell below it
    #[param(value_type = Option<String>)]
    cell: Vec<String>,
    /// Who reported
    reporter: Option<String>,
    /// true: only open cases past their deadline
    #[param(value_type = Option<bool>)]
    overdue: bool,
    /// west,south,east,north (WGS84)
    #[param(value_type = Option<String>, example = "113.6,34.7,113.8,34.8")]
    bbox: Option<[f64; 4]>,
    /// Reported at or after (YYYY-MM-DD China time, or RFC 3339)
    #[param(value_type = Option<String>)]
    from: Option<DateTime<Utc>>,
    /// Reported before (a date includes its whole day)
    #[param(value_type = Option<String>)]
    to: Option<DateTime<Utc>>,
    /// How many cases at most
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 100)]
    limit: u32,
    /// How many matching cases to skip
    #[param(value_type = Option<u32>, minimum = 0, default = 0)]
    offset: u32,
    /// `json` (the default) or `geojson`
    #[param(value_type = Option<String>, example = "geojson")]
    f: bool,
    /// newest (the default) or deadline
    #[param(value_type = Option<String>, example = "deadline")]
    order: CaseOrder,
}

impl FromQuery for CasesParams {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let bbox = query.parse_with("bbox", bbox_param)?;
        let overdue = query
            .parse_with("overdue", |raw| bool_param(raw, "overdue"))?
            .unwrap_or(false);
        let order = query
            .parse_with("order", order_param)?
            .unwrap_or(CaseOrder::Newest);
        let offset = query
            .parse_with("offset", |raw| {
                raw.parse::<u32>()
                    .map_err(|_| ApiError::invalid("offset", raw, "an integer ≥ 0", "not allowed"))
            })?
            .unwrap_or(0);
        let f = query.parse_with("f", geojson_param)?.unwrap_or(false);
        let limit = query.parse_with("limit", limit_param)?.unwrap_or(100);
        Ok(Self {
            state: query.parse_with("state", states_param)?.unwrap_or_default(),
            category: query.get("category").map(str::to_owned),
            unit: query.get("unit").map(str::to_owned),
            cell: query.get("cell").map(list_param).unwrap_or_default(),
            reporter: query.get("reporter").map(str::to_owned),
            overdue,
            bbox,
            from: time(query, "from", false)?,
            to: time(query, "to", true)?,
            limit,
            offset,
            f,
            order,
        })
    }
}

impl CasesParams {
    /// Whether the answer is GeoJSON.
    pub(crate) fn geojson(&self) -> bool {
        self.f
    }

    /// The store query of the listing as `reader` may see it, `now` deciding what is overdue.
    pub(crate) fn case_query(self, reader: &User, now: DateTime<Utc>) -> CaseQuery {
        CaseQuery {
            states: self.state,
            category: self.category,
            assigned_unit: self.unit,
            cells: self.cell,
            reporter: self.reporter,
            bbox: self.bbox,
            reported_from: self.from,
            reported_to: self.to,
            overdue_at: self.overdue.then_some(now),
            order: if self.overdue {
                CaseOrder::Deadline
            } else {
                self.order
            },
            limit: Some(self.limit),
            offset: self.offset,
            scope: Some(ReadScope::of(reader)),
            ..CaseQuery::default()
        }
    }
}

/// The query of `GET /cases/hazards`.
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HazardsParams {
    /// The period in days before now
    #[param(value_type = Option<f64>, minimum = 1, maximum = 3660, default = 90)]
    days: f64,
    /// The fewest cases an asset needs in the period
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 2)]
    pub(crate) min_cases: f64,
}

impl FromQuery for HazardsParams {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let days = number(query, "days", "a number of days from 1 to 3660")?.unwrap_or(90.0);
        if !(1.0..=3660.0).contains(&days) {
            return Err(ApiError::invalid(
                "days",
                &days.to_string(),
                "1 to 3660",
                "out of range",
            ));
        }
        let min_cases = number(query, "min_cases", "an integer ≥ 1")?.unwrap_or(2.0);
        if !(1.0..=1000.0).contains(&min_cases) || min_cases.fract() != 0.0 {
            return Err(ApiError::invalid(
                "min_cases",
                &min_cases.to_string(),
                "an integer from 1 to 1000",
                "out of range",
            ));
        }
        Ok(Self { days, min_cases })
    }
}

impl HazardsParams {
    /// The period before now.
    pub(crate) fn period(&self) -> chrono::Duration {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked to be 1..=3660 days"
        )]
        chrono::Duration::minutes((self.days * 1440.0) as i64)
    }

    /// The fewest cases per asset.
    pub(crate) fn min_case_count(&self) -> usize {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked to be 1..=1000"
        )]
        let count = self.min_cases as usize;
        count
    }
}

/// The query of `GET /cases/metrics`.
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MetricsParams {
    /// How to group: street, community, grid, unit or category (default: no groups)
    #[param(value_type = Option<String>, example = "street")]
    pub(crate) group_by: Option<GroupBy>,
    /// Start of the window (default: 30 days before `to`)
    #[param(value_type = Option<String>)]
    from: Option<DateTime<Utc>>,
    /// End of the window (default: now)
    #[param(value_type = Option<String>)]
    to: Option<DateTime<Utc>>,
    /// `csv` for a table; anything else answers JSON
    #[param(value_type = Option<String>, example = "csv")]
    f: Option<String>,
    /// `from` as given, for the problem of an empty window.
    #[param(ignore)]
    from_raw: String,
}

impl FromQuery for MetricsParams {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let group_by = query.parse_with("group_by", |raw| {
            GroupBy::parse(raw).ok_or_else(|| {
                ApiError::invalid(
                    "group_by",
                    raw,
                    "street, community, grid, unit or category",
                    "unknown grouping",
                )
            })
        })?;
        let to = time(query, "to", true)?;
        let from = time(query, "from", false)?;
        Ok(Self {
            group_by,
            from,
            to,
            f: query.get("f").map(str::to_owned),
            from_raw: query.get("from").unwrap_or_default().to_owned(),
        })
    }
}

impl MetricsParams {
    /// Whether the answer is a CSV table.
    pub(crate) fn csv(&self) -> bool {
        self.f.as_deref() == Some("csv")
    }

    /// The window, `now` ending it unless `to` does; a 400 when it is empty.
    pub(crate) fn window(&self, now: DateTime<Utc>) -> Result<MetricsWindow, ApiError> {
        let to = self.to.unwrap_or(now);
        let from = self.from.unwrap_or_else(|| to - chrono::Duration::days(30));
        if from >= to {
            return Err(ApiError::invalid(
                "from",
                &self.from_raw,
                "a time before `to`",
                "empty window",
            ));
        }
        Ok(MetricsWindow {
            from,
            to,
            reported_to: self.to,
        })
    }
}

/// A position given as `lon`/`lat` in `crs`, as WGS84.
pub(crate) fn location(
    lon: Option<f64>,
    lat: Option<f64>,
    crs: InputCrs,
) -> Result<(f64, f64), ApiError> {
    let lon =
        lon.ok_or_else(|| ApiError::invalid("lon", "", "a longitude in degrees", "missing"))?;
    let lat =
        lat.ok_or_else(|| ApiError::invalid("lat", "", "a latitude in degrees", "missing"))?;
    position(lon, lat, crs, "lon,lat")
}

/// The query of `GET /cases/suggested-asset`.
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SuggestedAssetParams {
    /// A category code from GET /cases/categories
    #[param(example = "0101")]
    pub(crate) category: String,
    /// Longitude in degrees (in `crs`)
    #[param(example = 113.68)]
    pub(crate) lon: f64,
    /// Latitude in degrees (in `crs`)
    #[param(example = 34.75)]
    pub(crate) lat: f64,
    /// The coordinate system of `lon`/`lat`: wgs84 (the default), gcj02 or bd09
    #[param(value_type = Option<String>, example = "wgs84")]
    #[expect(
        dead_code,
        reason = "documents the parameter; lon and lat are converted from it while parsing"
    )]
    crs: InputCrs,
}

impl FromQuery for SuggestedAssetParams {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let category = query.get("category").map(str::to_owned).ok_or_else(|| {
            ApiError::invalid(
                "category",
                "",
                "a category code from GET /cases/categories",
                "missing",
            )
        })?;
        let crs = crs_param(query.get("crs"))?;
        let (lon, lat) = location(
            number(query, "lon", "a longitude in degrees")?,
            number(query, "lat", "a latitude in degrees")?,
            crs,
        )?;
        Ok(Self {
            category,
            lon,
            lat,
            crs,
        })
    }
}

/// The query of `GET /cases/calendar`.
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CalendarParams {
    /// The year (default: this year in China), 1900 to 2200
    #[param(value_type = Option<i32>, example = 2026, minimum = 1900, maximum = 2200)]
    pub(crate) year: i32,
}

impl FromQuery for CalendarParams {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        let year = query
            .parse_with("year", |raw| {
                raw.parse::<i32>()
                    .ok()
                    .filter(|y| (1900..=2200).contains(y))
                    .ok_or_else(|| {
                        ApiError::invalid("year", raw, "a year such as 2026", "not a year")
                    })
            })?
            .unwrap_or_else(|| crate::model::temporal::today_in_china().year());
        Ok(Self { year })
    }
}

/// The query of `GET /cases/events`.
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsParams {
    /// The bearer token, for clients that cannot send headers (`EventSource`)
    pub(crate) access_token: Option<String>,
}

impl FromQuery for EventsParams {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        Ok(Self {
            access_token: query.get("access_token").map(str::to_owned),
        })
    }
}
