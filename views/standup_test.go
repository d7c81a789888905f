package views

import (
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

func TestLastStandup(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		x, err := time.ParseInLocation("2006-01-02 15:04", s, tokyo)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, c := range []struct{ now, want string }{
		{"2026-11-25 09:35", "2026-11-24 09:30"}, // during today's standup: yesterday's
		{"2026-11-25 09:25", "2026-11-24 09:30"}, // just before it
		{"2026-11-25 16:00", "2026-11-24 09:30"},
		{"2026-11-25 22:00", "2026-11-25 09:30"}, // evening: this morning's
	} {
		got, ok := LastStandup("09:30", tokyo, at(c.now))
		if !ok || !got.Equal(at(c.want)) {
			t.Errorf("now %s: last standup %s, want %s", c.now, got.In(tokyo), c.want)
		}
	}
}

func TestMovesOf(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	since := now.Add(-24 * time.Hour)
	pts := func(start time.Time, vals ...float64) []board.Point {
		var out []board.Point
		for i, v := range vals {
			out = append(out, board.Point{T: start.Add(time.Duration(i) * 12 * time.Hour), V: v})
		}
		return out
	}
	th := &board.Thresholds{Warn: board.F(0.3), Critical: board.F(0.6)}
	tiles := []TileView{
		{Cfg: board.TileConfig{ID: "lat", Title: "Latency", Unit: "s", Thresholds: th},
			State: board.TileState{Result: board.Result{Value: board.F(0.5), Series: pts(now.Add(-36*time.Hour), 0.1, 0.2, 0.4, 0.5)}}},
		{Cfg: board.TileConfig{ID: "new", Title: "New"},
			State: board.TileState{Result: board.Result{Value: board.F(10)}, History: pts(now.Add(-2*time.Hour), 20, 10)}},
		{Cfg: board.TileConfig{ID: "none", Title: "No data"}},
	}
	moves := MovesOf(tiles, since, English)
	if len(moves) != 2 {
		t.Fatalf("got %d moves, want 2 (the tile without data left out): %+v", len(moves), moves)
	}
	m := moves[0]
	if m.From != "200 ms" || m.To != "500 ms" || m.Arrow != "↑" || !m.Worse || m.Partial != "" {
		t.Errorf("latency move = %+v, want 200 ms → 500 ms, worse", m)
	}
	m = moves[1]
	if m.From != "20" || m.To != "10" || m.Partial != "since 10:00" || m.Worse {
		t.Errorf("partial move = %+v", m)
	}
}
