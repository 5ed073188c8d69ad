//! Integration tests: the router driven without a socket, the real binary on a free port, and
//! real clients (GDAL) against it. One module per resource.

mod binary;
mod collections;
mod district;
mod gdal;
mod items;
mod landing;
mod support;
