package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/views"
)

// retroPostmortemAfter is when a resolved incident's postmortem is overdue
// (the postmortems tile's default of 5 days); before that it is due.
const retroPostmortemAfter = 5 * fourkeys.Day

// retroListed is how many deployments, incidents and alerts the retro
// lists (newest, newest, noisiest): what fits a portrait screen in
// standup type; the counts above the lists cover the whole period.
const retroListed = 5

func init() {
	routeSetups = append(routeSetups, func(a *App) error {
		a.Server().SetRetroSource(retroSource{a})
		return nil
	})
}

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
	label := "postmortem"
	for _, s := range cfg.Sources {
		if s.PostmortemLabel != "" {
			label = s.PostmortemLabel
			break
		}
	}
	period := until.Sub(since)
	rep, err := st.ComputeFourKeys(ctx, fourkeys.Scope{}, until, period, fourkeys.Options{PostmortemLabel: label})
	if err != nil {
		return nil, fmt.Errorf("retro: four keys: %w", err)
	}
	out := &views.Retro{Since: since, Until: until, Deployments: rep.Current.Deployments, Failed: rep.Current.FailedDeployments}
	out.Keys = retroKeys(rep, text)

	ev, err := st.LoadFourKeys(ctx, fourkeys.Scope{}, since, until)
	if err != nil {
		return nil, fmt.Errorf("retro: events: %w", err)
	}
	failed := map[string]bool{}
	for _, d := range rep.Recent {
		if d.Failed {
			failed[d.ID] = true
		}
	}
	for _, d := range ev.Deployments {
		if d.FinishedAt.Before(since) || d.FinishedAt.After(until) {
			continue
		}
		state := "ok"
		if failed[d.ID] {
			state = "failed"
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
		state := "open"
		switch {
		case slices.ContainsFunc(in.Labels, func(l string) bool { return strings.EqualFold(l, label) }):
			state = "written"
		case in.ResolvedAt.IsZero():
		case until.Sub(in.ResolvedAt) > retroPostmortemAfter:
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
	return out, nil
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// retroKeys are the four figures of the period and the one before, with an
// arrow saying which way is better.
func retroKeys(rep fourkeys.Report, t views.Text) []views.RetroKey {
	names := t.RetroKeyNames()
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
		return views.FormatPerDay(*f)
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
	if rep.NoIncidentFeed {
		cur.ChangeFailureRate, prev.ChangeFailureRate, cur.TimeToRestore, prev.TimeToRestore = nil, nil, nil, nil
	}
	return []views.RetroKey{
		cmpKey(names[0], perDay(cur.DeploymentsPerDay), perDay(prev.DeploymentsPerDay), cur.DeploymentsPerDay, prev.DeploymentsPerDay, true),
		cmpKey(names[1], dur(cur.LeadTime), dur(prev.LeadTime), secs(cur.LeadTime), secs(prev.LeadTime), false),
		cmpKey(names[2], ratio(cur.ChangeFailureRate), ratio(prev.ChangeFailureRate), cur.ChangeFailureRate, prev.ChangeFailureRate, false),
		cmpKey(names[3], dur(cur.TimeToRestore), dur(prev.TimeToRestore), secs(cur.TimeToRestore), secs(prev.TimeToRestore), false),
	}
}
