package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/store/storetest"
)

type hookEnv struct {
	srv    *httptest.Server
	st     *store.Store
	stored atomic.Int32
}

func newHookEnv(t *testing.T, h *AlertHooks) *hookEnv {
	t.Helper()
	st := storetest.SQLite(t)
	e := &hookEnv{st: st}
	h.Alerts, h.Log = countingAlerts{st, &e.stored}, slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/alertmanager", h.alertmanager())
	mux.Handle("POST /hooks/cloudmonitoring", h.cloudMonitoring())
	mux.Handle("POST /api/v1/events/alerts", h.events())
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// countingAlerts stores deliveries and counts those that were not
// duplicates (each would update the board).
type countingAlerts struct {
	st     *store.Store
	stored *atomic.Int32
}

func (c countingAlerts) RecordAlertDelivery(ctx context.Context, receiver, delivery string, keyed bool, list []board.Alert, now time.Time) (bool, error) {
	dup, err := c.st.RecordAlertDelivery(ctx, receiver, delivery, keyed, list, now)
	if err == nil && !dup {
		c.stored.Add(1)
	}
	return dup, err
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *hookEnv) post(t *testing.T, path string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *hookEnv) counts(t *testing.T) (int, int) {
	t.Helper()
	a, tr, err := e.st.CountAlerts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return a, tr
}

func TestCloudMonitoringWebhook(t *testing.T) {
	e := newHookEnv(t, &AlertHooks{CloudMonitoringAuth: Credentials{Token: "s3cret", Username: "gcm", Password: "pw"}})
	open, closed := fixture(t, "cloudmonitoring/open.json"), fixture(t, "cloudmonitoring/closed.json")

	// Refused requests store nothing.
	refused := []struct {
		name string
		path string
		body []byte
		hdr  map[string]string
		code int
	}{
		{"wrong token", "/hooks/cloudmonitoring?token=nope", open, nil, 401},
		{"no token", "/hooks/cloudmonitoring", open, nil, 401},
		{"wrong basic auth", "/hooks/cloudmonitoring", open, map[string]string{"Authorization": basic("gcm", "wrong")}, 401},
		{"malformed JSON", "/hooks/cloudmonitoring?token=s3cret", []byte(`{"incident": {"incident_id": "x", `), nil, 400},
		{"no incident", "/hooks/cloudmonitoring?token=s3cret", []byte(`{"version": "1.2"}`), nil, 400},
		{"bad state", "/hooks/cloudmonitoring?token=s3cret", bytes.Replace(open, []byte(`"state": "open"`), []byte(`"state": "acked"`), 1), nil, 400},
		{"oversized", "/hooks/cloudmonitoring?token=s3cret", append(append([]byte(`{"incident":{"summary":"`), bytes.Repeat([]byte("x"), maxWebhookBody)...), []byte(`"}}`)...), nil, 413},
	}
	for _, c := range refused {
		code, body := e.post(t, c.path, c.body, c.hdr)
		if code != c.code {
			t.Errorf("%s: HTTP %d (%s), want %d", c.name, code, strings.TrimSpace(body), c.code)
		}
		if a, tr := e.counts(t); a != 0 || tr != 0 {
			t.Fatalf("%s: stored %d alerts, %d transitions; want nothing", c.name, a, tr)
		}
	}

	// Close before open: the close is kept; the late open does not reopen it.
	if code, body := e.post(t, "/hooks/cloudmonitoring?token=s3cret", closed, nil); code != 200 {
		t.Fatalf("closed: HTTP %d %s", code, body)
	}
	if code, body := e.post(t, "/hooks/cloudmonitoring", open, map[string]string{"Authorization": basic("gcm", "pw")}); code != 200 {
		t.Fatalf("open (basic auth): HTTP %d %s", code, body)
	}
	a, ok, err := e.st.Alert(context.Background(), alerts.ReceiverCloudMonitoring, "projects/shop-prod/alerts/0.nqz7x3j2ab1c")
	if err != nil || !ok {
		t.Fatalf("alert not stored: %v", err)
	}
	if a.State != board.AlertClosed {
		t.Fatalf("state after close-then-open = %s, want closed", a.State)
	}
	if a.Title != "Checkout latency p99 above 500 ms" || a.Severity != board.SeverityCritical ||
		a.RunbookURL != "https://runbooks.example.com/checkout-latency" ||
		a.Resource != "cloud_run_revision configuration_name=checkout location=europe-west1 revision_name=checkout-00042-xyz service_name=checkout" ||
		!strings.HasPrefix(a.NextAction, "Checkout is slow") || !strings.Contains(a.ConsoleURL, "0.nqz7x3j2ab1c") {
		t.Errorf("mapped alert = %+v", a.Alert)
	}
	if want := time.Unix(1764061200, 0); !a.StartedAt.Equal(want) {
		t.Errorf("started_at = %v, want %v", a.StartedAt, want)
	}
	if want := time.Unix(1764063000, 0); !a.EndedAt.Equal(want) {
		t.Errorf("ended_at = %v, want %v", a.EndedAt, want)
	}

	// Duplicates: acknowledged, not applied twice.
	_, before := e.counts(t)
	stored := e.stored.Load()
	code, body := e.post(t, "/hooks/cloudmonitoring?token=s3cret", open, nil)
	if code != 200 || !strings.Contains(body, `"duplicate":true`) {
		t.Fatalf("duplicate: HTTP %d %s", code, body)
	}
	if _, after := e.counts(t); after != before {
		t.Errorf("duplicate added transitions: %d -> %d", before, after)
	}
	if e.stored.Load() != stored {
		t.Error("duplicate delivery announced as new")
	}
}

func TestCloudMonitoringOpenThenClose(t *testing.T) {
	e := newHookEnv(t, &AlertHooks{CloudMonitoringAuth: Credentials{Token: "s3cret"}})
	if code, body := e.post(t, "/hooks/cloudmonitoring?token=s3cret", fixture(t, "cloudmonitoring/open.json"), nil); code != 200 {
		t.Fatalf("open: HTTP %d %s", code, body)
	}
	open, err := e.st.OpenAlerts(context.Background(), []string{alerts.ReceiverCloudMonitoring})
	if err != nil || len(open) != 1 {
		t.Fatalf("open alerts = %v, %v", open, err)
	}
	if e.stored.Load() != 1 {
		t.Errorf("Stored called %d times, want 1", e.stored.Load())
	}
	if code, body := e.post(t, "/hooks/cloudmonitoring?token=s3cret", fixture(t, "cloudmonitoring/closed.json"), nil); code != 200 {
		t.Fatalf("closed: HTTP %d %s", code, body)
	}
	open, _ = e.st.OpenAlerts(context.Background(), []string{alerts.ReceiverCloudMonitoring})
	if len(open) != 0 {
		t.Fatalf("still open after close: %+v", open)
	}
}

func basic(u, p string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(u, p)
	return r.Header.Get("Authorization")
}

func TestReceiversOffWithoutSecret(t *testing.T) {
	e := newHookEnv(t, &AlertHooks{})
	for _, p := range []string{"/hooks/alertmanager", "/hooks/cloudmonitoring?token=x", "/api/v1/events/alerts"} {
		if code, _ := e.post(t, p, []byte(`{}`), map[string]string{"Authorization": "Bearer x"}); code != 404 {
			t.Errorf("%s without a secret: HTTP %d, want 404", p, code)
		}
	}
}

func TestAlertmanagerWebhook(t *testing.T) {
	e := newHookEnv(t, &AlertHooks{AlertmanagerToken: "amtok"})
	firing := fixture(t, "alertmanager/firing.json")
	if code, _ := e.post(t, "/hooks/alertmanager", firing, map[string]string{"Authorization": "Bearer wrong"}); code != 401 {
		t.Fatalf("wrong bearer: HTTP %d", code)
	}
	if a, _ := e.counts(t); a != 0 {
		t.Fatal("stored with a wrong token")
	}
	if code, body := e.post(t, "/hooks/alertmanager", firing, map[string]string{"Authorization": "Bearer amtok"}); code != 200 {
		t.Fatalf("firing: HTTP %d %s", code, body)
	}
	open, err := e.st.OpenAlerts(context.Background(), []string{alerts.ReceiverAlertmanager})
	if err != nil || len(open) != 2 {
		t.Fatalf("open = %+v, %v", open, err)
	}
	top := open[0]
	if top.ID != "c0ffee1234567890" || top.Severity != board.SeverityCritical || top.Title != "HighErrorRate" ||
		top.Summary != "5xx ratio above 5 % on api" || !strings.HasPrefix(top.NextAction, "Roll back") ||
		top.RunbookURL != "https://runbooks.example.com/high-error-rate" || top.Resource != "api" {
		t.Errorf("critical alert = %+v", top.Alert)
	}
	if code, body := e.post(t, "/hooks/alertmanager", fixture(t, "alertmanager/resolved.json"), map[string]string{"Authorization": "Bearer amtok"}); code != 200 {
		t.Fatalf("resolved: HTTP %d %s", code, body)
	}
	open, _ = e.st.OpenAlerts(context.Background(), []string{alerts.ReceiverAlertmanager})
	if len(open) != 1 || open[0].ID != "d15cf1111a1b2c3d" {
		t.Fatalf("after resolve: %+v", open)
	}
	if code, _ := e.post(t, "/hooks/alertmanager", []byte(`{"version":"4","alerts":[{"status":"maybe"}]}`), map[string]string{"Authorization": "Bearer amtok"}); code != 400 {
		t.Errorf("bad status: HTTP %d, want 400", code)
	}
}

func TestAlertEventsWebhook(t *testing.T) {
	e := newHookEnv(t, &AlertHooks{EventsToken: "evtok"})
	body := []byte(`{"id":"db-primary","title":"Primary database down","severity":"critical","started_at":"2026-11-25T10:00:00Z",
		"resource":"db-1","next_action":"Fail over to db-2: make failover","runbook_url":"https://runbooks.example.com/db"}`)
	hdr := map[string]string{"Authorization": "Bearer evtok", "Idempotency-Key": "evt-1"}
	if code, b := e.post(t, "/api/v1/events/alerts", body, hdr); code != 200 {
		t.Fatalf("HTTP %d %s", code, b)
	}
	// Same delivery id, different body: a redelivery, not applied.
	if code, b := e.post(t, "/api/v1/events/alerts", []byte(`{"id":"db-primary","state":"closed"}`), hdr); code != 200 || !strings.Contains(b, `"duplicate":true`) {
		t.Fatalf("redelivery: HTTP %d %s", code, b)
	}
	open, _ := e.st.OpenAlerts(context.Background(), []string{alerts.ReceiverEvents})
	if len(open) != 1 || open[0].NextAction != "Fail over to db-2: make failover" {
		t.Fatalf("open = %+v", open)
	}
	hdr["Idempotency-Key"] = "evt-2"
	if code, b := e.post(t, "/api/v1/events/alerts", []byte(`{"id":"db-primary","state":"closed","ended_at":"2026-11-25T10:20:00Z"}`), hdr); code != 200 {
		t.Fatalf("close: HTTP %d %s", code, b)
	}
	a, _, _ := e.st.Alert(context.Background(), alerts.ReceiverEvents, "db-primary")
	if a.State != board.AlertClosed || a.Severity != board.SeverityCritical {
		t.Fatalf("after close: %+v", a)
	}
	if code, _ := e.post(t, "/api/v1/events/alerts", []byte(`{"title":"no id"}`), hdr); code != 400 {
		t.Errorf("missing id: HTTP %d, want 400", code)
	}
}

// TestKeylessRepeatCloseClosesTheNextOccurrence: a sender without delivery ids
// closes an alert with the same body every time. A retry within minutes is a
// duplicate, but the next occurrence of the alert, an hour later, must close
// with that same body too (it used to count as a duplicate for ever).
func TestKeylessRepeatCloseClosesTheNextOccurrence(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	h := &AlertHooks{EventsToken: "evtok", now: func() time.Time { return now }}
	e := newHookEnv(t, h)
	hdr := map[string]string{"Authorization": "Bearer evtok"}
	open := func(started string) {
		t.Helper()
		body := `{"id":"db-primary","title":"Primary database down","severity":"critical","started_at":"` + started + `"}`
		if code, b := e.post(t, "/api/v1/events/alerts", []byte(body), hdr); code != 200 {
			t.Fatalf("open: HTTP %d %s", code, b)
		}
	}
	closeBody := []byte(`{"id":"db-primary","state":"closed"}`)
	state := func() board.AlertState {
		a, _, _ := e.st.Alert(context.Background(), alerts.ReceiverEvents, "db-primary")
		return a.State
	}

	open("2026-11-25T09:58:00Z")
	if code, b := e.post(t, "/api/v1/events/alerts", closeBody, hdr); code != 200 || state() != board.AlertClosed {
		t.Fatalf("first close: HTTP %d %s, state %s", code, b, state())
	}
	now = now.Add(2 * time.Minute)
	if _, b := e.post(t, "/api/v1/events/alerts", closeBody, hdr); !strings.Contains(b, `"duplicate":true`) {
		t.Errorf("a retry two minutes later should be a duplicate: %s", b)
	}

	now = now.Add(time.Hour)
	open("2026-11-25T11:00:00Z")
	if state() != board.AlertOpen {
		t.Fatalf("second occurrence not open: %s", state())
	}
	if code, b := e.post(t, "/api/v1/events/alerts", closeBody, hdr); code != 200 {
		t.Fatalf("second close: HTTP %d %s", code, b)
	}
	if state() != board.AlertClosed {
		t.Fatal("the same close body did not close the next occurrence: the alert would take over the wall for ever")
	}
}
