-- Pairing codes, wrong-code counts and screen presence (as SQLite's 0010).
CREATE TABLE pairings (
	code_sha256  BYTEA PRIMARY KEY,
	nonce_sha256 BYTEA NOT NULL UNIQUE,
	addr         TEXT NOT NULL,
	expires_at   BIGINT NOT NULL,   -- unix milliseconds
	screen_id    TEXT               -- set on approval
);
CREATE INDEX pairings_expires ON pairings (expires_at);
CREATE INDEX pairings_addr ON pairings (addr, expires_at);

CREATE TABLE pair_failures (
	addr TEXT NOT NULL,
	at   BIGINT NOT NULL            -- unix milliseconds
);
CREATE INDEX pair_failures_addr ON pair_failures (addr, at);

CREATE TABLE screen_presence (
	replica    TEXT NOT NULL,
	screen_id  TEXT NOT NULL,
	conns      BIGINT NOT NULL,
	lost_at    BIGINT,
	beat_at    BIGINT,
	w          BIGINT NOT NULL DEFAULT 0,
	h          BIGINT NOT NULL DEFAULT 0,
	dpr        DOUBLE PRECISION NOT NULL DEFAULT 0,
	browser    TEXT NOT NULL DEFAULT '',
	build      TEXT NOT NULL DEFAULT '',
	autoplay   BIGINT,
	opens      BIGINT NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (replica, screen_id)
);
CREATE INDEX screen_presence_updated ON screen_presence (updated_at);
