package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/poller/github/githubtest"
)

// fourKeysJSON is a fourkeys tile's extra object without the window bounds
// (they follow each Wallboard's own clock), as canonical JSON.
func fourKeysJSON(t *testing.T, a *App, boardID, tile string) string {
	t.Helper()
	ex := boardTiles(t, a, boardID)[tile].Extra
	if ex == nil {
		return ""
	}
	var strip func(v any) any
	strip = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "window_start")
			delete(x, "window_end")
			for k, e := range x {
				x[k] = strip(e)
			}
		case []any:
			for i, e := range x {
				x[i] = strip(e)
			}
		}
		return v
	}
	b, _ := json.Marshal(strip(ex))
	return string(b)
}

// pollFourKeys is what a github source polling fake gives for repo.
func pollFourKeys(t *testing.T, fake *githubtest.Server, repo string) string {
	t.Helper()
	a, _, _ := start(t, Options{}, fmt.Sprintf(`
sources:
  - {id: gh, kind: github, url: %q, repos: [%s]}
boards:
  - id: ship
    tiles:
      - {id: keys, kind: fourkeys, source: gh, query: {repo: %s}, interval: 1h}
`, fake.APIURL(), repo, repo))
	var got string
	eventually(t, 10*time.Second, "the poll's figures", func() (bool, string) {
		got = fourKeysJSON(t, a, "ship", "keys")
		return got != "", ""
	})
	return got
}

const githubHookConfig = `
sources:
  - {id: dora, kind: events}
webhooks:
  github:
    secret: {env: WB_TEST_GH_SECRET}
boards:
  - id: ship
    tiles:
      - {id: keys, kind: fourkeys, source: dora, query: {repo: org/api}, interval: 1h}
`

// replay sends deliveries, signed, to a new Wallboard and returns its
// figures once they equal want (or what they are after 10 s).
func replay(t *testing.T, ds []githubtest.Delivery, want string) string {
	t.Helper()
	a, base, _ := start(t, Options{}, githubHookConfig)
	// Last, a push to another repository: stored, so it kicks a recompute
	// that starts after every delivery is stored (a duplicate or a staging
	// status last would kick none).
	sentinel := (&githubtest.Repo{FullName: "org/other", Commits: []githubtest.Commit{{SHA: "5e471e1", AuthoredAt: time.Now()}}}).Deliveries()
	var sent time.Time // when every delivery of ds was stored
	for i, d := range append(ds, sentinel...) {
		if i == len(ds) {
			sent = time.Now()
		}
		var resp *http.Response
		var b []byte
		// The receivers' rate limit is not what this test is about: a 429
		// is answered by sending again after a pause.
		for range 100 {
			var err error
			resp, err = http.DefaultClient.Do(d.Request(base+"/hooks/github", "hook-secret"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusTooManyRequests {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery %s (%s): %d %s", d.ID, d.Event, resp.StatusCode, b)
		}
	}
	// Only a computation that ended after the last delivery was stored
	// counts (the sentinel's kick makes one).
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if at := boardTiles(t, a, "ship")["keys"].UpdatedAt; at != nil && at.After(sent) {
			if got = fourKeysJSON(t, a, "ship", "keys"); got == want {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tl := boardTiles(t, a, "ship")["keys"]; got == "" {
		t.Logf("no computation after the last delivery (%v): updated %v, error %q, extra %v", sent, tl.UpdatedAt, tl.Error, tl.Extra != nil)
	}
	return got
}

// The same GitHub history gives the same Four Keys through the webhook in
// any delivery order, with every delivery sent twice, and through the poll.
func TestGitHubWebhookOrderIndependentAndEqualToPoll(t *testing.T) {
	t.Setenv("WB_TEST_GH_SECRET", "hook-secret")
	repo := githubtest.Sample("org/api", time.Now())
	fake := githubtest.New(t, 1, repo)
	poll := pollFourKeys(t, fake, "org/api")
	t.Logf("poll: %s", poll)

	inOrder := repo.Deliveries()
	twice := append(append([]githubtest.Delivery(nil), inOrder...), inOrder...)
	runs := map[string][]githubtest.Delivery{
		"in order": inOrder,
		"twice":    githubtest.Shuffled(twice, 7),
	}
	for _, seed := range []uint64{1, 2, 3} {
		runs[fmt.Sprintf("shuffled %d", seed)] = githubtest.Shuffled(inOrder, seed)
	}
	for name, ds := range runs {
		t.Run(name, func(t *testing.T) {
			if got := replay(t, ds, poll); got != poll {
				t.Errorf("webhook figures differ from the poll's%s", firstDiff(got, poll))
			}
		})
	}
}

// firstDiff shows where two JSON texts first differ.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(i-300, 0)
	return fmt.Sprintf(" at byte %d:\n webhook: …%s\n    poll: …%s", i, got[lo:min(i+200, len(got))], want[lo:min(i+200, len(want))])
}

// On the generic webhook too, a deployment is done at its first report's
// time: a later report with a later time does not move it (its changes'
// lead time stays).
func TestGenericDeploymentFirstSuccessCounts(t *testing.T) {
	t.Setenv("WB_TEST_EVENTS_TOKEN", "tok-123")
	a, base, _ := start(t, Options{}, eventsConfig)
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	day := 24 * time.Hour
	send := func(body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/events/deployments", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-123")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST: %d", resp.StatusCode)
		}
	}
	send(fmt.Sprintf(`{"id":"d1","service":"api","sha":"aaa1111","finished_at":%q}`, ts(10*day)))
	d2 := `{"id":"d2","service":"api","sha":"bbb2222","finished_at":%q,"changes":[{"sha":"c1","authored_at":%q}]}`
	send(fmt.Sprintf(d2, ts(5*day), ts(5*day+2*time.Hour)))
	send(fmt.Sprintf(d2, ts(4*day), ts(5*day+2*time.Hour))) // a second success a day later
	sent := time.Now()
	// Another service's deployment kicks a recompute that starts after the
	// second success was stored; only a computation ending after it counts.
	send(fmt.Sprintf(`{"id":"o1","service":"other","sha":"ccc3333","finished_at":%q}`, ts(day)))
	eventually(t, 10*time.Second, "the board recomputed after the last delivery", func() (bool, string) {
		tl := boardTiles(t, a, "ship")["keys"]
		return tl.UpdatedAt != nil && tl.UpdatedAt.After(sent) && tl.Extra["deployments"] == 2.0, ""
	})
	if lead := boardTiles(t, a, "ship")["keys"].Extra["lead_time_seconds"]; lead != 7200.0 {
		t.Fatalf("lead time = %v s, want 7200 (first success 2 h after the commit)", lead)
	}
}

// With 10 % of GitHub calls failing at random, a repository's tile becomes
// exact (the poll's figures without failures) within a few polls, and a
// repository that always fails puts only its own tile in error.
func TestGitHubFailuresOnlyFailTheirRepository(t *testing.T) {
	now := time.Now()
	want := pollFourKeys(t, githubtest.New(t, 1, githubtest.Sample("org/api", now)), "org/api")
	fake := githubtest.New(t, 7, githubtest.Sample("org/api", now), &githubtest.Repo{FullName: "org/broken", AlwaysFail: true})
	fake.FailRate = 0.10
	a, _, _ := start(t, Options{}, fmt.Sprintf(`
sources:
  - {id: gh, kind: github, url: %q, repos: [org/api, org/broken]}
boards:
  - id: ship
    tiles:
      - {id: keys, kind: fourkeys, source: gh, query: {repo: org/api}, interval: 2s}
      - {id: broken, kind: fourkeys, source: gh, query: {repo: org/broken}, interval: 2s}
`, fake.APIURL()))
	var got string
	var tl map[string]apiTile
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		tl = boardTiles(t, a, "ship")
		if got = fourKeysJSON(t, a, "ship", "keys"); tl["keys"].Error == "" && got == want && tl["broken"].Error != "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// org/broken's tile says its own failure, or that its retries took
	// longer than its poll may (the tile's timeout).
	if tl["keys"].Error != "" || tl["broken"].Error == "" {
		t.Fatalf("org/api error %q, org/broken error %q; want none and one", tl["keys"].Error, tl["broken"].Error)
	}
	if got != want {
		t.Fatalf("org/api figures not exact%s", firstDiff(got, want))
	}
	tl = boardTiles(t, a, "ship")
	if strings.Contains(tl["keys"].Error+tl["broken"].Error, "org/api:") {
		t.Errorf("org/api failure shown: %q / %q", tl["keys"].Error, tl["broken"].Error)
	}
	failed, requests := fake.Stats()
	t.Logf("%d of %d GitHub calls failed", failed, requests)
}
