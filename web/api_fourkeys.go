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

// keysJSON is the metrics of one window in base units: per-day rate,
// seconds, a ratio 0–1; null for no data. The flat fields are kept for
// existing clients; "metrics" carries each figure with the counts behind it.
// tiered=false (benchmarks: none) makes every tier null.
func keysJSON(m fourkeys.Metrics, tiered bool) map[string]any {
	df, lt, cfr, rec := m.Tiers()
	ttr := fourkeys.RestoreTier(m.TimeToRestore)
	if !tiered {
		df, lt, cfr, rec, ttr = fourkeys.TierNone, fourkeys.TierNone, fourkeys.TierNone, fourkeys.TierNone, fourkeys.TierNone
	}
	return map[string]any{
		"window_start":                       m.Window.Start.UTC(),
		"window_end":                         m.Window.End.UTC(),
		"deployments":                        m.Deployments,
		"failed_deployments":                 m.FailedDeployments,
		"rework_deployments":                 m.Rework,
		"changes":                            m.Changes,
		"incidents_restored":                 m.Restored,
		"incidents_recovered":                m.Recovered,
		"deployments_per_day":                m.DeploymentsPerDay,
		"lead_time_seconds":                  seconds(m.LeadTime),
		"change_failure_rate":                m.ChangeFailureRate,
		"deployment_rework_rate":             m.ReworkRate,
		"failed_deployment_recovery_seconds": seconds(m.RecoveryTime),
		"time_to_restore_seconds":            seconds(m.TimeToRestore),
		"tiers": map[string]any{
			"deployment_frequency":            tierWord(df),
			"lead_time":                       tierWord(lt),
			"change_failure_rate":             tierWord(cfr),
			"failed_deployment_recovery_time": tierWord(rec),
			"time_to_restore":                 tierWord(ttr),
		},
		"metrics": map[string]any{
			"deployment_frequency": map[string]any{"value": m.DeploymentsPerDay, "unit": "per_day",
				"deployments": m.Deployments, "days": m.Window.Days(), "tier": tierWord(df)},
			"lead_time": map[string]any{"value": seconds(m.LeadTime), "unit": "seconds", "statistic": "median",
				"changes": m.Changes, "tier": tierWord(lt)},
			"change_failure_rate": map[string]any{"value": m.ChangeFailureRate, "unit": "ratio",
				"failed": m.FailedDeployments, "deployments": m.Deployments, "tier": tierWord(cfr)},
			"deployment_rework_rate": map[string]any{"value": m.ReworkRate, "unit": "ratio",
				"rework": m.Rework, "deployments": m.Deployments},
			"failed_deployment_recovery_time": map[string]any{"value": seconds(m.RecoveryTime), "unit": "seconds", "statistic": "median",
				"incidents": m.Recovered, "tier": tierWord(rec)},
			"time_to_restore": map[string]any{"value": seconds(m.TimeToRestore), "unit": "seconds", "statistic": "median",
				"incidents": m.Restored, "tier": tierWord(ttr)},
		},
	}
}

// fourKeysExtra is the "extra" object of the fourkeys, deploys and
// postmortems tiles in GET /api/v1/boards/{id}.
func fourKeysExtra(kind string, r *fourkeys.Report) map[string]any {
	switch kind {
	case "deploys":
		deps := []map[string]any{}
		for _, d := range r.Recent {
			deps = append(deps, map[string]any{"id": d.ID, "service": d.Service, "repo": d.Repo, "sha": d.SHA,
				"author": d.Author, "finished_at": d.FinishedAt.UTC(), "lead_time_seconds": seconds(d.LeadTime),
				"changes": d.Changes, "failed": d.Failed, "rework": d.Rework, "incident_ref": d.IncidentRef})
		}
		return map[string]any{"deployments": deps}
	case "postmortems":
		due := []map[string]any{}
		for _, in := range r.PostmortemsDue {
			due = append(due, map[string]any{"id": in.ID, "title": in.Title, "service": in.Service, "repo": in.Repo,
				"url": in.URL, "started_at": in.StartedAt.UTC(), "resolved_at": in.ResolvedAt.UTC(),
				"due_at": in.DueAt.UTC(), "overdue": in.Overdue})
		}
		return map[string]any{"postmortems_due": due, "postmortems_overdue": r.PostmortemsOverdue(),
			"postmortem_after_seconds": r.PostmortemAfter.Seconds(), "postmortem_business_days": r.PostmortemBusinessDays}
	}
	tiered := r.Benchmarks != ""
	out := keysJSON(r.Current, tiered)
	out["scope"] = r.Scope
	// false: no incident feed covers the scope; change failure rate and
	// time to restore are null because they are not measured.
	out["incidents_measured"] = !r.NoIncidentFeed
	out["attribution_window_seconds"] = r.AttributionWindow.Seconds()
	// The tier table and its year; null with benchmarks: none.
	out["benchmarks"] = nil
	if tiered {
		out["benchmarks"] = r.Benchmarks
	}
	out["previous"] = keysJSON(r.Previous, tiered)
	trend := make([]map[string]any, 0, len(r.Trend))
	for _, m := range r.Trend {
		trend = append(trend, keysJSON(m, tiered))
	}
	out["trend"] = trend
	return out
}
