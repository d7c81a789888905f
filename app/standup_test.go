package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
)

// standupConfig is a team board with an alerts tile and a deployment feed,
// fed only by the HTTP event APIs.
const standupConfig = `
sources:
  - {id: hooks, kind: webhooks}
  - {id: dora, kind: events}
webhooks:
  events:
    secret: {env: WB_TEST_STANDUP_TOKEN}
boards:
  - id: team
    title: Team
    tiles:
      - {id: alerts, kind: alerts, title: Open alerts, source: hooks, interval: 1h}
      - {id: feed, kind: deploys, title: Deploys, source: dora, query: {service: api}, interval: 1h}
`

// post sends an authorised JSON body to the events API and fails on any
// answer but 200.
func post(t *testing.T, base, path, token, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d %s", path, resp.StatusCode, b)
	}
}

func getPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestStandupListsStoredEvents: a deployment and an alert posted through the
// HTTP APIs of a real app are listed on the board's standup page, and an
// alert closed before the period is not.
func TestStandupListsStoredEvents(t *testing.T) {
	const token = "standup-token"
	t.Setenv("WB_TEST_STANDUP_TOKEN", token)
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, standupConfig)})
	base := "http://" + a.Addr()
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }

	post(t, base, "/api/v1/events/deployments", token,
		fmt.Sprintf(`{"id":"d1","service":"api","sha":"4f2a9c1d","finished_at":%q,"author":"ann"}`, ts(2*time.Hour)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"disk","title":"Disk almost full on db-1","severity":"warning","started_at":%q}`, ts(time.Hour)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"cpu","title":"CPU saturated","severity":"critical","started_at":%q}`, ts(3*time.Hour)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"cpu","state":"closed","ended_at":%q}`, ts(90*time.Minute)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"old","title":"Last week's outage","severity":"critical","started_at":%q}`, ts(50*time.Hour)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"old","state":"closed","ended_at":%q}`, ts(49*time.Hour)))

	html := getPage(t, base+"/boards/team?since=24h")
	for _, want := range []string{"api", "4f2a9c1", "Disk almost full on db-1", "CPU saturated"} {
		if !strings.Contains(html, want) {
			t.Errorf("standup page lacks %q", want)
		}
	}
	if strings.Contains(html, "No deployments, incidents or alerts") {
		t.Error("standup page says nothing happened")
	}
	if strings.Contains(html, "Last week") {
		t.Error("standup page lists an alert of before the period")
	}
	// Each transition once: the resolved CPU alert is listed opened and closed.
	if n := strings.Count(html, "CPU saturated</span>"); n != 2 {
		t.Errorf("CPU saturated listed %d times, want 2 (opened, resolved)", n)
	}
	if t.Failed() {
		t.Logf("page: %s", html[strings.Index(html, "standup-view"):])
	}
}

// constant answers every query with its value.
type constant struct{ v float64 }

func (c constant) Fetch(context.Context, board.Query) (board.Result, error) {
	return board.Result{Value: board.F(c.v)}, nil
}

const historyConfig = `
sources:
  - {id: m, kind: demo}
boards:
  - id: team
    title: Team
    tiles:
      - {id: queue, kind: stat, title: Queue depth, source: m, query: queue_age, interval: 1s}
`

// TestStandupComparesWithStoredHistory: the standup compares with the value
// the tile had at the period's start, from the store's history, across a
// restart; where the store has no value from then it says so.
func TestStandupComparesWithStoredHistory(t *testing.T) {
	dir := t.TempDir()
	cfg := apptest.WriteConfig(t, historyConfig)
	ref := board.TileRef{Board: "team", Tile: "queue"}
	// A first run stores the tile's history as it polls, then stops.
	t.Run("first run", func(t *testing.T) {
		a := apptest.Start(t, app.Options{ConfigPath: cfg, DataDir: dir, Sources: map[string]poller.Source{"m": constant{150}}})
		apptest.Eventually(t, 20*time.Second, "first poll", func() (bool, string) {
			_, st, _ := a.Live().Tile(ref)
			return st.Value != nil, ""
		})
	})
	// The day before, the queue held 40 (as a run then would have stored).
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "wallboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	yesterday := time.Now().Add(-24 * time.Hour)
	if err := st.RecordHistory(ctx, "team", "queue", yesterday.Add(-3*time.Minute), 40); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := st.ValueAt(ctx, "team", "queue", time.Now()); err != nil || !ok || p.V != 150 {
		t.Errorf("stored value of the first run = %v, %v, %v; want 150", p, ok, err)
	}
	st.Close()

	a := apptest.Start(t, app.Options{ConfigPath: cfg, DataDir: dir, Sources: map[string]poller.Source{"m": constant{200}}})
	base := "http://" + a.Addr()
	apptest.Eventually(t, 20*time.Second, "a poll of the second run", func() (bool, string) {
		_, st, _ := a.Live().Tile(ref)
		return st.Value != nil && *st.Value == 200, ""
	})
	move := func(html string) string {
		i := strings.Index(html, `<ul class="moves">`)
		j := strings.Index(html, `</ul>`)
		if i < 0 || j < i {
			return ""
		}
		return html[i:j]
	}
	m := move(getPage(t, base+"/boards/team?since=24h"))
	if !strings.Contains(m, `<span class="move-from">40</span>`) || !strings.Contains(m, `<span class="move-to">200</span>`) {
		t.Errorf("since 24 h: want 40 → 200, got %s", m)
	}
	m = move(getPage(t, base+"/boards/team?since=72h"))
	if !strings.Contains(m, "no value from then") || strings.Contains(m, `<span class="move-from">40</span>`) {
		t.Errorf("since 72 h (nothing stored then): want \"no value from then\", got %s", m)
	}
}

// TestDemoOnLAN: the built-in demo on a non-loopback address needs an access
// mode; Options.Access (wallboard -access open, make run ACCESS=open) gives
// the one that shows it to a TV on the LAN.
func TestDemoOnLAN(t *testing.T) {
	_, err := app.New(context.Background(), app.Options{Addr: "0.0.0.0:0", DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "access mode") {
		t.Fatalf("demo on 0.0.0.0 without an access mode: err = %v, want the access mode refusal", err)
	}
	a := apptest.Start(t, app.Options{Addr: "0.0.0.0:0", Access: "open"})
	_, port, _ := strings.Cut(a.Addr(), "]:")
	if port == "" {
		_, port, _ = strings.Cut(a.Addr(), ":")
	}
	getPage(t, "http://127.0.0.1:"+port+"/boards/demo")
}

// TestDemoTeamBoard: the built-in demo has a team board with system health,
// the open alerts with their next action (the demo's critical alert fires
// about 10 s after start and takes the screen over), and in a git checkout
// the Four Keys and the delivery feed; the index links every board, the
// playlists and the standup views.
func TestDemoTeamBoard(t *testing.T) {
	a := apptest.Start(t, app.Options{})
	base := "http://" + a.Addr()

	index := getPage(t, base+"/")
	for _, want := range []string{`href="/boards/demo"`, `href="/boards/team"`, `href="/boards/delivery"`,
		`href="/playlists/demo"`, `href="/boards/team?standup"`} {
		if !strings.Contains(index, want) {
			t.Errorf("index lacks %s", want)
		}
	}
	var kinds []string
	for _, b := range a.Config().Boards {
		if b.ID != "team" {
			continue
		}
		for _, tl := range b.Tiles {
			kinds = append(kinds, tl.Kind)
		}
	}
	for _, want := range []string{"stat", "alerts", "fourkeys", "deploys"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("team board tile kinds %v lack %s", kinds, want)
		}
	}
	if t.Failed() {
		return
	}
	ref := board.TileRef{Board: "team", Tile: "alerts"}
	var crit *board.Alert
	apptest.Eventually(t, 40*time.Second, "a critical demo alert on the team board", func() (bool, string) {
		_, st, _ := a.Live().Tile(ref)
		for i, al := range st.Alerts {
			if al.Severity == board.SeverityCritical {
				crit = &st.Alerts[i]
			}
		}
		return crit != nil, fmt.Sprintf("alerts: %+v", st.Alerts)
	})
	if crit.NextAction == "" {
		t.Errorf("the demo's critical alert has no next action: %+v", crit)
	}
	// A screen of the team board gets the takeover with the next action.
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+a.Addr()+"/boards/team/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("no takeover with the next action on the team board's websocket: %v", err)
		}
		if strings.Contains(string(msg), "is-takeover") && strings.Contains(string(msg), "Roll back checkout") {
			break
		}
	}
}
