-- A compact history of every tile's value (as SQLite's 0007).
CREATE TABLE tile_history (
	board  TEXT NOT NULL,
	tile   TEXT NOT NULL,
	bucket BIGINT NOT NULL, -- at / HistoryStep in ms: one row per bucket
	at     BIGINT NOT NULL, -- unix milliseconds of the data
	value  DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (board, tile, bucket)
);
