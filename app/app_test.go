package app

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/app/apptest/runtest"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/web"
)

// fakeSource returns a value the test sets, or an error.
type fakeSource struct {
	mu    sync.Mutex
	value float64
	err   error
	calls atomic.Int64
}

func (f *fakeSource) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return board.Result{}, f.err
	}
	return board.Result{Value: board.F(f.value)}, nil
}

func (f *fakeSource) set(v float64, err error) {
	f.mu.Lock()
	f.value, f.err = v, err
	f.mu.Unlock()
}

const fakeConfig = `
sources:
  - {id: fake, kind: demo}
boards:
  - id: ops
    title: Ops
    tiles:
      - {id: a, kind: stat, title: Alpha, source: fake, query: requests, interval: 1s}
      - {id: b, kind: gauge, title: Beta, source: fake, query: cpu, interval: 1s, unit: ratio}
  - id: other
    title: Other
    tiles:
      - {id: c, kind: stat, source: fake, query: requests, interval: 1s}
`

// start runs a whole Wallboard with o until the test ends and returns it,
// its base URL (http://host:port) and a stop function that shuts it down
// early and returns Run's error (a restart or a crash, as screens see it;
// it may be called more than once). config, when not "", is written to a
// temp file that becomes o.ConfigPath. Empty Addr, DataDir and Logger
// default to 127.0.0.1:0, a temp dir and a discarding logger; a given Addr
// that a stopped server still holds is waited for, up to 10 s.
//
// It is apptest.StartStoppable for this package's internal tests, which
// cannot import apptest (apptest imports app): both run runtest's code.
func start(t testing.TB, o Options, config string) (*App, string, func() error) {
	t.Helper()
	if config != "" {
		o.ConfigPath = runtest.WriteConfig(t, config)
	}
	runtest.Defaults(t, &o.Addr, &o.DataDir, &o.Logger)
	a, stop := runtest.Start(t, func(ctx context.Context) (*App, error) { return New(ctx, o) })
	return a, "http://" + a.Addr(), stop
}

// eventually is apptest.Eventually, for the same reason as start.
func eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	runtest.Eventually(t, within, what, cond)
}

func dial(t *testing.T, addr, boardID string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/boards/"+boardID+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var idRE = regexp.MustCompile(`^<(?:section|div) id="([^"]+)"`)

// readUntil reads fragments until cond holds for the latest fragment per id.
func readUntil(t *testing.T, c *websocket.Conn, what string, cond func(frags map[string]string) bool) map[string]string {
	t.Helper()
	frags := map[string]string{}
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for !cond(frags) {
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v (have %d fragments)", what, err, len(frags))
		}
		m := idRE.FindSubmatch(msg)
		if m == nil {
			t.Fatalf("fragment without a leading id: %.120s", msg)
		}
		frags[string(m[1])] = string(msg)
	}
	return frags
}

func hasValue(frag, value string) bool {
	return strings.Contains(frag, `<p class="value">`+value+`</p>`)
}

func TestWebsocketSnapshotThenUpdates(t *testing.T) {
	src := &fakeSource{}
	src.set(41, nil)
	r, _, _ := start(t, Options{Sources: map[string]poller.Source{"fake": src}, Heartbeat: time.Second, Build: "test-build"}, fakeConfig)
	time.Sleep(1100 * time.Millisecond) // let the cached heartbeat age
	dialed := time.Now().UnixMilli()
	c := dial(t, r.Addr(), "ops")
	frags := readUntil(t, c, "snapshot", func(f map[string]string) bool {
		return hasValue(f["tile-ops-a"], "41") && f["tile-ops-b"] != "" && f["wb-meta-ops"] != ""
	})
	if _, ok := frags["tile-other-c"]; ok {
		t.Error("a viewer of ops received a tile of another board")
	}
	if !strings.Contains(frags["wb-meta-ops"], `data-build="test-build"`) {
		t.Errorf("meta fragment lacks the build id: %s", frags["wb-meta-ops"])
	}
	// The page sets its clock from this: it must be the server's clock now,
	// not the one of a cached heartbeat.
	var serverNow int64
	fmt.Sscanf(regexp.MustCompile(`data-now="(\d+)"`).FindStringSubmatch(frags["wb-meta-ops"])[1], "%d", &serverNow)
	if serverNow < dialed {
		t.Errorf("first meta carries server time %d, before the connection was made (%d)", serverNow, dialed)
	}
	src.set(42, nil)
	readUntil(t, c, "update to 42", func(f map[string]string) bool { return hasValue(f["tile-ops-a"], "42") })

	src.set(0, errors.New("backend down"))
	frags = readUntil(t, c, "stale tile", func(f map[string]string) bool { return strings.Contains(f["tile-ops-a"], "is-stale") })
	if !hasValue(frags["tile-ops-a"], "42") {
		t.Error("a failing source must keep the last value on screen, marked stale")
	}
	if !strings.Contains(frags["tile-ops-a"], "source failing") || !strings.Contains(frags["tile-ops-a"], ">backend down</p>") {
		t.Errorf("stale tile must say why, as text on the tile (a TV has no tooltips): %s", frags["tile-ops-a"])
	}
}

func TestReconnectGetsFullState(t *testing.T) {
	src := &fakeSource{}
	src.set(7, nil)
	r, _, _ := start(t, Options{Sources: map[string]poller.Source{"fake": src}, Heartbeat: time.Second}, fakeConfig)
	c := dial(t, r.Addr(), "ops")
	readUntil(t, c, "snapshot", func(f map[string]string) bool { return hasValue(f["tile-ops-a"], "7") })
	c.Close()
	src.set(8, nil)
	eventually(t, 15*time.Second, "value 8 in the state", func() (bool, string) {
		_, st, _ := r.Live().Tile(board.TileRef{Board: "ops", Tile: "a"})
		return st.Value != nil && *st.Value == 8, ""
	})
	c2 := dial(t, r.Addr(), "ops")
	// The whole board arrives at once, from the hub's cache, before any new poll.
	readUntil(t, c2, "full state on reconnect", func(f map[string]string) bool {
		return hasValue(f["tile-ops-a"], "8") && f["tile-ops-b"] != "" && f["wb-meta-ops"] != ""
	})
}

// TestSlowViewerDoesNotHoldUpOthers: one screen never reads. The other still
// gets every update, and the server does not queue a backlog for the stuck one.
func TestSlowViewerDoesNotHoldUpOthers(t *testing.T) {
	src := &fakeSource{}
	src.set(1, nil)
	// An hour's interval: the test publishes by hand.
	cfg := strings.ReplaceAll(fakeConfig, "interval: 1s", "interval: 1h")
	r, _, _ := start(t, Options{Sources: map[string]poller.Source{"fake": src}}, cfg)
	stuck := dial(t, r.Addr(), "ops") // never read from
	_ = stuck
	fast := dial(t, r.Addr(), "ops")
	readUntil(t, fast, "snapshot", func(f map[string]string) bool { return f["tile-ops-a"] != "" })

	// About 16 KB per fragment, 3,000 fragments: 48 MB if the server queued them.
	big := strings.Repeat("x", 16<<10)
	ref := board.TileRef{Board: "ops", Tile: "a"}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	const updates = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= updates; i++ {
			r.Live().Apply(ref, board.Result{Value: board.F(float64(i % 1000)), Warnings: []string{big}}, nil, time.Now())
			r.Server().PublishTile(ref, time.Now())
		}
	}()
	// The fast viewer sees the last update (conflation may skip some in between,
	// but never the latest).
	last := fmt.Sprint(updates % 1000)
	readUntil(t, fast, "the last update", func(f map[string]string) bool { return hasValue(f["tile-ops-a"], last) })
	<-done
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapInuse) - int64(before.HeapInuse)
	if grown > 16<<20 {
		t.Errorf("heap grew by %d MB while a viewer was stuck: the server is queueing a backlog", grown>>20)
	}
}

func TestServerShutdownSaysGoingAway(t *testing.T) {
	src := &fakeSource{}
	r, _, stopR := start(t, Options{Sources: map[string]poller.Source{"fake": src}}, fakeConfig)
	c := dial(t, r.Addr(), "ops")
	readUntil(t, c, "snapshot", func(f map[string]string) bool { return f["tile-ops-a"] != "" })
	stopR()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("close = %v, want 1001 going away", err)
		}
		return
	}
}

func TestRestartShowsLastValuesMarkedStale(t *testing.T) {
	data := t.TempDir()
	src := &fakeSource{}
	src.set(123, nil)
	r, _, stopR := start(t, Options{DataDir: data, Sources: map[string]poller.Source{"fake": src}}, fakeConfig)
	eventually(t, 15*time.Second, "first poll", func() (bool, string) {
		_, st, _ := r.Live().Tile(board.TileRef{Board: "ops", Tile: "a"})
		return st.Value != nil, ""
	})
	stopR() // flushes tile state

	down := &fakeSource{}
	down.set(0, errors.New("still starting"))
	r2, _, _ := start(t, Options{DataDir: data, Sources: map[string]poller.Source{"fake": down}}, fakeConfig)
	var tile web.APITile
	getJSON(t, "http://"+r2.Addr()+"/api/v1/boards/ops", func(b web.APIBoard) bool {
		tile = b.Tiles[0]
		return tile.Error != ""
	})
	if tile.Value == nil || fmt.Sprint(*tile.Value) != "123" || !tile.Stale || tile.AgeSeconds == nil {
		t.Fatalf("after restart tile = %+v, want the last value 123, stale, with its age", tile)
	}
	page := get(t, "http://"+r2.Addr()+"/boards/ops")
	if !strings.Contains(page, `<p class="value">123</p>`) {
		t.Error("first paint after restart must show the last value, not a blank")
	}
}

func TestPagesAndAPI(t *testing.T) {
	src := &fakeSource{}
	src.set(5, nil)
	r, _, _ := start(t, Options{Sources: map[string]poller.Source{"fake": src}}, fakeConfig)
	base := "http://" + r.Addr()
	eventually(t, 15*time.Second, "first polls", func() (bool, string) {
		_, a, _ := r.Live().Tile(board.TileRef{Board: "ops", Tile: "a"})
		_, b, _ := r.Live().Tile(board.TileRef{Board: "ops", Tile: "b"})
		return a.Value != nil && b.Value != nil, ""
	})
	page := get(t, base+"/boards/ops")
	for _, want := range []string{`id="tile-ops-a"`, `id="tile-ops-b"`, `<p class="value">5</p>`, `<p class="value">500 %</p>`, `ws-connect="/boards/ops/ws"`} {
		if !strings.Contains(page, want) {
			t.Errorf("board page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
		t.Error("inline script or style would break the CSP")
	}
	if strings.Contains(page, "demo-badge") {
		t.Error("a board fed by a test source is not the demo")
	}
	index := get(t, base+"/")
	if !strings.Contains(index, `href="/boards/ops"`) || !strings.Contains(index, `href="/boards/other"`) {
		t.Errorf("index does not list the boards: %s", index)
	}
	var list []map[string]string
	if err := json.Unmarshal([]byte(get(t, base+"/api/v1/boards")), &list); err != nil || len(list) != 2 || list[0]["url"] != "/boards/ops" {
		t.Errorf("/api/v1/boards = %v, %v", list, err)
	}
	var b web.APIBoard
	if err := json.Unmarshal([]byte(get(t, base+"/api/v1/boards/ops")), &b); err != nil {
		t.Fatal(err)
	}
	if b.Board != "ops" || len(b.Tiles) != 2 || b.Tiles[1].Unit != "ratio" || b.Tiles[1].Status != board.StatusOK {
		t.Errorf("API board = %+v", b)
	}
	if resp, err := http.Get(base + "/boards/nope"); err != nil || resp.StatusCode != 404 {
		t.Errorf("unknown board: %v %v", resp.StatusCode, err)
	}
	if got := get(t, base+"/healthz"); got != "ok\n" {
		t.Errorf("healthz = %q", got)
	}
	metrics := get(t, base+"/metrics")
	for _, m := range []string{"wallboard_viewers ", `wallboard_polls_total{source="fake"}`, "wallboard_pushed_bytes_total"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	// Security headers on every page.
	resp, err := http.Get(base + "/boards/ops")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	// Static files are gzipped and cached forever under hashed names.
	css := regexp.MustCompile(`href="(/static/wallboard\.[0-9a-f]+\.css)"`).FindStringSubmatch(page)
	if css == nil {
		t.Fatal("no hashed stylesheet link")
	}
	req, _ := http.NewRequest("GET", base+css[1], nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("static headers = %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !strings.Contains(string(body), ".tile{") {
		t.Error("gzipped stylesheet does not decode to the stylesheet")
	}
}

func TestWebsocketOriginCheck(t *testing.T) {
	r, _, _ := start(t, Options{Sources: map[string]poller.Source{"fake": &fakeSource{}}}, fakeConfig)
	h := http.Header{"Origin": {"http://evil.example"}}
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+r.Addr()+"/boards/ops/ws", h)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade: err=%v resp=%v, want 403", err, resp)
	}
	h = http.Header{"Origin": {"http://" + r.Addr()}}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+r.Addr()+"/boards/ops/ws", h)
	if err != nil {
		t.Fatalf("same-origin upgrade refused: %v", err)
	}
	c.Close()
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+r.Addr()+"/boards/nope/ws", nil); err == nil || resp.StatusCode != 404 {
		t.Fatalf("unknown board upgrade: %v", err)
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		r, _, stopR := start(t, Options{Sources: map[string]poller.Source{"fake": &fakeSource{}}}, fakeConfig)
		var conns []*websocket.Conn
		for range 20 {
			conns = append(conns, dial(t, r.Addr(), "ops"))
		}
		eventually(t, 15*time.Second, "20 viewers", func() (bool, string) { return r.Server() != nil && viewers(r) == 20, "" })
		for _, c := range conns[:10] {
			c.Close()
		}
		eventually(t, 15*time.Second, "10 viewers", func() (bool, string) { return viewers(r) == 10, "" })
		stopR()
		for _, c := range conns[10:] {
			c.Close()
		}
	}()
	eventually(t, 15*time.Second, "goroutines back to the baseline", func() (bool, string) { return runtime.NumGoroutine() <= before+3, "" })
}

func viewers(r *App) int {
	m := get(nil, "http://"+r.Addr()+"/metrics")
	var n int
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "wallboard_viewers ") {
			fmt.Sscanf(strings.TrimPrefix(l, "wallboard_viewers "), "%d", &n)
		}
	}
	return n
}

func TestDemoConfigIsValid(t *testing.T) {
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatalf("built-in demo config: %v", err)
	}
	if len(cfg.Boards) == 0 || len(cfg.Boards[0].Tiles) < 8 {
		t.Fatalf("demo board too small: %+v", cfg.Boards)
	}
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		if t != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func getJSON(t *testing.T, url string, cond func(web.APIBoard) bool) {
	t.Helper()
	eventually(t, 15*time.Second, "API condition on "+url, func() (bool, string) {
		var b web.APIBoard
		if err := json.Unmarshal([]byte(get(t, url)), &b); err != nil {
			return false, ""
		}
		return cond(b), ""
	})
}

// TestFailingSourceWithoutDataShowsTheReason: a tile whose source has failed
// since start shows the source's error as its content, not "no data".
func TestFailingSourceWithoutDataShowsTheReason(t *testing.T) {
	src := &fakeSource{}
	src.set(0, errors.New("prom: bad query: parse error: expected type range vector in call to function \"rate\""))
	r, _, _ := start(t, Options{Sources: map[string]poller.Source{"fake": src}}, fakeConfig)
	c := dial(t, r.Addr(), "ops")
	frags := readUntil(t, c, "failing tile", func(f map[string]string) bool { return strings.Contains(f["tile-ops-a"], "data-error") })
	tile := frags["tile-ops-a"]
	if !strings.Contains(tile, `<p class="tile-error big"`) || !strings.Contains(tile, "expected type range vector") {
		t.Errorf("the error is not the tile's content: %s", tile)
	}
	if strings.Contains(tile, `class="nodata"`) {
		t.Errorf("a failing source is not \"no data\": %s", tile)
	}
}
