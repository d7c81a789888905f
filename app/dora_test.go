package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/web"
)

// doraBoard is the JSON API's board as the DORA tests read it.
func doraBoard(t *testing.T, a *app.App, id string) map[string]web.APITile {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + "/api/v1/boards/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b web.APIBoard
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	out := map[string]web.APITile{}
	for _, tl := range b.Tiles {
		out[tl.ID] = tl
	}
	return out
}

// doraSender posts to the generic events API with the test token.
func doraSender(t *testing.T, a *app.App) func(path, body string) {
	return func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.Addr()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-dora")
		req.Header.Set("Content-Type", "application/json")
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
}

func doraPage(t *testing.T, a *app.App, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

const postmortemConfig = `
sources:
  - id: dora
    kind: events
webhooks:
  events:
    secret: {env: WB_TEST_DORA_TOKEN}
boards:
  - id: ship
    tiles:
      - {id: keys, kind: fourkeys, source: dora, query: {service: api}, interval: 1h, span: 2}
      - {id: pm, kind: postmortems, source: dora, query: {service: api}, interval: 1h}
`

// The postmortems tile is a warning while a postmortem is due and critical
// once one is overdue; never "ok" with postmortems due. A link to the
// written document records the postmortem like the label does.
func TestPostmortemsTileWarnsWhenDueAndIsCriticalWhenOverdue(t *testing.T) {
	t.Setenv("WB_TEST_DORA_TOKEN", "tok-dora")
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, postmortemConfig)})
	send := doraSender(t, a)
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	day := 24 * time.Hour
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d1","service":"api","finished_at":%q}`, ts(20*day)))
	// Resolved 2 days ago: due within 5 days, not overdue.
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-due","service":"api","title":"cart errors","started_at":%q,"resolved_at":%q}`, ts(2*day+time.Hour), ts(2*day)))
	status := func(n int) (bool, string) {
		pm := doraBoard(t, a, "ship")["pm"]
		due, _ := pm.Extra["postmortems_due"].([]any)
		return len(due) == n, fmt.Sprintf("status %s, %d due", pm.Status, len(due))
	}
	apptest.Eventually(t, 10*time.Second, "one postmortem due", func() (bool, string) { return status(1) })
	if pm := doraBoard(t, a, "ship")["pm"]; pm.Status != "warn" {
		t.Errorf("postmortems tile with one postmortem due (not overdue): status %q, want warn", pm.Status)
	}
	// Resolved 9 days ago: overdue.
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-late","service":"api","title":"login down","started_at":%q,"resolved_at":%q}`, ts(9*day+time.Hour), ts(9*day)))
	apptest.Eventually(t, 10*time.Second, "two postmortems due", func() (bool, string) { return status(2) })
	if pm := doraBoard(t, a, "ship")["pm"]; pm.Status != "critical" {
		t.Errorf("postmortems tile with one postmortem overdue: status %q, want critical", pm.Status)
	}
	page := doraPage(t, a, "/boards/ship")
	for _, s := range []string{"1 overdue", "login down", "cart errors", "within 5 d"} {
		if !strings.Contains(page, s) {
			t.Errorf("board page does not show %q", s)
		}
	}
	// The standup view lists what is due.
	standup := doraPage(t, a, "/boards/ship?standup=1")
	for _, s := range []string{"Postmortems due", "login down", "overdue by 4 d", "cart errors", "due in 3 d"} {
		if !strings.Contains(standup, s) {
			t.Errorf("standup view does not show %q", s)
		}
	}
	// A linked postmortem document records it; the label records the other.
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-late","service":"api","title":"login down","started_at":%q,"resolved_at":%q,"postmortem_url":"https://docs.example.com/pm/1"}`, ts(9*day+time.Hour), ts(9*day)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-due","service":"api","title":"cart errors","started_at":%q,"resolved_at":%q,"labels":["postmortem"]}`, ts(2*day+time.Hour), ts(2*day)))
	apptest.Eventually(t, 10*time.Second, "no postmortem due", func() (bool, string) { return status(0) })
	if pm := doraBoard(t, a, "ship")["pm"]; pm.Status != "ok" {
		t.Errorf("postmortems tile with every postmortem written: status %q, want ok", pm.Status)
	}
}

const reworkConfig = `
sources:
  - id: dora
    kind: events
    attribution_window: 2h
    hotfix_labels: [hotfix, emergency]
  - id: plain
    kind: events
    benchmarks: none
webhooks:
  events:
    secret: {env: WB_TEST_DORA_TOKEN}
boards:
  - id: ship
    tiles:
      - {id: keys, kind: fourkeys, source: dora, query: {service: api}, interval: 1h, span: 2}
      - {id: plain, kind: fourkeys, source: plain, query: {service: api}, interval: 1h, span: 2}
`

// The JSON of a Four Keys tile carries each metric with the counts behind
// it, and the page shows the same counts: rework, failed deployment
// recovery (caused incidents only) beside the restore time of all
// incidents, the source's attribution window, and benchmarks: none.
func TestFourKeysJSONAndPageCarryTheCounts(t *testing.T) {
	t.Setenv("WB_TEST_DORA_TOKEN", "tok-dora")
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, reworkConfig)})
	send := doraSender(t, a)
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	day := 24 * time.Hour
	// d0 first ever; d1 causes inc-1 (1 h before it, inside the 2 h window);
	// d2 ships while inc-1 is open (rework); d3 names an incident (rework);
	// d4 carries the emergency label (rework); d5 is 3 h before inc-2,
	// outside the 2 h window, so inc-2 has no cause.
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d0","service":"api","finished_at":%q}`, ts(25*day)))
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d1","service":"api","finished_at":%q}`, ts(20*day)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-1","service":"api","started_at":%q,"resolved_at":%q}`, ts(20*day-time.Hour), ts(20*day-3*time.Hour)))
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d2","service":"api","finished_at":%q}`, ts(20*day-2*time.Hour)))
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d3","service":"api","finished_at":%q,"incident":"inc-1"}`, ts(15*day)))
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d4","service":"api","finished_at":%q,"labels":["Emergency"]}`, ts(10*day)))
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d5","service":"api","finished_at":%q}`, ts(5*day+3*time.Hour)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-2","service":"api","started_at":%q,"resolved_at":%q}`, ts(5*day), ts(5*day-4*time.Hour)))

	var ex map[string]any
	apptest.Eventually(t, 10*time.Second, "six deployments and both incidents", func() (bool, string) {
		ex = doraBoard(t, a, "ship")["keys"].Extra
		return ex["deployments"] == 6.0 && ex["incidents_restored"] == 2.0 && doraBoard(t, a, "ship")["plain"].Extra["incidents_restored"] == 2.0,
			fmt.Sprintf("deployments %v, restored %v", ex["deployments"], ex["incidents_restored"])
	})
	metrics := ex["metrics"].(map[string]any)
	want := map[string]map[string]any{
		"change_failure_rate":             {"value": 1.0 / 6, "failed": 1.0, "deployments": 6.0, "tier": "low"},
		"deployment_rework_rate":          {"value": 3.0 / 6, "rework": 3.0, "deployments": 6.0},
		"failed_deployment_recovery_time": {"value": 2 * 3600.0, "incidents": 1.0, "tier": "high"},
		"time_to_restore":                 {"value": 3 * 3600.0, "incidents": 2.0},
		"deployment_frequency":            {"value": 6.0 / 30, "deployments": 6.0, "days": 30.0},
	}
	for name, fields := range want {
		m, _ := metrics[name].(map[string]any)
		for k, w := range fields {
			if got := m[k]; fmt.Sprint(got) != fmt.Sprint(w) {
				t.Errorf("metrics.%s.%s = %v, want %v", name, k, got, w)
			}
		}
	}
	if ex["attribution_window_seconds"] != 7200.0 || ex["benchmarks"] != "DORA 2024 clusters" {
		t.Errorf("attribution_window_seconds %v, benchmarks %v; want 7200 and DORA 2024 clusters", ex["attribution_window_seconds"], ex["benchmarks"])
	}
	// Flat fields stay for existing clients, consistent with the counts.
	if ex["change_failure_rate"] != 1.0/6 || ex["deployment_rework_rate"] != 0.5 || ex["failed_deployment_recovery_seconds"] != 7200.0 || ex["time_to_restore_seconds"] != 3*3600.0 {
		t.Errorf("flat fields: cfr %v rework %v recovery %v restore %v", ex["change_failure_rate"], ex["deployment_rework_rate"], ex["failed_deployment_recovery_seconds"], ex["time_to_restore_seconds"])
	}
	plain := doraBoard(t, a, "ship")["plain"].Extra
	if plain["benchmarks"] != nil || plain["tiers"].(map[string]any)["change_failure_rate"] != nil {
		t.Errorf("benchmarks: none: benchmarks %v, tiers %v; want null", plain["benchmarks"], plain["tiers"])
	}
	// The default 24 h window of the plain source blames d5 for inc-2.
	if pm := plain["metrics"].(map[string]any)["change_failure_rate"].(map[string]any); pm["failed"] != 2.0 {
		t.Errorf("24 h window: failed = %v, want 2 (d1 and d5)", pm["failed"])
	}

	page := doraPage(t, a, "/boards/ship")
	for _, s := range []string{"6 deployments in 30 d", "1 of 6 deployments failed", "3 of 6 were rework", "recovery: median of 1 incident",
		"Failed deployment recovery", "tiers: DORA 2024 clusters", "within 2 h before", "within 24 h before", "no benchmark tiers",
		"restore, all incidents: 3 h 0 m, median of 2 incidents", "2 of 6 deployments failed"} {
		if !strings.Contains(page, s) {
			t.Errorf("board page does not show %q", s)
		}
	}
}

const boardBenchmarksConfig = `
sources:
  - {id: dora, kind: events}
  - {id: plain, kind: events, benchmarks: none}
webhooks:
  events:
    secret: {env: WB_TEST_DORA_TOKEN}
boards:
  - id: tiers
    tiles:
      - {id: keys, kind: fourkeys, source: dora, query: {service: api}, interval: 1h, span: 2}
  - id: quiet
    benchmarks: none
    tiles:
      - {id: keys, kind: fourkeys, source: dora, query: {service: api}, interval: 1h, span: 2}
  - id: loud
    benchmarks: dora-2024
    tiles:
      - {id: keys, kind: fourkeys, source: plain, query: {service: api}, interval: 1h, span: 2}
`

// benchmarks: on a board wins over its source's, both ways, and leaves the
// other boards of the same computation alone: no tier badge and null tiers
// where the board says none; tiers where the board asks for them although
// the source said none.
func TestDoraBenchmarksPerBoard(t *testing.T) {
	t.Setenv("WB_TEST_DORA_TOKEN", "tok-dora")
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, boardBenchmarksConfig)})
	send := doraSender(t, a)
	now := time.Now().UTC()
	for i := range 12 {
		send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d%d","service":"api","finished_at":%q}`, i, now.Add(-time.Duration(i+1)*50*time.Hour).Format(time.RFC3339)))
	}
	for _, id := range []string{"tiers", "quiet", "loud"} {
		apptest.Eventually(t, 10*time.Second, id+": twelve deployments", func() (bool, string) {
			ex := doraBoard(t, a, id)["keys"].Extra
			return ex["deployments"] == 12.0, fmt.Sprintf("deployments %v", ex["deployments"])
		})
	}
	for _, c := range []struct {
		board  string
		tiered bool
	}{{"tiers", true}, {"quiet", false}, {"loud", true}} {
		ex := doraBoard(t, a, c.board)["keys"].Extra
		tier := ex["tiers"].(map[string]any)["deployment_frequency"]
		page := doraPage(t, a, "/boards/"+c.board)
		badge := strings.Contains(page, `class="tier tier-`)
		if c.tiered {
			if ex["benchmarks"] != "DORA 2024 clusters" || tier != "high" || !badge || !strings.Contains(page, "tiers: DORA 2024 clusters") {
				t.Errorf("%s: benchmarks %v, frequency tier %v, badge on the page %v; want DORA 2024 clusters, high and a badge", c.board, ex["benchmarks"], tier, badge)
			}
			continue
		}
		if ex["benchmarks"] != nil || tier != nil || badge || !strings.Contains(page, "no benchmark tiers") {
			t.Errorf("%s (benchmarks: none): benchmarks %v, frequency tier %v, badge on the page %v; want null, null and none", c.board, ex["benchmarks"], tier, badge)
		}
	}
}
