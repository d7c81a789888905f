-- Last known state of every tile, so screens show the last values (marked
-- with their age) after a restart instead of blanks.
CREATE TABLE tile_state (
	board      TEXT NOT NULL,
	tile       TEXT NOT NULL,
	state      TEXT NOT NULL, -- board.TileState as JSON
	updated_at INTEGER NOT NULL, -- unix milliseconds of the data
	PRIMARY KEY (board, tile)
) STRICT;
