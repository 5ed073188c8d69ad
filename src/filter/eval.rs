//! The compiled form of a filter and its evaluation over one feature, in CQL2's three-valued
//! logic: a predicate is true, false or unknown (`None`), and a comparison with a null or missing
//! property is unknown, so that neither it nor its negation selects the feature.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use geo::{Geometry, Rect};

use super::like::Pattern;
use super::spatial::SpatialOp;
use super::temporal::{Span, TemporalOp, parse_date, parse_timestamp};
use crate::model::{Feature, PropertyValue};

/// The static type of a value expression, checked when the filter is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text.
    Text,
    /// A number (integer or not).
    Number,
    /// `true` or `false`.
    Boolean,
    /// A calendar date.
    Date,
    /// A timestamp.
    Instant,
    /// The `NULL` literal, which fits every type.
    Null,
}

impl Kind {
    /// How the kind is named in error messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::Text => "a string",
            Self::Number => "a number",
            Self::Boolean => "a boolean",
            Self::Date => "a date",
            Self::Instant => "a timestamp",
            Self::Null => "null",
        }
    }
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    /// Null, or a property the feature does not have.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// Text.
    Text(Cow<'a, str>),
    /// A date.
    Date(NaiveDate),
    /// A timestamp.
    Instant(DateTime<Utc>),
}

impl Val<'_> {
    fn compare(&self, other: &Val<'_>) -> Option<Ordering> {
        match (self, other) {
            (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
            (Val::Number(a), Val::Number(b)) => a.partial_cmp(b),
            (Val::Text(a), Val::Text(b)) => Some(a.cmp(b)),
            (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
            (Val::Instant(a), Val::Instant(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
    /// `^`
    Pow,
    /// `div`: division truncated toward zero.
    IntDiv,
}

impl ArithOp {
    pub(crate) fn from_name(op: &str) -> Option<Self> {
        Some(match op {
            "+" => Self::Add,
            "-" => Self::Sub,
            "*" => Self::Mul,
            "/" => Self::Div,
            "%" => Self::Rem,
            "^" => Self::Pow,
            "div" => Self::IntDiv,
            _ => return None,
        })
    }

    fn apply(self, a: f64, b: f64) -> Option<f64> {
        let out = match self {
            Self::Add => a + b,
            Self::Sub => a - b,
            Self::Mul => a * b,
            Self::Div => a / b,
            Self::Rem => a % b,
            Self::Pow => a.powf(b),
            Self::IntDiv => (a / b).trunc(),
        };
        out.is_finite().then_some(out)
    }
}

/// A value expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    /// A property of the feature, read as `kind`.
    Property { name: Box<str>, kind: Kind },
    /// A constant.
    Const(Val<'static>),
    /// Arithmetic on numbers.
    Arith {
        op: ArithOp,
        left: Box<Scalar>,
        right: Box<Scalar>,
    },
    /// `CASEI`: the text in lower case.
    CaseI(Box<Scalar>),
    /// `ACCENTI`: the text without diacritics.
    AccentI(Box<Scalar>),
}

/// Reads a JSON property value as `kind`; anything else reads as null.
fn property_value(value: Option<&PropertyValue>, kind: Kind) -> Val<'_> {
    let Some(value) = value else {
        return Val::Null;
    };
    let read = match kind {
        Kind::Text => value.as_str().map(|s| Val::Text(Cow::Borrowed(s))),
        Kind::Number => value.as_f64().map(Val::Number),
        Kind::Boolean => value.as_bool().map(Val::Bool),
        Kind::Date => value.as_str().and_then(parse_date).map(Val::Date),
        Kind::Instant => value.as_str().and_then(parse_timestamp).map(Val::Instant),
        Kind::Null => None,
    };
    read.unwrap_or(Val::Null)
}

/// Removes diacritics: canonical decomposition, then combining marks dropped.
pub(crate) fn strip_accents(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    use unicode_normalization::char::is_combining_mark;
    text.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

impl Scalar {
    /// The value for `feature`.
    pub(crate) fn eval<'a>(&'a self, feature: &'a Feature) -> Val<'a> {
        match self {
            Self::Property { name, kind } => {
                property_value(feature.properties.get(name.as_ref()), *kind)
            }
            Self::Const(Val::Text(text)) => Val::Text(Cow::Borrowed(text.as_ref())),
            Self::Const(value) => value.clone(),
            Self::Arith { op, left, right } => match (left.eval(feature), right.eval(feature)) {
                (Val::Number(a), Val::Number(b)) => op.apply(a, b).map_or(Val::Null, Val::Number),
                _ => Val::Null,
            },
            Self::CaseI(inner) => match inner.eval(feature) {
                Val::Text(text) => Val::Text(Cow::Owned(text.to_lowercase())),
                other => other,
            },
            Self::AccentI(inner) => match inner.eval(feature) {
                Val::Text(text) => Val::Text(Cow::Owned(strip_accents(&text))),
                other => other,
            },
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    pub(crate) fn from_name(op: &str) -> Option<Self> {
        Some(match op {
            "=" => Self::Eq,
            "<>" | "!=" => Self::Ne,
            "<" => Self::Lt,
            "<=" => Self::Le,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            _ => return None,
        })
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Eq => ordering == Ordering::Equal,
            Self::Ne => ordering != Ordering::Equal,
            Self::Lt => ordering == Ordering::Less,
            Self::Le => ordering != Ordering::Greater,
            Self::Gt => ordering == Ordering::Greater,
            Self::Ge => ordering != Ordering::Less,
        }
    }
}

/// One side of a spatial function.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GeomOperand {
    /// The feature's geometry.
    Feature,
    /// A literal geometry (WKT, GeoJSON or `BBOX`): its bounding rectangle, and the rectangles
    /// an index can search (two for a `BBOX` across the antimeridian).
    Literal {
        geometry: Box<Geometry<f64>>,
        rect: Option<Rect<f64>>,
        rects: Vec<Rect<f64>>,
    },
}

/// One bound of a temporal value: a property, a constant span, or `..`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TimeBound {
    /// A date or timestamp property.
    Property { name: Box<str>, kind: Kind },
    /// A date or timestamp literal.
    Const(Span),
    /// `..`: unbounded.
    Open,
}

impl TimeBound {
    fn eval(&self, feature: &Feature) -> Option<Span> {
        match self {
            Self::Property { name, kind } => {
                match property_value(feature.properties.get(name.as_ref()), *kind) {
                    Val::Date(d) => Some(Span::day(d)),
                    Val::Instant(t) => Some(Span::instant(t)),
                    _ => None,
                }
            }
            Self::Const(span) => Some(*span),
            Self::Open => Some(Span::unbounded()),
        }
    }
}

/// One side of a temporal function.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TimeOperand {
    /// A date or an instant.
    Instant(TimeBound),
    /// `INTERVAL(start, end)`.
    Interval(TimeBound, TimeBound),
}

impl TimeOperand {
    /// The span for `feature`; `None` when a property is null (the predicate is then unknown).
    pub(crate) fn eval(&self, feature: &Feature) -> Option<Span> {
        match self {
            Self::Instant(bound) => bound.eval(feature),
            Self::Interval(start, end) => {
                let start = start.eval(feature)?;
                let end = end.eval(feature)?;
                Some(Span {
                    start: start.start,
                    end: end.end,
                })
            }
        }
    }
}

/// A predicate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A constant truth value (`None`: unknown).
    Const(Option<bool>),
    /// All true.
    And(Vec<Node>),
    /// Any true.
    Or(Vec<Node>),
    /// Negation (unknown stays unknown).
    Not(Box<Node>),
    /// A boolean value used as a predicate.
    Truth(Scalar),
    /// A comparison.
    Compare {
        op: CmpOp,
        left: Scalar,
        right: Scalar,
    },
    /// `LIKE` with a constant pattern.
    Like { value: Scalar, pattern: Pattern },
    /// `BETWEEN low AND high`, both inclusive.
    Between {
        value: Scalar,
        low: Scalar,
        high: Scalar,
    },
    /// `IN (list)`.
    In { value: Scalar, list: Vec<Scalar> },
    /// `IS NULL`.
    IsNull(Scalar),
    /// A spatial function.
    Spatial {
        op: SpatialOp,
        left: GeomOperand,
        right: GeomOperand,
    },
    /// A temporal function.
    Temporal {
        op: TemporalOp,
        left: TimeOperand,
        right: TimeOperand,
    },
}

fn geometry<'a>(
    operand: &'a GeomOperand,
    feature: &'a Feature,
) -> (&'a Geometry<f64>, Option<Rect<f64>>) {
    match operand {
        GeomOperand::Feature => (&feature.geometry, feature.bbox),
        GeomOperand::Literal { geometry, rect, .. } => (geometry, *rect),
    }
}

impl Node {
    /// The truth value for `feature`.
    pub(crate) fn eval(&self, feature: &Feature) -> Option<bool> {
        match self {
            Self::Const(value) => *value,
            Self::And(nodes) => {
                let mut unknown = false;
                for node in nodes {
                    match node.eval(feature) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                (!unknown).then_some(true)
            }
            Self::Or(nodes) => {
                let mut unknown = false;
                for node in nodes {
                    match node.eval(feature) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
            Self::Not(node) => node.eval(feature).map(|b| !b),
            Self::Truth(scalar) => match scalar.eval(feature) {
                Val::Bool(b) => Some(b),
                _ => None,
            },
            Self::Compare { op, left, right } => left
                .eval(feature)
                .compare(&right.eval(feature))
                .map(|ordering| op.holds(ordering)),
            Self::Like { value, pattern } => match value.eval(feature) {
                Val::Text(text) => Some(pattern.matches(&text)),
                _ => None,
            },
            Self::Between { value, low, high } => {
                let value = value.eval(feature);
                let above = value.compare(&low.eval(feature))?;
                let below = value.compare(&high.eval(feature))?;
                Some(above != Ordering::Less && below != Ordering::Greater)
            }
            Self::In { value, list } => {
                let value = value.eval(feature);
                if value == Val::Null {
                    return None;
                }
                let mut unknown = false;
                for item in list {
                    match value.compare(&item.eval(feature)) {
                        Some(Ordering::Equal) => return Some(true),
                        None => unknown = true,
                        Some(_) => {}
                    }
                }
                (!unknown).then_some(false)
            }
            Self::IsNull(scalar) => Some(scalar.eval(feature) == Val::Null),
            Self::Spatial { op, left, right } => {
                let (a, _) = geometry(left, feature);
                let (b, b_rect) = geometry(right, feature);
                Some(op.holds(a, b, b_rect))
            }
            Self::Temporal { op, left, right } => {
                let a = left.eval(feature)?;
                let b = right.eval(feature)?;
                Some(op.holds(a, b))
            }
        }
    }
}
