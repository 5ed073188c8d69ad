//! Filtering with CQL2 (OGC API – Features – Part 3): parsing CQL2 text and CQL2 JSON with the
//! `cql2` crate, checking the expression against a collection's queryables, and evaluating it over
//! our features without converting them to JSON.
//!
//! The queryables of a collection are the properties of its schema and its geometry (named by
//! [`CollectionDef::geometry_name`], `geometry` for the built-in layers). Property names are
//! case-sensitive, as CQL2 says. Logic is three-valued: a comparison with a null or missing
//! property is unknown, and an unknown predicate never selects a feature, negated or not.
//! Spatial functions use DE-9IM semantics in the plane of CRS84 longitude/latitude degrees;
//! temporal functions treat a date as its whole UTC day and a timestamp as an instant (see
//! [`temporal`]). A null property inside `INTERVAL(…)` makes the predicate unknown.
//!
//! Pure: no HTTP, no SQL.

mod compile;
mod eval;
pub mod like;
pub mod limits;
pub mod spatial;
pub mod temporal;

use std::fmt;

use geo::Rect;

use crate::model::Feature;
use crate::model::layers::CollectionDef;
use eval::{GeomOperand, Node};

/// The encoding of a filter (`filter-lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLang {
    /// `cql2-text`, the default.
    Cql2Text,
    /// `cql2-json`.
    Cql2Json,
}

impl FilterLang {
    /// The language named `name` as in `filter-lang`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "cql2-text" => Some(Self::Cql2Text),
            "cql2-json" => Some(Self::Cql2Json),
            _ => None,
        }
    }

    /// The name used in `filter-lang`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cql2Text => "cql2-text",
            Self::Cql2Json => "cql2-json",
        }
    }
}

impl fmt::Display for FilterLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a filter cannot be used on a collection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The text is not an expression of its language.
    #[error("not valid {lang}: {message}")]
    Syntax {
        /// The language it was read as.
        lang: FilterLang,
        /// The parser's message.
        message: String,
    },
    /// A property that is not a queryable of the collection.
    #[error("unknown property `{name}`; the queryables are {}", .queryables.join(", "))]
    UnknownProperty {
        /// The name as written.
        name: String,
        /// The collection's queryables.
        queryables: Vec<String>,
    },
    /// An operand of a type its operator does not take, or a wrong number of operands.
    #[error("{operator}: {problem}")]
    Type {
        /// The operator, function or property concerned.
        operator: String,
        /// What is wrong.
        problem: String,
    },
    /// An operator or function this service does not evaluate.
    #[error(
        "operator or function `{0}` is not supported (supported: comparisons, LIKE, BETWEEN, IN, IS NULL, AND, OR, NOT, arithmetic, CASEI, ACCENTI, S_* spatial and T_* temporal functions)"
    )]
    Unsupported(String),
    /// A filter larger or deeper than this service parses (see [`limits`]); `limit` names the
    /// limit exceeded.
    #[error("too large or too deeply nested: {limit}")]
    TooComplex {
        /// The limit exceeded, in words.
        limit: String,
    },
    /// A literal that does not read as its type.
    #[error("invalid {kind} {text}: {reason}")]
    Literal {
        /// What the literal should be (date, timestamp, geometry, BBOX, LIKE pattern).
        kind: &'static str,
        /// The literal as written.
        text: String,
        /// What is wrong.
        reason: String,
    },
}

/// A compiled CQL2 filter for one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    root: Node,
    hint: Option<Vec<Rect<f64>>>,
}

/// Makes a pest error (several lines with an ASCII-art pointer) one line: position and message.
fn one_line(message: &str) -> String {
    let position = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("-->"))
        .map(str::trim);
    let problem = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("= "))
        .map(str::trim);
    match (position, problem) {
        (Some(position), Some(problem)) => format!("at line:column {position}: {problem}"),
        _ => message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

impl Filter {
    /// Parses `text` in `lang` and compiles it for the collection `def`.
    ///
    /// ```
    /// use citygrid::filter::{Filter, FilterLang};
    /// use citygrid::model::layers::builtin;
    /// let manholes = builtin().into_iter().find(|d| d.id.as_str() == "manholes").unwrap();
    /// assert!(Filter::parse("status = 'damaged' AND diameter_mm > 600", FilterLang::Cql2Text, &manholes).is_ok());
    /// assert!(Filter::parse("colour = 'red'", FilterLang::Cql2Text, &manholes).is_err());
    /// ```
    pub fn parse(text: &str, lang: FilterLang, def: &CollectionDef) -> Result<Self, FilterError> {
        // Before any parser: the cql2 crate recurses per level of nesting (see `limits`).
        limits::check(text, lang)?;
        let expr = match lang {
            FilterLang::Cql2Text => cql2::parse_text(text).map_err(|e| e.to_string()),
            FilterLang::Cql2Json => cql2::parse_json(text).map_err(|e| e.to_string()),
        }
        .map_err(|message| FilterError::Syntax {
            lang,
            message: one_line(&message),
        })?;
        Self::from_expr(&expr, def)
    }

    /// Compiles an expression already parsed (e.g. CQL2 JSON inside a request body).
    pub fn from_expr(expr: &cql2::Expr, def: &CollectionDef) -> Result<Self, FilterError> {
        let root = compile::Compiler::new(def).predicate(expr)?;
        let hint = hint(&root);
        Ok(Self { root, hint })
    }

    /// Whether `feature` is selected: the expression is true (not false, not unknown).
    pub fn matches(&self, feature: &Feature) -> bool {
        self.root.eval(feature) == Some(true)
    }

    /// Rectangles every selected feature intersects, when the filter says so (a spatial function
    /// other than `S_DISJOINT` with a literal, alone or in a top-level `AND`): an index may narrow
    /// its candidates to them before calling [`Filter::matches`].
    pub fn bbox_hint(&self) -> Option<&[Rect<f64>]> {
        self.hint.as_deref()
    }
}

fn hint(node: &Node) -> Option<Vec<Rect<f64>>> {
    match node {
        Node::Spatial {
            op,
            left: GeomOperand::Feature,
            right: GeomOperand::Literal { rects, .. },
        } if op.implies_intersection() => Some(rects.clone()),
        Node::And(nodes) => nodes.iter().find_map(hint),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
