-- Webhook deliveries arrive in any order. Each pushed commit keeps its
-- parent, so the commits between two deployed shas follow the history, not
-- the order of arrival; deployments whose commits were not all known yet are
-- listed until a push completes them; each incident keeps the time of the
-- report stored (the issue's updated_at), so an older report never replaces
-- a newer one, and issues that stopped being incidents leave a tombstone.
ALTER TABLE pushed_commits ADD COLUMN parent TEXT NOT NULL DEFAULT ''; -- '' = unknown (stored before 0006)
ALTER TABLE incidents ADD COLUMN rev INTEGER NOT NULL DEFAULT 0; -- unix ms of the report; 0 = unknown (last report wins)
CREATE TABLE incident_tombstones (
	id  TEXT PRIMARY KEY,
	rev INTEGER NOT NULL -- unix ms of the report that removed it
) STRICT;
CREATE TABLE unlinked_deployments (
	id   TEXT PRIMARY KEY,
	repo TEXT NOT NULL -- lower-case owner/name, as in pushed_commits
) STRICT;
CREATE INDEX unlinked_deployments_by_repo ON unlinked_deployments (repo);
