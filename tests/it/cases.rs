//! Cases through the HTTP API: the whole lifecycle role by role, every kind of refusal, deadlines,
//! duplicates and merging, photos, the hazard register, metrics, live events and Open311.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use citygrid::api::{AppState, router};
use citygrid::model::user::{NewUser, Role, Username};
use citygrid::service::auth::Origin;
use geo::InteriorPoint as _;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::support::{BASE, Reply, add_user_and_log_in, assert_problem, demo, send_to};

/// A water-supply manhole's grid cell: the users, a point inside it and one in another cell.
struct Fixture {
    router: Router,
    state: AppState,
    tokens: HashMap<&'static str, String>,
    /// A point inside `grid`, next to a water-supply manhole.
    here: (f64, f64),
    /// That manhole's id.
    manhole: String,
    /// The grid cell of `here`.
    grid: String,
    /// A point in another street.
    elsewhere: (f64, f64),
    /// The unit that fixes water manholes in the tests.
    water_unit: &'static str,
}

const PASSWORD: &str = "correct-horse-1";

fn interior(code: &str) -> (f64, f64) {
    let cells = demo().catalog.collection("grid_cells").unwrap();
    let cell = cells
        .index
        .iter()
        .find(|f| f.properties["code"] == code)
        .unwrap();
    let p = cell.geometry.interior_point().unwrap();
    (p.x(), p.y())
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let demo = demo();
    let state = AppState::new(demo.catalog.clone(), BASE);
    let router = router(state.clone());
    // A water-supply manhole and the grid cell it lies in.
    let manholes = demo.catalog.collection("manholes").unwrap();
    let grid_index = demo.catalog.grid().unwrap();
    let today = citygrid::model::temporal::today_in_china();
    let (manhole, here, grid) = manholes
        .index
        .iter()
        .filter(|f| f.properties["kind"] == "water_supply")
        .find_map(|f| {
            let geo::Geometry::Point(p) = &f.geometry else {
                return None;
            };
            // A metre east of the manhole.
            let (x, y) = (p.x() + 0.00001, p.y());
            let chain = grid_index.locate(x, y, today);
            let (level, cell) = chain.last()?;
            (level.name() == "grid").then(|| {
                (
                    f.id.to_string(),
                    (x, y),
                    cell.properties["code"].as_str().unwrap().to_owned(),
                )
            })
        })
        .unwrap();
    let other_street = grid_index
        .locate(here.0, here.1, today)
        .iter()
        .find(|(l, _)| l.name() == "street")
        .map(|(_, c)| c.properties["code"].as_str().unwrap().to_owned())
        .unwrap();
    let cells = demo.catalog.collection("grid_cells").unwrap();
    let elsewhere_code = cells
        .index
        .iter()
        .filter(|f| f.properties["level"] == "grid" && f.properties["valid_to"].is_null())
        .map(|f| f.properties["code"].as_str().unwrap().to_owned())
        .find(|c| !c.starts_with(&other_street))
        .unwrap();
    let elsewhere = interior(&elsewhere_code);
    let water_unit = "郑州水务集团管城分公司";
    // Tests that count cases have reporters of their own: the fixture's store is shared.
    let users: [(&'static str, Role, Option<&str>, Vec<String>); 12] = [
        ("zhou", Role::Worker, None, vec![grid.clone()]),
        ("wu", Role::Worker, None, vec![grid.clone()]),
        ("zhao", Role::Dispatcher, None, vec![]),
        ("qian", Role::Dispatcher, None, vec![]),
        ("admin", Role::Admin, None, vec![]),
        ("zhihui", Role::Dispatcher, None, vec![]),
        ("jiandu", Role::Supervisor, None, vec![]),
        ("wang", Role::Worker, None, vec![grid.clone()]),
        ("li", Role::Worker, None, vec![elsewhere_code.clone()]),
        ("shuiwu", Role::Handler, Some(water_unit), vec![]),
        (
            "ranqi",
            Role::Handler,
            Some("郑州华润燃气管城分公司"),
            vec![],
        ),
        ("fenxi", Role::Analyst, None, vec![]),
    ];
    // The utilities the tests dispatch to are no grid cell's responsible unit: registered.
    for unit in [water_unit, "郑州华润燃气管城分公司"] {
        demo.runtime
            .block_on(citygrid::service::units::register_unit(
                demo.catalog.store().as_ref(),
                unit,
                None,
                None,
            ))
            .unwrap();
    }
    let mut tokens = HashMap::new();
    for (name, role, unit, cells) in users {
        let user = NewUser {
            username: Username::parse(&format!("case-{name}")).unwrap(),
            display_name: name.to_owned(),
            role,
            unit: unit.map(str::to_owned),
            cells,
        };
        tokens.insert(name, add_user_and_log_in(&state, &router, user, PASSWORD));
    }
    Fixture {
        router,
        state,
        tokens,
        here,
        manhole,
        grid,
        elsewhere,
        water_unit,
    }
});

fn fx() -> &'static Fixture {
    &FIXTURE
}

fn call(method: &str, uri: &str, who: Option<&str>, body: Option<Value>) -> Reply {
    let fx = fx();
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(who) = who {
        request = request.header("authorization", format!("Bearer {}", fx.tokens[who]));
    }
    let body = match body {
        Some(b) => {
            request = request.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    send_to(&demo().runtime, &fx.router, request.body(body).unwrap())
}

fn report(who: &str, category: &str, at: (f64, f64), extra: Value) -> Reply {
    let mut body = json!({
        "category": category,
        "lon": at.0,
        "lat": at.1,
        "description": "井盖破损，有安全隐患",
    });
    let Value::Object(extra) = extra else {
        panic!("extra members must be an object")
    };
    for (k, v) in extra {
        body[&k] = v;
    }
    call("POST", "/cases", Some(who), Some(body))
}

fn act(who: &str, id: i64, action: &str, extra: Value) -> Reply {
    let mut body = json!({ "action": action });
    let Value::Object(extra) = extra else {
        panic!("extra members must be an object")
    };
    for (k, v) in extra {
        body[&k] = v;
    }
    call(
        "POST",
        &format!("/cases/{id}/actions"),
        Some(who),
        Some(body),
    )
}

fn ok_state(reply: &Reply, state: &str) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let case = reply.json()["case"].clone();
    assert_eq!(case["state"], state, "{case}");
    case
}

fn new_case(who: &str) -> i64 {
    let reply = report(who, "0101", fx().here, json!({}));
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["case"]["id"].as_i64().unwrap()
}

/// The cases `reporter` (a fixture user) has reported.
fn count_cases(reporter: &str) -> u64 {
    call(
        "GET",
        &format!("/cases?limit=1&reporter=case-{reporter}"),
        Some("admin"),
        None,
    )
    .json()["number_matched"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_case_goes_from_a_tablet_report_to_a_verified_closure_role_by_role() {
    let fx = fx();
    let reported = report("wang", "0101", fx.here, json!({ "address": "紫荆山路" }));
    assert_eq!(reported.status, 201, "{}", reported.text());
    let location = reported.headers["location"].to_str().unwrap().to_owned();
    let body = reported.json();
    let case = &body["case"];
    let id = case["id"].as_i64().unwrap();
    assert!(location.ends_with(&format!("/cases/{id}")));
    assert_eq!(case["state"], "reported");
    assert_eq!(case["reporter"], "case-wang");
    let chain: Vec<&str> = case["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["level"].as_str().unwrap())
        .collect();
    assert_eq!(chain, ["district", "street", "community", "grid"]);
    assert_eq!(case["cells"][3]["code"], fx.grid.as_str());
    assert!(
        case["responsible_unit"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    // The manhole a metre away is suggested.
    assert_eq!(body["suggested_asset"]["id"], fx.manhole.as_str());
    assert!(body["suggested_asset"]["distance_m"].as_f64().unwrap() < 2.0);

    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    let dispatched = ok_state(
        &act("zhihui", id, "dispatch", json!({ "unit": fx.water_unit })),
        "dispatched",
    );
    assert_eq!(dispatched["assigned_unit"], fx.water_unit);
    assert!(
        dispatched["due_at"].is_string(),
        "deadline starts at dispatch"
    );
    assert_problem(&act("ranqi", id, "start", json!({})), 403, None);
    ok_state(&act("shuiwu", id, "start", json!({})), "in_progress");
    ok_state(
        &act("shuiwu", id, "handle", json!({ "note": "已更换井盖" })),
        "handled",
    );
    // A worker of another cell may not verify; the cell's worker finds it not fixed.
    assert_problem(&act("li", id, "verify", json!({})), 403, None);
    assert_problem(&act("wang", id, "reject", json!({})), 400, Some("note"));
    let rework = ok_state(
        &act("wang", id, "reject", json!({ "note": "井盖仍松动" })),
        "in_progress",
    );
    assert_eq!(rework["rework_count"], 1);
    ok_state(
        &act("shuiwu", id, "handle", json!({ "note": "已加固" })),
        "handled",
    );
    ok_state(&act("wang", id, "verify", json!({})), "verified");
    assert_problem(&act("zhihui", id, "close", json!({})), 403, None);
    let closed = ok_state(&act("jiandu", id, "close", json!({})), "closed");
    assert_eq!(closed["on_time"], true);
    assert!(closed["closed_at"].is_string());

    let page = call("GET", &format!("/cases/{id}"), Some("jiandu"), None);
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.json();
    let steps: Vec<(&str, &str)> = page["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("report", "case-wang"),
            ("file", "case-zhihui"),
            ("dispatch", "case-zhihui"),
            ("start", "case-shuiwu"),
            ("handle", "case-shuiwu"),
            ("reject", "case-wang"),
            ("handle", "case-shuiwu"),
            ("verify", "case-wang"),
            ("close", "case-jiandu"),
        ]
    );
    assert_eq!(page["log"][5]["note"], "井盖仍松动");
    // A closed case moves no further; the supervision centre may still link its asset (the
    // hazard register counts closed cases too).
    assert_eq!(page["allowed_actions"].as_array().unwrap().len(), 1);
    assert_eq!(page["allowed_actions"][0]["action"], "link_asset");
    // A closed case accepts nothing more: a conflict, not a permission problem.
    assert_problem(
        &act("zhihui", id, "void", json!({ "note": "x" })),
        409,
        None,
    );
    // Every step is in the audit trail.
    let audit = call("GET", "/audit?action=case.&limit=1000", Some("admin"), None);
    assert_eq!(audit.status, 200, "{}", audit.text());
    let target = format!("case/{id}");
    let audited = audit.json()["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["target"] == target.as_str())
        .count();
    assert_eq!(audited, 9, "{}", audit.text());
}

#[test]
fn reading_cases_needs_a_token_and_writing_needs_the_right_role() {
    let id = new_case("wang");
    assert_problem(&call("GET", "/cases", None, None), 401, None);
    assert_problem(&call("GET", &format!("/cases/{id}"), None, None), 401, None);
    assert_problem(&call("GET", "/tasks", None, None), 401, None);
    let anonymous = call(
        "POST",
        "/cases",
        None,
        Some(
            json!({ "category": "0101", "lon": fx().here.0, "lat": fx().here.1, "description": "x" }),
        ),
    );
    assert_problem(&anonymous, 401, None);
    assert_eq!(
        anonymous.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .split(' ')
            .next(),
        Some("Bearer")
    );
    // An analyst reads but does not report or act.
    assert_problem(&report("fenxi", "0101", fx().here, json!({})), 403, None);
    assert_problem(&act("fenxi", id, "file", json!({})), 403, None);
    // A handler may not file; a dispatcher may not start work.
    assert_problem(&act("shuiwu", id, "file", json!({})), 403, None);
    // The dispatcher in the wrong state gets a conflict naming what is possible.
    let wrong = act("zhihui", id, "dispatch", json!({}));
    assert_problem(&wrong, 409, None);
    assert!(wrong.json()["detail"].as_str().unwrap().contains("file"));
}

#[test]
fn a_grid_worker_reports_only_in_their_own_cells() {
    let before = count_cases("zhou");
    assert_problem(
        &report("zhou", "0101", fx().elsewhere, json!({})),
        403,
        None,
    );
    assert_eq!(count_cases("zhou"), before, "nothing stored");
    let inside = report("zhou", "0101", fx().here, json!({}));
    assert_eq!(inside.status, 201, "{}", inside.text());
    assert_eq!(count_cases("zhou"), before + 1);
    let dispatcher = report("zhihui", "0101", fx().elsewhere, json!({}));
    assert_eq!(dispatcher.status, 201, "{}", dispatcher.text());
}

#[test]
fn bad_reports_are_refused_with_the_field_named_and_nothing_stored() {
    let before = count_cases("zhao");
    let outside = report("zhao", "0101", (113.0, 34.0), json!({}));
    assert_problem(&outside, 422, Some("location"));
    assert!(
        outside.json()["detail"]
            .as_str()
            .unwrap()
            .contains("outside the district")
    );
    assert_problem(
        &report("zhao", "9999", fx().here, json!({})),
        400,
        Some("category"),
    );
    assert_problem(
        &report("zhao", "0101", fx().here, json!({ "description": "  " })),
        400,
        Some("description"),
    );
    assert_problem(
        &report("zhao", "0101", fx().here, json!({ "lon": "east" })),
        400,
        Some("lon"),
    );
    assert_problem(
        &report("zhao", "0101", fx().here, json!({ "colour": "red" })),
        400,
        Some("colour"),
    );
    assert_problem(
        &report(
            "zhao",
            "0101",
            fx().here,
            json!({ "photos": ["f".repeat(64)] }),
        ),
        422,
        Some("photos"),
    );
    assert_problem(
        &report(
            "zhihui",
            "0101",
            fx().here,
            json!({ "asset": { "collection": "manholes", "id": "no-such-manhole" } }),
        ),
        422,
        Some("asset"),
    );
    assert_eq!(count_cases("zhao"), before);
}

#[test]
fn gcj02_locations_are_converted_before_locating() {
    let (lon, lat) = citygrid::model::crs::wgs84_to_gcj02(fx().here.0, fx().here.1);
    let reply = report("wang", "0101", (lon, lat), json!({ "crs": "gcj02" }));
    assert_eq!(reply.status, 201, "{}", reply.text());
    let case = &reply.json()["case"];
    assert!((case["lon"].as_f64().unwrap() - fx().here.0).abs() < 1e-6);
    assert_eq!(case["cells"][3]["code"], fx().grid.as_str());
}

#[test]
fn two_people_acting_at_once_one_wins_the_other_gets_the_current_state() {
    let id = new_case("wang");
    let fx = fx();
    let requests: Vec<Request<Body>> = ["file", "void"]
        .iter()
        .map(|action| {
            Request::post(format!("/cases/{id}/actions"))
                .header("authorization", format!("Bearer {}", fx.tokens["zhihui"]))
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({ "action": action, "note": "同时操作", "version": 1 }).to_string(),
                ))
                .unwrap()
        })
        .collect();
    let replies = demo().runtime.block_on(async {
        let calls = requests
            .into_iter()
            .map(|r| tokio::spawn(fx.router.clone().oneshot(r)));
        let mut statuses = Vec::new();
        for call in calls {
            let response = call.await.unwrap().unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            statuses.push((status, serde_json::from_slice::<Value>(&body).unwrap()));
        }
        statuses
    });
    let mut statuses: Vec<u16> = replies.iter().map(|(s, _)| *s).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{replies:?}");
    let (_, loser) = replies.iter().find(|(s, _)| *s == 409).unwrap();
    let winner_state = replies.iter().find(|(s, _)| *s == 200).unwrap().1["case"]["state"].clone();
    assert_eq!(loser["current"]["state"], winner_state, "{loser}");
    assert_eq!(loser["current"]["version"], 2);
    let log = call("GET", &format!("/cases/{id}"), Some("admin"), None).json()["log"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(log, 2, "one report and exactly one winning action");
    // A stale If-Match is refused the same way.
    let stale = send_to(
        &demo().runtime,
        &fx.router,
        Request::post(format!("/cases/{id}/actions"))
            .header("authorization", format!("Bearer {}", fx.tokens["zhihui"]))
            .header("content-type", "application/json")
            .header("if-match", "\"1\"")
            .body(Body::from(
                json!({ "action": "dispatch", "unit": "x" }).to_string(),
            ))
            .unwrap(),
    );
    assert_problem(&stale, 409, None);
}

#[test]
fn a_nearby_report_of_the_same_category_is_offered_as_a_duplicate_and_can_be_merged() {
    let first = new_case("wang");
    let near = (fx().here.0 + 0.0002, fx().here.1); // ≈ 18 m east
    let second = report("wang", "0101", near, json!({}));
    assert_eq!(second.status, 201);
    let body = second.json();
    let duplicates = body["probable_duplicates"].as_array().unwrap();
    assert!(
        duplicates
            .iter()
            .any(|d| d["id"] == first && d["distance_m"].as_f64().unwrap() < 25.0),
        "{body}"
    );
    let second = body["case"]["id"].as_i64().unwrap();
    let merged = ok_state(
        &act("zhihui", second, "merge", json!({ "into": first })),
        "closed",
    );
    assert_eq!(merged["merged_into"], first);
    let original = call("GET", &format!("/cases/{first}"), Some("zhihui"), None).json();
    assert!(
        original["merged_duplicates"]
            .as_array()
            .unwrap()
            .contains(&json!(second))
    );
    // Another category at the same place is no duplicate.
    let other = report("wang", "0102", near, json!({}));
    let other_body = other.json();
    assert!(
        !other_body["probable_duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == first),
        "{other_body}"
    );
    assert_problem(
        &act("zhihui", second, "merge", json!({ "into": first })),
        409,
        None,
    );
    let itself = new_case("wang");
    assert_problem(
        &act("zhihui", itself, "merge", json!({ "into": itself })),
        400,
        Some("into"),
    );
}

#[test]
fn suspension_and_a_pending_extension_stop_the_clock() {
    let id = new_case("wang");
    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    let dispatched = ok_state(
        &act("zhihui", id, "dispatch", json!({ "unit": fx().water_unit })),
        "dispatched",
    );
    let due = dispatched["due_at"].as_str().unwrap().to_owned();
    assert_problem(
        &act(
            "shuiwu",
            id,
            "request_extension",
            json!({ "note": "需协调交通" }),
        ),
        400,
        Some("amount"),
    );
    let pending = ok_state(
        &act(
            "shuiwu",
            id,
            "request_extension",
            json!({ "note": "需协调交通", "amount": 4 }),
        ),
        "extension_pending",
    );
    assert!(pending["due_at"].is_null(), "paused: no running deadline");
    let approved = ok_state(
        &act("zhihui", id, "approve_extension", json!({})),
        "dispatched",
    );
    assert!(
        approved["due_at"].as_str().unwrap() > due.as_str(),
        "{approved}"
    );
    assert_eq!(approved["extension_count"], 1);
    let suspended = ok_state(
        &act(
            "jiandu",
            id,
            "suspend",
            json!({ "note": "列入年度改造计划" }),
        ),
        "suspended",
    );
    assert!(suspended["due_at"].is_null());
    ok_state(&act("zhihui", id, "resume", json!({})), "dispatched");
}

#[test]
fn a_returned_case_is_redispatched_to_another_unit() {
    let id = new_case("wang");
    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    ok_state(
        &act(
            "zhihui",
            id,
            "dispatch",
            json!({ "unit": "郑州华润燃气管城分公司" }),
        ),
        "dispatched",
    );
    let returned = ok_state(
        &act("ranqi", id, "return", json!({ "note": "非燃气井盖" })),
        "returned",
    );
    assert!(returned["assigned_unit"].is_null());
    ok_state(
        &act("zhihui", id, "dispatch", json!({ "unit": fx().water_unit })),
        "dispatched",
    );
    assert_problem(&act("ranqi", id, "start", json!({})), 403, None);
    ok_state(&act("shuiwu", id, "start", json!({})), "in_progress");
}

#[test]
fn tasks_are_each_users_own_in_deadline_order() {
    let id = new_case("wang");
    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    ok_state(
        &act("zhihui", id, "dispatch", json!({ "unit": fx().water_unit })),
        "dispatched",
    );
    let tasks = call("GET", "/tasks", Some("shuiwu"), None);
    assert_eq!(tasks.status, 200, "{}", tasks.text());
    let tasks = tasks.json()["tasks"].as_array().unwrap().clone();
    assert!(tasks.iter().any(|t| t["id"] == id));
    assert!(tasks.iter().all(|t| t["assigned_unit"] == fx().water_unit));
    let dues: Vec<&str> = tasks.iter().filter_map(|t| t["due_at"].as_str()).collect();
    assert!(dues.windows(2).all(|w| w[0] <= w[1]), "{dues:?}");
    let other = call("GET", "/tasks", Some("ranqi"), None).json();
    assert!(
        !other["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id)
    );
    let dispatcher = call("GET", "/tasks", Some("zhihui"), None).json();
    let units = call("GET", "/units", Some("zhihui"), None).json();
    let staffed = |unit: &Value| {
        units["units"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == *unit && u["staffed"] == true)
    };
    assert!(dispatcher["tasks"].as_array().unwrap().iter().all(|t| {
        ["reported", "filed", "returned", "extension_pending"]
            .contains(&t["state"].as_str().unwrap())
            || (["dispatched", "in_progress"].contains(&t["state"].as_str().unwrap())
                && !staffed(&t["assigned_unit"]))
    }));
}

const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn upload(who: Option<&str>, data: Vec<u8>, content_type: &str) -> Reply {
    let fx = fx();
    let mut request = Request::post("/photos").header("content-type", content_type);
    if let Some(who) = who {
        request = request.header("authorization", format!("Bearer {}", fx.tokens[who]));
    }
    send_to(
        &demo().runtime,
        &fx.router,
        request.body(Body::from(data)).unwrap(),
    )
}

#[test]
fn photos_are_checked_by_content_and_never_served_anonymously() {
    assert_problem(&upload(None, PNG_1X1.to_vec(), "image/png"), 401, None);
    assert_problem(
        &upload(
            Some("wang"),
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            "image/png",
        ),
        415,
        None,
    );
    assert_problem(
        &upload(Some("wang"), vec![0xFF; 10 * 1024 * 1024 + 1], "image/jpeg"),
        413,
        None,
    );
    let uploaded = upload(Some("wang"), PNG_1X1.to_vec(), "image/png");
    assert_eq!(uploaded.status, 201, "{}", uploaded.text());
    let photo = uploaded.json()["id"].as_str().unwrap().to_owned();
    let audit = call(
        "GET",
        "/audit?action=photo.upload&limit=1000",
        Some("admin"),
        None,
    )
    .json();
    assert!(
        audit["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["target"] == format!("photo/{photo}").as_str() && r["actor"] == "case-wang"),
        "the upload is audited: {audit}"
    );
    let reply = report("wang", "0101", fx().here, json!({ "photos": [photo] }));
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["case"]["photos"], json!([photo]));
    assert_problem(
        &call("GET", &format!("/photos/{photo}"), None, None),
        401,
        None,
    );
    let served = call("GET", &format!("/photos/{photo}"), Some("fenxi"), None);
    assert_eq!(served.status, 200);
    assert_eq!(served.content_type(), "image/png");
    assert_eq!(served.body, PNG_1X1);
    assert_problem(
        &report(
            "wang",
            "0101",
            fx().here,
            json!({ "photos": vec![photo.clone(); 7] }),
        ),
        400,
        Some("photos"),
    );
}

#[test]
fn photos_are_served_as_inert_downloads_with_nosniff_a_sandbox_and_a_file_name() {
    let uploaded = upload(Some("wang"), PNG_1X1.to_vec(), "image/png");
    assert_eq!(uploaded.status, 201, "{}", uploaded.text());
    let photo = uploaded.json()["id"].as_str().unwrap().to_owned();
    let served = call("GET", &format!("/photos/{photo}"), Some("wang"), None);
    assert_eq!(served.status, 200);
    assert_eq!(served.headers["x-content-type-options"], "nosniff");
    assert_eq!(
        served.headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );
    assert_eq!(
        served.headers["content-disposition"],
        format!("inline; filename=\"{photo}.png\"").as_str()
    );
}

#[test]
fn analysts_may_not_upload_photos_and_are_told_which_roles_may() {
    let refused = upload(Some("fenxi"), PNG_1X1.to_vec(), "image/png");
    assert_problem(&refused, 403, None);
    let detail = refused.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("analyst") && detail.contains("worker, handler, dispatcher"),
        "{detail}"
    );
}

#[test]
fn a_photo_claiming_gigapixels_is_refused_with_a_problem_naming_the_limit() {
    // PNG_1X1 with its IHDR claiming 100,000 × 100,000 pixels (and the CRC made right).
    let mut png = PNG_1X1.to_vec();
    png[16..20].copy_from_slice(&100_000_u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000_u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let refused = upload(Some("wang"), png, "image/png");
    assert_problem(&refused, 422, Some("photo"));
    assert!(
        refused.text().contains("50 megapixels"),
        "{}",
        refused.text()
    );
}

/// The CRC-32 of PNG chunks (ISO 3309), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_photo_is_uploaded_as_a_raw_body_or_as_a_form_of_one_file_part() {
    // `curl -F photo=@x.png`, and any other part name.
    for name in ["photo", "file"] {
        let boundary = "b0undary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(PNG_1X1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let reply = upload(
            Some("wang"),
            body,
            &format!("multipart/form-data; boundary={boundary}"),
        );
        assert_eq!(reply.status, 201, "{name}: {}", reply.text());
        let raw = upload(Some("wang"), PNG_1X1.to_vec(), "image/png");
        assert_eq!(
            reply.json()["id"],
            raw.json()["id"],
            "the same photo either way"
        );
    }
    // Two files, no file, or a non-image part: refused with a problem.
    let (content_type, body) = multipart(&[], &[("image/png", PNG_1X1), ("image/png", PNG_1X1)]);
    assert_problem(
        &upload(Some("wang"), body, &content_type),
        400,
        Some("photo"),
    );
    let (content_type, body) = multipart(&[], &[]);
    assert_problem(
        &upload(Some("wang"), body, &content_type),
        400,
        Some("photo"),
    );
    let (content_type, body) = multipart(&[], &[("image/png", b"GIF89a")]);
    assert_problem(&upload(Some("wang"), body, &content_type), 415, None);
    // The same size limit as a raw body.
    let big = vec![0xFF; 10 * 1024 * 1024 + 1];
    let (content_type, body) = multipart(&[], &[("image/jpeg", &big)]);
    assert_problem(&upload(Some("wang"), body, &content_type), 413, None);
}

#[test]
fn a_used_up_photo_quota_answers_429_with_retry_after_naming_the_quota() {
    use std::sync::Arc;

    use citygrid::model::calendar::WorkCalendar;
    use citygrid::model::category::CategoryCatalog;
    use citygrid::service::cases::{CaseService, PhotoPolicy};
    use citygrid::service::photos::PhotoStore;
    use citygrid::store::CaseStore;

    let catalog = demo().catalog.clone();
    let cases = CaseService::new(
        Arc::clone(catalog.store()) as Arc<dyn CaseStore>,
        catalog,
        Arc::new(CategoryCatalog::builtin()),
        Arc::new(WorkCalendar::builtin()),
        PhotoStore::temporary(),
    )
    .with_photo_policy(PhotoPolicy {
        daily_count: 1,
        ..PhotoPolicy::default()
    });
    let router = router(fx().state.clone().with_cases(Arc::new(cases)));
    // The supervisor uploads in no other test (the store is shared).
    let send = || {
        send_to(
            &demo().runtime,
            &router,
            Request::post("/photos")
                .header("authorization", format!("Bearer {}", fx().tokens["jiandu"]))
                .header("content-type", "image/png")
                .body(Body::from(PNG_1X1))
                .unwrap(),
        )
    };
    assert_eq!(send().status, 201);
    let refused = send();
    assert_problem(&refused, 429, None);
    assert!(
        refused
            .text()
            .contains("1 of 1 photos per user in 24 hours"),
        "{}",
        refused.text()
    );
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((86_000..=86_400).contains(&retry), "{retry}");
}

fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "citygrid-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (i, (content_type, data)) in files.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p{i}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post_form(who: &str, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Reply {
    let (content_type, body) = multipart(fields, files);
    send_to(
        &demo().runtime,
        &fx().router,
        Request::post("/cases")
            .header("authorization", format!("Bearer {}", fx().tokens[who]))
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap(),
    )
}

#[test]
fn the_tablet_form_sends_fields_and_photos_in_one_request() {
    let lon = fx().here.0.to_string();
    let lat = fx().here.1.to_string();
    let fields = [
        ("category", "0101"),
        ("lon", lon.as_str()),
        ("lat", lat.as_str()),
        ("description", "井盖缺失"),
    ];
    let reply = post_form("wu", &fields, &[("image/png", PNG_1X1)]);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let case = &reply.json()["case"];
    assert_eq!(case["channel"], "tablet");
    assert_eq!(case["photos"].as_array().unwrap().len(), 1);
    // A non-image part refuses the whole report and stores nothing.
    let before = (count_cases("wu"), count_cases("qian"));
    let refused = post_form("wu", &fields, &[("image/jpeg", b"just text, not a photo")]);
    assert_problem(&refused, 415, None);
    // A report outside the district stores neither case nor photo.
    let outside = post_form(
        "qian",
        &[
            ("category", "0101"),
            ("lon", "113.0"),
            ("lat", "34.0"),
            ("description", "x"),
        ],
        &[("image/png", PNG_1X1)],
    );
    assert_problem(&outside, 422, Some("location"));
    assert_eq!((count_cases("wu"), count_cases("qian")), before);
}

#[test]
fn the_same_idempotency_key_returns_the_first_case() {
    let fx = fx();
    let send = || {
        send_to(
            &demo().runtime,
            &fx.router,
            Request::post("/cases")
                .header("authorization", format!("Bearer {}", fx.tokens["wang"]))
                .header("content-type", "application/json")
                .header("idempotency-key", "tablet-7f3a-0001")
                .body(Body::from(
                    json!({ "category": "0103", "lon": fx.here.0, "lat": fx.here.1, "description": "雨水井盖破损" })
                        .to_string(),
                ))
                .unwrap(),
        )
    };
    let first = send();
    assert_eq!(first.status, 201, "{}", first.text());
    let again = send();
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["case"]["id"], first.json()["case"]["id"]);
}

#[test]
fn assets_with_repeated_cases_enter_the_hazard_register() {
    let manhole = fx().manhole.clone();
    for _ in 0..2 {
        let reply = report(
            "wang",
            "0101",
            fx().here,
            json!({ "asset": { "collection": "manholes", "id": manhole } }),
        );
        assert_eq!(reply.status, 201, "{}", reply.text());
    }
    let register = call("GET", "/cases/hazards", Some("jiandu"), None);
    assert_eq!(register.status, 200, "{}", register.text());
    let register = register.json();
    let entry = register["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["asset"]["id"] == manhole.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{register}"));
    assert!(entry["case_count"].as_u64().unwrap() >= 2);
    assert!(entry["responsible_unit"].is_string());
    assert_eq!(entry["asset_properties"]["kind"], "water_supply");
    assert!(["待整改", "整改中", "已整改"].contains(&entry["rectification_zh"].as_str().unwrap()));
    assert_problem(
        &call("GET", "/cases/hazards?days=0", Some("jiandu"), None),
        400,
        Some("days"),
    );
}

#[test]
fn metrics_are_grouped_as_asked_and_bad_groupings_are_named() {
    let id = new_case("wang");
    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    let reply = call("GET", "/cases/metrics?group_by=street", Some("fenxi"), None);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    let total = &body["total"];
    assert!(total["received"].as_u64().unwrap() >= 1);
    assert!(total["filed"].as_u64().unwrap() >= 1);
    let groups = body["groups"].as_array().unwrap();
    assert!(groups.iter().all(|g| g["key"].as_str().unwrap().len() == 9));
    let sum: u64 = groups.iter().map(|g| g["received"].as_u64().unwrap()).sum();
    assert_eq!(sum, total["received"].as_u64().unwrap());
    for group_by in ["community", "grid", "unit", "category"] {
        let reply = call(
            "GET",
            &format!("/cases/metrics?group_by={group_by}"),
            Some("admin"),
            None,
        );
        assert_eq!(reply.status, 200, "{group_by}: {}", reply.text());
    }
    let csv = call(
        "GET",
        "/cases/metrics?group_by=street&f=csv",
        Some("fenxi"),
        None,
    );
    assert!(csv.content_type().starts_with("text/csv"));
    assert!(csv.text().starts_with("key,name,received"));
    assert_problem(
        &call("GET", "/cases/metrics?group_by=colour", Some("fenxi"), None),
        400,
        Some("group_by"),
    );
    assert_problem(
        &call(
            "GET",
            "/cases/metrics?from=2026-12-01&to=2026-11-01",
            Some("fenxi"),
            None,
        ),
        400,
        Some("from"),
    );
    assert_problem(
        &call("GET", "/cases/metrics", Some("shuiwu"), None),
        403,
        None,
    );
}

#[test]
fn categories_and_the_calendar_are_reference_data() {
    let categories = call("GET", "/cases/categories", None, None);
    assert_eq!(categories.status, 200);
    let list = categories.json()["categories"].as_array().unwrap().clone();
    assert!(
        list.iter()
            .any(|c| c["code"] == "0101" && c["name_zh"] == "上水井盖")
    );
    let calendar = call("GET", "/cases/calendar?year=2026", None, None).json();
    assert_eq!(calendar["covered"], true);
    assert!(
        calendar["make_up_working_days"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["date"] == "2026-02-14")
    );
    assert!(
        calendar["holidays_on_weekdays"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["date"] == "2026-10-01")
    );
}

#[test]
fn overdue_and_listing_filters_answer_and_bad_filters_are_named() {
    let listing = call(
        "GET",
        "/cases?state=open&order=deadline&limit=5",
        Some("jiandu"),
        None,
    );
    assert_eq!(listing.status, 200, "{}", listing.text());
    assert!(listing.json()["cases"].as_array().unwrap().len() <= 5);
    let geojson = call("GET", "/cases?f=geojson&limit=3", Some("jiandu"), None);
    assert_eq!(geojson.content_type(), "application/geo+json");
    assert_eq!(geojson.json()["type"], "FeatureCollection");
    let overdue = call("GET", "/cases/overdue", Some("zhihui"), None);
    assert_eq!(overdue.status, 200);
    assert!(
        overdue.json()["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["overdue"] == true)
    );
    for (uri, status, parameter) in [
        ("/cases?state=lost", 400, Some("state")),
        ("/cases?limit=0", 400, Some("limit")),
        ("/cases?bbox=1,2", 400, Some("bbox")),
        ("/cases/abc", 400, Some("id")),
        ("/cases/999999999", 404, None),
    ] {
        assert_problem(&call("GET", uri, Some("zhihui"), None), status, parameter);
    }
    assert_problem(&act("zhihui", 1, "fly", json!({})), 400, Some("action"));
}

#[test]
fn live_clients_receive_every_change_as_a_server_sent_event() {
    let fx = fx();
    let token = fx.tokens["zhihui"].clone();
    let router = fx.router.clone();
    let id = demo().runtime.block_on(async move {
        let response = router
            .clone()
            .oneshot(
                Request::get(format!("/cases/events?access_token={token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut body = response.into_body();
        let reporter = tokio::task::spawn_blocking(|| new_case("wang"));
        let id = reporter.await.unwrap();
        let mut seen = String::new();
        let wanted = format!("\"id\":{id},");
        while !seen.contains(&wanted) {
            let frame = tokio::time::timeout(Duration::from_secs(20), body.frame())
                .await
                .expect("an event within 20 s")
                .unwrap()
                .unwrap();
            if let Ok(data) = frame.into_data() {
                seen.push_str(&String::from_utf8_lossy(&data));
            }
        }
        assert!(seen.contains("event: case"));
        id
    });
    assert!(id > 0);
    let anonymous = call("GET", "/cases/events", None, None);
    assert_problem(&anonymous, 401, None);
}

fn open311(method: &str, uri: &str, form: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    let body = match form {
        Some(form) => {
            request = request.header("content-type", "application/x-www-form-urlencoded");
            Body::from(form.to_owned())
        }
        None => Body::empty(),
    };
    send_to(&demo().runtime, &fx().router, request.body(body).unwrap())
}

static API_KEY: LazyLock<String> = LazyLock::new(|| {
    demo()
        .runtime
        .block_on(fx().state.cases.issue_api_key("civic-test-app"))
        .unwrap()
});

#[test]
fn open311_services_are_the_case_categories() {
    let services = open311("GET", "/open311/v2/services.json", None);
    assert_eq!(services.status, 200);
    let services = services.json();
    let first = &services.as_array().unwrap()[0];
    for field in [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ] {
        assert!(
            first.get(field).is_some(),
            "services.json lacks {field}: {first}"
        );
    }
    let definition = open311("GET", "/open311/v2/services/0101.json", None).json();
    assert_eq!(definition["service_code"], "0101");
    assert!(definition["attributes"].is_array());
    assert_eq!(
        open311("GET", "/open311/v2/services/9999.json", None).status,
        404
    );
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one request followed through its life, field list included"
)]
fn civic_apps_report_and_follow_requests_through_open311() {
    let (lon, lat) = fx().here;
    let no_key = open311(
        "POST",
        "/open311/v2/requests.json",
        Some(&format!(
            "service_code=0101&lat={lat}&long={lon}&description=x"
        )),
    );
    assert_eq!(no_key.status, 403);
    assert_eq!(no_key.json()[0]["code"], 403);
    let key = API_KEY.as_str();
    let created = open311(
        "POST",
        "/open311/v2/requests.json",
        Some(&format!(
            "api_key={key}&service_code=0101&lat={lat}&long={lon}&description=%E4%BA%95%E7%9B%96%E7%A0%B4%E6%8D%9F&address_string=%E7%B4%AB%E8%8D%86%E5%B1%B1%E8%B7%AF"
        )),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outside = open311(
        "POST",
        "/open311/v2/requests.json",
        Some(&format!(
            "api_key={key}&service_code=0101&lat=34.0&long=113.0&description=x"
        )),
    );
    assert_eq!(outside.status, 422);
    assert!(
        outside.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("outside")
    );

    let one = open311(
        "GET",
        &format!("/open311/v2/requests/{id}.json?api_key={key}"),
        None,
    );
    assert_eq!(one.status, 200, "{}", one.text());
    let request = &one.json()[0];
    for field in [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ] {
        assert!(
            request.get(field).is_some(),
            "request lacks {field}: {request}"
        );
    }
    assert_eq!(request["status"], "open");
    assert_eq!(request["description"], "井盖破损");
    assert!(request["status_notes"].as_str().unwrap().contains("待立案"));
    let listed = open311(
        "GET",
        &format!("/open311/v2/requests.json?api_key={key}&status=open&service_code=0101"),
        None,
    )
    .json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["service_request_id"] == id.as_str())
    );
    let closed_only = open311(
        "GET",
        &format!("/open311/v2/requests.json?api_key={key}&status=closed&service_code=0101"),
        None,
    )
    .json();
    assert!(
        !closed_only
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["service_request_id"] == id.as_str())
    );
    // The case is a case like any other: voiding it closes the request.
    let case_id: i64 = id.parse().unwrap();
    ok_state(
        &act("zhihui", case_id, "void", json!({ "note": "重复上报" })),
        "voided",
    );
    let after = open311(
        "GET",
        &format!("/open311/v2/requests/{id}.json?api_key={key}"),
        None,
    )
    .json();
    assert_eq!(after[0]["status"], "closed");
    assert_eq!(
        open311("GET", "/open311/v2/requests.json", None).status,
        403
    );
    let bad = open311(
        "GET",
        &format!("/open311/v2/requests.json?api_key={key}&start_date=yesterday"),
        None,
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()[0]["description"]
            .as_str()
            .unwrap()
            .contains("start_date")
    );
}

/// The fixture's router with a case service whose clock the test sets.
fn clocked_router(
    start: chrono::DateTime<chrono::Utc>,
) -> (
    Router,
    std::sync::Arc<std::sync::Mutex<chrono::DateTime<chrono::Utc>>>,
) {
    use std::sync::{Arc, Mutex};

    use citygrid::model::calendar::WorkCalendar;
    use citygrid::model::category::CategoryCatalog;
    use citygrid::service::cases::CaseService;
    use citygrid::service::photos::PhotoStore;
    use citygrid::store::CaseStore;

    let now = Arc::new(Mutex::new(start));
    let clock = {
        let now = Arc::clone(&now);
        Arc::new(move || *now.lock().unwrap())
    };
    let catalog = demo().catalog.clone();
    let cases = CaseService::new(
        Arc::clone(catalog.store()) as Arc<dyn CaseStore>,
        catalog,
        Arc::new(CategoryCatalog::builtin()),
        Arc::new(WorkCalendar::builtin()),
        PhotoStore::temporary(),
    )
    .with_clock(clock);
    (router(fx().state.clone().with_cases(Arc::new(cases))), now)
}

#[test]
fn deadlines_follow_working_hours_and_overdue_cases_are_listed() {
    use chrono::{DateTime, TimeZone as _, Utc};
    use citygrid::model::calendar::{WorkCalendar, china_offset};
    use citygrid::model::category::CategoryCatalog;

    let fx = fx();
    let cst = |d: u32, h: u32, m: u32| -> DateTime<Utc> {
        china_offset()
            .with_ymd_and_hms(2026, 11, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let (router, now) = clocked_router(cst(20, 15, 0));
    let send = |who: &str, method: &str, uri: &str, body: Option<Value>| {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", fx.tokens[who]));
        let body = match body {
            Some(b) => {
                request = request.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        send_to(&demo().runtime, &router, request.body(body).unwrap())
    };
    let category = CategoryCatalog::builtin().get("0101").unwrap().clone();
    assert_eq!(
        category.time_unit,
        citygrid::model::calendar::TimeUnit::WorkingHours
    );
    let hours = category.limits.handle;
    // Friday 15:00: 2.5 working hours are left that day; the rest counts from Monday 08:30 and
    // skips the lunch break.
    let reported = send(
        "wang",
        "POST",
        "/cases",
        Some(
            json!({ "category": "0101", "lon": fx.here.0, "lat": fx.here.1, "description": "井盖破损" }),
        ),
    );
    assert_eq!(reported.status, 201, "{}", reported.text());
    let id = reported.json()["case"]["id"].as_i64().unwrap();
    let path = format!("/cases/{id}/actions");
    assert_eq!(
        send("zhihui", "POST", &path, Some(json!({ "action": "file" }))).status,
        200
    );
    let dispatched = send(
        "zhihui",
        "POST",
        &path,
        Some(json!({ "action": "dispatch", "unit": fx.water_unit })),
    );
    assert_eq!(dispatched.status, 200, "{}", dispatched.text());
    let due: DateTime<Utc> = dispatched.json()["case"]["due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let expected = WorkCalendar::builtin()
        .deadline(
            cst(20, 15, 0),
            citygrid::model::calendar::TimeLimit {
                amount: hours,
                unit: citygrid::model::calendar::TimeUnit::WorkingHours,
            },
            &[],
        )
        .unwrap();
    assert_eq!(due, expected);
    assert!(due > cst(23, 8, 30), "the weekend does not count: {due}");
    let overdue_ids = |router_now: DateTime<Utc>| {
        *now.lock().unwrap() = router_now;
        let listed = send("jiandu", "GET", "/cases/overdue", None).json();
        listed["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert!(!overdue_ids(due - chrono::Duration::minutes(1)).contains(&id));
    assert!(overdue_ids(due + chrono::Duration::minutes(30)).contains(&id));
    let page = send("jiandu", "GET", &format!("/cases/{id}"), None).json();
    assert_eq!(page["overdue"], true);
    let filtered = send("jiandu", "GET", "/cases?overdue=true&limit=1000", None).json();
    assert!(
        filtered["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id)
    );
}

/// Runs `citygrid ARGS` with `stdin`; standard output on success.
fn citygrid_cli(args: &[&str], stdin: &str) -> String {
    let output = crate::support::run_citygrid(args, stdin);
    assert!(
        output.status.success(),
        "citygrid {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Logs in on a real server; the token.
fn login_at(base: &str, name: &str, password: &str) -> String {
    let (status, body) = crate::support::http(
        &format!("{base}/auth/login"),
        "POST",
        &[("Content-Type", "application/json")],
        &json!({ "username": name, "password": password }).to_string(),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A request with a bearer token (and a JSON body) to a real server: status and JSON answer.
fn json_at(
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let bearer = format!("Bearer {token}");
    let (status, text) = crate::support::http(
        &format!("{base}{path}"),
        method,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &bearer),
        ],
        &body.map(Value::to_string).unwrap_or_default(),
    )
    .unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one story across a restart: users, keys, a case, the restart, the checks"
)]
fn cases_sessions_and_api_keys_survive_a_restart() {
    use crate::support::{Server, http};

    let server = Server::start(&[]);
    let database = server.database_url();
    let grid = fx().grid.clone();
    let (lon, lat) = fx().here;
    citygrid_cli(
        &[
            "user",
            "add",
            "gao",
            "--role",
            "worker",
            "--cells",
            &grid,
            "--database-url",
            &database,
        ],
        "worker-password-1\n",
    );
    citygrid_cli(
        &[
            "user",
            "add",
            "sun",
            "--role",
            "dispatcher",
            "--database-url",
            &database,
        ],
        "dispatcher-password-1\n",
    );
    let key = citygrid_cli(
        &["apikey", "add", "civic-app", "--database-url", &database],
        "",
    );
    let key = key.trim().to_owned();
    assert!(key.starts_with("o311_") && key.len() == 5 + 64, "{key}");
    let listed = citygrid_cli(&["apikey", "list", "--database-url", &database], "");
    assert!(listed.contains("civic-app"), "{listed}");

    let worker = login_at(&server.base, "gao", "worker-password-1");
    let dispatcher = login_at(&server.base, "sun", "dispatcher-password-1");
    let (status, reported) = json_at(
        &server.base,
        "POST",
        "/cases",
        &worker,
        Some(&json!({ "category": "0105", "lon": lon, "lat": lat, "description": "热力井盖下沉" })),
    );
    assert_eq!(status, 201, "{reported}");
    let id = reported["case"]["id"].as_i64().unwrap();
    let (status, _) = json_at(
        &server.base,
        "POST",
        &format!("/cases/{id}/actions"),
        &dispatcher,
        Some(&json!({ "action": "file", "note": "立案" })),
    );
    assert_eq!(status, 200);

    let server = server.restart(&[]);
    // Sessions are in the database: the token from before the restart still works.
    let (status, page) = json_at(
        &server.base,
        "GET",
        &format!("/cases/{id}"),
        &dispatcher,
        None,
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["case"]["state"], "filed");
    assert_eq!(page["log"].as_array().unwrap().len(), 2);
    assert_eq!(page["log"][1]["note"], "立案");
    // The open case is found again as a probable duplicate.
    let (status, again) = json_at(
        &server.base,
        "POST",
        "/cases",
        &worker,
        Some(&json!({ "category": "0105", "lon": lon, "lat": lat, "description": "同一处" })),
    );
    assert_eq!(status, 201);
    assert!(
        again["probable_duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == id),
        "{again}"
    );
    let (status, body) = http(
        &format!(
            "{}/open311/v2/requests/{id}.json?api_key={key}",
            server.base
        ),
        "GET",
        &[],
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"open\""));
    citygrid_cli(
        &[
            "apikey",
            "revoke",
            "civic-app",
            "--database-url",
            &server.database_url(),
        ],
        "",
    );
    let (status, _) = http(
        &format!(
            "{}/open311/v2/requests/{id}.json?api_key={key}",
            server.base
        ),
        "GET",
        &[],
        "",
    )
    .unwrap();
    assert_eq!(status, 403, "a revoked key is refused");
    assert!(
        server.dir.path().join("photos").is_dir(),
        "photos live next to the database"
    );
    assert!(server.terminate());
}

/// Sends `requests` at once (each on its own task) and returns their statuses and bodies.
fn concurrently(requests: Vec<Request<Body>>) -> Vec<(u16, Value)> {
    let fx = fx();
    demo().runtime.block_on(async {
        let calls: Vec<_> = requests
            .into_iter()
            .map(|r| tokio::spawn(fx.router.clone().oneshot(r)))
            .collect();
        let mut replies = Vec::new();
        for call in calls {
            let response = call.await.unwrap().unwrap();
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            replies.push((status, serde_json::from_slice::<Value>(&body).unwrap()));
        }
        replies
    })
}

fn case_of(id: i64) -> Value {
    call("GET", &format!("/cases/{id}"), Some("admin"), None).json()["case"].clone()
}

#[test]
fn crossing_merges_of_two_cases_let_exactly_one_win_in_each_of_thirty_rounds() {
    let fx = fx();
    for round in 0..30 {
        let (a, b) = (new_case("wang"), new_case("wang"));
        let merge = |id: i64, into: i64, who: &str| {
            Request::post(format!("/cases/{id}/actions"))
                .header("authorization", format!("Bearer {}", fx.tokens[who]))
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({ "action": "merge", "into": into }).to_string(),
                ))
                .unwrap()
        };
        let replies = concurrently(vec![merge(a, b, "zhihui"), merge(b, a, "zhao")]);
        let mut statuses: Vec<u16> = replies.iter().map(|(s, _)| *s).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "round {round}: {replies:?}");
        let (a, b) = (case_of(a), case_of(b));
        let (merged, kept) = if a["state"] == "closed" {
            (a, b)
        } else {
            (b, a)
        };
        assert_eq!(merged["merged_into"], kept["id"], "round {round}");
        assert_eq!(kept["state"], "reported", "round {round}: {kept}");
        assert!(kept["merged_into"].is_null(), "round {round}: {kept}");
    }
}

#[test]
fn merging_into_a_duplicate_or_a_case_with_duplicates_is_refused_naming_the_root() {
    let (root, dup, other) = (new_case("wang"), new_case("wang"), new_case("wang"));
    ok_state(
        &act("zhihui", dup, "merge", json!({ "into": root })),
        "closed",
    );
    // Into a duplicate: a chain. The answer names the case to merge into instead.
    let chain = act("zhihui", other, "merge", json!({ "into": dup }));
    assert_problem(&chain, 409, None);
    assert!(
        chain.json()["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("merge into case {root}"))
    );
    // A case that has duplicates is not merged away: its duplicates would hang off a closed case.
    let away = act("zhihui", root, "merge", json!({ "into": other }));
    assert_problem(&away, 409, None);
    assert!(
        away.json()["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("merge case {other} into case {root}"))
    );
    ok_state(
        &act("zhihui", other, "merge", json!({ "into": root })),
        "closed",
    );
    assert_eq!(case_of(root)["state"], "reported");
    // Merging bumped the version of the case merged into, so a stale page of it is refused.
    assert_eq!(case_of(root)["version"], 3);
}

#[test]
fn dispatching_to_an_unknown_unit_is_refused_naming_unit_with_near_matches() {
    let id = new_case("wang");
    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    let unknown = act("zhihui", id, "dispatch", json!({ "unit": "郑州水务集团" }));
    assert_problem(&unknown, 422, Some("unit"));
    let detail = unknown.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("/units"), "{detail}");
    assert!(
        detail.contains(fx().water_unit),
        "a near match is offered: {detail}"
    );
    assert_problem(
        &act("zhihui", id, "dispatch", json!({ "unit": "   " })),
        400,
        Some("unit"),
    );
    assert_eq!(case_of(id)["state"], "filed", "nothing was applied");
}

#[test]
fn dispatching_to_a_unit_no_active_handler_holds_is_refused() {
    let id = new_case("wang");
    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    // The grid cell's responsible unit is known, but no handler of the fixture holds it.
    let responsible = case_of(id)["responsible_unit"].as_str().unwrap().to_owned();
    let refused = act("zhihui", id, "dispatch", json!({}));
    assert_problem(&refused, 422, Some("unit"));
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains(&responsible)
    );
    ok_state(
        &act("zhihui", id, "dispatch", json!({ "unit": fx().water_unit })),
        "dispatched",
    );
}

#[test]
fn the_units_list_names_grid_and_registered_units_with_their_active_handlers() {
    let reply = call("GET", "/units", Some("zhou"), None);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    let units = body["units"].as_array().unwrap();
    let water = units.iter().find(|u| u["name"] == fx().water_unit).unwrap();
    assert_eq!(water["registered"], true);
    assert!(water["active_handlers"].as_u64().unwrap() >= 1);
    assert_eq!(water["staffed"], true);
    let grid = units
        .iter()
        .find(|u| !u["cells"].as_array().unwrap().is_empty())
        .expect("the grid's responsible units are listed");
    assert_eq!(grid["registered"], false);
    assert_eq!(call("GET", "/units", None, None).status, 401);
}

#[test]
fn only_an_administrator_registers_a_unit_and_a_name_is_checked() {
    let body = json!({ "name": "  管城区园林绿化中心 " });
    assert_problem(
        &call("POST", "/units", Some("zhihui"), Some(body.clone())),
        403,
        None,
    );
    let added = call("POST", "/units", Some("admin"), Some(body.clone()));
    assert_eq!(added.status, 201, "{}", added.text());
    assert_eq!(added.json()["name"], "管城区园林绿化中心");
    assert_eq!(
        call("POST", "/units", Some("admin"), Some(body)).status,
        200
    );
    assert_problem(
        &call("POST", "/units", Some("admin"), Some(json!({ "name": "" }))),
        400,
        Some("name"),
    );
    assert_problem(
        &call(
            "POST",
            "/units",
            Some("admin"),
            Some(json!({ "name": "x", "code": 1 })),
        ),
        400,
        None,
    );
    let listed = call("GET", "/units", Some("admin"), None).json();
    let unit = listed["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "管城区园林绿化中心")
        .cloned()
        .unwrap();
    assert_eq!(unit["staffed"], false);
}

#[test]
fn a_case_whose_unit_lost_its_last_handler_is_redispatched_by_the_command_centre() {
    let fx = fx();
    let unit = "管城区排水管理所";
    let name = Username::parse("case-paishui").unwrap();
    demo().runtime.block_on(async {
        citygrid::service::units::register_unit(demo().catalog.store().as_ref(), unit, None, None)
            .await
            .unwrap();
        fx.state
            .auth
            .add_user(
                &Origin::command_line(),
                NewUser {
                    username: name.clone(),
                    display_name: "排水".into(),
                    role: Role::Handler,
                    unit: Some(unit.into()),
                    cells: vec![],
                },
                PASSWORD,
                &|_| true,
            )
            .await
            .unwrap();
    });
    let id = new_case("wang");
    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    ok_state(
        &act("zhihui", id, "dispatch", json!({ "unit": unit })),
        "dispatched",
    );
    // While the unit has a handler, it is theirs: no redispatch (they can return it).
    let staffed = act("zhihui", id, "dispatch", json!({ "unit": fx.water_unit }));
    assert_problem(&staffed, 409, None);
    assert!(
        staffed.json()["detail"]
            .as_str()
            .unwrap()
            .contains("active handlers")
    );
    let offered = |who: &str| {
        call("GET", &format!("/cases/{id}"), Some(who), None).json()["allowed_actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "dispatch")
    };
    assert!(!offered("zhihui"));
    // The unit's only handler is disabled: the case is stranded, the command centre redispatches.
    demo().runtime.block_on(async {
        fx.state
            .auth
            .set_disabled(&Origin::command_line(), &name, true)
            .await
            .unwrap();
    });
    assert!(offered("zhihui"));
    let tasks = call("GET", "/tasks", Some("zhihui"), None).json();
    assert!(
        tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id),
        "a stranded case is among the command centre's tasks"
    );
    let redispatched = ok_state(
        &act(
            "zhihui",
            id,
            "dispatch",
            json!({ "unit": fx.water_unit, "note": "原单位无人处置，改派" }),
        ),
        "dispatched",
    );
    assert_eq!(redispatched["assigned_unit"], fx.water_unit);
    ok_state(&act("shuiwu", id, "start", json!({})), "in_progress");
}

#[test]
fn the_command_centre_links_changes_and_clears_a_cases_asset_and_the_hazard_register_follows() {
    let manholes = demo().catalog.collection("manholes").unwrap();
    let asset = manholes
        .index
        .iter()
        .map(|f| f.id.to_string())
        .find(|id| *id != fx().manhole)
        .unwrap();
    let (a, b) = (new_case("wang"), new_case("wang"));
    let in_register = || {
        call("GET", "/cases/hazards", Some("jiandu"), None).json()["hazards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["asset"]["id"] == asset.as_str())
            .map(|h| h["case_count"].as_u64().unwrap())
    };
    assert_eq!(in_register(), None);
    let link = json!({ "asset": { "collection": "manholes", "id": asset } });
    // A grid worker may not; an unknown asset is named; the member is required.
    assert_problem(&act("wang", a, "link_asset", link.clone()), 403, None);
    let unknown = act(
        "zhihui",
        a,
        "link_asset",
        json!({ "asset": { "collection": "manholes", "id": "no-such-manhole" } }),
    );
    assert_problem(&unknown, 422, Some("asset"));
    assert!(
        unknown.json()["detail"]
            .as_str()
            .unwrap()
            .contains("no-such-manhole")
    );
    assert_problem(
        &act("zhihui", a, "link_asset", json!({})),
        400,
        Some("asset"),
    );

    let linked = ok_state(&act("zhihui", a, "link_asset", link.clone()), "reported");
    assert_eq!(linked["asset"]["id"], asset.as_str());
    assert_problem(
        &act("zhihui", a, "link_asset", link.clone()),
        400,
        Some("asset"),
    );
    // A voided case takes no link (it is no case); the supervision centre links like the
    // command centre.
    ok_state(
        &act("zhihui", b, "void", json!({ "note": "误报" })),
        "voided",
    );
    assert_problem(&act("jiandu", b, "link_asset", link.clone()), 409, None);
    let c = new_case("wang");
    ok_state(&act("jiandu", c, "link_asset", link.clone()), "reported");
    assert_eq!(in_register(), Some(2));

    let detail = call("GET", &format!("/cases/{a}"), Some("zhihui"), None).json();
    let entry = detail["log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(entry["action"], "link_asset");
    assert_eq!(entry["detail"]["asset"]["id"], asset.as_str());
    assert!(entry["detail"]["previous"].is_null());
    let audit = call(
        "GET",
        &format!("/audit?action=case.link_asset&target=case/{a}"),
        Some("admin"),
        None,
    );
    assert_eq!(audit.status, 200, "{}", audit.text());
    assert!(audit.text().contains("case.link_asset"), "{}", audit.text());

    // Changed to the manhole of the fixture, then cleared: the register follows.
    ok_state(
        &act(
            "zhihui",
            a,
            "link_asset",
            json!({ "asset": { "collection": "manholes", "id": fx().manhole } }),
        ),
        "reported",
    );
    assert_eq!(in_register(), None);
    let cleared = ok_state(
        &act("zhihui", c, "link_asset", json!({ "asset": null })),
        "reported",
    );
    assert!(cleared["asset"].is_null());
}

#[test]
fn the_report_form_asks_which_asset_would_be_suggested_here() {
    let (lon, lat) = fx().here;
    let reply = call(
        "GET",
        &format!("/cases/suggested-asset?category=0101&lon={lon}&lat={lat}"),
        Some("wang"),
        None,
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let suggestion = &reply.json()["suggested_asset"];
    assert_eq!(suggestion["collection"], "manholes");
    assert_eq!(suggestion["id"], fx().manhole.as_str());
    assert!(suggestion["distance_m"].as_f64().unwrap() < 2.0);
    // Reporting with it confirmed links the case; the register counts it.
    let reported = report(
        "wang",
        "0101",
        fx().here,
        json!({ "asset": { "collection": "manholes", "id": fx().manhole } }),
    );
    assert_eq!(reported.status, 201);
    assert_eq!(
        reported.json()["case"]["asset"]["id"],
        fx().manhole.as_str()
    );
    assert_problem(
        &report(
            "wang",
            "0101",
            fx().here,
            json!({ "asset": { "collection": "manholes", "id": "no-such-manhole" } }),
        ),
        422,
        Some("asset"),
    );
    assert_problem(
        &call(
            "GET",
            &format!("/cases/suggested-asset?category=9999&lon={lon}&lat={lat}"),
            Some("wang"),
            None,
        ),
        400,
        Some("category"),
    );
    assert_problem(
        &call(
            "GET",
            "/cases/suggested-asset?category=0101",
            Some("wang"),
            None,
        ),
        400,
        None,
    );
    assert_eq!(
        call(
            "GET",
            &format!("/cases/suggested-asset?category=0101&lon={lon}&lat={lat}"),
            None,
            None
        )
        .status,
        401
    );
}

#[test]
fn user_add_refuses_an_unknown_unit_listing_near_matches_and_unit_add_registers_it() {
    use crate::support::run_citygrid;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("units.db").display());
    let text = |output: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    };
    let unit = "郑州水务集团管城分公司";
    let added = run_citygrid(&["unit", "add", unit, "--database-url", &database], "");
    assert!(added.status.success(), "{}", text(&added));
    let add_handler = |unit: Option<&str>| {
        let mut args = vec![
            "user",
            "add",
            "sunqiang",
            "--role",
            "handler",
            "--database-url",
            &database,
        ];
        if let Some(unit) = unit {
            args.extend(["--unit", unit]);
        }
        run_citygrid(&args, "unit-handler-1\n")
    };
    let typo = add_handler(Some("郑州水务集团"));
    assert!(!typo.status.success());
    let said = text(&typo);
    assert!(
        said.contains("unknown unit") && said.contains(unit),
        "{said}"
    );
    let none = add_handler(None);
    assert!(!none.status.success());
    assert!(text(&none).contains("--unit"), "{}", text(&none));
    let ok = add_handler(Some(unit));
    assert!(ok.status.success(), "{}", text(&ok));
    let listed = run_citygrid(&["unit", "list", "--database-url", &database], "");
    let line = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .find(|l| l.ends_with(unit))
        .map(str::to_owned)
        .unwrap();
    assert!(line.starts_with('1'), "one active handler: {line}");
}

/// Whether `who` can read case `id`: on its page, in the listing (JSON and GeoJSON) and among
/// the hazards' and overdue lists' sources; the page and the listing must agree.
fn reads(who: &str, id: i64) -> bool {
    let page = call("GET", &format!("/cases/{id}"), Some(who), None);
    assert!(matches!(page.status.as_u16(), 200 | 404), "{}", page.text());
    let listed = call("GET", "/cases?limit=1000", Some(who), None).json()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id);
    let mapped = call("GET", "/cases?limit=1000&f=geojson", Some(who), None).json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == id);
    assert_eq!(
        page.status == 200,
        listed,
        "{who}: page and listing disagree"
    );
    assert_eq!(listed, mapped, "{who}: JSON and GeoJSON disagree");
    listed
}

/// The reporter `who` sees on case `id`'s page, and the actor of its first log entry.
fn reporter_seen(who: &str, id: i64) -> (Value, Value) {
    let page = call("GET", &format!("/cases/{id}"), Some(who), None).json();
    (
        page["case"]["reporter"].clone(),
        page["log"][0]["actor"].clone(),
    )
}

#[test]
fn each_role_reads_only_the_cases_in_its_scope() {
    let id = new_case("wang");
    assert!(reads("wang", id), "the reporter");
    assert!(reads("zhou", id), "a worker of the same grid");
    assert!(!reads("li", id), "a worker of another grid");
    for who in ["zhihui", "jiandu", "admin", "fenxi"] {
        assert!(reads(who, id), "{who} reads every case");
    }
    assert!(!reads("shuiwu", id), "not dispatched to the water unit yet");
    assert!(!reads("ranqi", id));
    ok_state(&act("zhihui", id, "file", json!({})), "filed");
    ok_state(
        &act("zhihui", id, "dispatch", json!({ "unit": fx().water_unit })),
        "dispatched",
    );
    assert!(reads("shuiwu", id), "dispatched to the water unit");
    assert!(!reads("ranqi", id), "the gas company's handler does not");
    let tasks = call("GET", "/tasks", Some("shuiwu"), None).json();
    let task = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .expect("the water unit's task");
    assert_eq!(task["reporter"], "withheld");
    // A conditional action with a stale version must not show an unreadable case either.
    let stale = act("ranqi", id, "start", json!({ "version": 1 }));
    assert_problem(&stale, 404, None);
    assert!(!stale.text().contains("case-wang"), "{}", stale.text());
}

#[test]
fn the_hazard_register_holds_only_the_cases_the_reader_may_read() {
    let manhole = fx().manhole.clone();
    let reply = report(
        "wang",
        "0101",
        fx().here,
        json!({ "asset": { "collection": "manholes", "id": manhole } }),
    );
    assert_eq!(reply.status, 201, "{}", reply.text());
    let id = reply.json()["case"]["id"].as_i64().unwrap();
    let holds = |who: &str| {
        let register = call("GET", "/cases/hazards?min_cases=1", Some(who), None);
        assert_eq!(register.status, 200, "{}", register.text());
        register.json()["hazards"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["case_ids"].as_array().unwrap().contains(&json!(id)))
    };
    assert!(holds("jiandu"));
    assert!(holds("zhou"), "a worker of the grid");
    assert!(!holds("li"), "a worker of another grid");
    assert!(!holds("ranqi"), "a handler the case was not dispatched to");
}

#[test]
fn the_reporters_identity_is_shown_only_to_the_centres_admins_and_the_reporter() {
    let id = new_case("wang");
    for who in ["wang", "zhihui", "jiandu", "admin"] {
        let (reporter, actor) = reporter_seen(who, id);
        assert_eq!(reporter, "case-wang", "{who}");
        assert_eq!(actor, "case-wang", "{who}");
    }
    for who in ["zhou", "fenxi"] {
        let (reporter, actor) = reporter_seen(who, id);
        assert_eq!(reporter, "withheld", "{who}");
        assert_eq!(actor, "withheld", "{who}");
        let listed = call("GET", "/cases?limit=1000", Some(who), None);
        assert!(
            !listed.text().contains("case-wang"),
            "{who}: {}",
            listed.text()
        );
    }
}

#[test]
fn open311_keys_read_the_public_fields_and_the_text_only_of_their_own_requests() {
    let id = new_case("wang");
    let key = API_KEY.as_str();
    let request = open311(
        "GET",
        &format!("/open311/v2/requests/{id}.json?api_key={key}"),
        None,
    );
    assert_eq!(request.status, 200, "{}", request.text());
    let request = &request.json()[0];
    assert_eq!(request["service_code"], "0101");
    assert!(request["description"].is_null(), "{request}");
    assert!(!request.to_string().contains("case-wang"));
    let listed = open311(
        "GET",
        &format!("/open311/v2/requests.json?api_key={key}&service_request_id={id}"),
        None,
    );
    assert!(listed.json()[0]["description"].is_null());
}

/// Reads the event stream until it holds `until`; returns what it held.
async fn events_until(body: &mut Body, until: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(until) {
        let frame = tokio::time::timeout(Duration::from_secs(30), body.frame())
            .await
            .expect("an event within 30 s")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            seen.push_str(&String::from_utf8_lossy(&data));
        }
    }
    seen
}

#[test]
fn live_clients_receive_only_the_changes_of_cases_they_may_read() {
    let fx = fx();
    let router = fx.router.clone();
    demo().runtime.block_on(async move {
        let mut streams = HashMap::new();
        for who in ["li", "ranqi", "fenxi"] {
            let token = fx.tokens[who].clone();
            let response = router
                .clone()
                .oneshot(
                    Request::get(format!("/cases/events?access_token={token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            streams.insert(who, response.into_body());
        }
        // Out of li's and ranqi's scope: wang's grid, not dispatched.
        let hidden = tokio::task::spawn_blocking(|| new_case("wang"))
            .await
            .unwrap();
        // Then one each may read, in this order: li's own report elsewhere, dispatched to
        // ranqi's unit.
        let shown = tokio::task::spawn_blocking(|| {
            let reply = report("li", "0101", fx.elsewhere, json!({}));
            assert_eq!(reply.status, 201, "{}", reply.text());
            let id = reply.json()["case"]["id"].as_i64().unwrap();
            ok_state(&act("zhihui", id, "file", json!({})), "filed");
            ok_state(
                &act(
                    "zhihui",
                    id,
                    "dispatch",
                    json!({ "unit": "郑州华润燃气管城分公司" }),
                ),
                "dispatched",
            );
            id
        })
        .await
        .unwrap();
        let hidden = format!("\"id\":{hidden},");
        let shown_dispatch = format!("\"id\":{shown},\"version\":3,");
        for who in ["li", "ranqi"] {
            let body = streams.get_mut(who).unwrap();
            let seen = events_until(body, &shown_dispatch).await;
            assert!(
                !seen.contains(&hidden),
                "{who} received case {hidden}: {seen}"
            );
        }
        let seen = events_until(streams.get_mut("fenxi").unwrap(), &shown_dispatch).await;
        assert!(seen.contains(&hidden), "the analyst reads every case");
        assert!(
            !seen.contains("case-wang") && !seen.contains("case-li"),
            "{seen}"
        );
        assert!(seen.contains("\"actor\":\"withheld\""), "{seen}");
    });
}
