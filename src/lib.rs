//! citygrid: a geospatial service for urban grid management (网格化管理, "一网统管") and
//! renovation planning (城市更新).
//!
//! The house, one room per job:
//!
//! - [`model`]: the domain, pure: layers and their property schemas, features, grid levels,
//!   cases and their rules, ids, bounding boxes, dates, coordinate systems.
//! - [`index`]: in-memory R-trees of feature snapshots and the exact, geodesic questions asked
//!   of them (locate, nearest, within, measure), pure.
//! - [`filter`]: CQL2 (OGC API – Features – Part 3), bounded before parsing, compiled once and
//!   evaluated against the indexes, pure.
//! - [`tiles`]: vector tiles (WebMercatorQuad, MVT 2.1) and the rules of what each layer draws at
//!   each zoom, pure.
//! - [`store`]: all SQL, behind traits (SQLite embedded).
//! - [`service`]: the use cases, combining store, indexes, filters and tiles; no HTTP.
//! - [`api`]: the only code that knows HTTP: one file per resource, typed requests, one error
//!   table, the generated OpenAPI document.
//! - [`app`]: the composition root (configuration → store → services → router → server);
//!   [`config`] reads flags and `CITYGRID_*` variables once; [`demo`] generates the synthetic
//!   demo district on the real boundary.
//!
//! All coordinates are WGS84 lon/lat; lengths are metres and areas m², geodesic.

pub mod api;
pub mod app;
pub mod config;
pub mod demo;
pub mod filter;
pub mod index;
pub mod model;
pub mod service;
pub mod store;
pub mod tiles;
