package web

import (
	"time"

	"github.com/wallboard/wallboard/fourkeys"
)

// seconds is a duration in seconds, nil for no data.
func seconds(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	s := d.Seconds()
	return &s
}

// tierWord is a tier, or nil (JSON null) without data.
func tierWord(t fourkeys.Tier) any {
	if t == fourkeys.TierNone {
		return nil
	}
	return string(t)
}

// keysJSON is the four keys of one window in base units: per-day rate,
// seconds, a ratio 0–1; null for no data.
func keysJSON(m fourkeys.Metrics) map[string]any {
	df, lt, cfr, ttr := m.Tiers()
	return map[string]any{
		"window_start":            m.Window.Start.UTC(),
		"window_end":              m.Window.End.UTC(),
		"deployments":             m.Deployments,
		"failed_deployments":      m.FailedDeployments,
		"changes":                 m.Changes,
		"incidents_restored":      m.Restored,
		"deployments_per_day":     m.DeploymentsPerDay,
		"lead_time_seconds":       seconds(m.LeadTime),
		"change_failure_rate":     m.ChangeFailureRate,
		"time_to_restore_seconds": seconds(m.TimeToRestore),
		"tiers": map[string]any{
			"deployment_frequency": tierWord(df),
			"lead_time":            tierWord(lt),
			"change_failure_rate":  tierWord(cfr),
			"time_to_restore":      tierWord(ttr),
		},
	}
}

// FourKeysExtra is the "extra" object of the fourkeys, deploys and
// postmortems tiles in GET /api/v1/boards/{id}.
func FourKeysExtra(kind string, r *fourkeys.Report) map[string]any {
	switch kind {
	case "deploys":
		deps := []map[string]any{}
		for _, d := range r.Recent {
			deps = append(deps, map[string]any{"id": d.ID, "service": d.Service, "repo": d.Repo, "sha": d.SHA,
				"author": d.Author, "finished_at": d.FinishedAt.UTC(), "lead_time_seconds": seconds(d.LeadTime),
				"changes": d.Changes, "failed": d.Failed})
		}
		return map[string]any{"deployments": deps}
	case "postmortems":
		due := []map[string]any{}
		for _, in := range r.PostmortemsDue {
			due = append(due, map[string]any{"id": in.ID, "title": in.Title, "service": in.Service, "repo": in.Repo,
				"url": in.URL, "started_at": in.StartedAt.UTC(), "resolved_at": in.ResolvedAt.UTC()})
		}
		return map[string]any{"postmortems_due": due, "postmortem_after_seconds": r.PostmortemAfter.Seconds()}
	}
	out := keysJSON(r.Current)
	out["scope"] = r.Scope
	// false: no incident feed covers the scope; change failure rate and
	// time to restore are null because they are not measured.
	out["incidents_measured"] = !r.NoIncidentFeed
	out["previous"] = keysJSON(r.Previous)
	trend := make([]map[string]any, 0, len(r.Trend))
	for _, m := range r.Trend {
		trend = append(trend, keysJSON(m))
	}
	out["trend"] = trend
	return out
}
