//! From the cql2 crate's syntax tree to the evaluator's tree: every property name checked against
//! the collection's queryables, every operand's type checked against its operator, literals
//! parsed once (dates, timestamps, geometries, `BBOX`, `LIKE` patterns).

use std::borrow::Cow;

use cql2::Expr;
use geo::BoundingRect;

use super::FilterError;
use super::eval::{ArithOp, CmpOp, GeomOperand, Kind, Node, Scalar, TimeBound, TimeOperand, Val};
use super::like::Pattern;
use super::limits::DepthGauge;
use super::spatial::{SpatialOp, bbox_geometry};
use super::temporal::{Span, TemporalOp, parse_date, parse_timestamp};
use crate::model::Bbox;
use crate::model::layers::CollectionDef;
use crate::model::schema::PropertyType;

/// Compiles expressions for one collection.
pub(crate) struct Compiler<'a> {
    def: &'a CollectionDef,
    depth: DepthGauge,
}

fn type_error(operator: &str, problem: impl Into<String>) -> FilterError {
    FilterError::Type {
        operator: operator.to_owned(),
        problem: problem.into(),
    }
}

fn arity(operator: &str, args: &[Box<Expr>], expected: usize) -> Result<(), FilterError> {
    if args.len() == expected {
        Ok(())
    } else {
        Err(type_error(
            operator,
            format!("expects {expected} arguments, got {}", args.len()),
        ))
    }
}

/// A short rendering of an expression for messages.
fn shown(expr: &Expr) -> String {
    let mut text = expr.to_text().unwrap_or_else(|_| format!("{expr:?}"));
    if text.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn literal_error(kind: &'static str, text: &str, reason: impl Into<String>) -> FilterError {
    FilterError::Literal {
        kind,
        text: text.to_owned(),
        reason: reason.into(),
    }
}

fn date_span(text: &str) -> Result<Span, FilterError> {
    parse_date(text)
        .map(Span::day)
        .ok_or_else(|| literal_error("date", text, "expected YYYY-MM-DD"))
}

fn timestamp_span(text: &str) -> Result<Span, FilterError> {
    parse_timestamp(text)
        .map(Span::instant)
        .ok_or_else(|| literal_error("timestamp", text, "expected an RFC 3339 timestamp"))
}

/// The text inside `DATE(…)`, `TIMESTAMP(…)` or an interval bound.
fn literal_text<'e>(expr: &'e Expr, kind: &'static str) -> Result<&'e str, FilterError> {
    match expr {
        Expr::Literal(text) => Ok(text),
        other => Err(literal_error(
            kind,
            &shown(other),
            "expected a quoted string",
        )),
    }
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(def: &'a CollectionDef) -> Self {
        Self {
            def,
            depth: DepthGauge::default(),
        }
    }

    fn unknown_property(&self, name: &str) -> FilterError {
        let mut queryables = vec![self.def.geometry_name.clone()];
        queryables.extend(self.def.schema.properties.iter().map(|p| p.name.clone()));
        FilterError::UnknownProperty {
            name: name.to_owned(),
            queryables,
        }
    }

    /// The kind of property `name`, or an error naming it.
    fn property_kind(&self, name: &str) -> Result<Kind, FilterError> {
        if name == self.def.geometry_name {
            return Err(type_error(
                name,
                "the geometry can be used only in spatial functions (S_INTERSECTS, …)",
            ));
        }
        let property = self
            .def
            .schema
            .property(name)
            .ok_or_else(|| self.unknown_property(name))?;
        Ok(match property.ty {
            PropertyType::String => Kind::Text,
            PropertyType::Integer | PropertyType::Number => Kind::Number,
            PropertyType::Boolean => Kind::Boolean,
            PropertyType::Date => Kind::Date,
            PropertyType::DateTime => Kind::Instant,
            PropertyType::StringList => {
                return Err(type_error(
                    name,
                    "an array of strings cannot be filtered (array functions are not supported)",
                ));
            }
        })
    }

    /// A predicate.
    pub(crate) fn predicate(&self, expr: &Expr) -> Result<Node, FilterError> {
        let _level = self.depth.enter()?;
        match expr {
            Expr::Bool(b) => Ok(Node::Const(Some(*b))),
            Expr::Null => Ok(Node::Const(None)),
            Expr::Property { property } => match self.property_kind(property)? {
                Kind::Boolean => Ok(Node::Truth(Scalar::Property {
                    name: property.as_str().into(),
                    kind: Kind::Boolean,
                })),
                kind => Err(type_error(
                    property,
                    format!("is {}, not a condition", kind.describe()),
                )),
            },
            Expr::Operation { op, args } => self.operation(op, args),
            other => Err(type_error(
                &shown(other),
                "is a value, not a condition (compare it with something)",
            )),
        }
    }

    fn operation(&self, op: &str, args: &[Box<Expr>]) -> Result<Node, FilterError> {
        match op {
            "and" | "or" => {
                let nodes = args
                    .iter()
                    .map(|a| self.predicate(a))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" {
                    Node::And(nodes)
                } else {
                    Node::Or(nodes)
                })
            }
            "not" => {
                arity(op, args, 1)?;
                Ok(Node::Not(Box::new(self.predicate(&args[0])?)))
            }
            "like" => self.like(args),
            "between" => {
                arity(op, args, 3)?;
                let value = self.scalar(&args[0])?;
                let low = fit(op, self.scalar(&args[1])?, value.1)?;
                let high = fit(op, self.scalar(&args[2])?, value.1)?;
                comparable(op, value.1, &[low.1, high.1])?;
                Ok(Node::Between {
                    value: value.0,
                    low: low.0,
                    high: high.0,
                })
            }
            "in" => {
                arity(op, args, 2)?;
                let value = self.scalar(&args[0])?;
                let Expr::Array(items) = args[1].as_ref() else {
                    return Err(type_error(op, "expects a list in parentheses"));
                };
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    let item = fit(op, self.scalar(item)?, value.1)?;
                    comparable(op, value.1, &[item.1])?;
                    list.push(item.0);
                }
                Ok(Node::In {
                    value: value.0,
                    list,
                })
            }
            "isNull" => {
                arity(op, args, 1)?;
                if let Expr::Property { property } = args[0].as_ref()
                    && *property == self.def.geometry_name
                {
                    // Every stored feature has a geometry.
                    return Ok(Node::Const(Some(false)));
                }
                Ok(Node::IsNull(self.scalar(&args[0])?.0))
            }
            _ => {
                if let Some(cmp) = CmpOp::from_name(op) {
                    arity(op, args, 2)?;
                    let left = self.scalar(&args[0])?;
                    let right = fit(op, self.scalar(&args[1])?, left.1)?;
                    let left = fit(op, left, right.1)?;
                    comparable(op, left.1, &[right.1])?;
                    return Ok(Node::Compare {
                        op: cmp,
                        left: left.0,
                        right: right.0,
                    });
                }
                if let Some(spatial) = SpatialOp::from_name(op) {
                    arity(op, args, 2)?;
                    return self.spatial(op, spatial, &args[0], &args[1]);
                }
                if let Some(temporal) = TemporalOp::from_name(op) {
                    arity(op, args, 2)?;
                    return Ok(Node::Temporal {
                        op: temporal,
                        left: self.time(op, &args[0])?,
                        right: self.time(op, &args[1])?,
                    });
                }
                Err(FilterError::Unsupported(op.to_owned()))
            }
        }
    }

    fn like(&self, args: &[Box<Expr>]) -> Result<Node, FilterError> {
        arity("like", args, 2)?;
        let (value, kind) = self.scalar(&args[0])?;
        if !matches!(kind, Kind::Text | Kind::Null) {
            return Err(type_error(
                "like",
                format!("applies to strings; got {}", kind.describe()),
            ));
        }
        let (Scalar::Const(Val::Text(pattern)), _) = self.scalar(&args[1])? else {
            return Err(type_error(
                "like",
                "the pattern must be a string literal (optionally in CASEI/ACCENTI)",
            ));
        };
        let pattern = Pattern::new(&pattern)
            .map_err(|e| literal_error("LIKE pattern", &pattern, e.to_string()))?;
        Ok(Node::Like { value, pattern })
    }

    /// A value expression and its kind.
    fn scalar(&self, expr: &Expr) -> Result<(Scalar, Kind), FilterError> {
        let _level = self.depth.enter()?;
        Ok(match expr {
            Expr::Property { property } => {
                let kind = self.property_kind(property)?;
                (
                    Scalar::Property {
                        name: property.as_str().into(),
                        kind,
                    },
                    kind,
                )
            }
            Expr::Float(n) => (Scalar::Const(Val::Number(*n)), Kind::Number),
            Expr::Literal(text) => (
                Scalar::Const(Val::Text(Cow::Owned(text.clone()))),
                Kind::Text,
            ),
            Expr::Bool(b) => (Scalar::Const(Val::Bool(*b)), Kind::Boolean),
            Expr::Null => (Scalar::Const(Val::Null), Kind::Null),
            Expr::Date { date } => {
                let text = literal_text(date, "date")?;
                let date = parse_date(text)
                    .ok_or_else(|| literal_error("date", text, "expected YYYY-MM-DD"))?;
                (Scalar::Const(Val::Date(date)), Kind::Date)
            }
            Expr::Timestamp { timestamp } => {
                let text = literal_text(timestamp, "timestamp")?;
                let t = parse_timestamp(text).ok_or_else(|| {
                    literal_error("timestamp", text, "expected an RFC 3339 timestamp")
                })?;
                (Scalar::Const(Val::Instant(t)), Kind::Instant)
            }
            Expr::Operation { op, args } => self.scalar_operation(op, args)?,
            other => {
                return Err(type_error(&shown(other), "cannot be used as a value here"));
            }
        })
    }

    fn scalar_operation(
        &self,
        op: &str,
        args: &[Box<Expr>],
    ) -> Result<(Scalar, Kind), FilterError> {
        if let Some(arith) = ArithOp::from_name(op) {
            if args.len() < 2 {
                return Err(type_error(op, "expects at least 2 arguments"));
            }
            let mut operands = Vec::with_capacity(args.len());
            for arg in args {
                let (scalar, kind) = self.scalar(arg)?;
                if !matches!(kind, Kind::Number | Kind::Null) {
                    return Err(type_error(
                        op,
                        format!("applies to numbers; got {}", kind.describe()),
                    ));
                }
                operands.push(scalar);
            }
            let mut operands = operands.into_iter();
            let first = operands.next().expect("at least two operands");
            let folded = operands.fold(first, |left, right| Scalar::Arith {
                op: arith,
                left: Box::new(left),
                right: Box::new(right),
            });
            return Ok((folded, Kind::Number));
        }
        let fold: fn(Box<Scalar>) -> Scalar = match op {
            "casei" => Scalar::CaseI,
            "accenti" => Scalar::AccentI,
            _ => return Err(FilterError::Unsupported(op.to_owned())),
        };
        arity(op, args, 1)?;
        let (inner, kind) = self.scalar(&args[0])?;
        if !matches!(kind, Kind::Text | Kind::Null) {
            return Err(type_error(
                op,
                format!("applies to strings; got {}", kind.describe()),
            ));
        }
        let scalar = fold(Box::new(inner));
        // A constant folds now, so that a LIKE pattern in CASEI/ACCENTI stays a constant.
        if let Scalar::CaseI(inner) | Scalar::AccentI(inner) = &scalar
            && let Scalar::Const(Val::Text(text)) = inner.as_ref()
        {
            let folded = if op == "casei" {
                text.to_lowercase()
            } else {
                super::eval::strip_accents(text)
            };
            return Ok((Scalar::Const(Val::Text(Cow::Owned(folded))), Kind::Text));
        }
        Ok((scalar, kind))
    }

    fn geometry(&self, op: &str, expr: &Expr) -> Result<GeomOperand, FilterError> {
        match expr {
            Expr::Property { property } if *property == self.def.geometry_name => {
                Ok(GeomOperand::Feature)
            }
            Expr::Property { property } => {
                if self.def.schema.property(property).is_some() {
                    Err(type_error(
                        op,
                        format!(
                            "`{property}` is not a geometry; the geometry queryable is `{}`",
                            self.def.geometry_name
                        ),
                    ))
                } else {
                    Err(self.unknown_property(property))
                }
            }
            Expr::BBox { bbox } => {
                let numbers = bbox
                    .iter()
                    .map(|n| match n.as_ref() {
                        Expr::Float(x) => Ok(*x),
                        other => Err(literal_error("BBOX", &shown(other), "expected a number")),
                    })
                    .collect::<Result<Vec<f64>, _>>()?;
                let bbox = Bbox::from_numbers(&numbers)
                    .map_err(|e| literal_error("BBOX", &shown(expr), e.to_string()))?;
                let (geometry, rects) = bbox_geometry(&bbox);
                Ok(GeomOperand::Literal {
                    rect: geometry.bounding_rect(),
                    geometry: Box::new(geometry),
                    rects,
                })
            }
            Expr::Geometry(_) => {
                let geometry = geo::Geometry::<f64>::try_from(expr.clone())
                    .map_err(|e| literal_error("geometry", &shown(expr), e.to_string()))?;
                // The same bounds as a query geometry in a request body: every candidate
                // feature is tested against this literal.
                crate::model::complexity::check_geometry(&geometry)
                    .map_err(|e| literal_error("geometry", &shown(expr), e.to_string()))?;
                if geo::CoordsIter::coords_iter(&geometry)
                    .any(|c| !c.x.is_finite() || !c.y.is_finite())
                {
                    return Err(literal_error(
                        "geometry",
                        &shown(expr),
                        "coordinates must be finite",
                    ));
                }
                let rect = geometry.bounding_rect();
                Ok(GeomOperand::Literal {
                    geometry: Box::new(geometry),
                    rect,
                    rects: rect.into_iter().collect(),
                })
            }
            other => Err(type_error(
                op,
                format!("expects geometries; got {}", shown(other)),
            )),
        }
    }

    fn spatial(
        &self,
        name: &str,
        op: SpatialOp,
        left: &Expr,
        right: &Expr,
    ) -> Result<Node, FilterError> {
        let left = self.geometry(name, left)?;
        let right = self.geometry(name, right)?;
        Ok(match (left, right) {
            (
                GeomOperand::Literal { geometry: a, .. },
                GeomOperand::Literal {
                    geometry: b, rect, ..
                },
            ) => Node::Const(Some(op.holds(&a, &b, rect))),
            (left @ GeomOperand::Literal { .. }, GeomOperand::Feature) => Node::Spatial {
                op: op.converse(),
                left: GeomOperand::Feature,
                right: left,
            },
            (left, right) => Node::Spatial { op, left, right },
        })
    }

    fn time_bound(&self, op: &str, expr: &Expr) -> Result<TimeBound, FilterError> {
        Ok(match expr {
            Expr::Literal(text) if text == ".." => TimeBound::Open,
            Expr::Literal(text) if text.contains('T') || text.contains('t') => {
                TimeBound::Const(timestamp_span(text)?)
            }
            Expr::Literal(text) => TimeBound::Const(date_span(text)?),
            Expr::Date { date } => TimeBound::Const(date_span(literal_text(date, "date")?)?),
            Expr::Timestamp { timestamp } => {
                TimeBound::Const(timestamp_span(literal_text(timestamp, "timestamp")?)?)
            }
            Expr::Property { property } => match self.property_kind(property)? {
                kind @ (Kind::Date | Kind::Instant) => TimeBound::Property {
                    name: property.as_str().into(),
                    kind,
                },
                kind => {
                    return Err(type_error(
                        op,
                        format!(
                            "expects dates or timestamps; `{property}` is {}",
                            kind.describe()
                        ),
                    ));
                }
            },
            other => {
                return Err(type_error(
                    op,
                    format!(
                        "expects dates, timestamps or intervals; got {}",
                        shown(other)
                    ),
                ));
            }
        })
    }

    fn time(&self, op: &str, expr: &Expr) -> Result<TimeOperand, FilterError> {
        match expr {
            Expr::Interval { interval } => {
                let [start, end] = interval.as_slice() else {
                    return Err(type_error(
                        "interval",
                        format!("expects 2 bounds, got {}", interval.len()),
                    ));
                };
                Ok(TimeOperand::Interval(
                    self.time_bound(op, start)?,
                    self.time_bound(op, end)?,
                ))
            }
            Expr::Literal(text) if text == ".." => Err(type_error(
                op,
                "`..` is allowed only as a bound of INTERVAL",
            )),
            other => Ok(TimeOperand::Instant(self.time_bound(op, other)?)),
        }
    }
}

/// Checks that values of `kind` can be compared with each of `others`.
fn comparable(operator: &str, kind: Kind, others: &[Kind]) -> Result<(), FilterError> {
    for other in others {
        if kind != *other && kind != Kind::Null && *other != Kind::Null {
            return Err(type_error(
                operator,
                format!(
                    "cannot compare {} with {}",
                    kind.describe(),
                    other.describe()
                ),
            ));
        }
    }
    Ok(())
}

/// Gives a string literal the date or timestamp type of the other side when it reads as one.
fn fit(
    operator: &str,
    (scalar, kind): (Scalar, Kind),
    target: Kind,
) -> Result<(Scalar, Kind), FilterError> {
    let Scalar::Const(Val::Text(text)) = &scalar else {
        return Ok((scalar, kind));
    };
    let value = match target {
        Kind::Date => parse_date(text).map(Val::Date),
        Kind::Instant => parse_timestamp(text).map(Val::Instant),
        _ => return Ok((scalar, kind)),
    };
    let value = value
        .ok_or_else(|| type_error(operator, format!("{text:?} is not {}", target.describe())))?;
    Ok((Scalar::Const(value), target))
}
