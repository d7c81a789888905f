package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v82/github"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
)

// securityParams are the keys a security tile's query may hold.
var securityParams = []string{"repo", "critical_after"}

// securityQuery is a parsed security tile query.
type securityQuery struct {
	repo          string        // "" = every repository of the source
	criticalAfter time.Duration // open critical older than this: critical
}

func parseSecurityQuery(q board.Query) (securityQuery, error) {
	out := securityQuery{criticalAfter: board.DefaultCriticalAfter}
	if q.Text != "" {
		return out, fmt.Errorf("query: a security tile takes a mapping ({repo: owner/name, critical_after: 7d}) or none")
	}
	for k := range q.Params {
		if !slices.Contains(securityParams, k) {
			return out, fmt.Errorf("query: unknown key %q (known: %s)", k, strings.Join(securityParams, ", "))
		}
	}
	out.repo = q.Param("repo")
	d, err := board.ParseDuration(q.Param("critical_after"), board.DefaultCriticalAfter)
	if err != nil {
		return out, fmt.Errorf("query: critical_after: %w", err)
	}
	out.criticalAfter = d
	return out, nil
}

// CheckQuery validates a tile query of a github source without connecting:
// a security tile's keys, or a Four Keys query.
func CheckQuery(tile board.TileConfig, q board.Query) error {
	if tile.Kind == board.KindSecurity {
		_, err := parseSecurityQuery(q)
		return err
	}
	return store.CheckFourKeysQuery(tile, q)
}

// secState is one repository's alerts as last read.
type secState struct {
	mu       sync.Mutex // held during the repository's read; guards the rest
	lastSync time.Time
	report   *board.RepoSecurity // last good read; nil before one
	err      error               // the last read's failure; nil after a success
}

// securityFetch answers a security tile: each repository's open alerts,
// read at most once per minSync whatever the number of tiles, through the
// same client (ETags, retries, rate-limit pauses) as the Four Keys sync.
func (s *Source) securityFetch(ctx context.Context, q board.Query) (board.Result, error) {
	sq, err := parseSecurityQuery(q)
	if err != nil {
		return board.Result{}, err
	}
	now := s.now()
	rep := &board.SecurityReport{CriticalAfter: sq.criticalAfter}
	var errs []error
	var failing []string
	matched := false
	for _, r := range s.repos {
		if sq.repo != "" && !strings.EqualFold(sq.repo, r.full) {
			continue
		}
		matched = true
		rs, err := s.securityOf(ctx, r, now)
		if err != nil {
			errs = append(errs, err)
			if rs == nil {
				continue
			}
			failing = append(failing, r.full)
		}
		rr := *rs
		rr.Status = board.JudgeRepo(rr, sq.criticalAfter, now)
		if err != nil {
			rr.Error = err.Error()
		}
		rep.Repos = append(rep.Repos, rr)
	}
	if !matched {
		return board.Result{}, fmt.Errorf("github: repo %q is not in this source's repos", sq.repo)
	}
	if len(rep.Repos) == 0 {
		// No repository was ever read: the tile says why.
		err := errors.Join(errs...)
		var ra *poller.RetryError
		if errors.As(err, &ra) {
			err = &poller.RetryError{After: ra.After, Err: err}
		}
		return board.Result{}, err
	}
	res := board.Result{Security: rep}
	for _, rr := range rep.Repos {
		rep.Totals = rep.Totals.Plus(rr.Dependabot.Plus(rr.CodeScanning))
		if rr.Secrets == nil {
			rep.SecretsUnreadable = append(rep.SecretsUnreadable, rr.Repo)
		} else {
			rep.Secrets += *rr.Secrets
		}
		rep.OldestCritical = oldest(rep.OldestCritical, rr.OldestCritical)
		rep.OldestHigh = oldest(rep.OldestHigh, rr.OldestHigh)
		n := float64(rr.Dependabot.Critical + rr.Dependabot.High + rr.CodeScanning.Critical + rr.CodeScanning.High)
		res.Rows = append(res.Rows, board.Row{Label: rr.Repo, Value: board.F(n), Status: rr.Status,
			Text: fmt.Sprintf("%d C · %d H", rr.Dependabot.Critical+rr.CodeScanning.Critical, rr.Dependabot.High+rr.CodeScanning.High)})
	}
	res.Value = board.F(float64(rep.Totals.Critical + rep.Totals.High))
	if len(failing) > 0 {
		res.Warnings = append(res.Warnings, "not current (last read failed): "+strings.Join(failing, ", "))
	}
	return res, nil
}

func oldest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// securityOf is r's alerts, read again when the last read is older than
// minSync or failed. On a failure it returns the last good read (nil if
// none) with the error.
func (s *Source) securityOf(ctx context.Context, r *repoState, now time.Time) (*board.RepoSecurity, error) {
	st := s.secStateOf(r)
	st.mu.Lock()
	defer st.mu.Unlock()
	if pauseErr := s.paused(now); pauseErr != nil {
		st.err = pauseErr // the limit is the client's: every repository waits
		return st.report, st.err
	}
	if st.err == nil && st.report != nil && now.Sub(st.lastSync) < s.minSync {
		return st.report, nil
	}
	st.lastSync = now
	rep, err := s.readSecurity(ctx, r)
	if err != nil {
		st.err = fmt.Errorf("github: %s: %w", r.full, err)
		s.pauseOnRetryAfter(err, now, st.err)
		return st.report, st.err
	}
	st.report, st.err = rep, nil
	return rep, nil
}

func (s *Source) secStateOf(r *repoState) *secState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sec == nil {
		s.sec = map[*repoState]*secState{}
	}
	st := s.sec[r]
	if st == nil {
		st = &secState{}
		s.sec[r] = st
	}
	return st
}

// readSecurity lists r's open Dependabot, code scanning and secret
// scanning alerts. A 403 or 404 on secret scanning means the token may not
// read it (or it is off): that repository's secrets are "not readable",
// never an error of the tile. On Dependabot and code scanning the same
// answers are errors: they are what the tile is for.
func (s *Source) readSecurity(ctx context.Context, r *repoState) (*board.RepoSecurity, error) {
	out := &board.RepoSecurity{Repo: r.full}
	seen := func(sev string, at time.Time) {
		switch sev {
		case "critical":
			out.OldestCritical = oldest(out.OldestCritical, at)
		case "high":
			out.OldestHigh = oldest(out.OldestHigh, at)
		}
	}

	dopts := &gh.ListAlertsOptions{State: gh.Ptr("open"), ListOptions: gh.ListOptions{PerPage: perPage}}
	for page := 0; page < maxPages; page++ {
		alerts, resp, err := s.client.Dependabot.ListRepoAlerts(ctx, r.owner, r.name, dopts)
		if err := s.check(resp, err, "dependabot alerts"); err != nil {
			return nil, err
		}
		for _, a := range alerts {
			if a.GetState() != "open" {
				continue
			}
			sev := strings.ToLower(a.GetSecurityAdvisory().GetSeverity())
			if sev == "" {
				sev = strings.ToLower(a.GetSecurityVulnerability().GetSeverity())
			}
			out.Dependabot.Add(sev)
			seen(sev, a.GetCreatedAt().Time)
		}
		// Dependabot pages by cursor (after=) on github.com, by page
		// number on older Enterprise servers.
		switch {
		case resp.After != "":
			dopts.ListCursorOptions.After = resp.After
		case resp.NextPage != 0:
			dopts.ListOptions.Page = resp.NextPage
		default:
			page = maxPages
		}
	}

	copts := &gh.AlertListOptions{State: "open", ListOptions: gh.ListOptions{PerPage: perPage}}
	for page := 0; page < maxPages; page++ {
		alerts, resp, err := s.client.CodeScanning.ListAlertsForRepo(ctx, r.owner, r.name, copts)
		if err := s.check(resp, err, "code scanning alerts"); err != nil {
			return nil, err
		}
		for _, a := range alerts {
			if a.GetState() != "open" {
				continue
			}
			// Security queries carry security_severity_level; other
			// rules (error/warning/note) count as low.
			sev := strings.ToLower(a.GetRule().GetSecuritySeverityLevel())
			out.CodeScanning.Add(sev)
			seen(sev, a.GetCreatedAt().Time)
		}
		if resp.NextPage == 0 {
			break
		}
		copts.ListOptions.Page = resp.NextPage
	}

	sopts := &gh.SecretScanningAlertListOptions{State: "open", ListOptions: gh.ListOptions{PerPage: perPage}}
	secrets := 0
	for page := 0; page < maxPages; page++ {
		alerts, resp, err := s.client.SecretScanning.ListAlertsForRepo(ctx, r.owner, r.name, sopts)
		if unreadable(err) {
			return out, nil // out.Secrets stays nil: not readable
		}
		if err := s.check(resp, err, "secret scanning alerts"); err != nil {
			return nil, err
		}
		for _, a := range alerts {
			if a.GetState() != "open" {
				continue
			}
			secrets++
			out.OldestSecret = oldest(out.OldestSecret, a.GetCreatedAt().Time)
		}
		switch {
		case resp.NextPage != 0:
			sopts.ListOptions.Page = resp.NextPage
		case resp.After != "":
			sopts.ListCursorOptions.After = resp.After
		default:
			page = maxPages
		}
	}
	out.Secrets = &secrets
	return out, nil
}

// unreadable: GitHub refused a listing for want of permission or because
// the feature is off (403 without rate-limit signs, 404).
func unreadable(err error) bool {
	var rl *gh.RateLimitError
	var ab *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	if err == nil || errors.As(err, &rl) || errors.As(err, &ab) || !errors.As(err, &er) || er.Response == nil {
		return false
	}
	switch er.Response.StatusCode {
	case http.StatusNotFound:
		return true
	case http.StatusForbidden:
		return er.Response.Header.Get("Retry-After") == "" && er.Response.Header.Get("X-RateLimit-Remaining") != "0"
	}
	return false
}
