package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// layoutJS inspects the visible board and returns what a person at the
// screen would notice: scrollbars, text cut off or spilling out of its tile,
// tiles overlapping or off screen, and the smallest text size in px.
//
// Text may be shortened with an ellipsis only where the whole text is in a
// title attribute (shown on hover); a number (.value, .row-value) may never
// be shortened.
const layoutJS = `(() => {
  const W = innerWidth, H = innerHeight, problems = [];
  const se = document.scrollingElement;
  if (se.scrollHeight > H || se.scrollWidth > W) problems.push('page scrolls: ' + se.scrollWidth + 'x' + se.scrollHeight + ' in ' + W + 'x' + H);
  const board = document.querySelector('.board:not([hidden])');
  if (!board) return {problems: ['no visible board'], minFont: 0, tiles: 0, H, W};
  const name = el => (el.id ? '#' + el.id : '') + '.' + String(el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className).split(' ').join('.');
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
  const ownText = el => Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim() !== '');
  let minFont = Infinity, minFontEl = '';
  const inside = (r, box, slack) => r.left >= box.left - slack && r.top >= box.top - slack && r.right <= box.right + slack && r.bottom <= box.bottom + slack;
  const checkText = (el, box, where) => {
    if (!visible(el)) return;
    const r = el.getBoundingClientRect();
    if (!inside(r, box, 1)) problems.push(where + ': ' + name(el) + ' spills out (' + [r.left, r.top, r.right, r.bottom].map(Math.round) + ' vs ' + [box.left, box.top, box.right, box.bottom].map(Math.round) + ')');
    if (!ownText(el)) return;
    const cs = getComputedStyle(el);
    const fs = parseFloat(cs.fontSize);
    if (fs < minFont) { minFont = fs; minFontEl = name(el) + ' "' + el.textContent.trim().slice(0, 30) + '"'; }
    if (cs.display === 'inline') return; // no box of its own: its parent is checked
    const cutX = el.scrollWidth > el.clientWidth + 1, cutY = el.scrollHeight > el.clientHeight + 1;
    const numeric = el.matches('.value, .row-value, .clock');
    if (cutY) problems.push(where + ': ' + name(el) + ' cut vertically (' + el.scrollHeight + ' > ' + el.clientHeight + ')');
    if (cutX) {
      const titled = el.closest('[title]') && el.closest('[title]').getAttribute('title') !== '';
      if (numeric || cs.textOverflow !== 'ellipsis' || !titled) problems.push(where + ': ' + name(el) + ' cut horizontally without ellipsis and title: "' + el.textContent.trim().slice(0, 40) + '"');
    }
  };
  const header = board.querySelector('.bar');
  const hb = header.getBoundingClientRect();
  if (!inside(hb, {left: 0, top: 0, right: W, bottom: H}, 0.5)) problems.push('header off screen');
  header.querySelectorAll('*').forEach(el => checkText(el, hb, 'header'));
  const tiles = Array.from(board.querySelectorAll('.tile'));
  const rects = tiles.map(t => t.getBoundingClientRect());
  tiles.forEach((t, i) => {
    const r = rects[i];
    if (r.width < 40 || r.height < 40) problems.push(t.id + ' collapsed: ' + Math.round(r.width) + 'x' + Math.round(r.height));
    if (!inside(r, {left: 0, top: 0, right: W, bottom: H}, 0.5)) problems.push(t.id + ' off screen');
    if (r.top < hb.bottom - 0.5) problems.push(t.id + ' overlaps the header');
    for (let j = 0; j < i; j++) {
      const o = rects[j];
      if (r.left < o.right - 0.5 && o.left < r.right - 0.5 && r.top < o.bottom - 0.5 && o.top < r.bottom - 0.5) problems.push(t.id + ' overlaps ' + tiles[j].id);
    }
    t.querySelectorAll('*').forEach(el => checkText(el, r, t.id));
  });
  let minValue = Infinity;
  board.querySelectorAll('.tile .value, .tile .key-value').forEach(el => { minValue = Math.min(minValue, parseFloat(getComputedStyle(el).fontSize)); });
  return {problems, minFont, minFontEl, minValue, tiles: tiles.length, H, W};
})()`

type layoutReport struct {
	Problems  []string `json:"problems"`
	MinFont   float64  `json:"minFont"`
	MinFontEl string   `json:"minFontEl"`
	MinValue  float64  `json:"minValue"` // smallest main number (.value, .key-value), px
	Tiles     int      `json:"tiles"`
	H, W      float64
}

var screens = []struct {
	name string
	w, h int
}{
	{"720p", 1280, 720},
	{"1080p", 1920, 1080},
	{"4k", 3840, 2160},
	{"portrait-1080x1920", 1080, 1920},
}

// minFontShare is the smallest text allowed, as a share of the screen's
// shorter side (the height of a landscape screen; a portrait screen is the
// same panel turned, with the same pixel size): 1.2 % is 13 px on a 1080p TV,
// about the smallest a person reads from 5 m on a 55" screen (the main
// numbers are far larger).
const minFontShare = 0.012

// minValueShare is the smallest main number (a tile's .value), as a share of
// the screen's shorter side.
const minValueShare = 0.035

// checkLayout loads url at every screen size, saves a screenshot of each,
// and fails on any layout problem.
func checkLayout(t *testing.T, b *Browser, url, prefix string) {
	for _, sc := range screens {
		b.Open(url, sc.w, sc.h)
		// Every tile has data (the demo polls every 2-10 s) so the real
		// numbers, not "waiting for data", are measured.
		b.WaitJS(`document.querySelectorAll('.board:not([hidden]) .tile .nodata').length === 0 && document.querySelectorAll('.board:not([hidden]) .tile[data-updated="0"]').length === 0`, 30*time.Second)
		b.Eval(`document.fonts.ready.then(() => true)`, nil)
		b.Screenshot(prefix + "-" + sc.name)
		var rep layoutReport
		b.Eval(layoutJS, &rep)
		if rep.Tiles == 0 {
			t.Errorf("%s %s: no tiles on screen", prefix, sc.name)
		}
		if len(rep.Problems) > 0 {
			t.Errorf("%s %s (%dx%d): %d layout problems:\n  %s", prefix, sc.name, sc.w, sc.h, len(rep.Problems), strings.Join(rep.Problems, "\n  "))
		}
		if min := minFontShare * math.Min(rep.H, rep.W); rep.MinFont < min {
			t.Errorf("%s %s: smallest text %.1f px (%s) is below %.1f px (%.1f %% of the shorter side)", prefix, sc.name, rep.MinFont, rep.MinFontEl, min, minFontShare*100)
		}
		// The main numbers: at least 3.5 % of the shorter side, 38 px on a
		// 1080p TV, whose digits (cap height about 0.7 em, 17 mm on a 55"
		// panel) a person reads from 5 m and more.
		if min := minValueShare * math.Min(rep.H, rep.W); rep.MinValue < min {
			t.Errorf("%s %s: smallest main number %.1f px is below %.1f px", prefix, sc.name, rep.MinValue, min)
		}
		t.Logf("%s %s: %d tiles, smallest text %.1f px (%s), smallest number %.1f px", prefix, sc.name, rep.Tiles, rep.MinFont, rep.MinFontEl, rep.MinValue)
	}
}

func TestLayoutDemoFitsEveryScreen(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	b := StartBrowser(t)
	checkLayout(t, b, s.Base+"/boards/demo", "demo")
	checkLayout(t, b, s.Base+"/boards/demo?theme=light", "demo-light")
	// Run inside this git checkout, the demo adds the Four Keys of its history.
	checkLayout(t, b, s.Base+"/boards/delivery", "delivery")
}

// An automatic layout (no columns), long titles, wide and tall tiles, and a
// Japanese board: still no scrollbar, nothing cut without an ellipsis.
func TestLayoutAutomaticLongTitlesJapanese(t *testing.T) {
	var tiles strings.Builder
	signals := []string{"requests", "error_ratio", "latency_p99", "cpu", "instances", "queue_age", "latency_p95"}
	for i, sig := range signals {
		extra := ""
		switch i {
		case 1:
			extra = "\n        span: 2"
		case 3:
			extra = "\n        row_span: 2"
		}
		fmt.Fprintf(&tiles, `
      - id: t%d
        kind: stat
        title: %s
        source: demo
        query: %s
        interval: 1s%s`, i, "とても長いタイトルのタイル、壁の画面でも省略されて表示される Very long tile title number "+sig, sig, extra)
	}
	cfg := `
sources:
  - {id: demo, kind: demo}
boards:
  - id: auto
    title: A very long board title that cannot possibly fit on one line of a small screen, so it is shortened with an ellipsis
    locale: ja
    tiles:` + tiles.String() + `
      - id: svc
        kind: list
        title: Errors by service
        source: demo
        query: services
        unit: ratio
        interval: 1s
`
	s := StartServer(t, ServerOptions{Config: cfg})
	b := StartBrowser(t)
	checkLayout(t, b, s.Base+"/boards/auto", "auto-ja")
	var titled bool
	b.Eval(`(() => { const el = document.querySelector('.board-title'); return el.scrollWidth > el.clientWidth && el.getAttribute('title').includes('shortened with an ellipsis'); })()`, &titled)
	if !titled {
		t.Error("the long board title is not shortened with its whole text in the title attribute")
	}
}
