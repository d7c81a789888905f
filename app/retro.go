package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/views"
)

// retroListed is how many deployments, incidents and alerts the retro
// lists (newest, newest, noisiest): what fits a portrait screen in
// standup type beside the five DORA figures; the counts above the lists
// cover the whole period.
const retroListed = 4

// retroSource fills /boards/{id}/retro from the store: the Four Keys of
// every stored deployment and incident, and the alert openings of the
// config's alert feeds.
type retroSource struct{ a *App }

func (r retroSource) Retro(ctx context.Context, boardID string, since, until time.Time) (*views.Retro, error) {
	st := r.a.Store()
	cfg := r.a.Config()
	var text views.Text = views.English
	for _, b := range cfg.Boards {
		if b.ID == boardID {
			text = views.TextFor(b.Locale)
		}
	}
	// The postmortem rule (label, due days) is the source's of the board's
	// Four Keys tiles, as their postmortems tile judges it.
	src := retroKeysSource(cfg, boardID)
	label := "postmortem"
	if src.PostmortemLabel != "" {
		label = src.PostmortemLabel
	}
	rule, err := board.FourKeysOf(src)
	if err != nil {
		rule, _ = board.FourKeysOf(board.SourceConfig{})
	}
	period := until.Sub(since)
	scope := retroScope(cfg, boardID)
	rep, err := st.ComputeFourKeys(ctx, scope, until, period, fourkeys.Options{PostmortemLabel: label,
		AttributionWindow: rule.AttributionWindow, HotfixLabels: rule.HotfixLabels})
	if err != nil {
		return nil, fmt.Errorf("retro: four keys: %w", err)
	}
	out := &views.Retro{Since: since, Until: until, Deployments: rep.Current.Deployments, Failed: rep.Current.FailedDeployments, Rework: rep.Current.Rework}
	out.Keys = retroKeys(rep, text)

	ev, err := st.LoadFourKeys(ctx, scope, since, until)
	if err != nil {
		return nil, fmt.Errorf("retro: events: %w", err)
	}
	failed, rework := map[string]bool{}, map[string]bool{}
	for _, d := range rep.Recent {
		if d.Failed {
			failed[d.ID] = true
		}
		if d.Rework {
			rework[d.ID] = true
		}
	}
	for _, d := range ev.Deployments {
		if d.FinishedAt.Before(since) || d.FinishedAt.After(until) {
			continue
		}
		// The store loads deployments of every scope (an incident may name
		// any); list only the board's, as fourkeys counts them.
		if !scope.MatchDeployment(d) {
			continue
		}
		state := "ok"
		switch {
		case failed[d.ID]:
			state = "failed"
		case rework[d.ID]:
			state = "rework"
		}
		out.Recent = append(out.Recent, views.RetroItem{At: d.FinishedAt, Title: strings.TrimSpace(d.Service + " " + shortSHA(d.SHA)), Detail: d.Author, State: state})
	}
	slices.SortFunc(out.Recent, func(x, y views.RetroItem) int { return y.At.Compare(x.At) })
	if len(out.Recent) > retroListed {
		out.Recent = out.Recent[:retroListed]
	}
	for _, in := range ev.Incidents {
		if in.StartedAt.After(until) || !in.ResolvedAt.IsZero() && in.ResolvedAt.Before(since) {
			continue
		}
		if !scope.MatchIncident(in) {
			continue // the store loads incidents of every scope
		}
		state := "open"
		switch {
		case strings.TrimSpace(in.PostmortemURL) != "" || slices.ContainsFunc(in.Labels, func(l string) bool { return strings.EqualFold(l, label) }):
			state = "written"
		case in.ResolvedAt.IsZero():
		case !fourkeys.PostmortemDueAt(in.ResolvedAt, rule.PostmortemDays, rule.PostmortemBiz).After(until):
			state = "overdue"
		default:
			state = "due"
		}
		title := in.Title
		if title == "" {
			title = in.ID
		}
		out.Incidents = append(out.Incidents, views.RetroItem{At: in.StartedAt, Title: title, Detail: in.Service, State: state})
	}
	slices.SortFunc(out.Incidents, func(x, y views.RetroItem) int { return y.At.Compare(x.At) })
	if len(out.Incidents) > retroListed {
		out.Incidents = out.Incidents[:retroListed]
	}

	var feeds []string
	for _, s := range cfg.Sources {
		if s.Kind == "alertmanager" || s.Kind == "gcm" || s.Kind == "webhooks" {
			feeds = append(feeds, s.ID)
		}
	}
	for name, w := range map[string]*board.WebhookConfig{"alertmanager-webhook": cfg.Webhooks.Alertmanager,
		"cloudmonitoring": cfg.Webhooks.CloudMonitoring, "events": cfg.Webhooks.Events} {
		if w != nil {
			feeds = append(feeds, name)
		}
	}
	if len(feeds) > 0 {
		out.AlertsKnown = true
		ops, err := st.Openings(ctx, feeds, since)
		if err != nil {
			return nil, fmt.Errorf("retro: alert openings: %w", err)
		}
		acts, err := st.PoliciesWithNextAction(ctx, feeds, since)
		if err != nil {
			return nil, fmt.Errorf("retro: next actions: %w", err)
		}
		for _, o := range ops { // most frequent first
			has := acts[o.Source+"\x00"+o.Policy]
			if has {
				out.WithAction++
			} else {
				out.WithoutAction++
			}
			out.Alerts = append(out.Alerts, views.RetroAlert{Policy: o.Policy, Count: o.Count, NextAction: has})
		}
		if len(out.Alerts) > retroListed {
			out.Alerts = out.Alerts[:retroListed]
		}
	}
	for _, b := range cfg.Boards {
		if b.ID != boardID {
			continue
		}
		for _, t := range b.Tiles {
			if !isSLOBudget(t) {
				continue
			}
			o := views.RetroSLO{Title: t.Title}
			if o.Title == "" {
				o.Title = t.ID
			}
			from, ok1, err := st.ValueAt(ctx, boardID, t.ID, since)
			if err != nil {
				return nil, fmt.Errorf("retro: slo %s at start: %w", t.ID, err)
			}
			to, ok2, err := st.ValueAt(ctx, boardID, t.ID, until)
			if err != nil {
				return nil, fmt.Errorf("retro: slo %s now: %w", t.ID, err)
			}
			if ok1 && ok2 {
				o.Known, o.From, o.To = true, from.V, to.V
			}
			out.SLOs = append(out.SLOs, o)
		}
	}
	return out, nil
}

// retroKeysSource is the source of the board's first Four Keys tile
// (fourkeys, deploys, postmortems), else the config's first Four Keys
// source; zero when there is none.
func retroKeysSource(cfg *board.Config, boardID string) board.SourceConfig {
	byID := map[string]board.SourceConfig{}
	for _, s := range cfg.Sources {
		byID[s.ID] = s
	}
	for _, b := range cfg.Boards {
		if b.ID != boardID {
			continue
		}
		for _, t := range b.Tiles {
			if s, ok := byID[t.Source]; ok && (t.Kind == board.KindFourKeys || t.Kind == board.KindDeploys || t.Kind == board.KindPostmortems) {
				return s
			}
		}
	}
	for _, s := range cfg.Sources {
		if s.Kind == "github" || s.Kind == "gitlog" || s.Kind == "events" {
			return s
		}
	}
	return board.SourceConfig{}
}

// isSLOBudget: a tile whose query asks Cloud Monitoring for an SLO's
// remaining error budget ({slo: ..., budget: true}); its value is the
// remaining fraction, 1 untouched (the tile history stores it).
func isSLOBudget(t board.TileConfig) bool {
	q, err := board.QueryOf(t)
	if err != nil {
		return false
	}
	return q.Param("slo") != "" && q.Param("budget") == "true"
}

// retroScope is the scope of the board's Four Keys tiles (each tile's
// query over its source's default, as the tile itself computes it), so the
// retro speaks of the board's services and repositories. A board without
// such a tile, with one covering everything, or whose tiles name different
// scopes, gets every service: fourkeys computes over one scope at a time.
func retroScope(cfg *board.Config, boardID string) fourkeys.Scope {
	var scopes []fourkeys.Scope
	for _, b := range cfg.Boards {
		if b.ID != boardID {
			continue
		}
		for _, t := range b.Tiles {
			if t.Kind != "fourkeys" {
				continue
			}
			var def fourkeys.Scope
			for _, s := range cfg.Sources {
				if s.ID != t.Source {
					continue
				}
				switch s.Kind {
				case "github":
					if len(s.Repos) == 1 {
						def.Repo = s.Repos[0]
					}
				default: // events, gitlog
					def.Service = s.Service
				}
			}
			q, err := board.QueryOf(t)
			if err != nil {
				return fourkeys.Scope{}
			}
			pq, err := store.ParseFourKeysQuery(q, def)
			if err != nil {
				return fourkeys.Scope{}
			}
			if !slices.Contains(scopes, pq.Scope) {
				scopes = append(scopes, pq.Scope)
			}
		}
	}
	if len(scopes) != 1 {
		return fourkeys.Scope{}
	}
	return scopes[0]
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// retroKeys are the five DORA figures of the period and the one before,
// each with the counts behind it and an arrow saying which way is better.
// The figures are fourkeys' own (rework rate included), never recomputed.
func retroKeys(rep fourkeys.Report, t views.Text) []views.RetroKey {
	names := t.RetroKeyNames()
	w := t.RetroWords()
	cur, prev := rep.Current, rep.Previous
	dur := func(d *time.Duration) string {
		if d == nil {
			return t.NoData
		}
		return t.Duration(*d)
	}
	ratio := func(f *float64) string {
		if f == nil {
			return t.NoData
		}
		return views.FormatRatio(*f)
	}
	perDay := func(f *float64) string {
		if f == nil {
			return t.NoData
		}
		return t.PerDay(*f)
	}
	cmpKey := func(name, now, before string, a, b *float64, higherBetter bool) views.RetroKey {
		k := views.RetroKey{Name: name, Now: now, Before: before}
		if a == nil || b == nil {
			return k
		}
		switch {
		case *a == *b:
			k.Arrow = "="
		case *a > *b:
			k.Arrow = "▲"
			k.Better, k.Worse = higherBetter, !higherBetter
		default:
			k.Arrow = "▼"
			k.Better, k.Worse = !higherBetter, higherBetter
		}
		return k
	}
	secs := func(d *time.Duration) *float64 {
		if d == nil {
			return nil
		}
		return board.F(d.Seconds())
	}
	counted := func(k views.RetroKey, now, before string) views.RetroKey {
		k.NowCount, k.BeforeCount = now, before
		return k
	}
	df := counted(cmpKey(names[0], perDay(cur.DeploymentsPerDay), perDay(prev.DeploymentsPerDay), cur.DeploymentsPerDay, prev.DeploymentsPerDay, true),
		fmt.Sprintf(w.DeploysN, cur.Deployments), fmt.Sprintf(w.DeploysN, prev.Deployments))
	lt := counted(cmpKey(names[1], dur(cur.LeadTime), dur(prev.LeadTime), secs(cur.LeadTime), secs(prev.LeadTime), false),
		fmt.Sprintf(w.ChangesN, cur.Changes), fmt.Sprintf(w.ChangesN, prev.Changes))
	if rep.NoIncidentFeed {
		// Not measured: no rate, and no "0 of 40" that would read as one.
		none := func(name string) views.RetroKey { return views.RetroKey{Name: name, Now: t.NoData, Before: t.NoData} }
		return []views.RetroKey{df, lt, none(names[2]), none(names[3]), none(names[4])}
	}
	cfr := counted(cmpKey(names[2], ratio(cur.ChangeFailureRate), ratio(prev.ChangeFailureRate), cur.ChangeFailureRate, prev.ChangeFailureRate, false),
		fmt.Sprintf(w.OfCount, cur.FailedDeployments, cur.Deployments), fmt.Sprintf(w.OfCount, prev.FailedDeployments, prev.Deployments))
	rec := counted(cmpKey(names[3], dur(cur.RecoveryTime), dur(prev.RecoveryTime), secs(cur.RecoveryTime), secs(prev.RecoveryTime), false),
		fmt.Sprintf(w.IncidentsN, cur.Recovered), fmt.Sprintf(w.IncidentsN, prev.Recovered))
	rw := counted(cmpKey(names[4], ratio(cur.ReworkRate), ratio(prev.ReworkRate), cur.ReworkRate, prev.ReworkRate, false),
		fmt.Sprintf(w.OfCount, cur.Rework, cur.Deployments), fmt.Sprintf(w.OfCount, prev.Rework, prev.Deployments))
	return []views.RetroKey{df, lt, cfr, rec, rw}
}
