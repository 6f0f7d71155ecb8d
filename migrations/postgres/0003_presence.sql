-- Presence: which processes are attached to a session now (a lease each renews while it
-- works); "operators attached" are the live leases.
CREATE TABLE presence (
    session_id TEXT NOT NULL,
    token      TEXT NOT NULL,
    holder     TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, token)
);
