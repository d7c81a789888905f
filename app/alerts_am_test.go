package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	wbalerts "github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/web"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeSecret(t *testing.T, value string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startAlertmanagerOn runs Debian's prometheus-alertmanager on a loopback
// port with the given config, until the test ends.
func startAlertmanagerOn(t *testing.T, port int, config string) string {
	t.Helper()
	bin := "/usr/bin/prometheus-alertmanager"
	if _, err := os.Stat(bin); err != nil {
		t.Fatal("run make test-deps: " + bin + " is missing")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "am.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port),
		"--cluster.listen-address=",
		"--storage.path="+dir,
		"--config.file="+cfg)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start alertmanager: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", logs.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	apptest.Eventually(t, 20*time.Second, "alertmanager ready", func() (bool, string) {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return base
}

type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func postAlerts(t *testing.T, base string, alerts []amAlert) {
	t.Helper()
	b, _ := json.Marshal(alerts)
	resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("post alerts: HTTP %d %s", resp.StatusCode, body)
	}
}

type apiBoard struct {
	Tiles []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  string `json:"error"`
		Value  any    `json:"value"`
		Rows   []struct {
			Label  string `json:"label"`
			Text   string `json:"text"`
			Status string `json:"status"`
			Detail string `json:"detail"`
			URL    string `json:"url"`
		} `json:"rows"`
	} `json:"tiles"`
}

func getBoard(t *testing.T, a *app.App, id string) apiBoard {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + "/api/v1/boards/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b apiBoard
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func tileRows(b apiBoard, tile string) []string {
	var out []string
	for _, t := range b.Tiles {
		if t.ID == tile {
			for _, r := range t.Rows {
				out = append(out, r.Label+"|"+r.Text+"|"+r.Detail)
			}
		}
	}
	return out
}

// TestAlertmanagerEndToEnd drives a real Alertmanager: alerts posted to it
// appear on the board through the poll and arrive through its webhook
// route; resolved, they go from both.
func TestAlertmanagerEndToEnd(t *testing.T) {
	const token = "am-hook-token"
	secret := writeSecret(t, token)
	amPort := freePort(t)
	am := fmt.Sprintf("http://127.0.0.1:%d", amPort)
	// The wallboard starts first: Alertmanager's webhook needs its address.
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - id: am
    kind: alertmanager
    url: %s
webhooks:
  alertmanager:
    secret: {file: %s}
boards:
  - id: oncall
    title: On call
    takeover: 2s
    tiles:
      - id: alerts
        kind: alerts
        source: am
        sources: [alertmanager-webhook]
        interval: 1s
      - id: hygiene
        kind: hygiene
        source: am
        interval: 1s
`, am, secret))})
	amBase := startAlertmanagerOn(t, amPort, fmt.Sprintf(`
route:
  receiver: wallboard
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: wallboard
    webhook_configs:
      - url: http://%s/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: %s
`, a.Addr(), token))

	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	alerts := []amAlert{
		{
			Labels: map[string]string{"alertname": "CheckoutDown", "severity": "critical", "service": "checkout"},
			Annotations: map[string]string{"summary": "checkout returns 503",
				"description": "Roll back the last checkout deploy.", "runbook_url": "https://runbooks.example.com/checkout"},
			StartsAt: start, GeneratorURL: "http://prometheus.example.com/graph?g0.expr=up",
		},
		{
			Labels:   map[string]string{"alertname": "QueueBacklog", "severity": "warning", "service": "mailer"},
			StartsAt: start.Add(-time.Hour),
		},
	}
	postAlerts(t, amBase, alerts)

	apptest.Eventually(t, 20*time.Second, "board shows both alerts, critical first", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "oncall"), "alerts")
		return len(rows) == 2 && strings.HasPrefix(rows[0], "CheckoutDown|critical|Roll back") &&
			strings.HasPrefix(rows[1], "QueueBacklog|warning"), fmt.Sprint(rows)
	})
	apptest.Eventually(t, 20*time.Second, "alerts arrive through the Alertmanager webhook", func() (bool, string) {
		open, err := a.Store().OpenAlerts(context.Background(), []string{wbalerts.ReceiverAlertmanager})
		if err != nil {
			return false, err.Error()
		}
		var titles []string
		for _, o := range open {
			titles = append(titles, o.Title+"/"+string(o.Severity)+"/"+o.RunbookURL)
		}
		slices.Sort(titles)
		return slices.Equal(titles, []string{"CheckoutDown/critical/https://runbooks.example.com/checkout", "QueueBacklog/warning/"}), fmt.Sprint(titles)
	})
	// The hygiene tile names the alert firing without a next action.
	apptest.Eventually(t, 10*time.Second, "hygiene lists QueueBacklog", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "oncall"), "hygiene")
		return len(rows) == 1 && strings.HasPrefix(rows[0], "QueueBacklog|no next action"), fmt.Sprint(rows)
	})

	// Resolve them: endsAt in the past.
	for i := range alerts {
		alerts[i].EndsAt = time.Now().Add(-time.Second).UTC()
	}
	postAlerts(t, amBase, alerts)
	apptest.Eventually(t, 20*time.Second, "resolved alerts leave the board", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "oncall"), "alerts")
		return len(rows) == 0, fmt.Sprint(rows)
	})
	apptest.Eventually(t, 20*time.Second, "resolved alerts close through the webhook", func() (bool, string) {
		open, err := a.Store().OpenAlerts(context.Background(), []string{wbalerts.ReceiverAlertmanager, "am"})
		if err != nil {
			return false, err.Error()
		}
		return len(open) == 0, fmt.Sprint(open)
	})
	b := getBoard(t, a, "oncall")
	for _, tl := range b.Tiles {
		if tl.ID == "alerts" && (tl.Status != "ok" || tl.Error != "") {
			t.Errorf("alerts tile after resolve: status %s error %q", tl.Status, tl.Error)
		}
	}
}

// wholeTile is a tile as the API shows it, without what only says when it
// was computed (the two feeds are polled at different instants).
func wholeTile(t *testing.T, tl web.APITile) string {
	t.Helper()
	tl.UpdatedAt, tl.At, tl.AgeSeconds = nil, nil, nil
	b, err := json.MarshalIndent(tl, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Issue 13 (one home): the same Alertmanager alerts, polled from a real
// Alertmanager and pushed by its webhook, give identical tiles (value,
// status, rows, warnings) and identical alert lists on the page.
func TestAlertmanagerWebhookEqualsPoll(t *testing.T) {
	const token = "am-equal-token"
	secret := writeSecret(t, token)
	amPort := freePort(t)
	am := fmt.Sprintf("http://127.0.0.1:%d", amPort)
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - id: am
    kind: alertmanager
    url: %s
  - id: hooks
    kind: webhooks
webhooks:
  alertmanager:
    secret: {file: %s}
boards:
  - id: pushed
    title: Pushed
    tiles:
      - {id: alerts, kind: alerts, title: Alerts, source: hooks, sources: [alertmanager-webhook], interval: 1s}
  - id: polled
    title: Polled
    tiles:
      - {id: alerts, kind: alerts, title: Alerts, source: am, interval: 1s}
`, am, secret))})
	amBase := startAlertmanagerOn(t, amPort, fmt.Sprintf(`
route:
  receiver: wallboard
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: wallboard
    webhook_configs:
      - url: http://%s/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: %s
`, a.Addr(), token))
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	postAlerts(t, amBase, []amAlert{
		{
			Labels: map[string]string{"alertname": "CheckoutDown", "severity": "critical", "service": "checkout", "instance": "checkout-1"},
			Annotations: map[string]string{"summary": "checkout returns 503",
				"description": "Roll back the last checkout deploy.", "runbook_url": "https://runbooks.example.com/checkout"},
			StartsAt: start, GeneratorURL: "http://prometheus.example.com/graph?g0.expr=up",
		},
		{
			Labels:   map[string]string{"alertname": "QueueBacklog", "severity": "warning", "service": "mailer"},
			StartsAt: start.Add(-time.Hour),
		},
		{
			Labels:      map[string]string{"alertname": "NoSeverity", "job": "batch"},
			Annotations: map[string]string{"summary": "batch is late"},
			StartsAt:    start.Add(-2 * time.Minute),
		},
	})
	var pushed, polled web.APITile
	apptest.Eventually(t, 20*time.Second, "both tiles with the three alerts", func() (bool, string) {
		pushed, polled = boardTiles(t, a, "pushed")["alerts"], boardTiles(t, a, "polled")["alerts"]
		return len(pushed.Rows) == 3 && len(polled.Rows) == 3, fmt.Sprintf("pushed %d rows, polled %d rows", len(pushed.Rows), len(polled.Rows))
	})
	if p, q := wholeTile(t, pushed), wholeTile(t, polled); p != q {
		t.Errorf("the same alerts differ:\npushed %s\npolled %s", p, q)
	}
	pushedHTML := alertList.FindString(getHTML(t, a, "pushed"))
	polledHTML := alertList.FindString(getHTML(t, a, "polled"))
	if pushedHTML == "" || pushedHTML != polledHTML {
		t.Errorf("the same alerts render differently:\npushed %s\npolled %s", pushedHTML, polledHTML)
	}
}
