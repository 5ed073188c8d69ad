//! The real binary on a free port: first start loads the demo district, restarts keep it, and
//! SIGTERM shuts down gracefully.

use crate::support::{Server, http_get};

#[test]
fn the_binary_serves_the_demo_district_and_stops_cleanly_on_sigterm() {
    let server = Server::start(&[]);
    let (status, body) = http_get(&format!(
        "{}/collections/grid_cells/items?level=street&limit=20",
        server.base
    ))
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("北下街街道"), "street names are served");
    let (status, body) = http_get(&format!("{}/", server.base)).unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!("{}/collections", server.base)),
        "links use the bound address"
    );
    assert!(
        server.terminate(),
        "the process exits with success after SIGTERM"
    );
}

#[test]
fn no_demo_starts_empty() {
    let server = Server::start(&["--no-demo"]);
    let (status, body) = http_get(&format!("{}/ready", server.base)).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"features\":0"), "{body}");
}

#[test]
fn a_configured_basemap_reaches_the_viewer() {
    let url = "https://tiles.example/{z}/{x}/{y}.png";
    let server = Server::start(&["--basemap-url", url, "--no-demo"]);
    let (status, body) = http_get(&format!("{}/map/config.json", server.base)).unwrap();
    assert_eq!(status, 200);
    let config: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["basemap"]["tiles"][0], url);
    assert_eq!(config["basemap"]["type"], "raster");
}
