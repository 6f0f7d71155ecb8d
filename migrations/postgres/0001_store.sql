-- The store: sessions and their append-only, hash-chained event log; output lines of runs
-- (kept up to a cap, outside the chain, with their digest recorded in the chain). The same
-- schema as the SQLite store's, with 64-bit integers.
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
    seq        BIGINT NOT NULL,
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
    n          BIGINT NOT NULL,
    stream     TEXT NOT NULL,
    line       TEXT NOT NULL,
    PRIMARY KEY (session_id, run_id, n)
);

-- Every committed event wakes the processes attached to its session (LISTEN relcon_events);
-- notifications are delivered at commit, so a listener never reads ahead of the log.
CREATE FUNCTION relcon_notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('relcon_events', NEW.session_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION relcon_notify_event();
