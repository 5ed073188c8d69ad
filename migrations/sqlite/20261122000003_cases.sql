-- Cases (案件) of the unified city management workflow, their append-only logs, photo
-- references and the API keys of civic apps reporting through Open311.
-- Timestamps are RFC 3339 UTC text with milliseconds ("2026-11-22T08:30:00.000Z"), so text order
-- is time order. Positions are WGS84 lon/lat.
CREATE TABLE cases (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    version          INTEGER NOT NULL DEFAULT 1,
    category         TEXT NOT NULL,
    state            TEXT NOT NULL,
    resume_state     TEXT,
    description      TEXT NOT NULL,
    address          TEXT,
    lon              REAL NOT NULL,
    lat              REAL NOT NULL,
    cells            TEXT NOT NULL,          -- JSON array of {level, code, name}, district first
    cell_code        TEXT,                   -- the most specific code of that chain
    responsible_unit TEXT,
    assigned_unit    TEXT,
    asset_collection TEXT,
    asset_id         TEXT,
    photos           TEXT NOT NULL DEFAULT '[]',
    reporter         TEXT NOT NULL,
    channel          TEXT NOT NULL,
    idempotency_key  TEXT,
    reported_at      TEXT NOT NULL,
    filed_at         TEXT,
    dispatched_at    TEXT,
    handled_at       TEXT,
    verified_at      TEXT,
    closed_at        TEXT,
    due_at           TEXT,
    handle_due_at    TEXT,
    on_time          INTEGER,
    rework_count     INTEGER NOT NULL DEFAULT 0,
    extension_count  INTEGER NOT NULL DEFAULT 0,
    merged_into      INTEGER REFERENCES cases (id),
    updated_at       TEXT NOT NULL,
    CONSTRAINT cases_idempotency_unique UNIQUE (reporter, idempotency_key)
);
CREATE INDEX cases_state ON cases (state);
CREATE INDEX cases_due ON cases (due_at);
CREATE INDEX cases_reported ON cases (reported_at);
CREATE INDEX cases_cell ON cases (cell_code);
CREATE INDEX cases_unit ON cases (assigned_unit);
CREATE INDEX cases_asset ON cases (asset_collection, asset_id);

CREATE TABLE case_log (
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    note        TEXT,
    photos      TEXT NOT NULL DEFAULT '[]',
    detail      TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (case_id, seq)
);

-- Nothing in a case's log is ever edited or deleted.
CREATE TRIGGER case_log_no_update BEFORE UPDATE ON case_log
BEGIN
    SELECT RAISE(ABORT, 'case_log is append-only');
END;
CREATE TRIGGER case_log_no_delete BEFORE DELETE ON case_log
BEGIN
    SELECT RAISE(ABORT, 'case_log is append-only');
END;

-- Photos live in files named by their SHA-256; this is the reference and who sent it.
CREATE TABLE photos (
    sha256       TEXT PRIMARY KEY NOT NULL,
    media_type   TEXT NOT NULL,
    bytes        INTEGER NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  TEXT NOT NULL
);

-- Civic apps reporting through Open311 GeoReport v2; the key is stored only as its SHA-256.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    key_hash    BLOB NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
