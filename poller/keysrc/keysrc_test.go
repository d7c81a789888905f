package keysrc

import (
	"strings"
	"testing"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

func TestParseQuery(t *testing.T) {
	def := fourkeys.Scope{Service: "shop"}
	ok := []struct {
		name string
		q    board.Query
		want Query
	}{
		{"empty: the source's scope", board.Query{}, Query{Scope: def, window: 30 * fourkeys.Day, postmortemDays: 5}},
		{"string: a service", board.Query{Text: "api"}, Query{Scope: fourkeys.Scope{Service: "api"}, window: 30 * fourkeys.Day, postmortemDays: 5}},
		{"repo", board.Query{Params: map[string]any{"repo": "org/x"}}, Query{Scope: fourkeys.Scope{Repo: "org/x"}, window: 30 * fourkeys.Day, postmortemDays: 5}},
		{"all", board.Query{Params: map[string]any{"scope": "all"}}, Query{window: 30 * fourkeys.Day, postmortemDays: 5}},
		{"window and days", board.Query{Params: map[string]any{"service": "api", "window": "14d", "postmortem_days": uint64(3)}},
			Query{Scope: fourkeys.Scope{Service: "api"}, window: 14 * fourkeys.Day, postmortemDays: 3}},
	}
	for _, tc := range ok {
		got, err := ParseQuery(tc.q, def)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	bad := []struct {
		q    map[string]any
		want string
	}{
		{map[string]any{"servce": "api"}, `unknown key "servce"`},
		{map[string]any{"scope": "team"}, `scope "team"`},
		{map[string]any{"scope": "service"}, "needs service"},
		{map[string]any{"window": "a month"}, "window"},
		{map[string]any{"window": "2h"}, "at least 1d"},
		{map[string]any{"postmortem_days": "five"}, "postmortem_days"},
	}
	for _, tc := range bad {
		if _, err := ParseQuery(board.Query{Params: tc.q}, def); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseQuery(%v) = %v, want an error mentioning %q", tc.q, err, tc.want)
		}
	}
}
