//! Validated identifiers: collection ids and feature ids.

use std::fmt;
use std::sync::Arc;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A collection id must be 1–63 characters of `a-z`, `0-9` and `_`, starting with a letter.
    #[error(
        "collection id {0:?} is not valid: use 1–63 characters a-z, 0-9 and _, starting with a letter"
    )]
    Collection(String),
    /// A feature id must be 1–128 characters of letters, digits, `_`, `-`, `.` and `:`.
    #[error("feature id {0:?} is not valid: use 1–128 characters of A-Z, a-z, 0-9, _, -, . and :")]
    Feature(String),
}

/// A collection identifier, e.g. `manholes`.
///
/// ```
/// use citygrid::model::CollectionId;
/// assert!(CollectionId::parse("manholes").is_ok());
/// assert!(CollectionId::parse("Manholes!").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectionId(Arc<str>);

impl CollectionId {
    /// Validates `raw` as a collection id.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = (1..=63).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Self(raw.into()))
        } else {
            Err(IdError::Collection(raw.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CollectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A feature identifier, unique within its collection and stable across edits.
///
/// GeoJSON allows numeric ids; they are kept as their decimal text.
///
/// ```
/// use citygrid::model::FeatureId;
/// assert_eq!(FeatureId::parse("410104001001001").unwrap().as_str(), "410104001001001");
/// assert!(FeatureId::parse("a b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FeatureId(Arc<str>);

impl FeatureId {
    /// Validates `raw` as a feature id.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let ok = (1..=128).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
        if ok {
            Ok(Self(raw.into()))
        } else {
            Err(IdError::Feature(raw.to_owned()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeatureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_ids_are_lowercase_words() {
        assert!(CollectionId::parse("ne_110m_admin_0_countries").is_ok());
        assert!(CollectionId::parse("").is_err());
        assert!(CollectionId::parse("1abc").is_err());
        assert!(CollectionId::parse(&"a".repeat(64)).is_err());
    }

    #[test]
    fn feature_ids_refuse_slashes_and_spaces() {
        assert!(FeatureId::parse("pipe-000001").is_ok());
        assert!(FeatureId::parse("a/b").is_err());
        assert!(FeatureId::parse(" ").is_err());
        assert!(FeatureId::parse(&"x".repeat(129)).is_err());
    }
}
