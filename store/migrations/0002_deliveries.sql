-- Webhook deliveries already stored, so a redelivery is acknowledged without
-- being counted twice. receiver: github, alertmanager, cloudmonitoring, events.
CREATE TABLE deliveries (
	receiver    TEXT NOT NULL,
	delivery_id TEXT NOT NULL,
	received_at INTEGER NOT NULL, -- unix milliseconds
	PRIMARY KEY (receiver, delivery_id)
) STRICT;
