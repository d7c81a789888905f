package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/views"
)

const fleetAdmin = "fleet-admin-secret"

type fleetEnv struct {
	srv      *httptest.Server
	fleet    *Fleet
	fleetSrv *Server
	mu       sync.Mutex
	now      time.Time
}

func (e *fleetEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func startFleet(t *testing.T) *fleetEnv { return startFleetAccess(t, nil) }

func startFleetAccess(t *testing.T, acc *Access) *fleetEnv {
	t.Helper()
	return startFleetOn(t, acc, filepath.Join(t.TempDir(), "w.db"))
}

// startFleetOn is startFleetAccess on the store at path: two of them on one
// path stand for two replicas sharing a database.
func startFleetOn(t *testing.T, acc *Access, path string) *fleetEnv {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := &board.Config{Boards: []board.BoardConfig{{ID: "ops", Title: "Ops"}, {ID: "team", Title: "Team"}, {ID: "lab", Title: "Lab"}},
		Playlists: []board.Playlist{{ID: "office", Boards: []string{"ops", "team"}}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if acc == nil {
		var err error
		if acc, err = NewAccess(board.AccessConfig{Mode: board.AccessOpen}, fleetAdmin, log); err != nil {
			t.Fatal(err)
		}
	}
	f, err := NewFleet(context.Background(), st, log)
	if err != nil {
		t.Fatal(err)
	}
	e := &fleetEnv{fleet: f, now: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	f.now = func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }
	s := NewServer(board.NewLive(cfg, nil), NewHub(), NewMetrics(), log, Options{Access: acc, Fleet: f})
	e.fleetSrv = s
	e.srv = httptest.NewServer(s.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

var codeRE = regexp.MustCompile(`id="pair-code"[^>]*>([A-Z0-9]{6})<`)

// tv opens /pair with a fresh cookie jar and returns its client and code.
func (e *fleetEnv) tv(t *testing.T) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(e.srv.URL + "/pair")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := codeRE.FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET /pair: %d, no code in %.300s", resp.StatusCode, b)
	}
	return c, string(m[1])
}

func (e *fleetEnv) approve(t *testing.T, code, token string) (int, string) {
	t.Helper()
	form := url.Values{"code": {code}, "name": {"Lobby TV"}, "target": {"/boards/ops"}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/screens/pair", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func waitState(t *testing.T, c *http.Client, base string) map[string]string {
	t.Helper()
	resp, err := c.Get(base + "/pair/wait")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPairCodeApprovedOnceThenTVGoesToItsBoard(t *testing.T) {
	e := startFleet(t)
	tv, code := e.tv(t)
	if s := waitState(t, tv, e.srv.URL); s["state"] != "waiting" {
		t.Fatalf("before approval: %v, want waiting", s)
	}
	if st, body := e.approve(t, code, fleetAdmin); st != 200 {
		t.Fatalf("approve: %d %s", st, body)
	}
	s := waitState(t, tv, e.srv.URL)
	if s["state"] != "paired" || s["url"] != "/boards/ops" {
		t.Fatalf("after approval: %v, want paired to /boards/ops", s)
	}
	// The credential goes out once: asking again gets nothing.
	if s := waitState(t, tv, e.srv.URL); s["state"] != "expired" {
		t.Errorf("second collection: %v, want expired", s)
	}
	// The TV now holds its credential: / sends it to its board.
	noFollow := &http.Client{Jar: tv.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/boards/ops" {
		t.Errorf("paired TV at /: %d to %q, want 303 to /boards/ops", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Another browser cannot collect a credential by knowing the code.
	other, _ := e.tv(t)
	if s := waitState(t, other, e.srv.URL); s["state"] == "paired" {
		t.Error("a second browser collected a credential")
	}
}

func TestPairCodesExpiredReusedGuessedRefusedAlike(t *testing.T) {
	e := startFleet(t)
	tv, used := e.tv(t)
	if st, body := e.approve(t, used, fleetAdmin); st != 200 {
		t.Fatalf("approve: %d %s", st, body)
	}
	bodies := map[string]string{}
	check := func(name, code string) {
		t.Helper()
		st, body := e.approve(t, code, fleetAdmin)
		if st != http.StatusForbidden {
			t.Errorf("%s code: %d %s, want 403", name, st, body)
		}
		bodies[name] = body
	}
	// Used, its TV not yet collected the credential; then collected.
	check("reused", used)
	waitState(t, tv, e.srv.URL)
	check("reused after collection", used)
	check("guessed", "ZZZZZZ")
	_, old := e.tv(t)
	e.advance(pairCodeTTL + time.Second)
	check("expired", old)
	for name, b := range bodies {
		if b != bodies["guessed"] {
			t.Errorf("the answers tell the cases apart: %s %q, guessed %q", name, b, bodies["guessed"])
		}
	}
	t.Logf("refusal: %s", bodies["guessed"])
}

func TestPairGuessingRateLimitedPerAddress(t *testing.T) {
	e := startFleet(t)
	_, good := e.tv(t)
	for i := range pairFailLimit {
		if st, _ := e.approve(t, "ZZZZZ"+string(pairAlphabet[i]), fleetAdmin); st != http.StatusForbidden {
			t.Fatalf("guess %d: %d, want 403", i, st)
		}
	}
	// Over the limit even the right code is refused: guessing stops.
	if st, body := e.approve(t, good, fleetAdmin); st != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong codes: %d %s, want 429", pairFailLimit, st, body)
	}
	e.advance(pairFailWindow + time.Second)
	if _, good = e.tv(t); true {
		if st, body := e.approve(t, good, fleetAdmin); st != 200 {
			t.Errorf("after the window: %d %s, want 200", st, body)
		}
	}
}

func TestFleetNeedsAdminToken(t *testing.T) {
	e := startFleet(t)
	_, code := e.tv(t)
	if st, _ := e.approve(t, code, ""); st != http.StatusUnauthorized {
		t.Errorf("approve without token: %d, want 401", st)
	}
	if st, _ := e.approve(t, code, "wrong"); st != http.StatusUnauthorized {
		t.Errorf("approve with a wrong token: %d, want 401", st)
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/admin/screens"}, {"GET", "/admin/screens?part=table"},
		{"POST", "/admin/screens/x/reload"}, {"POST", "/admin/screens/x/show"}, {"POST", "/admin/screens/x/revoke"},
		{"POST", "/admin/screens/x/identify"}, {"POST", "/admin/screens/x/lobby"},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without token: %d, want 401", tc.method, tc.path, resp.StatusCode)
		}
	}
	// A form posted from another site is refused even with credentials.
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/screens/x/reload", nil)
	req.SetBasicAuth("admin", fleetAdmin)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", resp.StatusCode)
	}
	// With the token (basic auth, as a browser sends it) the page opens.
	req, _ = http.NewRequest("GET", e.srv.URL+"/admin/screens?code="+code, nil)
	req.SetBasicAuth("admin", fleetAdmin)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `value="`+code+`"`) {
		t.Errorf("fleet page with token: %d, code %s not prefilled", resp.StatusCode, code)
	}
}

func TestBrowserOf(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36":                                   "Headless Chrome 131 on Linux",
		"Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233) AppleWebKit/537.36 (KHTML, like Gecko) Silk/112.3.1 like Chrome/112.0.5615.213 Safari/537.36": "Silk 112 on Fire TV",
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36":                                  "Chrome 120 on ChromeOS",
		"": "unknown browser",
	} {
		if got := browserOf(ua); got != want {
			t.Errorf("browserOf(%q) = %q, want %q", ua, got, want)
		}
	}
}

// In screens mode a paired TV is let in by its own credential, /pair is
// open to a TV without one, and a revoked TV is sent back to /pair.
func TestPairedScreenInScreensMode(t *testing.T) {
	acc, err := NewAccess(board.AccessConfig{Mode: board.AccessScreens}, fleetAdmin, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e := startFleetAccess(t, acc)
	get := func(c *http.Client, path string) (int, string) {
		nf := &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := nf.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	tv, code := e.tv(t) // /pair answered without any credential
	if st, _ := get(&http.Client{}, "/boards/ops"); st != http.StatusForbidden {
		t.Fatalf("no credential: %d, want 403", st)
	}
	if st, body := e.approve(t, code, fleetAdmin); st != 200 {
		t.Fatalf("approve: %d %s", st, body)
	}
	waitState(t, tv, e.srv.URL)
	if st, _ := get(tv, "/boards/ops"); st != 200 {
		t.Fatalf("paired TV: %d, want 200", st)
	}
	var id string
	for sid := range e.fleet.screens {
		id = sid
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/screens/"+id+"/revoke", nil)
	req.Header.Set("Authorization", "Bearer "+fleetAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st, loc := get(tv, "/boards/ops"); st != http.StatusSeeOther || loc != "/pair" {
		t.Errorf("revoked TV: %d to %q, want 303 to /pair", st, loc)
	}
	if _, ok := e.fleet.paired("anything"); ok {
		t.Error("an unknown credential is paired")
	}
}

// A paired screen's websocket gets the fleet's commands, and when it goes
// the fleet page says since when it is lost.
func TestPairedScreenCommandsAndLostSince(t *testing.T) {
	e := startFleet(t)
	tv, code := e.tv(t)
	if st, body := e.approve(t, code, fleetAdmin); st != 200 {
		t.Fatalf("approve: %d %s", st, body)
	}
	waitState(t, tv, e.srv.URL)
	u, _ := url.Parse(e.srv.URL)
	hdr := http.Header{}
	for _, c := range tv.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/boards/ops/ws", hdr)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	e.fleet.mu.Lock()
	for sid := range e.fleet.screens {
		id = sid
	}
	e.fleet.mu.Unlock()
	waitFor(t, "the screen counted as connected", func() bool { return e.fleetRow(t, id).Connected })

	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/screens/"+id+"/identify", nil)
	req.Header.Set("Authorization", "Bearer "+fleetAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("no identify command on the websocket: %v", err)
		}
		if strings.Contains(string(msg), `data-cmd="identify"`) && strings.Contains(string(msg), `data-arg="Lobby TV"`) {
			break
		}
	}
	conn.Close()
	waitFor(t, "the screen counted as lost", func() bool { return !e.fleetRow(t, id).Connected })
	if got := e.fleetRow(t, id).State(); got != "lost since 09:00" {
		t.Errorf("state %q, want lost since 09:00", got)
	}
}

func (e *fleetEnv) fleetRow(t *testing.T, id string) views.FleetScreen {
	t.Helper()
	for _, s := range e.fleetSrv.fleetData(context.Background(), "").Screens {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("screen %s not on the fleet page", id)
	return views.FleetScreen{}
}

// A screen showing a playlist is left alone on the playlist's boards, and
// sent to its playlist from any other board.
func TestPlaylistScreenSentToItsTarget(t *testing.T) {
	e := startFleet(t)
	tv, code := e.tv(t)
	form := url.Values{"code": {code}, "name": {"Hall"}, "target": {"/playlists/office"}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/admin/screens/pair", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+fleetAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := waitState(t, tv, e.srv.URL); s["url"] != "/playlists/office" {
		t.Fatalf("paired: %v", s)
	}
	u, _ := url.Parse(e.srv.URL)
	hdr := http.Header{}
	for _, c := range tv.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	id := ""
	e.fleet.mu.Lock()
	for sid := range e.fleet.screens {
		id = sid
	}
	e.fleet.mu.Unlock()
	// firstCmd returns the command a new websocket of board gets on
	// connect ("" for none): a command is offered before the screen counts
	// as connected, so a marker published after that (under a key of its
	// own, so it comes after everything queued) ends what came with it.
	firstCmd := func(boardID string) string {
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/boards/"+boardID+"/ws", hdr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			conn.Close()
			waitFor(t, "the screen counted as gone", func() bool { return !e.fleetRow(t, id).Connected })
		}()
		waitFor(t, "the screen counted as connected", func() bool { return e.fleetRow(t, id).Connected })
		if err := e.fleetSrv.publish(boardID, "test-marker", e.fleetSrv.nextSeq(), views.Command("mark", "", "m")); err != nil {
			t.Fatal(err)
		}
		got := ""
		for {
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, msg, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("board %s: %v", boardID, err)
			}
			switch m := string(msg); {
			case strings.Contains(m, `data-cmd="go"`):
				got = m
			case strings.Contains(m, `data-cmd="mark"`):
				return got
			}
		}
	}
	if m := firstCmd("ops"); m != "" {
		t.Errorf("a playlist board was sent away: %s", m)
	}
	if m := firstCmd("lab"); !strings.Contains(m, `data-arg="/playlists/office"`) {
		t.Errorf("another board was not sent to the playlist: %q", m)
	}
}

// Two servers on one store stand for two replicas: a code shown by A is
// approved on B and collected on A; B's fleet page shows the screen
// connected to A, then lost once A stops writing (gone without a word).
func TestFleetPresenceAcrossServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	a, b := startFleetOn(t, nil, path), startFleetOn(t, nil, path)
	b.fleet.now = a.fleet.now // one clock
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { a.fleetSrv.SharePresence(ctxA, "A") })
	wg.Go(func() { b.fleetSrv.SharePresence(ctxB, "B") })
	t.Cleanup(func() { stopA(); stopB(); wg.Wait() })

	tv, code := a.tv(t)
	st, body := b.approve(t, code, fleetAdmin)
	if st != 200 {
		t.Fatalf("approve A's code on B: %d %s", st, body)
	}
	var got struct{ ID string }
	json.Unmarshal([]byte(body), &got)
	if s := waitState(t, tv, a.srv.URL); s["state"] != "paired" {
		t.Fatalf("A's wait after B approved: %v, want paired", s)
	}
	u, _ := url.Parse(a.srv.URL)
	hdr := http.Header{}
	for _, c := range tv.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.srv.URL, "http")+"/boards/ops/ws", hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitFor(t, "B's fleet page showing the screen connected to A", func() bool { return b.fleetRow(t, got.ID).Connected })

	stopA()
	a.advance(presenceStale + time.Second)
	row := b.fleetRow(t, got.ID)
	if row.Connected || row.State() != "lost since 09:00" {
		t.Errorf("B's fleet page after A stopped writing: %q (connected %v), want lost since 09:00", row.State(), row.Connected)
	}
}
