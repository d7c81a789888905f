package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/runtime"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// still answers once; the soak publishes everything else itself.
type still struct{}

func (still) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	if q.Text == "services" {
		return board.Result{Rows: []board.Row{{Label: "api", Value: board.F(0.01)}}}, nil
	}
	return board.Result{Value: board.F(1)}, nil
}

// soakUpdates is 10,000 unless WALLBOARD_SOAK_UPDATES asks for a longer run
// (to tell a slow leak from a one-time warm-up).
var soakUpdates = func() int {
	if n, err := strconv.Atoi(os.Getenv("WALLBOARD_SOAK_UPDATES")); err == nil && n > 100 {
		return n
	}
	return 10000
}()

const (
	soakRotations = 200
	soakBatch     = 10 // updates of distinct tiles sent before waiting for the page
)

type pageMemory struct {
	HeapUsed float64 // bytes, Runtime.getHeapUsage after a forced GC
	Nodes    float64 // Performance.getMetrics "Nodes" (live DOM nodes)
	Elements int     // elements in the document
	Listener float64 // Performance.getMetrics "JSEventListeners"
}

func measure(t *testing.T, b *Browser) pageMemory {
	t.Helper()
	// Twice: the first pass may only free what the second can then collect.
	Call(b, heapprofiler.CollectGarbage, cdp.Empty{})
	Call(b, heapprofiler.CollectGarbage, cdp.Empty{})
	h := Call(b, runtime.GetHeapUsage, cdp.Empty{})
	m := Call(b, performance.GetMetrics, cdp.Empty{})
	var pm pageMemory
	pm.HeapUsed = h.UsedSize
	for _, x := range m.Metrics {
		switch x.Name {
		case "Nodes":
			pm.Nodes = x.Value
		case "JSEventListeners":
			pm.Listener = x.Value
		}
	}
	b.Eval(`document.getElementsByTagName('*').length`, &pm.Elements)
	return pm
}

// TestSoakUpdatesAndRotations pushes 10,000 tile updates and 200 rotations
// into one page and checks that the page does not grow: JS heap within 1 MB
// and DOM nodes within 1 % of their values after the first 100 updates.
func TestSoakUpdatesAndRotations(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("sources:\n  - {id: still, kind: demo}\nboards:\n")
	var refs []board.TileRef
	for _, id := range []string{"a", "b", "c"} {
		fmt.Fprintf(&sb, `  - id: %s
    title: Soak %s
    columns: 2
    tiles:
      - {id: s1, kind: stat, title: Stat one, source: still, query: requests, interval: 1h, thresholds: {warn: 5000, critical: 9000}}
      - {id: s2, kind: gauge, title: Gauge, source: still, query: cpu, unit: ratio, interval: 1h}
      - {id: ts, kind: timeseries, title: Series, source: still, query: latency_p95, unit: s, interval: 1h}
      - {id: ls, kind: list, title: List, source: still, query: services, unit: ratio, interval: 1h}
`, id, id)
		for _, tile := range []string{"s1", "s2", "ts", "ls"} {
			refs = append(refs, board.TileRef{Board: id, Tile: tile})
		}
	}
	sb.WriteString("playlists:\n  - {id: soak, boards: [a, b, c], every: 1h}\n")
	s := StartServer(t, ServerOptions{Config: sb.String(), Sources: map[string]poller.Source{"still": still{}}})
	b := StartBrowser(t)
	b.Open(s.Base+"/playlists/soak", 1920, 1080)
	b.WaitJS(`document.querySelectorAll('.tile[data-updated="0"]').length === 0`, 20*time.Second)
	Call(b, performance.Enable, performance.EnableParams{})
	b.Eval(`window.__soak = 'same page'; true`, nil)

	base := time.Now()
	sent, rotations := 0, 0
	var first pageMemory
	for batch := 0; sent < soakUpdates; batch++ {
		want := map[string]string{}
		for k := 0; k < soakBatch && sent < soakUpdates; k++ {
			ref := refs[(batch*soakBatch+k)%len(refs)]
			// Distinct, increasing data times let the page prove it has
			// applied this very update.
			now := base.Add(time.Duration(sent+1) * time.Millisecond)
			v := float64(sent%997) * 10
			res := board.Result{Value: board.F(v)}
			switch ref.Tile {
			case "ts":
				for p := 0; p < 60; p++ {
					res.Series = append(res.Series, board.Point{T: now.Add(time.Duration(p-60) * time.Minute), V: float64((sent + p*7) % 100)})
				}
			case "ls":
				res = board.Result{Rows: []board.Row{
					{Label: "api", Value: board.F(v / 1e4), Detail: fmt.Sprintf("%d req/s", sent)},
					{Label: "billing", Value: board.F(0.02), Status: board.StatusWarn},
					{Label: "search", Value: board.F(0.001)},
				}}
			}
			if _, ok := s.App.Live().Apply(ref, res, nil, now); !ok {
				t.Fatalf("no tile %v", ref)
			}
			if err := s.App.Server().PublishTile(ref, now); err != nil {
				t.Fatal(err)
			}
			want["tile-"+ref.Board+"-"+ref.Tile] = fmt.Sprint(now.UnixMilli())
			sent++
		}
		wj, _ := json.Marshal(want)
		b.Eval(`new Promise((resolve, reject) => {
		  const want = `+string(wj)+`, t0 = Date.now();
		  (function poll() {
		    if (Object.keys(want).every(id => { const el = document.getElementById(id); return el && el.dataset.updated === want[id]; })) return resolve(true);
		    if (Date.now() - t0 > 15000) return reject(new Error('updates not applied: ' + JSON.stringify(want)));
		    setTimeout(poll, 1);
		  })();
		})`, nil)
		if batch%5 == 4 && rotations < soakRotations {
			b.Eval(`wallboard.next(); true`, nil)
			rotations++
		}
		if sent == 100 {
			first = measure(t, b)
		}
	}
	for rotations < soakRotations {
		b.Eval(`wallboard.next(); true`, nil)
		rotations++
	}
	var pageRotations int
	var same string
	b.Eval(`wallboard.rotations()`, &pageRotations)
	b.Eval(`window.__soak || 'reloaded'`, &same)
	if same != "same page" {
		t.Fatal("the page reloaded during the soak")
	}
	if pageRotations < soakRotations {
		t.Errorf("page counted %d rotations, want %d", pageRotations, soakRotations)
	}
	last := measure(t, b)

	report := fmt.Sprintf(`Wallboard page soak (e2e.TestSoakUpdatesAndRotations), %s
one page, playlist of 3 boards x 4 tiles (stat, gauge, timeseries with 60-point series, list), headless Chromium %s
updates pushed and applied: %d (each waited for in the page), rotations: %d

                      after 100 updates   after %d updates   change
JS heap used (bytes)  %17.0f   %17.0f   %+.0f (%+.1f KiB)
DOM nodes (Nodes)     %17.0f   %17.0f   %+.0f (%+.2f %%)
elements              %17d   %17d   %+d
JS event listeners    %17.0f   %17.0f   %+.0f
limits: heap growth <= 1 MiB, DOM node growth <= 1 %%
`, time.Now().UTC().Format(time.RFC3339), chromiumVersion(b), sent, pageRotations, sent,
		first.HeapUsed, last.HeapUsed, last.HeapUsed-first.HeapUsed, (last.HeapUsed-first.HeapUsed)/1024,
		first.Nodes, last.Nodes, last.Nodes-first.Nodes, (last.Nodes-first.Nodes)/first.Nodes*100,
		first.Elements, last.Elements, last.Elements-first.Elements,
		first.Listener, last.Listener, last.Listener-first.Listener)
	WriteArtifact(t, "soak.txt", report)
	t.Log("\n" + report)
	if grow := last.HeapUsed - first.HeapUsed; grow > 1<<20 {
		t.Errorf("JS heap grew by %.0f bytes (> 1 MiB)", grow)
	}
	if d := last.Nodes - first.Nodes; d > first.Nodes*0.01 || d < -first.Nodes*0.01 {
		t.Errorf("DOM nodes %v -> %v: more than 1 %% apart", first.Nodes, last.Nodes)
	}
	if last.Elements != first.Elements {
		t.Errorf("element count %d -> %d", first.Elements, last.Elements)
	}
}

func chromiumVersion(b *Browser) string {
	var ua string
	b.Eval(`navigator.userAgent`, &ua)
	if i := strings.Index(ua, "Chrome/"); i >= 0 {
		return strings.Fields(ua[i:])[0]
	}
	return ua
}
