package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store/pgtest"
	"github.com/wallboard/wallboard/web"
)

// valueSource answers every query with its value, or fails with err.
type valueSource struct {
	mu    sync.Mutex
	value float64
	err   error
}

func (s *valueSource) Fetch(context.Context, board.Query) (board.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return board.Result{}, s.err
	}
	return board.Result{Value: board.F(s.value)}, nil
}

func (s *valueSource) set(v float64, err error) {
	s.mu.Lock()
	s.value, s.err = v, err
	s.mu.Unlock()
}

func pgConfig(url, secretFile string) string {
	return fmt.Sprintf(`
sources:
  - {id: hooks, kind: webhooks}
  - {id: fake, kind: demo}
webhooks:
  events:
    secret: {file: %s}
store:
  url: %s
  password: {env: WB_TEST_PG_PASSWORD}
boards:
  - id: ops
    tiles:
      - {id: alerts, kind: alerts, source: hooks}
      - {id: a, kind: stat, source: fake, query: requests, interval: 1s}
`, secretFile, url)
}

func httpStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestPostgresStoreDeliveryAndRestart: a Wallboard on PostgreSQL (config's
// store: with a password reference) stores a webhook delivery and shows it;
// a new Wallboard on the same database shows the alert again and the last
// tile value, marked stale, while its source still fails. The password never
// reaches the log.
func TestPostgresStoreDeliveryAndRestart(t *testing.T) {
	const token, password = "ev", "pg-secret-pw-1"
	t.Setenv("WB_TEST_PG_PASSWORD", password) // the test cluster trusts any
	cfg := apptest.WriteConfig(t, pgConfig(pgtest.URL(t), writeSecret(t, token)))
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	src := &valueSource{}
	src.set(123, nil)
	t.Run("first", func(t *testing.T) {
		a := apptest.Start(t, app.Options{ConfigPath: cfg, Logger: logger, Sources: map[string]poller.Source{"fake": src}})
		if !a.Store().Postgres() {
			t.Fatal("the config's store: did not select PostgreSQL")
		}
		post(t, "http://"+a.Addr(), "/api/v1/events/alerts", token, `{"id":"x1","title":"Site down","severity":"critical","next_action":"Call the CDN"}`)
		readUntil(t, a.Addr(), "ops", 5*time.Second, "Site down")
		apptest.Eventually(t, 5*time.Second, "first poll", func() (bool, string) {
			tl := boardTiles(t, a, "ops")["a"]
			return tl.Value != nil, fmt.Sprintf("%+v", tl)
		})
		var n int
		if err := a.Store().DB.QueryRow(`SELECT count(*) FROM alerts WHERE id = ?`, "x1").Scan(&n); err != nil || n != 1 {
			t.Fatalf("alert rows in PostgreSQL: %d, %v", n, err)
		}
	}) // the app stops here, saving its tile state

	src.set(0, fmt.Errorf("still starting"))
	a := apptest.Start(t, app.Options{ConfigPath: cfg, Logger: logger, Sources: map[string]poller.Source{"fake": src}})
	readUntil(t, a.Addr(), "ops", 5*time.Second, "Site down", "Call the CDN")
	var tile web.APITile
	apptest.Eventually(t, 10*time.Second, "the restored tile after a failed poll", func() (bool, string) {
		tile = boardTiles(t, a, "ops")["a"]
		return tile.Error != "", fmt.Sprintf("%+v", tile)
	})
	if tile.Value == nil || fmt.Sprint(*tile.Value) != "123" || !tile.Stale {
		t.Errorf("after the restart the tile is %+v, want the last value 123, stale", tile)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the store password is in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "store: PostgreSQL") {
		t.Errorf("the log does not say which store runs:\n%s", logs.String())
	}
}

// TestPostgresOutage: while PostgreSQL is down, /readyz answers 503 and
// /livez 200, webhooks answer 503 (not stored, the sender retries) and the
// tiles keep their state; once it is back, the same Wallboard is ready and
// stores webhooks again without a restart. A database missing a migration
// is not ready either.
func TestPostgresOutage(t *testing.T) {
	const token = "ev"
	cfg := apptest.WriteConfig(t, strings.Replace(pgConfig("postgres://unused@127.0.0.1:1/unused", writeSecret(t, token)),
		"store:\n  url: postgres://unused@127.0.0.1:1/unused\n  password: {env: WB_TEST_PG_PASSWORD}\n", "", 1))
	src := &valueSource{}
	src.set(7, nil)
	a := apptest.Start(t, app.Options{ConfigPath: cfg, Store: pgtest.URL(t), Sources: map[string]poller.Source{"fake": src}})
	base := "http://" + a.Addr()
	if code, body := httpStatus(t, base+"/readyz"); code != 200 || body != "ok" {
		t.Fatalf("/readyz before the outage: %d %q", code, body)
	}
	apptest.Eventually(t, 5*time.Second, "first poll", func() (bool, string) {
		tl := boardTiles(t, a, "ops")["a"]
		return tl.Value != nil, fmt.Sprintf("%+v", tl)
	})
	alert := func(id string) (int, string) {
		return postRaw(t, base+"/api/v1/events/alerts", map[string]string{"Authorization": "Bearer " + token},
			`{"id":"`+id+`","title":"Disk full `+id+`","severity":"warning"}`)
	}
	if err := pgtest.Shared(t).Restart(func() {
		code, body := httpStatus(t, base+"/readyz")
		if code != http.StatusServiceUnavailable || body != "not ready: store unreachable" {
			t.Errorf("/readyz during the outage: %d %q, want 503 not ready: store unreachable", code, body)
		}
		if code, _ := httpStatus(t, base+"/livez"); code != 200 {
			t.Errorf("/livez during the outage: %d, want 200", code)
		}
		if code, body := alert("during"); code != http.StatusServiceUnavailable {
			t.Errorf("webhook during the outage: %d %q, want 503", code, body)
		}
		if tl := boardTiles(t, a, "ops")["a"]; tl.Value == nil || fmt.Sprint(*tl.Value) != "7" {
			t.Errorf("tile during the outage: %+v, want its value 7", tl)
		}
	}); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "ready again after the outage", func() (bool, string) {
		code, body := httpStatus(t, base+"/readyz")
		return code == 200, fmt.Sprintf("%d %q", code, body)
	})
	if code, body := alert("after"); code != 200 {
		t.Errorf("webhook after the outage: %d %q, want 200", code, body)
	}
	readUntil(t, a.Addr(), "ops", 5*time.Second, "Disk full after")

	if _, err := a.Store().DB.Exec(`DELETE FROM schema_migrations WHERE name = ?`, "0009_screens.sql"); err != nil {
		t.Fatal(err)
	}
	if code, body := httpStatus(t, base+"/readyz"); code != http.StatusServiceUnavailable || body != "not ready: store migrations not applied" {
		t.Errorf("/readyz with a migration missing: %d %q", code, body)
	}
}

// TestPostgresWebhookDuringShutdown: a webhook a replica accepts while it
// shuts down is stored and still announced: the other replica's screens
// get its takeover (the replica is closed only once the HTTP side is).
func TestPostgresWebhookDuringShutdown(t *testing.T) {
	const token = "ev"
	t.Setenv("WB_TEST_PG_PASSWORD", "pw")
	cfg := apptest.WriteConfig(t, pgConfig(pgtest.URL(t), writeSecret(t, token)))
	a, stopA := apptest.StartStoppable(t, app.Options{ConfigPath: cfg})
	b := apptest.Start(t, app.Options{ConfigPath: cfg})

	deliverDuringShutdown(t, a, stopA, "/api/v1/events/alerts", token,
		`{"id":"x9","title":"Disk full","severity":"critical","next_action":"Grow it"}`)
	readUntil(t, b.Addr(), "ops", 5*time.Second, `id="wb-alert-ops"`, "Disk full")
}

// A Wallboard that cannot join the replicas sharing its PostgreSQL (here
// Run's context is already over) returns an error from Run having closed
// what New opened: its port no longer accepts connections and its store is
// closed, so a supervisor's restart finds nothing of it left behind.
func TestRunThatCannotJoinTheReplicasClosesWhatNewOpened(t *testing.T) {
	t.Setenv("WB_TEST_PG_PASSWORD", "unused")
	cfg := apptest.WriteConfig(t, pgConfig(pgtest.URL(t), writeSecret(t, "ev")))
	a, err := app.New(context.Background(), app.Options{ConfigPath: cfg, Addr: "127.0.0.1:0", DataDir: t.TempDir(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Run(ctx); err == nil {
		t.Fatal("Run joined the replicas with a context that was over")
	}
	if c, err := net.DialTimeout("tcp", a.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("the port still accepts connections after Run returned")
	}
	if err := a.Store().DB.Ping(); err == nil {
		t.Error("the store is still open after Run returned")
	}
}

// A Four Keys delivery accepted while one replica shuts down is announced to
// the others: the replica holding the Four Keys tile's lease polls it (its
// interval is an hour, so only the announcement can refresh it) and its
// screens show the deployment.
func TestPostgresFourKeysDeliveryDuringShutdownIsAnnounced(t *testing.T) {
	const token = "ev"
	t.Setenv("WB_TEST_PG_PASSWORD", "pw")
	cfg := apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - {id: dora, kind: events}
webhooks:
  events:
    secret: {file: %s}
store:
  url: %s
  password: {env: WB_TEST_PG_PASSWORD}
boards:
  - id: ops
    tiles:
      - {id: keys, kind: fourkeys, source: dora, query: {scope: all}, interval: 1h}
`, writeSecret(t, token), pgtest.URL(t)))
	// B starts first and takes the tile's lease; A only serves.
	b := apptest.Start(t, app.Options{ConfigPath: cfg})
	leases := regexp.MustCompile(`(?m)^wallboard_leases_held (\S+)$`)
	apptest.Eventually(t, 10*time.Second, "B holds the Four Keys tile's lease", func() (bool, string) {
		_, m := httpStatus(t, "http://"+b.Addr()+"/metrics")
		g := leases.FindStringSubmatch(m)
		return g != nil && g[1] == "1", fmt.Sprint(g)
	})
	apptest.Eventually(t, 10*time.Second, "B's first poll", func() (bool, string) {
		tl := boardTiles(t, b, "ops")["keys"]
		return !tl.UpdatedAt.IsZero(), fmt.Sprintf("%+v", tl)
	})
	a, stopA := apptest.StartStoppable(t, app.Options{ConfigPath: cfg})
	deliverDuringShutdown(t, a, stopA, "/api/v1/events/deployments", token,
		fmt.Sprintf(`{"id":"d1","service":"api","finished_at":%q}`, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)))
	apptest.Eventually(t, 10*time.Second, "B's Four Keys tile counts the deployment", func() (bool, string) {
		tl := boardTiles(t, b, "ops")["keys"]
		return tl.Value != nil && *tl.Value > 0, fmt.Sprintf("value %v, updated %v", tl.Value, tl.UpdatedAt)
	})
}

// deliverDuringShutdown posts body to path on a while a is shutting down: the
// request is under way (its headers answered 100 Continue, part of its body
// sent) when stop begins, and the rest of the body follows once a's screens
// were told to go. The delivery must be accepted; it returns after a stopped.
func deliverDuringShutdown(t *testing.T, a *app.App, stop func(), path, token, body string) {
	t.Helper()
	screen, _, err := websocket.DefaultDialer.Dial("ws://"+a.Addr()+"/boards/ops/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer screen.Close()
	conn, err := net.Dial("tcp", a.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Expect: 100-continue: the answer says the handler reads the body, so
	// the request is under way when the shutdown begins.
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		path, a.Addr(), token, len(body))
	rd := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(rd, nil); err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("the delivery's headers: %v %v", resp, err)
	}
	fmt.Fprint(conn, body[:10])
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	// The shutdown has begun once the screens are told to go.
	screen.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if _, _, err := screen.ReadMessage(); err != nil {
			break
		}
	}
	fmt.Fprint(conn, body[10:])
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("the delivery during shutdown: HTTP %d", resp.StatusCode)
	}
	<-stopped
}
