-- The store: sessions and their append-only, hash-chained event log; output lines of runs
-- (kept up to a cap, outside the chain, with their digest recorded in the chain).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    checklist_id     TEXT NOT NULL,
    checklist_sha256 TEXT NOT NULL,
    environment      TEXT,
    started_at       TEXT NOT NULL
);

CREATE TABLE events (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    type       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE output (
    session_id TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    stream     TEXT NOT NULL,
    line       TEXT NOT NULL,
    PRIMARY KEY (session_id, run_id, n)
);
