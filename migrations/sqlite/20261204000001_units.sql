-- The registry of units (责任单位) cases may be dispatched to, beyond the responsible units the
-- grid cells name: units an administrator added (utilities, departments). Names are the key, as
-- cases and users refer to units by name. Units already held by a handler are carried over, so
-- an existing deployment keeps dispatching to them.
CREATE TABLE units (
    name        TEXT PRIMARY KEY NOT NULL CHECK (length(trim(name)) > 0),
    added_by    TEXT,
    added_at    TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO units (name, added_by, added_at)
SELECT DISTINCT trim(unit), NULL, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM users
WHERE role = 'handler' AND unit IS NOT NULL AND length(trim(unit)) > 0;
