package board

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	hi := &Thresholds{Warn: F(10), Critical: F(20)}
	lo := &Thresholds{Warn: F(0.99), Critical: F(0.95), Direction: LowerIsWorse}
	warnOnly := &Thresholds{Warn: F(5)}
	tests := []struct {
		name string
		v    *float64
		th   *Thresholds
		want Status
	}{
		{"no data", nil, hi, StatusUnknown},
		{"NaN", F(math.NaN()), hi, StatusUnknown},
		{"no thresholds", F(1e9), nil, StatusOK},
		{"below warn", F(9.999), hi, StatusOK},
		{"exactly warn", F(10), hi, StatusWarn},
		{"between", F(19.9), hi, StatusWarn},
		{"exactly critical", F(20), hi, StatusCritical},
		{"+Inf", F(math.Inf(1)), hi, StatusCritical},
		{"lower-is-worse fine", F(0.999), lo, StatusOK},
		{"lower-is-worse exactly warn", F(0.99), lo, StatusWarn},
		{"lower-is-worse exactly critical", F(0.95), lo, StatusCritical},
		{"lower-is-worse -Inf", F(math.Inf(-1)), lo, StatusCritical},
		{"warn only", F(6), warnOnly, StatusWarn},
	}
	for _, tt := range tests {
		if got := judge(tt.v, tt.th); got != tt.want {
			t.Errorf("%s: Judge = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestStaleness(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	fresh := 90 * time.Second
	st := TileState{Freshness: fresh}
	if st.Stale(t0) {
		t.Error("never-fetched tile is 'waiting', not stale")
	}
	st = st.Apply(Result{Value: F(1)}, nil, nil, t0)
	tests := []struct {
		at   time.Duration
		want bool
	}{
		{0, false}, {fresh - time.Millisecond, false}, {fresh, false}, {fresh + time.Millisecond, true}, {time.Hour, true},
	}
	for _, tt := range tests {
		if got := st.Stale(t0.Add(tt.at)); got != tt.want {
			t.Errorf("age %v: stale = %v, want %v", tt.at, got, tt.want)
		}
	}
	failed := st.Apply(Result{}, errors.New("connection refused"), nil, t0.Add(time.Second))
	if !failed.Stale(t0.Add(time.Second)) {
		t.Error("a failed poll must mark the tile stale at once")
	}
	if failed.Value == nil || *failed.Value != 1 {
		t.Error("a failed poll must keep the last good value on screen")
	}
	if failed.Age(t0.Add(time.Minute)) != time.Minute {
		t.Errorf("age = %v, want 1m (the age of the data shown)", failed.Age(t0.Add(time.Minute)))
	}
	again := failed.Apply(Result{}, errors.New("still down"), nil, t0.Add(time.Minute))
	if !again.ErrorSince.Equal(t0.Add(time.Second)) {
		t.Errorf("ErrorSince moved to %v; it must stay at the first failure", again.ErrorSince)
	}
	ok := again.Apply(Result{Value: F(2)}, nil, nil, t0.Add(2*time.Minute))
	if ok.Stale(t0.Add(2*time.Minute)) || ok.Error != "" || !ok.ErrorSince.IsZero() {
		t.Errorf("recovery must clear the error: %+v", ok)
	}
	restored := ok
	restored.Restored = true
	if !restored.Stale(t0.Add(2 * time.Minute)) {
		t.Error("state restored from the store is stale until a poll confirms it")
	}
}

func TestApplyHistoryAndTrend(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	st := TileState{Freshness: time.Minute}
	for i := range historyLen + 5 {
		st = st.Apply(Result{Value: F(float64(i))}, nil, nil, t0.Add(time.Duration(i)*time.Second))
	}
	if len(st.History) != historyLen {
		t.Fatalf("history = %d points, want %d", len(st.History), historyLen)
	}
	if st.History[0].V != 5 || *st.Prev != float64(historyLen+3) {
		t.Errorf("oldest = %v, prev = %v", st.History[0].V, *st.Prev)
	}
	// A source series replaces polled history and does not grow it.
	st2 := st.Apply(Result{Value: F(9), Series: []Point{{t0, 1}, {t0.Add(time.Second), 9}}}, nil, nil, t0.Add(time.Hour))
	if len(st2.History) != historyLen {
		t.Errorf("history changed with a source series: %d", len(st2.History))
	}
	restored := st
	restored.Restored = true
	fresh := restored.Apply(Result{Value: F(100)}, nil, nil, t0.Add(2*time.Hour))
	if fresh.Prev != nil {
		t.Error("the first value after a restart has no trend: the previous one is hours old")
	}
}

func TestApplyRows(t *testing.T) {
	th := &Thresholds{Warn: F(0.01), Critical: F(0.05)}
	st := TileState{}.Apply(Result{Rows: []Row{
		{Label: "api", Value: F(0.001)},
		{Label: "search", Value: F(0.02)},
		{Label: "given", Value: F(0.9), Status: StatusOK},
	}}, nil, th, time.Now())
	want := []Status{StatusOK, StatusWarn, StatusOK}
	for i, r := range st.Rows {
		if r.Status != want[i] {
			t.Errorf("row %s: %s, want %s", r.Label, r.Status, want[i])
		}
	}
	if st.Status != StatusWarn {
		t.Errorf("tile status = %s, want the worst row's (warn)", st.Status)
	}
}

func TestLiveSweep(t *testing.T) {
	cfg, err := Parse("b.yaml", []byte(validConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	l := NewLive(cfg, []TileState{{Board: "ops", Tile: "rps", Result: Result{Value: F(7)}, UpdatedAt: t0.Add(-time.Hour)}, {Board: "gone", Tile: "x"}})
	_, states, ok := l.Board("ops")
	if !ok || states[0].Value == nil || !states[0].Restored {
		t.Fatalf("restored state not used: %+v", states)
	}
	ref := TileRef{"ops", "rps"}
	l.Apply(ref, Result{Value: F(1)}, nil, t0)
	if got := l.Sweep(t0.Add(29 * time.Second)); len(got) != 0 {
		t.Errorf("sweep before freshness limit: %d changes", len(got))
	}
	got := l.Sweep(t0.Add(31 * time.Second))
	if len(got) != 1 || got[0].Tile != "rps" {
		t.Fatalf("sweep after freshness limit = %+v, want rps", got)
	}
	if again := l.Sweep(t0.Add(40 * time.Second)); len(again) != 0 {
		t.Errorf("a tile is reported once when it goes stale, got %d again", len(again))
	}
}

// TestQueryKeyNaN: YAML can write .nan and .inf, which JSON cannot encode; a
// query holding one still gets a key (it used to panic at start-up).
func TestQueryKeyNaN(t *testing.T) {
	q := Query{Source: "gcp", Params: map[string]any{"scale": math.Inf(1), "x": math.NaN()}}
	k1, k2 := q.Key(), q.Key()
	if k1 == "" || k1 != k2 {
		t.Fatalf("keys %q, %q", k1, k2)
	}
	if other := (Query{Source: "gcp", Params: map[string]any{"scale": 2.0}}).Key(); other == k1 {
		t.Error("different queries share a key")
	}
}

// What polls applied is saved once, however often it changed; a failed save
// keeps it unsaved; a reload keeps an unsaved tile unsaved (its state is
// kept), so a config edit between a poll and the save loses nothing.
func TestLiveUnsaved(t *testing.T) {
	cfg, err := Parse("b.yaml", []byte(validConfig), nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	l := NewLive(cfg, []TileState{{Board: "ops", Tile: "rps", Result: Result{Value: F(7)}, UpdatedAt: t0.Add(-time.Hour)}})
	if got := l.Unsaved(); len(got) != 0 {
		t.Fatalf("restored state is unsaved: %+v", got)
	}
	ref := TileRef{"ops", "rps"}
	l.Apply(ref, Result{Value: F(1)}, nil, t0)
	l.Apply(ref, Result{Value: F(2)}, nil, t0.Add(time.Second))
	got := l.Unsaved()
	if len(got) != 1 || *got[0].Value != 2 {
		t.Fatalf("unsaved = %+v, want rps once with its last value 2", got)
	}
	if again := l.Unsaved(); len(again) != 0 {
		t.Fatalf("a saved tile is unsaved again: %+v", again)
	}
	l.KeepUnsaved(got) // the save failed
	l.Apply(ref, Result{Value: F(3)}, nil, t0.Add(2*time.Second))
	n := l.Rebuild(cfg)
	got = n.Unsaved()
	if len(got) != 1 || *got[0].Value != 3 {
		t.Fatalf("after a failed save and a reload, unsaved = %+v, want rps with 3", got)
	}
}
