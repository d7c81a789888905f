-- Four Keys events (as SQLite's 0004). deployments.rowid stands for SQLite's
-- implicit rowid: the store reads it by that name on both engines.
CREATE TABLE deployments (
	id          TEXT PRIMARY KEY,
	rowid       BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	service     TEXT NOT NULL,
	repo        TEXT NOT NULL DEFAULT '',
	sha         TEXT NOT NULL DEFAULT '',
	finished_at BIGINT NOT NULL,
	author      TEXT NOT NULL DEFAULT '',
	source      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deployments_by_time ON deployments (finished_at);
CREATE INDEX deployments_by_service ON deployments (service, finished_at);
CREATE INDEX deployments_by_sha ON deployments (sha);

CREATE TABLE changes (
	deployment_id TEXT NOT NULL,
	dep           BIGINT NOT NULL, -- deployments.rowid
	sha           TEXT NOT NULL,
	service       TEXT NOT NULL,
	repo          TEXT NOT NULL DEFAULT '',
	authored_at   BIGINT NOT NULL,
	deployed_at   BIGINT NOT NULL,
	PRIMARY KEY (deployment_id, sha)
);
CREATE INDEX changes_by_time ON changes (deployed_at, dep, authored_at, service, repo);

CREATE TABLE incidents (
	id             TEXT PRIMARY KEY,
	service        TEXT NOT NULL DEFAULT '',
	repo           TEXT NOT NULL DEFAULT '',
	title          TEXT NOT NULL DEFAULT '',
	url            TEXT NOT NULL DEFAULT '',
	started_at     BIGINT NOT NULL,
	resolved_at    BIGINT, -- NULL while open
	deployment_ref TEXT NOT NULL DEFAULT '',
	labels         TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	source         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incidents_by_start ON incidents (started_at);
CREATE INDEX incidents_by_resolution ON incidents (resolved_at);

CREATE TABLE pushed_commits (
	repo        TEXT NOT NULL,
	sha         TEXT NOT NULL,
	authored_at BIGINT NOT NULL,
	seq         BIGINT NOT NULL, -- order of arrival on the default branch
	PRIMARY KEY (repo, sha)
);
CREATE INDEX pushed_commits_by_seq ON pushed_commits (repo, seq);
