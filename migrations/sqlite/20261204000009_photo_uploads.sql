-- Every photo upload, for the per-user daily quota: who sent how many bytes when. A row is
-- written (under the writer lock, after counting the user's uploads of the last 24 hours) before
-- the photo is cleaned, and removed again when the photo is refused; old rows are pruned with the
-- orphaned photos.
CREATE TABLE photo_uploads (
    id        INTEGER PRIMARY KEY,
    uploader  TEXT NOT NULL,
    at        TEXT NOT NULL,
    bytes     INTEGER NOT NULL
);
CREATE INDEX photo_uploads_uploader ON photo_uploads (uploader, at);
CREATE INDEX photos_uploaded_at ON photos (uploaded_at);
