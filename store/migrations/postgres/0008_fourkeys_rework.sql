-- Deployment rework rate and postmortem links (as SQLite's 0008).
ALTER TABLE deployments ADD COLUMN incident_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN labels TEXT NOT NULL DEFAULT '[]'; -- JSON array of strings
ALTER TABLE incidents ADD COLUMN postmortem_url TEXT NOT NULL DEFAULT '';
