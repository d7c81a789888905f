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
	eventually(t, 10*time.Second, "one postmortem due", func() (bool, string) { return status(1) })
	if pm := doraBoard(t, a, "ship")["pm"]; pm.Status != "warn" {
		t.Errorf("postmortems tile with one postmortem due (not overdue): status %q, want warn", pm.Status)
	}
	// Resolved 9 days ago: overdue.
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-late","service":"api","title":"login down","started_at":%q,"resolved_at":%q}`, ts(9*day+time.Hour), ts(9*day)))
	eventually(t, 10*time.Second, "two postmortems due", func() (bool, string) { return status(2) })
	if pm := doraBoard(t, a, "ship")["pm"]; pm.Status != "critical" {
		t.Errorf("postmortems tile with one postmortem overdue: status %q, want critical", pm.Status)
	}
	page := doraPage(t, a, "/boards/ship")
	for _, s := range []string{"1 overdue", "login down", "cart errors", "within 5 d"} {
		if !strings.Contains(page, s) {
			t.Errorf("board page does not show %q", s)
		}
	}
	// A linked postmortem document records it; the label records the other.
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-late","service":"api","title":"login down","started_at":%q,"resolved_at":%q,"postmortem_url":"https://docs.example.com/pm/1"}`, ts(9*day+time.Hour), ts(9*day)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-due","service":"api","title":"cart errors","started_at":%q,"resolved_at":%q,"labels":["postmortem"]}`, ts(2*day+time.Hour), ts(2*day)))
	eventually(t, 10*time.Second, "no postmortem due", func() (bool, string) { return status(0) })
	if pm := doraBoard(t, a, "ship")["pm"]; pm.Status != "ok" {
		t.Errorf("postmortems tile with every postmortem written: status %q, want ok", pm.Status)
	}
}
