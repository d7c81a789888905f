package views

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
)

// Sparkline geometry, in SVG user units. The SVG stretches to its box
// (preserveAspectRatio="none") and strokes keep their width through
// vector-effect (the width itself is set by the stylesheet and grows with
// the screen), so one path serves every screen size.
const (
	sparkW = 100.0
	sparkH = 30.0
	// sparkPad keeps the stroke inside the box, user units top and bottom.
	sparkPad = 2.0
	// gapFactor: an interval longer than this many times the series' usual
	// (median) interval is a hole in the data (an outage, a restart), where
	// the line breaks instead of ramping across.
	gapFactor = 3
)

// spark is a server-rendered sparkline: a line and the area under it, one
// subpath per stretch of data without a gap, scaled to [lo, hi].
type spark struct {
	line, area string
	lo, hi     float64     // the values at the bottom and the top of the box
	marks      []sparkMark // horizontal threshold lines
	from, to   time.Time   // the time axis
}

// sparkMark is a horizontal line across the sparkline at a threshold.
type sparkMark struct {
	y     string // user units from the top
	class string // "spark-th th-warn" or "spark-th th-critical"
}

// sparkOf draws points on an honest scale: from zero (or the lowest value,
// when below zero) to the highest value, so a 0.3 % wobble of a large number
// stays a small wobble; values entirely of one sign keep zero as baseline.
// It is empty for fewer than two finite points. Non-finite points and holes
// in time break the line.
func sparkOf(pts []board.Point, include ...float64) spark {
	n := 0
	lo, hi := 0.0, 0.0 // zero is always on the scale: the baseline
	for _, p := range pts {
		if finite(p.V) {
			n++
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
		}
	}
	if n < 2 {
		return spark{}
	}
	for _, v := range include {
		if finite(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if hi == lo {
		hi = lo + 1 // all zero: a flat line at the bottom
	}
	var t0, t1 time.Time
	for _, p := range pts {
		if finite(p.V) {
			if t0.IsZero() {
				t0 = p.T
			}
			t1 = p.T
		}
	}
	span := t1.Sub(t0).Seconds()
	gap := gapOf(pts)
	s := spark{lo: lo, hi: hi, from: t0, to: t1}
	var line, area strings.Builder
	var seg []string // points of the current stretch, "x y"
	var segX0, segX1 string
	flush := func() {
		switch len(seg) {
		case 0:
			return
		case 1: // a lone point: a short dash, visible with round caps
			seg = append(seg, seg[0])
		}
		line.WriteString("M" + strings.Join(seg, "L"))
		area.WriteString("M" + strings.Join(seg, "L") + "L" + segX1 + " " + fmtU(sparkH) + "L" + segX0 + " " + fmtU(sparkH) + "Z")
		seg = seg[:0]
	}
	var prev time.Time
	i := 0
	for _, p := range pts {
		if !finite(p.V) {
			flush()
			continue
		}
		x := float64(i) / float64(n-1) * sparkW
		if span > 0 {
			x = p.T.Sub(t0).Seconds() / span * sparkW
		}
		i++
		if len(seg) > 0 && gap > 0 && p.T.Sub(prev) > gap {
			flush()
		}
		prev = p.T
		xs := fmtU(x)
		if len(seg) == 0 {
			segX0 = xs
		}
		segX1 = xs
		seg = append(seg, xs+" "+fmtU(s.y(p.V)))
	}
	flush()
	s.line, s.area = line.String(), area.String()
	return s
}

// y is a value's height in user units from the top.
func (s spark) y(v float64) float64 {
	return sparkPad + (1-(v-s.lo)/(s.hi-s.lo))*(sparkH-2*sparkPad)
}

// gapOf is the longest interval between points that is not a hole: gapFactor
// times the median interval; 0 when there is no time axis.
func gapOf(pts []board.Point) time.Duration {
	var d []time.Duration
	for i := 1; i < len(pts); i++ {
		if dt := pts[i].T.Sub(pts[i-1].T); dt > 0 {
			d = append(d, dt)
		}
	}
	if len(d) < 2 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2] * gapFactor
}

// withThresholds adds a tile's threshold lines (they are on the scale: a
// time series tile includes them when scaling).
func (s spark) withThresholds(th *board.Thresholds) spark {
	if s.line == "" || th == nil {
		return s
	}
	if th.Warn != nil {
		s.marks = append(s.marks, sparkMark{y: fmtU(s.y(*th.Warn)), class: "spark-th th-warn"})
	}
	if th.Critical != nil {
		s.marks = append(s.marks, sparkMark{y: fmtU(s.y(*th.Critical)), class: "spark-th th-critical"})
	}
	return s
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// fmtU is a coordinate to 0.1 unit, without a trailing ".0" (bytes on a
// TV's first load).
func fmtU(x float64) string { return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64) }

// series is what a tile's sparkline draws: the source's series when it gave
// one, else the values the board has polled.
func series(s board.TileState) []board.Point {
	if len(s.Series) > 0 {
		return s.Series
	}
	return s.History
}
