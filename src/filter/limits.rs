//! How large and how deep a filter may be, checked on its text before any parser sees it.
//!
//! The `cql2` crate parses with recursive descent (pest), a recursive Pratt parser and a recursive
//! normalisation, and every level of nesting costs stack: on a 2 MiB thread (a tokio worker's
//! size) about 375 nested parentheses, 1,600 chained comparisons or 3,200 chained `NOT` or unary
//! minus abort the process. So the text is scanned once, linearly and without recursion, and
//! refused when it is longer than [`MAX_FILTER_BYTES`], nests parentheses and brackets deeper than
//! [`MAX_FILTER_DEPTH`] (JSON objects and arrays deeper than [`MAX_FILTER_JSON_DEPTH`]), or chains
//! more than [`MAX_FILTER_OPERATORS`] operators that deepen the expression (`NOT`, comparisons,
//! `LIKE`, `IN`, `BETWEEN`, arithmetic, unary minus) or more than [`MAX_FILTER_CONNECTIVES`]
//! `AND`/`OR` (which the parser keeps flat). A WKT literal is skipped as one operand: its signs are
//! not operators, and its size is bounded by its vertex count when it is compiled.
//!
//! The limits are far above what the CQL2 conformance tests use (depth 4, about 20 operators).

use super::{FilterError, FilterLang};

/// The longest filter accepted, bytes (room for a query polygon of the largest vertex count).
pub const MAX_FILTER_BYTES: usize = 1024 * 1024;
/// The deepest nesting of parentheses and brackets in cql2-text (function calls and lists
/// included).
pub const MAX_FILTER_DEPTH: usize = 32;
/// The deepest nesting of objects and arrays in cql2-json (an expression level is an object and
/// its `args` array, so this is also 32 levels of expressions).
pub const MAX_FILTER_JSON_DEPTH: usize = 2 * MAX_FILTER_DEPTH;
/// The most operators that deepen an expression: `NOT`, comparisons, `LIKE`, `IN`, `BETWEEN`,
/// arithmetic and unary minus.
pub const MAX_FILTER_OPERATORS: usize = 256;
/// The most `AND` and `OR` connectives.
pub const MAX_FILTER_CONNECTIVES: usize = 1024;
/// The deepest expression tree compiled (a tree built in code rather than parsed from text is
/// checked here too): nesting and operators together.
pub const MAX_EXPRESSION_DEPTH: usize = MAX_FILTER_DEPTH + MAX_FILTER_OPERATORS;

/// The geometry keywords of WKT, whose parenthesised coordinates are one operand.
const WKT_KEYWORDS: [&str; 7] = [
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
];

/// The keywords that are operators deepening the tree.
const WORD_OPERATORS: [&str; 5] = ["NOT", "LIKE", "IN", "BETWEEN", "DIV"];

fn too_complex(limit: String) -> FilterError {
    FilterError::TooComplex { limit }
}

/// Refuses `text` in `lang` when it is larger or deeper than the limits above; linear in its
/// length, no allocation, no recursion.
pub(crate) fn check(text: &str, lang: FilterLang) -> Result<(), FilterError> {
    if text.len() > MAX_FILTER_BYTES {
        return Err(too_complex(format!(
            "longer than {MAX_FILTER_BYTES} bytes ({} bytes)",
            text.len()
        )));
    }
    match lang {
        FilterLang::Cql2Text => check_text(text.as_bytes()),
        FilterLang::Cql2Json => check_json(text.as_bytes()),
    }
}

fn depth_error() -> FilterError {
    too_complex(format!(
        "nesting deeper than {MAX_FILTER_DEPTH} levels of parentheses and brackets"
    ))
}

/// The index just after the quoted run starting at `start` (a doubled quote escapes it).
fn skip_quoted(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    i
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':') || b >= 0x80
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// After a WKT keyword at `i` (just past the word): the index past its balanced coordinates, if
/// a parenthesis follows (after an optional `Z`, `M` or `ZM`), checking their depth.
fn skip_wkt(bytes: &[u8], i: usize, depth: usize) -> Result<Option<usize>, FilterError> {
    let mut j = skip_spaces(bytes, i);
    for marker in [&b"ZM"[..], b"Z", b"M"] {
        if bytes[j..].len() >= marker.len()
            && bytes[j..j + marker.len()].eq_ignore_ascii_case(marker)
            && !bytes
                .get(j + marker.len())
                .copied()
                .is_some_and(is_word_byte)
        {
            j = skip_spaces(bytes, j + marker.len());
            break;
        }
    }
    if bytes.get(j) != Some(&b'(') {
        return Ok(None);
    }
    let mut level = depth;
    while j < bytes.len() {
        match bytes[j] {
            b'(' => {
                level += 1;
                if level > MAX_FILTER_DEPTH {
                    return Err(depth_error());
                }
            }
            b')' => {
                level -= 1;
                if level == depth {
                    return Ok(Some(j + 1));
                }
            }
            _ => {}
        }
        j += 1;
    }
    Ok(Some(j))
}

fn check_text(bytes: &[u8]) -> Result<(), FilterError> {
    let mut depth = 0usize;
    let mut operators = 0usize;
    let mut connectives = 0usize;
    // Whether the last token ends an operand (so a following `-` is binary, not a sign).
    let mut after_operand = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' | b'"' => {
                i = skip_quoted(bytes, i);
                after_operand = true;
                continue;
            }
            b'(' | b'[' => {
                depth += 1;
                if depth > MAX_FILTER_DEPTH {
                    return Err(depth_error());
                }
                after_operand = false;
            }
            b')' | b']' => {
                depth = depth.saturating_sub(1);
                after_operand = true;
            }
            b',' => after_operand = false,
            b'0'..=b'9' => {
                while bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
                {
                    // An exponent's sign belongs to the number.
                    if matches!(bytes[i], b'e' | b'E')
                        && matches!(bytes.get(i + 1), Some(b'+' | b'-'))
                    {
                        i += 1;
                    }
                    i += 1;
                }
                after_operand = true;
                continue;
            }
            b'-' | b'+' if !after_operand && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                // The sign of a number literal.
            }
            b'=' | b'<' | b'>' | b'!' | b'+' | b'-' | b'*' | b'/' | b'%' | b'^' => {
                let mut j = i + 1;
                // `<=`, `>=`, `<>`, `!=` are one operator.
                if matches!(bytes.get(j), Some(b'=' | b'>')) && matches!(b, b'<' | b'>' | b'!') {
                    j += 1;
                }
                operators += 1;
                if operators > MAX_FILTER_OPERATORS {
                    return Err(operators_error());
                }
                after_operand = false;
                i = j;
                continue;
            }
            _ if is_word_byte(b) => {
                let start = i;
                while bytes.get(i).copied().is_some_and(is_word_byte) {
                    i += 1;
                }
                let word = &bytes[start..i];
                let is = |k: &str| word.eq_ignore_ascii_case(k.as_bytes());
                if is("AND") || is("OR") {
                    connectives += 1;
                    if connectives > MAX_FILTER_CONNECTIVES {
                        return Err(too_complex(format!(
                            "more than {MAX_FILTER_CONNECTIVES} AND/OR connectives"
                        )));
                    }
                    after_operand = false;
                } else if WORD_OPERATORS.iter().any(|k| is(k)) {
                    operators += 1;
                    if operators > MAX_FILTER_OPERATORS {
                        return Err(operators_error());
                    }
                    after_operand = false;
                } else if WKT_KEYWORDS.iter().any(|k| is(k)) {
                    if let Some(end) = skip_wkt(bytes, i, depth)? {
                        i = end;
                    }
                    after_operand = true;
                } else {
                    after_operand = !is("IS");
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn operators_error() -> FilterError {
    too_complex(format!(
        "more than {MAX_FILTER_OPERATORS} operators (NOT, comparisons, LIKE, IN, BETWEEN, arithmetic, unary minus)"
    ))
}

fn check_json(bytes: &[u8]) -> Result<(), FilterError> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_FILTER_JSON_DEPTH {
                    return Err(too_complex(format!(
                        "nesting deeper than {MAX_FILTER_JSON_DEPTH} levels of JSON objects and arrays"
                    )));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Counts the depth of recursion while compiling, refusing a tree deeper than
/// [`MAX_EXPRESSION_DEPTH`] (an expression built in code skips the text scan).
#[derive(Debug, Default)]
pub(crate) struct DepthGauge {
    depth: std::cell::Cell<usize>,
}

/// One level of [`DepthGauge`], released on drop.
pub(crate) struct Level<'a>(&'a DepthGauge);

impl DepthGauge {
    /// Enters one level deeper, or refuses.
    pub(crate) fn enter(&self) -> Result<Level<'_>, FilterError> {
        let depth = self.depth.get() + 1;
        if depth > MAX_EXPRESSION_DEPTH {
            return Err(too_complex(format!(
                "an expression deeper than {MAX_EXPRESSION_DEPTH} levels"
            )));
        }
        self.depth.set(depth);
        Ok(Level(self))
    }
}

impl Drop for Level<'_> {
    fn drop(&mut self) {
        self.0.depth.set(self.0.depth.get() - 1);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::filter::Filter;
    use crate::model::layers::{CollectionDef, builtin};

    fn manholes() -> CollectionDef {
        builtin()
            .into_iter()
            .find(|d| d.id.as_str() == "manholes")
            .unwrap()
    }

    /// Parses `text` as the API does, on a thread with the 2 MiB stack of a tokio worker; a
    /// stack overflow would abort the whole test binary.
    fn parse_on_a_worker_sized_stack(text: String, lang: FilterLang) -> Result<(), FilterError> {
        std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || Filter::parse(&text, lang, &manholes()).map(|_| ()))
            .unwrap()
            .join()
            .expect("parsing does not panic")
    }

    fn refused_for(text: String, lang: FilterLang) -> String {
        match parse_on_a_worker_sized_stack(text, lang) {
            Err(FilterError::TooComplex { limit }) => limit,
            other => panic!("expected a refusal for complexity, got {other:?}"),
        }
    }

    #[test]
    fn three_hundred_and_seventy_five_nested_parentheses_are_refused_naming_the_depth() {
        let text = format!("{}diameter_mm = 1{}", "(".repeat(375), ")".repeat(375));
        assert!(refused_for(text, FilterLang::Cql2Text).contains("deeper than 32 levels"));
    }

    #[test]
    fn three_thousand_two_hundred_chained_nots_are_refused_naming_the_operator_limit() {
        let text = format!("{}diameter_mm = 1", "NOT ".repeat(3200));
        assert!(refused_for(text, FilterLang::Cql2Text).contains("more than 256 operators"));
    }

    #[test]
    fn three_thousand_two_hundred_unary_minus_are_refused_written_together_or_apart() {
        for minus in ["-", "- "] {
            let text = format!("diameter_mm = {}1", minus.repeat(3200));
            assert!(refused_for(text, FilterLang::Cql2Text).contains("operators"));
        }
    }

    #[test]
    fn long_chains_of_comparisons_and_subtractions_are_refused() {
        let text = format!("diameter_mm = {}", vec!["1"; 1600].join(" - "));
        assert!(refused_for(text, FilterLang::Cql2Text).contains("operators"));
        // A chain of comparisons reaches the operator limit first; bare terms reach this one.
        let text = vec!["true"; MAX_FILTER_CONNECTIVES + 2].join(" OR ");
        assert!(refused_for(text, FilterLang::Cql2Text).contains("AND/OR"));
    }

    #[test]
    fn deep_cql2_json_is_refused_before_the_json_parser_naming_the_depth() {
        let mut text = String::from(r#"{"op":"=","args":[{"property":"diameter_mm"},1]}"#);
        for _ in 0..3200 {
            text = format!(r#"{{"op":"not","args":[{text}]}}"#);
        }
        assert!(refused_for(text, FilterLang::Cql2Json).contains("64 levels of JSON"));
    }

    #[test]
    fn a_filter_longer_than_the_byte_limit_is_refused() {
        let text = format!("status = '{}'", "x".repeat(MAX_FILTER_BYTES));
        assert!(refused_for(text, FilterLang::Cql2Text).contains("bytes"));
    }

    #[test]
    fn filters_at_every_limit_at_once_parse_compile_and_evaluate_on_a_worker_sized_stack() {
        // 32 levels of parentheses around 256 operators: 254 NOT, one `=`, one unary minus.
        let inner = format!(
            "{}diameter_mm = -1",
            "NOT ".repeat(MAX_FILTER_OPERATORS - 2)
        );
        let text = format!(
            "{}{inner}{}",
            "(".repeat(MAX_FILTER_DEPTH),
            ")".repeat(MAX_FILTER_DEPTH)
        );
        assert_eq!(
            parse_on_a_worker_sized_stack(text, FilterLang::Cql2Text),
            Ok(())
        );
        let sums = format!(
            "{}diameter_mm{} = 1",
            "(".repeat(MAX_FILTER_DEPTH),
            ")".repeat(MAX_FILTER_DEPTH)
        );
        assert_eq!(
            parse_on_a_worker_sized_stack(sums, FilterLang::Cql2Text),
            Ok(())
        );
        let minus = format!("diameter_mm = {}1", "- ".repeat(MAX_FILTER_OPERATORS - 1));
        assert_eq!(
            parse_on_a_worker_sized_stack(minus, FilterLang::Cql2Text),
            Ok(())
        );
        let connectives = vec!["true"; MAX_FILTER_CONNECTIVES + 1].join(" OR ");
        assert_eq!(
            parse_on_a_worker_sized_stack(connectives, FilterLang::Cql2Text),
            Ok(())
        );
        let mut json = String::from(r#"{"op":"=","args":[{"property":"diameter_mm"},1]}"#);
        // The comparison nests 3 levels, each NOT 2 more: 63 levels.
        for _ in 0..(MAX_FILTER_JSON_DEPTH - 3) / 2 {
            json = format!(r#"{{"op":"not","args":[{json}]}}"#);
        }
        assert_eq!(
            parse_on_a_worker_sized_stack(json, FilterLang::Cql2Json),
            Ok(())
        );
    }

    #[test]
    fn the_signs_of_a_wkt_literal_are_not_operators() {
        let ring: Vec<String> = (0..2000)
            .map(|i| format!("-{}.5 -{}.25", i % 90, i % 80))
            .chain(std::iter::once("-0.5 -0.25".to_owned()))
            .collect();
        let text = format!(
            "S_INTERSECTS(geometry, LINESTRING({})) AND diameter_mm > -1",
            ring.join(",")
        );
        assert!(check(&text, FilterLang::Cql2Text).is_ok());
    }

    #[test]
    fn strings_may_hold_any_number_of_parentheses_and_operators() {
        let text = format!("status = '{}'", "((((NOT ----".repeat(1000));
        assert!(check(&text, FilterLang::Cql2Text).is_ok());
        let json = format!(
            r#"{{"op":"=","args":[{{"property":"status"}},"{}"]}}"#,
            "[[[{{".repeat(1000)
        );
        assert!(check(&json, FilterLang::Cql2Json).is_ok());
    }

    #[test]
    fn an_expression_built_in_code_is_refused_when_deeper_than_the_compiler_allows() {
        let mut expr = cql2::Expr::Bool(true);
        for _ in 0..=MAX_EXPRESSION_DEPTH {
            expr = cql2::Expr::Operation {
                op: "not".into(),
                args: vec![Box::new(expr)],
            };
        }
        let refused = Filter::from_expr(&expr, &manholes());
        assert!(matches!(refused, Err(FilterError::TooComplex { .. })));
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("(".to_owned()),
            Just(")".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just("NOT ".to_owned()),
            Just("-".to_owned()),
            Just("- ".to_owned()),
            Just(" AND ".to_owned()),
            Just(" OR ".to_owned()),
            Just("diameter_mm".to_owned()),
            Just(" = ".to_owned()),
            Just(" <> ".to_owned()),
            Just(" * ".to_owned()),
            Just("1".to_owned()),
            Just("1e-3".to_owned()),
            Just("'x'".to_owned()),
            Just("\"status\"".to_owned()),
            Just(",".to_owned()),
            Just(" LIKE ".to_owned()),
            Just(" IN ".to_owned()),
            Just(" BETWEEN ".to_owned()),
            Just(" IS NULL".to_owned()),
            Just("S_INTERSECTS(geometry, ".to_owned()),
            Just("POLYGON((0 0,1 0,1 1,0 0))".to_owned()),
            Just("POINT Z(".to_owned()),
            Just("CASEI(".to_owned()),
            Just("DATE('2024-01-01')".to_owned()),
            Just("INTERVAL(".to_owned()),
            "\\PC{0,4}",
        ]
    }

    fn json_node() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just(r#"{"property":"diameter_mm"}"#.to_owned()),
            Just("1".to_owned()),
            Just(r#""x""#.to_owned()),
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just(r#"{"type":"Point","coordinates":[1,2]}"#.to_owned()),
            Just("[".to_owned()),
        ];
        leaf.prop_recursive(8, 64, 4, |inner| {
            (
                prop_oneof![
                    Just("not"),
                    Just("and"),
                    Just("="),
                    Just("-"),
                    Just("s_intersects"),
                    Just("like"),
                    Just("in")
                ],
                proptest::collection::vec(inner, 0..4),
            )
                .prop_map(|(op, args)| format!(r#"{{"op":"{op}","args":[{}]}}"#, args.join(",")))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

        #[test]
        fn random_and_adversarial_cql2_text_gives_a_filter_or_an_error_never_a_crash(
            runs in proptest::collection::vec((token(), 1usize..2500), 1..8)
        ) {
            let text: String = runs.into_iter().map(|(t, n)| t.repeat(n)).collect();
            let _ = parse_on_a_worker_sized_stack(text, FilterLang::Cql2Text);
        }

        #[test]
        fn random_and_adversarial_cql2_json_gives_a_filter_or_an_error_never_a_crash(
            node in json_node(),
            wrap in 0usize..200,
        ) {
            let mut text = node;
            for _ in 0..wrap {
                text = format!(r#"{{"op":"not","args":[{text}]}}"#);
            }
            let _ = parse_on_a_worker_sized_stack(text, FilterLang::Cql2Json);
        }
    }
}
