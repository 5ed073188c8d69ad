//! The data model: layers and their property schemas, features, identifiers and validated value
//! types, and GeoJSON ⇄ `geo` conversion; for cases, the working-time calendar of deadlines
//! and the catalogue of case categories.
//!
//! CRS: every coordinate in the model is WGS84 longitude/latitude in degrees (OGC CRS84 axis order).
//! Units: lengths in metres, areas in square metres, always geodesic on the WGS84 ellipsoid.
//! Nothing here does I/O, async, HTTP or SQL.

pub mod audit;
pub mod bbox;
pub mod calendar;
pub mod case;
pub mod category;
pub mod complexity;
pub mod crs;
pub mod feature;
pub mod geometry;
pub mod grid;
pub mod ids;
pub mod layers;
pub mod properties;
pub mod proxies;
pub mod schema;
pub mod temporal;
pub mod unit;
pub mod user;

pub use audit::{AuditEntry, AuditQuery, AuditRecord};
pub use bbox::Bbox;
pub use feature::{Feature, NewFeature};
pub use geometry::{GeometryError, GeometryFamily};
pub use ids::{CollectionId, FeatureId, IdError};
pub use layers::CollectionDef;
pub use properties::{NameCache, Properties, PropertyValue};
pub use schema::{PropertyError, PropertySchema, PropertyType, Schema};
pub use temporal::{DateInterval, TemporalError};
pub use user::{NewUser, Role, User, UserError, Username};
