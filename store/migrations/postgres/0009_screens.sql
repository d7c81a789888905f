-- Screens paired with a code at /pair (as SQLite's 0009).
CREATE TABLE screens (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	token_sha256 BYTEA NOT NULL UNIQUE,
	target       TEXT NOT NULL,
	lobby        BIGINT NOT NULL DEFAULT 0, -- 1: status only
	created_at   BIGINT NOT NULL,           -- unix milliseconds
	revoked_at   BIGINT                     -- unix milliseconds; NULL while valid
);
