package views

import (
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

func TestTextAgeAndDuration(t *testing.T) {
	for _, c := range []struct {
		text Text
		d    time.Duration
		age  string
		dur  string
	}{
		{English, 12 * time.Second, "12 s", "12 s"},
		{japanese, 12 * time.Second, "12秒", "12秒"},
		{English, 3 * time.Minute, "3 m", "3 m"},
		{japanese, 3 * time.Minute, "3分", "3分"},
		{japanese, 5*time.Hour + 20*time.Minute, "5時間", "5時間20分"},
		{English, 5*time.Hour + 20*time.Minute, "5 h", "5 h 20 m"},
		{japanese, 76 * time.Hour, "3日", "3日4時間"},
		{japanese, 180 * time.Millisecond, "0秒", "180ミリ秒"},
	} {
		if got := c.text.age(c.d); got != c.age {
			t.Errorf("%s Age(%s) = %q, want %q", c.text.lang, c.d, got, c.age)
		}
		if got := c.text.Duration(c.d); got != c.dur {
			t.Errorf("%s Duration(%s) = %q, want %q", c.text.lang, c.d, got, c.dur)
		}
	}
	if got := japanese.value(board.F(90), "s"); got != "2分" {
		t.Errorf(`Japanese.Value(90, "s") = %q, want 2分`, got)
	}
	if got := japanese.value(board.F(0.0123), "ratio"); got != "1.23 %" {
		t.Errorf(`Japanese.Value(0.0123, "ratio") = %q`, got)
	}
	if got := English.value(nil, "s"); got != "–" {
		t.Errorf("no data = %q", got)
	}
}
