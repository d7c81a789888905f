-- Four Keys events: deployments, the changes they shipped, and incidents.
-- Times are unix milliseconds (UTC instants). Rows are upserted on their ids,
-- so a redelivered webhook or a re-polled API page never counts twice.
CREATE TABLE deployments (
	id          TEXT PRIMARY KEY, -- source-scoped, e.g. "github:org/repo:123", "gitlog:svc:v1.2"
	service     TEXT NOT NULL,
	repo        TEXT NOT NULL DEFAULT '',
	sha         TEXT NOT NULL DEFAULT '',
	finished_at INTEGER NOT NULL,
	author      TEXT NOT NULL DEFAULT '',
	source      TEXT NOT NULL DEFAULT '' -- who reported it: a source id or a receiver
) STRICT;
CREATE INDEX deployments_by_time ON deployments (finished_at);
CREATE INDEX deployments_by_service ON deployments (service, finished_at);
CREATE INDEX deployments_by_sha ON deployments (sha);

-- deployed_at and service/repo repeat the deployment's so that a window's
-- changes are one index range scan, without a join.
CREATE TABLE changes (
	deployment_id TEXT NOT NULL,
	dep           INTEGER NOT NULL, -- deployments.rowid: an integer is far cheaper to read back than the id
	sha           TEXT NOT NULL,
	service       TEXT NOT NULL,
	repo          TEXT NOT NULL DEFAULT '',
	authored_at   INTEGER NOT NULL,
	deployed_at   INTEGER NOT NULL,
	PRIMARY KEY (deployment_id, sha)
) STRICT, WITHOUT ROWID;
-- Covering: loading a window's changes never touches the table itself.
CREATE INDEX changes_by_time ON changes (deployed_at, dep, authored_at, service, repo);

CREATE TABLE incidents (
	id             TEXT PRIMARY KEY,
	service        TEXT NOT NULL DEFAULT '',
	repo           TEXT NOT NULL DEFAULT '',
	title          TEXT NOT NULL DEFAULT '',
	url            TEXT NOT NULL DEFAULT '',
	started_at     INTEGER NOT NULL,
	resolved_at    INTEGER, -- NULL while open
	deployment_ref TEXT NOT NULL DEFAULT '',
	labels         TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	source         TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX incidents_by_start ON incidents (started_at);
CREATE INDEX incidents_by_resolution ON incidents (resolved_at);

-- Commits pushed to a repository's default branch, in push order (GitHub
-- push webhooks). Between two deployments of a repository, the changes are
-- the commits pushed after the previous deployed sha up to the deployed one.
CREATE TABLE pushed_commits (
	repo        TEXT NOT NULL,
	sha         TEXT NOT NULL,
	authored_at INTEGER NOT NULL,
	seq         INTEGER NOT NULL, -- order of arrival on the default branch
	PRIMARY KEY (repo, sha)
) STRICT;
CREATE INDEX pushed_commits_by_seq ON pushed_commits (repo, seq);
