package views

import (
	"strconv"

	"github.com/wallboard/wallboard/board"
)

// Place is where a tile sits in its board's grid: the columns it spans on a
// landscape screen and on a portrait one (which has portraitColumns). The
// zero Place means the configured span, capped by the stylesheet.
type Place struct{ span, portraitSpan int }

// portraitColumns is how many columns a board of cols columns gets on a
// portrait screen: about half, so that tiles keep a usable width. The server
// cannot know the screen's shape; the page has both counts and the
// stylesheet picks one by orientation.
func portraitColumns(cols int) int {
	if cols <= 2 {
		return cols
	}
	return (cols + 1) / 2
}

// Pack places a board's tiles on cols columns in both orientations and
// returns each tile's spans. The grid fills itself like CSS grid's "row
// dense" auto-placement (later tiles fill the holes wide tiles leave); a
// hole that no later tile fills (the end of the last row, above all) is
// given to a tile beside it, which grows into it: a wall display shows no
// empty cells while a tile could use them.
func Pack(tiles []board.TileConfig, cols int) []Place {
	cols = max(cols, 1)
	land := fillHoles(tiles, cols)
	port := fillHoles(tiles, portraitColumns(cols))
	out := make([]Place, len(tiles))
	for i := range tiles {
		out[i] = Place{span: land[i], portraitSpan: port[i]}
	}
	return out
}

// fillHoles returns the column spans of tiles on cols columns with every
// hole that a tile can grow into filled: for each hole in turn, the tile on
// its left or right is widened by one column when that leaves fewer holes.
func fillHoles(tiles []board.TileConfig, cols int) []int {
	w := make([]int, len(tiles))
	h := make([]int, len(tiles))
	for i, t := range tiles {
		w[i] = min(max(t.Span, 1), cols)
		h[i] = max(t.RowSpan, 1)
	}
	holes := gridHoles(w, h, cols)
	// Each step fills at least one cell, so the loop ends.
	for len(holes) > 0 {
		improved := false
	try:
		for _, hole := range holes {
			for _, i := range hole.beside {
				w[i]++
				if n := gridHoles(w, h, cols); len(n) < len(holes) {
					holes, improved = n, true
					break try
				}
				w[i]--
			}
		}
		if !improved {
			break
		}
	}
	return w
}

// hole is an empty cell of the grid and the tiles left and right of it.
type hole struct{ beside []int }

// gridHoles places tiles of widths w and heights h on cols columns as the
// browser does (row dense: each tile at the first free area, scanning rows
// from the top) and returns the empty cells of the rows in use.
func gridHoles(w, h []int, cols int) []hole {
	var cells [][]int // cells[row][col]: tile index, -1 when empty
	free := func(r, c, wi, hi int) bool {
		for y := r; y < r+hi; y++ {
			for x := c; x < c+wi; x++ {
				if y < len(cells) && cells[y][x] >= 0 {
					return false
				}
			}
		}
		return true
	}
	for i := range w {
		for r := 0; ; r++ {
			c := 0
			for ; c+w[i] <= cols && !free(r, c, w[i], h[i]); c++ {
			}
			if c+w[i] > cols {
				continue
			}
			for len(cells) < r+h[i] {
				row := make([]int, cols)
				for x := range row {
					row[x] = -1
				}
				cells = append(cells, row)
			}
			for y := r; y < r+h[i]; y++ {
				for x := c; x < c+w[i]; x++ {
					cells[y][x] = i
				}
			}
			break
		}
	}
	var out []hole
	for _, row := range cells {
		for c, i := range row {
			if i >= 0 {
				continue
			}
			var hl hole
			if c > 0 && row[c-1] >= 0 {
				hl.beside = append(hl.beside, row[c-1])
			}
			if c+1 < cols && row[c+1] >= 0 {
				hl.beside = append(hl.beside, row[c+1])
			}
			out = append(out, hl)
		}
	}
	return out
}

// gridClasses are the grid's column counts as classes: cols-N for a
// landscape screen, pcols-N for a portrait one.
func gridClasses(cols int) string {
	cols = max(cols, 1)
	return "cols-" + strconv.Itoa(cols) + " pcols-" + strconv.Itoa(portraitColumns(cols))
}
