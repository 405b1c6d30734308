-- 0001_event_log.sql: the event log (source of truth) and the first
-- materialised views.  See docs/EVENTS.md for payloads and the chain digest
-- layout (src/store/evlog.c).  Views are rebuilt from `events` by
-- `artifactstored --replay`; only retention_classes is seeded here.

CREATE TABLE events (
  sequence       INTEGER PRIMARY KEY,          -- 1, 2, 3, ... gapless
  created_at     INTEGER NOT NULL,             -- us since epoch, UTC
  event_type     TEXT    NOT NULL,             -- v1.package.created, ...
  subject_kind   TEXT    NOT NULL,             -- package, file, ...
  subject_id     BLOB    NOT NULL CHECK (length(subject_id) = 16),
  actor          TEXT    NOT NULL,
  payload        BLOB    NOT NULL,             -- canonical CBOR
  payload_digest BLOB    NOT NULL CHECK (length(payload_digest) = 32),
  chain_digest   BLOB    NOT NULL CHECK (length(chain_digest) = 32)
);
CREATE INDEX events_subject ON events (subject_kind, subject_id);
CREATE INDEX events_type ON events (event_type, sequence);

-- Rows are immutable.  (Anyone with the file can drop these; the chain
-- digest is what makes such edits detectable: --verify-log.)
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are immutable');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are immutable');
END;

-- Static configuration, seeded here (not derived from events).
CREATE TABLE retention_classes (
  name          TEXT PRIMARY KEY,
  duration_days INTEGER                        -- NULL: never expires
) WITHOUT ROWID;
INSERT INTO retention_classes (name, duration_days) VALUES
  ('transient', 7),
  ('raw-evidence', 90),
  ('summary-evidence', 365),
  ('release-evidence', 2557),
  ('permanent-record', NULL);

CREATE TABLE packages (
  id              BLOB PRIMARY KEY CHECK (length(id) = 16),
  name            TEXT NOT NULL,
  producer        TEXT NOT NULL,
  subject         TEXT NOT NULL,
  retention_class TEXT NOT NULL REFERENCES retention_classes (name),
  metadata        TEXT NOT NULL,               -- JCS text of an object
  status          INTEGER NOT NULL,            -- 1 open, 2 finalized
  created_at      INTEGER NOT NULL,
  finalized_at    INTEGER,
  manifest_digest BLOB,                        -- payload_digest of finalize
  created_seq     INTEGER NOT NULL,
  finalized_seq   INTEGER                      -- events row holding the manifest
) WITHOUT ROWID;
CREATE INDEX packages_name ON packages (name, id);
CREATE INDEX packages_producer ON packages (producer, id);
CREATE INDEX packages_subject ON packages (subject, id);

CREATE TABLE blobs (
  blake3   BLOB PRIMARY KEY CHECK (length(blake3) = 32),
  sha256   BLOB NOT NULL CHECK (length(sha256) = 32),
  size     INTEGER NOT NULL,
  refcount INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_sha256 ON blobs (sha256);

CREATE TABLE files (
  id         BLOB PRIMARY KEY CHECK (length(id) = 16),
  package_id BLOB NOT NULL REFERENCES packages (id),
  path       TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size       INTEGER NOT NULL,
  blake3     BLOB NOT NULL REFERENCES blobs (blake3),
  sha256     BLOB NOT NULL,
  UNIQUE (package_id, path)
) WITHOUT ROWID;
CREATE INDEX files_blake3 ON files (blake3, id);
CREATE INDEX files_sha256 ON files (sha256, id);

CREATE TABLE retention_state (
  package_id BLOB PRIMARY KEY REFERENCES packages (id),
  class      TEXT NOT NULL REFERENCES retention_classes (name),
  expires_at INTEGER                           -- us; NULL: permanent
) WITHOUT ROWID;

CREATE TABLE state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  last_sequence INTEGER NOT NULL               -- highest applied event
);
INSERT INTO state (id, last_sequence) VALUES (1, 0);
