package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	ghsrc "github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/store/storetest"
)

// failingStore refuses every write, as a full or read-only disk does.
type failingStore struct{}

var errDiskFull = errors.New("store: disk full")

func (failingStore) RecordGitHubDelivery(context.Context, string, string, store.GitHubEvent, time.Time) (int, bool, error) {
	return 0, false, errDiskFull
}
func (failingStore) RecordDeploymentEvent(context.Context, string, fourkeys.Deployment, []fourkeys.Change) error {
	return errDiskFull
}
func (failingStore) RecordIncidentEvent(context.Context, string, fourkeys.Incident) error {
	return errDiskFull
}
func (failingStore) RecordAlertDelivery(context.Context, string, string, bool, []board.Alert, time.Time) (bool, error) {
	return false, errDiskFull
}
func (failingStore) RecordPingDelivery(context.Context, string, string, string, time.Time) (bool, error) {
	return false, errDiskFull
}

// webhookStore is what every receiver together needs of the store.
type webhookStore interface {
	ghsrc.Deliveries
	EventsStore
	AlertDeliveries
	pingStore
}

// receiversBehindGuard serves every receiver through the server's route
// table, as the app does, on a real HTTP server; st is their store.
func receiversBehindGuard(t *testing.T, st webhookStore) string {
	t.Helper()
	ah := &AlertHooks{Alerts: st, Log: quietLog(), AlertmanagerToken: "am-token",
		CloudMonitoringAuth: Credentials{Token: "cm-token"}, EventsToken: "ev-token"}
	srv := httptest.NewServer(serveReceivers(Receivers{
		Alerts: ah,
		Events: NewEventsHandler("ev-token", st, quietLog()),
		GitHub: NewGitHubHandler("gh-secret", ghsrc.NewReceiver(st, nil), quietLog()),
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// serveReceivers is a server with no boards and the given receivers.
func serveReceivers(rc Receivers) http.Handler {
	return NewServer(board.NewLive(&board.Config{}, nil), NewHub(), NewMetrics(), quietLog(), Options{Receivers: rc}).Handler()
}

type hook struct {
	name, path string
	header     map[string]string
	body       string
}

// validHooks is one valid, authenticated delivery to each receiver.
func validHooks(t *testing.T) []hook {
	gh := string(githubFixture(t, "deployment_status.success"))
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	return []hook{
		{"github", "/hooks/github", map[string]string{"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": "d-1",
			"X-Hub-Signature-256": sign("gh-secret", []byte(gh))}, gh},
		{"deployments", "/api/v1/events/deployments", bearer("ev-token"), `{"id":"dep-1","service":"api","finished_at":"2026-11-25T10:00:00Z"}`},
		{"incidents", "/api/v1/events/incidents", bearer("ev-token"), `{"id":"inc-1","service":"api","started_at":"2026-11-25T10:00:00Z"}`},
		{"alerts", "/api/v1/events/alerts", bearer("ev-token"), `{"id":"a-1","title":"Disk full"}`},
		{"alertmanager", "/hooks/alertmanager", bearer("am-token"), `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"},"fingerprint":"f1"}]}`},
		{"cloudmonitoring", "/hooks/cloudmonitoring?token=cm-token", nil, `{"incident":{"incident_id":"i-1","state":"open","policy_name":"P"}}`},
		{"ping", "/api/v1/events/ping", bearer("ev-token"), `{"id":"p-1"}`},
	}
}

func (h hook) send(t *testing.T, base, contentType string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+h.path, strings.NewReader(h.body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range h.header {
		req.Header.Set(k, v)
	}
	if strings.HasPrefix(h.path, "/hooks/github") {
		req.Header.Set("X-Hub-Signature-256", sign("gh-secret", []byte(h.body)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, strings.TrimSpace(string(b))
}

// Issue 14 point 13: every 503 (the store cannot take the delivery) says
// when to retry.
func TestWebhook503HasRetryAfter(t *testing.T) {
	base := receiversBehindGuard(t, failingStore{})
	for _, h := range validHooks(t) {
		code, hdr, body := h.send(t, base, "application/json")
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
			t.Errorf("%s with the store down: %d %q, Retry-After %q; want 503 with Retry-After", h.name, code, body, hdr.Get("Retry-After"))
		}
	}
}

// Issue 14 point 13: JSON receivers take application/json (with any
// charset) or no Content-Type, and refuse others with 415.
func TestWebhookRefusesNonJSON(t *testing.T) {
	base := receiversBehindGuard(t, storetest.SQLite(t))
	for _, h := range validHooks(t) {
		for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/jsonx"} {
			if code, _, body := h.send(t, base, ct); code != http.StatusUnsupportedMediaType || !strings.Contains(body, "application/json") {
				t.Errorf("%s with Content-Type %q: %d %q, want 415 naming application/json", h.name, ct, code, body)
			}
		}
		// The same delivery again is a redelivery: also 2xx.
		for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8", ""} {
			if code, _, body := h.send(t, base, ct); code/100 != 2 {
				t.Errorf("%s with Content-Type %q: %d %q, want 2xx", h.name, ct, code, body)
			}
		}
	}
}

// Issue 14 point 13: /api/v1/events/alerts refuses unknown fields, as the
// docs say (a typo must not silently drop what was meant).
func TestEventAlertsRefuseUnknownFields(t *testing.T) {
	base := receiversBehindGuard(t, storetest.SQLite(t))
	auth := map[string]string{"Authorization": "Bearer ev-token"}
	for _, body := range []string{
		`{"id":"a-1","title":"Disk full","severity":"critical","runbook":"https://x"}`,
		`[{"id":"a-1","title":"Disk full"},{"id":"a-2","title":"CPU","sevrity":"critical"}]`,
	} {
		code, _, msg := hook{"alerts", "/api/v1/events/alerts", auth, body}.send(t, base, "application/json")
		if code != http.StatusBadRequest || !strings.Contains(msg, "unknown field") {
			t.Errorf("%s: %d %q, want 400 naming the unknown field", body, code, msg)
		}
	}
}

// Issue 14 point 13: ids have a length limit; the 400 names the field.
func TestWebhookIDLengthLimits(t *testing.T) {
	st := storetest.SQLite(t)
	base := receiversBehindGuard(t, st)
	long := strings.Repeat("x", maxIDBytes+1)
	ok := strings.Repeat("x", maxIDBytes)
	ev := map[string]string{"Authorization": "Bearer ev-token"}
	gh := string(githubFixture(t, "deployment_status.success"))
	for _, tc := range []struct {
		h     hook
		field string
	}{
		{hook{"deployments", "/api/v1/events/deployments", ev, `{"id":"` + long + `","service":"api","finished_at":"2026-11-25T10:00:00Z"}`}, "id"},
		{hook{"deployments", "/api/v1/events/deployments", ev, `{"id":"d","service":"` + long + `","finished_at":"2026-11-25T10:00:00Z"}`}, "service"},
		{hook{"deployments", "/api/v1/events/deployments", ev, `{"id":"d","service":"api","sha":"` + long + `","finished_at":"2026-11-25T10:00:00Z"}`}, "sha"},
		{hook{"deployments", "/api/v1/events/deployments", ev, `{"id":"d","service":"api","finished_at":"2026-11-25T10:00:00Z","changes":[{"sha":"` + long + `","authored_at":"2026-11-25T09:00:00Z"}]}`}, "changes[0].sha"},
		{hook{"incidents", "/api/v1/events/incidents", ev, `{"id":"` + long + `","started_at":"2026-11-25T10:00:00Z"}`}, "id"},
		{hook{"incidents", "/api/v1/events/incidents", ev, `{"id":"i","service":"` + long + `","started_at":"2026-11-25T10:00:00Z"}`}, "service"},
		{hook{"incidents", "/api/v1/events/incidents", ev, `{"id":"i","deployment":"` + long + `","started_at":"2026-11-25T10:00:00Z"}`}, "deployment"},
		{hook{"alerts", "/api/v1/events/alerts", ev, `{"id":"` + long + `","title":"T"}`}, "id"},
		{hook{"alerts", "/api/v1/events/alerts", map[string]string{"Authorization": "Bearer ev-token", "Idempotency-Key": long}, `{"id":"a","title":"T"}`}, "Idempotency-Key"},
		{hook{"alertmanager", "/hooks/alertmanager", map[string]string{"Authorization": "Bearer am-token"}, `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"},"fingerprint":"` + long + `"}]}`}, "fingerprint"},
		{hook{"cloudmonitoring", "/hooks/cloudmonitoring?token=cm-token", nil, `{"incident":{"incident_id":"` + long + `","state":"open","policy_name":"P"}}`}, "incident_id"},
		{hook{"github", "/hooks/github", map[string]string{"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": long}, gh}, "X-GitHub-Delivery"},
	} {
		code, _, msg := tc.h.send(t, base, "application/json")
		if code != http.StatusBadRequest || !strings.Contains(msg, tc.field) || !strings.Contains(msg, "256 bytes") {
			t.Errorf("%s with a %d-byte %s: %d %q, want 400 naming %s and the limit", tc.h.name, len(long), tc.field, code, msg, tc.field)
		}
	}
	var n int
	if err := st.DB.QueryRow(`SELECT (SELECT count(*) FROM deployments) + (SELECT count(*) FROM incidents) + (SELECT count(*) FROM alerts)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows stored from refused deliveries: %d (%v)", n, err)
	}
	// At the limit is accepted.
	code, _, msg := hook{"deployments", "/api/v1/events/deployments", ev, `{"id":"` + ok + `","service":"` + ok + `","finished_at":"2026-11-25T10:00:00Z"}`}.send(t, base, "")
	if code != http.StatusOK {
		t.Errorf("ids of exactly %d bytes: %d %q, want 200", maxIDBytes, code, msg)
	}
}
