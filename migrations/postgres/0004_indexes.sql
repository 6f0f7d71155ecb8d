-- Lookups that stay constant as a session grows: the latest result of one item (a claim
-- asks it for every item it runs) and whether a session is closed (every append asks).
-- `item` copies the item a result event's payload names; it is an index, not a fact: the
-- chain covers the payload, and readers check the payload's item.
ALTER TABLE events ADD COLUMN item TEXT;
UPDATE events SET item = CAST(payload AS json) ->> 'item' WHERE type = 'result';
CREATE INDEX events_result_of_item ON events (session_id, item, seq) WHERE item IS NOT NULL;
CREATE INDEX events_of_type ON events (session_id, type, seq);
