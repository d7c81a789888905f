package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
)

// amSilence creates a silence through Alertmanager's API and returns its id.
func amSilence(t *testing.T, base string, matchers map[string]string) string {
	t.Helper()
	type matcher struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		IsRegex bool   `json:"isRegex"`
		IsEqual bool   `json:"isEqual"`
	}
	var ms []matcher
	for k, v := range matchers {
		ms = append(ms, matcher{Name: k, Value: v, IsEqual: true})
	}
	b, _ := json.Marshal(map[string]any{"matchers": ms, "startsAt": time.Now().UTC(), "endsAt": time.Now().Add(time.Hour).UTC(),
		"createdBy": "wallboard test", "comment": "maintenance"})
	resp, err := http.Post(base+"/api/v2/silences", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("create silence: HTTP %d %s", resp.StatusCode, body)
	}
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.SilenceID == "" {
		t.Fatalf("create silence: %s (%v)", body, err)
	}
	return out.SilenceID
}

func openTitles(t *testing.T, a *app.App, feeds ...string) []string {
	t.Helper()
	open, err := a.Store().OpenAlerts(context.Background(), feeds)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, o := range open {
		titles = append(titles, o.Source+":"+o.Title)
	}
	slices.Sort(titles)
	return titles
}

// TestAlertmanagerSilenceAndInhibitionLeaveTheWall drives a real
// Alertmanager that both sends to the webhook and is polled, as
// docs/alerts.md sets it up. A silenced critical alert leaves the list and
// the takeover; resolved while silenced, it never comes back; an inhibited
// one leaves them too. Alertmanager's own state is the truth for both feeds.
func TestAlertmanagerSilenceAndInhibitionLeaveTheWall(t *testing.T) {
	const token = "am-hook-token"
	secret := writeSecret(t, token)
	amPort := freePort(t)
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - id: am
    kind: alertmanager
    url: http://127.0.0.1:%d
webhooks:
  alertmanager:
    secret: {file: %s}
boards:
  - id: oncall
    takeover: 60s
    tiles:
      - id: alerts
        kind: alerts
        source: am
        sources: [alertmanager-webhook]
        interval: 1s
`, amPort, secret))})
	amBase := startAlertmanagerOn(t, amPort, fmt.Sprintf(`
route:
  receiver: wallboard
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
inhibit_rules:
  - source_matchers: [alertname="PaymentsMaintenance"]
    target_matchers: [service="payments"]
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
	checkout := amAlert{
		Labels:      map[string]string{"alertname": "CheckoutDown", "severity": "critical", "service": "checkout"},
		Annotations: map[string]string{"description": "Roll back the last checkout deploy."},
		StartsAt:    start,
	}
	backlog := amAlert{
		Labels:   map[string]string{"alertname": "QueueBacklog", "severity": "warning", "service": "mailer"},
		StartsAt: start.Add(-time.Hour),
	}
	postAlerts(t, amBase, []amAlert{checkout, backlog})

	// Both feeds have both alerts, the list shows them once, the critical
	// one takes over.
	apptest.Eventually(t, 20*time.Second, "both feeds see both alerts", func() (bool, string) {
		got := openTitles(t, a, "am", alerts.ReceiverAlertmanager)
		want := []string{"alertmanager-webhook:CheckoutDown", "alertmanager-webhook:QueueBacklog", "am:CheckoutDown", "am:QueueBacklog"}
		return slices.Equal(got, want), fmt.Sprint(got)
	})
	apptest.Eventually(t, 10*time.Second, "list and takeover show CheckoutDown", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "oncall"), "alerts")
		layer := alertLayer(t, a.Addr(), "oncall")
		return len(rows) == 2 && strings.HasPrefix(rows[0], "CheckoutDown|critical") && strings.Contains(layer, "CheckoutDown"),
			fmt.Sprintf("rows %q layer %q", rows, layer)
	})

	// A silence in Alertmanager: it sends nothing for the silenced alert.
	amSilence(t, amBase, map[string]string{"alertname": "CheckoutDown"})
	apptest.Eventually(t, 20*time.Second, "silenced alert leaves the list and the takeover", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "oncall"), "alerts")
		layer := alertLayer(t, a.Addr(), "oncall")
		return len(rows) == 1 && strings.HasPrefix(rows[0], "QueueBacklog|warning") && !strings.Contains(layer, "CheckoutDown"),
			fmt.Sprintf("rows %q layer %q", rows, layer)
	})

	// Resolved while silenced: Alertmanager sends no resolve either.
	checkout.EndsAt = time.Now().Add(-time.Second).UTC()
	postAlerts(t, amBase, []amAlert{checkout})
	// A later alert through both feeds proves both ran after the resolve.
	canary := amAlert{Labels: map[string]string{"alertname": "DiskFilling", "severity": "warning", "service": "db"}, StartsAt: start}
	postAlerts(t, amBase, []amAlert{canary})
	apptest.Eventually(t, 20*time.Second, "a later alert arrives through both feeds", func() (bool, string) {
		got := openTitles(t, a, "am", alerts.ReceiverAlertmanager)
		return slices.Contains(got, "am:DiskFilling") && slices.Contains(got, "alertmanager-webhook:DiskFilling"), fmt.Sprint(got)
	})
	if got := openTitles(t, a, "am", alerts.ReceiverAlertmanager); slices.Contains(got, "am:CheckoutDown") || slices.Contains(got, "alertmanager-webhook:CheckoutDown") {
		t.Fatalf("resolved while silenced, CheckoutDown is open again: %v", got)
	}
	rows := tileRows(getBoard(t, a, "oncall"), "alerts")
	if strings.Contains(strings.Join(rows, "\n"), "CheckoutDown") {
		t.Fatalf("resolved while silenced, CheckoutDown is listed: %q", rows)
	}
	if layer := alertLayer(t, a.Addr(), "oncall"); strings.Contains(layer, "CheckoutDown") {
		t.Fatalf("resolved while silenced, CheckoutDown takes over: %q", layer)
	}

	// Inhibition: a critical alert of the payments service opens, then a
	// maintenance alert inhibits it.
	payments := amAlert{Labels: map[string]string{"alertname": "PaymentsDown", "severity": "critical", "service": "payments"}, StartsAt: start}
	postAlerts(t, amBase, []amAlert{payments})
	apptest.Eventually(t, 20*time.Second, "PaymentsDown takes over through both feeds", func() (bool, string) {
		got := openTitles(t, a, "am", alerts.ReceiverAlertmanager)
		layer := alertLayer(t, a.Addr(), "oncall")
		return slices.Contains(got, "am:PaymentsDown") && slices.Contains(got, "alertmanager-webhook:PaymentsDown") && strings.Contains(layer, "PaymentsDown"),
			fmt.Sprintf("open %v layer %q", got, layer)
	})
	postAlerts(t, amBase, []amAlert{{Labels: map[string]string{"alertname": "PaymentsMaintenance", "severity": "info", "service": "payments-window"}, StartsAt: start}})
	apptest.Eventually(t, 20*time.Second, "inhibited alert leaves the list and the takeover", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "oncall"), "alerts")
		layer := alertLayer(t, a.Addr(), "oncall")
		all := strings.Join(rows, "\n")
		return strings.Contains(all, "PaymentsMaintenance") && !strings.Contains(all, "PaymentsDown") && !strings.Contains(layer, "PaymentsDown"),
			fmt.Sprintf("rows %q layer %q", rows, layer)
	})
}

// TestAlertmanagerWebhookAndPollGiveTheSameTile: one mapping for both
// feeds. The same alert, posted to a real Alertmanager, reaches one tile
// only through the poll and another only through the webhook; the two
// tiles' JSON must be identical.
func TestAlertmanagerWebhookAndPollGiveTheSameTile(t *testing.T) {
	const token = "am-hook-token"
	secret := writeSecret(t, token)
	amPort := freePort(t)
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - id: am
    kind: alertmanager
    url: http://127.0.0.1:%d
  - id: hooks
    kind: webhooks
webhooks:
  alertmanager:
    secret: {file: %s}
boards:
  - id: polled
    tiles:
      - {id: alerts, kind: alerts, source: am, interval: 1s}
  - id: pushed
    tiles:
      - {id: alerts, kind: alerts, source: hooks, interval: 1s}
`, amPort, secret))})
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
	start := time.Now().Add(-3 * time.Minute).UTC().Truncate(time.Second)
	postAlerts(t, amBase, []amAlert{{
		Labels: map[string]string{"alertname": "CheckoutDown", "severity": "critical", "service": "checkout", "instance": "checkout-1:8080"},
		Annotations: map[string]string{"summary": "checkout returns 503", "description": "Roll back the last checkout deploy.",
			"runbook_url": "https://runbooks.example.com/checkout"},
		StartsAt: start, GeneratorURL: "http://prometheus.example.com/graph?g0.expr=up",
	}, {
		Labels:      map[string]string{"alertname": "QueueBacklog", "severity": "page-me-maybe", "job": "mailer"},
		Annotations: map[string]string{"next_action": "Scale the mailer workers."},
		StartsAt:    start.Add(-time.Hour),
	}})
	tile := func(board string) (string, int) {
		t.Helper()
		resp, err := http.Get("http://" + a.Addr() + "/api/v1/boards/" + board)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct {
			Tiles []struct {
				ID     string            `json:"id"`
				Status string            `json:"status"`
				Value  any               `json:"value"`
				Rows   []json.RawMessage `json:"rows"`
			} `json:"tiles"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			t.Fatal(err)
		}
		for _, tl := range b.Tiles {
			if tl.ID == "alerts" {
				js, _ := json.Marshal(struct {
					Status string
					Value  any
					Rows   []json.RawMessage
				}{tl.Status, tl.Value, tl.Rows})
				return string(js), len(tl.Rows)
			}
		}
		t.Fatalf("board %s has no alerts tile", board)
		return "", 0
	}
	apptest.Eventually(t, 20*time.Second, "both tiles list both alerts, the same way", func() (bool, string) {
		polled, np := tile("polled")
		pushed, nw := tile("pushed")
		return np == 2 && nw == 2 && polled == pushed, "polled " + polled + "\npushed " + pushed
	})
	polled, _ := tile("polled")
	for _, want := range []string{`"label":"CheckoutDown"`, `"detail":"Roll back the last checkout deploy."`, `"url":"https://runbooks.example.com/checkout"`,
		`"label":"QueueBacklog"`, `"detail":"Scale the mailer workers."`, `"text":"warning"`} {
		if !strings.Contains(polled, want) {
			t.Errorf("tile lacks %s: %s", want, polled)
		}
	}
	if open := openTitles(t, a, "am", alerts.ReceiverAlertmanager); len(open) != 4 {
		t.Errorf("each feed must hold both alerts: %v", open)
	}
}
