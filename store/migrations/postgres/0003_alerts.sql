-- Alerts and their transitions (as SQLite's 0003).
CREATE TABLE alerts (
	source     TEXT NOT NULL,
	id         TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('open', 'closed')),
	severity   TEXT NOT NULL,
	policy     TEXT NOT NULL DEFAULT '',
	started_at BIGINT NOT NULL, -- unix ms the problem began (the source's clock)
	ended_at   BIGINT NOT NULL DEFAULT 0, -- unix ms it closed; 0 while open
	closed_by  TEXT NOT NULL DEFAULT '', -- 'event' or 'poll'
	opened_at  BIGINT NOT NULL, -- unix ms this board recorded it open
	updated_at BIGINT NOT NULL, -- unix ms of the last write
	alert      TEXT NOT NULL, -- board.Alert as JSON
	PRIMARY KEY (source, id)
);

CREATE INDEX alerts_open ON alerts (state, source);

CREATE TABLE alert_transitions (
	source      TEXT NOT NULL,
	id          TEXT NOT NULL,
	policy      TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL CHECK (state IN ('open', 'closed')),
	at          BIGINT NOT NULL, -- unix ms of the event
	recorded_at BIGINT NOT NULL  -- unix ms it was stored
);

CREATE INDEX alert_transitions_at ON alert_transitions (state, at);
CREATE INDEX alert_transitions_alert ON alert_transitions (source, id);
