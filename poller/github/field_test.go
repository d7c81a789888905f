package github

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/poller/github/githubtest"
	"github.com/wallboard/wallboard/store/storetest"
)

// sampleSource is a github source for repos polling fake, with a fresh store.
func sampleSource(t *testing.T, fake *githubtest.Server, repos ...string) *Source {
	t.Helper()
	st := storetest.SQLite(t)
	src, err := New(board.SourceConfig{ID: "gh", Kind: "github", URL: fake.APIURL(), Repos: repos}, st, fake.Client())
	if err != nil {
		t.Fatal(err)
	}
	src.minSync = 0
	return src
}

// The first deployment after the 90-day horizon is compared with the last
// one before it, so the oldest week of the trend has its changes.
func TestBackfillHorizonKeepsTheOldestWeek(t *testing.T) {
	repo := githubtest.Sample("org/api", time.Now())
	fake := githubtest.New(t, 1, repo)
	res, err := sampleSource(t, fake, "org/api").Fetch(context.Background(), repoQuery("org/api"))
	if err != nil {
		t.Fatal(err)
	}
	// Sample: deployment 2 (82 days ago, the oldest trend week) ships the
	// two commits authored 1 h and 3 h before it finished (6 h): 5 h, 3 h.
	oldest := res.FourKeys.Trend[0]
	if oldest.Deployments != 1 || oldest.Changes != 2 || oldest.LeadTime == nil || *oldest.LeadTime != 4*time.Hour {
		t.Fatalf("oldest trend week: %d deployments, %d changes, lead time %v; want 1, 2, 4h", oldest.Deployments, oldest.Changes, oldest.LeadTime)
	}
}

// figures is what a tile of repo shows, as comparable values.
func figures(m fourkeys.Metrics) []any {
	d := func(p *time.Duration) any {
		if p == nil {
			return nil
		}
		return *p
	}
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return []any{m.Deployments, m.Changes, m.FailedDeployments, m.Restored, d(m.LeadTime), d(m.TimeToRestore), f(m.ChangeFailureRate)}
}

// With 10 % of calls failing at random, every poll keeps what it fetched and
// the figures become exact within a few polls; a repository that always
// fails puts only its own tiles in error.
func TestTransientErrorsAndAFailingRepo(t *testing.T) {
	now := time.Now()
	exact := githubtest.New(t, 1, githubtest.Sample("org/api", now))
	want, err := sampleSource(t, exact, "org/api").Fetch(context.Background(), repoQuery("org/api"))
	if err != nil {
		t.Fatal(err)
	}

	broken := &githubtest.Repo{FullName: "org/broken", AlwaysFail: true}
	fake := githubtest.New(t, 42, githubtest.Sample("org/api", now), broken)
	fake.FailRate = 0.10
	src := sampleSource(t, fake, "org/api", "org/broken")
	retryBase = time.Millisecond // the test's "short intervals"
	t.Cleanup(func() { retryBase = defaultRetryBase })
	ctx := context.Background()
	var got board.Result
	polls := 0
	for ; polls < 5; polls++ {
		got, err = src.Fetch(ctx, repoQuery("org/api"))
		if err == nil && equalFigures(got.FourKeys, want.FourKeys) {
			break
		}
	}
	t.Logf("%d of %d calls failed; exact after %d polls", fake.Failed, fake.Requests, polls+1)
	if err != nil {
		t.Fatalf("org/api tile after %d polls: %v", polls, err)
	}
	if !equalFigures(got.FourKeys, want.FourKeys) {
		t.Fatalf("org/api figures after %d polls:\n got %v\nwant %v", polls, figures(got.FourKeys.Current), figures(want.FourKeys.Current))
	}
	if _, err := src.Fetch(ctx, repoQuery("org/broken")); err == nil || !strings.Contains(err.Error(), "org/broken") {
		t.Fatalf("org/broken tile: err = %v, want its own failure", err)
	}
}

func equalFigures(a, b *fourkeys.Report) bool {
	if a == nil || b == nil {
		return false
	}
	ms := func(r *fourkeys.Report) []fourkeys.Metrics {
		return append([]fourkeys.Metrics{r.Current, r.Previous}, r.Trend...)
	}
	x, y := ms(a), ms(b)
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		fx, fy := figures(x[i]), figures(y[i])
		for j := range fx {
			if fx[j] != fy[j] {
				return false
			}
		}
	}
	return true
}

func repoQuery(repo string) board.Query {
	return board.Query{Source: "gh", Params: map[string]any{"repo": repo}}
}
