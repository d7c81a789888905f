package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/web"
)

// cmFake is Cloud Monitoring in process, reached through the real clients:
// the metric and alert policy services over gRPC and projects.alerts.list
// over REST. Each metric type answers as its behaviour says; every call is
// recorded with the request's end time (the same for every retry of one
// poll, so calls per poll can be counted).
type cmFake struct {
	monitoringpb.UnimplementedMetricServiceServer
	monitoringpb.UnimplementedAlertPolicyServiceServer

	mu       sync.Mutex
	calls    map[string][]time.Time // metric type -> request end time of each call
	alerts   []map[string]any       // open alerts (REST JSON)
	alertGet int                    // alerts.list calls
	policies map[string]*monitoringpb.AlertPolicy
}

var metricType = regexp.MustCompile(`metric\.type\s*=\s*"([^"]+)"`)

func (f *cmFake) ListTimeSeries(_ context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	m := metricType.FindStringSubmatch(req.GetFilter())
	if m == nil {
		return nil, status.Error(codes.InvalidArgument, "no metric.type")
	}
	end := req.GetInterval().GetEndTime().AsTime()
	f.mu.Lock()
	f.calls[m[1]] = append(f.calls[m[1]], end)
	f.mu.Unlock()
	point := func(age time.Duration, v float64) *monitoringpb.Point {
		t := time.Now().Add(-age).Truncate(time.Second)
		return &monitoringpb.Point{Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(t.Add(-time.Minute)), EndTime: timestamppb.New(t)},
			Value: &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: v}}}
	}
	one := func(labels map[string]string, pts ...*monitoringpb.Point) *monitoringpb.TimeSeries {
		return &monitoringpb.TimeSeries{Metric: &metric.Metric{Type: m[1]},
			Resource: &monitoredres.MonitoredResource{Type: "cloud_run_revision", Labels: labels}, Points: pts}
	}
	switch m[1] {
	case "custom.googleapis.com/lagged": // ingestion 150 s behind
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: []*monitoringpb.TimeSeries{one(nil, point(150*time.Second, 7), point(210*time.Second, 6))}}, nil
	case "custom.googleapis.com/per_revision": // three series, no reducer
		var ts []*monitoringpb.TimeSeries
		for _, r := range []string{"api-001", "api-002", "api-003"} {
			ts = append(ts, one(map[string]string{"revision_name": r}, point(time.Minute, 1)))
		}
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: ts}, nil
	case "custom.googleapis.com/down":
		return nil, status.Error(codes.Unavailable, "the service is currently unavailable")
	}
	return &monitoringpb.ListTimeSeriesResponse{TimeSeries: []*monitoringpb.TimeSeries{one(nil, point(time.Minute, 42))}}, nil
}

func (f *cmFake) GetAlertPolicy(_ context.Context, req *monitoringpb.GetAlertPolicyRequest) (*monitoringpb.AlertPolicy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.policies[req.GetName()]; ok {
		return p, nil
	}
	return nil, status.Errorf(codes.NotFound, "policy %s not found", req.GetName())
}

func (f *cmFake) ListAlertPolicies(context.Context, *monitoringpb.ListAlertPoliciesRequest) (*monitoringpb.ListAlertPoliciesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*monitoringpb.AlertPolicy
	for _, p := range f.policies {
		out = append(out, p)
	}
	return &monitoringpb.ListAlertPoliciesResponse{AlertPolicies: out}, nil
}

// ServeHTTP is projects.alerts.list.
func (f *cmFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alertGet++
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"alerts": f.alerts})
}

// metricCalls counts the calls for a metric type, and the most calls any one
// poll of it made.
func (f *cmFake) metricCalls(typ string) (calls, perPoll int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	polls := map[time.Time]int{}
	for _, e := range f.calls[typ] {
		polls[e]++
		perPoll = max(perPoll, polls[e])
	}
	return len(f.calls[typ]), perPoll
}

func (f *cmFake) allMetricCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += len(c)
	}
	return n
}

// startCMFake serves f and returns the gRPC address and the REST base URL.
func startCMFake(t *testing.T, f *cmFake) (string, string) {
	t.Helper()
	if f.calls == nil {
		f.calls = map[string][]time.Time{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	monitoringpb.RegisterMetricServiceServer(srv, f)
	monitoringpb.RegisterAlertPolicyServiceServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	rest := httptest.NewServer(f)
	t.Cleanup(rest.Close)
	return ln.Addr().String(), rest.URL + "/"
}

func boardTiles(t *testing.T, a *app.App, board string) map[string]web.APITile {
	t.Helper()
	resp, err := http.Get("http://" + a.Addr() + "/api/v1/boards/" + board)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Tiles []web.APITile `json:"tiles"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[string]web.APITile{}
	for _, tl := range body.Tiles {
		out[tl.ID] = tl
	}
	return out
}

const fieldConfig = `
sources:
  - id: gcp
    kind: gcm
    project: proj
    endpoint: %s
    insecure: true
boards:
  - id: field
    title: Field
    tiles:
      - {id: lagged, kind: stat, title: Lagged, source: gcp, interval: 2s, query: {filter: 'metric.type = "custom.googleapis.com/lagged"'}}
      - {id: lagged-strict, kind: stat, title: Lagged strict, source: gcp, interval: 2s, freshness: 60s, query: {filter: 'metric.type = "custom.googleapis.com/lagged"', lookback: 6m}}
      - {id: several, kind: stat, title: Several, source: gcp, interval: 2s, query: {filter: 'metric.type = "custom.googleapis.com/per_revision"'}}
      - {id: down, kind: stat, title: Down, source: gcp, interval: 10s, query: {filter: 'metric.type = "custom.googleapis.com/down"'}}
`

// Issue 12 points 10, 11 and 12 through the whole app and the real clients:
// UNAVAILABLE is tried a bounded number of times and named on the tile; age
// and staleness are those of the newest point; a stat tile given several
// series says so with status unknown.
func TestGCMFieldTiles(t *testing.T) {
	f := &cmFake{}
	addr, _ := startCMFake(t, f)
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(fieldConfig, addr))})

	var tiles map[string]web.APITile
	apptest.Eventually(t, 30*time.Second, "every tile polled", func() (bool, string) {
		tiles = boardTiles(t, a, "field")
		for _, id := range []string{"lagged", "lagged-strict", "several", "down"} {
			if tiles[id].UpdatedAt == nil && tiles[id].Error == "" {
				return false, id + " not polled"
			}
		}
		return true, ""
	})

	// 11: 150 s of ingestion lag is 150 s of age, not the time since the fetch.
	lag := tiles["lagged"]
	strict := tiles["lagged-strict"]
	if lag.Value == nil || float64(*lag.Value) != 7 || lag.At == nil || lag.AgeSeconds == nil || strict.At == nil {
		t.Errorf("lagged tiles: want value 7 with at and age_seconds: %+v, %+v", lag, strict)
	} else {
		if d := time.Since(*lag.At); d < 150*time.Second || d > 170*time.Second {
			t.Errorf("lagged tile: at %s is %s ago, want the newest point's time, 150 s ago", lag.At, d)
		}
		if *lag.AgeSeconds < 150 {
			t.Errorf("lagged tile: age %.0f s, want at least 150 s (the data's age)", *lag.AgeSeconds)
		}
		if lag.Stale {
			t.Errorf("lagged tile: stale within its default freshness, which allows for Cloud Monitoring's ingestion delay")
		}
		if !strict.Stale {
			t.Errorf("lagged tile with freshness 60s: not stale, want stale (its data is 150 s old)")
		}
		page := getHTML(t, a, "field")
		sec := regexp.MustCompile(`(?s)<section[^>]*id="[^"]*lagged-strict[^"]*".*?</section>`).FindString(page)
		if !strings.Contains(sec, "stale · 2 m old") {
			t.Errorf("lagged tile page: want \"stale · 2 m old\" in\n%s", sec)
		}
		if want := fmt.Sprintf(`data-updated="%d"`, strict.At.UnixMilli()); !strings.Contains(sec, want) {
			t.Errorf("lagged tile page: want %s (the data's time, for the page's own age count) in\n%s", want, sec)
		}
	}

	// 12: several series on a stat tile: said, status unknown.
	sev := tiles["several"]
	if sev.Status != board.StatusUnknown || !strings.Contains(strings.Join(sev.Warnings, " "), "3 series") {
		t.Errorf("stat tile given 3 series: status %q warnings %q, want unknown and the series count", sev.Status, sev.Warnings)
	}
	sevHTML := regexp.MustCompile(`(?s)<section[^>]*id="tile-field-several".*?</section>`).FindString(getHTML(t, a, "field"))
	if !strings.Contains(sevHTML, "status-unknown") || !strings.Contains(sevHTML, "the query returns 3 series; a stat tile shows one") {
		t.Errorf("stat tile given 3 series, rendered: want status-unknown and the series count in\n%s", sevHTML)
	}

	// 10: UNAVAILABLE named, a few tries per poll.
	apptest.Eventually(t, 30*time.Second, "down tile failing", func() (bool, string) {
		d := boardTiles(t, a, "field")["down"]
		return d.Error != "", d.Error
	})
	down := boardTiles(t, a, "field")["down"]
	calls, perPoll := f.metricCalls("custom.googleapis.com/down")
	t.Logf("down tile: %q after %d calls, at most %d in one poll", down.Error, calls, perPoll)
	if !strings.Contains(down.Error, "UNAVAILABLE") || strings.Contains(down.Error, "no answer within") {
		t.Errorf("down tile error %q, want the cause (UNAVAILABLE), not a timeout", down.Error)
	}
	if perPoll > 3 {
		t.Errorf("%d calls in one poll, want at most 3", perPoll)
	}
}

const burstConfig = `
sources:
  - id: gcp
    kind: gcm
    project: proj
    endpoint: %s
    insecure: true
    alerts_endpoint: %s
    requests_per_minute: 60   # a burst of 6
webhooks:
  cloudmonitoring:
    secret: {file: %s}
boards:
  - id: sys
    title: System
    tiles:
      - {id: rps, kind: stat, title: Requests, source: gcp, interval: 1m, query: {preset: cloudrun_request_rate, service: api}}
      - {id: p99, kind: stat, title: p99, source: gcp, interval: 1m, query: {preset: cloudrun_latency_p99, service: api}}
      - {id: cpu, kind: stat, title: CPU, source: gcp, interval: 1m, query: {preset: cloudsql_cpu, instance: "proj:db"}}
      - {id: alerts, kind: alerts, title: Alerts, source: gcp, interval: 1m, query: {alerts: open}, sources: [cloudmonitoring]}
`

// cmIncident is a Cloud Monitoring webhook delivery (schema 1.2).
func cmIncident(id, policy string, started time.Time) string {
	return fmt.Sprintf(`{"version":"1.2","incident":{"incident_id":%q,"scoping_project_id":"proj","state":"open",
 "started_at":%d,"ended_at":null,"policy_name":%q,"condition_name":"c","severity":"Warning","summary":"s",
 "url":"https://console.cloud.google.com/monitoring/alerting/incidents/%s",
 "resource":{"type":"cloud_run_revision","labels":{"project_id":"proj","service_name":"api"}},
 "documentation":{"content":"Look at it.","mime_type":"text/markdown"}}}`, id, started.Unix(), policy, id)
}

// Issue 12 point 9: a burst of Cloud Monitoring deliveries refreshes the
// alert tile they concern and nothing else: the metric queries of the same
// source are not polled again, keep their budget and stay ok, and the newest
// incident reaches the alert tile.
func TestGCMWebhookBurstSparesMetrics(t *testing.T) {
	f := &cmFake{}
	addr, rest := startCMFake(t, f)
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(burstConfig, addr, rest, writeSecret(t, "cm-token")))})
	apptest.Eventually(t, 20*time.Second, "first polls", func() (bool, string) {
		tiles := boardTiles(t, a, "sys")
		for _, id := range []string{"rps", "p99", "cpu", "alerts"} {
			if tiles[id].UpdatedAt == nil {
				return false, id + " not polled"
			}
		}
		return true, ""
	})
	metricsBefore := f.allMetricCalls()
	const deliveries = 30
	start := time.Now()
	for i := range deliveries {
		body := cmIncident(fmt.Sprintf("0.burst%02d", i), fmt.Sprintf("Policy %02d", i), start.Add(-time.Duration(deliveries-i)*time.Second))
		resp, err := http.Post("http://"+a.Addr()+"/hooks/cloudmonitoring?token=cm-token", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery %d: %s", i, resp.Status)
		}
	}
	last := fmt.Sprintf("Policy %02d", deliveries-1)
	apptest.Eventually(t, 30*time.Second, "the newest incident on the alert tile", func() (bool, string) {
		al := boardTiles(t, a, "sys")["alerts"]
		for _, r := range al.Rows {
			if r.Label == last {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d rows, error %q", len(al.Rows), al.Error)
	})
	tiles := boardTiles(t, a, "sys")
	f.mu.Lock()
	alertLists := f.alertGet
	f.mu.Unlock()
	t.Logf("%d deliveries: metric calls %d -> %d, alerts.list calls %d", deliveries, metricsBefore, f.allMetricCalls(), alertLists)
	if n := f.allMetricCalls(); n != metricsBefore {
		t.Errorf("metric calls went from %d to %d with %d deliveries, want unchanged (deliveries concern the alert tile only)", metricsBefore, n, deliveries)
	}
	for _, id := range []string{"rps", "p99", "cpu"} {
		if tl := tiles[id]; tl.Status != board.StatusOK || tl.Error != "" || tl.Stale {
			t.Errorf("metric tile %s after the burst: status %s, error %q, stale %t; want ok", id, tl.Status, tl.Error, tl.Stale)
		}
	}
	if alertLists > 1+deliveries/2 {
		t.Errorf("%d alerts.list calls for %d deliveries: refreshes must fold", alertLists, deliveries)
	}
}

const oneHomeConfig = `
sources:
  - id: gcp
    kind: gcm
    project: proj
    endpoint: %s
    insecure: true
    alerts_endpoint: %s
  - id: hooks
    kind: webhooks
webhooks:
  cloudmonitoring:
    secret: {file: %s}
boards:
  - id: pushed
    title: Pushed
    tiles:
      - {id: incidents, kind: alerts, title: Incidents, source: hooks, interval: 1s}
  - id: polled
    title: Polled
    tiles:
      - {id: incidents, kind: alerts, title: Incidents, source: gcp, interval: 1s, query: {alerts: open}}
      - {id: undocumented, kind: list, title: Policies without a next action, source: gcp, interval: 1s, query: {policies: undocumented}}
`

// The documentation of the policies below is markdown, as Cloud Monitoring
// sends it: what the wall shows is its text, never its syntax.
const checkoutDoc = "**Roll back** the `checkout` deploy.\n\n" +
	"1. Open [the dashboard](https://dash.example.com/checkout)\n" +
	"2. Run <b>make rollback</b> _now_"

func cmPolicies() map[string]*monitoringpb.AlertPolicy {
	doc := func(links ...*monitoringpb.AlertPolicy_Documentation_Link) *monitoringpb.AlertPolicy_Documentation {
		return &monitoringpb.AlertPolicy_Documentation{Content: checkoutDoc, MimeType: "text/markdown", Links: links}
	}
	return map[string]*monitoringpb.AlertPolicy{
		"projects/proj/alertPolicies/77": {Name: "projects/proj/alertPolicies/77", DisplayName: "Checkout latency p99",
			Severity: monitoringpb.AlertPolicy_CRITICAL, Documentation: doc(&monitoringpb.AlertPolicy_Documentation_Link{DisplayName: "Runbook", Url: "https://runbooks.example.com/checkout"})},
		// No severity, and a first link that is no web link.
		"projects/proj/alertPolicies/78": {Name: "projects/proj/alertPolicies/78", DisplayName: "Checkout errors",
			Documentation: doc(&monitoringpb.AlertPolicy_Documentation_Link{DisplayName: "Chat", Url: "slack://channel/checkout"},
				&monitoringpb.AlertPolicy_Documentation_Link{DisplayName: "Dashboard", Url: "https://dash.example.com/checkout"})},
		// Enabled, and nothing to do written anywhere.
		"projects/proj/alertPolicies/79": {Name: "projects/proj/alertPolicies/79", DisplayName: "Disk full"},
	}
}

// The same two incidents, as projects.alerts.list shows them and as the
// webhook notification channel sends them.
func cmPolledAlerts(started time.Time) []map[string]any {
	res := map[string]any{"type": "cloud_run_revision", "labels": map[string]string{"project_id": "proj", "service_name": "checkout", "location": "europe-west1"}}
	return []map[string]any{
		{"name": "projects/proj/alerts/0.lat", "state": "OPEN", "openTime": started.Format(time.RFC3339), "resource": res,
			"metric": map[string]any{"type": "run.googleapis.com/request_latencies"},
			"policy": map[string]any{"name": "projects/proj/alertPolicies/77", "displayName": "Checkout latency p99", "severity": "CRITICAL"}},
		{"name": "projects/proj/alerts/0.err", "state": "OPEN", "openTime": started.Add(time.Minute).Format(time.RFC3339), "resource": res,
			"metric": map[string]any{"type": "run.googleapis.com/request_count"},
			"policy": map[string]any{"name": "projects/proj/alertPolicies/78", "displayName": "Checkout errors"}},
	}
}

func cmPushed(id, policy, policyName, severity, metric string, started time.Time, links string) string {
	d, _ := json.Marshal(checkoutDoc)
	return fmt.Sprintf(`{"version":"1.2","incident":{"incident_id":%q,"scoping_project_id":"proj","state":"open",
 "started_at":%d,"ended_at":null,"policy_name":%q,"condition_name":"c","severity":%q,
 "summary":"%s is above the threshold","url":"https://console.cloud.google.com/monitoring/alerting/incidents/%s?project=proj",
 "resource":{"type":"cloud_run_revision","labels":{"project_id":"proj","service_name":"checkout","location":"europe-west1"}},
 "resource_display_name":"checkout","metric":{"type":%q},
 "condition":{"name":"%s/conditions/1"},
 "documentation":{"content":%s,"mime_type":"text/markdown","links":%s}}}`,
		id, started.Unix(), policyName, severity, metric, id, metric, policy, d, links)
}

var alertList = regexp.MustCompile(`(?s)<ul class="alerts[ "].*?</ul>`)

// Issue 13 (one home) and issue 12 point 13: the same Cloud Monitoring
// incident pushed by webhook and polled gives identical tiles (the polled
// mapping wins where they disagreed: severity default, resource text,
// runbook link checks); next actions show the documentation's text, never
// its markdown; a list of undocumented policies is a warning.
func TestGCMIncidentWebhookEqualsPoll(t *testing.T) {
	started := time.Now().Add(-10 * time.Minute).Truncate(time.Second).UTC()
	f := &cmFake{policies: cmPolicies(), alerts: cmPolledAlerts(started)}
	addr, rest := startCMFake(t, f)
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(oneHomeConfig, addr, rest, writeSecret(t, "cm-token")))})
	for _, body := range []string{
		cmPushed("0.lat", "projects/proj/alertPolicies/77", "Checkout latency p99", "Critical", "run.googleapis.com/request_latencies", started,
			`[{"display_name":"Runbook","url":"https://runbooks.example.com/checkout"}]`),
		cmPushed("0.err", "projects/proj/alertPolicies/78", "Checkout errors", "No severity", "run.googleapis.com/request_count", started.Add(time.Minute),
			`[{"display_name":"Chat","url":"slack://channel/checkout"},{"display_name":"Dashboard","url":"https://dash.example.com/checkout"}]`),
	} {
		resp, err := http.Post("http://"+a.Addr()+"/hooks/cloudmonitoring?token=cm-token", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery: %s", resp.Status)
		}
	}
	var pushed, polled web.APITile
	apptest.Eventually(t, 20*time.Second, "both tiles with both incidents", func() (bool, string) {
		pushed, polled = boardTiles(t, a, "pushed")["incidents"], boardTiles(t, a, "polled")["incidents"]
		return len(pushed.Rows) == 2 && len(polled.Rows) == 2, fmt.Sprintf("pushed %d rows, polled %d rows (%s)", len(pushed.Rows), len(polled.Rows), polled.Error)
	})
	// The whole tile: value, status, rows, warnings, error.
	if p, q := wholeTile(t, pushed), wholeTile(t, polled); p != q {
		t.Errorf("the same incidents differ:\npushed %s\npolled %s", p, q)
	}
	qj, _ := json.MarshalIndent(polled.Rows, "", " ")
	pushedHTML := alertList.FindString(getHTML(t, a, "pushed"))
	polledHTML := alertList.FindString(getHTML(t, a, "polled"))
	if pushedHTML == "" || pushedHTML != polledHTML {
		t.Errorf("the same incidents render differently:\npushed %s\npolled %s", pushedHTML, polledHTML)
	}
	t.Logf("rows: %s\nhtml: %s", qj, polledHTML)

	// Next actions: the text, never the markdown.
	for _, page := range []string{pushedHTML, polledHTML} {
		for _, syntax := range []string{"**", "`", "](", "_now_", "&lt;b&gt;", "<b>"} {
			if strings.Contains(page, syntax) {
				t.Errorf("the alert list shows markdown syntax %q:\n%s", syntax, page)
			}
		}
		if !strings.Contains(page, "Roll back the checkout deploy.") {
			t.Errorf("the alert list lacks the next action's text:\n%s", page)
		}
	}

	// Undocumented policies: one exists, so the list is a warning.
	und := boardTiles(t, a, "polled")["undocumented"]
	if len(und.Rows) != 1 || und.Rows[0].Label != "Disk full" || und.Status != board.StatusWarn {
		t.Errorf("undocumented policies tile: status %s rows %+v, want warn with Disk full", und.Status, und.Rows)
	}
	undHTML := regexp.MustCompile(`(?s)<section[^>]*id="tile-polled-undocumented".*?</section>`).FindString(getHTML(t, a, "polled"))
	if !strings.Contains(undHTML, "status-warn") || strings.Contains(undHTML, "tile kind-list status-ok") || !strings.Contains(undHTML, "Disk full") {
		t.Errorf("undocumented policies tile, rendered: want a warning listing Disk full in\n%s", undHTML)
	}
}
