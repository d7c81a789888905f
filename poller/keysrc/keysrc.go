// Package keysrc turns the Four Keys events in the store into tile results:
// it is the "events" source kind, and the github and gitlog sources compute
// through it after importing their events. A tile's query selects the scope
// and window; every query over the same store shares the same numbers.
//
// It reads the store only; it never writes events.
package keysrc

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

// Store computes a report from stored events (store.Store).
type Store interface {
	ComputeFourKeys(ctx context.Context, scope fourkeys.Scope, end time.Time, window time.Duration, opts ...fourkeys.Options) (fourkeys.Report, error)
	// HasIncidents reports whether any incident of scope was ever stored.
	HasIncidents(ctx context.Context, scope fourkeys.Scope) (bool, error)
}

// Computer answers Four Keys queries from a Store.
type Computer struct {
	Store Store
	// Scope is used when a query names none (a gitlog source's service).
	Scope fourkeys.Scope
	// PostmortemLabel is the label that marks a written postmortem.
	PostmortemLabel string
	// now is the clock (tests); default time.Now.
	now func() time.Time
	// NoIncidentFeed: the source itself reads no incidents (git history,
	// GitHub with incident_label: none). Its scopes' change failure rate and
	// time to restore are then "not measured" unless another feed (a
	// webhook) stored incidents of the scope.
	NoIncidentFeed bool
	// Settings are the source's Four Keys options (attribution window,
	// hotfix labels, postmortem due rule, benchmarks); zero: the defaults.
	Settings board.FourKeysSettings
}

// params a Four Keys tile query may hold.
var params = []string{"scope", "service", "repo", "window", "postmortem_days"}

// Query is a parsed tile query.
type Query struct {
	Scope          fourkeys.Scope
	window         time.Duration
	postmortemDays int
}

// ParseQuery reads a tile's query: a mapping such as
// {service: api, window: 30d, postmortem_days: 5}, {repo: org/x}, or
// {scope: all}; a string query is a service name; empty is the source's
// default scope.
func ParseQuery(q board.Query, def fourkeys.Scope) (Query, error) {
	out := Query{Scope: def, window: fourkeys.DefaultWindow, postmortemDays: 5}
	if q.Text != "" {
		out.Scope = fourkeys.Scope{Service: q.Text}
	}
	for k := range q.Params {
		if !slices.Contains(params, k) {
			return out, fmt.Errorf("query: unknown key %q (known: %s)", k, strings.Join(params, ", "))
		}
	}
	svc, repo := q.Param("service"), q.Param("repo")
	switch q.Param("scope") {
	case "":
		if svc != "" || repo != "" {
			out.Scope = fourkeys.Scope{Service: svc, Repo: repo}
		}
	case "all":
		out.Scope = fourkeys.Scope{}
	case "service":
		if svc == "" {
			return out, fmt.Errorf("query: scope service needs service:")
		}
		out.Scope = fourkeys.Scope{Service: svc}
	case "repo", "repository":
		if repo == "" {
			return out, fmt.Errorf("query: scope repo needs repo:")
		}
		out.Scope = fourkeys.Scope{Repo: repo}
	default:
		return out, fmt.Errorf("query: scope %q: use all, service or repo", q.Param("scope"))
	}
	if w := q.Param("window"); w != "" {
		d, err := board.ParseDuration(w, fourkeys.DefaultWindow)
		if err != nil {
			return out, fmt.Errorf("query: window: %w", err)
		}
		if d < fourkeys.Day {
			return out, fmt.Errorf("query: window %s: use at least 1d", w)
		}
		out.window = d
	}
	if v, ok := q.Params["postmortem_days"]; ok {
		n := -1
		switch x := v.(type) {
		case int:
			n = x
		case int64:
			n = int(x)
		case uint64:
			n = int(min(x, 3650))
		case float64:
			if x == float64(int(x)) {
				n = int(x)
			}
		}
		if n < 0 {
			return out, fmt.Errorf("query: postmortem_days: want a whole number of days, got %v", v)
		}
		out.postmortemDays = n
	}
	return out, nil
}

// CheckQuery validates a tile's query without touching the store.
func CheckQuery(tile board.TileConfig, q board.Query) error {
	_, err := ParseQuery(q, fourkeys.Scope{})
	return err
}

// Fetch computes the report of the query's scope. Value is deployments per
// day (nil: no data); the report itself is in Result.FourKeys.
func (c *Computer) Fetch(ctx context.Context, bq board.Query) (board.Result, error) {
	q, err := ParseQuery(bq, c.Scope)
	if err != nil {
		return board.Result{}, err
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	end := now().UTC()
	opt := fourkeys.Options{PostmortemLabel: c.PostmortemLabel, PostmortemAfter: time.Duration(q.postmortemDays) * fourkeys.Day,
		AttributionWindow: c.Settings.AttributionWindow, HotfixLabels: c.Settings.HotfixLabels, NoBenchmarks: c.Settings.NoBenchmarks}
	// The source's due rule, unless the tile's query names its own days
	// (counted the way the source counts them).
	opt.PostmortemBusinessDays = c.Settings.PostmortemBiz
	if _, ok := bq.Params["postmortem_days"]; !ok && c.Settings.PostmortemSet {
		opt.PostmortemAfter = time.Duration(c.Settings.PostmortemDays) * fourkeys.Day
	}
	r, err := c.Store.ComputeFourKeys(ctx, q.Scope, end, q.window, opt)
	if err != nil {
		return board.Result{}, fmt.Errorf("four keys: %w", err)
	}
	if c.NoIncidentFeed {
		seen, err := c.Store.HasIncidents(ctx, q.Scope)
		if err != nil {
			return board.Result{}, fmt.Errorf("four keys: %w", err)
		}
		if !seen {
			r.WithoutIncidentFeed()
		}
	}
	res := board.Result{Value: r.Current.DeploymentsPerDay, FourKeys: &r, At: end}
	for _, m := range r.Trend {
		if m.DeploymentsPerDay != nil {
			res.Series = append(res.Series, board.Point{T: m.Window.End, V: *m.DeploymentsPerDay})
		}
	}
	sort.Slice(res.Series, func(i, j int) bool { return res.Series[i].T.Before(res.Series[j].T) })
	return res, nil
}
