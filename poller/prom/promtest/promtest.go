// Package promtest runs a real Prometheus (Debian's /usr/bin/prometheus) for
// tests: on a free loopback port, with a config the test writes, scraping
// itself and the targets the test names every second. It also serves a small
// exporter with known metric values, and queries Prometheus with plain
// net/http so that tests compare the board against an answer that does not go
// through the code under test.
//
// It is test support only: nothing outside _test.go files may import it.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wallboard/wallboard/app/apptest/runtest"
)

// binary is where Debian installs Prometheus.
const binary = "/usr/bin/prometheus"

// Server is a Prometheus process owned by a test.
type Server struct {
	t       testing.TB
	addr    string // 127.0.0.1:port
	URL     string // http://127.0.0.1:port
	dataDir string
	config  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *syncBuffer
}

// Start writes a config scraping Prometheus itself and targets (host:port)
// every second, starts Prometheus and waits until it is ready. It is stopped
// in t.Cleanup. A missing binary fails the test: the suite needs it.
func Start(t testing.TB, targets ...string) *Server {
	t.Helper()
	if _, err := os.Stat(binary); err != nil {
		t.Fatal("prometheus not installed: run make test-deps")
	}
	dir := t.TempDir()
	s := &Server{t: t, addr: runtest.FreeAddr(t), dataDir: filepath.Join(dir, "data")}
	s.URL = "http://" + s.addr
	s.config = filepath.Join(dir, "prometheus.yml")
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	b.WriteString("scrape_configs:\n")
	fmt.Fprintf(&b, "  - job_name: prometheus\n    static_configs:\n      - targets: [%q]\n", s.addr)
	if len(targets) > 0 {
		b.WriteString("  - job_name: exporter\n    static_configs:\n      - targets:\n")
		for _, tg := range targets {
			fmt.Fprintf(&b, "          - %q\n", tg)
		}
	}
	if err := os.WriteFile(s.config, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Restart starts Prometheus again (same port, same data dir) after Stop and
// waits until it is ready.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		s.t.Fatal("promtest: Restart while running")
	}
	out := &syncBuffer{}
	cmd := exec.Command(binary,
		"--config.file="+s.config,
		"--storage.tsdb.path="+s.dataDir,
		"--web.listen-address="+s.addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("promtest: start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done, s.out = cmd, done, out
	s.mu.Unlock()

	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-done:
			s.t.Fatalf("promtest: prometheus exited before it was ready:\n%s", out.String())
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("promtest: prometheus not ready within 60s (last error %v):\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends Prometheus (SIGTERM, then SIGKILL after 15 s) and waits for it.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// log is what Prometheus printed (for failure messages).
func (s *Server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// Sample is one series of an instant query answer, decoded by hand.
type Sample struct {
	Metric map[string]string
	Value  float64
}

// Query runs an instant query with plain net/http (not the client under
// test) and returns its samples; a scalar answer is one sample without labels.
func (s *Server) Query(ctx context.Context, q string) ([]Sample, error) {
	form := url.Values{"query": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/query?"+form.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if body.Status != "success" {
		return nil, errors.New(body.Error)
	}
	switch body.Data.ResultType {
	case "scalar":
		var pair [2]any
		if err := json.Unmarshal(body.Data.Result, &pair); err != nil {
			return nil, err
		}
		v, err := parseValue(pair[1])
		return []Sample{{Value: v}}, err
	case "vector":
		var vec []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(body.Data.Result, &vec); err != nil {
			return nil, err
		}
		out := make([]Sample, 0, len(vec))
		for _, x := range vec {
			v, err := parseValue(x.Value[1])
			if err != nil {
				return nil, err
			}
			out = append(out, Sample{Metric: x.Metric, Value: v})
		}
		return out, nil
	}
	return nil, fmt.Errorf("result type %q", body.Data.ResultType)
}

func parseValue(v any) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("value %v is not a string", v)
	}
	return strconv.ParseFloat(s, 64)
}

// WaitQuery polls Query until it returns at least n samples, or fails the
// test after a minute.
func (s *Server) WaitQuery(q string, n int) []Sample {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := s.Query(ctx, q)
		cancel()
		if err == nil && len(got) >= n {
			return got
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("promtest: %s: fewer than %d samples after a minute (last error %v)\n%s", q, n, last, s.log())
	return nil
}

// Known values the Exporter serves.
const (
	Temperature = 42.0 // wb_temperature_celsius
	// wb_requests_total by service.
	requestsAPI = 120.0
	requestsWeb = 30.0
	requestsDB  = 5.0
	// P99 is histogram_quantile(0.99, sum by (le) (wb_request_duration_seconds_bucket)):
	// 90 observations of 0.05 s and 10 of 0.4 s in buckets .1 .25 .5 1, so
	// rank 99 falls in (0.25, 0.5] at 9/10 of its width.
	P99 = 0.475
)

// Exporter serves client_golang metrics with the known values above on an
// httptest server; it returns the server's host:port.
func Exporter(t testing.TB) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	temp := prometheus.NewGauge(prometheus.GaugeOpts{Name: "wb_temperature_celsius", Help: "A gauge set to 42."})
	temp.Set(Temperature)
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wb_requests_total", Help: "Requests by service."}, []string{"service"})
	reqs.WithLabelValues("api").Add(requestsAPI)
	reqs.WithLabelValues("web").Add(requestsWeb)
	reqs.WithLabelValues("db").Add(requestsDB)
	lat := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wb_request_duration_seconds", Help: "Latency.", Buckets: []float64{0.1, 0.25, 0.5, 1}})
	for range 90 {
		lat.Observe(0.05)
	}
	for range 10 {
		lat.Observe(0.4)
	}
	reg.MustRegister(temp, reqs, lat)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		return len(p), nil // keep the first MiB
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
