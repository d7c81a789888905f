-- Pairing codes waiting for an admin, kept here rather than in one
-- process's memory so that replicas behind a load balancer share them: the
-- TV's /pair, the admin's approval and the TV's wait may each reach another
-- replica. Only hashes are kept: of the code (what the admin types) and of
-- the TV's pairing cookie, which becomes the screen's credential once
-- approved (screens.token_sha256 is then nonce_sha256). Rows live at most
-- until expires_at; every new code sweeps the expired ones.
CREATE TABLE pairings (
	code_sha256  BLOB PRIMARY KEY,
	nonce_sha256 BLOB NOT NULL UNIQUE,
	addr         TEXT NOT NULL,          -- the client's address key (limit per address)
	expires_at   INTEGER NOT NULL,       -- unix milliseconds
	screen_id    TEXT                    -- set on approval; NULL while waiting
) STRICT;
CREATE INDEX pairings_expires ON pairings (expires_at);
CREATE INDEX pairings_addr ON pairings (addr, expires_at);

-- Wrong codes typed by an admin, per address, for the rate limit (rows older
-- than the window are swept on every insert).
CREATE TABLE pair_failures (
	addr TEXT NOT NULL,
	at   INTEGER NOT NULL                -- unix milliseconds
) STRICT;
CREATE INDEX pair_failures_addr ON pair_failures (addr, at);

-- What each replica sees live of the screens connected to it, so that every
-- replica's fleet page shows them. A replica rewrites its changed rows and
-- touches all of its rows (updated_at) every few seconds; a row not touched
-- for long belongs to a replica that is gone. Rows untouched for a day are
-- swept.
CREATE TABLE screen_presence (
	replica    TEXT NOT NULL,
	screen_id  TEXT NOT NULL,
	conns      INTEGER NOT NULL,         -- websockets open now on that replica
	lost_at    INTEGER,                  -- unix ms the last one closed; NULL while connected
	beat_at    INTEGER,                  -- unix ms of the page's last report
	w          INTEGER NOT NULL DEFAULT 0,
	h          INTEGER NOT NULL DEFAULT 0,
	dpr        REAL NOT NULL DEFAULT 0,
	browser    TEXT NOT NULL DEFAULT '',
	build      TEXT NOT NULL DEFAULT '',
	autoplay   INTEGER,                  -- NULL unknown, 0 blocked, 1 can play
	opens      INTEGER NOT NULL DEFAULT 0, -- websocket opens in the last 24 h
	updated_at INTEGER NOT NULL,         -- unix ms of the replica's last write
	PRIMARY KEY (replica, screen_id)
) STRICT;
CREATE INDEX screen_presence_updated ON screen_presence (updated_at);
