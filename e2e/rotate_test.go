package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// threeBoards is a config with boards a, b, c (each with two demo tiles
// polled every second) and a playlist of them switching every second.
func threeBoards(every string) string {
	var sb strings.Builder
	sb.WriteString("sources:\n  - {id: demo, kind: demo}\nboards:\n")
	for _, id := range []string{"a", "b", "c"} {
		fmt.Fprintf(&sb, `  - id: %s
    title: Board %s
    tiles:
      - {id: req, kind: stat, title: Requests %s, source: demo, query: requests, interval: 1s}
      - {id: cpu, kind: gauge, title: CPU %s, source: demo, query: cpu, unit: ratio, interval: 1s}
`, id, strings.ToUpper(id), id, id)
	}
	fmt.Fprintf(&sb, "playlists:\n  - {id: office, boards: [a, b, c], every: %s}\n", every)
	return sb.String()
}

// visits waits until the page has switched boards n times and returns the
// boards it showed, in order (the page keeps the list, so a slow test
// machine cannot miss a switch). It also checks that exactly one board is
// visible.
func visits(t *testing.T, b *Browser, n int, timeout time.Duration) []string {
	t.Helper()
	b.WaitJS(fmt.Sprintf(`wallboard.rotations() >= %d`, n), timeout)
	var seq []string
	b.Eval(`wallboard.shown()`, &seq)
	var visible int
	b.Eval(`document.querySelectorAll('.board:not([hidden])').length`, &visible)
	if visible != 1 {
		t.Errorf("%d boards visible at once", visible)
	}
	var cur string
	// A board's section, or its retro view's ("id/retro", data-view).
	b.Eval(`(d => d.board + (d.view ? '/' + d.view : ''))(document.querySelector('.board:not([hidden])').dataset)`, &cur)
	if len(seq) == 0 || seq[len(seq)-1] != cur {
		t.Errorf("the page says it shows %v last, but %q is visible", seq, cur)
	}
	return seq
}

// checkCycle checks that every switch in seq went to the next board of order.
func checkCycle(t *testing.T, seq, order []string) {
	t.Helper()
	for i := 1; i < len(seq); i++ {
		k := slices.Index(order, seq[i-1])
		if k < 0 || seq[i] != order[(k+1)%len(order)] {
			t.Fatalf("boards shown %v: not in the order %v", seq, order)
		}
	}
}

func TestRotationPlaylistNoReloadDataLive(t *testing.T) {
	s := StartServer(t, ServerOptions{Config: threeBoards("1s")})
	b := StartBrowser(t)
	b.Open(s.Base+"/playlists/office", 1920, 1080)
	b.Eval(`window.__sameContext = 'kept'; true`, nil)
	// Every board's websocket is open, hidden ones included.
	b.WaitJS(`document.querySelectorAll('.board .tile[data-updated="0"]').length === 0`, 20*time.Second)
	var before map[string]int64
	b.Eval(`Object.fromEntries(Array.from(document.querySelectorAll('.tile')).map(t => [t.id, +t.dataset.updated]))`, &before)

	seq := visits(t, b, 6, 30*time.Second)
	if len(seq) < 7 || seq[0] != "a" {
		t.Errorf("boards shown %v: want a first and at least 7 (three boards twice, and back)", seq)
	}
	checkCycle(t, seq, []string{"a", "b", "c"})
	var kept string
	b.Eval(`window.__sameContext || 'lost'`, &kept)
	if kept != "kept" {
		t.Fatalf("the page reloaded during rotation (JS global is %q)", kept)
	}
	var after map[string]int64
	b.Eval(`Object.fromEntries(Array.from(document.querySelectorAll('.tile')).map(t => [t.id, +t.dataset.updated]))`, &after)
	if len(after) != 6 {
		t.Fatalf("want 6 tiles in the page, got %d", len(after))
	}
	for id, u := range after {
		if u <= before[id] {
			t.Errorf("%s: data-updated did not advance (%d then %d): a board in the background went stale", id, before[id], u)
		}
	}
	var progress string
	b.Eval(`document.getElementById('wb-rotate-bar').style.transform`, &progress)
	if !strings.HasPrefix(progress, "scaleX(") {
		t.Errorf("progress line not driven: transform %q", progress)
	}
}

func TestRotationQueryAndTakeoverPause(t *testing.T) {
	s := StartServer(t, ServerOptions{Config: threeBoards("1h")})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/b?rotate=1s&boards=c,a", 1280, 720)
	seq := visits(t, b, 3, 20*time.Second)
	if len(seq) < 4 || seq[0] != "b" {
		t.Errorf("boards shown %v: want b first, then c, a, b", seq)
	}
	checkCycle(t, seq, []string{"b", "c", "a"})
	// An alert takeover on one of the boards (the alerts feature's layer, in
	// takeover mode) brings that board forward and holds the rotation there,
	// even when another board was showing.
	b.Eval(`(() => {
		const target = [...document.querySelectorAll('.board')].find(s => s.hidden);
		const l = document.createElement('div');
		l.className = 'alert-layer is-takeover'; l.id = 'test-takeover';
		l.innerHTML = '<section class="takeover"></section>';
		target.appendChild(l);
		window.__target = target.getAttribute('data-board');
		return true;
	})()`, nil)
	b.WaitJS(`document.body.classList.contains('rotate-paused') && wallboard.current() === window.__target`, 5*time.Second)
	var n0, n1 int
	b.Eval(`wallboard.rotations()`, &n0)
	time.Sleep(3500 * time.Millisecond) // three and a half rotation periods
	b.Eval(`wallboard.rotations()`, &n1)
	if n1 != n0 {
		t.Errorf("rotation went on during a takeover: %d switches before, %d after", n0, n1)
	}
	b.Eval(`document.getElementById('test-takeover').hidden = true`, nil)
	b.WaitJS(`wallboard.rotations() > `+fmt.Sprint(n1), 10*time.Second)
}
