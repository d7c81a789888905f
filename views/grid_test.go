package views

import (
	"slices"
	"testing"

	"github.com/wallboard/wallboard/board"
)

// Pack leaves no hole a tile could grow into, in either orientation, and
// changes nothing on a board that has none.
func TestPack(t *testing.T) {
	tile := func(span, rows int) board.TileConfig { return board.TileConfig{Span: span, RowSpan: rows} }
	cases := []struct {
		name       string
		cols       int
		tiles      []board.TileConfig
		land, port []int
	}{
		// The demo's team board: four stats, alerts, Four Keys and merges at
		// span 2 leave the end of the last row empty; the merges take it.
		{"team", 4, []board.TileConfig{tile(1, 1), tile(1, 1), tile(1, 1), tile(1, 1), tile(2, 1), tile(2, 1), tile(2, 1)},
			[]int{1, 1, 1, 1, 2, 2, 4}, []int{1, 1, 1, 1, 2, 2, 2}},
		// Later tiles already fill the holes wide tiles leave.
		{"dense", 3, []board.TileConfig{tile(2, 1), tile(2, 1), tile(1, 1), tile(1, 1)},
			[]int{2, 2, 1, 1}, []int{2, 2, 1, 1}},
		{"five", 4, []board.TileConfig{tile(1, 1), tile(1, 1), tile(1, 1), tile(1, 1), tile(1, 1)},
			[]int{1, 1, 1, 1, 4}, []int{1, 1, 1, 1, 2}},
		// A tall tile: the hole under the wide one goes to its left
		// neighbour. In portrait the hole beside the tall tile stays: no
		// tile can grow into it by widening.
		{"tall", 3, []board.TileConfig{tile(1, 2), tile(2, 1), tile(1, 1)},
			[]int{1, 2, 2}, []int{1, 2, 1}},
		{"alone", 2, []board.TileConfig{tile(2, 1)}, []int{2}, []int{2}},
	}
	for _, c := range cases {
		var land, port []int
		for _, p := range Pack(c.tiles, c.cols) {
			land, port = append(land, p.span), append(port, p.portraitSpan)
		}
		if !slices.Equal(land, c.land) || !slices.Equal(port, c.port) {
			t.Errorf("%s: spans %v, portrait %v; want %v, %v", c.name, land, port, c.land, c.port)
		}
	}
}
