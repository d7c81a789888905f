package e2e

import (
	"strings"
	"testing"
	"time"
)

// Kiosk screens shift a few px now and then (burn-in); a board in its night
// hours dims; both keep the page free of scrollbars.
func TestKioskShiftAndNightDimming(t *testing.T) {
	// The night is the two hours around now (the browser runs in this
	// process's time zone); the day board's night is the opposite hours.
	now := time.Now()
	hm := func(t time.Time) string { return t.Format("15:04") }
	nightFrom, nightTo := hm(now.Add(-time.Hour)), hm(now.Add(time.Hour))
	cfg := `
sources:
  - {id: demo, kind: demo}
boards:
  - id: night
    title: Always night
    night: {from: "` + nightFrom + `", to: "` + nightTo + `"}
    tiles:
      - {id: req, kind: stat, title: Requests, source: demo, query: requests, interval: 1s}
  - id: day
    title: Never night
    night: {from: "` + nightTo + `", to: "` + nightFrom + `"}
    tiles:
      - {id: req, kind: stat, title: Requests, source: demo, query: requests, interval: 1s}
`
	s := StartServer(t, ServerOptions{Config: cfg})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/night?kiosk", 1920, 1080)
	var before, after string
	b.Eval(`getComputedStyle(document.querySelector('.board')).transform`, &before)
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		b.Eval(`wallboard.shiftNow(); getComputedStyle(document.querySelector('.board')).transform`, &after)
		seen[after] = true
		if strings.Contains(after, "matrix") {
			var ok bool
			b.Eval(`(() => { const m = new DOMMatrix(getComputedStyle(document.querySelector('.board')).transform); return Math.abs(m.e) <= 4 && Math.abs(m.f) <= 4; })()`, &ok)
			if !ok {
				t.Errorf("shift %s moves more than 4 px", after)
			}
		}
	}
	if len(seen) < 3 || before != "none" && before != "matrix(1, 0, 0, 1, 0, 0)" {
		t.Errorf("kiosk shift: start %s, then %v: want at least 3 distinct small shifts", before, seen)
	}
	var scrolls bool
	b.Eval(`document.scrollingElement.scrollHeight > innerHeight || document.scrollingElement.scrollWidth > innerWidth`, &scrolls)
	if scrolls {
		t.Error("the kiosk shift made the page scroll")
	}
	b.WaitJS(`document.querySelector('.board').classList.contains('night')`, 5*time.Second)
	var filter string
	b.Eval(`getComputedStyle(document.querySelector('.board')).filter`, &filter)
	if !strings.Contains(filter, "brightness") {
		t.Errorf("night board filter = %q, want dimmed", filter)
	}

	b.Open(s.Base+"/boards/day", 1920, 1080)
	b.Eval(`getComputedStyle(document.querySelector('.board')).filter`, &filter)
	var night, kiosk bool
	b.Eval(`document.querySelector('.board').classList.contains('night')`, &night)
	b.Eval(`document.body.classList.contains('kiosk')`, &kiosk)
	if night || filter != "none" || kiosk {
		t.Errorf("day board without ?kiosk: night=%v filter=%q kiosk=%v", night, filter, kiosk)
	}
}
