-- Alerts from every source (polls and webhooks), one row per (source, id),
-- and every open/close transition, for the alert tiles, the takeover and the
-- hygiene tile's "opened more than N times in 7 days".
CREATE TABLE alerts (
	source     TEXT NOT NULL, -- config source id or webhook receiver id
	id         TEXT NOT NULL, -- unique within source
	state      TEXT NOT NULL CHECK (state IN ('open', 'closed')),
	severity   TEXT NOT NULL,
	policy     TEXT NOT NULL DEFAULT '',
	started_at INTEGER NOT NULL, -- unix ms the problem began (the source's clock)
	ended_at   INTEGER NOT NULL DEFAULT 0, -- unix ms it closed; 0 while open
	-- closed_by is 'event' when a source said it closed, 'poll' when it
	-- vanished from a complete poll (a later poll showing it again reopens it).
	closed_by  TEXT NOT NULL DEFAULT '',
	opened_at  INTEGER NOT NULL, -- unix ms this board recorded it open (the takeover clock)
	updated_at INTEGER NOT NULL, -- unix ms of the last write
	alert      TEXT NOT NULL, -- board.Alert as JSON
	PRIMARY KEY (source, id)
) STRICT;

CREATE INDEX alerts_open ON alerts (state, source);

CREATE TABLE alert_transitions (
	source      TEXT NOT NULL,
	id          TEXT NOT NULL,
	policy      TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL CHECK (state IN ('open', 'closed')),
	at          INTEGER NOT NULL, -- unix ms of the event (started_at or ended_at)
	recorded_at INTEGER NOT NULL  -- unix ms it was stored
) STRICT;

CREATE INDEX alert_transitions_at ON alert_transitions (state, at);
CREATE INDEX alert_transitions_alert ON alert_transitions (source, id);
