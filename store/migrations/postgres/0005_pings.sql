-- Deliveries to POST /api/v1/events/ping (as SQLite's 0005).
CREATE TABLE pings (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id TEXT NOT NULL,
	note        TEXT NOT NULL,
	received_at BIGINT NOT NULL -- unix milliseconds
);
