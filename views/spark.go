package views

import (
	"math"
	"strconv"
	"strings"

	"github.com/wallboard/wallboard/board"
)

// Sparkline geometry, in SVG user units. The SVG stretches to its box
// (preserveAspectRatio="none") and strokes keep their width through
// vector-effect, so one path serves every screen size.
const (
	sparkW = 100.0
	sparkH = 30.0
)

// Spark is a server-rendered sparkline: a line and the area under it.
type Spark struct {
	Line, Area string
}

// SparkOf draws points scaled to their own min and max; it is empty for fewer
// than two finite points. Non-finite points break the line rather than
// stretching the scale.
func SparkOf(pts []board.Point) Spark {
	var finite []board.Point
	for _, p := range pts {
		if !math.IsNaN(p.V) && !math.IsInf(p.V, 0) {
			finite = append(finite, p)
		}
	}
	if len(finite) < 2 {
		return Spark{}
	}
	lo, hi := finite[0].V, finite[0].V
	for _, p := range finite {
		lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
	}
	if hi == lo {
		hi, lo = hi+1, lo-1
	}
	t0, t1 := finite[0].T, finite[len(finite)-1].T
	span := t1.Sub(t0).Seconds()
	var line strings.Builder
	var firstX, lastX string
	for i, p := range finite {
		x := float64(i) / float64(len(finite)-1) * sparkW
		if span > 0 {
			x = p.T.Sub(t0).Seconds() / span * sparkW
		}
		// 2 units of padding keep the stroke inside the box.
		y := 2 + (1-(p.V-lo)/(hi-lo))*(sparkH-4)
		xs, ys := strconv.FormatFloat(x, 'f', 1, 64), strconv.FormatFloat(y, 'f', 1, 64)
		if i == 0 {
			line.WriteString("M" + xs + " " + ys)
			firstX = xs
		} else {
			line.WriteString("L" + xs + " " + ys)
		}
		lastX = xs
	}
	l := line.String()
	return Spark{Line: l, Area: l + "L" + lastX + " 30L" + firstX + " 30Z"}
}

// Series is what a tile's sparkline draws: the source's series when it gave
// one, else the values the board has polled.
func Series(s board.TileState) []board.Point {
	if len(s.Series) > 0 {
		return s.Series
	}
	return s.History
}
