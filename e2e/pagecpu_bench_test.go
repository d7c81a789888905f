package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
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
				m0, t0 := metrics(), time.Now()
				time.Sleep(window)
				m1, wall := metrics(), time.Since(t0).Seconds()
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
