//! Typed requests: each resource's query string is one struct, parsed once at the edge by
//! [`Query`]. The struct documents itself ([`IntoParams`], so the OpenAPI document lists
//! exactly the parameters it reads) and parses itself ([`FromQuery`], with the precise 400
//! problems the API gives: parameter, value, what is allowed). A parameter the struct does not
//! declare is a 400 naming the ones it does (OGC API – Features, Part 1, /req/core/query-param-unknown);
//! a parameter given twice is a 400 too.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

use super::ApiError;

/// The pairs of a query string, each to be taken once by the resource's parser.
#[derive(Debug, Default)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
    taken: Vec<bool>,
}

impl QueryParams {
    /// Splits a raw query string into pairs, refusing a parameter given more than once.
    pub(crate) fn from_raw(raw: Option<&str>) -> Result<Self, ApiError> {
        let pairs = super::query_pairs(raw)?;
        let taken = vec![false; pairs.len()];
        Ok(Self { pairs, taken })
    }

    /// The value of `name`, if given; it counts as read.
    pub(crate) fn get(&mut self, name: &str) -> Option<&str> {
        let i = self.pairs.iter().position(|(n, _)| n == name)?;
        self.taken[i] = true;
        Some(self.pairs[i].1.as_str())
    }

    /// The value of `name` parsed by `parse` (which builds the problem), if given.
    pub(crate) fn parse_with<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        self.get(name).map(parse).transpose()
    }

    /// Every pair not read yet, in the order given; they count as read. For resources whose
    /// parameters are not all known in advance (a collection's properties on its items).
    pub(crate) fn rest(&mut self) -> Vec<(String, String)> {
        let mut rest = Vec::new();
        for (pair, taken) in self.pairs.iter().zip(self.taken.iter_mut()) {
            if !*taken {
                *taken = true;
                rest.push(pair.clone());
            }
        }
        rest
    }

    /// The first parameter whose name is not in `known`.
    fn first_unknown(&self, known: &[String]) -> Option<&str> {
        self.pairs
            .iter()
            .map(|(n, _)| n.as_str())
            .find(|n| !known.iter().any(|k| k == n))
    }
}

/// A resource's query, parsed from its pairs.
pub(crate) trait FromQuery: Sized {
    /// Whether parameters besides the declared ones are allowed (and read with
    /// [`QueryParams::rest`]); when not, an undeclared one is refused before parsing.
    const OPEN: bool = false;

    /// Reads the parameters from `query`.
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError>;
}

/// The names of the query parameters `T` declares, in its order.
pub(crate) fn query_names<T: IntoParams>() -> Vec<String> {
    T::into_params(|| Some(ParameterIn::Query))
        .into_iter()
        .filter(|p| p.parameter_in == ParameterIn::Query)
        .map(|p| p.name)
        .collect()
}

/// [`query_names`], worked out once per type: the extractor asks on every request.
pub(crate) fn declared_names<T: IntoParams + 'static>() -> Arc<[String]> {
    type Names = RwLock<HashMap<TypeId, Arc<[String]>>>;
    static NAMES: OnceLock<Names> = OnceLock::new();
    let names = NAMES.get_or_init(Names::default);
    let key = TypeId::of::<T>();
    if let Some(known) = names
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return Arc::clone(known);
    }
    let known: Arc<[String]> = query_names::<T>().into();
    names
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key, Arc::clone(&known));
    known
}

/// The parsed query of a request: `Query(query): Query<ItemsParams>`.
#[derive(Debug, Clone)]
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: FromQuery + IntoParams + 'static> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let mut query = QueryParams::from_raw(parts.uri.query())?;
        if !T::OPEN {
            let known = declared_names::<T>();
            if let Some(name) = query.first_unknown(&known) {
                return Err(ApiError::UnknownParameter {
                    parameter: name.to_owned(),
                    allowed: known.to_vec(),
                });
            }
        }
        T::from_query(&mut query).map(Query)
    }
}

/// A query of nothing but `f` (`json` or `html`, read by content negotiation).
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct FormatQuery {
    /// The representation: `json` (the default) or `html`; without it, the `Accept` header
    /// decides.
    #[param(value_type = Option<String>, example = "json")]
    pub f: Option<String>,
}

impl FromQuery for FormatQuery {
    fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
        Ok(Self {
            f: query.get("f").map(str::to_owned),
        })
    }
}

/// A query with no parameters at all.
#[derive(Debug, Clone, Copy, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct NoQuery {}

impl FromQuery for NoQuery {
    fn from_query(_query: &mut QueryParams) -> Result<Self, ApiError> {
        Ok(Self {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, IntoParams)]
    #[into_params(parameter_in = Query)]
    struct Paging {
        /// How many.
        limit: Option<u32>,
        /// The format.
        #[param(value_type = Option<String>)]
        f: Option<String>,
    }

    impl FromQuery for Paging {
        fn from_query(query: &mut QueryParams) -> Result<Self, ApiError> {
            Ok(Self {
                limit: query.parse_with("limit", |raw| {
                    raw.parse().map_err(|e| {
                        ApiError::invalid("limit", raw, "an integer from 1", format!("{e}"))
                    })
                })?,
                f: query.get("f").map(str::to_owned),
            })
        }
    }

    async fn extract(uri: &str) -> Result<Paging, ApiError> {
        let request = axum::http::Request::builder().uri(uri).body(()).unwrap();
        let (mut parts, ()) = request.into_parts();
        Query::<Paging>::from_request_parts(&mut parts, &())
            .await
            .map(|Query(p)| p)
    }

    #[tokio::test]
    async fn a_declared_query_parses_and_an_undeclared_parameter_is_refused_with_the_declared_ones()
    {
        let paging = extract("/x?limit=5&f=json").await.unwrap();
        assert_eq!((paging.limit, paging.f.as_deref()), (Some(5), Some("json")));
        match extract("/x?limit=5&colour=red").await {
            Err(ApiError::UnknownParameter { parameter, allowed }) => {
                assert_eq!(parameter, "colour");
                assert_eq!(allowed, ["limit", "f"]);
            }
            other => panic!("expected an unknown parameter, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_bad_value_names_its_parameter_and_a_repeated_parameter_is_refused() {
        match extract("/x?limit=many").await {
            Err(ApiError::InvalidParameter {
                parameter, value, ..
            }) => assert_eq!((parameter.as_str(), value.as_str()), ("limit", "many")),
            other => panic!("expected an invalid parameter, got {other:?}"),
        }
        assert!(matches!(
            extract("/x?limit=1&limit=2").await,
            Err(ApiError::InvalidParameter { .. })
        ));
    }

    #[test]
    fn the_rest_is_what_was_not_read() {
        let mut query = QueryParams::from_raw(Some("a=1&b=2&c=3")).unwrap();
        assert_eq!(query.get("b"), Some("2"));
        assert_eq!(
            query.rest(),
            [("a".to_owned(), "1".to_owned()), ("c".into(), "3".into())]
        );
        assert!(query.rest().is_empty());
    }
}
