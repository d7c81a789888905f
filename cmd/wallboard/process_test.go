package main

// Tests of the real binary as a child process: what survives kill -9 and
// what a SIGTERM does. Loopback only.

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read a PostgreSQL store
	_ "modernc.org/sqlite"

	"github.com/wallboard/wallboard/app/apptest/runtest"
	"github.com/wallboard/wallboard/store/pgtest"
)

const processYAML = `
sources:
  - id: demo
    kind: demo
boards:
  - id: ops
    title: Ops
    tiles:
      - {id: req, kind: stat, title: Requests, source: demo, query: requests, interval: 1s}
webhooks:
  events:
    secret: {env: WALLBOARD_TEST_EVENTS_SECRET}
`

const eventsSecret = "proc-test-secret"

// buildBinary builds wallboard once per test into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wallboard")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type server struct {
	t    *testing.T
	bin  string
	cfg  string
	data string
	addr string
	// store is the -store flag ("" for the SQLite file in data).
	store string

	cmd    *exec.Cmd
	log    *bytes.Buffer
	exited chan error
}

func newServer(t *testing.T) *server {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "board.yaml")
	if err := os.WriteFile(cfg, []byte(processYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, bin: buildBinary(t), cfg: cfg, data: filepath.Join(dir, "data"), addr: runtest.FreeAddr(t)}
	t.Cleanup(func() {
		if s.cmd != nil {
			s.kill()
		}
	})
	return s
}

func (s *server) base() string { return "http://" + s.addr }

// start runs the binary and waits until /healthz answers.
func (s *server) start() {
	s.t.Helper()
	s.log = &bytes.Buffer{}
	args := []string{"-config", s.cfg, "-addr", s.addr, "-data", s.data}
	if s.store != "" {
		args = append(args, "-store", s.store)
	}
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Env = append(os.Environ(), "WALLBOARD_TEST_EVENTS_SECRET="+eventsSecret)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(s.cmd, s.exited)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.base() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-s.exited:
			s.t.Fatalf("server exited at start: %v\n%s", err, s.log)
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.t.Fatalf("server not healthy within 30 s\n%s", s.log)
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.t.Fatal("killed server did not exit within 10 s")
	}
	s.cmd = nil
}

// terminate sends SIGTERM and returns the exit error (nil: exit code 0).
func (s *server) terminate() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.cmd = nil
		return err
	case <-time.After(30 * time.Second):
		s.t.Fatal("server did not stop within 30 s of SIGTERM")
	}
	return nil
}

var client = &http.Client{Timeout: 5 * time.Second}

// ping posts one delivery and returns the status (0 when no answer came).
func ping(base, id string) (int, time.Duration) {
	req, _ := http.NewRequest("POST", base+"/api/v1/events/ping", strings.NewReader(`{"id":"`+id+`","note":"durability"}`))
	req.Header.Set("Authorization", "Bearer "+eventsSecret)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, time.Duration(secs) * time.Second
}

// TestDeliveriesSurviveKill9 posts deliveries in a loop while the server is
// killed with SIGKILL at random moments and restarted on the same store
// and port. Senders retry a delivery (same id) until it gets a 2xx, like
// GitHub or Alertmanager do. Afterwards, in the store (the SQLite file, or
// the PostgreSQL database): every delivery that got a 2xx is there, and
// none is there twice.
func TestDeliveriesSurviveKill9(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testDeliveriesSurviveKill9(t, "") })
	t.Run("postgres", func(t *testing.T) { testDeliveriesSurviveKill9(t, pgtest.URL(t)) })
}

func testDeliveriesSurviveKill9(t *testing.T, storeURL string) {
	const deliveries, kills, senders = 300, 5, 4
	s := newServer(t)
	s.store = storeURL
	s.start()

	ids := make(chan string, deliveries)
	for i := range deliveries {
		ids <- fmt.Sprintf("dlv-%03d", i)
	}
	close(ids)
	var mu sync.Mutex
	acked := map[string]bool{}
	failedAttempts := 0
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for id := range ids {
				for attempt := 0; ; attempt++ {
					if attempt > 400 {
						t.Errorf("%s: no 2xx after 400 attempts", id)
						return
					}
					code, retry := ping(s.base(), id)
					if code >= 200 && code < 300 {
						mu.Lock()
						acked[id] = true
						mu.Unlock()
						break
					}
					mu.Lock()
					failedAttempts++
					mu.Unlock()
					switch {
					case code == http.StatusTooManyRequests:
						time.Sleep(min(retry, 2*time.Second))
					case code == 0 || code == http.StatusServiceUnavailable:
						time.Sleep(50 * time.Millisecond) // server down: retry soon
					default:
						t.Errorf("%s: unexpected status %d", id, code)
						return
					}
				}
			}
		})
	}
	sendersDone := make(chan struct{})
	go func() { wg.Wait(); close(sendersDone) }()

	// Kill at random points of the flow: after a random number of
	// acknowledgements, plus a random few milliseconds (mid-request).
	points := make([]int, kills)
	for i := range points {
		points[i] = 10 + rand.IntN(deliveries-20)
	}
	slices.Sort(points)
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	killed := 0
	for _, p := range points {
		for ackedCount() < p {
			select {
			case <-sendersDone:
				t.Fatalf("senders finished before kill %d", killed+1)
			case <-time.After(2 * time.Millisecond):
			}
		}
		time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
		s.kill()
		killed++
		s.start()
	}
	select {
	case <-sendersDone:
	case <-time.After(3 * time.Minute):
		t.Fatal("senders did not finish within 3 minutes")
	}
	// The last stop is a kill too: an acknowledgement must survive it the
	// next instant.
	s.kill()
	if t.Failed() {
		return
	}
	if len(acked) != deliveries {
		t.Fatalf("%d deliveries acknowledged, want %d", len(acked), deliveries)
	}
	driver, dsn := "sqlite", "file:"+filepath.Join(s.data, "wallboard.db")
	if storeURL != "" {
		driver, dsn = "pgx", storeURL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := map[string]int{}
	rows, err := db.Query(`SELECT delivery_id, count(*) FROM pings GROUP BY delivery_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		counts[id] = n
	}
	rows.Close()
	for id := range acked {
		switch counts[id] {
		case 1:
		case 0:
			t.Errorf("%s was acknowledged but is not in the store", id)
		default:
			t.Errorf("%s is stored %d times", id, counts[id])
		}
	}
	if len(counts) != deliveries {
		t.Errorf("%d distinct deliveries stored, want %d", len(counts), deliveries)
	}
	var nDeliveries int
	if err := db.QueryRow(`SELECT count(*) FROM deliveries WHERE receiver = 'ping'`).Scan(&nDeliveries); err != nil || nDeliveries != deliveries {
		t.Errorf("deliveries table: %d rows (%v), want %d", nDeliveries, err, deliveries)
	}
	t.Logf("%d deliveries, %d kills, %d failed attempts retried", deliveries, killed, failedAttempts)
}

// TestGracefulShutdown sends SIGTERM to a server with a connected viewer
// and a webhook in flight: the viewer gets a going-away close (1001), the
// webhook finishes with 200 and is stored, the process exits 0, and the
// latest tile state is flushed to the store.
func TestGracefulShutdown(t *testing.T) {
	s := newServer(t)
	s.start()

	conn, _, err := websocket.DefaultDialer.Dial("ws://"+s.addr+"/boards/ops/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closeCode := make(chan int, 1)
	go func() {
		for {
			conn.SetReadDeadline(time.Now().Add(60 * time.Second))
			if _, _, err := conn.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					closeCode <- ce.Code
				} else {
					closeCode <- -1
				}
				return
			}
		}
	}()

	// Wait for a polled value, and remember the time of the newest data.
	var seen time.Time
	deadline := time.Now().Add(20 * time.Second)
	for seen.IsZero() && time.Now().Before(deadline) {
		seen = tileUpdatedAt(t, s.base())
		time.Sleep(100 * time.Millisecond)
	}
	if seen.IsZero() {
		t.Fatal("no polled value within 20 s")
	}

	// A webhook in flight: headers sent, body still coming.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", s.base()+"/api/v1/events/ping", pr)
	req.Header.Set("Authorization", "Bearer "+eventsSecret)
	req.ContentLength = -1
	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{code: resp.StatusCode, body: string(b)}
	}()
	io.WriteString(pw, `{"id":"in-flight",`)
	// Let the server read the headers and start on the body.
	time.Sleep(300 * time.Millisecond)
	last := tileUpdatedAt(t, s.base())

	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case code := <-closeCode:
		if code != websocket.CloseGoingAway {
			t.Errorf("viewer close code %d, want %d (going away)", code, websocket.CloseGoingAway)
		}
	case <-time.After(15 * time.Second):
		t.Error("viewer got no close within 15 s of SIGTERM")
	}
	io.WriteString(pw, `"note":"sent during shutdown"}`)
	pw.Close()
	select {
	case r := <-res:
		if r.err != nil || r.code != 200 || !strings.Contains(r.body, `"stored":true`) {
			t.Errorf("in-flight webhook: %d %q %v, want 200 stored", r.code, r.body, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("in-flight webhook got no answer")
	}
	select {
	case err := <-s.exited:
		s.cmd = nil
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, s.log)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit within 30 s of SIGTERM")
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.data, "wallboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pings WHERE delivery_id = 'in-flight'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("in-flight webhook stored %d times (%v), want 1", n, err)
	}
	var ms int64
	if err := db.QueryRow(`SELECT updated_at FROM tile_state WHERE board = 'ops' AND tile = 'req'`).Scan(&ms); err != nil {
		t.Fatalf("tile state not flushed: %v", err)
	}
	if got := time.UnixMilli(ms); got.Before(last.Truncate(time.Millisecond)) {
		t.Errorf("stored tile state is from %s, older than the %s shown before SIGTERM", got, last)
	}

	// After a restart the board shows the stored state before any new poll.
	s.start()
	if got := tileUpdatedAt(t, s.base()); got.IsZero() || got.Before(last.Truncate(time.Millisecond)) {
		t.Errorf("after restart the tile shows data from %s, want at least %s", got, last)
	}
	if err := s.terminate(); err != nil {
		t.Errorf("second SIGTERM: %v", err)
	}
}

// tileUpdatedAt is the updated_at of ops/req in the JSON API (zero: none).
func tileUpdatedAt(t *testing.T, base string) time.Time {
	t.Helper()
	resp, err := client.Get(base + "/api/v1/boards/ops")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Tiles []struct {
			ID        string     `json:"id"`
			UpdatedAt *time.Time `json:"updated_at"`
		} `json:"tiles"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	for _, tile := range b.Tiles {
		if tile.ID == "req" && tile.UpdatedAt != nil {
			return *tile.UpdatedAt
		}
	}
	return time.Time{}
}
