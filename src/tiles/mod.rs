//! Vector tiles, pure: the WebMercatorQuad tile matrix set ([`tms`]), a hand-written Mapbox
//! Vector Tile 2.1 encoder and decoder ([`mvt`]), clipping, simplification, and the rules of what
//! each layer puts in a tile at each zoom ([`rules`], [`render`]).
//!
//! CRS: features come in WGS84 lon/lat; tiles are EPSG:3857 (WebMercatorQuad), `4096` units per
//! tile side, y down. No HTTP, no SQL, no async: the service renders tiles from index snapshots
//! and caches them; the API serves them.

mod clip;
pub mod dictionary;
pub mod mvt;
pub mod render;
pub mod rules;
mod simplify;
pub mod tms;

pub use dictionary::LayerDictionary;
pub use render::{BUFFER, Scratch, TileFrame, render_layer};
pub use rules::LayerRules;
pub use tms::{TileError, TileId, TileRange};
