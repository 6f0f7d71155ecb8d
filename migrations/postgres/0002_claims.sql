-- Claims: which process runs an item of a session now, until when (a lease its runner
-- renews while the check runs). Not part of the event log: a claim is a lock, not a fact.
CREATE TABLE claims (
    session_id TEXT NOT NULL,
    item       TEXT NOT NULL,
    holder     TEXT NOT NULL,
    token      TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, item)
);
