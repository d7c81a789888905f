package app

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const retroConfig = `
sources:
  - {id: dora, kind: events, postmortem_label: postmortem}
webhooks:
  events:
    secret: {env: WB_TEST_EVENTS_TOKEN}
boards:
  - id: ship
    title: Shipping
    tiles:
      - {id: keys, kind: fourkeys, title: Four Keys, source: dora, interval: 1h, span: 2, query: {service: api}}
  - id: ship-ja
    title: 出荷
    locale: ja
    tiles:
      - {id: keys, kind: fourkeys, title: Four Keys, source: dora, interval: 1h, span: 2, query: {service: api}}
`

// Issue 16 point 6: GET /boards/{id}/retro lists the period's deployments,
// incidents with their postmortem state, the alerts that fired (noisiest
// first) and each Four Keys figure against the period before; ?since=
// narrows the period; English and Japanese.
func TestRetroView(t *testing.T) {
	t.Setenv("WB_TEST_EVENTS_TOKEN", "tok-123")
	_, base, _ := start(t, Options{}, retroConfig)
	send := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-123")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
	}
	now := time.Now().UTC()
	day := 24 * time.Hour
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	dep := func(id, sha string, ago time.Duration) {
		send("/api/v1/events/deployments", fmt.Sprintf(`{"id":%q,"service":"api","sha":%q,"finished_at":%q,"author":"ann","changes":[{"sha":"c-%s","authored_at":%q}]}`, id, sha, ts(ago), id, ts(ago+2*time.Hour)))
	}
	// The period before (14..28 days ago): one deployment. This period:
	// three, the middle one failed (an incident 30 min after it).
	dep("d0", "0000000aaaa", 20*day)
	dep("d1", "1111111aaaa", 10*day)
	dep("d2", "2222222aaaa", 8*day)
	dep("d3", "3333333aaaa", 2*day)
	// Another team's service: not on this board's Four Keys tile.
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"w1","service":"web","sha":"9999999aaaa","finished_at":%q}`, ts(3*day)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"w-inc","service":"web","title":"web banner broken","started_at":%q,"resolved_at":%q}`, ts(3*day), ts(3*day-time.Hour)))
	// Rework: a deployment made for an incident (it names it).
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d4","service":"api","sha":"4444444aaaa","finished_at":%q,"incident":"inc-2","changes":[{"sha":"c-d4","authored_at":%q}]}`, ts(4*day), ts(4*day+time.Hour)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-1","service":"api","title":"checkout 500s","started_at":%q,"resolved_at":%q}`, ts(8*day-30*time.Minute), ts(8*day-90*time.Minute)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-2","service":"api","title":"slow search","started_at":%q,"resolved_at":%q,"labels":["postmortem"]}`, ts(6*day), ts(6*day-time.Hour)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-3","service":"api","title":"queue backlog","started_at":%q}`, ts(time.Hour)))
	for i := 0; i < 3; i++ {
		send("/api/v1/events/alerts", fmt.Sprintf(`{"id":"noisy-%d","title":"Disk almost full","severity":"warning"}`, i))
	}
	send("/api/v1/events/alerts", `{"id":"once","title":"Cert expires soon","severity":"warning","next_action":"Renew it"}`)

	page := get(t, base+"/boards/ship/retro")
	for _, want := range []string{"Retrospective", "4 deployments · 1 failed · 1 rework", "api 2222222", "api 4444444",
		"checkout 500s", "postmortem overdue", "slow search", "postmortem written", "queue backlog", ">open<",
		"Alerts that fired", "Deployments", "Lead time", "before: ",
		// The five DORA figures with the counts behind them, now and before.
		"Change failure rate", "Failed deployment recovery time", "Rework rate", ">1 of 4<", "(0 of 1)",
		">4 deployments<", "(1 deployments)", ">1 incidents<", ">rework<"} {
		if !strings.Contains(page, want) {
			t.Errorf("retro page lacks %q", want)
		}
	}
	if strings.Contains(page, "web 9999999") {
		t.Error("the retro lists a deployment of a service outside the board's Four Keys tiles")
	}
	if strings.Contains(page, "web banner broken") {
		t.Error("the retro lists an incident of a service outside the board's Four Keys tiles")
	}
	if strings.Contains(page, "api 0000000") {
		t.Error("the retro lists a deployment of the period before")
	}
	if !strings.Contains(page, "1 with a next action · 1 without") || !strings.Contains(page, "no next action") {
		t.Error("the retro does not split the alerts that fired by next action")
	}
	// The noisiest alert comes first.
	if i, j := strings.Index(page, "Disk almost full"), strings.Index(page, "Cert expires soon"); i < 0 || j < 0 || i > j {
		t.Errorf("alerts: noisy at %d, once at %d; want both, the noisiest first", i, j)
	}

	// ?since=3d: only the last deployment; the failed one is outside.
	short := get(t, base+"/boards/ship/retro?since=3d")
	if !strings.Contains(short, "1 deployments · 0 failed") || strings.Contains(short, "api 2222222") {
		t.Errorf("since=3d: the page does not show just the last deployment")
	}
	// Live: the page re-fetches itself (same period) and swaps its main in.
	for _, want := range []string{`hx-get="/boards/ship/retro?since=3d"`, `hx-trigger="every 60s"`, `hx-select="main.retro-view"`} {
		if !strings.Contains(short, want) {
			t.Errorf("since=3d: the page lacks %s (live refresh)", want)
		}
	}
	if resp, err := http.Get(base + "/boards/ship/retro?since=soon"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("since=soon: %v %v, want 400", resp.StatusCode, err)
	}
	if resp, err := http.Get(base + "/boards/nope/retro"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown board: %v, want 404", err)
	}

	ja := get(t, base+"/boards/ship-ja/retro")
	for _, want := range []string{"ふりかえり", "デプロイ 4 件 · 失敗 1 件 · 手戻り 1 件", "手戻り率", "失敗デプロイからの復旧時間", "4 件中 1 件", "ポストモーテム期限切れ", "ポストモーテム済み", "発火したアラート", "次の対応あり 1 · なし 1"} {
		if !strings.Contains(ja, want) {
			t.Errorf("Japanese retro lacks %q", want)
		}
	}
}

// Issue 16 point 6: the retro shows the error budget each SLO budget tile
// spent in the period, from the stored tile history, and says "no value
// from then" where the store has none from the period's start.
func TestRetroSLOBudget(t *testing.T) {
	a, base, _ := start(t, Options{}, `
sources:
  - {id: gcp, kind: gcm, project: proj, endpoint: "127.0.0.1:1", insecure: true}
boards:
  - id: slo
    title: SLOs
    tiles:
      - {id: avail, kind: stat, title: Checkout availability, source: gcp, interval: 1h, query: {slo: projects/proj/services/checkout/serviceLevelObjectives/avail, budget: true}}
      - {id: lat, kind: stat, title: Search latency, source: gcp, interval: 1h, query: {slo: projects/proj/services/search/serviceLevelObjectives/lat, budget: true}}
  - id: slo-ja
    title: SLO
    locale: ja
    tiles:
      - {id: lat, kind: stat, title: Search latency, source: gcp, interval: 1h, query: {slo: projects/proj/services/search/serviceLevelObjectives/lat, budget: true}}
`)
	now := time.Now()
	ctx := t.Context()
	for _, p := range []struct {
		tile string
		at   time.Time
		v    float64
	}{{"avail", now.Add(-3 * 24 * time.Hour), 0.8}, {"avail", now, 0.55}, {"lat", now, 0.9}} {
		if err := a.Store().RecordHistory(ctx, "slo", p.tile, p.at, p.v); err != nil {
			t.Fatal(err)
		}
	}
	page := get(t, base+"/boards/slo/retro?since=3d")
	for _, want := range []string{"SLO error budget spent", "Checkout availability", "25% spent (80% → 55%)", "Search latency", "no value from then"} {
		if !strings.Contains(page, want) {
			t.Errorf("retro page lacks %q", want)
		}
	}
	if ja := get(t, base+"/boards/slo-ja/retro?since=3d"); !strings.Contains(ja, "SLO エラーバジェット消費") || !strings.Contains(ja, "その時点の値がありません") {
		t.Error("the Japanese retro lacks the SLO budget heading or its no value from then")
	}
}

// Issue 16 point 6: a playlist entry "board/retro" puts the board's retro
// view into the rotation, as its own section beside the board itself, live
// at the board's retro.refresh; its socket carries no tile fragments.
func TestRetroPlaylistEntry(t *testing.T) {
	t.Setenv("WB_TEST_EVENTS_TOKEN", "tok-123")
	_, base, _ := start(t, Options{}, retroConfig+`    retro: {period: 7d, refresh: 5s}
playlists:
  - id: office
    boards: [ship, ship-ja/retro]
`)
	page := get(t, base+"/playlists/office")
	for _, want := range []string{`id="board-ship"`, `id="retro-ship-ja"`, `data-view="retro"`, `ws-connect="/boards/ship-ja/ws?retro"`,
		`hx-get="/boards/ship-ja/retro"`, `hx-trigger="every 5s"`, "ふりかえり", `class="tile kind-fourkeys`} {
		if !strings.Contains(page, want) {
			t.Errorf("playlist page lacks %s", want)
		}
	}
	if idx := get(t, base+"/"); !strings.Contains(idx, `href="/boards/ship-ja/retro"`) {
		t.Error("the index does not link the retro view")
	}
	// ?boards= takes the same entries.
	if q := get(t, base+"/boards/ship?rotate=30s&boards=ship-ja/retro"); !strings.Contains(q, `id="retro-ship-ja"`) || !strings.Contains(q, "ふりかえり") {
		t.Error("?rotate=30s&boards=ship-ja/retro does not rotate to the retro")
	}
	// The board's retro.period is the retro's default period.
	since := time.Now().Add(-7 * 24 * time.Hour).Format("2006-01-02")
	if !strings.Contains(get(t, base+"/boards/ship-ja/retro"), "ふりかえり · "+since) {
		t.Errorf("retro of ship-ja does not start at %s (retro.period: 7d)", since)
	}
}

// Issue 16 point 7: the retro judges postmortems and attributes incidents
// by the rule of the board's Four Keys source (postmortem_due, a linked
// postmortem document, attribution_window), as the board's tiles do.
func TestRetroFollowsTheSourcesRules(t *testing.T) {
	t.Setenv("WB_TEST_EVENTS_TOKEN", "tok-123")
	_, base, _ := start(t, Options{}, `
sources:
  - {id: dora, kind: events, postmortem_due: 1d, attribution_window: 1h}
webhooks:
  events:
    secret: {env: WB_TEST_EVENTS_TOKEN}
boards:
  - id: ship
    tiles:
      - {id: keys, kind: fourkeys, source: dora, interval: 1h, query: {service: api}}
`)
	send := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok-123")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	// A deployment 2 h before an incident: outside the 1 h window, so no
	// deployment failed. The incident was resolved 2 days ago: overdue by
	// a 1-day rule (due by the default 5 days). The other has its document.
	send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d1","service":"api","finished_at":%q}`, ts(52*time.Hour)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"i1","service":"api","title":"late one","started_at":%q,"resolved_at":%q}`, ts(50*time.Hour), ts(48*time.Hour)))
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"i2","service":"api","title":"documented one","started_at":%q,"resolved_at":%q,"postmortem_url":"https://docs.example.com/pm/2"}`, ts(30*time.Hour), ts(29*time.Hour)))
	page := get(t, base+"/boards/ship/retro")
	for _, want := range []string{"1 deployments · 0 failed", "postmortem overdue", "postmortem written"} {
		if !strings.Contains(page, want) {
			t.Errorf("retro lacks %q", want)
		}
	}
	if strings.Contains(page, "postmortem due") {
		t.Error("retro says a postmortem is due: not the source's 1-day rule, or a linked document not counted")
	}
}
