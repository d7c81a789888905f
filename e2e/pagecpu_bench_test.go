package e2e

import (
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
)

// BenchmarkPageCPU keeps a page open in headless Chromium at 1920x1080 and
// reports how busy its main thread is, as a share of one core: the growth of
// Performance.getMetrics' TaskDuration (and its layout, style recalculation
// and script parts) over a window of PAGECPU_WINDOW (default 60 s), for the
// demo board, the team board, the team board's standup view and an idle page
// (the index), with the main thread's and the renderer process's CPU time
// over the same window. A TV's browser has a fraction of a laptop's CPU.
//
// Run: go test -run '^$' -bench PageCPU -benchtime 1x ./e2e/
func BenchmarkPageCPU(b *testing.B) {
	window := time.Minute
	if v := os.Getenv("PAGECPU_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("PAGECPU_WINDOW: %v", err)
		}
		window = d
	}
	s := StartServer(b, ServerOptions{})
	br := StartBrowser(b)
	Call(br, performance.Enable, performance.EnableParams{})
	metrics := func() map[string]float64 {
		r := Call(br, performance.GetMetrics, cdp.Empty{})
		out := map[string]float64{}
		for _, m := range r.Metrics {
			out[m.Name] = m.Value
		}
		return out
	}
	for _, p := range []struct{ name, path string }{
		{"demo", "/boards/demo"},
		{"team", "/boards/team"},
		{"standup", "/boards/team?standup"},
		{"idle", "/"},
	} {
		b.Run(p.name, func(b *testing.B) {
			for range b.N {
				if p.path == "/" {
					br.Run(30*time.Second, chromedp.EmulateViewport(1920, 1080, chromedp.EmulateLandscape), chromedp.Navigate(s.Base+p.path))
				} else {
					br.Open(s.Base+p.path, 1920, 1080)
				}
				time.Sleep(3 * time.Second) // first messages and settling are not steady state
				br.Eval(`(() => { window.__pagecpuMsgs = 0;
				  document.body.addEventListener('htmx:wsBeforeMessage', () => window.__pagecpuMsgs++); return true; })()`, nil)
				m0, t0 := metrics(), time.Now()
				time.Sleep(window)
				m1, wall := metrics(), time.Since(t0).Seconds()
				var msgs float64
				br.Eval(`window.__pagecpuMsgs`, &msgs)
				// Websocket messages a second: the work that does not come
				// from the page's own timers.
				b.ReportMetric(msgs/wall, "msgs/s")
				share := func(k string) float64 { return 100 * (m1[k] - m0[k]) / wall }
				b.ReportMetric(share("TaskDuration"), "%core")
				b.ReportMetric(share("LayoutDuration"), "%layout")
				b.ReportMetric(share("RecalcStyleDuration"), "%style")
				b.ReportMetric(share("ScriptDuration"), "%script")
				// CPU time, not wall time: TaskDuration grows while the main
				// thread waits for a core on a busy machine, ThreadTime (the
				// main thread's CPU time) and ProcessTime (the renderer's)
				// do not, so these compare runs under different loads.
				b.ReportMetric(share("ThreadTime"), "%thread-cpu")
				b.ReportMetric(share("ProcessTime"), "%renderer-cpu")
				// Counts per second say what keeps the thread busy: layouts
				// and style recalculations with no message arriving are the
				// page's own timers or animations.
				perSec := func(k string) float64 { return (m1[k] - m0[k]) / wall }
				b.ReportMetric(perSec("LayoutCount"), "layouts/s")
				b.ReportMetric(perSec("RecalcStyleCount"), "styles/s")
			}
		})
	}
}

// A tile update lays out that tile, never the grid with every other tile in
// it: on a TV each full layout of the board costs several times what the
// update itself does. Chromium reports, per layout, whether it started at
// relayout boundaries (partialLayout) or at the page's root; a trace of a
// board whose tiles change every second counts both. The header's clock
// turning a minute lays out the board once, legitimately, so one full layout
// in the window is allowed.
func TestTileUpdateLaysOutOnlyItsTile(t *testing.T) {
	cfg := `
sources:
  - {id: fake, kind: demo}
boards:
  - id: busy
    title: Busy board
    columns: 3
    tiles:
      - {id: req, kind: stat, title: Requests, source: fake, query: requests, unit: req/s, interval: 1s}
      - {id: p99, kind: timeseries, title: Latency p99, source: fake, query: latency_p99, unit: s, interval: 1s, range: 1h}
      - {id: cpu, kind: gauge, title: CPU, source: fake, query: cpu, unit: ratio, interval: 1s}
      - {id: err, kind: stat, title: Errors, source: fake, query: error_ratio, unit: ratio, interval: 1s}
`
	s := StartServer(t, ServerOptions{Config: cfg})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/busy", 1920, 1080)
	b.WaitJS(`document.querySelectorAll('.tile[data-updated="0"]').length === 0`, 20*time.Second)
	b.Eval(`(() => { window.__updates = 0;
	  new MutationObserver(l => { window.__updates += l.length; }).observe(document.querySelector('.grid'),
	    {subtree: true, attributes: true, attributeFilter: ['data-updated']});
	  return true; })()`, nil)

	var mu sync.Mutex
	var partial, full int
	done := make(chan struct{})
	if err := chromedp.Listen(b.Ctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			defer mu.Unlock()
			for _, v := range e.Value {
				var x struct {
					Name string `json:"name"`
					Args struct {
						BeginData *struct {
							PartialLayout bool `json:"partialLayout"`
						} `json:"beginData"`
					} `json:"args"`
				}
				if json.Unmarshal(v, &x) != nil || x.Name != "Layout" || x.Args.BeginData == nil {
					continue
				}
				if x.Args.BeginData.PartialLayout {
					partial++
				} else {
					full++
				}
			}
		case *tracing.EventTracingComplete:
			close(done)
		}
	}); err != nil {
		t.Fatal(err)
	}
	Call(b, tracing.Start, tracing.StartParams{TraceConfig: &tracing.TraceConfig{IncludedCategories: []string{"devtools.timeline"}}})
	time.Sleep(6 * time.Second)
	var updates int
	b.Eval(`window.__updates`, &updates)
	Call(b, tracing.End, cdp.Empty{})
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("no end of the trace")
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d tile updates: %d layouts at relayout boundaries, %d of the whole page", updates, partial, full)
	if updates < 3 {
		t.Fatalf("only %d tile updates in 6 s: the board is not busy, the test proves nothing", updates)
	}
	if full > 1 {
		t.Errorf("%d tile updates laid out the whole page %d times (and %d times a tile alone): a tile update must lay out its tile only", updates, full, partial)
	}
}
