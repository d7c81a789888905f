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
			state: board.TileState{Result: board.Result{Value: board.F(0.5), Series: pts(now.Add(-36*time.Hour), 0.1, 0.2, 0.4, 0.5)}}},
		{Cfg: board.TileConfig{ID: "new", Title: "New"},
			state: board.TileState{Result: board.Result{Value: board.F(10)}, History: pts(now.Add(-2*time.Hour), 20, 10)}},
		{Cfg: board.TileConfig{ID: "none", Title: "No data"}},
		{Cfg: board.TileConfig{ID: "kept", Title: "Stored"},
			state: board.TileState{Result: board.Result{Value: board.F(30)}, History: pts(now.Add(-time.Hour), 30)}},
	}
	// The store has a value from then for "kept" only.
	stored := func(tile string) (board.Point, bool) {
		if tile == "kept" {
			return board.Point{T: since.Add(-4 * time.Minute), V: 60}, true
		}
		return board.Point{}, false
	}
	moves := MovesOf(tiles, since, English, stored)
	if len(moves) != 3 {
		t.Fatalf("got %d moves, want 3 (the tile without data left out): %+v", len(moves), moves)
	}
	m := moves[0]
	if m.from != "200 ms" || m.to != "500 ms" || m.arrow != "↑" || !m.worse || m.noBase {
		t.Errorf("latency move = %+v, want 200 ms → 500 ms, worse", m)
	}
	// Polled history that starts after since is no value from then: the
	// tile is not compared with its value of two hours ago.
	m = moves[1]
	if !m.noBase || m.from != "no value from then" || m.to != "10" || m.change != "" || m.worse || m.better {
		t.Errorf("move without a value from then = %+v", m)
	}
	m = moves[2]
	// A tile without thresholds or direction: the move is neither better
	// nor worse, only down.
	if m.noBase || m.from != "60" || m.to != "30" || m.arrow != "↓" || m.better || m.worse {
		t.Errorf("move from the stored history = %+v, want 60 → 30, ↓, neutral", m)
	}
}
