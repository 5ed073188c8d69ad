//! The evaluator against small hand-made features.

use chrono::Utc;
use geo::{Geometry, point, wkt};
use serde_json::{Map, Value, json};

use super::*;
use crate::model::geometry::GeometryFamily;
use crate::model::{CollectionId, FeatureId};

fn places() -> CollectionDef {
    let schema = json!({
        "type": "object",
        "properties": {
            "geom": { "$ref": "https://geojson.org/schema/Point.json" },
            "name": { "type": "string" },
            "pop": { "type": "integer" },
            "area": { "type": "number" },
            "capital": { "type": "boolean" },
            "founded": { "type": "string", "format": "date" },
            "start": { "type": "string", "format": "date-time" },
            "end": { "type": "string", "format": "date-time" },
            "tags": { "type": "array", "items": { "type": "string" } }
        },
        "additionalProperties": false
    });
    CollectionDef::custom(
        CollectionId::parse("places").unwrap(),
        &schema,
        GeometryFamily::Points,
    )
    .unwrap()
}

fn feature(geometry: Geometry<f64>, properties: &Value) -> Feature {
    let Value::Object(map) = properties.clone() else {
        panic!("properties must be an object")
    };
    let now = Utc::now();
    Feature::new(
        1,
        FeatureId::parse("f").unwrap(),
        geometry,
        map,
        1,
        now,
        now,
    )
}

fn berlin() -> Feature {
    feature(
        point!(x: 13.4, y: 52.5).into(),
        &json!({
            "name": "Berlin", "pop": 3_400_000, "area": 891.8, "capital": true,
            "founded": "1237-10-28", "start": "2022-04-16T10:13:19Z", "end": "2024-02-22T09:37:52Z",
            "tags": ["city"]
        }),
    )
}

fn nameless() -> Feature {
    feature(
        point!(x: 0.0, y: 0.0).into(),
        &json!({ "name": null, "pop": null, "capital": null, "founded": null, "start": null }),
    )
}

fn text(filter: &str) -> Filter {
    Filter::parse(filter, FilterLang::Cql2Text, &places())
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
}

fn selects(filter: &str, feature: &Feature) -> bool {
    text(filter).matches(feature)
}

#[test]
fn a_comparison_with_a_null_property_selects_the_feature_neither_way() {
    let f = nameless();
    for filter in [
        "name = 'x'",
        "name <> 'x'",
        "NOT (name = 'x')",
        "pop > 1",
        "NOT pop > 1",
        "name LIKE '%'",
        "name NOT LIKE 'x%'",
        "pop BETWEEN 1 AND 2",
        "pop NOT BETWEEN 1 AND 2",
        "name IN ('x')",
        "name NOT IN ('x')",
        "capital",
        "NOT capital",
        "T_BEFORE(founded, DATE('2022-01-01'))",
        "T_DISJOINT(start, TIMESTAMP('2022-01-01T00:00:00Z'))",
        "T_INTERSECTS(INTERVAL(start, end), INTERVAL('..', '..'))",
    ] {
        assert!(!selects(filter, &f), "{filter} selected a null property");
    }
    assert!(selects("name IS NULL", &f));
    assert!(selects("NOT (name IS NOT NULL)", &f));
    assert!(
        selects("name IS NULL OR name = 'x'", &f),
        "unknown OR true is true"
    );
    assert!(!selects("name = 'x' OR pop = 1", &f));
}

#[test]
fn a_property_absent_from_the_feature_is_null() {
    let f = feature(point!(x: 0.0, y: 0.0).into(), &json!({}));
    assert!(selects("area IS NULL", &f));
    assert!(!selects("area < 10", &f));
}

#[test]
fn comparisons_between_and_in_follow_the_value_types() {
    let f = berlin();
    assert!(selects("name = 'Berlin' AND pop > 1000000", &f));
    assert!(selects("pop BETWEEN 3400000 AND 3400000", &f));
    assert!(selects("area IN (1, 891.8)", &f));
    assert!(selects("name > 'Athens' AND name < 'Bern'", &f));
    assert!(selects("founded < DATE('1300-01-01')", &f));
    assert!(
        selects("founded = '1237-10-28'", &f),
        "a string literal reads as a date"
    );
    assert!(selects("start >= TIMESTAMP('2022-04-16T10:13:19Z')", &f));
    assert!(selects("capital = true AND capital", &f));
    assert!(
        !selects("name IN ('berlin', 'Paris')", &f),
        "IN is case-sensitive"
    );
}

#[test]
fn like_supports_wildcards_and_escapes() {
    let f = feature(
        point!(x: 0.0, y: 0.0).into(),
        &json!({ "name": "100%_done" }),
    );
    assert!(selects("name LIKE '100%'", &f));
    assert!(selects(r"name LIKE '100\%\_done'", &f));
    assert!(!selects(r"name LIKE '100\%x%'", &f));
    assert!(selects("name LIKE '1_0%'", &f));
    assert!(selects("name NOT LIKE '200%'", &f));
}

#[test]
fn casei_and_accenti_compare_without_case_and_diacritics() {
    let f = feature(
        point!(x: 0.0, y: 0.0).into(),
        &json!({ "name": "København" }),
    );
    assert!(selects("CASEI(name) = CASEI('KØBENHAVN')", &f));
    assert!(!selects("name = 'københavn'", &f));
    assert!(selects("CASEI(name) LIKE CASEI('KØB%')", &f));
    let f = feature(point!(x: 0.0, y: 0.0).into(), &json!({ "name": "Zürich" }));
    assert!(selects("ACCENTI(name) = ACCENTI('Zurich')", &f));
    assert!(selects("CASEI(ACCENTI(name)) = 'zurich'", &f));
}

#[test]
fn arithmetic_and_property_to_property_comparisons_evaluate() {
    let f = berlin();
    assert!(selects("pop / 1000 > 3000", &f));
    assert!(selects("pop div 1000000 = 3", &f));
    assert!(selects("pop + 1 - 1 = pop", &f));
    assert!(selects("2 ^ 3 = 8 AND 7 % 4 = 3 AND -pop < 0", &f));
    assert!(selects("pop > area * 10", &f));
    assert!(selects("T_AFTER(end, start)", &f));
    assert!(!selects("pop / 0 > 1", &f), "division by zero is unknown");
}

#[test]
fn intervals_of_properties_follow_the_standard_relations() {
    let f = berlin();
    // Berlin: 2022-04-16T10:13:19Z .. 2024-02-22T09:37:52Z
    let relation = |op: &str, interval: &str| {
        selects(
            &format!("{op}(INTERVAL(start, end), INTERVAL({interval}))"),
            &f,
        )
    };
    assert!(relation(
        "T_STARTEDBY",
        "'2022-04-16T10:13:19Z', '2022-04-16T10:15:10Z'"
    ));
    assert!(!relation(
        "T_STARTS",
        "'2022-04-16T10:13:19Z', '2022-04-16T10:15:10Z'"
    ));
    assert!(relation(
        "T_OVERLAPPEDBY",
        "'2020-04-16T10:13:19Z', '2022-04-16T10:15:10Z'"
    ));
    assert!(relation("T_DURING", "'2022-01-01', '2024-12-31'"));
    assert!(relation("T_AFTER", "'..', '2022-04-16T10:13:18Z'"));
    assert!(
        !relation("T_AFTER", "'..', '2022-04-16T10:13:19Z'"),
        "touching is not after"
    );
    assert!(relation(
        "T_METBY",
        "'2020-01-01T00:00:00Z', '2022-04-16T10:13:19Z'"
    ));
    assert!(relation("T_MEETS", "'2024-02-22T09:37:52Z', '..'"));
    assert!(relation("T_INTERSECTS", "'2024-02-22T09:37:52Z', '..'"));
    assert!(relation("T_DISJOINT", "'2024-02-22T09:37:53Z', '..'"));
}

#[test]
fn a_date_is_a_whole_day_in_temporal_functions() {
    let f = feature(
        point!(x: 0.0, y: 0.0).into(),
        &json!({ "founded": "2022-04-16" }),
    );
    assert!(selects("T_EQUALS(founded, DATE('2022-04-16'))", &f));
    assert!(selects(
        "T_EQUALS(founded, INTERVAL('2022-04-16', '2022-04-16'))",
        &f
    ));
    assert!(!selects(
        "T_EQUALS(founded, INTERVAL('2022-01-01', '2022-12-31'))",
        &f
    ));
    assert!(selects(
        "T_DURING(founded, INTERVAL('2022-01-01', '2022-12-31'))",
        &f
    ));
    assert!(selects(
        "T_INTERSECTS(founded, TIMESTAMP('2022-04-16T23:00:00Z'))",
        &f
    ));
    assert!(selects("T_AFTER(founded, DATE('2022-04-15'))", &f));
}

#[test]
fn a_bbox_across_the_antimeridian_selects_both_sides_and_hints_two_rectangles() {
    let filter = text("S_INTERSECTS(geom, BBOX(150, -90, -150, 90))");
    let fiji = feature(point!(x: 178.4, y: -18.1).into(), &json!({}));
    let samoa = feature(point!(x: -171.8, y: -13.8).into(), &json!({}));
    let london = feature(point!(x: 0.0, y: 51.5).into(), &json!({}));
    assert!(filter.matches(&fiji));
    assert!(filter.matches(&samoa));
    assert!(!filter.matches(&london));
    assert_eq!(filter.bbox_hint().map(<[_]>::len), Some(2));
}

#[test]
fn spatial_functions_accept_the_literal_on_either_side() {
    let f = feature(point!(x: 5.0, y: 5.0).into(), &json!({}));
    assert!(selects(
        "S_WITHIN(geom, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)))",
        &f
    ));
    assert!(selects(
        "S_CONTAINS(POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)), geom)",
        &f
    ));
    assert!(!selects(
        "S_WITHIN(POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)), geom)",
        &f
    ));
    assert!(selects("S_DISJOINT(geom, POINT(6 6))", &f));
    assert!(selects("S_EQUALS(geom, POINT(5 5))", &f));
    assert!(
        selects("S_INTERSECTS(POINT(1 1), POINT(1 1))", &f),
        "literal with literal"
    );
}

#[test]
fn only_top_level_anded_intersecting_functions_give_a_hint() {
    let hinted = text("pop > 1 AND S_WITHIN(geom, BBOX(0, 0, 1, 1))");
    let rect = hinted.bbox_hint().unwrap()[0];
    assert_eq!((rect.min().x, rect.max().y), (0.0, 1.0));
    assert!(
        text("S_DISJOINT(geom, BBOX(0, 0, 1, 1))")
            .bbox_hint()
            .is_none()
    );
    assert!(
        text("pop > 1 OR S_INTERSECTS(geom, BBOX(0, 0, 1, 1))")
            .bbox_hint()
            .is_none()
    );
    assert!(
        text("NOT S_INTERSECTS(geom, BBOX(0, 0, 1, 1))")
            .bbox_hint()
            .is_none()
    );
}

#[test]
fn cql2_json_gives_the_same_answers_as_cql2_text() {
    let f = berlin();
    let json = json!({"op": "and", "args": [
        {"op": "like", "args": [{"property": "name"}, "B%"]},
        {"op": "s_intersects", "args": [{"property": "geom"}, {"bbox": [13, 52, 14, 53]}]},
        {"op": "t_after", "args": [{"property": "start"}, {"timestamp": "2022-01-01T00:00:00Z"}]}
    ]});
    let filter = Filter::parse(&json.to_string(), FilterLang::Cql2Json, &places()).unwrap();
    assert!(filter.matches(&f));
    assert!(!filter.matches(&nameless()));
}

#[test]
fn an_unknown_property_is_named_with_the_queryables() {
    let err = Filter::parse("colour = 'red'", FilterLang::Cql2Text, &places()).unwrap_err();
    let FilterError::UnknownProperty { name, queryables } = &err else {
        panic!("expected an unknown property, got {err}")
    };
    assert_eq!(name, "colour");
    assert_eq!(queryables[0], "geom");
    assert!(queryables.contains(&"pop".to_owned()));
    assert!(err.to_string().contains("geom, name, pop"), "{err}");
    let err = Filter::parse("NAME = 'x'", FilterLang::Cql2Text, &places()).unwrap_err();
    assert!(
        matches!(err, FilterError::UnknownProperty { .. }),
        "names are case-sensitive"
    );
    let err = Filter::parse(
        "S_INTERSECTS(geometry, POINT(0 0))",
        FilterLang::Cql2Text,
        &places(),
    )
    .unwrap_err();
    assert!(matches!(err, FilterError::UnknownProperty { name, .. } if name == "geometry"));
}

#[test]
fn operands_of_the_wrong_type_are_refused_when_compiling() {
    for filter in [
        "pop = 'many'",
        "name > 3",
        "founded = TIMESTAMP('2022-01-01T00:00:00Z')",
        "founded = 'yesterday'",
        "pop LIKE '1%'",
        "S_INTERSECTS(name, POINT(0 0))",
        "T_AFTER(name, DATE('2022-01-01'))",
        "geom = 1",
        "tags = 'city'",
        "pop",
        "name + 1 > 2",
        "S_INTERSECTS(geom, BBOX(0, 10, 1))",
        "T_AFTER(founded, DATE('2022-13-01'))",
        r"name LIKE 'abc\'",
    ] {
        let err = Filter::parse(filter, FilterLang::Cql2Text, &places());
        assert!(err.is_err(), "{filter} was accepted");
    }
}

#[test]
fn a_syntax_error_is_one_line_with_the_position() {
    let err = Filter::parse("name LIKE", FilterLang::Cql2Text, &places()).unwrap_err();
    let FilterError::Syntax { lang, message } = &err else {
        panic!("expected a syntax error, got {err}")
    };
    assert_eq!(*lang, FilterLang::Cql2Text);
    assert!(
        !message.contains('\n') && message.contains("1:"),
        "{message}"
    );
    assert!(matches!(
        Filter::parse("{\"op\": ", FilterLang::Cql2Json, &places()),
        Err(FilterError::Syntax { .. })
    ));
}

#[test]
fn functions_outside_the_supported_set_are_named() {
    let err =
        Filter::parse("A_CONTAINS(tags, ('a'))", FilterLang::Cql2Text, &places()).unwrap_err();
    assert!(
        matches!(err, FilterError::Unsupported(ref op) if op.eq_ignore_ascii_case("a_contains")),
        "{err}"
    );
}

#[test]
fn the_filter_of_a_property_map_reads_values_in_place() {
    // A feature with a number where the schema says string reads as null, not as a panic.
    let mut odd = Map::new();
    odd.insert("name".into(), json!(5));
    let f = feature(wkt! { POINT(0. 0.) }.into(), &Value::Object(odd));
    assert!(selects("name IS NULL", &f));
}

#[test]
fn a_filter_at_the_depth_and_operator_limits_selects_what_it_says_on_a_worker_sized_stack() {
    use super::limits::{MAX_FILTER_DEPTH, MAX_FILTER_OPERATORS};
    // An even number of NOT: the same as the comparison alone. 254 NOT, `=` and a unary minus.
    let text = format!(
        "{}{}pop = -5{}",
        "(".repeat(MAX_FILTER_DEPTH),
        "NOT ".repeat(MAX_FILTER_OPERATORS - 2),
        ")".repeat(MAX_FILTER_DEPTH)
    );
    let selected = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let filter = Filter::parse(&text, FilterLang::Cql2Text, &places()).unwrap();
            [-5, 5].map(|pop| {
                filter.matches(&feature(
                    point!(x: 0.0, y: 0.0).into(),
                    &json!({ "pop": pop }),
                ))
            })
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(selected, [true, false]);
}
