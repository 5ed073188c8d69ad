-- Collections, their features and service metadata. Geometry is WKB (WGS84 lon/lat),
-- properties a JSON object, timestamps RFC 3339 UTC text.
CREATE TABLE collections (
    id          TEXT PRIMARY KEY NOT NULL,
    definition  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE features (
    fid         INTEGER PRIMARY KEY,
    collection  TEXT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    geometry    BLOB NOT NULL,
    properties  TEXT NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CONSTRAINT features_collection_id_unique UNIQUE (collection, id)
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
