-- Deployment rework rate and postmortem links: a deployment may name the
-- incident it was made for and carry labels (a hotfix label makes it
-- rework); an incident may link its written postmortem.
ALTER TABLE deployments ADD COLUMN incident_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN labels TEXT NOT NULL DEFAULT '[]'; -- JSON array of strings
ALTER TABLE incidents ADD COLUMN postmortem_url TEXT NOT NULL DEFAULT '';
