use chrono::{TimeZone as _, Utc};
use serde_json::json;

use super::*;
use crate::model::calendar::{TimeUnit, WorkCalendar};
use crate::model::category::CategoryCatalog;
use crate::model::user::Username;

fn user(role: Role, unit: Option<&str>, cells: &[&str]) -> User {
    User {
        id: 1,
        username: Username::parse("tester").unwrap(),
        display_name: "测试".into(),
        role,
        unit: unit.map(str::to_owned),
        cells: cells.iter().map(|c| (*c).to_owned()).collect(),
        disabled: false,
        created_at: Utc::now(),
    }
}

fn scope(state: CaseState) -> CaseScope<'static> {
    CaseScope {
        state,
        resume_state: None,
        cell: Some("410104001005006"),
        assigned_unit: Some("西昌社区居委会"),
        unit_staffed: true,
    }
}

/// Every transition the workflow allows, written out; everything else must be refused.
const ALLOWED: &[(CaseState, Action, CaseState)] = {
    use Action as A;
    use CaseState as S;
    &[
        (S::Reported, A::File, S::Filed),
        (S::Reported, A::Void, S::Voided),
        (S::Reported, A::Merge, S::Closed),
        (S::Filed, A::Dispatch, S::Dispatched),
        (S::Filed, A::Suspend, S::Suspended),
        (S::Filed, A::Void, S::Voided),
        (S::Filed, A::Merge, S::Closed),
        (S::Returned, A::Dispatch, S::Dispatched),
        (S::Returned, A::Suspend, S::Suspended),
        (S::Returned, A::Void, S::Voided),
        (S::Dispatched, A::Start, S::InProgress),
        (S::Dispatched, A::Return, S::Returned),
        (S::Dispatched, A::RequestExtension, S::ExtensionPending),
        (S::Dispatched, A::Handle, S::Handled),
        (S::Dispatched, A::Suspend, S::Suspended),
        (S::InProgress, A::Return, S::Returned),
        (S::InProgress, A::RequestExtension, S::ExtensionPending),
        (S::InProgress, A::Handle, S::Handled),
        (S::InProgress, A::Suspend, S::Suspended),
        (S::ExtensionPending, A::ApproveExtension, S::InProgress),
        (S::ExtensionPending, A::DenyExtension, S::InProgress),
        (S::Handled, A::Verify, S::Verified),
        (S::Handled, A::Reject, S::InProgress),
        (S::Verified, A::Close, S::Closed),
        (S::Suspended, A::Resume, S::Filed),
    ]
};

#[test]
fn the_transition_table_is_exactly_the_documented_workflow() {
    for state in CaseState::ALL {
        for action in Action::TRANSITIONS {
            // Linking an asset leaves the state as it is, everywhere but in `voided`.
            let expected = if action == Action::LinkAsset {
                (state != CaseState::Voided).then_some(state)
            } else {
                ALLOWED
                    .iter()
                    .find(|(s, a, _)| *s == state && *a == action)
                    .map(|(_, _, to)| *to)
            };
            assert_eq!(
                next_state(state, action, None),
                expected,
                "{state} --{action}-->"
            );
        }
    }
}

#[test]
fn a_closed_case_accepts_only_a_corrected_asset_and_a_voided_one_nothing() {
    assert_eq!(actions_in(CaseState::Closed), vec![Action::LinkAsset]);
    assert!(actions_in(CaseState::Voided).is_empty());
}

#[test]
fn the_command_centre_links_an_asset_without_changing_the_state_and_a_grid_worker_may_not() {
    let dispatcher = user(Role::Dispatcher, None, &[]);
    let supervisor = user(Role::Supervisor, None, &[]);
    for state in [CaseState::Reported, CaseState::Suspended, CaseState::Closed] {
        assert_eq!(
            authorize(&dispatcher, Action::LinkAsset, &scope(state)),
            Ok(state)
        );
        assert_eq!(
            authorize(&supervisor, Action::LinkAsset, &scope(state)),
            Ok(state)
        );
    }
    assert!(
        authorize(&dispatcher, Action::LinkAsset, &scope(CaseState::Voided))
            .unwrap_err()
            .is_conflict()
    );
    let worker = user(Role::Worker, None, &["410104001005006"]);
    assert!(matches!(
        authorize(&worker, Action::LinkAsset, &scope(CaseState::Reported)),
        Err(Refusal::Role { .. })
    ));
}

#[test]
fn a_stranded_case_is_redispatched_by_the_command_centre_and_a_staffed_one_is_not() {
    let dispatcher = user(Role::Dispatcher, None, &[]);
    for state in [CaseState::Dispatched, CaseState::InProgress] {
        let stranded = CaseScope {
            unit_staffed: false,
            ..scope(state)
        };
        assert!(stranded.stranded());
        assert_eq!(
            authorize(&dispatcher, Action::Dispatch, &stranded),
            Ok(CaseState::Dispatched)
        );
        assert!(allowed_actions(&dispatcher, &stranded).contains(&Action::Dispatch));
        let staffed = scope(state);
        assert!(!staffed.stranded());
        let refusal = authorize(&dispatcher, Action::Dispatch, &staffed).unwrap_err();
        assert!(matches!(refusal, Refusal::Staffed { .. }), "{refusal:?}");
        assert!(refusal.is_conflict());
        assert!(!allowed_actions(&dispatcher, &staffed).contains(&Action::Dispatch));
    }
    // Only dispatched or in-progress cases strand: a handled case waits for verification, not
    // for the unit, and a pending extension waits for the command centre.
    for state in [CaseState::Handled, CaseState::ExtensionPending] {
        let scope = CaseScope {
            unit_staffed: false,
            ..scope(state)
        };
        assert!(!scope.stranded());
        assert!(authorize(&dispatcher, Action::Dispatch, &scope).is_err());
    }
    // A handler may still not dispatch, stranded or not.
    let handler = user(Role::Handler, Some("西昌社区居委会"), &[]);
    let stranded = CaseScope {
        unit_staffed: false,
        ..scope(CaseState::Dispatched)
    };
    assert!(matches!(
        authorize(&handler, Action::Dispatch, &stranded),
        Err(Refusal::Role { .. })
    ));
}

#[test]
fn a_pause_returns_to_the_state_it_interrupted() {
    assert_eq!(
        next_state(
            CaseState::Suspended,
            Action::Resume,
            Some(CaseState::Dispatched)
        ),
        Some(CaseState::Dispatched)
    );
    assert_eq!(
        next_state(
            CaseState::ExtensionPending,
            Action::ApproveExtension,
            Some(CaseState::Dispatched)
        ),
        Some(CaseState::Dispatched)
    );
}

#[test]
fn wire_names_round_trip() {
    for state in CaseState::ALL {
        assert_eq!(CaseState::parse(state.as_str()), Some(state));
        assert_eq!(json!(state), json!(state.as_str()));
    }
    for action in Action::TRANSITIONS.into_iter().chain([Action::Report]) {
        assert_eq!(Action::parse(action.as_str()), Some(action));
        assert_eq!(json!(action), json!(action.as_str()));
    }
}

#[test]
fn a_viewer_may_not_file_and_is_told_who_may() {
    let refusal = authorize(
        &user(Role::Viewer, None, &[]),
        Action::File,
        &scope(CaseState::Reported),
    )
    .unwrap_err();
    assert!(matches!(refusal, Refusal::Role { .. }));
    assert!(!refusal.is_conflict());
    assert!(refusal.to_string().contains("dispatcher"));
}

#[test]
fn a_grid_worker_verifies_only_in_their_cells() {
    let outsider = user(Role::Worker, None, &["410104002001001"]);
    let refusal = authorize(&outsider, Action::Verify, &scope(CaseState::Handled)).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Cell {
            cell: "410104001005006".into()
        }
    );
    let own = user(Role::Worker, None, &["410104001005006"]);
    assert_eq!(
        authorize(&own, Action::Verify, &scope(CaseState::Handled)),
        Ok(CaseState::Verified)
    );
    // A worker assigned the whole community covers its grids.
    let community = user(Role::Worker, None, &["410104001005"]);
    assert_eq!(
        authorize(&community, Action::Reject, &scope(CaseState::Handled)),
        Ok(CaseState::InProgress)
    );
}

#[test]
fn a_unit_handler_acts_only_on_cases_dispatched_to_their_unit() {
    let other = user(Role::Handler, Some("郑州市燃气公司"), &[]);
    assert!(matches!(
        authorize(&other, Action::Start, &scope(CaseState::Dispatched)),
        Err(Refusal::Unit { .. })
    ));
    let unitless = user(Role::Handler, None, &[]);
    assert!(matches!(
        authorize(&unitless, Action::Start, &scope(CaseState::Dispatched)),
        Err(Refusal::Unit { .. })
    ));
    let own = user(Role::Handler, Some("西昌社区居委会"), &[]);
    assert_eq!(
        authorize(&own, Action::Start, &scope(CaseState::Dispatched)),
        Ok(CaseState::InProgress)
    );
}

#[test]
fn a_permitted_actor_in_the_wrong_state_gets_a_conflict_listing_what_is_possible() {
    let dispatcher = user(Role::Dispatcher, None, &[]);
    let refusal =
        authorize(&dispatcher, Action::Dispatch, &scope(CaseState::Reported)).unwrap_err();
    assert!(refusal.is_conflict());
    assert!(refusal.to_string().contains("file"));
}

#[test]
fn the_buttons_offered_match_role_and_state() {
    let dispatcher = user(Role::Dispatcher, None, &[]);
    assert_eq!(
        allowed_actions(&dispatcher, &scope(CaseState::Reported)),
        vec![Action::File, Action::Void, Action::Merge, Action::LinkAsset]
    );
    let supervisor = user(Role::Supervisor, None, &[]);
    assert_eq!(
        allowed_actions(&supervisor, &scope(CaseState::Handled)),
        vec![Action::Verify, Action::Reject, Action::LinkAsset]
    );
    let analyst = user(Role::Analyst, None, &[]);
    assert!(allowed_actions(&analyst, &scope(CaseState::Handled)).is_empty());
}

fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    crate::model::calendar::china_offset()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn entry(at: DateTime<Utc>, action: Action, from: Option<CaseState>, to: CaseState) -> LogEntry {
    LogEntry {
        seq: 0,
        at,
        actor: "t".into(),
        action,
        from,
        to,
        note: None,
        photos: Vec::new(),
        detail: json!({}),
    }
}

fn category_with(unit: TimeUnit) -> Category {
    let catalog = CategoryCatalog::builtin();
    let mut category = catalog.iter().next().unwrap().clone();
    category.time_unit = unit;
    category.limits.handle = 8.0;
    category.limits.verify = 2.0;
    category.limits.close = 1.0;
    category
}

#[test]
fn the_handling_deadline_counts_working_hours_from_dispatch() {
    use CaseState as S;
    let calendar = WorkCalendar::builtin();
    let category = category_with(TimeUnit::WorkingHours);
    // Friday 2026-11-20 15:00: 2.5 h that day (to 17:30), then Monday 08:30–12:00 (3.5 h) and
    // 13:30–15:30 (2 h): the lunch break does not count.
    let log = vec![
        entry(cst(2026, 11, 20, 9, 0), Action::Report, None, S::Reported),
        entry(
            cst(2026, 11, 20, 10, 0),
            Action::File,
            Some(S::Reported),
            S::Filed,
        ),
        entry(
            cst(2026, 11, 20, 15, 0),
            Action::Dispatch,
            Some(S::Filed),
            S::Dispatched,
        ),
    ];
    let s = schedule(&log, &category, &calendar);
    assert_eq!(s.handle_due, Some(cst(2026, 11, 23, 15, 30)));
    assert_eq!(s.due, s.handle_due);
    assert!(!s.paused);
    assert!(s.overdue_at(cst(2026, 11, 23, 15, 31)));
    assert!(!s.overdue_at(cst(2026, 11, 23, 15, 29)));
}

#[test]
fn suspension_stops_the_clock_and_resuming_moves_the_deadline() {
    use CaseState as S;
    let calendar = WorkCalendar::builtin();
    let category = category_with(TimeUnit::EmergencyHours);
    let mut log = vec![
        entry(
            cst(2026, 11, 20, 15, 0),
            Action::Dispatch,
            Some(S::Filed),
            S::Dispatched,
        ),
        entry(
            cst(2026, 11, 20, 17, 0),
            Action::Suspend,
            Some(S::Dispatched),
            S::Suspended,
        ),
    ];
    let paused = schedule(&log, &category, &calendar);
    assert!(paused.paused);
    assert_eq!(paused.due, None);
    log.push(entry(
        cst(2026, 11, 21, 17, 0),
        Action::Resume,
        Some(S::Suspended),
        S::Dispatched,
    ));
    // 2 h used before the pause, 6 h left after resuming at 17:00 the next day.
    let resumed = schedule(&log, &category, &calendar);
    assert_eq!(resumed.handle_due, Some(cst(2026, 11, 21, 23, 0)));
}

#[test]
fn an_approved_extension_adds_its_amount_and_a_pending_one_pauses() {
    use CaseState as S;
    let calendar = WorkCalendar::builtin();
    let category = category_with(TimeUnit::EmergencyHours);
    let mut request = entry(
        cst(2026, 11, 20, 16, 0),
        Action::RequestExtension,
        Some(S::InProgress),
        S::ExtensionPending,
    );
    request.detail = json!({ "amount": 4.0 });
    let mut approve = entry(
        cst(2026, 11, 20, 18, 0),
        Action::ApproveExtension,
        Some(S::ExtensionPending),
        S::InProgress,
    );
    approve.detail = json!({ "amount": 4.0 });
    let log = vec![
        entry(
            cst(2026, 11, 20, 15, 0),
            Action::Dispatch,
            Some(S::Filed),
            S::Dispatched,
        ),
        entry(
            cst(2026, 11, 20, 15, 30),
            Action::Start,
            Some(S::Dispatched),
            S::InProgress,
        ),
        request,
        approve,
    ];
    // 8 h + 4 h, with the two pending hours not counted: 15:00 + 12 h + 2 h = 05:00 next day.
    let s = schedule(&log, &category, &calendar);
    assert_eq!(s.handle_due, Some(cst(2026, 11, 21, 5, 0)));
}

#[test]
fn a_failed_verification_restarts_handling_and_on_time_needs_every_stage() {
    use CaseState as S;
    let calendar = WorkCalendar::builtin();
    let category = category_with(TimeUnit::EmergencyHours);
    let log = vec![
        entry(
            cst(2026, 11, 20, 8, 0),
            Action::Dispatch,
            Some(S::Filed),
            S::Dispatched,
        ),
        entry(
            cst(2026, 11, 20, 9, 0),
            Action::Handle,
            Some(S::Dispatched),
            S::Handled,
        ),
        entry(
            cst(2026, 11, 20, 10, 0),
            Action::Reject,
            Some(S::Handled),
            S::InProgress,
        ),
        entry(
            cst(2026, 11, 20, 17, 0),
            Action::Handle,
            Some(S::InProgress),
            S::Handled,
        ),
        entry(
            cst(2026, 11, 20, 18, 0),
            Action::Verify,
            Some(S::Handled),
            S::Verified,
        ),
        entry(
            cst(2026, 11, 20, 18, 30),
            Action::Close,
            Some(S::Verified),
            S::Closed,
        ),
    ];
    let s = schedule(&log, &category, &calendar);
    assert_eq!(s.handle_due, Some(cst(2026, 11, 20, 18, 0)));
    assert_eq!(s.on_time, Some(true));
    assert_eq!(s.due, None);
    let mut late = log.clone();
    late[5].at = cst(2026, 11, 20, 20, 0);
    assert_eq!(schedule(&late, &category, &calendar).on_time, Some(false));
}

#[test]
fn workers_read_their_cells_and_what_they_reported_handlers_their_units_the_centres_all() {
    let worker = ReadScope::of(&user(Role::Worker, None, &["410104001005"]));
    assert!(worker.admits(Some("410104001005006"), None, "li"));
    assert!(!worker.admits(Some("410104001006001"), None, "li"));
    assert!(
        worker.admits(Some("410104001006001"), None, "tester"),
        "reported it"
    );
    assert!(!worker.admits(None, None, "li"));
    let handler = ReadScope::of(&user(Role::Handler, Some("水务局"), &[]));
    assert!(handler.admits(Some("410104001006001"), Some("水务局"), "li"));
    assert!(!handler.admits(Some("410104001006001"), Some("燃气公司"), "li"));
    assert!(!handler.admits(Some("410104001006001"), None, "li"));
    let unitless = ReadScope::of(&user(Role::Handler, None, &[]));
    assert!(
        !unitless.admits(None, None, "li"),
        "no unit matches no unit"
    );
    for role in [
        Role::Admin,
        Role::Dispatcher,
        Role::Supervisor,
        Role::Analyst,
        Role::Viewer,
    ] {
        assert_eq!(ReadScope::of(&user(role, None, &[])), ReadScope::All);
    }
}

#[test]
fn only_the_centres_admins_and_the_reporter_see_who_reported() {
    for (role, sees) in [
        (Role::Admin, true),
        (Role::Dispatcher, true),
        (Role::Supervisor, true),
        (Role::Handler, false),
        (Role::Worker, false),
        (Role::Analyst, false),
        (Role::Viewer, false),
    ] {
        assert_eq!(sees_reporter(&user(role, None, &[]), "li"), sees, "{role}");
    }
    assert!(sees_reporter(&user(Role::Worker, None, &[]), "tester"));
    let log = [LogEntry {
        seq: 1,
        at: Utc::now(),
        actor: "li".into(),
        action: Action::Report,
        from: None,
        to: CaseState::Reported,
        note: None,
        photos: Vec::new(),
        detail: json!({}),
    }];
    let redacted = redact_log(&log, "li", &user(Role::Handler, Some("水务局"), &[]));
    assert_eq!(redacted[0].actor, WITHHELD);
    let kept = redact_log(&log, "li", &user(Role::Dispatcher, None, &[]));
    assert_eq!(kept[0].actor, "li");
}
