package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

func record(t *testing.T, s *Store, a board.Alert, now time.Time) bool {
	t.Helper()
	var changed bool
	err := s.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		changed, err = recordAlertEvent(context.Background(), tx, a, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return changed
}

func get(t *testing.T, s *Store, source, id string) StoredAlert {
	t.Helper()
	a, ok, err := s.Alert(context.Background(), source, id)
	if err != nil || !ok {
		t.Fatalf("alert %s/%s: ok=%v err=%v", source, id, ok, err)
	}
	return a
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestCloseBeforeOpenStaysClosed(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		closeEv := board.Alert{Source: "cloudmonitoring", ID: "i1", State: board.AlertClosed, StartedAt: t0, EndedAt: t0.Add(5 * time.Minute)}
		record(t, s, closeEv, t0.Add(6*time.Minute))
		openEv := board.Alert{Source: "cloudmonitoring", ID: "i1", State: board.AlertOpen, StartedAt: t0, Title: "CPU high", Severity: board.SeverityCritical, NextAction: "scale up"}
		record(t, s, openEv, t0.Add(7*time.Minute))
		a := get(t, s, "cloudmonitoring", "i1")
		if a.State != board.AlertClosed {
			t.Fatalf("late open reopened the alert: %+v", a)
		}
		if a.Title != "CPU high" || a.NextAction != "scale up" {
			t.Errorf("late open's details not kept: %+v", a)
		}
		if !a.EndedAt.Equal(t0.Add(5 * time.Minute)) {
			t.Errorf("ended_at = %v", a.EndedAt)
		}
		open, err := s.OpenAlerts(context.Background(), []string{"cloudmonitoring"})
		if err != nil || len(open) != 0 {
			t.Fatalf("open alerts = %v, %v", open, err)
		}
		// A new occurrence that starts after the close reopens it.
		record(t, s, board.Alert{Source: "cloudmonitoring", ID: "i1", State: board.AlertOpen, StartedAt: t0.Add(10 * time.Minute)}, t0.Add(10*time.Minute))
		if a := get(t, s, "cloudmonitoring", "i1"); a.State != board.AlertOpen || !a.OpenedAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("new occurrence not open: %+v", a)
		}
		ops, err := s.Openings(context.Background(), []string{"cloudmonitoring"}, t0.Add(-time.Hour))
		if err != nil || len(ops) != 1 || ops[0].Count != 2 {
			t.Fatalf("openings = %+v, %v; want 2 for one policy", ops, err)
		}
	})
}

func TestDuplicateAndLateCloseAreIdempotent(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		o := board.Alert{Source: "events", ID: "x", State: board.AlertOpen, StartedAt: t0, Title: "down", Severity: board.SeverityError}
		if !record(t, s, o, t0) {
			t.Fatal("first open not a change")
		}
		if record(t, s, o, t0.Add(time.Minute)) {
			t.Error("duplicate open reported a change")
		}
		_, tr, _ := s.CountAlerts(context.Background())
		if tr != 1 {
			t.Errorf("transitions after duplicate = %d, want 1", tr)
		}
		// A close from before this occurrence started is ignored.
		record(t, s, board.Alert{Source: "events", ID: "x", State: board.AlertClosed, EndedAt: t0.Add(-time.Minute)}, t0.Add(2*time.Minute))
		if a := get(t, s, "events", "x"); a.State != board.AlertOpen {
			t.Fatalf("stale close closed the alert: %+v", a)
		}
		c := board.Alert{Source: "events", ID: "x", State: board.AlertClosed, EndedAt: t0.Add(3 * time.Minute)}
		record(t, s, c, t0.Add(3*time.Minute))
		if record(t, s, c, t0.Add(4*time.Minute)) {
			t.Error("duplicate close reported a change")
		}
		// The open delivered again after the close does not reopen it.
		record(t, s, o, t0.Add(5*time.Minute))
		if a := get(t, s, "events", "x"); a.State != board.AlertClosed {
			t.Fatalf("redelivered open reopened: %+v", a)
		}
	})
}

func TestSyncPolledClosesVanishedAndReopens(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a := board.Alert{ID: "fp1", Title: "A", Severity: board.SeverityCritical, StartedAt: t0}
		b := board.Alert{ID: "fp2", Title: "B", Severity: board.SeverityWarning, StartedAt: t0.Add(-time.Hour)}
		if _, err := s.SyncPolled(ctx, "am", []board.Alert{a, b}, t0); err != nil {
			t.Fatal(err)
		}
		open, _ := s.OpenAlerts(ctx, []string{"am"})
		if len(open) != 2 || open[0].ID != "fp1" {
			t.Fatalf("open = %+v; want critical fp1 first", open)
		}
		changed, err := s.SyncPolled(ctx, "am", []board.Alert{b}, t0.Add(time.Minute))
		if err != nil || !changed {
			t.Fatalf("sync: changed=%v err=%v", changed, err)
		}
		if got := get(t, s, "am", "fp1"); got.State != board.AlertClosed {
			t.Fatalf("vanished alert still %s", got.State)
		}
		// Seen again by a poll (the source only blinked): open again.
		s.SyncPolled(ctx, "am", []board.Alert{a, b}, t0.Add(2*time.Minute))
		if got := get(t, s, "am", "fp1"); got.State != board.AlertOpen {
			t.Fatalf("alert back in the poll is %s", got.State)
		}
		changed, _ = s.SyncPolled(ctx, "am", []board.Alert{a, b}, t0.Add(3*time.Minute))
		if changed {
			t.Error("identical poll reported a change")
		}
	})
}

// TestFollowersFollowThePoll: the webhook's copies of the alerts an
// Alertmanager poll knows take the poll's state (silenced, gone, back);
// copies of alerts the poll never saw are left alone.
func TestFollowersFollowThePoll(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const hook = "alertmanager-webhook"
		a := board.Alert{ID: "fp1", Title: "A", Severity: board.SeverityCritical, StartedAt: t0}
		other := board.Alert{Source: hook, ID: "elsewhere", Title: "From another Alertmanager", State: board.AlertOpen, StartedAt: t0}
		hookA := a
		hookA.Source, hookA.State = hook, board.AlertOpen
		record(t, s, hookA, t0)
		record(t, s, other, t0)
		sync := func(open []board.Alert, suppressed []string, at time.Time) {
			t.Helper()
			if _, err := s.SyncPolledFollowers(ctx, "am", open, suppressed, []string{hook}, at, at); err != nil {
				t.Fatal(err)
			}
		}
		state := func() string {
			return string(get(t, s, hook, "fp1").State) + "/" + string(get(t, s, hook, "elsewhere").State)
		}
		sync([]board.Alert{a}, nil, t0.Add(time.Minute))
		if got := state(); got != "open/open" {
			t.Fatalf("both feeds see it: %s", got)
		}
		sync(nil, []string{"fp1"}, t0.Add(2*time.Minute)) // silenced
		if got := state(); got != "closed/open" {
			t.Fatalf("silenced: %s, want closed/open", got)
		}
		sync([]board.Alert{a}, nil, t0.Add(3*time.Minute)) // silence expired, still firing
		if got := state(); got != "open/open" {
			t.Fatalf("unsilenced: %s, want open/open", got)
		}
		sync(nil, nil, t0.Add(4*time.Minute)) // resolved: gone from the poll
		if got := state(); got != "closed/open" {
			t.Fatalf("resolved: %s, want closed/open", got)
		}
		// It fires again; the webhook stores it while a poll that asked before
		// is under way: that poll's view is older and does not close it.
		again := hookA
		again.StartedAt = t0.Add(5 * time.Minute)
		record(t, s, again, t0.Add(5*time.Minute))
		if _, err := s.SyncPolledFollowers(ctx, "am", nil, nil, []string{hook}, t0.Add(5*time.Minute-time.Second), t0.Add(5*time.Minute+time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := state(); got != "open/open" {
			t.Fatalf("stored after the poll asked: %s, want open/open", got)
		}
	})
}
