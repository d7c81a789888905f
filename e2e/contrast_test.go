package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// statuses answers with one tile of each status and a list with details.
type statuses struct{}

func (statuses) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	switch q.Text {
	case "cpu":
		return board.Result{Value: board.F(0.8)}, nil // warn
	case "error_ratio":
		return board.Result{Value: board.F(0.2)}, nil // critical
	case "services":
		return board.Result{Rows: []board.Row{
			{Label: "billing", Value: board.F(0.09), Status: board.StatusCritical, Detail: "967 req/s"},
			{Label: "search", Value: board.F(0.02), Status: board.StatusWarn, Detail: "1064 req/s"},
			{Label: "api", Value: board.F(0.001), Status: board.StatusOK, Detail: "1273 req/s"},
		}}, nil
	}
	return board.Result{Value: board.F(1234)}, nil
}

const statusConfig = `
sources:
  - {id: fake, kind: demo}
boards:
  - id: s
    title: Contrast
    columns: 3
    tiles:
      - {id: ok, kind: stat, title: Requests, source: fake, query: requests, interval: 1s}
      - {id: warn, kind: gauge, title: CPU, source: fake, query: cpu, unit: ratio, interval: 1s, thresholds: {warn: 0.75, critical: 0.9}}
      - {id: crit, kind: stat, title: Errors, source: fake, query: error_ratio, unit: ratio, interval: 1s, thresholds: {warn: 0.01, critical: 0.05}}
      - {id: list, kind: list, title: Services, source: fake, query: services, unit: ratio, interval: 1s, span: 2}
      - {id: bars, kind: bar, title: Services bars, source: fake, query: services, unit: ratio, interval: 1s}
  - id: t
    title: Second
    tiles:
      - {id: ok, kind: stat, title: Requests, source: fake, query: requests, interval: 1s}
`

// contrastJS computes the WCAG contrast ratio of every visible text element
// of the board against the background it is drawn on (the first opaque
// background up the tree, with translucent ones composited over it).
const contrastJS = `(() => {
  const parse = c => {
    let m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(c);
    if (m) return [+m[1] / 255, +m[2] / 255, +m[3] / 255, m[4] === undefined ? 1 : +m[4]];
    m = /^color\(srgb ([\d.e-]+) ([\d.e-]+) ([\d.e-]+)(?: \/ ([\d.]+))?\)$/.exec(c);
    if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
    throw new Error('unparsed colour ' + c);
  };
  const over = (top, bot) => [0, 1, 2].map(i => top[i] * top[3] + bot[i] * (1 - top[3])).concat([1]);
  const lum = c => { const f = v => v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const bgOf = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [1, 1, 1, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const out = [];
  document.querySelectorAll('.board:not([hidden]) *').forEach(el => {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim() !== '');
    const r = el.getBoundingClientRect();
    if (!own || r.width === 0 || r.height === 0) return;
    const cs = getComputedStyle(el);
    let op = 1;
    for (let e = el; e; e = e.parentElement) op *= +getComputedStyle(e).opacity;
    const bg = bgOf(el);
    const fg = over(parse(cs.color).slice(0, 3).concat([parse(cs.color)[3] * op]), bg);
    const a = lum(fg), b = lum(bg);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    out.push({sel: el.tagName.toLowerCase() + '.' + String(el.className).split(' ').join('.'), text: el.textContent.trim().slice(0, 24), ratio});
  });
  return out;
})()`

type contrastItem struct {
	Sel, Text string
	Ratio     float64
}

func TestTextContrastBothThemesAndReducedMotion(t *testing.T) {
	s := StartServer(t, ServerOptions{Config: statusConfig, Sources: map[string]poller.Source{"fake": statuses{}}})
	b := StartBrowser(t)
	for _, theme := range []string{"dark", "light"} {
		b.Open(s.Base+"/boards/s?theme="+theme, 1920, 1080)
		b.WaitJS(`document.querySelectorAll('.tile[data-updated="0"]').length === 0 && document.querySelector('.tile.status-critical') && document.querySelector('.tile.status-warn')`, 20*time.Second)
		b.Screenshot("contrast-" + theme)
		var items []contrastItem
		b.Eval(contrastJS, &items)
		if len(items) < 15 {
			t.Fatalf("%s: only %d text elements measured", theme, len(items))
		}
		var bad []string
		classes := map[string]bool{}
		for _, it := range items {
			classes[strings.SplitN(it.Sel, ".", 2)[1]] = true
			if it.Ratio < 4.5 {
				bad = append(bad, fmt.Sprintf("%s %q: %.2f:1", it.Sel, it.Text, it.Ratio))
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s theme: text below 4.5:1 contrast:\n  %s", theme, strings.Join(bad, "\n  "))
		}
		for _, want := range []string{"board-title", "title-text", "value", "status-text", "row-label", "row-detail", "row-value", "demo-badge"} {
			found := false
			for c := range classes {
				if strings.HasPrefix(c, want) {
					found = true
				}
			}
			if !found && want != "demo-badge" {
				t.Errorf("%s theme: no %s measured (classes %v)", theme, want, classes)
			}
		}
	}

	// The rotation line glides; with prefers-reduced-motion it jumps.
	var dur string
	b.Open(s.Base+"/boards/s?rotate=30s&boards=t", 1280, 720)
	b.Eval(`getComputedStyle(document.getElementById('wb-rotate-bar')).transitionDuration`, &dur)
	if dur == "0s" {
		t.Errorf("without reduced motion the rotation line has no transition")
	}
	Call(b, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	})
	b.Open(s.Base+"/boards/s?rotate=30s&boards=t", 1280, 720)
	b.Eval(`getComputedStyle(document.getElementById('wb-rotate-bar')).transitionDuration`, &dur)
	if dur != "0s" {
		t.Errorf("with reduced motion the rotation line still moves (transition %s)", dur)
	}
}
