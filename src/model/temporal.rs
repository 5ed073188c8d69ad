//! The OGC `datetime` parameter and feature time: instants and closed or half-bounded intervals.
//!
//! Dates (`YYYY-MM-DD`) stand for the whole day in UTC+8 (China Standard Time, the district's
//! civil time): a feature dated 2024-05-01 matches any instant of that day there.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

/// A closed time interval; `None` ends are unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateInterval {
    /// Start, inclusive.
    pub start: Option<DateTime<Utc>>,
    /// End, inclusive.
    pub end: Option<DateTime<Utc>>,
}

/// A `datetime` value that is neither an RFC 3339 instant, a date, nor an interval of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemporalError {
    /// A part is neither a date nor an RFC 3339 date-time.
    #[error("{0:?} is not a date (YYYY-MM-DD) or RFC 3339 date-time")]
    Malformed(String),
    /// Start after end.
    #[error("the interval starts after it ends")]
    Inverted,
    /// `../..`.
    #[error("an interval needs at least one bounded end")]
    Unbounded,
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The first instant of `date` in China Standard Time.
fn day_start(date: NaiveDate) -> DateTime<Utc> {
    china()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("fixed offsets are unambiguous")
        .with_timezone(&Utc)
}

/// The last instant (to the nanosecond) of `date` in China Standard Time.
fn day_end(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    day_start(next) - chrono::Duration::nanoseconds(1)
}

/// A `YYYY-MM-DD` date, read without chrono's format machinery: loading a collection reads
/// one or two dates per feature for its temporal extent.
fn iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0_u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(&bytes[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&bytes[5..7])?, number(&bytes[8..])?)
}

/// Parses a date or date-time into the interval it covers.
pub fn parse_instant(text: &str) -> Result<DateInterval, TemporalError> {
    if let Some(date) = iso_date(text) {
        return Ok(DateInterval {
            start: Some(day_start(date)),
            end: Some(day_end(date)),
        });
    }
    let instant = DateTime::parse_from_rfc3339(text)
        .map_err(|_| TemporalError::Malformed(text.to_owned()))?
        .with_timezone(&Utc);
    Ok(DateInterval {
        start: Some(instant),
        end: Some(instant),
    })
}

impl DateInterval {
    /// Parses the OGC `datetime` parameter: an instant, or `start/end` where either end may be
    /// `..` or empty (unbounded).
    ///
    /// ```
    /// use citygrid::model::DateInterval;
    /// assert!(DateInterval::parse("2024-01-01/..").is_ok());
    /// assert!(DateInterval::parse("2024-13-01").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, TemporalError> {
        let Some((a, b)) = text.split_once('/') else {
            return parse_instant(text);
        };
        let bound = |part: &str| -> Result<Option<Self>, TemporalError> {
            if part.is_empty() || part == ".." {
                Ok(None)
            } else {
                parse_instant(part).map(Some)
            }
        };
        let (start, end) = (bound(a)?, bound(b)?);
        if start.is_none() && end.is_none() {
            return Err(TemporalError::Unbounded);
        }
        let interval = Self {
            start: start.and_then(|s| s.start),
            end: end.and_then(|e| e.end),
        };
        if let (Some(s), Some(e)) = (interval.start, interval.end)
            && s > e
        {
            return Err(TemporalError::Inverted);
        }
        Ok(interval)
    }

    /// The interval of a feature whose time runs from `start` to `end` (texts as stored: dates
    /// or date-times; `None` end = still valid). A malformed or missing start gives `None`.
    pub fn of_feature(start: Option<&str>, end: Option<&str>, has_end: bool) -> Option<Self> {
        let first = parse_instant(start?).ok()?;
        if !has_end {
            return Some(first);
        }
        let last = end.and_then(|e| parse_instant(e).ok());
        Some(Self {
            start: first.start,
            end: last.and_then(|l| l.end),
        })
    }

    /// Whether two intervals share an instant.
    pub fn intersects(&self, other: &Self) -> bool {
        let starts_before_other_ends = match (self.start, other.end) {
            (Some(s), Some(e)) => s <= e,
            _ => true,
        };
        let ends_after_other_starts = match (self.end, other.start) {
            (Some(e), Some(s)) => e >= s,
            _ => true,
        };
        starts_before_other_ends && ends_after_other_starts
    }
}

/// Today's date in China Standard Time.
pub fn today_in_china() -> NaiveDate {
    Utc::now().with_timezone(&china()).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_interval_matches_everything_after_its_start() {
        let q = DateInterval::parse("2024-06-01/..").unwrap();
        let before = DateInterval::of_feature(Some("2024-05-31"), None, false).unwrap();
        let on = DateInterval::of_feature(Some("2024-06-01"), None, false).unwrap();
        assert!(!q.intersects(&before));
        assert!(q.intersects(&on));
    }

    #[test]
    fn a_validity_period_without_end_is_still_valid() {
        let cell = DateInterval::of_feature(Some("2021-01-01"), None, true).unwrap();
        assert!(DateInterval::parse("2030-01-01").unwrap().intersects(&cell));
        let retired =
            DateInterval::of_feature(Some("2021-01-01"), Some("2024-12-31"), true).unwrap();
        assert!(
            !DateInterval::parse("2025-01-01")
                .unwrap()
                .intersects(&retired)
        );
        assert!(
            DateInterval::parse("2024-12-31T23:00:00+08:00")
                .unwrap()
                .intersects(&retired)
        );
    }

    #[test]
    fn malformed_and_inverted_intervals_are_rejected() {
        assert!(matches!(
            DateInterval::parse("yesterday"),
            Err(TemporalError::Malformed(_))
        ));
        assert_eq!(
            DateInterval::parse("2024-02-01/2024-01-01"),
            Err(TemporalError::Inverted)
        );
        assert_eq!(DateInterval::parse("../.."), Err(TemporalError::Unbounded));
    }

    #[test]
    fn dates_are_read_exactly_as_chrono_reads_them() {
        for text in [
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "0001-01-01",
            "9999-12-31",
            "2024-1-01x",
            "2024/01/01",
            "２０２４-01-01",
            "+2024-1-1",
            "2024-01-1 ",
            "",
        ] {
            let chrono = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|_| text.len() == 10);
            assert_eq!(iso_date(text), chrono, "{text:?}");
        }
    }
}
