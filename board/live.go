package board

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wallboard/wallboard/fourkeys"
)

// Live holds the current state of every tile of every board. It is the one
// place state lives while the server runs; the poller writes it, renderers
// read copies of it.
type Live struct {
	mu     sync.RWMutex
	cfg    *Config
	tiles  map[TileRef]*liveTile
	boards map[string]BoardConfig
}

type liveTile struct {
	cfg TileConfig
	// benchmarks is the board's benchmarks setting ("" for the source's).
	benchmarks string
	state      TileState
	wasStale   bool
}

// NewLive builds the state for cfg, seeded with states restored from the
// store (matched by board and tile id; unknown ones are dropped).
func NewLive(cfg *Config, restored []TileState) *Live {
	l := &Live{cfg: cfg, tiles: map[TileRef]*liveTile{}, boards: map[string]BoardConfig{}}
	prev := map[TileRef]TileState{}
	for _, s := range restored {
		s.Restored = true
		prev[TileRef{s.Board, s.Tile}] = s
	}
	for _, b := range cfg.Boards {
		l.boards[b.ID] = b
		for _, t := range b.Tiles {
			ref := TileRef{b.ID, t.ID}
			st, ok := prev[ref]
			if !ok {
				st = TileState{Board: b.ID, Tile: t.ID, Status: StatusUnknown}
			}
			st.Freshness = t.Freshness
			bm := strings.ToLower(strings.TrimSpace(b.Benchmarks))
			st.Result.FourKeys = boardTiers(st.Result.FourKeys, bm)
			l.tiles[ref] = &liveTile{cfg: t, state: st, wasStale: st.Stale(time.Now()), benchmarks: bm}
		}
	}
	return l
}

// Config is the config this state was built from.
func (l *Live) Config() *Config { return l.cfg }

// Board returns a board's config and a copy of its tiles' states in config order.
func (l *Live) Board(id string) (BoardConfig, []TileState, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	b, ok := l.boards[id]
	if !ok {
		return BoardConfig{}, nil, false
	}
	out := make([]TileState, len(b.Tiles))
	for i, t := range b.Tiles {
		out[i] = l.tiles[TileRef{b.ID, t.ID}].state
	}
	return b, out, true
}

// Tile returns one tile's config and state.
func (l *Live) Tile(ref TileRef) (TileConfig, TileState, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	t, ok := l.tiles[ref]
	if !ok {
		return TileConfig{}, TileState{}, false
	}
	return t.cfg, t.state, true
}

// Apply records a poll's outcome for a tile and returns its new state.
func (l *Live) Apply(ref TileRef, res Result, err error, now time.Time) (TileState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.tiles[ref]
	if !ok {
		return TileState{}, false
	}
	res.FourKeys = boardTiers(res.FourKeys, t.benchmarks)
	t.state = t.state.Apply(res, err, t.cfg.Thresholds, now)
	if err == nil {
		t.state = severalForOne(t.state, t.cfg.Kind)
		if f := tileKindStatus[t.cfg.Kind]; f != nil {
			if s, ok := f(t.state.Result); ok {
				t.state.Status = s
			}
		}
	}
	t.wasStale = t.state.Stale(now)
	return t.state, true
}

// boardTiers applies a board's benchmarks setting to a Four Keys report:
// the board's "none" or "dora-2024" wins over the source's; "" keeps the
// source's. The report may be shared with other boards' tiles of the same
// query, so it is copied, never changed.
func boardTiers(r *fourkeys.Report, setting string) *fourkeys.Report {
	if r == nil {
		return nil
	}
	var want string
	switch setting {
	case benchmarksNone:
	case benchmarksDORA2024:
		want = fourkeys.Benchmarks
	default:
		return r
	}
	if r.Benchmarks == want {
		return r
	}
	c := *r
	c.Benchmarks = want
	return &c
}

// Set takes a tile's state as another replica computed it from its poll
// (same config, same rules), unless it is older than the state held: the
// age and staleness come from its own times, judged by this process's
// freshness limit. It reports whether the state changed.
func (l *Live) Set(st TileState, now time.Time) (TileState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.tiles[TileRef{st.Board, st.Tile}]
	if !ok || st.UpdatedAt.Before(t.state.UpdatedAt) {
		return TileState{}, false
	}
	if t.state.Restored && !st.UpdatedAt.After(t.state.UpdatedAt) {
		// The data restored at start, not refreshed by any poll since:
		// still unconfirmed.
		return t.state, false
	}
	st.Freshness = t.cfg.Freshness
	st.Restored = false
	if reflect.DeepEqual(st, t.state) {
		return t.state, false
	}
	t.state = st
	t.wasStale = st.Stale(now)
	return t.state, true
}

// severalForOne: a tile that shows one value (stat, gauge) given several
// series has nothing to show. Its status is unknown, never the rows' "ok",
// and it says why and what to change, instead of a bare "no data".
func severalForOne(st TileState, kind string) TileState {
	if (kind != KindStat && kind != KindGauge) || st.Value != nil || len(st.Rows) < 2 {
		return st
	}
	st.Status = StatusUnknown
	w := fmt.Sprintf("the query returns %d series; a %s tile shows one: combine them in the query "+
		"(a reducer such as REDUCE_SUM or sum(), without group_by) or narrow the filter to one series; "+
		"a list or bar tile shows one row per series", len(st.Rows), kind)
	st.Warnings = append(slices.Clone(st.Warnings), w)
	return st
}

// Sweep returns the tiles whose staleness changed since they were last
// applied or swept, so screens learn of data going stale without a poll.
func (l *Live) Sweep(now time.Time) []TileState {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []TileState
	for _, t := range l.tiles {
		if s := t.state.Stale(now); s != t.wasStale {
			t.wasStale = s
			out = append(out, t.state)
		}
	}
	return out
}

// Rebuild makes the state for a reloaded config. A tile that still exists
// (same board and tile id) and still asks the same query (QueryKey, as the
// poller decides) keeps its state (value, series, age, error), so a config edit never blanks
// a screen; new tiles start waiting for data, removed ones are dropped.
func (l *Live) Rebuild(cfg *Config) *Live {
	l.mu.RLock()
	var kept []TileState
	for _, b := range cfg.Boards {
		for _, t := range b.Tiles {
			old, ok := l.tiles[TileRef{b.ID, t.ID}]
			if ok && QueryKey(t) != "" && QueryKey(old.cfg) == QueryKey(t) {
				kept = append(kept, old.state)
			}
		}
	}
	l.mu.RUnlock()
	n := NewLive(cfg, nil)
	for _, st := range kept {
		t := n.tiles[TileRef{st.Board, st.Tile}]
		st.Freshness = t.cfg.Freshness
		st.Result.FourKeys = boardTiers(st.Result.FourKeys, t.benchmarks)
		t.state = st
		t.wasStale = st.Stale(time.Now())
	}
	return n
}

// tileKindStatus judges tiles of a kind whose status is not their value's.
// The function returns ok=false to keep the value's judgement.
var tileKindStatus = map[string]func(Result) (Status, bool){
	KindPostmortems: postmortemStatus,
}

// postmortemStatus judges a postmortems tile: critical when a postmortem is
// overdue, a warning while one is due, ok when none is.
func postmortemStatus(res Result) (Status, bool) {
	r := res.FourKeys
	switch {
	case r == nil:
		return "", false
	case r.PostmortemsOverdue() > 0:
		return StatusCritical, true
	case len(r.PostmortemsDue) > 0:
		return StatusWarn, true
	}
	return StatusOK, true
}
