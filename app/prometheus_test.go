package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/poller/prom/promtest"
)

// promBoard is a board of PromQL tiles against the test's Prometheus; every
// query has a known answer from promtest.Exporter.
const promBoard = `
sources:
  - id: prom
    kind: prometheus
    url: %s
    timeout: 2s
boards:
  - id: svc
    title: Service
    tiles:
      - {id: temp, kind: stat, title: Temperature, source: prom, interval: 1s, query: wb_temperature_celsius}
      # Polled every 5s, so the 2s source timeout applies in full (the
      # server gets a timeout parameter with a fraction of a second left).
      - {id: temp5, kind: stat, title: Temperature, source: prom, interval: 5s, query: "wb_temperature_celsius + 0"}
      - {id: p99, kind: stat, title: p99, source: prom, interval: 1s, unit: s,
         query: "histogram_quantile(0.99, sum by (le) (wb_request_duration_seconds_bucket))"}
      - {id: requests, kind: list, title: Requests, source: prom, interval: 1s, label: "{{.service}}",
         query: "sum by (service) (wb_requests_total)"}
      - {id: up, kind: list, title: Targets, source: prom, interval: 1s, label: "{{.job}}", query: up}
      - {id: history, kind: timeseries, title: History, source: prom, interval: 1s, range: 1m, query: wb_temperature_celsius}
      - {id: missing, kind: stat, title: Missing, source: prom, interval: 1s, query: wb_no_such_metric}
      - {id: nan, kind: stat, title: NaN, source: prom, interval: 1s, query: "wb_temperature_celsius * 0 / 0"}
      - {id: bad, kind: stat, title: Bad, source: prom, interval: 1s, query: "sum(wb_requests_total) +"}
`

type apiTile struct {
	ID        string          `json:"id"`
	Value     json.RawMessage `json:"value"`
	Status    string          `json:"status"`
	UpdatedAt *time.Time      `json:"updated_at"`
	Stale     bool            `json:"stale"`
	Error     string          `json:"error"`
	Series    []struct {
		V json.RawMessage `json:"v"`
	} `json:"series"`
	Rows []struct {
		Label  string          `json:"label"`
		Value  json.RawMessage `json:"value"`
		Status string          `json:"status"`
	} `json:"rows"`
}

// number decodes a JSON value that is a number, "NaN"/"+Inf"/"-Inf", or null.
func number(raw json.RawMessage) (float64, bool) {
	s := strings.Trim(string(raw), `"`)
	if s == "null" || s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPrometheusBoardEndToEnd(t *testing.T) {
	exporter := promtest.Exporter(t)
	p := promtest.Start(t, exporter)
	// Wait until Prometheus has scraped the exporter, so direct answers exist.
	p.WaitQuery("wb_requests_total", 3)
	p.WaitQuery("up == 1", 2) // the exporter and Prometheus itself

	cfgPath := filepath.Join(t.TempDir(), "wallboard.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, promBoard, p.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	// Registered first, so it runs after the app has stopped.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	a := apptest.Start(t, app.Options{ConfigPath: cfgPath, Logger: slog.New(slog.NewTextHandler(logs, nil))})

	tiles := func() (map[string]apiTile, error) {
		resp, err := http.Get("http://" + a.Addr() + "/api/v1/boards/svc")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b.String())
		}
		var body struct{ Tiles []apiTile }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return nil, err
		}
		out := map[string]apiTile{}
		for _, tl := range body.Tiles {
			out[tl.ID] = tl
		}
		return out, nil
	}
	// waitTiles polls the board until check passes for every tile, or fails
	// the test with the last mismatch after a minute.
	waitTiles := func(what string, check func(map[string]apiTile) error) map[string]apiTile {
		t.Helper()
		var got map[string]apiTile
		apptest.Eventually(t, time.Minute, what, func() (bool, string) {
			var err error
			if got, err = tiles(); err == nil {
				err = check(got)
			}
			if err != nil {
				return false, err.Error()
			}
			return true, ""
		})
		return got
	}
	direct := func(q string) []promtest.Sample {
		t.Helper()
		qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer qcancel()
		s, err := p.Query(qctx, q)
		if err != nil {
			t.Fatalf("direct query %s: %v", q, err)
		}
		return s
	}
	directValue := func(q string) float64 {
		t.Helper()
		s := direct(q)
		if len(s) != 1 {
			t.Fatalf("direct query %s: %d samples, want 1", q, len(s))
		}
		return s[0].Value
	}

	wantTemp := directValue("wb_temperature_celsius")
	wantP99 := directValue("histogram_quantile(0.99, sum by (le) (wb_request_duration_seconds_bucket))")
	if wantTemp != promtest.Temperature || math.Abs(wantP99-promtest.P99) > 1e-9 {
		t.Fatalf("Prometheus reports %v and %v, the exporter serves %v and %v", wantTemp, wantP99, promtest.Temperature, promtest.P99)
	}
	wantRows := map[string]float64{}
	for _, s := range direct("sum by (service) (wb_requests_total)") {
		wantRows[s.Metric["service"]] = s.Value
	}
	upJobs := map[string]float64{}
	for _, s := range direct("up") {
		upJobs[s.Metric["job"]] = s.Value
	}

	healthy := func(got map[string]apiTile) error {
		for id, tl := range got {
			if id == "bad" {
				continue
			}
			if tl.UpdatedAt == nil || tl.Stale || tl.Error != "" {
				return fmt.Errorf("tile %s: updated_at %v, stale %v, error %q", id, tl.UpdatedAt, tl.Stale, tl.Error)
			}
		}
		if v, ok := number(got["temp"].Value); !ok || v != wantTemp {
			return fmt.Errorf("temp = %s, Prometheus says %v", got["temp"].Value, wantTemp)
		}
		if v, ok := number(got["temp5"].Value); !ok || v != wantTemp {
			return fmt.Errorf("temp5 = %s, Prometheus says %v", got["temp5"].Value, wantTemp)
		}
		if v, ok := number(got["p99"].Value); !ok || math.Abs(v-wantP99) > 1e-9 {
			return fmt.Errorf("p99 = %s, Prometheus says %v", got["p99"].Value, wantP99)
		}
		rows := got["requests"].Rows
		if len(rows) != len(wantRows) {
			return fmt.Errorf("requests rows = %+v, Prometheus says %v", rows, wantRows)
		}
		prev := math.Inf(1)
		for _, r := range rows {
			v, ok := number(r.Value)
			if !ok || v != wantRows[r.Label] {
				return fmt.Errorf("requests row %q = %s, Prometheus says %v", r.Label, r.Value, wantRows[r.Label])
			}
			if v > prev {
				return fmt.Errorf("requests rows not sorted by value: %+v", rows)
			}
			prev = v
			if r.Status != "ok" {
				return fmt.Errorf("requests row %q status %q, want ok (judged by the board)", r.Label, r.Status)
			}
		}
		up := got["up"].Rows
		if len(up) != len(upJobs) {
			return fmt.Errorf("up rows = %+v, Prometheus says %v", up, upJobs)
		}
		for _, r := range up {
			if v, ok := number(r.Value); !ok || v != upJobs[r.Label] {
				return fmt.Errorf("up row %q = %s, Prometheus says %v", r.Label, r.Value, upJobs[r.Label])
			}
		}
		h := got["history"]
		if v, ok := number(h.Value); !ok || v != wantTemp || len(h.Series) == 0 {
			return fmt.Errorf("history: value %s with %d points, want %v and a series", h.Value, len(h.Series), wantTemp)
		}
		if m := got["missing"]; string(m.Value) != "null" || m.Status != "unknown" {
			return fmt.Errorf("missing: value %s status %s, want null (no data, never 0) and unknown", m.Value, m.Status)
		}
		if n := got["nan"]; string(n.Value) != `"NaN"` || n.Status != "unknown" {
			return fmt.Errorf("nan: value %s status %s, want \"NaN\" and unknown", n.Value, n.Status)
		}
		if b := got["bad"]; !strings.HasPrefix(b.Error, "prom: bad query: parse error: ") {
			return fmt.Errorf("bad: error %q, want the server's parse error", b.Error)
		}
		return nil
	}
	waitTiles("tiles show what Prometheus reports", healthy)

	p.Stop()
	waitTiles("tiles go stale when Prometheus stops", func(got map[string]apiTile) error {
		for id, tl := range got {
			if !tl.Stale || tl.Error == "" {
				return fmt.Errorf("tile %s: stale %v, error %q", id, tl.Stale, tl.Error)
			}
		}
		if e := got["temp"].Error; !strings.Contains(e, "unreachable") {
			return fmt.Errorf("temp error %q, want it to say the server is unreachable", e)
		}
		// The last good value stays on screen, marked stale.
		if v, ok := number(got["temp"].Value); !ok || v != wantTemp {
			return fmt.Errorf("temp = %s while stale, want the last value %v", got["temp"].Value, wantTemp)
		}
		return nil
	})

	p.Restart()
	waitTiles("tiles recover when Prometheus is back", healthy)
}

func TestPrometheusConfigCheck(t *testing.T) {
	cfg := strings.Replace(promBoard, `query: "sum(wb_requests_total) +"`, `query: "sum(rate(wb_requests_total[5m])"`, 1)
	cfg = strings.Replace(cfg, "query: up}", `query: ""}`, 1)
	path := filepath.Join(t.TempDir(), "wallboard.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, cfg, "http://127.0.0.1:9"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := app.LoadConfig(path)
	if err == nil {
		t.Fatal("config with an unclosed parenthesis and an empty query loaded")
	}
	for _, want := range []string{
		"wallboard.yaml:23: tile svc/bad: query: PromQL: '(' at character 4 is never closed",
		"wallboard.yaml:19: tile svc/up: query: empty PromQL query",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant it to contain %q", err, want)
		}
	}
}
