use chrono::{Duration, TimeZone as _, Utc};

use super::*;
use crate::model::case::sample_case;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

/// A case reported on the 2nd in `street` (a 9-digit code).
fn case(id: i64, street: &str) -> Case {
    let mut c = sample_case(id, at(2, 8));
    c.cells[1].code = street.into();
    c.cells[1].name = format!("街道{street}");
    c.cells.truncate(2);
    c
}

fn closed(id: i64, street: &str, on_time: bool, rework: u32, extended: u32) -> Case {
    let mut c = case(id, street);
    c.state = CaseState::Closed;
    c.filed_at = Some(at(2, 9));
    c.dispatched_at = Some(at(2, 10));
    c.handle_due_at = Some(at(3, 10));
    c.handled_at = Some(at(3, 9));
    c.verified_at = Some(at(3, 11));
    c.closed_at = Some(at(3, 12));
    c.on_time = Some(on_time);
    c.rework_count = rework;
    c.extension_count = extended;
    c
}

#[test]
fn rates_follow_the_documented_definitions() {
    let mut overdue_open = case(4, "410104001");
    overdue_open.state = CaseState::InProgress;
    overdue_open.filed_at = Some(at(2, 9));
    overdue_open.dispatched_at = Some(at(2, 10));
    overdue_open.handle_due_at = Some(at(4, 10));
    overdue_open.due_at = Some(at(4, 10));
    let cases = vec![
        closed(1, "410104001", true, 0, 0),
        closed(2, "410104001", false, 1, 1),
        closed(3, "410104002", true, 0, 0),
        overdue_open,
        case(5, "410104002"),
    ];
    let now = at(10, 0);
    let (groups, total) = metrics(&cases, Some(GroupBy::Street), at(1, 0), at(9, 0), now);
    assert_eq!(total.received, 5);
    assert_eq!(total.filed, 4);
    assert_eq!(total.dispatched, 4);
    assert_eq!(total.due, 4);
    assert_eq!(total.closed, 3);
    assert_eq!(total.closed_on_time, 2);
    assert_eq!(total.closure_rate, Some(0.75));
    assert_eq!(total.on_time_rate, Some(0.5));
    assert_eq!(total.handled, 3);
    assert_eq!(total.rework_rate, Some(1.0 / 3.0));
    assert_eq!(total.extension_rate, Some(0.25));
    assert_eq!(total.overdue_now, 1);
    // Each closed case took 28 hours from report to closing.
    assert_eq!(total.median_hours_to_close, Some(28.0));
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].key, "410104001");
    assert_eq!(groups[0].due, 3);
    assert_eq!(groups[1].received, 2);
    assert_eq!(groups[1].closure_rate, Some(1.0));
}

#[test]
fn an_empty_window_gives_no_rates_rather_than_zero() {
    let (_, total) = metrics(&[], None, at(1, 0), at(2, 0), at(3, 0));
    assert_eq!(total.received, 0);
    assert_eq!(total.closure_rate, None);
    assert_eq!(total.median_hours_to_close, None);
}

#[test]
fn voided_and_merged_cases_are_received_but_never_due() {
    let mut voided = closed(1, "410104001", true, 0, 0);
    voided.state = CaseState::Voided;
    let mut merged = closed(2, "410104001", true, 0, 0);
    merged.merged_into = Some(9);
    let (_, total) = metrics(&[voided, merged], None, at(1, 0), at(9, 0), at(10, 0));
    assert_eq!(total.received, 2);
    assert_eq!(total.due, 0);
}

#[test]
fn a_deadline_not_yet_passed_is_not_due() {
    let mut running = case(1, "410104001");
    running.state = CaseState::Dispatched;
    running.dispatched_at = Some(at(2, 10));
    running.handle_due_at = Some(at(5, 10));
    let (_, total) = metrics(&[running], None, at(1, 0), at(9, 0), at(4, 0));
    assert_eq!(total.due, 0);
    assert_eq!(total.dispatched, 1);
}

#[test]
fn the_median_of_an_even_count_is_the_midpoint() {
    assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(&mut [5.0]), Some(5.0));
}

fn on_asset(id: i64, asset: &str, days_ago: i64, state: CaseState, unit: Option<&str>) -> Case {
    let mut c = case(id, "410104001");
    c.asset = Some(AssetRef {
        collection: "manholes".into(),
        id: asset.into(),
    });
    c.reported_at = at(20, 0) - Duration::days(days_ago);
    c.state = state;
    c.assigned_unit = unit.map(str::to_owned);
    c
}

#[test]
fn the_hazard_register_lists_assets_with_two_cases_in_ninety_days() {
    let now = at(20, 0);
    let since = now - Duration::days(90);
    let cases = vec![
        on_asset(1, "MH-1", 10, CaseState::Closed, Some("供水公司")),
        on_asset(2, "MH-1", 3, CaseState::InProgress, Some("供水公司")),
        on_asset(3, "MH-2", 5, CaseState::Closed, None),
        on_asset(4, "MH-2", 100, CaseState::Closed, None), // too old
        on_asset(5, "MH-3", 1, CaseState::Reported, None),
        on_asset(6, "MH-3", 2, CaseState::Filed, None),
        on_asset(7, "MH-4", 1, CaseState::Closed, None),
        on_asset(8, "MH-4", 2, CaseState::Closed, None),
    ];
    let hazards = hazards(&cases, since, 2);
    let ids: Vec<&str> = hazards.iter().map(|h| h.asset.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(!ids.contains(&"MH-2"));
    let mh1 = hazards.iter().find(|h| h.asset.id == "MH-1").unwrap();
    assert_eq!(mh1.case_ids, vec![2, 1]);
    assert_eq!(mh1.rectification, Rectification::InProgress);
    assert_eq!(mh1.responsible_unit.as_deref(), Some("供水公司"));
    let mh3 = hazards.iter().find(|h| h.asset.id == "MH-3").unwrap();
    assert_eq!(mh3.rectification, Rectification::Pending);
    let mh4 = hazards.iter().find(|h| h.asset.id == "MH-4").unwrap();
    assert_eq!(mh4.rectification, Rectification::Rectified);
    assert_eq!(mh4.rectification_zh, "已整改");
}
