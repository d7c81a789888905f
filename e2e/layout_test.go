package e2e

import (
	"fmt"
	"github.com/wallboard/wallboard/poller"
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
  const name = el => (el.id ? '#' + el.id : '') + '.' + String(el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className).split(' ').join('.');
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };
  const ownText = el => Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim() !== '');
  let minFont = Infinity, minFontEl = '';
  const screen = {left: 0, top: 0, right: W, bottom: H};
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
    const numeric = el.matches('.value, .row-value, .clock, .key-value');
    const titled = el.closest('[title]') && el.closest('[title]').getAttribute('title') !== '';
    // Lines clamped with an ellipsis (line-clamp) are an intended
    // shortening when the whole text is in a title attribute.
    const clamped = cs.webkitLineClamp && cs.webkitLineClamp !== 'none' && !numeric && titled;
    if (cutY && !clamped) problems.push(where + ': ' + name(el) + ' cut vertically (' + el.scrollHeight + ' > ' + el.clientHeight + ')');
    if (cutX) {
      if (numeric || cs.textOverflow !== 'ellipsis' || !titled) problems.push(where + ': ' + name(el) + ' cut horizontally without ellipsis and title: "' + el.textContent.trim().slice(0, 40) + '"');
      // A heading names what is shown: it takes a second line before it
      // gives way to an ellipsis (data rows may be shortened on one line).
      else if (el.matches('.title-text, .key-name') && !clamped) problems.push(where + ': heading ' + name(el) + ' shortened on one line: "' + el.textContent.trim().slice(0, 40) + '"');
    }
  };
  const result = extra => {
    const r = Object.assign({problems, minFont, minFontEl, minValue: Infinity, minKeyFill: -1, tiles: 0, H, W}, extra || {});
    if (!isFinite(r.minValue)) r.minValue = -1; // no main number on this page
    if (!isFinite(r.minFont)) r.minFont = -1;
    return r;
  };
  // The index page: a list of links on the whole screen.
  if (document.body.classList.contains('index')) {
    document.body.querySelectorAll('*').forEach(el => checkText(el, screen, 'index'));
    return result({tiles: -1});
  }
  const board = document.querySelector('.board:not([hidden])');
  if (!board) return result({problems: ['no visible board']});
  // A takeover covers the screen: everything on it must be whole, the next
  // action above all (it is the point of the takeover).
  const takeover = board.querySelector('.alert-layer.is-takeover:not([hidden]) .takeover');
  if (takeover) {
    const tb = takeover.getBoundingClientRect();
    if (!inside(tb, screen, 0.5)) problems.push('takeover off screen');
    takeover.querySelectorAll('*').forEach(el => checkText(el, screen, 'takeover'));
    // The title has the width of the screen, not a strip beside the QR code.
    const title = takeover.querySelector('.to-title');
    if (title && title.getBoundingClientRect().width < 0.55 * W) problems.push('takeover title squeezed to ' + Math.round(title.getBoundingClientRect().width) + ' px of ' + W);
    const next = takeover.querySelector('.to-next');
    if (!next) problems.push('takeover without a next action');
    else {
      const r = next.getBoundingClientRect();
      if (!(r.height > 0) || !inside(r, screen, 0)) problems.push('next action not wholly on screen: ' + [r.left, r.top, r.right, r.bottom].map(Math.round));
      if (next.scrollHeight > next.clientHeight + 1 || next.scrollWidth > next.clientWidth + 1) problems.push('next action clipped: ' + next.scrollWidth + 'x' + next.scrollHeight + ' in ' + next.clientWidth + 'x' + next.clientHeight);
    }
    return result({tiles: -1, takeover: true});
  }
  const header = board.querySelector('.bar');
  const hb = header.getBoundingClientRect();
  if (!inside(hb, screen, 0.5)) problems.push('header off screen');
  header.querySelectorAll('*').forEach(el => checkText(el, hb, 'header'));
  const banner = board.querySelector('.alert-layer.is-banner:not([hidden]) .banner');
  if (banner) {
    const bb = banner.getBoundingClientRect();
    if (!inside(bb, screen, 0.5)) problems.push('banner off screen');
    banner.querySelectorAll('*').forEach(el => checkText(el, bb, 'banner'));
    const bt = banner.querySelector('.banner-title');
    if (bt && bt.getBoundingClientRect().width < 0.3 * bb.width) problems.push('banner title squeezed to ' + Math.round(bt.getBoundingClientRect().width) + ' px: "' + bt.textContent.slice(0, 20) + '"');
  }
  const standup = board.querySelector('.standup-view');
  if (standup) {
    const sb = standup.getBoundingClientRect();
    if (!inside(sb, screen, 0.5)) problems.push('standup view off screen');
    standup.querySelectorAll('*').forEach(el => checkText(el, sb, 'standup'));
    return result({tiles: -1});
  }
  const tiles = Array.from(board.querySelectorAll('.tile'));
  const rects = tiles.map(t => t.getBoundingClientRect());
  const top = banner ? Math.max(hb.bottom, banner.getBoundingClientRect().bottom) : hb.bottom;
  tiles.forEach((t, i) => {
    const r = rects[i];
    if (r.width < 40 || r.height < 40) problems.push(t.id + ' collapsed: ' + Math.round(r.width) + 'x' + Math.round(r.height));
    if (!inside(r, screen, 0.5)) problems.push(t.id + ' off screen');
    if (r.top < top - 0.5) problems.push(t.id + ' overlaps the header or banner');
    for (let j = 0; j < i; j++) {
      const o = rects[j];
      if (r.left < o.right - 0.5 && o.left < r.right - 0.5 && r.top < o.bottom - 0.5 && o.top < r.bottom - 0.5) problems.push(t.id + ' overlaps ' + tiles[j].id);
    }
    t.querySelectorAll('*').forEach(el => checkText(el, r, t.id));
    // A chart never lies under text (it used to strike through the trend).
    t.querySelectorAll('.spark').forEach(sv => {
      const sr = sv.getBoundingClientRect();
      if (sr.width === 0 || sr.height === 0) return;
      sv.parentElement.parentElement.querySelectorAll('.value, .trend, .key-name, .key-value, .tier, .key-delta, .spark-range span').forEach(el => {
        const er = el.getBoundingClientRect();
        if (er.width > 0 && sr.left < er.right - 0.5 && er.left < sr.right - 0.5 && sr.top < er.bottom - 0.5 && er.top < sr.bottom - 0.5) problems.push(t.id + ': chart overlaps ' + name(el) + ' "' + el.textContent.trim().slice(0, 20) + '"');
      });
    });
  });
  // No hole in the grid: every cell of every row in use holds a tile
  // (later tiles fill holes, and the server widens a tile into a hole that
  // no later tile can fill).
  const grid = board.querySelector('.grid');
  if (grid && tiles.length) {
    const gs = getComputedStyle(grid), gr = grid.getBoundingClientRect();
    const centres = (tracks, start, gap) => {
      const out = [];
      let at = start;
      tracks.trim().split(/\s+/).forEach(w => { out.push(at + parseFloat(w) / 2); at += parseFloat(w) + gap; });
      return out;
    };
    const xs = centres(gs.gridTemplateColumns, gr.left + parseFloat(gs.paddingLeft), parseFloat(gs.columnGap) || 0);
    const ys = centres(gs.gridTemplateRows, gr.top + parseFloat(gs.paddingTop), parseFloat(gs.rowGap) || 0);
    const empty = [];
    ys.forEach((y, r) => xs.forEach((x, c) => {
      if (!rects.some(q => x > q.left && x < q.right && y > q.top && y < q.bottom)) empty.push('row ' + (r + 1) + ' column ' + (c + 1));
    }));
    if (empty.length) problems.push('grid of ' + xs.length + 'x' + ys.length + ' leaves ' + empty.length + ' cells empty: ' + empty.join(', '));
  }
  // How much of each Four Keys box its text covers: the bounding box of
  // the text itself (not of its full-width lines; the trend line not
  // counted), as a share of the box. Short text cannot fill a long strip:
  // a box is counted at most twice as wide as it is high.
  let minKeyFill = Infinity, minKeyFillEl = '';
  board.querySelectorAll('.tile .key').forEach(k => {
    const box = k.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return;
    let l = Infinity, t = Infinity, r = -Infinity, b = -Infinity;
    k.querySelectorAll('.key-name, .key-value, .tier, .key-count, .key-delta').forEach(el => {
      let q = el.getBoundingClientRect();
      if (!el.matches('.tier')) { const rg = document.createRange(); rg.selectNodeContents(el); q = rg.getBoundingClientRect(); }
      if (q.width === 0) return;
      // A box clips what does not fit it (a tier badge cut in half).
      const e = el.getBoundingClientRect();
      if (e.bottom > box.bottom + 1 || e.right > box.right + 1) problems.push(k.closest('.tile').id + ': ' + name(el) + ' cut by its Four Keys box (' + [e.right, e.bottom].map(Math.round) + ' vs ' + [box.right, box.bottom].map(Math.round) + ')');
      l = Math.min(l, q.left); t = Math.min(t, q.top); r = Math.max(r, q.right); b = Math.max(b, q.bottom);
    });
    const w = Math.min(box.width, 2 * box.height);
    const fill = r > l ? Math.min(Math.min(r, box.right) - l, w) * (Math.min(b, box.bottom) - t) / (w * box.height) : 0;
    if (fill < minKeyFill) { minKeyFill = fill; minKeyFillEl = k.closest('.tile').id + ' "' + (k.querySelector('.key-name') || {}).textContent + '"'; }
  });
  if (!isFinite(minKeyFill)) minKeyFill = -1;
  let minValue = Infinity, minValueEl = '';
  board.querySelectorAll('.tile .value, .tile .key-value').forEach(el => {
    const fs = parseFloat(getComputedStyle(el).fontSize);
    if (fs < minValue) { minValue = fs; minValueEl = el.closest('.tile').id + ' ' + name(el); }
  });
  return result({minValue, minValueEl, minKeyFill, minKeyFillEl, tiles: tiles.length});
})()`

type layoutReport struct {
	Problems   []string `json:"problems"`
	MinFont    float64  `json:"minFont"`
	MinFontEl  string   `json:"minFontEl"`
	MinValue   float64  `json:"minValue"` // smallest main number (.value, .key-value), px
	MinValueEl string   `json:"minValueEl"`
	// MinKeyFill is the smallest share of a Four Keys box that its text
	// covers (0-1); -1 without Four Keys.
	MinKeyFill   float64 `json:"minKeyFill"`
	MinKeyFillEl string  `json:"minKeyFillEl"`
	Tiles        int     `json:"tiles"` // -1 on a page without tiles (index, takeover, standup)
	Takeover     bool    `json:"takeover"`
	H, W         float64
}

var screens = []struct {
	name string
	w, h int
}{
	{"540p", 960, 540}, // a Fire TV stick renders 1080p TVs at this size
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

// minKeyFill is the smallest share of a Four Keys box its text may cover:
// below it the box is mostly empty and its value smaller than it could be.
const minKeyFill = 0.15

// checkScreen measures the page as it is now at the current size and fails
// on any layout problem, text under the minimum size or contrast below
// 4.5:1. It saves a screenshot when something is wrong (and at 1080p).
func checkScreen(t *testing.T, b *Browser, what string, w, h int) layoutReport {
	t.Helper()
	var rep layoutReport
	b.Eval(layoutJS, &rep)
	bad := len(rep.Problems) > 0
	if bad {
		t.Errorf("%s (%dx%d): %d layout problems:\n  %s", what, w, h, len(rep.Problems), strings.Join(rep.Problems, "\n  "))
	}
	if min := minFontShare * math.Min(rep.H, rep.W); rep.MinFont >= 0 && rep.MinFont < min {
		bad = true
		t.Errorf("%s: smallest text %.1f px (%s) is below %.1f px (%.1f %% of the shorter side)", what, rep.MinFont, rep.MinFontEl, min, minFontShare*100)
	}
	// The main numbers: at least 3.5 % of the shorter side, 38 px on a
	// 1080p TV, whose digits (cap height about 0.7 em, 17 mm on a 55"
	// panel) a person reads from 5 m and more.
	if min := minValueShare * math.Min(rep.H, rep.W); rep.MinValue >= 0 && rep.MinValue < min {
		bad = true
		t.Errorf("%s: smallest main number %.1f px (%s) is below %.1f px", what, rep.MinValue, rep.MinValueEl, min)
	}
	if rep.MinKeyFill >= 0 && rep.MinKeyFill < minKeyFill {
		bad = true
		t.Errorf("%s: the text of a Four Keys box (%s) covers %.0f %% of it, want at least %.0f %%", what, rep.MinKeyFillEl, 100*rep.MinKeyFill, 100*minKeyFill)
	}
	var items []contrastItem
	b.Eval(contrastJS, &items)
	var low []string
	for _, it := range items {
		if it.Ratio < 4.5 {
			low = append(low, fmt.Sprintf("%s %q: %.2f:1", it.Sel, it.Text, it.Ratio))
		}
	}
	if len(low) > 0 {
		bad = true
		t.Errorf("%s: text below 4.5:1 contrast:\n  %s", what, strings.Join(low, "\n  "))
	}
	var labels []string
	b.Eval(barLabelsJS, &labels)
	if dups := duplicates(labels); len(dups) > 0 {
		bad = true
		t.Errorf("%s: bar labels shown alike (the part that tells rows apart is cut off): %s", what, strings.Join(dups, "; "))
	}
	if bad || (w == 1920 && h == 1080) {
		b.Screenshot(strings.NewReplacer(" ", "-", "/", "-").Replace(what))
	}
	t.Logf("%s: %d tiles, smallest text %.1f px (%s), smallest number %.1f px, Four Keys fill %.2f", what, rep.Tiles, rep.MinFont, rep.MinFontEl, rep.MinValue, rep.MinKeyFill)
	return rep
}

// barLabelsJS reads every bar label as the screen shows it, ellipses
// included: per tile, "tile id\x00label" for each row. A span cut with an
// ellipsis shows the characters whose right edge is left of its box's right
// edge minus the width of "…", then "…".
const barLabelsJS = `(() => {
  const shown = span => {
    const text = span.textContent;
    const box = span.getBoundingClientRect();
    if (box.width < 1) return '';
    if (span.scrollWidth <= span.clientWidth) return text;
    const probe = document.createElement('span');
    probe.textContent = '…';
    span.appendChild(probe);
    const ell = probe.getBoundingClientRect().width;
    probe.remove();
    const node = span.firstChild, r = document.createRange();
    let out = '';
    for (let i = 0; node && i < text.length; i++) {
      r.setStart(node, i); r.setEnd(node, i + 1);
      if (r.getBoundingClientRect().right > box.right - ell + 0.5) break;
      out += text[i];
    }
    return out + '…';
  };
  const out = [];
  document.querySelectorAll('.board:not([hidden]) .tile .bars').forEach(ul => {
    const id = ul.closest('.tile').id;
    ul.querySelectorAll('.row-label').forEach(l => {
      const parts = l.querySelectorAll('.label-head, .label-tail');
      out.push(id + '\u0000' + (parts.length ? [...parts].map(shown).join('') : shown(l)));
    });
  });
  return out;
})()`

// duplicates are the labels that occur more than once, as "tile: label".
func duplicates(labels []string) []string {
	seen := map[string]int{}
	var out []string
	for _, l := range labels {
		if seen[l]++; seen[l] == 2 {
			out = append(out, strings.Replace(l, "\x00", ": ", 1))
		}
	}
	return out
}

// Bar labels that share a long beginning and a long end stay distinct on
// screen at every size: the part that tells them apart is never the part
// cut off.
func TestBarLabelsDistinctEverySize(t *testing.T) {
	cfg := `
sources:
  - {id: fake, kind: demo}
boards:
  - id: bars
    title: Endpoints
    columns: 4
    tiles:
      - {id: endpoints, kind: bar, title: Busiest endpoints, source: fake, query: instances, unit: req/s, interval: 5s}
      - {id: wide, kind: bar, title: Busiest endpoints, source: fake, query: instances, unit: req/s, interval: 5s, span: 2}
      - {id: req, kind: stat, title: Requests, source: fake, query: requests, unit: req/s, interval: 5s}
`
	s := StartServer(t, ServerOptions{Config: cfg, Sources: map[string]poller.Source{"fake": &matrixSource{}}})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/bars", screens[0].w, screens[0].h)
	b.WaitJS(`document.querySelectorAll('.tile .bars .row').length === 8`, 20*time.Second)
	for _, sc := range screens {
		b.Resize(sc.w, sc.h)
		var labels []string
		b.Eval(barLabelsJS, &labels)
		if len(labels) != 8 {
			t.Fatalf("%s: %d bar labels, want 8", sc.name, len(labels))
		}
		if dups := duplicates(labels); len(dups) > 0 {
			b.Screenshot("bars-" + sc.name)
			t.Errorf("%s: bar labels shown alike: %s", sc.name, strings.Join(dups, "; "))
		}
		t.Logf("%s: %q", sc.name, labels)
	}
}

// checkLayout loads url once and checks it at every screen size (resizing
// the same tab, as a TV's browser would render it at its size). setup, when
// not "", is a JS expression polled until true before measuring: what
// brings the page into the state to measure.
func checkLayout(t *testing.T, b *Browser, url, prefix, setup string) {
	t.Helper()
	b.Open(url, screens[0].w, screens[0].h)
	// Every tile has data (the demo polls every 2-10 s) so the real
	// numbers, not "waiting for data", are measured.
	b.WaitJS(`document.querySelectorAll('.board:not([hidden]) .tile .nodata').length === 0 && document.querySelectorAll('.board:not([hidden]) .tile[data-updated="0"]').length === 0`, 30*time.Second)
	if setup != "" {
		b.WaitJS(setup, 30*time.Second)
	}
	for _, sc := range screens {
		b.Resize(sc.w, sc.h)
		rep := checkScreen(t, b, prefix+" "+sc.name, sc.w, sc.h)
		if rep.Tiles == 0 {
			t.Errorf("%s %s: no tiles on screen", prefix, sc.name)
		}
	}
	b.CheckConsole(prefix)
}

func TestLayoutDemoFitsEveryScreen(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	b := StartBrowser(t)
	checkLayout(t, b, s.Base+"/boards/demo", "demo", "")
	b.Resize(1920, 1080)
	b.SmallScreenshot("docs-demo", 0.5) // docs/display.md shows it
	checkLayout(t, b, s.Base+"/boards/demo?theme=light", "demo-light", "")
	// Run inside this git checkout, the demo adds the Four Keys of its history.
	checkLayout(t, b, s.Base+"/boards/delivery", "delivery", "")
	// The team board: health, alerts, Four Keys and merges on one screen,
	// with the demo's critical alert (open 10 s after start) as the banner
	// it turns into when its takeover is over.
	checkLayout(t, b, s.Base+"/boards/team", "team", `(() => {
	  const l = document.querySelector('.alert-layer:not([hidden])');
	  if (!l) return false;
	  l.setAttribute('data-takeover', '0');
	  return l.classList.contains('is-banner') && document.querySelectorAll('#tile-team-fourkeys .key').length === 5;
	})()`)
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
	checkLayout(t, b, s.Base+"/boards/auto", "auto-ja", "")
	var titled bool
	b.Eval(`(() => { const el = document.querySelector('.board-title'); return el.scrollWidth > el.clientWidth && el.getAttribute('title').includes('shortened with an ellipsis'); })()`, &titled)
	if !titled {
		t.Error("the long board title is not shortened with its whole text in the title attribute")
	}
}

// The Four Keys boxes are filled by their content (not 60 % empty, as they
// were), and sparkline strokes grow with the screen (a 2 px line is a
// hairline on a 4K panel seen from 3 m).
func TestFourKeysFillAndStrokeScale(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	b := StartBrowser(t)
	// Run inside this git checkout, the team board has the Four Keys of
	// its history.
	b.Open(s.Base+"/boards/team", screens[0].w, screens[0].h)
	b.WaitJS(`document.querySelectorAll('.tile[data-updated="0"]').length === 0 && document.querySelectorAll('.key').length >= 4 && document.querySelector('.spark-line')`, 30*time.Second)
	stroke := map[string]float64{}
	for _, sc := range screens {
		b.Resize(sc.w, sc.h)
		var r struct {
			Fill   []float64 `json:"fill"`
			Names  []string  `json:"names"`
			Stroke float64   `json:"stroke"`
		}
		b.Eval(`(() => {
		  const fill = [], names = [];
		  document.querySelectorAll('.key').forEach(k => {
		    const box = k.getBoundingClientRect();
		    let top = Infinity, bottom = -Infinity;
		    for (const c of k.children) {
		      const q = c.getBoundingClientRect();
		      if (q.height === 0) continue;
		      top = Math.min(top, q.top); bottom = Math.max(bottom, q.bottom);
		    }
		    fill.push(bottom > top ? (bottom - top) / box.height : 0);
		    names.push((k.querySelector('.key-name') || {}).textContent || '?');
		  });
		  return {fill, names, stroke: parseFloat(getComputedStyle(document.querySelector('.spark-line')).strokeWidth)};
		})()`, &r)
		for i, f := range r.Fill {
			if f < 0.6 {
				t.Errorf("%s: Four Keys box %q: its content covers %.0f %% of its height, want at least 60 %%", sc.name, r.Names[i], 100*f)
			}
		}
		stroke[sc.name] = r.Stroke
		t.Logf("%s: Four Keys boxes filled %.2f, sparkline stroke %.2f px", sc.name, r.Fill, r.Stroke)
	}
	if stroke["4k"] <= stroke["1080p"] {
		t.Errorf("sparkline stroke %.2f px at 3840x2160 and %.2f px at 1920x1080: it does not grow with the screen", stroke["4k"], stroke["1080p"])
	}
}
