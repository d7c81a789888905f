package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// nothing answers every query with no value, as a source with no data yet.
type nothing struct{}

func (nothing) Fetch(context.Context, board.Query) (board.Result, error) {
	return board.Result{}, nil
}

// consoleErrors records the console errors and uncaught exceptions of the
// browser's tab.
type consoleErrors struct {
	mu   sync.Mutex
	msgs []string
}

func (c *consoleErrors) listen(t *testing.T, b *Browser) {
	t.Helper()
	if err := chromedp.Listen(b.Ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeAssert {
				return
			}
			var parts []string
			for _, a := range e.Args {
				if a.Value != nil {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			msg = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
		case *runtime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		default:
			return
		}
		c.mu.Lock()
		c.msgs = append(c.msgs, msg)
		c.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
}

func (c *consoleErrors) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.msgs
	c.msgs = nil
	return out
}

// TestStandupEmptyState: the standup view of a board with nothing to report,
// in English and Japanese at five screen sizes, fits the screen (nothing off
// its edges, no scrollbars), draws its empty notes upright and in proportion,
// and logs no console error while the board's tiles keep updating.
func TestStandupEmptyState(t *testing.T) {
	cfg := `
sources:
  - {id: none, kind: demo}
boards:
  - id: team
    title: Team board
    tiles:
      - {id: a, kind: stat, title: Requests, source: none, query: requests, interval: 1s}
      - {id: b, kind: timeseries, title: Latency, source: none, query: latency_p95, interval: 1s}
      - {id: c, kind: list, title: Errors, source: none, query: services, interval: 1s}
  - id: team-ja
    title: チームボード
    locale: ja
    tiles:
      - {id: a, kind: stat, title: リクエスト, source: none, query: requests, interval: 1s}
`
	s := StartServer(t, ServerOptions{Config: cfg, Sources: map[string]poller.Source{"none": nothing{}}})
	b := StartBrowser(t)
	var errs consoleErrors
	errs.listen(t, b)
	sizes := append([]struct {
		name string
		w, h int
	}{{"540p", 960, 540}}, screens...)
	for _, id := range []string{"team", "team-ja"} {
		for _, sc := range sizes {
			b.Open(s.Base+"/boards/"+id+"?standup&since=24h", sc.w, sc.h)
			// Several rounds of tile updates (every second) reach the page.
			time.Sleep(2500 * time.Millisecond)
			b.Screenshot("standup-empty-" + id + "-" + sc.name)
			var r struct {
				Scrolls  bool
				Empty    int
				Italic   []string
				Big      []string
				Overflow []string
			}
			b.Eval(`(() => {
			  const se = document.scrollingElement, short = Math.min(innerWidth, innerHeight);
			  const out = {Scrolls: se.scrollHeight > innerHeight || se.scrollWidth > innerWidth, Empty: 0, Italic: [], Big: [], Overflow: []};
			  document.querySelectorAll('.standup-view .nodata').forEach(el => {
			    out.Empty++;
			    const cs = getComputedStyle(el);
			    if (cs.fontStyle !== 'normal') out.Italic.push(el.textContent.trim().slice(0, 20) + ' ' + cs.fontStyle);
			    // Notes are body text: no larger than the section headings.
			    if (parseFloat(cs.fontSize) > 0.045 * short) out.Big.push(el.textContent.trim().slice(0, 20) + ' ' + cs.fontSize);
			  });
			  document.querySelectorAll('.standup-view, .standup-view *').forEach(el => {
			    const r = el.getBoundingClientRect();
			    if (r.width === 0 && r.height === 0) return;
			    if (r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5 || r.left < -0.5)
			      out.Overflow.push((el.className || el.tagName) + ' ' + el.textContent.trim().slice(0, 20) + ' ' + Math.round(r.right) + 'x' + Math.round(r.bottom));
			    // Cut: a box that clips (overflow not visible) holding more
			    // than it shows, unless it is an intended ellipsis.
			    const cs = getComputedStyle(el);
			    const clips = cs.overflowX !== 'visible' || cs.overflowY !== 'visible';
			    if (clips && cs.textOverflow !== 'ellipsis' && el.clientWidth > 0 &&
			        (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1))
			      out.Overflow.push('cut: ' + (el.className || el.tagName) + ' ' + el.textContent.trim().slice(0, 20) +
			        ' ' + el.scrollWidth + 'x' + el.scrollHeight + ' in ' + el.clientWidth + 'x' + el.clientHeight);
			  });
			  return out;
			})()`, &r)
			name := id + " " + sc.name
			if r.Empty != 2 {
				t.Errorf("%s: %d empty notes, want 2 (numbers, events)", name, r.Empty)
			}
			if r.Scrolls || len(r.Overflow) > 0 {
				t.Errorf("%s: scrolls=%v, off screen or cut: %v", name, r.Scrolls, r.Overflow)
			}
			if len(r.Italic) > 0 || len(r.Big) > 0 {
				t.Errorf("%s: empty notes italic %v, too large %v", name, r.Italic, r.Big)
			}
			if e := errs.take(); len(e) > 0 {
				t.Errorf("%s: %d console errors, first: %s", name, len(e), e[0])
			}
		}
	}
}
