package e2e

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

// While the connection is lost, the header says how old the data on screen
// is, counted from when it was last known current (the newest tile's data,
// at the latest the moment the connection was lost), and keeps counting; it
// never claims the data is current ("updated 0 s ago" beside "connection
// lost").
func TestHeaderAgeWhileConnectionLost(t *testing.T) {
	s := StartServer(t, ServerOptions{})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/demo", 1920, 1080)
	b.WaitJS(`document.querySelectorAll('.tile[data-updated="0"]').length === 0`, 20*time.Second)
	re := regexp.MustCompile(`^updated (\d+) s ago$`)

	// The page is told the socket closed (what htmx-ext-ws reports; 1006
	// schedules no reconnect by the page) while tile updates still arrive,
	// as from a socket the page already gave up on: the demo polls every
	// 2 s, so the newest tile is never more than about 2 s old.
	b.WaitJS(`(() => { document.querySelector('.board').dispatchEvent(new CustomEvent('htmx:wsClose', {bubbles: true, detail: {socketWrapper: null, event: {code: 1006}}})); return !document.querySelector('.conn').hidden; })()`, 10*time.Second)
	told := time.Now()
	time.Sleep(6500 * time.Millisecond) // past the header's "just now" (under 5 s)
	var txt string
	b.Eval(`document.querySelector('.updated').textContent`, &txt)
	if m := re.FindStringSubmatch(txt); m == nil {
		t.Errorf("header while the connection is lost reads %q", txt)
	} else if n, _ := strconv.Atoi(m[1]); n < int(time.Since(told).Seconds())-1 {
		t.Errorf("header reads %q %.0f s after the connection was lost: it counts from data that arrived after", txt, time.Since(told).Seconds())
	}

	// The real thing: the server stops.
	b.Open(s.Base+"/boards/demo", 1920, 1080)
	b.WaitJS(`document.querySelectorAll('.tile[data-updated="0"]').length === 0`, 20*time.Second)
	s.Stop()
	stopped := time.Now()
	b.WaitJS(`!document.querySelector('.conn').hidden`, 20*time.Second)

	read := func() (string, int) {
		var txt string
		b.Eval(`document.querySelector('.updated').textContent`, &txt)
		m := re.FindStringSubmatch(txt)
		if m == nil {
			t.Fatalf("header age while the connection is lost reads %q, want \"updated N s ago\"", txt)
		}
		n, _ := strconv.Atoi(m[1])
		return txt, n
	}
	time.Sleep(6 * time.Second) // past the header's "just now" (under 5 s)
	first, n1 := read()
	time.Sleep(2500 * time.Millisecond)
	last, n2 := read()
	lost := int(time.Since(stopped).Seconds())
	t.Logf("header %q then %q, %d s after the server stopped", first, last, lost)
	if n2 < lost-1 {
		t.Errorf("header says %q %d s after the server stopped: the data on screen is older than it says", last, lost)
	}
	if n2-n1 < 2 {
		t.Errorf("header age went from %q to %q in 2.5 s: it does not keep ticking", first, last)
	}
}
