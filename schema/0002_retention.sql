-- 0002_retention.sql: the retention lifecycle (docs/EVENTS.md): classes an
-- operator defines, expiry counted from finalize, legal holds, abort and
-- expiry, and the blob reference state the collector works from.  Every
-- table here but retention_seed is derived from `events`.

-- The seeded classes, static: a rebuild starts retention_classes from here.
CREATE TABLE retention_seed (
  name             TEXT PRIMARY KEY,
  duration_seconds INTEGER                     -- NULL: never expires
) WITHOUT ROWID;
INSERT INTO retention_seed (name, duration_seconds) VALUES
  ('transient', 604800),
  ('raw-evidence', 7776000),
  ('summary-evidence', 31536000),
  ('release-evidence', 220924800),
  ('permanent-record', NULL);

-- retention_classes: the seed plus v1.retention_class.* events.
ALTER TABLE retention_classes ADD COLUMN duration_seconds INTEGER;
UPDATE retention_classes SET duration_seconds = duration_days * 86400;
ALTER TABLE retention_classes DROP COLUMN duration_days;
ALTER TABLE retention_classes ADD COLUMN defined_seq INTEGER; -- NULL: seed

-- packages.status: 1 open, 2 finalized, 3 expired, 4 aborted.
CREATE INDEX packages_open ON packages (created_at) WHERE status = 1;
-- whether a class is in use, and how many packages use it
CREATE INDEX packages_class ON packages (retention_class);

-- retention_state.expires_at is NULL until finalize, then finalized_at +
-- the class duration (NULL: never), and only ever moves later.
ALTER TABLE retention_state ADD COLUMN ended_at INTEGER;   -- as_of
ALTER TABLE retention_state ADD COLUMN ended_seq INTEGER;  -- expired/aborted
ALTER TABLE retention_state ADD COLUMN end_reason TEXT;
UPDATE retention_state SET expires_at = NULL
  WHERE package_id IN (SELECT id FROM packages WHERE status = 1);
UPDATE retention_state SET expires_at =
  (SELECT p.finalized_at + c.duration_seconds * 1000000
     FROM packages p JOIN retention_classes c ON c.name = p.retention_class
    WHERE p.id = retention_state.package_id)
  WHERE package_id IN (SELECT id FROM packages WHERE status = 2);
CREATE INDEX retention_state_due ON retention_state (expires_at)
  WHERE ended_seq IS NULL AND expires_at IS NOT NULL;

CREATE TABLE holds (
  id           BLOB PRIMARY KEY CHECK (length(id) = 16),
  package_id   BLOB NOT NULL REFERENCES packages (id),
  reason       TEXT NOT NULL,
  actor        TEXT NOT NULL,
  placed_at    INTEGER NOT NULL,
  placed_seq   INTEGER NOT NULL,
  released_at  INTEGER,                        -- NULL while active
  released_by  TEXT,
  released_seq INTEGER
) WITHOUT ROWID;
CREATE INDEX holds_package ON holds (package_id, id);
CREATE INDEX holds_active ON holds (package_id) WHERE released_seq IS NULL;

-- blobs.refcount counts files of open and finalized packages.  At 0 the
-- blob is a collection candidate since unref_seq (the event that dropped
-- the last reference; unref_at its created_at); collected_seq is set by
-- v1.blob.collected and cleared when a new file references the bytes.
ALTER TABLE blobs ADD COLUMN unref_seq INTEGER;
ALTER TABLE blobs ADD COLUMN unref_at INTEGER;
ALTER TABLE blobs ADD COLUMN collected_seq INTEGER;
CREATE INDEX blobs_candidates ON blobs (unref_at)
  WHERE refcount = 0 AND collected_seq IS NULL;
