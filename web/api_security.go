package web

import (
	"time"

	"github.com/wallboard/wallboard/board"
)

// securityExtra is the "extra" object of a security tile in GET
// /api/v1/boards/{id}: open alerts by severity in total and per repository,
// secret scanning (null where the token may not read it), and the oldest
// open critical and high with their ages in seconds at now.
func securityExtra(r *board.SecurityReport, now time.Time) map[string]any {
	age := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return now.Sub(t).Seconds()
	}
	at := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC()
	}
	repos := []map[string]any{}
	for _, rr := range r.Repos {
		m := map[string]any{"repo": rr.Repo, "status": rr.Status, "dependabot": rr.Dependabot, "code_scanning": rr.CodeScanning,
			"secret_scanning": rr.Secrets, "oldest_critical_at": at(rr.OldestCritical), "oldest_critical_age_seconds": age(rr.OldestCritical),
			"oldest_high_at": at(rr.OldestHigh), "oldest_high_age_seconds": age(rr.OldestHigh)}
		if rr.Error != "" {
			m["error"] = rr.Error
		}
		repos = append(repos, m)
	}
	unreadable := r.SecretsUnreadable
	if unreadable == nil {
		unreadable = []string{}
	}
	return map[string]any{"totals": r.Totals, "secret_scanning": r.Secrets, "secret_scanning_unreadable": unreadable,
		"oldest_critical_at": at(r.OldestCritical), "oldest_critical_age_seconds": age(r.OldestCritical),
		"oldest_high_at": at(r.OldestHigh), "oldest_high_age_seconds": age(r.OldestHigh),
		"critical_after_seconds": r.CriticalAfter.Seconds(), "repos": repos}
}
