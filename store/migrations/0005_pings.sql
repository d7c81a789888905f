-- Deliveries to POST /api/v1/events/ping, the delivery check endpoint: one
-- row per first delivery of an id. delivery_id is deliberately not unique
-- here: that a redelivery adds no row is the receiver's job (FirstDelivery in
-- the same transaction), and the kill -9 test checks exactly that.
CREATE TABLE pings (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id TEXT NOT NULL,
	note        TEXT NOT NULL,
	received_at INTEGER NOT NULL -- unix milliseconds
) STRICT;
