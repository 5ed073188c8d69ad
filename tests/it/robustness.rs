//! No input crashes the server: arbitrary query strings and paths get a 2xx or a 4xx problem,
//! never a 5xx.

use proptest::prelude::*;

use crate::support::get;

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("limit".to_owned()),
        Just("offset".to_owned()),
        Just("bbox".to_owned()),
        Just("datetime".to_owned()),
        Just("status".to_owned()),
        Just("diameter_mm".to_owned()),
        Just("f".to_owned()),
        "[a-z_-]{1,8}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?[0-9]{1,12}",
        "-?[0-9]{1,3}\\.[0-9]{1,8}(,-?[0-9]{1,3}\\.[0-9]{0,8}){0,6}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(/\\.\\.)?",
        "\\PC{0,12}",
        Just("NaN".to_owned()),
        Just("1e309".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_item_queries_never_cause_a_server_error(pairs in proptest::collection::vec((piece(), value()), 0..4)) {
        let query = serde_urlencoded::to_string(&pairs).unwrap();
        for collection in ["manholes", "grid_cells"] {
            let reply = get(&format!("/collections/{collection}/items?{query}"));
            prop_assert!(reply.status.as_u16() < 500, "{} → {} {}", query, reply.status, reply.text());
            if !reply.status.is_success() {
                prop_assert_eq!(reply.content_type(), "application/problem+json");
            }
        }
    }

    #[test]
    fn arbitrary_paths_never_cause_a_server_error(path in "(/[a-zA-Z0-9_%.~-]{0,12}){1,5}") {
        let reply = get(&path);
        prop_assert!(reply.status.as_u16() < 500, "{} → {}", path, reply.status);
    }
}
