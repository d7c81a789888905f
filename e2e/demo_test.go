package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The built-in demo at 1920x1080 is complete on first paint, fits the
// screen, and changes live without a reload.
func TestDemoBoardFirstPaintAndLive(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	b := StartBrowser(t)
	b.Resize(1920, 1080)
	// Let every tile poll once so first paint has data.
	time.Sleep(1500 * time.Millisecond)

	// First paint: the HTML as served has every tile filled (no "waiting
	// for data").
	b.Run(30*time.Second, chromedp.Navigate(s.App.URL()), chromedp.WaitReady(chromedp.CSS(".grid")))
	var tiles, waiting, scroll int
	b.Eval(`document.querySelectorAll('.tile').length`, &tiles)
	b.Eval(`document.querySelectorAll('.tile .nodata').length`, &waiting)
	b.Eval(`(document.scrollingElement.scrollHeight > innerHeight || document.scrollingElement.scrollWidth > innerWidth) ? 1 : 0`, &scroll)
	if tiles != 9 || waiting != 0 {
		t.Fatalf("first paint: %d tiles, %d without data; want 9 and 0", tiles, waiting)
	}
	if scroll != 0 {
		t.Error("the board scrolls at 1920x1080")
	}
	b.WaitJS(`document.querySelector('.demo-badge') && document.querySelector('.demo-badge').textContent === 'DEMO'`, 20*time.Second)
	// Nothing sticks out of its tile.
	b.WaitJS(`[...document.querySelectorAll('.tile')].every(t => {
		const r = t.getBoundingClientRect();
		return [...t.querySelectorAll('.value, .tile-title, .row')].every(e => {
			const q = e.getBoundingClientRect();
			return q.right <= r.right + 1 && q.bottom <= r.bottom + 1 && q.left >= r.left - 1;
		});
	})`, 20*time.Second)

	// A value changes on screen without a reload.
	var first string
	b.Eval(`window.__sameDoc = 1; document.querySelector('#tile-demo-requests').getAttribute('data-updated')`, &first)
	b.WaitJS(`document.querySelector('#tile-demo-requests').getAttribute('data-updated') !== '`+first+`' && window.__sameDoc === 1`, 20*time.Second)
	b.Screenshot("demo-1920x1080")
}
