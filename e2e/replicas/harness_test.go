// Package replicas tests Wallboard run as three replica processes sharing
// one throwaway PostgreSQL (store/pgtest): webhooks to one replica reach the
// screens of the others, one poller per query whatever the number of
// replicas, failover after a SIGKILL, screens moving between replicas, and
// a rolling restart under 300 screens. Plain websocket clients stand for the
// screens; an httptest server answering Prometheus's query API stands for
// the backend and counts its calls. Loopback only.
package replicas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/app/apptest/runtest"
	"github.com/wallboard/wallboard/store/pgtest"
)

var bin string // the wallboard binary, built once for the test binary

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if bin != "" {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

func build() error {
	dir, err := os.MkdirTemp("", "wallboard-replicas-")
	if err != nil {
		return err
	}
	bin = filepath.Join(dir, "wallboard")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/wallboard/wallboard/cmd/wallboard")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

var buildOnce sync.Once
var buildErr error

func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { buildErr = build() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bin
}

const (
	eventsToken = "replica-events-token"
	adminToken  = "replica-admin-token"
)

// boardYAML: a Prometheus-compatible backend at %s, polled every 5 s (two
// queries: rps and errors), and an alerts tile fed by the events webhook.
const boardYAML = `
access: {mode: %s}
admin:
  token: {env: WB_TEST_ADMIN_TOKEN}
sources:
  - {id: prom, kind: prometheus, url: %q, timeout: 2s}
  - {id: hooks, kind: webhooks}
webhooks:
  events:
    secret: {env: WB_TEST_EVENTS_TOKEN}
boards:
  - id: ops
    title: Ops
    tiles:
      - {id: rps, kind: stat, title: Requests, source: prom, query: wb_requests, interval: 5s}
      - {id: errs, kind: stat, title: Errors, source: prom, query: wb_errors, interval: 5s}
      - {id: alerts, kind: alerts, title: Alerts, source: hooks, interval: 30s}
`

// backend is a fake Prometheus: every instant query answers the number of
// calls of that query so far, so each poll shows a new value.
type backend struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
	times []time.Time
}

func newBackend(t testing.TB) *backend {
	b := &backend{calls: map[string]int{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		q := r.Form.Get("query")
		b.mu.Lock()
		b.calls[q]++
		n := b.calls[q]
		b.times = append(b.times, time.Now())
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"%d"]}]}}`,
			time.Now().Unix(), n)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// total is the number of calls so far, of every query.
func (b *backend) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.times)
}

// since is the number of calls after t.
func (b *backend) since(t time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, x := range b.times {
		if x.After(t) {
			n++
		}
	}
	return n
}

// group is the replicas of one test: one config, one database.
type group struct {
	t      testing.TB
	config string
	store  string
	reps   []*proc
}

type proc struct {
	name string
	addr string
	data string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	logm *sync.Mutex
	done chan struct{}
}

func newGroup(t testing.TB, be *backend) *group { return newGroupAccess(t, be, "open") }

// newGroupAccess is newGroup with another access mode (screens: only
// paired TVs see the boards).
func newGroupAccess(t testing.TB, be *backend, access string) *group {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "board.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(boardYAML, access, be.srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	return &group{t: t, config: cfg, store: pgtest.URL(t)}
}

type syncWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// start runs a new replica (or restarts p on its address and data dir).
func (g *group) start(p *proc) *proc {
	t := g.t
	t.Helper()
	if p == nil {
		p = &proc{name: fmt.Sprintf("r%d", len(g.reps)), addr: runtest.FreeAddr(t), data: t.TempDir(), log: &bytes.Buffer{}, logm: &sync.Mutex{}}
		g.reps = append(g.reps, p)
	}
	p.cmd = exec.Command(binary(t), "-config", g.config, "-store", g.store, "-data", p.data, "-addr", p.addr)
	p.cmd.Env = append(os.Environ(), "WB_TEST_EVENTS_TOKEN="+eventsToken, "WB_TEST_ADMIN_TOKEN="+adminToken)
	w := syncWriter{p.logm, p.log}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan struct{})
	cmd, done := p.cmd, p.done
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("log of replica %s:\n%s", p.name, tail(p.logs(), 4000))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("replica %s exited at start:\n%s", p.name, p.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not ready within 60 s:\n%s", p.name, p.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func (p *proc) logs() string {
	p.logm.Lock()
	defer p.logm.Unlock()
	return p.log.String()
}

// stop ends the replica gracefully (SIGTERM), as a rolling restart does.
func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the replica with SIGKILL: no lease released, nothing flushed.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

var leasesRE = regexp.MustCompile(`(?m)^wallboard_leases_held (\S+)$`)

// leases is what the replica's /metrics says it holds.
func (p *proc) leases(t testing.TB) int {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := leasesRE.FindSubmatch(b)
	if m == nil {
		t.Fatalf("replica %s: no wallboard_leases_held in /metrics", p.name)
	}
	f, _ := strconv.ParseFloat(string(m[1]), 64)
	return int(f)
}

// jobs is the number of poll jobs (leases) of boardYAML: rps, errs, alerts.
const jobs = 3

// holder waits until exactly one live replica holds every poll lease.
func (g *group) holder(live ...*proc) *proc {
	g.t.Helper()
	var h *proc
	eventually(g.t, 30*time.Second, "one replica holding every lease", func() bool {
		h = nil
		n := 0
		for _, p := range live {
			l := p.leases(g.t)
			n += l
			if l == jobs {
				h = p
			}
		}
		return h != nil && n == jobs
	})
	return h
}

// postAlert posts a critical alert to the events webhook of p; it reports
// whether the delivery was acknowledged (2xx).
func postAlert(p *proc, id, title string) (bool, error) {
	body := fmt.Sprintf(`{"id":%q,"title":%q,"severity":"critical","next_action":"look"}`, id, title)
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/api/v1/events/alerts", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+eventsToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode/100 == 2, nil
}

func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	runtest.Eventually(t, within, what, func() (bool, string) { return cond(), "" })
}

// waitUntil polls cond until it holds (true) or within passes (false); for
// goroutines other than the test's, which may not call Fatal.
func waitUntil(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// screen is a websocket client showing board ops on one replica; it keeps
// every message with the time it arrived.
type screen struct {
	c      *websocket.Conn
	mu     sync.Mutex
	msgs   []string
	at     []time.Time
	closed atomic.Bool
	done   chan struct{}
}

func openScreen(t testing.TB, p *proc, header http.Header) *screen {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial("ws://"+p.addr+"/boards/ops/ws", header)
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			err = fmt.Errorf("%w: HTTP %d %s", err, resp.StatusCode, b)
		}
		t.Fatalf("screen on %s: %v", p.name, err)
	}
	return readScreen(t, c)
}

// first is when a message containing want first arrived (zero: not yet).
func (s *screen) first(want string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, m := range s.msgs {
		if strings.Contains(m, want) {
			return s.at[i]
		}
	}
	return time.Time{}
}

// has reports whether the screen received want.
func (s *screen) has(want string) bool { return !s.first(want).IsZero() }

// boardJSON is a replica's JSON view of board ops.
type boardJSON struct {
	Tiles []struct {
		ID    string   `json:"id"`
		Value *float64 `json:"value"`
		Stale bool     `json:"stale"`
		Rows  []struct {
			Label string `json:"label"`
		} `json:"rows"`
	} `json:"tiles"`
}

func getBoard(p *proc) (boardJSON, error) {
	var b boardJSON
	resp, err := http.Get("http://" + p.addr + "/api/v1/boards/ops")
	if err != nil {
		return b, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return b, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return b, json.NewDecoder(resp.Body).Decode(&b)
}

var codeRE = regexp.MustCompile(`id="pair-code"[^>]*>([A-Z0-9]{6})<`)

// steer runs a fleet action (reload, revoke, ...) on screen id through p.
func steer(t testing.TB, p *proc, id, action string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/admin/screens/"+id+"/"+action, nil)
	req.SetBasicAuth("admin", adminToken)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s of screen %s on %s: HTTP %d", action, id, p.name, resp.StatusCode)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// dialScreen is openScreen without failing the test (for reconnections).
func dialScreen(t testing.TB, p *proc) (*screen, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial("ws://"+p.addr+"/boards/ops/ws", nil)
	if err != nil {
		return nil, err
	}
	return readScreen(t, c), nil
}

// readScreen keeps reading a screen's socket, recording each message and
// when it came, until the socket closes (closed is then set).
func readScreen(t testing.TB, c *websocket.Conn) *screen {
	s := &screen{c: c, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				s.closed.Store(true)
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(m))
			s.at = append(s.at, time.Now())
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close(); <-s.done })
	return s
}
