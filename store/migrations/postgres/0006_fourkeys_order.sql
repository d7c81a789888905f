-- Four Keys events in any order of arrival (as SQLite's 0006).
ALTER TABLE pushed_commits ADD COLUMN parent TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN rev BIGINT NOT NULL DEFAULT 0; -- unix ms of the report
CREATE TABLE incident_tombstones (
	id  TEXT PRIMARY KEY,
	rev BIGINT NOT NULL -- unix ms of the report that removed it
);
CREATE TABLE unlinked_deployments (
	id   TEXT PRIMARY KEY,
	repo TEXT NOT NULL -- lower-case owner/name, as in pushed_commits
);
CREATE INDEX unlinked_deployments_by_repo ON unlinked_deployments (repo);
