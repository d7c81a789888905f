package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

func TestTileStateRoundTrip(t *testing.T) {
	forEachTarget(t, testTileStateRoundTrip)
}

func testTileStateRoundTrip(t *testing.T, path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	in := board.TileState{Board: "ops", Tile: "rps", Result: board.Result{Value: board.F(12.5), Series: []board.Point{{T: at, V: 1}}},
		Status: board.StatusWarn, UpdatedAt: at, Freshness: time.Minute, Restored: true}
	if err := s.SaveTiles(ctx, []board.TileState{in}); err != nil {
		t.Fatal(err)
	}
	in.Value = board.F(13)
	if err := s.SaveTiles(ctx, []board.TileState{in}); err != nil {
		t.Fatal(err)
	}
	// A corrupt row is skipped and reported; the others still load.
	if _, err := s.DB.Exec(`INSERT INTO tile_state VALUES ('ops', 'bad', '{not json', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, path) // migrations run again: must be a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.LoadTiles(ctx)
	if err == nil || err.Error() != "store: load tiles: undecodable state for ops/bad" {
		t.Errorf("err = %v", err)
	}
	if len(out) != 1 || *out[0].Value != 13 || out[0].Status != board.StatusWarn || !out[0].UpdatedAt.Equal(at) || out[0].Restored {
		t.Fatalf("loaded %+v", out)
	}
	if s.Postgres() {
		return
	}
	var mode string
	s.DB.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %s, want wal", mode)
	}
}

func TestFirstDelivery(t *testing.T) {
	forEachStore(t, testFirstDelivery)
}

func testFirstDelivery(t *testing.T, s *Store) {
	ctx := context.Background()
	var firsts []bool
	for range 2 {
		err := s.InTx(ctx, func(tx *sql.Tx) error {
			first, err := firstDelivery(ctx, tx, "github", "abc-123", time.Now())
			firsts = append(firsts, first)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !firsts[0] || firsts[1] {
		t.Fatalf("first delivery flags = %v, want [true false]", firsts)
	}
}

func TestOpenReportsBadPath(t *testing.T) {
	_, err := Open(context.Background(), "/proc/no/such/dir/w.db")
	if err == nil {
		t.Fatal("opening a database in a missing directory must fail")
	}
}
