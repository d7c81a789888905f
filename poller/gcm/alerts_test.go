package gcm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// alertsAPI is an httptest stand-in for projects.alerts.list.
type alertsAPI struct {
	mu      sync.Mutex
	pages   []string // JSON bodies, served in order by page token "", "1", "2"...
	status  []int    // status codes to answer before serving pages
	queries []string
}

func (a *alertsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.Method != http.MethodGet || r.URL.Path != "/v3/projects/proj/alerts" {
		http.Error(w, `{"error":{"code":404,"message":"not found"}}`, http.StatusNotFound)
		return
	}
	a.queries = append(a.queries, r.URL.RawQuery)
	if len(a.status) > 0 {
		code := a.status[0]
		a.status = a.status[1:]
		w.Header().Set("Content-Type", "application/json")
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "17")
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": http.StatusText(code)}})
		return
	}
	i := 0
	if tok := r.URL.Query().Get("pageToken"); tok != "" {
		i = int(tok[0] - '0')
	}
	if i >= len(a.pages) {
		http.Error(w, `{"error":{"code":400,"message":"bad token"}}`, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(a.pages[i]))
}

const alertsPage1 = `{"alerts":[
 {"name":"projects/proj/alerts/0.abc","state":"OPEN","openTime":"2026-11-25T11:50:00Z",
  "policy":{"name":"projects/proj/alertPolicies/111","displayName":"snapshot name","severity":"WARNING"},
  "resource":{"type":"cloud_run_revision","labels":{"project_id":"proj","service_name":"api","location":"europe-west1"}},
  "metric":{"type":"run.googleapis.com/request_count"}},
 {"name":"projects/proj/alerts/0.def","state":"OPEN","openTime":"2026-11-25T11:55:00.5Z",
  "policy":{"name":"projects/proj/alertPolicies/111","displayName":"snapshot name"}}
],"nextPageToken":"1"}`

const alertsPage2 = `{"alerts":[
 {"name":"projects/proj/alerts/0.ghi","state":"OPEN","openTime":"not a time",
  "policy":{"name":"projects/proj/alertPolicies/999","displayName":"Deleted policy","severity":"ERROR"}},
 {"state":"OPEN"}
]}`

func TestOpenAlertsEnrichedWithPolicies(t *testing.T) {
	api := &alertsAPI{pages: []string{alertsPage1, alertsPage2}}
	hs := httptest.NewServer(api)
	defer hs.Close()
	f := &fake{policies: map[string]*monitoringpb.AlertPolicy{
		"projects/proj/alertPolicies/111": {
			Name: "projects/proj/alertPolicies/111", DisplayName: "API 5xx ratio above 2 %",
			Severity: monitoringpb.AlertPolicy_CRITICAL,
			Documentation: &monitoringpb.AlertPolicy_Documentation{
				Content: "Roll back the last deploy: `gcloud run services update-traffic api --to-revisions=LATEST=0`",
				Links: []*monitoringpb.AlertPolicy_Documentation_Link{
					{DisplayName: "Dashboard", Url: "https://console.cloud.google.com/monitoring/dashboards/x"},
					{DisplayName: "Runbook", Url: "https://runbooks.example.com/api-5xx"},
				},
			},
		},
	}}
	s := newTestSource(t, startFake(t, f), hs.URL, 0)
	res, err := s.Fetch(context.Background(), query(map[string]any{"alerts": "open"}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.AlertsComplete || len(res.Alerts) != 3 {
		t.Fatalf("complete=%v, %d alerts: %+v", res.AlertsComplete, len(res.Alerts), res.Alerts)
	}
	if !strings.Contains(api.queries[0], "filter=state%3D%22OPEN%22") || !strings.Contains(api.queries[1], "pageToken=1") {
		t.Errorf("queries = %q", api.queries)
	}
	// Newest first.
	a := res.Alerts[1]
	if a.ID != "projects/proj/alerts/0.abc" || a.Source != "gcp" || a.State != board.AlertOpen ||
		a.Title != "API 5xx ratio above 2 %" || a.Severity != board.SeverityCritical ||
		!strings.HasPrefix(a.NextAction, "Roll back") || a.RunbookURL != "https://runbooks.example.com/api-5xx" ||
		a.Policy != "projects/proj/alertPolicies/111" || !a.StartedAt.Equal(time.Date(2026, 11, 25, 11, 50, 0, 0, time.UTC)) ||
		a.Resource != "cloud_run_revision location=europe-west1 service_name=api" ||
		a.ConsoleURL != "https://console.cloud.google.com/monitoring/alerting/alerts/0.abc?project=proj" {
		t.Errorf("alert = %+v", a)
	}
	if res.Alerts[0].ID != "projects/proj/alerts/0.def" {
		t.Errorf("order: %s first", res.Alerts[0].ID)
	}
	// The policy whose GetAlertPolicy fails keeps its snapshot and says why.
	d := res.Alerts[2]
	if d.Title != "Deleted policy" || d.Severity != board.SeverityError || d.NextAction != "" {
		t.Errorf("alert of a missing policy = %+v", d)
	}
	joined := strings.Join(res.Warnings, "\n")
	if !strings.Contains(joined, "alertPolicies/999") || !strings.Contains(joined, "no name") || !strings.Contains(joined, "not a time") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	// One GetAlertPolicy per policy per poll, however many alerts share it.
	if got := strings.Join(f.policyGets, ","); got != "projects/proj/alertPolicies/111,projects/proj/alertPolicies/999" {
		t.Errorf("policy reads = %s", got)
	}
}

func TestAlertsRetryAndQuota(t *testing.T) {
	api := &alertsAPI{pages: []string{`{"alerts":[]}`}, status: []int{http.StatusServiceUnavailable}}
	hs := httptest.NewServer(api)
	defer hs.Close()
	s := newTestSource(t, startFake(t, &fake{}), hs.URL, 0)
	res, err := s.Fetch(context.Background(), query(map[string]any{"alerts": "open"}))
	if err != nil || !res.AlertsComplete || len(res.Alerts) != 0 || len(api.queries) != 2 {
		t.Fatalf("after a 503: %+v %v (%d requests)", res, err, len(api.queries))
	}
	api.mu.Lock()
	api.status = []int{http.StatusTooManyRequests}
	api.mu.Unlock()
	_, err = s.Fetch(context.Background(), query(map[string]any{"alerts": "open"}))
	var ra poller.RetryAfterError
	if !errors.As(err, &ra) || ra.RetryAfter() != 17*time.Second {
		t.Fatalf("429: err = %v, want RetryAfter 17s", err)
	}
	api.mu.Lock()
	api.status = []int{http.StatusForbidden}
	api.mu.Unlock()
	_, err = s.Fetch(context.Background(), query(map[string]any{"alerts": "open"}))
	if err == nil || errors.As(err, &ra) || !strings.Contains(err.Error(), "list open alerts") {
		t.Fatalf("403: err = %v", err)
	}
}

func TestMalformedAlertsResponse(t *testing.T) {
	api := &alertsAPI{pages: []string{`{"alerts": [`}}
	hs := httptest.NewServer(api)
	defer hs.Close()
	s := newTestSource(t, startFake(t, &fake{}), hs.URL, 0)
	_, err := s.Fetch(context.Background(), query(map[string]any{"alerts": "open"}))
	if err == nil || !strings.Contains(err.Error(), "gcm: list open alerts") {
		t.Fatalf("err = %v", err)
	}
}

func TestUndocumentedPolicies(t *testing.T) {
	f := &fake{policies: map[string]*monitoringpb.AlertPolicy{
		"a": {Name: "projects/proj/alertPolicies/1", DisplayName: "CPU high", Enabled: wrapperspb.Bool(true)},
		"b": {Name: "projects/proj/alertPolicies/2", DisplayName: "Documented", Enabled: wrapperspb.Bool(true),
			Documentation: &monitoringpb.AlertPolicy_Documentation{Content: "Scale the pool."}},
		"c": {Name: "projects/proj/alertPolicies/3", DisplayName: "Only a runbook", Enabled: wrapperspb.Bool(true),
			Documentation: &monitoringpb.AlertPolicy_Documentation{Links: []*monitoringpb.AlertPolicy_Documentation_Link{{DisplayName: "Runbook", Url: "https://rb.example.com/x"}}}},
		"d": {Name: "projects/proj/alertPolicies/4", DisplayName: "Disabled", Enabled: wrapperspb.Bool(false)},
		"e": {Name: "projects/proj/alertPolicies/5", DisplayName: "Bad link only", Enabled: wrapperspb.Bool(true),
			Documentation: &monitoringpb.AlertPolicy_Documentation{Content: "  ", Links: []*monitoringpb.AlertPolicy_Documentation_Link{{Url: "javascript:alert(1)"}}}},
	}}
	s := newTestSource(t, startFake(t, f), "", 0)
	res, err := s.Fetch(context.Background(), query(map[string]any{"policies": "undocumented"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].Label != "Bad link only" || res.Rows[1].Label != "CPU high" ||
		res.Rows[1].Text != "no next action" || res.Rows[1].Status != board.StatusWarn ||
		res.Rows[1].URL != "https://console.cloud.google.com/monitoring/alerting/policies/1?project=proj" {
		t.Fatalf("rows = %+v", res.Rows)
	}
	if res.Value == nil || *res.Value != 2 {
		t.Errorf("value = %v, want 2", res.Value)
	}
}

// Issue 12 point 9: a poll of open alerts (which webhook deliveries ask for)
// reads each policy once per policyTTL, not once per poll, so refreshes
// cost one list call and leave the request budget to the metric polls. A
// policy that could not be read is tried again next poll.
func TestPoliciesCachedAcrossPolls(t *testing.T) {
	api := &alertsAPI{pages: []string{alertsPage1, alertsPage2}}
	hs := httptest.NewServer(api)
	defer hs.Close()
	f := &fake{policies: map[string]*monitoringpb.AlertPolicy{
		"projects/proj/alertPolicies/111": {Name: "projects/proj/alertPolicies/111", DisplayName: "API 5xx"},
	}}
	s := newTestSource(t, startFake(t, f), hs.URL, 0)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	for range 3 {
		if _, err := s.Fetch(context.Background(), query(map[string]any{"alerts": "open"})); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	got := strings.Join(f.policyGets, ",")
	f.mu.Unlock()
	if want := "projects/proj/alertPolicies/111,projects/proj/alertPolicies/999,projects/proj/alertPolicies/999,projects/proj/alertPolicies/999"; got != want {
		t.Errorf("policy reads over 3 polls = %s\nwant %s", got, want)
	}
	now = now.Add(policyTTL + time.Second)
	if _, err := s.Fetch(context.Background(), query(map[string]any{"alerts": "open"})); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	n := len(f.policyGets)
	f.mu.Unlock()
	if n != 6 {
		t.Errorf("%d policy reads after the cache expired, want 6 (111 read again)", n)
	}
}
