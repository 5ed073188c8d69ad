//! Integration tests: the router driven without a socket, the real binary on a free port, and
//! real clients (GDAL) against it. One module per resource.

#![allow(
    clippy::cast_possible_truncation,
    clippy::many_single_char_names,
    reason = "counts in tests are small; w, s, e, n name a box's edges"
)]

mod auth;
mod binary;
mod browser;
mod cases;
mod collections;
mod cql2;
mod crash;
mod district;
mod exports;
mod gdal;
mod hardening;
mod import;
mod items;
mod landing;
mod openapi;
mod robustness;
mod server;
mod spatial;
mod support;
mod tiles;
