//! Working-time arithmetic for case deadlines (办理时限): which time counts toward a limit,
//! how much has counted, and when a limit runs out.
//!
//! Instants are [`DateTime<Utc>`] at the interface; the arithmetic is in China Standard Time
//! (UTC+8, no daylight saving), the civil time of every district this service knows. A limit is
//! an amount of one of three [`TimeUnit`]s:
//!
//! - **紧急工作时** ([`TimeUnit::EmergencyHours`]): every hour counts, around the clock, on
//!   every day.
//! - **工作时** ([`TimeUnit::WorkingHours`]): only time inside the working-hour periods
//!   (default 08:30–12:00 and 13:30–17:30) of working days counts. The lunch break does not
//!   count; a case dispatched at 20:00 starts counting at 08:30 of the next working day.
//! - **工作日** ([`TimeUnit::WorkingDays`]): every instant of a working day counts, 24 hours per
//!   working day; weekends and public holidays do not count, make-up working days (调休上班)
//!   do. "2 工作日" from Friday 15:00 therefore ends on Tuesday 15:00 when Monday and Tuesday
//!   are working days.
//!
//! A working day is a Monday to Friday that is not a public holiday, or a Saturday or Sunday
//! that the State Council declared a make-up working day. The holidays come from a data file
//! (`data/cases/holidays-cn.json`, built in, see [`WorkCalendar::builtin`]) covering
//! [`WorkCalendar::years`]; **on dates outside those years only the weekday rule applies**
//! (Monday–Friday work, Saturday and Sunday rest), so callers should warn when a deadline falls
//! outside them, and [`WorkCalendar::year_status`] says whether a covered year is still
//! provisional.
//!
//! Pauses ([`Pause`]: suspension 挂账, a pending extension request 延期) stop the clock: time
//! inside a pause does not count. Overlapping pauses are merged, so no time is subtracted twice,
//! and a pause lying outside counted time (a night, a lunch break) changes nothing. An open
//! pause (no end yet) stops the clock for good, so [`WorkCalendar::deadline`] has no answer
//! while it lasts.
//!
//! Worked examples (all times China Standard Time):
//!
//! ```
//! use chrono::{DateTime, Utc};
//! use citygrid::model::calendar::{Pause, TimeLimit, TimeUnit, WorkCalendar};
//!
//! let cal = WorkCalendar::builtin();
//! let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
//! let limit = |amount, unit| TimeLimit { amount, unit };
//! let hours = |h: i64| chrono::Duration::hours(h);
//!
//! // 紧急工作时: 2 hours from Saturday 23:00 end on Sunday 01:00.
//! let start = at("2025-03-08T23:00:00+08:00");
//! let due = cal.deadline(start, limit(2.0, TimeUnit::EmergencyHours), &[]);
//! assert_eq!(due, Some(at("2025-03-09T01:00:00+08:00")));
//!
//! // 工作时: 4 hours from Friday 16:00 are 1.5 hours on Friday and 2.5 hours from 08:30 on
//! // Monday.
//! let start = at("2025-03-07T16:00:00+08:00");
//! let due = cal.deadline(start, limit(4.0, TimeUnit::WorkingHours), &[]);
//! assert_eq!(due, Some(at("2025-03-10T11:00:00+08:00")));
//!
//! // The lunch break does not count: 2 hours from 11:00 end at 14:30.
//! let start = at("2025-03-10T11:00:00+08:00");
//! let due = cal.deadline(start, limit(2.0, TimeUnit::WorkingHours), &[]);
//! assert_eq!(due, Some(at("2025-03-10T14:30:00+08:00")));
//!
//! // Dispatched after hours: half an hour from Tuesday 20:00 ends on Wednesday 09:00.
//! let start = at("2025-03-11T20:00:00+08:00");
//! let due = cal.deadline(start, limit(0.5, TimeUnit::WorkingHours), &[]);
//! assert_eq!(due, Some(at("2025-03-12T09:00:00+08:00")));
//!
//! // 工作日: 2 working days from Friday 15:00 end on Tuesday 15:00.
//! let start = at("2025-03-07T15:00:00+08:00");
//! let due = cal.deadline(start, limit(2.0, TimeUnit::WorkingDays), &[]);
//! assert_eq!(due, Some(at("2025-03-11T15:00:00+08:00")));
//!
//! // Spring Festival 2026: Saturday 14 February is a make-up working day, 15–23 February are
//! // holidays. 3 working days from Friday the 13th, 10:00: the 13th → the 14th (1), then the
//! // 24th (2) and the 25th (3).
//! let start = at("2026-02-13T10:00:00+08:00");
//! let due = cal.deadline(start, limit(3.0, TimeUnit::WorkingDays), &[]);
//! assert_eq!(due, Some(at("2026-02-25T10:00:00+08:00")));
//!
//! // National Day 2025 (1–8 October): 8 working hours from Tuesday 30 September 16:00 are 1.5
//! // hours that day and 6.5 hours on Thursday 9 October.
//! let start = at("2025-09-30T16:00:00+08:00");
//! let due = cal.deadline(start, limit(8.0, TimeUnit::WorkingHours), &[]);
//! assert_eq!(due, Some(at("2025-10-09T16:30:00+08:00")));
//!
//! // A suspension (挂账) from 09:30 to 10:30 pushes 4 working hours from Monday 08:30 back
//! // one hour, from 14:00 to 15:00; one inside the lunch break changes nothing.
//! let start = at("2025-03-10T08:30:00+08:00");
//! let suspended = Pause {
//!     start: at("2025-03-10T09:30:00+08:00"),
//!     end: Some(at("2025-03-10T10:30:00+08:00")),
//! };
//! let lunch = Pause {
//!     start: at("2025-03-10T12:10:00+08:00"),
//!     end: Some(at("2025-03-10T13:10:00+08:00")),
//! };
//! let four = limit(4.0, TimeUnit::WorkingHours);
//! assert_eq!(cal.deadline(start, four, &[suspended]), Some(at("2025-03-10T15:00:00+08:00")));
//! assert_eq!(cal.deadline(start, four, &[lunch]), Some(at("2025-03-10T14:00:00+08:00")));
//! let by_noon = cal.counted(TimeUnit::WorkingHours, start, at("2025-03-10T12:00:00+08:00"), &[suspended]);
//! assert_eq!(by_noon, hours(3) - chrono::Duration::minutes(30));
//!
//! // While a pause is open the clock is stopped: no deadline.
//! let open = Pause { start: at("2025-03-10T09:30:00+08:00"), end: None };
//! assert_eq!(cal.deadline(start, four, &[open]), None);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const NANOS_PER_DAY: i128 = 86_400 * NANOS_PER_SECOND;
const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;
const CHINA_OFFSET_NANOS: i128 = 8 * 3600 * NANOS_PER_SECOND;
/// `NaiveDate::num_days_from_ce` of 1970-01-01, the origin of the day numbers used inside.
const UNIX_EPOCH_DAY_FROM_CE: i64 = 719_163;
/// The whole day, for units that count around the clock.
const WHOLE_DAY: [(i128, i128); 1] = [(0, NANOS_PER_DAY)];
/// How far from its year a date of a year's entry may lie: the notices occasionally move a day
/// across New Year (the 2012 notice made 31 December 2011 a working day).
const YEAR_SLACK_DAYS: i64 = 31;

/// China Standard Time, UTC+8 (no daylight saving).
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(CHINA_OFFSET_SECONDS).expect("UTC+8 is a valid offset")
}

/// The unit a time limit is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// 紧急工作时: hours around the clock, every day.
    EmergencyHours,
    /// 工作时: hours inside the working-hour periods of working days.
    WorkingHours,
    /// 工作日: working days of 24 hours.
    WorkingDays,
}

impl TimeUnit {
    /// The Chinese name, e.g. `工作时`.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::EmergencyHours => "紧急工作时",
            Self::WorkingHours => "工作时",
            Self::WorkingDays => "工作日",
        }
    }

    /// The English name, e.g. `working hours`.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::EmergencyHours => "emergency hours",
            Self::WorkingHours => "working hours",
            Self::WorkingDays => "working days",
        }
    }

    /// Seconds of counted time in one unit (an hour, or a 24-hour working day).
    fn seconds(self) -> f64 {
        match self {
            Self::EmergencyHours | Self::WorkingHours => 3600.0,
            Self::WorkingDays => 86_400.0,
        }
    }
}

/// A time limit: an amount (positive, finite, possibly fractional such as 0.5) of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeLimit {
    /// How many units.
    pub amount: f64,
    /// Which unit.
    pub unit: TimeUnit,
}

impl TimeLimit {
    /// A limit with a positive finite amount.
    ///
    /// ```
    /// use citygrid::model::calendar::{TimeLimit, TimeUnit};
    /// assert!(TimeLimit::new(0.5, TimeUnit::WorkingHours).is_ok());
    /// assert!(TimeLimit::new(0.0, TimeUnit::WorkingHours).is_err());
    /// ```
    pub fn new(amount: f64, unit: TimeUnit) -> Result<Self, CalendarError> {
        if amount.is_finite() && amount > 0.0 {
            Ok(Self { amount, unit })
        } else {
            Err(CalendarError::Amount(amount))
        }
    }

    /// The counted time the limit stands for (a working day is 24 hours of counted time), to
    /// the nanosecond; `None` if the amount is negative, not finite or beyond chrono's range.
    pub fn duration(self) -> Option<Duration> {
        self.nanos().and_then(checked_duration)
    }

    fn nanos(self) -> Option<i128> {
        let nanos = (self.amount * self.unit.seconds() * 1e9).round();
        // Beyond this no instant chrono can represent is reached (±262,143 years ≈ 1.7e28 ns).
        if !nanos.is_finite() || !(0.0..=1e29).contains(&nanos) {
            return None;
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "a finite value in [0, 1e29] is within the range of i128"
        )]
        Some(nanos as i128)
    }
}

/// A stop of the clock: `[start, end)`; `end` `None` = still paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// When the clock stopped.
    pub start: DateTime<Utc>,
    /// When it restarted; `None` while the pause lasts.
    pub end: Option<DateTime<Utc>>,
}

/// A holiday file or working-hours specification that cannot be used, or an invalid limit.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The file is not JSON of the expected shape (the message names the field, line and column).
    #[error("holiday file: {0}")]
    Json(serde_json::Error),
    /// The file's time zone is not China Standard Time.
    #[error("holiday file: timezone {0:?} is not supported; only \"+08:00\" (China Standard Time)")]
    Timezone(String),
    /// The file lists no year.
    #[error("holiday file: no year is listed")]
    NoYears,
    /// A year is listed twice.
    #[error("holiday file: year {0} is listed twice")]
    DuplicateYear(i32),
    /// The years listed are not consecutive.
    #[error("holiday file: year {0} is missing; the years listed must be consecutive")]
    MissingYear(i32),
    /// A year's status is neither `official` nor `provisional`.
    #[error(
        "holiday file: year {year}: status {status:?} is neither \"official\" nor \"provisional\""
    )]
    Status {
        /// The year at fault.
        year: i32,
        /// The status found.
        status: String,
    },
    /// A required text is empty.
    #[error("holiday file: year {year}: {field} is empty")]
    Empty {
        /// The year at fault.
        year: i32,
        /// The field, e.g. `holidays[2].name_zh`.
        field: String,
    },
    /// A date is not written `YYYY-MM-DD`.
    #[error("holiday file: year {year}: {field}: {value:?} is not a date (YYYY-MM-DD)")]
    Date {
        /// The year at fault.
        year: i32,
        /// The field, e.g. `workdays[0].date`.
        field: String,
        /// The text found.
        value: String,
    },
    /// A date lies too far from the year it is listed under.
    #[error("holiday file: year {year}: {date} is not in {year} (nor within 31 days of it)")]
    OutsideYear {
        /// The year at fault.
        year: i32,
        /// The date found.
        date: NaiveDate,
    },
    /// A date is listed twice (as two holidays, two make-up days, or both).
    #[error("holiday file: {date} is listed twice: as {first} and as {second}")]
    DuplicateDate {
        /// The date listed twice.
        date: NaiveDate,
        /// What it was first listed as.
        first: String,
        /// What it was listed as again.
        second: String,
    },
    /// A make-up working day that is not a Saturday or Sunday.
    #[error("holiday file: make-up working day {date} is a {weekday}, not a Saturday or Sunday")]
    WorkdayNotWeekend {
        /// The date at fault.
        date: NaiveDate,
        /// Its weekday.
        weekday: chrono::Weekday,
    },
    /// A make-up working day for a holiday its year does not list.
    #[error(
        "holiday file: make-up working day {date} is for {name:?}, which is not a holiday of {year}"
    )]
    UnknownHoliday {
        /// The year at fault.
        year: i32,
        /// The make-up day.
        date: NaiveDate,
        /// The holiday named in `for`.
        name: String,
    },
    /// A working-hours specification that is malformed, empty, unsorted or overlapping.
    #[error("working hours {spec:?}: {problem}; expected e.g. \"08:30-12:00,13:30-17:30\"")]
    WorkingHours {
        /// The specification as given.
        spec: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A time limit whose amount is not a positive finite number.
    #[error("time limit amount {0} is not a positive finite number")]
    Amount(f64),
}

/// A year's entry in the holiday file.
#[derive(Debug, Clone)]
struct YearInfo {
    status: String,
    source: String,
    note: Option<String>,
}

/// A public holiday's names.
#[derive(Debug, Clone)]
struct Holiday {
    name_zh: String,
    name_en: String,
}

/// Public holidays, make-up working days and working hours of China Standard Time.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    periods: Vec<(NaiveTime, NaiveTime)>,
    /// `periods` in nanoseconds since local midnight.
    period_nanos: Vec<(i128, i128)>,
    holidays: BTreeMap<NaiveDate, Holiday>,
    /// Make-up working day → the holiday it makes up for.
    makeup: BTreeMap<NaiveDate, String>,
    /// Day numbers (days since 1970-01-01) of holidays falling on Monday–Friday.
    weekday_holidays: BTreeSet<i64>,
    /// Day numbers of make-up working days (all on Saturday or Sunday).
    weekend_workdays: BTreeSet<i64>,
    years: BTreeMap<i32, YearInfo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    timezone: String,
    /// A comment for readers of the file.
    #[serde(default, rename = "note")]
    _note: Option<String>,
    years: Vec<RawYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    status: String,
    source: String,
    #[serde(default)]
    note: Option<String>,
    holidays: Vec<RawHoliday>,
    #[serde(default)]
    workdays: Vec<RawWorkday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name_zh: String,
    name_en: String,
    dates: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkday {
    date: String,
    #[serde(rename = "for")]
    for_holiday: String,
}

/// Days since 1970-01-01.
fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - UNIX_EPOCH_DAY_FROM_CE
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
fn weekday_index(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// Nanoseconds since 1970-01-01T00:00:00Z.
fn nanos_of(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * NANOS_PER_SECOND + i128::from(t.timestamp_subsec_nanos())
}

fn instant_of(nanos: i128) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(nanos.div_euclid(NANOS_PER_SECOND)).ok()?;
    let sub = u32::try_from(nanos.rem_euclid(NANOS_PER_SECOND)).ok()?;
    DateTime::from_timestamp(seconds, sub)
}

fn checked_duration(nanos: i128) -> Option<Duration> {
    let seconds = i64::try_from(nanos.div_euclid(NANOS_PER_SECOND)).ok()?;
    let sub = u32::try_from(nanos.rem_euclid(NANOS_PER_SECOND)).ok()?;
    Duration::new(seconds, sub)
}

fn duration_from_nanos(nanos: i128) -> Duration {
    checked_duration(nanos)
        .expect("counted time never exceeds the span between two chrono instants")
}

/// The local (UTC+8) day number and nanoseconds since local midnight of an instant.
fn local(nanos: i128) -> (i64, i128) {
    let local = nanos + CHINA_OFFSET_NANOS;
    let day =
        i64::try_from(local.div_euclid(NANOS_PER_DAY)).expect("days of chrono instants fit i64");
    (day, local.rem_euclid(NANOS_PER_DAY))
}

fn time_nanos(t: NaiveTime) -> i128 {
    // A leap second (nanosecond ≥ 1e9) is folded into the second before it.
    i128::from(t.num_seconds_from_midnight()) * NANOS_PER_SECOND
        + i128::from(t.nanosecond().min(999_999_999))
}

/// Monday–Friday days in `[from, to)`.
fn weekdays_between(from: i64, to: i64) -> i64 {
    let n = to - from;
    if n <= 0 {
        return 0;
    }
    let first = weekday_index(from);
    let partial = (0..n % 7).filter(|i| (first + i) % 7 < 5).count();
    n / 7 * 5 + i64::try_from(partial).expect("at most 6")
}

/// Sorted, merged pauses as `[start, end)` in nanoseconds, `i128::MAX` for an open end.
fn merge_pauses(pauses: &[Pause]) -> Vec<(i128, i128)> {
    let mut spans: Vec<(i128, i128)> = pauses
        .iter()
        .map(|p| (nanos_of(p.start), p.end.map_or(i128::MAX, nanos_of)))
        .filter(|(s, e)| e > s)
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(i128, i128)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

fn parse_date(year: i32, field: &str, value: &str) -> Result<NaiveDate, CalendarError> {
    let bad = || CalendarError::Date {
        year,
        field: field.to_owned(),
        value: value.to_owned(),
    };
    if value.len() != 10 {
        return Err(bad());
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())?;
    let near = |d: NaiveDate| {
        let first = NaiveDate::from_ymd_opt(year, 1, 1);
        let last = NaiveDate::from_ymd_opt(year, 12, 31);
        match (first, last) {
            (Some(first), Some(last)) => {
                (first - d).num_days() <= YEAR_SLACK_DAYS
                    && (d - last).num_days() <= YEAR_SLACK_DAYS
            }
            _ => false,
        }
    };
    if near(date) {
        Ok(date)
    } else {
        Err(CalendarError::OutsideYear { year, date })
    }
}

fn check_periods(spec: &str, periods: &[(NaiveTime, NaiveTime)]) -> Result<(), CalendarError> {
    let problem = |problem: String| CalendarError::WorkingHours {
        spec: spec.to_owned(),
        problem,
    };
    if periods.is_empty() {
        return Err(problem("no period is given".into()));
    }
    for (i, (start, end)) in periods.iter().enumerate() {
        if start >= end {
            return Err(problem(format!(
                "period {} ({start}-{end}) does not end after it starts",
                i + 1
            )));
        }
        if let Some((next_start, next_end)) = periods.get(i + 1)
            && next_start < end
        {
            return Err(problem(format!(
                "period {} ({next_start}-{next_end}) starts before period {} ({start}-{end}) ends; periods must be sorted and must not overlap",
                i + 2,
                i + 1
            )));
        }
    }
    Ok(())
}

fn format_periods(periods: &[(NaiveTime, NaiveTime)]) -> String {
    periods
        .iter()
        .map(|(s, e)| format!("{}-{}", s.format("%H:%M"), e.format("%H:%M")))
        .collect::<Vec<_>>()
        .join(",")
}

impl WorkCalendar {
    /// The built-in calendar: `data/cases/holidays-cn.json` (the State Council's holiday
    /// notices) with working hours 08:30–12:00 and 13:30–17:30.
    pub fn builtin() -> Self {
        Self::from_json(include_str!("../../data/cases/holidays-cn.json"))
            .expect("the built-in holiday file is valid (tested)")
    }

    /// Reads a holiday file (format: `data/cases/README.md`) with the default working hours
    /// 08:30–12:00 and 13:30–17:30. Dates, duplicates, make-up days (Saturday or Sunday, for a
    /// holiday of their year) and the consecutiveness of the years are checked; errors name the
    /// year, field and date at fault, or the line and column for malformed JSON.
    pub fn from_json(text: &str) -> Result<Self, CalendarError> {
        let raw: RawFile = serde_json::from_str(text).map_err(CalendarError::Json)?;
        if raw.timezone != "+08:00" {
            return Err(CalendarError::Timezone(raw.timezone));
        }
        let mut calendar = Self {
            periods: Vec::new(),
            period_nanos: Vec::new(),
            holidays: BTreeMap::new(),
            makeup: BTreeMap::new(),
            weekday_holidays: BTreeSet::new(),
            weekend_workdays: BTreeSet::new(),
            years: BTreeMap::new(),
        };
        for entry in raw.years {
            calendar.add_year(entry)?;
        }
        let (Some(&first), Some(&last)) = (
            calendar.years.keys().next(),
            calendar.years.keys().next_back(),
        ) else {
            return Err(CalendarError::NoYears);
        };
        if let Some(missing) = (first..=last).find(|y| !calendar.years.contains_key(y)) {
            return Err(CalendarError::MissingYear(missing));
        }
        let default = Self::parse_working_hours("08:30-12:00,13:30-17:30")
            .expect("the default working hours are valid");
        calendar.with_working_hours(default)
    }

    fn add_year(&mut self, entry: RawYear) -> Result<(), CalendarError> {
        let year = entry.year;
        if self.years.contains_key(&year) {
            return Err(CalendarError::DuplicateYear(year));
        }
        if entry.status != "official" && entry.status != "provisional" {
            return Err(CalendarError::Status {
                year,
                status: entry.status,
            });
        }
        let empty = |field: String| CalendarError::Empty { year, field };
        if entry.source.trim().is_empty() {
            return Err(empty("source".into()));
        }
        for (i, holiday) in entry.holidays.iter().enumerate() {
            if holiday.name_zh.trim().is_empty() {
                return Err(empty(format!("holidays[{i}].name_zh")));
            }
            if holiday.name_en.trim().is_empty() {
                return Err(empty(format!("holidays[{i}].name_en")));
            }
            if holiday.dates.is_empty() {
                return Err(empty(format!("holidays[{i}].dates")));
            }
            for (j, text) in holiday.dates.iter().enumerate() {
                let date = parse_date(year, &format!("holidays[{i}].dates[{j}]"), text)?;
                if let Some(first) = self.holidays.get(&date) {
                    return Err(CalendarError::DuplicateDate {
                        date,
                        first: first.name_zh.clone(),
                        second: holiday.name_zh.clone(),
                    });
                }
                self.holidays.insert(
                    date,
                    Holiday {
                        name_zh: holiday.name_zh.clone(),
                        name_en: holiday.name_en.clone(),
                    },
                );
                let day = day_number(date);
                if weekday_index(day) < 5 {
                    self.weekday_holidays.insert(day);
                }
            }
        }
        for (i, workday) in entry.workdays.iter().enumerate() {
            let date = parse_date(year, &format!("workdays[{i}].date"), &workday.date)?;
            let made_up_for = format!("a make-up working day for {}", workday.for_holiday);
            if let Some(holiday) = self.holidays.get(&date) {
                return Err(CalendarError::DuplicateDate {
                    date,
                    first: holiday.name_zh.clone(),
                    second: made_up_for,
                });
            }
            if let Some(other) = self.makeup.get(&date) {
                return Err(CalendarError::DuplicateDate {
                    date,
                    first: format!("a make-up working day for {other}"),
                    second: made_up_for,
                });
            }
            let day = day_number(date);
            if weekday_index(day) < 5 {
                return Err(CalendarError::WorkdayNotWeekend {
                    date,
                    weekday: date.weekday(),
                });
            }
            if !entry
                .holidays
                .iter()
                .any(|h| h.name_zh == workday.for_holiday)
            {
                return Err(CalendarError::UnknownHoliday {
                    year,
                    date,
                    name: workday.for_holiday.clone(),
                });
            }
            self.makeup.insert(date, workday.for_holiday.clone());
            self.weekend_workdays.insert(day);
        }
        self.years.insert(
            year,
            YearInfo {
                status: entry.status,
                source: entry.source,
                note: entry.note,
            },
        );
        Ok(())
    }

    /// Parses working hours written `HH:MM-HH:MM[,HH:MM-HH:MM…]`, e.g.
    /// `"08:30-12:00,13:30-17:30"`; the periods must be non-empty, sorted and not overlap.
    ///
    /// ```
    /// use citygrid::model::calendar::WorkCalendar;
    /// let periods = WorkCalendar::parse_working_hours("09:00-12:00, 14:00-18:00").unwrap();
    /// assert_eq!(periods.len(), 2);
    /// assert!(WorkCalendar::parse_working_hours("14:00-18:00,09:00-12:00").is_err());
    /// ```
    pub fn parse_working_hours(spec: &str) -> Result<Vec<(NaiveTime, NaiveTime)>, CalendarError> {
        let problem = |problem: String| CalendarError::WorkingHours {
            spec: spec.to_owned(),
            problem,
        };
        let time = |text: &str| {
            let text = text.trim();
            NaiveTime::parse_from_str(text, "%H:%M")
                .map_err(|_| problem(format!("{text:?} is not a time of day HH:MM")))
        };
        let mut periods = Vec::new();
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((start, end)) = part.split_once('-') else {
                return Err(problem(format!(
                    "{:?} is not a period HH:MM-HH:MM",
                    part.trim()
                )));
            };
            periods.push((time(start)?, time(end)?));
        }
        check_periods(spec, &periods)?;
        Ok(periods)
    }

    /// The same calendar with other working hours (sorted, non-overlapping, non-empty periods).
    pub fn with_working_hours(
        mut self,
        periods: Vec<(NaiveTime, NaiveTime)>,
    ) -> Result<Self, CalendarError> {
        check_periods(&format_periods(&periods), &periods)?;
        self.period_nanos = periods
            .iter()
            .map(|&(s, e)| (time_nanos(s), time_nanos(e)))
            .collect();
        self.periods = periods;
        Ok(self)
    }

    /// The working-hour periods of a working day, in China Standard Time.
    pub fn working_hours(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// The years the holiday file covers; outside them only the weekday rule applies.
    pub fn years(&self) -> RangeInclusive<i32> {
        let first = self.years.keys().next().copied().unwrap_or(0);
        let last = self.years.keys().next_back().copied().unwrap_or(0);
        first..=last
    }

    /// `official` (from the State Council's notice) or `provisional` (statutory days only,
    /// the notice not yet published) for a covered year; `None` outside [`Self::years`].
    pub fn year_status(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(|y| y.status.as_str())
    }

    /// Where a covered year's dates come from (the notice, or the rule for a provisional year).
    pub fn year_source(&self, year: i32) -> Option<&str> {
        self.years.get(&year).map(|y| y.source.as_str())
    }

    /// The file's note on a covered year, e.g. why it is provisional.
    pub fn year_note(&self, year: i32) -> Option<&str> {
        self.years.get(&year).and_then(|y| y.note.as_deref())
    }

    /// Whether `date` is a working day: Monday–Friday except public holidays, plus make-up
    /// working days (调休上班). Outside [`Self::years`], Monday–Friday.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use citygrid::model::calendar::WorkCalendar;
    /// let cal = WorkCalendar::builtin();
    /// let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    /// assert!(cal.is_working_day(day(2, 14))); // Saturday, make-up day for the Spring Festival
    /// assert!(!cal.is_working_day(day(2, 16))); // Monday, Spring Festival
    /// ```
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.is_working(day_number(date))
    }

    /// The Chinese name of the public holiday on `date` (e.g. `春节`), if it is one.
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.holidays.get(&date).map(|h| h.name_zh.as_str())
    }

    /// The English name of the public holiday on `date` (e.g. `Spring Festival`), if it is one.
    pub fn holiday_name_en(&self, date: NaiveDate) -> Option<&str> {
        self.holidays.get(&date).map(|h| h.name_en.as_str())
    }

    /// For a make-up working day, the Chinese name of the holiday it makes up for.
    pub fn makeup_for(&self, date: NaiveDate) -> Option<&str> {
        self.makeup.get(&date).map(String::as_str)
    }

    fn is_working(&self, day: i64) -> bool {
        if weekday_index(day) < 5 {
            !self.weekday_holidays.contains(&day)
        } else {
            self.weekend_workdays.contains(&day)
        }
    }

    /// The periods of a counted day, in nanoseconds since local midnight.
    fn segments(&self, unit: TimeUnit) -> &[(i128, i128)] {
        match unit {
            TimeUnit::EmergencyHours | TimeUnit::WorkingDays => &WHOLE_DAY,
            TimeUnit::WorkingHours => &self.period_nanos,
        }
    }

    fn counts_day(&self, unit: TimeUnit, day: i64) -> bool {
        unit == TimeUnit::EmergencyHours || self.is_working(day)
    }

    /// Days in `[from, to)` on which `unit` counts.
    fn counted_days(&self, unit: TimeUnit, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        if unit == TimeUnit::EmergencyHours {
            return to - from;
        }
        let count =
            |set: &BTreeSet<i64>| i64::try_from(set.range(from..to).count()).expect("small");
        weekdays_between(from, to) + count(&self.weekend_workdays) - count(&self.weekday_holidays)
    }

    /// Counted nanoseconds of local `day` between `from` and `to` (nanoseconds since midnight).
    fn counted_in_day(&self, unit: TimeUnit, day: i64, from: i128, to: i128) -> i128 {
        if !self.counts_day(unit, day) {
            return 0;
        }
        self.segments(unit)
            .iter()
            .map(|&(s, e)| (e.min(to) - s.max(from)).max(0))
            .sum()
    }

    /// Counted nanoseconds in `[from, to)`, without pauses.
    fn counted_nanos(&self, unit: TimeUnit, from: i128, to: i128) -> i128 {
        if to <= from {
            return 0;
        }
        let (first_day, first_time) = local(from);
        let (last_day, last_time) = local(to);
        if first_day == last_day {
            return self.counted_in_day(unit, first_day, first_time, last_time);
        }
        let per_day: i128 = self.segments(unit).iter().map(|(s, e)| e - s).sum();
        self.counted_in_day(unit, first_day, first_time, NANOS_PER_DAY)
            + i128::from(self.counted_days(unit, first_day + 1, last_day)) * per_day
            + self.counted_in_day(unit, last_day, 0, last_time)
    }

    /// Counted nanoseconds in `[from, to)` minus the merged `pauses`.
    fn counted_paused(
        &self,
        unit: TimeUnit,
        from: i128,
        to: i128,
        pauses: &[(i128, i128)],
    ) -> i128 {
        let stopped: i128 = pauses
            .iter()
            .map(|&(s, e)| self.counted_nanos(unit, s.max(from), e.min(to)))
            .sum();
        self.counted_nanos(unit, from, to) - stopped
    }

    /// Time that counts toward a limit of `unit` between `from` and `to`, minus pauses (zero if
    /// `to` is not after `from`).
    ///
    /// ```
    /// use chrono::{DateTime, Duration, Utc};
    /// use citygrid::model::calendar::{TimeUnit, WorkCalendar};
    /// let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    /// let cal = WorkCalendar::builtin();
    /// // Friday 17:00 to Monday 09:00: half an hour on Friday, half an hour on Monday.
    /// let from = at("2025-03-07T17:00:00+08:00");
    /// let to = at("2025-03-10T09:00:00+08:00");
    /// assert_eq!(cal.counted(TimeUnit::WorkingHours, from, to, &[]), Duration::hours(1));
    /// assert_eq!(cal.counted(TimeUnit::EmergencyHours, from, to, &[]), Duration::hours(64));
    /// ```
    pub fn counted(
        &self,
        unit: TimeUnit,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        pauses: &[Pause],
    ) -> Duration {
        let total = self.counted_paused(unit, nanos_of(from), nanos_of(to), &merge_pauses(pauses));
        duration_from_nanos(total)
    }

    /// The instant at which `limit` is used up counting from `start`: the earliest instant by
    /// which the counted time (see [`Self::counted`]) reaches the limit, so a limit used up at
    /// the end of the morning ends at 12:00, not at 13:30. `start` itself for a zero amount.
    ///
    /// `None` while an open pause stops the clock before the limit is used up, and also for an
    /// amount that is negative, not finite, or that would end beyond the instants chrono can
    /// represent.
    pub fn deadline(
        &self,
        start: DateTime<Utc>,
        limit: TimeLimit,
        pauses: &[Pause],
    ) -> Option<DateTime<Utc>> {
        let target = limit.nanos()?;
        let unit = limit.unit;
        let from = nanos_of(start);
        let pauses = merge_pauses(pauses);
        let used = |to: i128| self.counted_paused(unit, from, to, &pauses);
        let horizon = match pauses.last() {
            Some(&(s, i128::MAX)) => s.max(from),
            _ => nanos_of(DateTime::<Utc>::MAX_UTC),
        };
        if target == 0 {
            return Some(start);
        }
        // Counted time never exceeds elapsed time, so the limit ends at `from + target` or later.
        let mut low = from;
        let mut high = from.saturating_add(target).min(horizon);
        while used(high) < target {
            if high >= horizon {
                return None;
            }
            low = high;
            high = from.saturating_add(2 * (high - from)).min(horizon);
        }
        // Invariant: used(low) < target <= used(high); `used` is non-decreasing.
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if used(mid) >= target {
                high = mid;
            } else {
                low = mid;
            }
        }
        instant_of(high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn cal() -> WorkCalendar {
        WorkCalendar::builtin()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .with_timezone(&Utc)
    }

    fn cst(text: &str) -> DateTime<Utc> {
        at(&format!("{text}+08:00"))
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn limit(amount: f64, unit: TimeUnit) -> TimeLimit {
        TimeLimit { amount, unit }
    }

    fn pause(start: &str, end: Option<&str>) -> Pause {
        Pause {
            start: cst(start),
            end: end.map(cst),
        }
    }

    fn due(start: &str, amount: f64, unit: TimeUnit, pauses: &[Pause]) -> Option<DateTime<Utc>> {
        cal().deadline(cst(start), limit(amount, unit), pauses)
    }

    use TimeUnit::{EmergencyHours, WorkingDays, WorkingHours};

    #[test]
    fn the_builtin_file_loads_and_covers_2025_to_2027() {
        let cal = cal();
        assert_eq!(cal.years(), 2025..=2027);
        assert_eq!(cal.year_status(2025), Some("official"));
        assert_eq!(cal.year_status(2026), Some("official"));
        assert_eq!(cal.year_status(2027), Some("provisional"));
        assert_eq!(cal.year_status(2028), None);
        assert!(cal.year_note(2027).unwrap().contains("not available"));
        assert!(
            cal.year_source(2025)
                .unwrap()
                .contains("国办发明电〔2024〕12号")
        );
        assert_eq!(
            cal.working_hours(),
            WorkCalendar::parse_working_hours("08:30-12:00,13:30-17:30").unwrap()
        );
    }

    #[test]
    fn make_up_saturdays_work_and_holiday_mondays_do_not() {
        let cal = cal();
        assert!(cal.is_working_day(date("2026-02-14")));
        assert_eq!(cal.makeup_for(date("2026-02-14")), Some("春节"));
        assert!(!cal.is_working_day(date("2026-02-16")));
        assert_eq!(cal.holiday_name(date("2026-02-16")), Some("春节"));
        assert_eq!(
            cal.holiday_name_en(date("2026-02-16")),
            Some("Spring Festival")
        );
        assert!(cal.is_working_day(date("2025-01-26")), "Sunday make-up day");
        assert!(
            cal.is_working_day(date("2025-10-11")),
            "Saturday make-up day"
        );
        assert!(
            !cal.is_working_day(date("2025-10-08")),
            "Wednesday in National Day"
        );
        assert!(
            !cal.is_working_day(date("2026-02-15")),
            "Sunday in the Spring Festival"
        );
        assert!(cal.is_working_day(date("2026-02-24")));
        assert!(
            !cal.is_working_day(date("2026-02-21")),
            "an ordinary Saturday"
        );
        assert!(cal.is_working_day(date("2026-03-02")), "an ordinary Monday");
        assert_eq!(cal.holiday_name(date("2026-03-02")), None);
    }

    #[test]
    fn the_provisional_year_has_only_the_statutory_days() {
        let cal = cal();
        let days = cal.holidays.keys().filter(|d| d.year() == 2027).count();
        assert_eq!(days, 13);
        assert!(!cal.is_working_day(date("2027-02-05")), "除夕");
        assert!(!cal.is_working_day(date("2027-02-08")), "初三, a Monday");
        assert!(
            cal.is_working_day(date("2027-02-09")),
            "no invented bridging days"
        );
        assert!(cal.makeup.keys().all(|d| d.year() < 2027));
    }

    #[test]
    fn outside_the_file_only_weekdays_work() {
        let cal = cal();
        assert!(
            cal.is_working_day(date("2030-01-01")),
            "a Tuesday, 元旦 unknown"
        );
        assert!(!cal.is_working_day(date("2030-01-05")), "a Saturday");
        assert!(
            cal.is_working_day(date("2024-10-04")),
            "a Friday before the file"
        );
        assert_eq!(
            due("2030-01-04T15:00:00", 1.0, WorkingDays, &[]),
            Some(cst("2030-01-07T15:00:00"))
        );
    }

    #[test]
    fn emergency_hours_count_around_the_clock_through_holidays() {
        assert_eq!(
            due("2026-02-16T22:00:00", 3.0, EmergencyHours, &[]),
            Some(cst("2026-02-17T01:00:00"))
        );
        assert_eq!(
            cal().counted(
                EmergencyHours,
                cst("2025-09-30T12:00:00"),
                cst("2025-10-09T12:00:00"),
                &[]
            ),
            Duration::days(9)
        );
    }

    #[test]
    fn working_hours_skip_the_weekend() {
        assert_eq!(
            due("2025-03-07T16:00:00", 4.0, WorkingHours, &[]),
            Some(cst("2025-03-10T11:00:00"))
        );
        assert_eq!(
            due("2025-03-08T10:00:00", 1.0, WorkingHours, &[]),
            Some(cst("2025-03-10T09:30:00")),
            "dispatched on a Saturday"
        );
    }

    #[test]
    fn working_hours_skip_the_lunch_break() {
        assert_eq!(
            due("2025-03-10T11:00:00", 2.0, WorkingHours, &[]),
            Some(cst("2025-03-10T14:30:00"))
        );
        assert_eq!(
            due("2025-03-10T12:30:00", 1.0, WorkingHours, &[]),
            Some(cst("2025-03-10T14:30:00")),
            "dispatched during lunch"
        );
        assert_eq!(
            due("2025-03-10T08:30:00", 3.5, WorkingHours, &[]),
            Some(cst("2025-03-10T12:00:00")),
            "a limit used up at noon ends at noon"
        );
        assert_eq!(
            cal().counted(
                WorkingHours,
                cst("2025-03-10T11:00:00"),
                cst("2025-03-10T14:00:00"),
                &[]
            ),
            Duration::minutes(90)
        );
    }

    #[test]
    fn working_hours_start_at_opening_time_before_and_after_hours() {
        assert_eq!(
            due("2025-03-10T07:00:00", 1.0, WorkingHours, &[]),
            Some(cst("2025-03-10T09:30:00")),
            "dispatched before hours"
        );
        assert_eq!(
            due("2025-03-10T20:00:00", 0.5, WorkingHours, &[]),
            Some(cst("2025-03-11T09:00:00")),
            "dispatched after hours"
        );
        assert_eq!(
            due("2025-03-07T20:00:00", 8.0, WorkingHours, &[]),
            Some(cst("2025-03-11T09:00:00")),
            "dispatched on Friday evening: Monday has 7.5 working hours"
        );
    }

    #[test]
    fn working_days_count_whole_days_and_skip_weekends() {
        assert_eq!(
            due("2025-03-07T15:00:00", 2.0, WorkingDays, &[]),
            Some(cst("2025-03-11T15:00:00"))
        );
        assert_eq!(
            due("2025-03-08T15:00:00", 1.0, WorkingDays, &[]),
            Some(cst("2025-03-11T00:00:00")),
            "dispatched on a Saturday: Monday counts whole"
        );
        assert_eq!(
            due("2025-03-07T15:00:00", 1.5, WorkingDays, &[]),
            Some(cst("2025-03-11T03:00:00")),
            "a fractional amount"
        );
    }

    #[test]
    fn spring_festival_2026_holidays_do_not_count_and_make_up_saturdays_do() {
        assert_eq!(
            due("2026-02-13T10:00:00", 3.0, WorkingDays, &[]),
            Some(cst("2026-02-25T10:00:00"))
        );
        assert_eq!(
            due("2026-02-13T16:00:00", 8.0, WorkingHours, &[]),
            Some(cst("2026-02-14T16:30:00")),
            "Saturday 14 February is a working day"
        );
        assert_eq!(
            due("2026-02-13T16:00:00", 16.0, WorkingHours, &[]),
            Some(cst("2026-02-24T17:00:00"))
        );
        assert_eq!(
            cal().counted(
                WorkingDays,
                cst("2026-02-14T00:00:00"),
                cst("2026-03-01T00:00:00"),
                &[]
            ),
            Duration::days(6),
            "14, 24, 25, 26, 27 and the make-up Saturday 28"
        );
    }

    #[test]
    fn national_day_2025_spans_eight_days_off_and_two_make_up_days() {
        assert_eq!(
            due("2025-09-30T16:00:00", 8.0, WorkingHours, &[]),
            Some(cst("2025-10-09T16:30:00"))
        );
        assert_eq!(
            due("2025-09-26T12:00:00", 3.0, WorkingDays, &[]),
            Some(cst("2025-09-30T12:00:00")),
            "Sunday 28 September is a working day"
        );
        assert_eq!(
            due("2025-10-10T12:00:00", 1.0, WorkingDays, &[]),
            Some(cst("2025-10-11T12:00:00")),
            "Saturday 11 October is a working day"
        );
    }

    #[test]
    fn a_closed_pause_pushes_the_deadline_back_by_the_counted_time_it_covers() {
        let start = "2025-03-10T08:30:00";
        let paused = [pause("2025-03-10T09:30:00", Some("2025-03-10T10:30:00"))];
        assert_eq!(
            due(start, 4.0, WorkingHours, &paused),
            Some(cst("2025-03-10T15:00:00"))
        );
        // Paused over the weekend: only Monday morning's hour is lost.
        let weekend = [pause("2025-03-07T17:30:00", Some("2025-03-10T09:30:00"))];
        assert_eq!(
            due("2025-03-07T16:00:00", 4.0, WorkingHours, &weekend),
            Some(cst("2025-03-10T12:00:00"))
        );
    }

    #[test]
    fn an_open_pause_stops_the_clock() {
        let open = [pause("2025-03-10T09:30:00", None)];
        assert_eq!(due("2025-03-10T08:30:00", 4.0, WorkingHours, &open), None);
        assert_eq!(
            due("2025-03-10T08:30:00", 1.0, WorkingHours, &open),
            Some(cst("2025-03-10T09:30:00")),
            "the limit was used up before the pause"
        );
        assert_eq!(
            cal().counted(
                WorkingHours,
                cst("2025-03-10T08:30:00"),
                cst("2025-03-20T08:30:00"),
                &open
            ),
            Duration::hours(1)
        );
        let before_start = [pause("2025-03-01T00:00:00", None)];
        assert_eq!(
            due("2025-03-10T08:30:00", 1.0, EmergencyHours, &before_start),
            None
        );
    }

    #[test]
    fn overlapping_pauses_are_not_subtracted_twice() {
        let overlapping = [
            pause("2025-03-10T09:30:00", Some("2025-03-10T11:00:00")),
            pause("2025-03-10T09:00:00", Some("2025-03-10T10:00:00")),
            pause("2025-03-10T10:30:00", Some("2025-03-10T10:45:00")),
        ];
        assert_eq!(
            cal().counted(
                WorkingHours,
                cst("2025-03-10T08:30:00"),
                cst("2025-03-10T12:00:00"),
                &overlapping
            ),
            Duration::minutes(90)
        );
        assert_eq!(
            due("2025-03-10T08:30:00", 3.5, WorkingHours, &overlapping),
            Some(cst("2025-03-10T15:30:00"))
        );
    }

    #[test]
    fn pauses_outside_counted_time_change_nothing() {
        let outside = [
            pause("2025-03-10T12:00:00", Some("2025-03-10T13:30:00")),
            pause("2025-03-10T19:00:00", Some("2025-03-11T08:00:00")),
            pause("2025-03-01T00:00:00", Some("2025-03-02T00:00:00")),
        ];
        assert_eq!(
            due("2025-03-10T11:00:00", 8.0, WorkingHours, &outside),
            due("2025-03-10T11:00:00", 8.0, WorkingHours, &[])
        );
        let holiday = [pause("2025-10-01T00:00:00", Some("2025-10-09T00:00:00"))];
        assert_eq!(
            due("2025-09-30T16:00:00", 1.0, WorkingDays, &holiday),
            Some(cst("2025-10-09T16:00:00"))
        );
        let empty = [pause("2025-03-10T09:00:00", Some("2025-03-10T09:00:00"))];
        assert_eq!(
            due("2025-03-10T08:30:00", 1.0, WorkingHours, &empty),
            Some(cst("2025-03-10T09:30:00"))
        );
    }

    #[test]
    fn fractional_and_zero_amounts() {
        assert_eq!(
            due("2025-03-10T11:45:00", 0.25, WorkingHours, &[]),
            Some(cst("2025-03-10T12:00:00"))
        );
        assert_eq!(
            due("2025-03-10T11:50:00", 0.25, WorkingHours, &[]),
            Some(cst("2025-03-10T13:35:00"))
        );
        assert_eq!(
            due("2025-03-10T11:50:00", 0.0, WorkingHours, &[]),
            Some(cst("2025-03-10T11:50:00"))
        );
        assert_eq!(due("2025-03-10T11:50:00", -1.0, WorkingHours, &[]), None);
        assert_eq!(
            due("2025-03-10T11:50:00", f64::NAN, WorkingHours, &[]),
            None
        );
        assert!(TimeLimit::new(f64::INFINITY, WorkingDays).is_err());
        assert_eq!(
            limit(0.5, WorkingDays).duration(),
            Some(Duration::hours(12))
        );
        assert_eq!(
            limit(1e15, WorkingDays).duration(),
            None,
            "beyond chrono's range"
        );
        assert_eq!(
            due("2025-03-10T11:50:00", 1e15, WorkingDays, &[]),
            None,
            "ends after the last instant chrono represents"
        );
    }

    #[test]
    fn counted_time_is_zero_backwards_and_respects_other_working_hours() {
        let cal = cal()
            .with_working_hours(WorkCalendar::parse_working_hours("09:00-17:00").unwrap())
            .unwrap();
        let from = cst("2025-03-10T08:00:00");
        let to = cst("2025-03-10T18:00:00");
        assert_eq!(cal.counted(WorkingHours, from, to, &[]), Duration::hours(8));
        assert_eq!(cal.counted(WorkingHours, to, from, &[]), Duration::zero());
        assert_eq!(
            cal.deadline(from, limit(8.5, WorkingHours), &[]),
            Some(cst("2025-03-11T09:30:00"))
        );
    }

    #[test]
    fn malformed_working_hours_are_rejected_with_the_reason() {
        let problem = |spec: &str| {
            WorkCalendar::parse_working_hours(spec)
                .unwrap_err()
                .to_string()
        };
        assert!(problem("").contains("no period"), "{}", problem(""));
        assert!(problem("08:30").contains("\"08:30\" is not a period"));
        assert!(problem("8h-12h").contains("not a time of day"));
        assert!(problem("12:00-08:30").contains("does not end after it starts"));
        assert!(problem("08:30-12:00,11:00-17:00").contains("must not overlap"));
        assert!(problem("13:30-17:30,08:30-12:00").contains("sorted"));
        let inverted = vec![(
            NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        )];
        assert!(cal().with_working_hours(inverted).is_err());
        assert!(cal().with_working_hours(Vec::new()).is_err());
    }

    fn file(years: &str) -> String {
        format!(r#"{{"timezone": "+08:00", "years": [{years}]}}"#)
    }

    fn year(year: i32, holidays: &str, workdays: &str) -> String {
        format!(
            r#"{{"year": {year}, "status": "official", "source": "test", "holidays": [{holidays}], "workdays": [{workdays}]}}"#
        )
    }

    fn rejected(text: &str) -> String {
        WorkCalendar::from_json(text).unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_file_loads() {
        let text = file(&year(
            2030,
            r#"{"name_zh": "元旦", "name_en": "New Year's Day", "dates": ["2030-01-01"]}"#,
            r#"{"date": "2030-01-05", "for": "元旦"}"#,
        ));
        let cal = WorkCalendar::from_json(&text).unwrap();
        assert!(!cal.is_working_day(date("2030-01-01")));
        assert!(cal.is_working_day(date("2030-01-05")));
        assert_eq!(cal.years(), 2030..=2030);
    }

    #[test]
    fn malformed_holiday_files_are_rejected_naming_the_fault() {
        let holiday = |dates: &str| {
            format!(r#"{{"name_zh": "元旦", "name_en": "New Year's Day", "dates": [{dates}]}}"#)
        };
        let err = rejected(&file(&year(2030, &holiday(r#""2030-1-1""#), "")));
        assert!(
            err.contains("holidays[0].dates[0]") && err.contains("2030-1-1"),
            "{err}"
        );
        let err = rejected(&file(&year(2030, &holiday(r#""2030-02-30""#), "")));
        assert!(err.contains("2030-02-30"), "{err}");
        let err = rejected(&file(&year(2030, &holiday(r#""2031-10-01""#), "")));
        assert!(err.contains("2031-10-01 is not in 2030"), "{err}");
        let err = rejected(&file(&year(
            2030,
            &holiday(r#""2030-01-01", "2030-01-01""#),
            "",
        )));
        assert!(err.contains("2030-01-01 is listed twice"), "{err}");
        let err = rejected(&file(&year(
            2030,
            &holiday(r#""2030-01-01""#),
            r#"{"date": "2030-01-07", "for": "元旦"}"#,
        )));
        assert!(err.contains("2030-01-07") && err.contains("Mon"), "{err}");
        let err = rejected(&file(&year(
            2030,
            &holiday(r#""2030-01-01""#),
            r#"{"date": "2030-01-05", "for": "春节"}"#,
        )));
        assert!(err.contains("2030-01-05") && err.contains("春节"), "{err}");
        let err = rejected(&file(&year(
            2030,
            &holiday(r#""2030-01-05""#),
            r#"{"date": "2030-01-05", "for": "元旦"}"#,
        )));
        assert!(err.contains("2030-01-05 is listed twice"), "{err}");
        let err = rejected(&file(&format!(
            "{},{}",
            year(2030, "", ""),
            year(2032, "", "")
        )));
        assert!(err.contains("year 2031 is missing"), "{err}");
        let err = rejected(&file(&format!(
            "{},{}",
            year(2030, "", ""),
            year(2030, "", "")
        )));
        assert!(err.contains("2030 is listed twice"), "{err}");
        let err = rejected(&file(""));
        assert!(err.contains("no year"), "{err}");
        let err = rejected(r#"{"timezone": "+09:00", "years": []}"#);
        assert!(err.contains("+09:00"), "{err}");
        let err = rejected(&file(&year(2030, "", "")).replace("official", "draft"));
        assert!(err.contains("year 2030") && err.contains("draft"), "{err}");
        let err = rejected(&file(&year(2030, "", "")).replace("\"test\"", "\" \""));
        assert!(err.contains("source is empty"), "{err}");
        let err = rejected(
            &file(&year(2030, &holiday(r#""2030-01-01""#), "")).replace("\"元旦\"", "\"\""),
        );
        assert!(err.contains("holidays[0].name_zh is empty"), "{err}");
        let err = rejected(&file(&year(2030, "", "")).replace("\"holidays\"", "\"holiday\""));
        assert!(err.contains("holiday") && err.contains("line 1"), "{err}");
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 2024-12-01 to 2028-02-01: before, inside and after the file's years, to the second.
        (1_733_011_200_i64..1_832_000_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
    }

    fn unit() -> impl Strategy<Value = TimeUnit> {
        prop_oneof![Just(EmergencyHours), Just(WorkingHours), Just(WorkingDays)]
    }

    fn pauses() -> impl Strategy<Value = Vec<Pause>> {
        let one = (instant(), proptest::option::weighted(0.9, 0_i64..2_000_000)).prop_map(
            |(start, length)| Pause {
                start,
                end: length.map(|l| start + Duration::seconds(l)),
            },
        );
        proptest::collection::vec(one, 0..4)
    }

    proptest! {
        #[test]
        fn the_deadline_is_the_first_instant_at_which_the_limit_is_used_up(
            start in instant(),
            unit in unit(),
            amount in 0.01_f64..40.0,
            pauses in pauses(),
        ) {
            let cal = cal();
            let limit = TimeLimit { amount, unit };
            let wanted = limit.duration().unwrap();
            if let Some(due) = cal.deadline(start, limit, &pauses) {
                let counted = cal.counted(unit, start, due, &pauses);
                prop_assert!((counted - wanted).abs() <= Duration::seconds(1), "counted {counted}, wanted {wanted}");
                let just_before = cal.counted(unit, start, due - Duration::seconds(1), &pauses);
                prop_assert!(just_before < wanted, "already used up a second earlier: {just_before}");
            } else {
                let open = pauses.iter().filter(|p| p.end.is_none()).map(|p| p.start).min();
                prop_assert!(open.is_some(), "no deadline without an open pause");
                let far = start + Duration::days(3650);
                prop_assert!(cal.counted(unit, start, far, &pauses) < wanted);
            }
        }

        #[test]
        fn counted_time_adds_up_over_consecutive_spans(
            a in instant(),
            b in instant(),
            c in instant(),
            unit in unit(),
            pauses in pauses(),
        ) {
            let mut t = [a, b, c];
            t.sort();
            let cal = cal();
            let whole = cal.counted(unit, t[0], t[2], &pauses);
            let parts = cal.counted(unit, t[0], t[1], &pauses) + cal.counted(unit, t[1], t[2], &pauses);
            prop_assert_eq!(whole, parts);
            prop_assert!(whole <= t[2] - t[0]);
        }

        #[test]
        fn working_days_count_24_hours_per_working_day(day in 0_i64..1200) {
            let cal = cal();
            let date = NaiveDate::from_ymd_opt(2024, 12, 1).unwrap() + Duration::days(day);
            let start = china_offset()
                .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap())
                .unwrap()
                .with_timezone(&Utc);
            let counted = cal.counted(WorkingDays, start, start + Duration::days(1), &[]);
            let expected = if cal.is_working_day(date) { Duration::days(1) } else { Duration::zero() };
            prop_assert_eq!(counted, expected);
        }
    }
}
