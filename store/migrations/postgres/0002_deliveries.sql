-- Webhook deliveries already stored (as SQLite's 0002).
CREATE TABLE deliveries (
	receiver    TEXT NOT NULL,
	delivery_id TEXT NOT NULL,
	received_at BIGINT NOT NULL, -- unix milliseconds
	PRIMARY KEY (receiver, delivery_id)
);
