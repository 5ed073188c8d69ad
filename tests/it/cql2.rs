//! OGC API – Features – Part 3 and CQL2 against the standard's own test data and cases
//! (`../shared/conformance/cql2/`): the three Natural Earth layers imported as collections, and
//! every case of `cases.tsv` asked over HTTP in CQL2 text and in CQL2 JSON. Also the queryables,
//! `sortby`, `properties` and the problems of malformed filters.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use citygrid::api::{AppState, router};
use citygrid::model::CollectionId;
use citygrid::model::crs::InputCrs;
use citygrid::service::Catalog;
use citygrid::service::import::{
    ImportError, ImportOptions, SchemaSource, import_features, read_features,
};
use citygrid::store::{SqliteStore, Store};
use serde_json::Value;

use crate::support::{BASE, Reply, assert_problem, local, repo, send_to};

const LAYERS: [&str; 3] = [
    "ne_110m_admin_0_countries",
    "ne_110m_populated_places_simple",
    "ne_110m_rivers_lake_centerlines",
];

/// The conformance data in `shared/conformance/cql2`: beside the repository as in CI (`../shared`),
/// or beside a folder of worktrees further up. Missing data fail the tests loudly.
fn conformance_dir() -> PathBuf {
    repo()
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/conformance/cql2"))
        .find(|dir| dir.join("cases.tsv").is_file())
        .unwrap_or_else(|| {
            panic!(
                "the CQL2 conformance data are missing: expected shared/conformance/cql2/cases.tsv \
                 beside {} or one of its parents (CI puts shared/ beside the clone)",
                repo().display()
            )
        })
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    router: Router,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let data = conformance_dir().join("data");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let catalog = runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
        for layer in LAYERS {
            let queryables: Value = serde_json::from_str(
                &std::fs::read_to_string(data.join(format!("{layer}.queryables.json"))).unwrap(),
            )
            .unwrap();
            let features = read_features(&data.join(format!("{layer}.geojson")), |_| {}).unwrap();
            let options = ImportOptions {
                collection: CollectionId::parse(layer).unwrap(),
                crs: InputCrs::Wgs84,
                schema: SchemaSource::JsonSchema(queryables),
                skip_invalid: false,
                upsert: false,
                attribution: None,
                license: None,
                max_feature_bytes: citygrid::service::import::MAX_FEATURE_BYTES,
            };
            match import_features(store.as_ref(), &options, features).await {
                Ok(report) => assert_eq!(report.imported, report.read, "{layer}"),
                Err(ImportError::Rejected(report)) => panic!(
                    "{layer}: features refused on import: {:#?}",
                    report.rejected
                ),
                Err(e) => panic!("{layer}: {e}"),
            }
        }
        Arc::new(Catalog::load(store).await.unwrap())
    });
    Fixture {
        router: router(AppState::new(catalog, BASE)),
        runtime,
    }
});

fn get(uri: &str) -> Reply {
    let fixture = &*FIXTURE;
    send_to(
        &fixture.runtime,
        &fixture.router,
        Request::get(uri).body(Body::empty()).unwrap(),
    )
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// One row of `cases.tsv`.
struct Case {
    class: String,
    collection: String,
    text: String,
    expected: u64,
}

fn cases() -> Vec<Case> {
    let tsv = std::fs::read_to_string(conformance_dir().join("cases.tsv")).unwrap();
    let cases: Vec<Case> = tsv
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            assert_eq!(columns.len(), 4, "malformed row: {line}");
            Case {
                class: columns[0].to_owned(),
                collection: columns[1].to_owned(),
                // The file escapes the parenthesis that opens a ring as `\(`.
                text: columns[2].replace("\\(", "("),
                expected: columns[3].parse().unwrap(),
            }
        })
        .collect();
    assert_eq!(
        cases.len(),
        139,
        "cases.tsv should hold the standard's 139 cases"
    );
    cases
}

/// Asks every case in `lang` (its filter given by `encode_case`) and returns the failures.
fn failures(lang: &str, filter_of: impl Fn(&Case) -> String) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases() {
        let filter = filter_of(&case);
        let uri = format!(
            "/collections/{}/items?filter={}&filter-lang={lang}&limit=10000",
            case.collection,
            encode(&filter)
        );
        let reply = get(&uri);
        if reply.status != 200 {
            failures.push(format!(
                "[{}] {} on {}: HTTP {} {}",
                case.class,
                filter,
                case.collection,
                reply.status,
                reply.text()
            ));
            continue;
        }
        let doc = reply.json();
        let matched = doc["numberMatched"].as_u64().unwrap();
        let returned = doc["features"].as_array().unwrap().len() as u64;
        if matched != case.expected || returned != case.expected {
            failures.push(format!(
                "[{}] {} on {}: expected {}, numberMatched {matched}, returned {returned}",
                case.class, filter, case.collection, case.expected
            ));
        }
    }
    failures
}

#[test]
fn every_conformance_case_in_cql2_text_matches_the_expected_count() {
    let failures = failures("cql2-text", |case| case.text.clone());
    assert!(
        failures.is_empty(),
        "{} of 139 cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_conformance_case_in_cql2_json_matches_the_expected_count() {
    let failures = failures("cql2-json", |case| {
        let expr = cql2::parse_text(&case.text).unwrap_or_else(|e| panic!("{}: {e}", case.text));
        expr.to_json()
            .unwrap_or_else(|e| panic!("{}: {e}", case.text))
    });
    assert!(
        failures.is_empty(),
        "{} of 139 cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_queryables_are_a_json_schema_with_the_named_geometry() {
    let reply = get("/collections/ne_110m_populated_places_simple/queryables");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type(), "application/schema+json");
    let doc = reply.json();
    assert_eq!(
        doc["$schema"],
        "https://json-schema.org/draft/2019-09/schema"
    );
    assert_eq!(
        doc["$id"],
        format!("{BASE}/collections/ne_110m_populated_places_simple/queryables")
    );
    assert_eq!(doc["type"], "object");
    assert!(doc["title"].is_string());
    assert_eq!(doc["additionalProperties"], false);
    assert_eq!(
        doc["properties"]["geom"]["$ref"],
        "https://geojson.org/schema/Point.json"
    );
    assert_eq!(doc["properties"]["geom"]["x-ogc-role"], "primary-geometry");
    assert_eq!(doc["properties"]["start"]["format"], "date-time");
    assert_eq!(doc["properties"]["pop_other"]["type"], "integer");
    let collection = get("/collections/ne_110m_populated_places_simple").json();
    let link = collection["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables")
        .expect("the collection links its queryables");
    assert_eq!(
        local(link["href"].as_str().unwrap()),
        "/collections/ne_110m_populated_places_simple/queryables"
    );
}

#[test]
fn a_malformed_filter_is_a_400_naming_the_filter_parameter_with_the_parser_message() {
    let reply = get("/collections/ne_110m_populated_places_simple/items?filter=name%20LIKE");
    assert_problem(&reply, 400, Some("filter"));
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("cql2-text"), "{detail}");
    let reply = get(
        "/collections/ne_110m_populated_places_simple/items?filter-lang=cql2-json&filter=%7B%22op%22",
    );
    assert_problem(&reply, 400, Some("filter"));
}

#[test]
fn an_unknown_property_in_a_filter_is_a_400_listing_the_queryables() {
    let reply = get("/collections/ne_110m_admin_0_countries/items?filter=name%3D%27Luxembourg%27");
    assert_problem(&reply, 400, Some("filter"));
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("`name`") && detail.contains("NAME") && detail.contains("geom"),
        "{detail}"
    );
}

#[test]
fn an_unknown_filter_language_or_crs_is_a_400_naming_it() {
    assert_problem(
        &get("/collections/ne_110m_admin_0_countries/items?filter=true&filter-lang=ecql"),
        400,
        Some("filter-lang"),
    );
    assert_problem(
        &get(&format!(
            "/collections/ne_110m_admin_0_countries/items?filter=true&filter-crs={}",
            encode("http://www.opengis.net/def/crs/EPSG/0/4326")
        )),
        400,
        Some("filter-crs"),
    );
    let ok = get(&format!(
        "/collections/ne_110m_admin_0_countries/items?filter=true&filter-crs={}",
        encode("http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    ));
    assert_eq!(ok.status, 200, "{}", ok.text());
}

fn names(doc: &Value, property: &str) -> Vec<Value> {
    doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"][property].clone())
        .collect()
}

#[test]
fn sortby_orders_every_match_before_paging_and_the_links_keep_the_query() {
    let first = get(&format!(
        "/collections/ne_110m_admin_0_countries/items?filter={}&sortby=-POP_EST,%2BNAME&properties=NAME,POP_EST&limit=5",
        encode("CONTINENT='Europe'")
    ));
    assert_eq!(first.status, 200, "{}", first.text());
    let doc = first.json();
    let matched = doc["numberMatched"].as_u64().unwrap();
    assert!(matched > 5, "Europe has more than five countries");
    let mut populations: Vec<f64> = Vec::new();
    let mut next = Some(doc);
    while let Some(page) = next.take() {
        for feature in page["features"].as_array().unwrap() {
            let properties = feature["properties"].as_object().unwrap();
            let keys: Vec<&str> = properties.keys().map(String::as_str).collect();
            assert_eq!(keys, ["NAME", "POP_EST"], "only the properties asked for");
            populations.push(properties["POP_EST"].as_f64().unwrap());
        }
        let link = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| local(l["href"].as_str().unwrap()));
        if let Some(href) = link {
            for kept in ["filter=", "sortby=", "properties=", "filter-lang="] {
                assert!(
                    href.contains(kept) || kept == "filter-lang=",
                    "{href} lost {kept}"
                );
            }
            next = Some(get(&href).json());
        }
    }
    assert_eq!(populations.len() as u64, matched);
    assert!(
        populations.windows(2).all(|w| w[0] >= w[1]),
        "descending population across pages: {populations:?}"
    );
}

#[test]
fn sortby_ascending_puts_nulls_last_and_is_stable() {
    let doc = get(
        "/collections/ne_110m_populated_places_simple/items?sortby=date&properties=date,name&limit=10000",
    )
    .json();
    let dates = names(&doc, "date");
    assert_eq!(dates.len(), 243);
    assert_eq!(
        &dates[..4],
        &[
            Value::from("2021-04-16"),
            Value::from("2022-04-16"),
            Value::from("2023-04-16"),
            Value::Null
        ]
    );
    // Among the nulls the key order is kept: the ids ascend.
    let ids: Vec<u64> = doc["features"].as_array().unwrap()[3..]
        .iter()
        .map(|f| f["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[test]
fn the_filter_language_survives_in_the_next_link() {
    let filter = cql2::parse_text("pop_other > 1000000")
        .unwrap()
        .to_json()
        .unwrap();
    let doc = get(&format!(
        "/collections/ne_110m_populated_places_simple/items?filter={}&filter-lang=cql2-json&limit=2",
        encode(&filter)
    ))
    .json();
    let next = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .map(|l| local(l["href"].as_str().unwrap()))
        .expect("more than two cities have over a million people");
    assert!(next.contains("filter-lang=cql2-json"), "{next}");
    let second = get(&next);
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(second.json()["numberMatched"], doc["numberMatched"]);
}

#[test]
fn unknown_sortby_and_properties_names_are_400s_naming_the_parameter() {
    assert_problem(
        &get("/collections/ne_110m_admin_0_countries/items?sortby=-population"),
        400,
        Some("sortby"),
    );
    assert_problem(
        &get("/collections/ne_110m_admin_0_countries/items?properties=NAME,colour"),
        400,
        Some("properties"),
    );
}
