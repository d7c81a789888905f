-- Screens paired with a code at /pair (issue 17): each holds its own
-- credential, stored only as its SHA-256 like the screen links of the
-- config, and what it should show, so a restart keeps every TV on its board.
-- A revoked screen keeps its row (the fleet page lists it) but its
-- credential no longer lets it in.
CREATE TABLE screens (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	token_sha256 BLOB NOT NULL UNIQUE,
	target       TEXT NOT NULL,          -- a local path: /boards/ID or /playlists/ID
	lobby        INTEGER NOT NULL DEFAULT 0, -- 1: status only (visitors can see it)
	created_at   INTEGER NOT NULL,       -- unix milliseconds
	revoked_at   INTEGER                 -- unix milliseconds; NULL while valid
) STRICT;
