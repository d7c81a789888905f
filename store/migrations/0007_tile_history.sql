-- A compact history of every tile's value, for the standup view's "what
-- changed since": the first value of each 10-minute bucket (HistoryStep),
-- kept 8 days (HistoryKeep), so a standup compares with the value at the
-- time it states, across restarts.
CREATE TABLE tile_history (
	board  TEXT NOT NULL,
	tile   TEXT NOT NULL,
	bucket INTEGER NOT NULL, -- at / HistoryStep in ms: one row per bucket
	at     INTEGER NOT NULL, -- unix milliseconds of the data
	value  REAL NOT NULL,
	PRIMARY KEY (board, tile, bucket)
) STRICT, WITHOUT ROWID;
