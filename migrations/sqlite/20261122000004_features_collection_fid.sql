-- A collection's features in key order: loading a collection walks this index instead of
-- looking up every row through (collection, id) and sorting them all by fid.
CREATE INDEX features_collection_fid ON features (collection, fid);
