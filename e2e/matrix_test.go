package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// matrixSource answers the matrix boards' queries: a request rate, a queue
// that answers once and then fails, a source that never answers, a latency
// series with an outage in it, endpoints whose names share a long prefix,
// and services with details.
type matrixSource struct{ queueCalls atomic.Int64 }

func (m *matrixSource) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	now := time.Now()
	switch q.Text {
	case "requests":
		return board.Result{Value: board.F(1234 + float64(now.Second()%3))}, nil
	case "queue_age":
		if m.queueCalls.Add(1) > 1 {
			return board.Result{}, errors.New("queue backend unreachable: dial tcp 10.0.0.7:5672: connect: connection refused")
		}
		return board.Result{Value: board.F(42)}, nil
	case "error_ratio":
		return board.Result{}, errors.New("metrics API: 403 Forbidden: permission monitoring.timeSeries.list denied on project shop-prod")
	case "latency_p99":
		var pts []board.Point
		for i := 60; i >= 0; i-- {
			if i > 25 && i < 35 {
				continue // an outage: no points for ten minutes
			}
			pts = append(pts, board.Point{T: now.Add(-time.Duration(i) * time.Minute), V: 0.21 + 0.03*math.Sin(float64(i)/5)})
		}
		return board.Result{Value: board.F(pts[len(pts)-1].V), Series: pts}, nil
	case "instances":
		return board.Result{Rows: []board.Row{
			{Label: "/api/v1/query_range?team=payments", Value: board.F(412)},
			{Label: "/api/v1/query_range?team=search", Value: board.F(377)},
			{Label: "/api/v1/query?team=payments", Value: board.F(120)},
			{Label: "/api/v1/series", Value: board.F(33)},
		}}, nil
	case "services":
		return board.Result{Rows: []board.Row{
			{Label: "billing", Value: board.F(0.09), Status: board.StatusCritical, Detail: "967 req/s"},
			{Label: "search", Value: board.F(0.02), Status: board.StatusWarn, Detail: "1064 req/s"},
			{Label: "api", Value: board.F(0.001), Status: board.StatusOK, Detail: "1273 req/s"},
		}}, nil
	case "cpu":
		return board.Result{Value: board.F(0.8)}, nil
	}
	return board.Result{Value: board.F(7)}, nil
}

// matrixConfig has every state on one server: a board whose alert takes
// over (ops), the same board with a 1 s takeover that turns into a banner
// (wall), a Japanese board, a board that will go stale (quiet), a playlist,
// Four Keys boards whose retro views are measured (delivery, delivery-ja)
// and boards with a security tile (sec, sec-ja).
func matrixConfig(secret string) string {
	tiles := func(prefix string) string {
		return `
      - {id: req, kind: stat, title: ` + prefix + `Requests, source: fake, query: requests, unit: req/s, interval: 1s}
      - {id: queue, kind: stat, title: ` + prefix + `Queue age, source: fake, query: queue_age, unit: s, interval: 1s}
      - {id: never, kind: stat, title: ` + prefix + `Checkout errors, source: fake, query: error_ratio, unit: ratio, interval: 5s}
      - {id: cpu, kind: gauge, title: ` + prefix + `CPU of the checkout nodes, source: fake, query: cpu, unit: ratio, interval: 5s, thresholds: {warn: 0.75, critical: 0.9}}
      - {id: lat, kind: timeseries, title: ` + prefix + `Latency p99, source: fake, query: latency_p99, unit: s, interval: 5s, span: 2, thresholds: {warn: 0.3, critical: 0.5}}
      - {id: endpoints, kind: bar, title: ` + prefix + `Busiest endpoints, source: fake, query: instances, unit: req/s, interval: 5s}
      - {id: alerts, kind: alerts, title: ` + prefix + `Alerts, source: hooks}
      - {id: services, kind: list, title: ` + prefix + `Errors by service, source: fake, query: services, unit: ratio, interval: 5s, span: 2}
      - {id: alerts2, kind: alerts, title: ` + prefix + `Open alerts, source: hooks, span: 2}`
	}
	return fmt.Sprintf(`
sources:
  - {id: fake, kind: demo}
  - {id: hooks, kind: webhooks}
  - {id: dora, kind: events}
  - {id: gh, kind: github, repos: [platform-org/checkout-frontend]}
webhooks:
  events:
    secret: {file: %s}
boards:
  - id: ops
    title: Checkout operations
    takeover: 1h
    columns: 4
    tiles:%s
  - id: wall
    title: Checkout wall
    takeover: 1s
    columns: 4
    tiles:%s
  - id: ja
    title: 決済基盤の運用
    locale: ja
    takeover: 1s
    columns: 4
    tiles:%s
  - id: quiet
    title: Quiet board
    columns: 3
    tiles:
      - {id: req, kind: stat, title: Requests, source: fake, query: requests, unit: req/s, interval: 1h}
      - {id: cpu, kind: gauge, title: CPU, source: fake, query: cpu, unit: ratio, interval: 1h, thresholds: {warn: 0.75, critical: 0.9}}
      - {id: services, kind: list, title: Errors by service, source: fake, query: services, unit: ratio, interval: 1h}
  - id: delivery
    title: Delivery
    columns: 4
    tiles:
      - {id: keys, kind: fourkeys, title: Four Keys, source: dora, interval: 1h, span: 4, row_span: 2}
      - {id: deploys, kind: deploys, title: Latest deployments, source: dora, interval: 1h, span: 4, limit: 5}
  - id: keys
    title: Four Keys alone
    tiles:
      - {id: keys, kind: fourkeys, title: Four Keys, source: dora, interval: 1h, span: 2}
  - id: delivery-ja
    title: デリバリー
    locale: ja
    columns: 4
    tiles:
      - {id: keys, kind: fourkeys, title: Four Keys, source: dora, interval: 1h, span: 4, row_span: 2}
      - {id: deploys, kind: deploys, title: 最近のデプロイ, source: dora, interval: 1h, span: 4, limit: 5}
  - id: sec
    title: Security
    columns: 3
    tiles:
      - {id: baseline, kind: security, title: Security baseline, source: gh, span: 2, interval: 1s}
      - {id: req, kind: stat, title: Requests, source: fake, query: requests, unit: req/s, interval: 1s}
  - id: sec-ja
    title: セキュリティ
    locale: ja
    columns: 3
    tiles:
      - {id: baseline, kind: security, title: セキュリティの基準, source: gh, span: 2, interval: 1s}
      - {id: req, kind: stat, title: リクエスト, source: fake, query: requests, unit: req/s, interval: 1s}
playlists:
  - {id: office, boards: [wall, ja, delivery/retro], every: 1h}
`, secret, tiles(""), tiles(""), tiles("日本語 "))
}

// matrixAlerts are the open alerts: one critical with a long next action
// and a runbook, and three that are listed only.
var matrixAlerts = []string{
	`{"id":"m1","title":"Checkout error ratio above 5 % for 10 minutes","severity":"critical","resource":"checkout-api (europe-west1)","runbook_url":"https://runbooks.example.com/checkout/error-ratio-above-threshold","next_action":"1. Open the checkout dashboard and check the last deploy.\n2. If the deploy is under 30 minutes old, roll it back: make rollback SERVICE=checkout.\n3. Otherwise page the payments on-call."}`,
	`{"id":"m2","title":"Disk almost full on db-7","severity":"warning","resource":"db-7","next_action":"Expand the volume"}`,
	`{"id":"m3","title":"Certificate expires in 6 days","severity":"info","resource":"shop.example.com"}`,
	`{"id":"m4","title":"Search latency p99 above 800 ms","severity":"error","resource":"search-api","next_action":"Check the index rebuild"}`,
}

// TestLayoutEveryStateEverySize runs every view in every state at every
// screen size in one Chromium tab (resized, not reopened) and fails on
// overflow that is not an intended ellipsis, scrollbars, text under the
// minimum, contrast below 4.5:1 and console errors.
func TestLayoutEveryStateEverySize(t *testing.T) {
	const token = "matrix-token"
	s := StartServer(t, ServerOptions{Config: matrixConfig(SecretFile(t, token)),
		Sources: map[string]poller.Source{"fake": &matrixSource{}, "gh": securityFake{}}})
	for _, a := range matrixAlerts {
		s.PostAlert(t, token, a)
	}
	// The retro's period: deployments (one failed, one rework) and
	// incidents open, due, overdue and written, with long names.
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	for i := range 6 {
		ago := time.Duration(i+1) * 50 * time.Hour
		s.PostEvent(t, token, "/api/v1/events/deployments", fmt.Sprintf(`{"id":"md%d","service":"checkout-frontend-service","sha":"%07x0000","finished_at":%q,"author":"someone-with-a-long-name","changes":[{"sha":"mc%d","authored_at":%q}]}`,
			i, 0xabc000+i, ts(ago), i, ts(ago+3*time.Hour)))
	}
	for i, title := range []string{"Checkout answers 500 to a third of the requests after the payment provider's certificate rotation", "Slow search", "Queue backlog", "Login loop on Safari"} {
		resolved := fmt.Sprintf(`,"resolved_at":%q`, ts(time.Duration(40*i+20)*time.Hour))
		if i == 2 {
			resolved = ""
		}
		labels := ""
		if i == 1 {
			labels = `,"labels":["postmortem"]`
		}
		s.PostEvent(t, token, "/api/v1/events/incidents", fmt.Sprintf(`{"id":"mi%d","service":"checkout-frontend-service","title":%q,"started_at":%q%s%s}`, i, title, ts(time.Duration(40*i+49)*time.Hour), resolved, labels))
	}
	b := StartBrowser(t)
	// Each state: the page, what to wait for, and what to do to the page
	// before measuring (JS; "" for nothing).
	boardReady := `document.querySelectorAll('.board:not([hidden]) .tile[data-updated="0"]:not([data-error])').length === 0`
	states := []struct {
		name, path, ready, setup string
	}{
		{"takeover", "/boards/ops", `document.querySelector('.alert-layer.is-takeover .to-next')`, ""},
		{"banner+alerts+failing", "/boards/wall", boardReady + ` && document.querySelector('.alert-layer.is-banner') && document.querySelectorAll('#tile-wall-alerts2 .alert').length >= 2 && document.querySelector('#tile-wall-alerts2 .alerts-more') && document.querySelector('#tile-wall-queue.is-stale')`, ""},
		{"banner-light", "/boards/wall?theme=light", boardReady + ` && document.querySelector('.alert-layer.is-banner')`, ""},
		{"connection-lost", "/boards/wall", boardReady + ` && document.querySelector('.alert-layer.is-banner')`,
			// What htmx-ext-ws reports when the socket drops (1006: no reconnect
			// is scheduled by the page, so the state holds while measured).
			`(() => { const el = document.querySelector('.board'); el.dispatchEvent(new CustomEvent('htmx:wsClose', {bubbles: true, detail: {socketWrapper: null, event: {code: 1006}}})); return !document.querySelector('.conn').hidden; })()`},
		{"japanese", "/boards/ja", boardReady + ` && document.querySelector('.alert-layer.is-banner')`, ""},
		{"stale", "/boards/quiet", boardReady,
			// The board polls hourly; a 1 ms freshness limit makes its data stale now.
			`(() => { document.querySelectorAll('.tile').forEach(t => t.setAttribute('data-fresh', '1')); return true; })()`},
		{"playlist", "/playlists/office", boardReady, ""},
		// The playlist's retro entry, switched to.
		{"playlist-retro", "/playlists/office", boardReady, `(() => { while (wallboard.current() !== 'delivery/retro') wallboard.next(); return !document.getElementById('retro-delivery').hidden; })()`},
		// The Four Keys tile and the deploy feed, as the demo's delivery
		// board lays them out, in English and Japanese.
		{"fourkeys", "/boards/delivery", boardReady + ` && document.querySelector('#tile-delivery-keys .key-count')`, ""},
		// A Four Keys tile alone at span 2: the whole screen for it.
		{"fourkeys-alone", "/boards/keys", boardReady + ` && document.querySelector('#tile-keys-keys .key-count')`, ""},
		{"fourkeys-ja", "/boards/delivery-ja", boardReady + ` && document.querySelector('#tile-delivery-ja-keys .key-count')`, ""},
		{"retro", "/boards/delivery/retro", `document.querySelectorAll('.retro-view li').length >= 10`, ""},
		{"retro-ja", "/boards/delivery-ja/retro", `document.querySelectorAll('.retro-view li').length >= 10 && document.documentElement.lang === 'ja'`, ""},
		{"security", "/boards/sec", boardReady + ` && document.querySelector('#tile-sec-baseline .sev-counts')`, ""},
		{"security-ja", "/boards/sec-ja", boardReady, ""},
		{"index", "/", `document.querySelector('.board-list')`, ""},
		// Last: its known console errors (below) must not spill into another page's check.
		{"standup", "/boards/wall?standup", `true`, ""},
	}
	for _, st := range states {
		if st.name == "index" {
			b.Load(s.Base+st.path, screens[0].w, screens[0].h, st.ready)
		} else {
			b.Open(s.Base+st.path, screens[0].w, screens[0].h)
			b.WaitJS(st.ready, 30*time.Second)
		}
		if st.setup != "" {
			b.WaitJS(st.setup, 10*time.Second)
			b.Eval(`new Promise(r => setTimeout(() => r(true), 1100))`, nil) // one page tick
		}
		for _, sc := range screens {
			b.Resize(sc.w, sc.h)
			rep := checkScreen(t, b, st.name+" "+sc.name, sc.w, sc.h)
			if st.name == "takeover" {
				if !rep.Takeover {
					t.Errorf("takeover %s: no takeover on screen", sc.name)
				}
				switch sc.name { // docs/display.md shows these two
				case "1080p":
					b.SmallScreenshot("docs-takeover-landscape", 0.5)
				case "portrait-1080x1920":
					b.SmallScreenshot("docs-takeover-portrait", 0.4)
				}
			}
		}
		if st.name == "standup" {
			// Known and fixed apart (issue 18 point 8, the standup view's own
			// work): tile updates sent to the standup page have no target
			// there (htmx:oobErrorNoTarget). Logged here, not failed, until
			// that fix is in; every other page fails on any console error.
			if errs := b.TakeConsole(); len(errs) > 0 {
				t.Logf("standup: %d console errors (issue 18 point 8): %s", len(errs), errs[0])
			}
			continue
		}
		b.CheckConsole(st.name)
	}
}

// A landscape board leaves no hole that a later tile could fill: after two
// wide tiles on a 3-column board, the 1-column tiles move up beside them.
func TestLayoutPacksDensely(t *testing.T) {
	cfg := `
sources:
  - {id: demo, kind: demo}
boards:
  - id: oncall
    title: On call
    columns: 3
    tiles:
      - {id: a, kind: stat, title: A, source: demo, query: requests, interval: 1s, span: 2}
      - {id: b, kind: stat, title: B, source: demo, query: requests, interval: 1s, span: 2}
      - {id: c, kind: stat, title: C, source: demo, query: requests, interval: 1s}
      - {id: d, kind: stat, title: D, source: demo, query: requests, interval: 1s}
`
	s := StartServer(t, ServerOptions{Config: cfg})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/oncall", 1920, 1080)
	var holes int
	b.Eval(`(() => {
	  const g = document.querySelector('.grid').getBoundingClientRect();
	  const tiles = [...document.querySelectorAll('.tile')].map(t => t.getBoundingClientRect());
	  const rows = new Set(tiles.map(r => Math.round(r.top))).size;
	  const cellW = tiles.find((r, i) => i === 2).width; // c is one column wide
	  const area = tiles.reduce((s, r) => s + Math.round(r.width / cellW) * 1, 0);
	  return rows * 3 - area; // grid cells in the rows used, minus cells with a tile
	})()`, &holes)
	if holes != 0 {
		b.Screenshot("dense-oncall")
		t.Errorf("the 3-column board leaves %d empty cells: later tiles do not fill the holes", holes)
	}
}
