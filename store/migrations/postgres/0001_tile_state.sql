-- Last known state of every tile (as SQLite's 0001). Times are BIGINT unix
-- milliseconds throughout, as SQLite's INTEGER.
CREATE TABLE tile_state (
	board      TEXT NOT NULL,
	tile       TEXT NOT NULL,
	state      TEXT NOT NULL, -- board.TileState as JSON
	updated_at BIGINT NOT NULL, -- unix milliseconds of the data
	PRIMARY KEY (board, tile)
);
