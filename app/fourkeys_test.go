package app

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func boardTiles(t *testing.T, a *App, id string) map[string]apiTile {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + "/api/v1/boards/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct{ Tiles []apiTile }
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	out := map[string]apiTile{}
	for _, tl := range b.Tiles {
		out[tl.ID] = tl
	}
	return out
}

const eventsConfig = `
sources:
  - id: dora
    kind: events
    postmortem_label: postmortem
webhooks:
  events:
    secret: {env: WB_TEST_EVENTS_TOKEN}
boards:
  - id: ship
    title: Shipping
    tiles:
      - {id: keys, kind: fourkeys, title: Four Keys, source: dora, query: {service: api}, interval: 1h, span: 2}
      - {id: feed, kind: deploys, title: Deploys, source: dora, query: {service: api}, interval: 1h}
      - {id: pm, kind: postmortems, title: Postmortems due, source: dora, query: {service: api, postmortem_days: 5}, interval: 1h}
`

func TestFourKeysFromEventWebhooks(t *testing.T) {
	t.Setenv("WB_TEST_EVENTS_TOKEN", "tok-123")
	a, _, _ := start(t, Options{}, eventsConfig)
	base := "http://" + a.Addr()

	// Before any event: numbers are null (no data), never 0.
	eventually(t, 10*time.Second, "first poll", func() (bool, string) { return boardTiles(t, a, "ship")["keys"].Extra != nil, "" })
	keys := boardTiles(t, a, "ship")["keys"].Extra
	for _, k := range []string{"deployments_per_day", "lead_time_seconds", "change_failure_rate", "time_to_restore_seconds"} {
		if v, ok := keys[k]; !ok || v != nil {
			t.Fatalf("%s = %v before any event, want null", k, v)
		}
	}

	send := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
	}
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	day := 24 * time.Hour
	// 3 deployments of api in the last 30 days (the first ever has no
	// counted changes), lead times 2 h and 4 h → median 3 h; one incident
	// 1 h after the last deployment, restored in 30 m, 10 days ago.
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d1","service":"api","sha":"aaa1111","finished_at":%q,"author":"ann","changes":[{"sha":"c0","authored_at":%q}]}`, ts(20*day), ts(21*day)))
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d2","service":"api","sha":"bbb2222","finished_at":%q,"author":"bob","changes":[{"sha":"c1","authored_at":%q}]}`, ts(12*day), ts(12*day+2*time.Hour)))
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d3","service":"api","sha":"ccc3333","finished_at":%q,"author":"cy","changes":[{"sha":"c2","authored_at":%q}]}`, ts(11*day), ts(11*day+4*time.Hour)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-1","service":"api","title":"checkout 500s","started_at":%q,"resolved_at":%q}`, ts(11*day-time.Hour), ts(11*day-90*time.Minute)))

	// The tiles poll hourly: only the webhook's kick can refresh them this fast.
	// Wait for the last event (the incident) too: each delivery kicks a
	// recompute, and the last one may still be running when the third
	// deployment shows.
	// Each tile's query is its own poll (the postmortems tile asks with
	// postmortem_days), so wait until every one of them has the last event.
	eventually(t, 10*time.Second, "the board to show the events", func() (bool, string) {
		tl := boardTiles(t, a, "ship")
		ex := tl["keys"].Extra
		v := ex["deployments_per_day"]
		feed, _ := tl["feed"].Extra["deployments"].([]any)
		due, _ := tl["pm"].Extra["postmortems_due"].([]any)
		return v != nil && v.(float64) == 3.0/30 && ex["time_to_restore_seconds"] != nil && len(feed) == 3 && len(due) == 1, ""
	})
	tiles := boardTiles(t, a, "ship")
	keys = tiles["keys"].Extra
	want := map[string]float64{"lead_time_seconds": 3 * 3600, "change_failure_rate": 1.0 / 3, "time_to_restore_seconds": 30 * 60}
	for k, w := range want {
		if got, ok := keys[k].(float64); !ok || got != w {
			t.Errorf("%s = %v, want %v", k, keys[k], w)
		}
	}
	tiers := keys["tiers"].(map[string]any)
	if tiers["deployment_frequency"] != "medium" || tiers["lead_time"] != "elite" || tiers["change_failure_rate"] != "low" || tiers["time_to_restore"] != "elite" {
		t.Errorf("tiers = %v", tiers)
	}
	feed := tiles["feed"].Extra["deployments"].([]any)
	if len(feed) != 3 || feed[0].(map[string]any)["id"] != "d3" || feed[0].(map[string]any)["lead_time_seconds"].(float64) != 4*3600 {
		t.Errorf("deploy feed = %v", feed)
	}
	due := tiles["pm"].Extra["postmortems_due"].([]any)
	if len(due) != 1 || due[0].(map[string]any)["id"] != "inc-1" {
		t.Errorf("postmortems due = %v", due)
	}

	// The page shows the same figures for a person: value with unit and tier word.
	resp, err := http.Get(base + "/boards/ship")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"0.7 / week", "3 h 0 m", "33.3 %", "30 m", ">medium<", ">elite<", ">low<", "bbb2222", "checkout 500s", "1 due"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("board page does not show %q", s)
		}
	}

	// The postmortem label clears it from the list.
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-1","service":"api","title":"checkout 500s","started_at":%q,"resolved_at":%q,"labels":["postmortem"]}`, ts(11*day-time.Hour), ts(11*day-90*time.Minute)))
	eventually(t, 10*time.Second, "the postmortem to be done", func() (bool, string) {
		return len(boardTiles(t, a, "ship")["pm"].Extra["postmortems_due"].([]any)) == 0, ""
	})
}

func TestEventWebhooksOffWithoutSecret(t *testing.T) {
	a, _, _ := start(t, Options{}, strings.Replace(eventsConfig, "webhooks:\n  events:\n    secret: {env: WB_TEST_EVENTS_TOKEN}\n", "", 1))
	for _, p := range []string{"/api/v1/events/deployments", "/api/v1/events/incidents", "/hooks/github"} {
		resp, err := http.Post("http://"+a.Addr()+p, "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s without a secret: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestDemoShowsTheFourKeysOfItsGitCheckout(t *testing.T) {
	// Tests run in app/, inside this repository's checkout.
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	var src *struct{ path string }
	for _, s := range cfg.Sources {
		if s.Kind == "gitlog" {
			src = &struct{ path string }{s.Path}
		}
	}
	if src == nil {
		t.Fatal("the demo run inside a git checkout has no gitlog source")
	}
	if _, err := os.Stat(filepath.Join(src.path, "go.mod")); err != nil {
		t.Fatalf("gitlog path %s is not the checkout's top level: %v", src.path, err)
	}
	a, _, _ := start(t, Options{}, "")
	eventually(t, 10*time.Second, "the fourkeys tile to be computed from git", func() (bool, string) {
		resp, err := http.Get("http://" + a.Addr() + "/api/v1/boards/delivery")
		if err != nil {
			return false, ""
		}
		defer resp.Body.Close()
		var b struct {
			Tiles []struct {
				ID, Error string
				Extra     map[string]any
			}
		}
		json.NewDecoder(resp.Body).Decode(&b)
		for _, tl := range b.Tiles {
			if tl.ID == "fourkeys" {
				if tl.Error != "" {
					t.Fatalf("fourkeys tile error: %s", tl.Error)
				}
				return tl.Extra != nil, ""
			}
		}
		return false, ""
	})
}

func TestGitHubWebhookUpdatesTheBoard(t *testing.T) {
	t.Setenv("WB_TEST_GH_SECRET", "hook-secret")
	a, _, _ := start(t, Options{}, `
sources:
  - id: dora
    kind: events
webhooks:
  github:
    secret: {env: WB_TEST_GH_SECRET}
boards:
  - id: ship
    tiles:
      - {id: keys, kind: fourkeys, source: dora, query: {repo: Codertocat/Hello-World}, interval: 1h}
`)
	fixture, err := os.ReadFile(filepath.Join("..", "poller", "github", "testdata", "webhook", "deployment_status.success.json"))
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(delivery string, id int, at time.Time) {
		t.Helper()
		var m map[string]any
		json.Unmarshal(fixture, &m)
		m["deployment"].(map[string]any)["id"] = id
		m["deployment_status"].(map[string]any)["created_at"] = at.Format(time.RFC3339)
		body, _ := json.Marshal(m)
		mac := hmac.New(sha256.New, []byte("hook-secret"))
		mac.Write(body)
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.Addr()+"/hooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "deployment_status")
		req.Header.Set("X-GitHub-Delivery", delivery)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery %s: status %d", delivery, resp.StatusCode)
		}
	}
	now := time.Now().UTC()
	deliver("a", 1, now.Add(-3*24*time.Hour))
	deliver("b", 2, now.Add(-2*24*time.Hour))
	deliver("b", 2, now.Add(-2*24*time.Hour)) // redelivery
	eventually(t, 10*time.Second, "two deployments on the board", func() (bool, string) {
		v := boardTiles(t, a, "ship")["keys"].Extra["deployments"]
		return v != nil && v.(float64) == 2, ""
	})
}

// A GitHub delivery is mapped with the settings of the config the server
// shows now: after a reload that changes a repository's environment, a
// deployment in the old one no longer counts.
func TestGitHubWebhookSettingsFollowReload(t *testing.T) {
	t.Setenv("WB_TEST_GH_SECRET", "hook-secret")
	config := func(env string) string {
		return `
sources:
  - id: dora
    kind: events
  - {id: gh, kind: github, repos: [Codertocat/Hello-World], environment: ` + env + `}
webhooks:
  github:
    secret: {env: WB_TEST_GH_SECRET}
boards:
  - id: ship
    tiles:
      - {id: keys, kind: fourkeys, source: dora, query: {repo: Codertocat/Hello-World}, interval: 1h}
`
	}
	r, _, _ := start(t, Options{}, config("production"))
	fixture, err := os.ReadFile(filepath.Join("..", "poller", "github", "testdata", "webhook", "deployment_status.success.json"))
	if err != nil {
		t.Fatal(err)
	}
	// stored delivers a production deployment and says how many events the
	// receiver stored of it.
	stored := func(delivery string, id int) float64 {
		t.Helper()
		var m map[string]any
		json.Unmarshal(fixture, &m)
		m["deployment"].(map[string]any)["id"] = id
		body, _ := json.Marshal(m)
		mac := hmac.New(sha256.New, []byte("hook-secret"))
		mac.Write(body)
		req, _ := http.NewRequest(http.MethodPost, "http://"+r.Addr()+"/hooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "deployment_status")
		req.Header.Set("X-GitHub-Delivery", delivery)
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery %s: status %d, %v", delivery, resp.StatusCode, err)
		}
		n, _ := out["stored"].(float64)
		return n
	}
	if n := stored("a", 1); n != 1 {
		t.Fatalf("a production deployment with environment: production: stored %v, want 1", n)
	}
	if err := os.WriteFile(r.opts.ConfigPath, []byte(config("staging")), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "the reload", func() (bool, string) {
		n := r.ConfigStatus().Reloads
		return n == 1, fmt.Sprintf("%d reloads", n)
	})
	if n := stored("b", 2); n != 0 {
		t.Errorf("a production deployment after the reload to environment: staging: stored %v, want 0", n)
	}
}
