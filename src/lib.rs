//! citygrid: a geospatial service for urban grid management (网格化管理, "一网统管") and
//! renovation planning (城市更新).
//!
//! Layers of a district (grid cells, manholes, pipelines, parks, roads, renovation areas,
//! facilities) are stored as GeoJSON features in SQL ([`store`]), indexed in memory in R-trees
//! ([`index`]), combined into use cases ([`service`]) and served over HTTP as OGC API – Features
//! and OGC API – Tiles ([`api`]); [`tiles`] encodes vector tiles. [`app`] wires them together; [`demo`] generates the synthetic demo district.
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
