package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
)

func getHTML(t *testing.T, a *app.App, board string) string {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + "/boards/" + board)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// An alert source that fails must never read as "No open alerts".
func TestAlertsUnknownWhileSourceFails(t *testing.T) {
	dead := freePort(t) // nothing listens there
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - id: am
    kind: alertmanager
    url: http://127.0.0.1:%d
    timeout: 1s
boards:
  - id: oncall
    tiles:
      - id: alerts
        kind: alerts
        source: am
        interval: 1s
`, dead))})
	apptest.Eventually(t, 15*time.Second, "tile says alerts are unknown", func() (bool, string) {
		html := getHTML(t, a, "oncall")
		i := strings.Index(html, `id="tile-oncall-alerts"`)
		if i < 0 {
			return false, "no tile"
		}
		tile := html[i:]
		return strings.Contains(tile, "alerts unknown: source am failing since ") && !strings.Contains(tile, "No open alerts"), tile[:min(len(tile), 600)]
	})
}

// Alerts that open too often, and alerts firing without a next action,
// show on the hygiene tile.
func TestHygieneNoisyAndUndocumented(t *testing.T) {
	const token = "ev"
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - id: hooks
    kind: webhooks
webhooks:
  events:
    secret: {file: %s}
boards:
  - id: hy
    tiles:
      - id: hygiene
        kind: hygiene
        source: hooks
        interval: 30s
        noisy_after: 2
`, writeSecret(t, token)))})
	base := time.Now().Add(-6 * time.Hour).UTC()
	for i := range 3 {
		s := base.Add(time.Duration(i) * time.Hour)
		post(t, "http://"+a.Addr(), "/api/v1/events/alerts", token, fmt.Sprintf(`{"id":"flap","policy":"DiskLatency","title":"Disk latency high","next_action":"see runbook","started_at":%q}`, s.Format(time.RFC3339)))
		post(t, "http://"+a.Addr(), "/api/v1/events/alerts", token, fmt.Sprintf(`{"id":"flap","state":"closed","ended_at":%q}`, s.Add(10*time.Minute).Format(time.RFC3339)))
	}
	post(t, "http://"+a.Addr(), "/api/v1/events/alerts", token, `{"id":"mystery","title":"Mystery alert","severity":"warning"}`)
	apptest.Eventually(t, 10*time.Second, "hygiene rows", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "hy"), "hygiene")
		got := strings.Join(rows, "\n")
		return len(rows) == 2 && strings.Contains(got, "Mystery alert|no next action") && strings.Contains(got, "DiskLatency|3× / 7 d"), got
	})
}

func TestAlertTileConfigErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	os.WriteFile(path, []byte(`
sources:
  - id: hooks
    kind: webhooks
boards:
  - id: b
    tiles:
      - id: alerts
        kind: alerts
        source: hooks
        sources: [pagerduty]
`), 0o600)
	_, err := app.New(context.Background(), app.Options{ConfigPath: path, Addr: "127.0.0.1:0", DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), `sources: "pagerduty" is not an alert webhook receiver`) || !strings.Contains(err.Error(), "c.yaml:") {
		t.Fatalf("error = %v", err)
	}
}

func TestAlertExamplesLoad(t *testing.T) {
	for _, f := range []string{"alertmanager.yaml", "cloudmonitoring-webhook.yaml"} {
		if _, err := app.LoadConfig(filepath.Join("..", "examples", f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// readUntil reads websocket fragments of a board until one contains all of
// want, or the deadline passes.
func readUntil(t *testing.T, addr, board string, within time.Duration, want ...string) string {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/boards/"+board+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(within)
	c.SetReadDeadline(deadline)
	var seen []string
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("board %s: no fragment with %q within %s (%v); saw %d fragments", board, want, within, err, len(seen))
		}
		s := string(msg)
		seen = append(seen, s)
		all := true
		for _, w := range want {
			all = all && strings.Contains(s, w)
		}
		if all {
			return s
		}
	}
}

// The takeover goes to the boards that show the alert's source, and comes
// back from the store after a restart.
func TestTakeoverBoardsAndRestart(t *testing.T) {
	const token = "ev"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "w.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
sources:
  - id: hooks
    kind: webhooks
  - id: am
    kind: alertmanager
    url: http://127.0.0.1:%d
webhooks:
  events:
    secret: {file: %s}
boards:
  - id: ops
    takeover: 30s
    tiles:
      - {id: alerts, kind: alerts, source: hooks}
  - id: other
    tiles:
      - {id: alerts, kind: alerts, source: am, interval: 1h}
`, freePort(t), writeSecret(t, token))), 0o600)
	run := func() (*app.App, func()) {
		return apptest.StartStoppable(t, app.Options{ConfigPath: cfg, DataDir: dir})
	}
	a, stop := run()
	post(t, "http://"+a.Addr(), "/api/v1/events/alerts", token, `{"id":"x1","title":"Site down","severity":"critical","next_action":"Call the CDN"}`)
	readUntil(t, a.Addr(), "ops", 5*time.Second, `id="wb-alert-ops"`, "Site down", "is-takeover")
	// The other board does not show the events receiver: its layer stays empty.
	c, _, err := websocket.DefaultDialer.Dial("ws://"+a.Addr()+"/boards/other/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			break // the initial state has been read
		}
		if strings.Contains(string(msg), "Site down") {
			t.Fatalf("board other got the takeover: %s", msg)
		}
	}
	c.Close()
	stop()

	a, stop = run()
	defer stop()
	readUntil(t, a.Addr(), "ops", 5*time.Second, `id="wb-alert-ops"`, "Site down", "Call the CDN")
}

// A reload that gives a board an alert tile of a feed with an open critical
// alert brings that board's takeover at once, not at the feed's next
// delivery (a webhook feed is never polled, so nothing else would).
func TestReloadAddingAnAlertTileShowsTheOpenTakeover(t *testing.T) {
	const token = "ev"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "w.yaml")
	secret := writeSecret(t, token)
	opsTakeover := "60s"
	config := func(otherTiles string) []byte {
		return []byte(fmt.Sprintf(`
sources:
  - id: hooks
    kind: webhooks
  - {id: demo, kind: demo}
webhooks:
  events:
    secret: {file: %s}
boards:
  - id: ops
    takeover: %s
    tiles:
      - {id: alerts, kind: alerts, source: hooks}
  - id: other
    tiles:
      - {id: req, kind: stat, source: demo, query: requests}
%s`, secret, opsTakeover, otherTiles))
	}
	if err := os.WriteFile(cfg, config(""), 0o600); err != nil {
		t.Fatal(err)
	}
	a := apptest.Start(t, app.Options{ConfigPath: cfg, DataDir: dir})
	post(t, "http://"+a.Addr(), "/api/v1/events/alerts", token, `{"id":"x1","title":"Site down","severity":"critical","next_action":"Call the CDN"}`)
	readUntil(t, a.Addr(), "ops", 5*time.Second, `id="wb-alert-ops"`, "Site down")

	if err := os.WriteFile(cfg, config("      - {id: alerts, kind: alerts, source: hooks}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "the reload", func() (bool, string) {
		st := a.ConfigStatus()
		return st.Reloads > 0, fmt.Sprint(st.Problems)
	})
	readUntil(t, a.Addr(), "other", 5*time.Second, `id="wb-alert-other"`, "Site down")

	// A reload that changes how a board shows its takeover: the open
	// alert's layer follows.
	opsTakeover = "5s"
	if err := os.WriteFile(cfg, config("      - {id: alerts, kind: alerts, source: hooks}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "the second reload", func() (bool, string) {
		st := a.ConfigStatus()
		return st.Reloads > 1, fmt.Sprint(st.Problems)
	})
	readUntil(t, a.Addr(), "ops", 5*time.Second, `id="wb-alert-ops"`, `data-takeover="5000"`, "Site down")
}
