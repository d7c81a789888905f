package board

import "time"

// KindSecurity is the security baseline tile: open Dependabot, code scanning
// and secret scanning alerts of GitHub repositories. Its source (github)
// answers it differently from the Four Keys tiles on the same source, so the
// tile's kind is part of its query (Query.Kind).
const KindSecurity = "security"

// DefaultCriticalAfter is how long an open critical alert may stay open
// before the security tile is critical (open high alerts, and criticals
// younger than this, make it a warning).
const DefaultCriticalAfter = 7 * 24 * time.Hour

// SeverityCounts are open alerts by severity.
type SeverityCounts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
}

// Add counts one alert of severity sev (critical, high, medium; anything
// else, including code scanning's non-security "error"/"warning"/"note",
// counts as low).
func (c *SeverityCounts) Add(sev string) {
	switch sev {
	case "critical":
		c.Critical++
	case "high":
		c.High++
	case "medium", "moderate": // Dependabot's GraphQL says moderate
		c.Medium++
	default:
		c.Low++
	}
}

// Plus is c and d summed.
func (c SeverityCounts) Plus(d SeverityCounts) SeverityCounts {
	return SeverityCounts{c.Critical + d.Critical, c.High + d.High, c.Medium + d.Medium, c.Low + d.Low}
}

// RepoSecurity is one repository's open alerts.
type RepoSecurity struct {
	Repo         string         `json:"repo"`
	Dependabot   SeverityCounts `json:"dependabot"`
	CodeScanning SeverityCounts `json:"code_scanning"`
	// Secrets is the open secret scanning alerts; nil when the token may
	// not read them (GitHub answered 403 or 404).
	Secrets *int `json:"secret_scanning"`
	// OldestCritical and OldestHigh are when the oldest open alert of that
	// severity (Dependabot or code scanning) was created; zero: none open.
	OldestCritical time.Time `json:"oldest_critical_at,omitzero"`
	OldestHigh     time.Time `json:"oldest_high_at,omitzero"`
	OldestSecret   time.Time `json:"oldest_secret_at,omitzero"`
	Status         Status    `json:"status"`
	// Error is why this repository's alerts are not current ("" when they are).
	Error string `json:"error,omitempty"`
}

// SecurityReport is what the security tile shows.
type SecurityReport struct {
	Repos []RepoSecurity `json:"repos"`
	// Totals are the open Dependabot and code scanning alerts of every
	// repository, by severity.
	Totals SeverityCounts `json:"totals"`
	// Secrets sums the readable repositories' open secret scanning alerts;
	// SecretsUnreadable names the repositories whose token may not read them.
	Secrets           int       `json:"secret_scanning"`
	SecretsUnreadable []string  `json:"secret_scanning_unreadable,omitempty"`
	OldestCritical    time.Time `json:"oldest_critical_at,omitzero"`
	OldestHigh        time.Time `json:"oldest_high_at,omitzero"`
	// CriticalAfter is the rule applied: an open critical (or secret) alert
	// older than this makes the tile critical.
	CriticalAfter time.Duration `json:"critical_after"`
}

// JudgeRepo applies the security rule to one repository at now: critical
// when an open critical alert or secret scanning alert is older than
// criticalAfter; a warning while any critical, high or secret alert is open;
// else ok.
func JudgeRepo(r RepoSecurity, criticalAfter time.Duration, now time.Time) Status {
	old := func(t time.Time) bool { return !t.IsZero() && now.Sub(t) > criticalAfter }
	switch {
	case old(r.OldestCritical) || old(r.OldestSecret):
		return StatusCritical
	case !r.OldestCritical.IsZero() || !r.OldestHigh.IsZero() || !r.OldestSecret.IsZero():
		return StatusWarn
	}
	return StatusOK
}
