package board

import (
	"strings"
	"testing"
	"time"
)

const displayBase = `
sources:
  - {id: demo, kind: demo}
boards:
  - id: a
    title: A
%s
    tiles:
      - {id: t1, kind: stat, source: demo, query: requests}
      - {id: t2, kind: stat, source: demo, query: cpu}
`

func TestDisplayConfigValidation(t *testing.T) {
	for _, c := range []struct {
		name, board, top, want string
	}{
		{"night ok", `    night: {from: "20:00", to: "07:00"}`, "", ""},
		{"night bad", `    night: {from: "8pm", to: "07:00"}`, "", `:5: board "a": night: from "8pm" to "07:00": use HH:MM`},
		{"standup ok", `    standup: {at: "09:30", timezone: Asia/Tokyo}`, "", ""},
		{"standup bad time", `    standup: {at: "25:00"}`, "", `board "a": standup: at "25:00": use HH:MM`},
		{"standup bad zone", `    standup: {at: "09:30", timezone: Mars/Olympus}`, "", `timezone "Mars/Olympus": not a known IANA time zone`},
		{"admin ok", "", "admin: {token: {env: WALLBOARD_ADMIN_TOKEN}}\n", ""},
		{"admin without token", "", "admin: {}\n", "admin: token is missing: give token: {env: WALLBOARD_ADMIN_TOKEN}"},
		{"admin inline secret", "", "admin: {token: {}}\n", "admin.token: give env: VARIABLE or file: /path"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("wb.yaml", []byte(c.top+strings.Replace(displayBase, "%s", c.board, 1)), nil)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestLiveRebuildKeepsUnchangedTiles(t *testing.T) {
	parse := func(s string) *Config {
		cfg, err := Parse("wb.yaml", []byte(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	old := parse(strings.Replace(displayBase, "%s", "", 1))
	l := NewLive(old, nil)
	now := time.Now()
	l.Apply(TileRef{"a", "t1"}, Result{Value: F(1)}, nil, now)
	l.Apply(TileRef{"a", "t2"}, Result{Value: F(2)}, nil, now)

	// t1 unchanged but retitled, t2 asks another query, t3 is new.
	next := parse(`
sources:
  - {id: demo, kind: demo}
boards:
  - id: a
    title: A
    tiles:
      - {id: t1, kind: gauge, title: Renamed, source: demo, query: requests, freshness: 10m}
      - {id: t2, kind: stat, source: demo, query: latency_p99}
      - {id: t3, kind: stat, source: demo, query: cpu}
`)
	n := l.Rebuild(next)
	cfg, st, ok := n.Tile(TileRef{"a", "t1"})
	if !ok || st.Value == nil || *st.Value != 1 || cfg.Title != "Renamed" || st.Freshness != 10*time.Minute || st.Restored {
		t.Errorf("t1 after rebuild: cfg %+v state %+v", cfg, st)
	}
	if _, st, _ := n.Tile(TileRef{"a", "t2"}); st.Value != nil || !st.UpdatedAt.IsZero() {
		t.Errorf("t2 changed its query but kept the old value %v", st.Value)
	}
	if _, st, ok := n.Tile(TileRef{"a", "t3"}); !ok || st.Status != StatusUnknown {
		t.Errorf("t3 missing or not waiting: %+v", st)
	}
	if _, _, ok := l.Tile(TileRef{"a", "t3"}); ok {
		t.Error("Rebuild changed the old state")
	}
}

// TestLiveRebuildFollowsThePollersQueryIdentity: across a reload a tile keeps
// its value exactly when the poller would go on polling the same query for it
// (same Query.Key), whatever the config's text looks like.
func TestLiveRebuildFollowsThePollersQueryIdentity(t *testing.T) {
	parse := func(s string) *Config {
		t.Helper()
		cfg, err := Parse("wb.yaml", []byte(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	const before = `
sources:
  - {id: demo, kind: demo}
boards:
  - id: a
    title: A
    tiles:
      - {id: relabelled, kind: list, source: demo, query: requests, label: "{{.service}}"}
      - {id: stat-range, kind: stat, source: demo, query: cpu, range: 2h}
      - {id: same-range, kind: timeseries, source: demo, query: latency_p99, range: 60m}
      - {id: mapping, kind: stat, source: demo, query: {signal: requests, service: api}}
`
	const after = `
sources:
  - {id: demo, kind: demo}
boards:
  - id: a
    title: A
    tiles:
      - {id: relabelled, kind: list, source: demo, query: requests, label: "{{.region}}"}
      - {id: stat-range, kind: stat, source: demo, query: cpu, range: 6h}
      - {id: same-range, kind: timeseries, source: demo, query: latency_p99, range: 1h}
      - {id: mapping, kind: stat, source: demo, query: {service: api, signal: requests}}
`
	old, next := parse(before), parse(after)
	l := NewLive(old, nil)
	for _, b := range old.Boards {
		for _, tc := range b.Tiles {
			l.Apply(TileRef{b.ID, tc.ID}, Result{Value: F(1)}, nil, time.Now())
		}
	}
	n := l.Rebuild(next)
	// A new row label changes what the source returns; a range on a stat
	// tile is not asked, and 60m is 1h; a mapping's key order is not asked.
	want := map[string]bool{"relabelled": false, "stat-range": true, "same-range": true, "mapping": true}
	for _, b := range next.Boards {
		for _, tc := range b.Tiles {
			oldTile, _, _ := l.Tile(TileRef{b.ID, tc.ID})
			qo, _ := QueryOf(oldTile)
			qn, _ := QueryOf(tc)
			same := qo.Key() == qn.Key()
			if same != want[tc.ID] {
				t.Errorf("tile %s: the poller sees the same query: %v, want %v", tc.ID, same, want[tc.ID])
			}
			_, st, _ := n.Tile(TileRef{b.ID, tc.ID})
			if kept := st.Value != nil; kept != same {
				t.Errorf("tile %s: the poller sees the same query: %v, but Rebuild kept its value: %v", tc.ID, same, kept)
			}
		}
	}
}
