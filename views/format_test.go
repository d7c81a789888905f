package views

import (
	"math"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    *float64
		unit string
		want string
	}{
		{nil, "", "–"},
		{board.F(0), "", "0"},
		{board.F(1234), "req/s", "1.23k req/s"},
		{board.F(999.6), "", "1k"},
		{board.F(12.345), "", "12.3"},
		{board.F(0.00012), "", "0.00012"},
		{board.F(2.5e9), "", "2.5G"},
		{board.F(0.0425), "ratio", "4.25 %"},
		{board.F(42), "%", "42 %"},
		{board.F(0.18), "s", "180 ms"},
		{board.F(4.2), "s", "4.2 s"},
		{board.F(42 * 60), "s", "42 m"},
		{board.F(5*3600 + 20*60), "s", "5 h 20 m"},
		{board.F(3*86400 + 4*3600), "s", "3 d 4 h"},
		{board.F(250), "ms", "250 ms"},
		{board.F(1536), "bytes", "1.5 KiB"},
		{board.F(math.NaN()), "s", "NaN"},
		{board.F(math.Inf(1)), "", "+∞"},
		{board.F(-1500), "", "-1.5k"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", deref(tt.v), tt.unit, got, tt.want)
		}
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second: "5 s", 90 * time.Second: "1 m", 3 * time.Hour: "3 h", 50 * time.Hour: "2 d",
	} {
		if got := formatAge(d); got != want {
			t.Errorf("FormatAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestTrend(t *testing.T) {
	up, _ := trendOf(board.F(110), board.F(100), &board.Thresholds{Warn: board.F(200)})
	if up.arrow != "↑" || up.text != "+10.0 %" || !up.worse {
		t.Errorf("up = %+v", up)
	}
	good, _ := trendOf(board.F(110), board.F(100), &board.Thresholds{Direction: board.LowerIsWorse})
	if good.worse {
		t.Error("rising availability is not worse")
	}
	flat, _ := trendOf(board.F(100.01), board.F(100), nil)
	if flat.arrow != "=" {
		t.Errorf("a change below display precision = %+v, want =", flat)
	}
	if _, ok := trendOf(board.F(1), nil, nil); ok {
		t.Error("no previous value: no trend")
	}
	if _, ok := trendOf(board.F(math.NaN()), board.F(1), nil); ok {
		t.Error("NaN: no trend")
	}
}

func TestSparkOf(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if s := sparkOf([]board.Point{{T: t0, V: 1}}); s.line != "" {
		t.Error("one point draws nothing")
	}
	s := sparkOf([]board.Point{{T: t0, V: 0}, {T: t0.Add(time.Minute), V: 5}, {T: t0.Add(2 * time.Minute), V: 10}})
	if s.line != "M0 28L50 15L100 2" {
		t.Errorf("line = %q (zero at the bottom, max at the top)", s.line)
	}
	if s.area != s.line+"L100 30L0 30Z" {
		t.Errorf("area = %q", s.area)
	}
	flat := sparkOf([]board.Point{{T: t0, V: 5}, {T: t0.Add(time.Minute), V: 5}})
	if flat.line != "M0 2L100 2" {
		t.Errorf("flat line = %q, want the top of a scale from zero", flat.line)
	}
	neg := sparkOf([]board.Point{{T: t0, V: -10}, {T: t0.Add(time.Minute), V: -5}})
	if neg.lo != -10 || neg.hi != 0 {
		t.Errorf("negative values: scale %g–%g, want -10–0", neg.lo, neg.hi)
	}
}
