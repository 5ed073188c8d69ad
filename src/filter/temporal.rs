//! Temporal values and the CQL2 temporal functions.
//!
//! Every temporal value is a closed span of UTC instants: a timestamp is the span of one instant,
//! a date is the whole day (midnight to the last nanosecond before the next midnight, UTC), and an
//! interval runs from the start of its first bound to the end of its last; `..` is unbounded.
//! The functions follow the CQL2 definitions (Allen's interval algebra, instants as degenerate
//! intervals).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// A closed span of time, `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First instant.
    pub start: DateTime<Utc>,
    /// Last instant.
    pub end: DateTime<Utc>,
}

impl Span {
    /// The span of one instant.
    pub fn instant(t: DateTime<Utc>) -> Self {
        Self { start: t, end: t }
    }

    /// The span of a whole day in UTC.
    pub fn day(date: NaiveDate) -> Self {
        let start = date.and_time(chrono::NaiveTime::MIN).and_utc();
        let end = start + TimeDelta::days(1) - TimeDelta::nanoseconds(1);
        Self { start, end }
    }

    /// Everything: both ends open.
    pub fn unbounded() -> Self {
        Self {
            start: DateTime::<Utc>::MIN_UTC,
            end: DateTime::<Utc>::MAX_UTC,
        }
    }
}

/// Parses a date `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Parses an RFC 3339 timestamp into UTC.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The temporal functions of CQL2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalOp {
    /// `T_AFTER`: `a` begins after `b` ends.
    After,
    /// `T_BEFORE`: `a` ends before `b` begins.
    Before,
    /// `T_CONTAINS`: `b` lies strictly inside `a`.
    Contains,
    /// `T_DISJOINT`: no instant in common.
    Disjoint,
    /// `T_DURING`: `a` lies strictly inside `b`.
    During,
    /// `T_EQUALS`: same start and same end.
    Equals,
    /// `T_FINISHEDBY`: same end, `a` begins first.
    FinishedBy,
    /// `T_FINISHES`: same end, `b` begins first.
    Finishes,
    /// `T_INTERSECTS`: at least one instant in common.
    Intersects,
    /// `T_MEETS`: `a` ends where `b` begins.
    Meets,
    /// `T_METBY`: `a` begins where `b` ends.
    MetBy,
    /// `T_OVERLAPPEDBY`: `b` begins first and ends inside `a`.
    OverlappedBy,
    /// `T_OVERLAPS`: `a` begins first and ends inside `b`.
    Overlaps,
    /// `T_STARTEDBY`: same start, `a` ends last.
    StartedBy,
    /// `T_STARTS`: same start, `a` ends first.
    Starts,
}

impl TemporalOp {
    /// The function named `op` (the cql2 crate's canonical, case-folded spelling).
    pub fn from_name(op: &str) -> Option<Self> {
        Some(match op.to_ascii_lowercase().as_str() {
            "t_after" => Self::After,
            "t_before" => Self::Before,
            "t_contains" => Self::Contains,
            "t_disjoint" => Self::Disjoint,
            "t_during" => Self::During,
            "t_equals" => Self::Equals,
            "t_finishedby" => Self::FinishedBy,
            "t_finishes" => Self::Finishes,
            "t_intersects" => Self::Intersects,
            "t_meets" => Self::Meets,
            "t_metby" => Self::MetBy,
            "t_overlappedby" => Self::OverlappedBy,
            "t_overlaps" => Self::Overlaps,
            "t_startedby" => Self::StartedBy,
            "t_starts" => Self::Starts,
            _ => return None,
        })
    }

    /// Whether `a` stands in this relation to `b`.
    ///
    /// ```
    /// use citygrid::filter::temporal::{Span, TemporalOp, parse_date};
    /// let day = |d| Span::day(parse_date(d).unwrap());
    /// assert!(TemporalOp::After.holds(day("2023-04-16"), day("2022-04-16")));
    /// assert!(TemporalOp::Equals.holds(day("2022-04-16"), day("2022-04-16")));
    /// ```
    pub fn holds(self, a: Span, b: Span) -> bool {
        match self {
            Self::After => a.start > b.end,
            Self::Before => a.end < b.start,
            Self::Contains => a.start < b.start && a.end > b.end,
            Self::Disjoint => a.end < b.start || a.start > b.end,
            Self::During => a.start > b.start && a.end < b.end,
            Self::Equals => a.start == b.start && a.end == b.end,
            Self::FinishedBy => a.start < b.start && a.end == b.end,
            Self::Finishes => a.start > b.start && a.end == b.end,
            Self::Intersects => a.start <= b.end && a.end >= b.start,
            Self::Meets => a.end == b.start,
            Self::MetBy => a.start == b.end,
            Self::OverlappedBy => b.start < a.start && a.start < b.end && b.end < a.end,
            Self::Overlaps => a.start < b.start && b.start < a.end && a.end < b.end,
            Self::StartedBy => a.start == b.start && a.end > b.end,
            Self::Starts => a.start == b.start && a.end < b.end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        parse_timestamp(text).unwrap()
    }

    fn span(a: &str, b: &str) -> Span {
        Span {
            start: t(a),
            end: t(b),
        }
    }

    #[test]
    fn a_date_covers_its_whole_day_so_an_instant_that_day_intersects_it() {
        let day = Span::day(parse_date("2022-04-16").unwrap());
        let noon = Span::instant(t("2022-04-16T12:00:00Z"));
        assert!(TemporalOp::Intersects.holds(noon, day));
        assert!(TemporalOp::During.holds(noon, day));
        assert!(TemporalOp::After.holds(Span::instant(t("2022-04-17T00:00:00Z")), day));
    }

    #[test]
    fn allen_relations_of_intervals_follow_the_standard() {
        let a = span("2022-01-01T00:00:00Z", "2022-06-01T00:00:00Z");
        let later = span("2022-06-01T00:00:00Z", "2022-12-01T00:00:00Z");
        let inner = span("2022-02-01T00:00:00Z", "2022-03-01T00:00:00Z");
        let overlapping = span("2022-03-01T00:00:00Z", "2022-09-01T00:00:00Z");
        assert!(TemporalOp::Meets.holds(a, later));
        assert!(TemporalOp::MetBy.holds(later, a));
        assert!(!TemporalOp::Before.holds(a, later), "meeting is not before");
        assert!(
            TemporalOp::Intersects.holds(a, later),
            "closed spans share the meeting instant"
        );
        assert!(TemporalOp::Contains.holds(a, inner));
        assert!(TemporalOp::During.holds(inner, a));
        assert!(TemporalOp::Overlaps.holds(a, overlapping));
        assert!(TemporalOp::OverlappedBy.holds(overlapping, a));
        assert!(!TemporalOp::Overlaps.holds(a, inner));
        let same_start = span("2022-01-01T00:00:00Z", "2022-02-01T00:00:00Z");
        assert!(TemporalOp::Starts.holds(same_start, a));
        assert!(TemporalOp::StartedBy.holds(a, same_start));
        let same_end = span("2022-05-01T00:00:00Z", "2022-06-01T00:00:00Z");
        assert!(TemporalOp::Finishes.holds(same_end, a));
        assert!(TemporalOp::FinishedBy.holds(a, same_end));
        assert!(TemporalOp::Equals.holds(a, a));
        assert!(TemporalOp::Disjoint.holds(inner, later));
    }

    #[test]
    fn an_unbounded_interval_intersects_everything_and_nothing_is_after_it() {
        let all = Span::unbounded();
        let x = Span::instant(t("1990-01-01T00:00:00Z"));
        assert!(TemporalOp::Intersects.holds(x, all));
        assert!(!TemporalOp::After.holds(x, all));
        assert!(!TemporalOp::Before.holds(x, all));
    }

    #[test]
    fn every_function_name_is_known_in_any_case() {
        for name in [
            "T_AFTER",
            "t_before",
            "T_CONTAINS",
            "T_DISJOINT",
            "T_DURING",
            "T_EQUALS",
            "T_FINISHEDBY",
            "T_FINISHES",
            "T_INTERSECTS",
            "T_MEETS",
            "t_metBy",
            "T_OVERLAPPEDBY",
            "T_OVERLAPS",
            "t_startedBy",
            "T_STARTS",
        ] {
            assert!(TemporalOp::from_name(name).is_some(), "{name}");
        }
        assert_eq!(TemporalOp::from_name("t_sometime"), None);
    }
}
