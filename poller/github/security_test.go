package github

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/github/githubtest"
)

func secQuery(p map[string]any) board.Query {
	return board.Query{Source: "gh", Kind: board.KindSecurity, Params: p}
}

// securityRepos: org/api has an open critical 10 days old (past the 7-day
// rule), highs, closed alerts that must not count, and readable secret
// scanning; org/web has only a young high and a token that may not read
// its secret scanning (403).
func securityRepos(now time.Time) (*githubtest.Repo, *githubtest.Repo) {
	day := 24 * time.Hour
	api := &githubtest.Repo{FullName: "org/api",
		Dependabot: []githubtest.SecurityAlert{
			{Number: 1, Severity: "critical", CreatedAt: now.Add(-10 * day)},
			{Number: 2, Severity: "high", CreatedAt: now.Add(-20 * day)},
			{Number: 3, Severity: "medium", CreatedAt: now.Add(-day)},
			{Number: 4, Severity: "low", CreatedAt: now.Add(-day)},
			{Number: 5, Severity: "critical", CreatedAt: now.Add(-40 * day), Closed: true},
		},
		CodeScanning: []githubtest.SecurityAlert{
			{Number: 1, Severity: "critical", CreatedAt: now.Add(-2 * day)},
			{Number: 2, Severity: "high", CreatedAt: now.Add(-3 * day)},
			{Number: 3, Severity: "", CreatedAt: now.Add(-3 * day)}, // a non-security rule: low
			{Number: 4, Severity: "high", CreatedAt: now.Add(-50 * day), Closed: true},
		},
		SecretScanning: []githubtest.SecurityAlert{
			{Number: 1, CreatedAt: now.Add(-time.Hour)},
			{Number: 2, CreatedAt: now.Add(-30 * day), Closed: true},
		},
	}
	web := &githubtest.Repo{FullName: "org/web",
		Dependabot:           []githubtest.SecurityAlert{{Number: 1, Severity: "high", CreatedAt: now.Add(-day)}},
		SecretScanningStatus: 403,
	}
	return api, web
}

// Issue 16 point 8: counts by severity per repository and in total, the
// oldest open critical, the 7-day rule, and a 403 on secret scanning as
// "not readable with this token", not an error of the tile.
func TestSecurityAlertsBySeverity(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	api, web := securityRepos(now)
	fake := githubtest.New(t, 1, api, web)
	src := sampleSource(t, fake, "org/api", "org/web")
	src.now = func() time.Time { return now }

	res, err := src.Fetch(context.Background(), secQuery(nil))
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Security
	if rep == nil || len(rep.Repos) != 2 {
		t.Fatalf("report = %+v, want two repositories", rep)
	}
	a, w := rep.Repos[0], rep.Repos[1]
	if want := (board.SeverityCounts{Critical: 1, High: 1, Medium: 1, Low: 1}); a.Dependabot != want {
		t.Errorf("org/api dependabot = %+v, want %+v", a.Dependabot, want)
	}
	if want := (board.SeverityCounts{Critical: 1, High: 1, Low: 1}); a.CodeScanning != want {
		t.Errorf("org/api code scanning = %+v, want %+v", a.CodeScanning, want)
	}
	if a.Secrets == nil || *a.Secrets != 1 {
		t.Errorf("org/api secret scanning = %v, want 1 open", a.Secrets)
	}
	if !a.OldestCritical.Equal(now.Add(-10*24*time.Hour)) || !a.OldestHigh.Equal(now.Add(-20*24*time.Hour)) {
		t.Errorf("org/api oldest critical %v, high %v; want 10 and 20 days ago", a.OldestCritical, a.OldestHigh)
	}
	if a.Status != board.StatusCritical || w.Status != board.StatusWarn {
		t.Errorf("statuses api %s, web %s; want critical (a critical 10 days open), warn (an open high)", a.Status, w.Status)
	}
	if w.Secrets != nil || w.Error != "" {
		t.Errorf("org/web secret scanning = %v (error %q), want not readable and no error", w.Secrets, w.Error)
	}
	if want := (board.SeverityCounts{Critical: 2, High: 3, Medium: 1, Low: 2}); rep.Totals != want || rep.Secrets != 1 {
		t.Errorf("totals %+v secrets %d, want %+v and 1", rep.Totals, rep.Secrets, want)
	}
	// Not readable is not a problem of the tile: no error, no warning.
	if len(rep.SecretsUnreadable) != 1 || rep.SecretsUnreadable[0] != "org/web" || len(res.Warnings) != 0 {
		t.Errorf("unreadable %v, warnings %q; want [org/web] and no warning", rep.SecretsUnreadable, res.Warnings)
	}
	if res.Value == nil || *res.Value != 5 {
		t.Errorf("value = %v, want 5 open critical and high", res.Value)
	}
	st := board.TileState{}.Apply(res, nil, nil, now)
	if st.Status != board.StatusCritical {
		t.Errorf("tile status %s, want critical", st.Status)
	}

	// critical_after: 14d: the 10-day critical is only a warning.
	res, err = src.Fetch(context.Background(), secQuery(map[string]any{"repo": "org/api", "critical_after": "14d"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Security.Repos) != 1 || res.Security.Repos[0].Status != board.StatusWarn {
		t.Errorf("critical_after 14d: %+v, want org/api alone as a warning", res.Security.Repos)
	}
	// Nothing open: ok.
	clean := githubtest.New(t, 1, &githubtest.Repo{FullName: "org/clean"})
	res, err = sampleSource(t, clean, "org/clean").Fetch(context.Background(), secQuery(nil))
	if err != nil || (board.TileState{}).Apply(res, nil, nil, now).Status != board.StatusOK {
		t.Errorf("no alerts: %+v, %v; want ok", res.Security, err)
	}
}

// A second poll asks conditionally: every unchanged listing is a 304 (free
// of rate-limit cost), and tiles polled within a minute share one read.
func TestSecurityETagsAndSharedReads(t *testing.T) {
	now := time.Now().UTC()
	api, web := securityRepos(now)
	fake := githubtest.New(t, 1, api, web)
	src := sampleSource(t, fake, "org/api", "org/web")
	ctx := context.Background()
	first, err := src.Fetch(ctx, secQuery(nil))
	if err != nil {
		t.Fatal(err)
	}
	_, calls := fake.Stats()
	second, err := src.Fetch(ctx, secQuery(nil))
	if err != nil {
		t.Fatal(err)
	}
	_, after := fake.Stats()
	nm := fake.NotModifiedCount()
	// org/web's secret scanning 403 carries no ETag: every other call is a 304.
	if nm != after-calls-1 || nm == 0 {
		t.Errorf("%d calls on the second poll, %d answered 304; want all but the 403", after-calls, nm)
	}
	if second.Security.Totals != first.Security.Totals {
		t.Errorf("after 304s: totals %+v, want %+v", second.Security.Totals, first.Security.Totals)
	}
	src.minSync = time.Minute
	src.Fetch(ctx, secQuery(nil))
	_, before := fake.Stats()
	src.Fetch(ctx, secQuery(map[string]any{"critical_after": "3d"}))
	if _, n := fake.Stats(); n != before {
		t.Errorf("a second tile within a minute made %d calls, want 0", n-before)
	}
}

// With a share of calls failing with 5xx, retries make the poll exact; a
// secondary rate limit pauses the source (no calls until Retry-After).
func TestSecurityUnderFaults(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	api, web := securityRepos(now)
	exact, err := sampleSource(t, githubtest.New(t, 1, api, web), "org/api", "org/web").Fetch(context.Background(), secQuery(nil))
	if err != nil {
		t.Fatal(err)
	}
	fake := githubtest.New(t, 7, api, web)
	fake.FailRate = 0.3
	src := sampleSource(t, fake, "org/api", "org/web")
	retryBase = time.Millisecond
	t.Cleanup(func() { retryBase = defaultRetryBase })
	var got board.Result
	polls := 0
	for ; polls < 5; polls++ {
		if got, err = src.Fetch(context.Background(), secQuery(nil)); err == nil && len(got.Warnings) == 0 {
			break
		}
	}
	failed, requests := fake.Stats()
	t.Logf("%d of %d calls failed with 5xx; exact after %d polls", failed, requests, polls+1)
	if failed == 0 {
		t.Fatal("no call failed: the test proves nothing")
	}
	if err != nil || got.Security.Totals != exact.Security.Totals || got.Security.Secrets != exact.Security.Secrets {
		t.Fatalf("under 5xx: %v, %+v; want %+v", err, got.Security, exact.Security)
	}

	// A broken repository: the other is shown, the broken one is named.
	broken := &githubtest.Repo{FullName: "org/broken", AlwaysFail: true}
	src = sampleSource(t, githubtest.New(t, 1, api, broken), "org/api", "org/broken")
	res, err := src.Fetch(context.Background(), secQuery(nil))
	if err != nil || len(res.Security.Repos) != 1 || res.Security.Repos[0].Repo != "org/api" {
		t.Fatalf("with a broken repository: %v, %+v; want org/api shown", err, res.Security)
	}
	if _, err := src.Fetch(context.Background(), secQuery(map[string]any{"repo": "org/broken"})); err == nil || !strings.Contains(err.Error(), "org/broken") {
		t.Fatalf("org/broken alone: err = %v, want its failure", err)
	}
}

func TestSecuritySecondaryLimitPauses(t *testing.T) {
	f, src, _ := setup(t)
	f.secondaryHit = true
	_, err := src.Fetch(context.Background(), secQuery(nil))
	var ra poller.RetryAfterError
	if !errors.As(err, &ra) || ra.RetryAfter() != 120*time.Second {
		t.Fatalf("err = %v, want a retry-after of 120 s", err)
	}
	n := f.requests
	if _, err := src.Fetch(context.Background(), secQuery(nil)); !errors.As(err, &ra) || f.requests != n {
		t.Fatalf("second fetch: err %v, %d calls; want the pause and none", err, f.requests-n)
	}
}

func TestSecurityQueryChecked(t *testing.T) {
	tile := board.TileConfig{Kind: board.KindSecurity}
	for _, tc := range []struct {
		q    board.Query
		want string
	}{
		{secQuery(map[string]any{"window": "30d"}), `unknown key "window"`},
		{secQuery(map[string]any{"critical_after": "a week"}), "critical_after"},
		{board.Query{Text: "api"}, "takes a mapping"},
	} {
		if err := CheckQuery(tile, tc.q); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckQuery(%+v) = %v, want %q", tc.q, err, tc.want)
		}
	}
	if err := CheckQuery(tile, secQuery(map[string]any{"repo": "org/api", "critical_after": "3d"})); err != nil {
		t.Errorf("a good query refused: %v", err)
	}
}
