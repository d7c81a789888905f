package demo

import (
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

// TestAlertsCycle: the critical demo alert is open from alertOpensAfter to
// alertOpensAfter+alertOpenFor of every cycle, with a next action; the
// warning is always open.
func TestAlertsCycle(t *testing.T) {
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	crit := func(at time.Duration) *board.Alert {
		for _, a := range alerts(start, start.Add(at)) {
			if a.Severity == board.SeverityCritical {
				return &a
			}
		}
		return nil
	}
	for _, c := range []struct {
		at   time.Duration
		open bool
	}{
		{0, false}, {alertOpensAfter - time.Second, false}, {alertOpensAfter, true},
		{alertOpensAfter + alertOpenFor - time.Second, true}, {alertOpensAfter + alertOpenFor, false},
		{alertCycle + alertOpensAfter + time.Second, true},
	} {
		a := crit(c.at)
		if (a != nil) != c.open {
			t.Errorf("at +%s: critical open = %v, want %v", c.at, a != nil, c.open)
		}
		if a != nil && (a.NextAction == "" || a.ID == "") {
			t.Errorf("at +%s: critical alert without id or next action: %+v", c.at, a)
		}
		if n := len(alerts(start, start.Add(c.at))); n < 1 {
			t.Errorf("at +%s: the warning is not open", c.at)
		}
	}
}
