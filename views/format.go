package views

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
)

// formatValue renders a value in its unit for a person reading from across a
// room: three significant digits, SI prefixes, durations in h/m, ratios as %.
//
// Units: "ratio" (0–1, shown as %), "%" (already a percentage), "s" and "ms"
// (durations), "bytes", "/day" (a per-day rate), anything else is appended.
func formatValue(v *float64, unit string) string {
	if v == nil {
		return "–"
	}
	x := *v
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "+∞"
	case math.IsInf(x, -1):
		return "−∞"
	}
	switch unit {
	case "ratio":
		return sig(x*100) + " %"
	case "%":
		return sig(x) + " %"
	case "s":
		return formatDuration(time.Duration(x * float64(time.Second)))
	case "ms":
		return formatDuration(time.Duration(x * float64(time.Millisecond)))
	case "bytes":
		return bytesIEC(x)
	case "":
		return si(x)
	}
	return si(x) + " " + unit
}

// formatDuration renders a duration the way the Four Keys and latency tiles
// need it: "180 ms", "4.2 s", "42 m", "5 h 20 m", "3 d 4 h".
func formatDuration(d time.Duration) string { return durationIn(d, englishDuration) }

// durationUnits are the words of a language's durations; sep goes between a
// number and its unit, and between the two parts of "5 h 20 m".
type durationUnits struct{ ms, s, m, h, d, sep string }

var (
	englishDuration  = durationUnits{ms: "ms", s: "s", m: "m", h: "h", d: "d", sep: " "}
	japaneseDuration = durationUnits{ms: "ミリ秒", s: "秒", m: "分", h: "時間", d: "日"}
)

// durationIn renders d in the units u.
func durationIn(d time.Duration, u durationUnits) string {
	neg := ""
	if d < 0 {
		neg, d = "−", -d
	}
	pair := func(a int, ua string, b int, ub string) string {
		return fmt.Sprintf("%s%d%s%s%s%d%s%s", neg, a, u.sep, ua, u.sep, b, u.sep, ub)
	}
	switch {
	case d < time.Second:
		return neg + sig(float64(d)/float64(time.Millisecond)) + u.sep + u.ms
	case d < time.Minute:
		return neg + sig(d.Seconds()) + u.sep + u.s
	case d < time.Hour:
		return fmt.Sprintf("%s%d%s%s", neg, int(d.Round(time.Minute)/time.Minute), u.sep, u.m)
	case d < 24*time.Hour:
		d = d.Round(time.Minute)
		return pair(int(d/time.Hour), u.h, int(d%time.Hour/time.Minute), u.m)
	}
	d = d.Round(time.Hour)
	return pair(int(d/(24*time.Hour)), u.d, int(d%(24*time.Hour)/time.Hour), u.h)
}

// formatAge is a short age for "updated … ago" labels: "12 s", "4 m", "3 h", "2 d".
func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d m", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d d", int(d.Hours()/24))
}

// sig formats with three significant digits, without trailing zeros.
func sig(x float64) string {
	if x == 0 {
		return "0"
	}
	a := math.Abs(x)
	decimals := 0
	switch {
	case a < 1:
		decimals = 3
	case a < 10:
		decimals = 2
	case a < 100:
		decimals = 1
	}
	s := strconv.FormatFloat(x, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" || s == "0" && x != 0 {
		// Too small for three decimals: say so rather than print 0.
		return strconv.FormatFloat(x, 'g', 2, 64)
	}
	return s
}

func si(x float64) string {
	a := math.Abs(x)
	for _, p := range []struct {
		f float64
		s string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= p.f*0.9995 {
			return sig(x/p.f) + p.s
		}
	}
	return sig(x)
}

func bytesIEC(x float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for math.Abs(x) >= 1024 && i < len(units)-1 {
		x /= 1024
		i++
	}
	return sig(x) + " " + units[i]
}

// trend describes the change from prev to v: an arrow, the relative change,
// and, when the tile has a direction (thresholds or an explicit direction),
// whether that change is for the worse or the better. Without a direction a
// change is neither: a rising request rate is not a warning.
//
// The arrows (↑ ↓ =) are never the status icons (✓ ▲ ✖ ?), so a trend never
// reads as a status from across the room.
type trend struct {
	arrow         string // ↑ ↓ or =
	text          string // "+3.2 %"
	worse, better bool   // both false without a direction or without a change
}

// class is the trend's CSS class: coloured only when worse or better.
func (t trend) class() string {
	switch {
	case t.worse:
		return "trend worse"
	case t.better:
		return "trend better"
	}
	return "trend"
}

// trendOf is the change since the previous value; ok is false when there is
// nothing to compare.
func trendOf(v, prev *float64, th *board.Thresholds) (trend, bool) {
	if v == nil || prev == nil || math.IsNaN(*v) || math.IsNaN(*prev) || math.IsInf(*v, 0) || math.IsInf(*prev, 0) {
		return trend{}, false
	}
	d := *v - *prev
	if d == 0 {
		return trend{arrow: "=", text: "0 %"}, true
	}
	t := trend{arrow: "↑"}
	if d < 0 {
		t.arrow = "↓"
	}
	if *prev != 0 {
		rel := d / math.Abs(*prev) * 100
		if math.Abs(rel) < 0.05 {
			// Below what one decimal can show: say "unchanged", not "↑ +0.0 %".
			return trend{arrow: "=", text: "0 %"}, true
		}
		t.text = fmt.Sprintf("%+.1f %%", rel)
	} else {
		t.text = fmt.Sprintf("%+g", d)
	}
	if th == nil || th.Warn == nil && th.Critical == nil && th.Direction == "" {
		return t, true // no direction: neither worse nor better
	}
	lowerWorse := th.Direction == board.LowerIsWorse
	t.worse = (d > 0) != lowerWorse
	t.better = !t.worse
	return t, true
}
