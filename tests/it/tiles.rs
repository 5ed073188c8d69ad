//! OGC API – Tiles: TileJSON, tileset metadata, the tile matrix set, and vector tiles of the demo
//! district decoded by our decoder and by GDAL's MVT driver.

use std::collections::BTreeMap;

use citygrid::tiles::mvt::{DecodedLayer, decode};
use citygrid::tiles::render::buffer_fraction;
use citygrid::tiles::tms::{TileId, TileRange};
use geo::Intersects;

use crate::support::{BASE, assert_problem, demo, get, get_with, run_tool};

/// The z14 tile over the old town (113.68, 34.755).
fn old_town(z: u8) -> TileId {
    TileId::containing(113.68, 34.755, z)
}

fn path(tile: TileId) -> String {
    format!("{}/{}/{}", tile.z(), tile.y(), tile.x())
}

fn layers(body: &[u8]) -> BTreeMap<String, DecodedLayer> {
    decode(body)
        .unwrap()
        .into_iter()
        .map(|l| (l.name.clone(), l))
        .collect()
}

#[test]
fn the_combined_tilejson_has_absolute_urls_bounds_zooms_and_vector_layers() {
    let reply = get("/tiles/WebMercatorQuad/tilejson.json?collections=grid_cells,roads,manholes");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let doc = reply.json();
    assert_eq!(doc["tilejson"], "3.0.0");
    assert_eq!(
        doc["tiles"][0],
        format!(
            "{BASE}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?collections=grid_cells,roads,manholes"
        )
    );
    assert_eq!(
        (doc["minzoom"].as_u64(), doc["maxzoom"].as_u64()),
        (Some(0), Some(18))
    );
    let bounds: Vec<f64> = doc["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        bounds[0] < 113.68 && 113.68 < bounds[2] && bounds[1] < 34.755 && 34.755 < bounds[3],
        "{bounds:?}"
    );
    let center = doc["center"].as_array().unwrap();
    assert!(center[0].as_f64().unwrap() > bounds[0] && center[2].as_u64() == Some(12));
    let ids: Vec<&str> = doc["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["grid_cells", "roads", "manholes"]);
    let manholes = &doc["vector_layers"][2];
    assert_eq!(
        (manholes["minzoom"].as_u64(), manholes["maxzoom"].as_u64()),
        (Some(13), Some(18))
    );
    assert!(
        manholes["fields"]["status"]
            .as_str()
            .unwrap()
            .starts_with("String")
    );
    assert!(
        manholes["description"]
            .as_str()
            .unwrap()
            .contains("complete from z15")
    );
}

#[test]
fn a_collection_tilejson_lists_every_property_of_a_small_layer_with_its_type() {
    let doc = get("/collections/parks/tiles/WebMercatorQuad/tilejson.json").json();
    assert_eq!(
        doc["tiles"][0],
        format!("{BASE}/collections/parks/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}")
    );
    let fields = &doc["vector_layers"][0]["fields"];
    assert!(
        fields["area_m2"].as_str().unwrap().starts_with("Number"),
        "{fields}"
    );
    assert!(fields["name"].as_str().unwrap().starts_with("String"));
    assert_eq!(doc["minzoom"], 10);
}

#[test]
fn the_tileset_metadata_links_the_tiling_scheme_and_a_tile_template() {
    let doc = get("/collections/manholes/tiles/WebMercatorQuad").json();
    assert_eq!(doc["dataType"], "vector");
    assert_eq!(
        doc["tileMatrixSetURI"],
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    );
    let links = doc["links"].as_array().unwrap();
    let item = links.iter().find(|l| l["rel"] == "item").unwrap();
    assert_eq!(
        item["href"],
        format!(
            "{BASE}/collections/manholes/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
        )
    );
    assert_eq!(item["type"], "application/vnd.mapbox-vector-tile");
    assert!(
        links
            .iter()
            .any(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme")
    );
    assert_eq!(doc["layers"][0]["geometryDimension"], 0);
    assert_eq!(doc["layers"][0]["minTileMatrix"], "13");
    let list = get("/collections/manholes/tiles").json();
    assert_eq!(list["tilesets"][0]["dataType"], "vector");
    let dataset = get("/tiles").json();
    assert_eq!(dataset["tilesets"].as_array().unwrap().len(), 1);
}

#[test]
fn the_tile_matrix_set_is_the_standard_web_mercator_quad() {
    let doc = get("/tileMatrixSets/WebMercatorQuad").json();
    assert_eq!(doc["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
    let matrices = doc["tileMatrices"].as_array().unwrap();
    assert_eq!(matrices.len(), 25);
    // The values of the OGC TMS 2.0 standard's table for level 0 and 18.
    assert!(
        (matrices[0]["scaleDenominator"].as_f64().unwrap() - 559_082_264.028_717_2).abs() < 1e-3
    );
    assert!((matrices[18]["cellSize"].as_f64().unwrap() - 0.597_164_283_559_817).abs() < 1e-9);
    assert_eq!(matrices[18]["matrixWidth"], 262_144);
    let origin = doc["tileMatrices"][0]["pointOfOrigin"][0].as_f64().unwrap();
    assert!((origin + 20_037_508.342_789_244).abs() < 1e-6, "{origin}");
    assert_eq!(
        get("/tileMatrixSets").json()["tileMatrixSets"][0]["id"],
        "WebMercatorQuad"
    );
}

#[test]
fn a_z14_tile_over_the_old_town_has_its_defective_manholes_and_roads_with_their_properties() {
    let tile = old_town(14);
    let reply = get(&format!(
        "/tiles/WebMercatorQuad/{}?collections=manholes,roads,grid_cells",
        path(tile)
    ));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type(), "application/vnd.mapbox-vector-tile");
    let layers = layers(&reply.body);
    assert_eq!(
        layers.keys().collect::<Vec<_>>(),
        ["grid_cells", "manholes", "roads"]
    );

    // Manholes at z14: exactly the defective ones whose position is in the buffered tile.
    let bounds = tile.buffered_bounds(buffer_fraction());
    let catalog = &demo().catalog;
    let expected: BTreeMap<u64, String> = catalog
        .collection("manholes")
        .unwrap()
        .index
        .intersecting(&[bounds])
        .iter()
        .filter(|f| f.properties["status"] != "intact")
        .map(|f| (u64::try_from(f.fid).unwrap(), f.id.to_string()))
        .collect();
    let manholes = &layers["manholes"];
    assert_eq!(manholes.extent, 4096);
    assert_eq!(manholes.version, 2);
    let got: BTreeMap<u64, String> = manholes
        .features
        .iter()
        .map(|f| {
            (
                f.id.unwrap(),
                f.property("id").unwrap().as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        got, expected,
        "feature ids are the keys, `id` the public id"
    );
    for f in &manholes.features {
        assert_eq!(f.kind, 1);
        let status = f.property("status").unwrap().as_str().unwrap();
        assert_ne!(status, "intact");
        assert_eq!(
            f.property("component_code")
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            16
        );
        assert!(f.property("kind").is_some());
        assert!(
            f.parts
                .iter()
                .flatten()
                .all(|p| p.iter().all(|&c| (-64..=4160).contains(&c)))
        );
    }
    let roads = &layers["roads"];
    assert!(
        roads
            .features
            .iter()
            .all(|f| f.kind == 2 && f.property("name").is_some())
    );
    assert!(
        roads
            .features
            .iter()
            .any(|f| f.property("class").unwrap().as_str() == Some("arterial"))
    );
    // The grid cells of every level touching the tile, polygons with clockwise exteriors.
    let cells = &layers["grid_cells"];
    let levels: std::collections::BTreeSet<&str> = cells
        .features
        .iter()
        .map(|f| f.property("level").unwrap().as_str().unwrap())
        .collect();
    assert!(
        levels.contains("grid") && levels.contains("street"),
        "{levels:?}"
    );
    assert!(
        cells
            .features
            .iter()
            .all(|f| citygrid::tiles::mvt::ring_area2(&f.parts[0]) > 0)
    );
}

#[test]
fn every_manhole_is_in_the_z15_tiles_no_cap_applies() {
    let tile = old_town(15);
    let body = get(&format!(
        "/collections/manholes/tiles/WebMercatorQuad/{}",
        path(tile)
    ))
    .body;
    let expected = demo()
        .catalog
        .collection("manholes")
        .unwrap()
        .index
        .intersecting(&[tile.buffered_bounds(buffer_fraction())])
        .len();
    assert!(expected > 0);
    assert_eq!(layers(&body)["manholes"].features.len(), expected);
}

#[test]
fn a_tile_over_the_ocean_is_empty_204() {
    let ocean = TileId::containing(160.0, -30.0, 14);
    let reply = get(&format!("/tiles/WebMercatorQuad/{}", path(ocean)));
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    let reply = get(&format!(
        "/collections/manholes/tiles/WebMercatorQuad/{}",
        path(old_town(10))
    ));
    assert_eq!(reply.status, 204, "manholes are not drawn at z10");
}

#[test]
fn bad_tile_coordinates_and_collections_are_problems() {
    assert_problem(
        &get("/tiles/WebMercatorQuad/x/0/0"),
        400,
        Some("tileMatrix"),
    );
    assert_problem(&get("/tiles/WebMercatorQuad/3/-1/0"), 400, Some("tileRow"));
    assert_problem(&get("/tiles/WebMercatorQuad/25/0/0"), 404, None);
    assert_problem(&get("/tiles/WebMercatorQuad/2/0/4"), 404, None);
    assert_problem(&get("/tiles/WebMercatorQuad/2/4/0"), 404, None);
    assert_problem(
        &get("/collections/nope/tiles/WebMercatorQuad/0/0/0"),
        404,
        None,
    );
    assert_problem(
        &get("/tiles/WebMercatorQuad/0/0/0?collections=roads,nope"),
        400,
        Some("collections"),
    );
    assert_problem(
        &get("/tiles/WebMercatorQuad/0/0/0?collections=roads,roads"),
        400,
        Some("collections"),
    );
    assert_problem(
        &get("/tiles/WebMercatorQuad/0/0/0?zoom=3"),
        400,
        Some("zoom"),
    );
    assert_problem(&get("/tiles/WebMercatorQuad/0/0/0?f=png"), 400, Some("f"));
    assert_problem(&get("/tiles/WorldCRS84Quad/0/0/0"), 404, None);
}

#[test]
fn an_unchanged_tile_is_304_with_its_etag_and_compressed_when_asked() {
    let uri = format!("/tiles/WebMercatorQuad/{}", path(old_town(14)));
    let first = get(&uri);
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(first.headers["cache-control"], "no-cache");
    let again = get_with(&uri, &[("if-none-match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = get_with(&uri, &[("if-none-match", "W/\"0000000000000000\"")]);
    assert_eq!(other.status, 200);
    let gzip = get_with(&uri, &[("accept-encoding", "gzip")]);
    assert_eq!(gzip.headers["content-encoding"], "gzip");
    assert!(gzip.body.len() < first.body.len());
    let br = get_with(&uri, &[("accept-encoding", "br")]);
    assert_eq!(br.headers["content-encoding"], "br");
}

#[test]
fn combined_tiles_over_the_district_stay_under_500_kb_at_zooms_10_to_12() {
    let extent = demo()
        .catalog
        .collection("grid_cells")
        .unwrap()
        .index
        .extent()
        .unwrap();
    for z in 10..=12 {
        let range = TileRange::covering(extent, z, 0.0);
        let mut largest = 0;
        for tile in range.tiles() {
            let reply = get(&format!("/tiles/WebMercatorQuad/{}", path(tile)));
            assert!(
                reply.status == 200 || reply.status == 204,
                "{}",
                reply.status
            );
            largest = largest.max(reply.body.len());
        }
        assert!(
            largest > 0 && largest < 500_000,
            "z{z}: largest tile {largest} bytes"
        );
    }
}

#[test]
fn the_district_boundary_is_in_every_z0_to_z9_tile_that_it_touches() {
    let district = demo().catalog.feature("grid_cells", "410104").unwrap();
    for z in [0, 5, 9] {
        for tile in TileRange::covering(district.bbox.unwrap(), z, 0.0).tiles() {
            let touches = district
                .geometry
                .intersects(&tile.buffered_bounds(buffer_fraction()));
            let reply = get(&format!(
                "/collections/grid_cells/tiles/WebMercatorQuad/{}",
                path(tile)
            ));
            let n = if reply.status == 200 {
                layers(&reply.body)["grid_cells"].features.len()
            } else {
                0
            };
            assert_eq!(n, usize::from(touches), "z{z} {tile:?}");
        }
    }
}

#[test]
fn gdal_reads_a_combined_tile_with_the_feature_counts_we_encoded() {
    let tile = old_town(15);
    let reply = get(&format!("/tiles/WebMercatorQuad/{}", path(tile)));
    assert_eq!(reply.status, 200);
    let ours = layers(&reply.body);
    let dir = tempfile::tempdir().unwrap();
    // GDAL's MVT driver georeferences a single tile named z-x-y.pbf in EPSG:3857.
    let name = format!("{}-{}-{}.pbf", tile.z(), tile.x(), tile.y());
    std::fs::write(dir.path().join(&name), &reply.body).unwrap();
    let listing = run_tool("ogrinfo", &["-ro", "-so", "-al", &name], dir.path());
    for (layer, decoded) in &ours {
        let section = listing
            .split("Layer name: ")
            .find(|s| s.starts_with(&format!("{layer}\n")))
            .unwrap_or_else(|| panic!("GDAL does not list {layer}:\n{listing}"));
        assert!(
            section.contains(&format!("Feature Count: {}\n", decoded.features.len())),
            "{layer}: we encoded {}, GDAL says:\n{section}",
            decoded.features.len()
        );
    }
    assert!(listing.contains("status: String"), "{listing}");
    assert!(
        listing.contains("Pseudo-Mercator") || listing.contains("3857"),
        "{listing}"
    );
}
