package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkFirstPaint loads the demo board in headless Chromium over loopback
// with every tile's data already on the server, and reports the first
// contentful paint (the Paint Timing API's first-contentful-paint, in ms from
// navigation start). The page is rendered on the server, so the first paint
// is the complete board: the benchmark fails if any tile painted without data.
//
// Run: go test -run '^$' -bench FirstPaint -benchtime 20x ./e2e/
func BenchmarkFirstPaint(b *testing.B) {
	s := StartServer(b, ServerOptions{})
	br := StartBrowser(b)
	// Every demo tile polls within its first interval (at most 10 s).
	br.Open(s.Base+"/boards/demo", 1920, 1080)
	br.WaitJS(`document.querySelectorAll('.tile .nodata').length === 0`, 20*time.Second)

	var total float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		br.Run(30*time.Second, chromedp.Navigate(s.Base+"/boards/demo"))
		var r struct {
			FCP     float64 `json:"fcp"`
			Tiles   int     `json:"tiles"`
			Waiting int     `json:"waiting"`
		}
		br.Eval(`new Promise(done => new PerformanceObserver(list => {
			const e = list.getEntriesByName('first-contentful-paint')[0];
			if (e) done({fcp: e.startTime, tiles: document.querySelectorAll('.tile').length,
				waiting: document.querySelectorAll('.tile .nodata').length});
		}).observe({type: 'paint', buffered: true}))`, &r)
		if r.Tiles == 0 || r.Waiting != 0 {
			b.Fatalf("first paint: %d tiles, %d without data", r.Tiles, r.Waiting)
		}
		total += r.FCP
	}
	b.ReportMetric(total/float64(b.N), "ms-first-paint")
}
