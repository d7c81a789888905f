package board

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wallboard/wallboard/fourkeys"
)

// Status is a tile's judgement of its data.
type Status string

const (
	StatusOK       Status = "ok"
	StatusWarn     Status = "warn"
	StatusCritical Status = "critical"
	StatusUnknown  Status = "unknown" // no data, or no value to judge
)

// Point is one sample of a series.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Row is one line of a list tile: a group of a grouped query, an alert, a deployment.
type Row struct {
	Label  string    `json:"label"`
	Value  *float64  `json:"value"`
	Text   string    `json:"text,omitempty"` // shown instead of Value when set
	Status Status    `json:"status"`
	Detail string    `json:"detail,omitempty"`
	URL    string    `json:"url,omitempty"`
	At     time.Time `json:"at,omitzero"`
}

// Result is what a source returns for one query.
type Result struct {
	// Value is the current value; nil means "no data" (never shown as 0).
	Value *float64 `json:"value"`
	// Series is the recent history when the source provides one (range queries).
	Series []Point `json:"series,omitempty"`
	// Rows are grouped results or list entries.
	Rows []Row `json:"rows,omitempty"`
	// Alerts are the open alerts a source reports (alert sources only).
	// AlertsComplete says Alerts is the whole set of open alerts of that
	// source, so alerts missing from it are closed.
	Alerts         []Alert `json:"alerts,omitempty"`
	AlertsComplete bool    `json:"alerts_complete,omitempty"`
	// AlertsSuppressed are the ids of alerts the source holds but does not
	// notify about (silenced or inhibited in Alertmanager), with
	// AlertsComplete: copies of them from other feeds are not open either.
	AlertsSuppressed []string `json:"alerts_suppressed,omitempty"`
	// Warnings are partial-data or server warnings, shown on the tile.
	Warnings []string `json:"warnings,omitempty"`
	// At is the time of the data itself; zero means "now".
	At time.Time `json:"at,omitzero"`
	// FourKeys is the DORA report of the fourkeys, deploys and postmortems
	// tiles (sources github, gitlog, events); nil for every other source.
	FourKeys *fourkeys.Report `json:"fourkeys,omitempty"`
	// Security is the security tile's report (github source); nil otherwise.
	Security *SecurityReport `json:"security,omitempty"`
}

// TileRef names a tile on a board.
type TileRef struct {
	Board string
	Tile  string
}

// TileState is what a tile shows now. It is a value: copies are safe to hand
// to renderers while the poller produces the next one.
type TileState struct {
	Board string `json:"board"`
	Tile  string `json:"tile"`

	Result
	// Prev is the value before the current one, for the trend arrow.
	Prev *float64 `json:"prev"`
	// History holds polled values when the source returns no series of its own
	// (stat tiles' sparklines); at most historyLen points, oldest first.
	History []Point `json:"history,omitempty"`

	Status Status `json:"status"`
	// UpdatedAt is when the data was last fetched successfully (zero: never).
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Error is the last poll's failure, "" when it succeeded.
	Error      string    `json:"error,omitempty"`
	ErrorSince time.Time `json:"error_since,omitzero"`
	// Freshness is how old data may get before the tile says it is stale.
	Freshness time.Duration `json:"freshness"`
	// Restored marks state loaded from the store after a restart and not yet
	// refreshed by a poll.
	Restored bool `json:"restored,omitempty"`
}

// historyLen is how many polled values a tile keeps for its sparkline.
const historyLen = 60

// Stale reports whether the tile must say its data is not current: the last
// poll failed, the data is older than the freshness limit, or it was restored
// from the store and not yet confirmed.
func (s TileState) Stale(now time.Time) bool {
	if s.Error != "" || s.Restored {
		return true
	}
	if s.UpdatedAt.IsZero() {
		return false // never fetched: "waiting for data", not stale
	}
	return now.Sub(s.DataAt()) > s.Freshness
}

// DataAt is the time of the data the tile shows: the source's own time of it
// (Result.At: a Cloud Monitoring point's end, a Prometheus sample's time)
// when it gave one, else when it was fetched. Never after the fetch, so a
// source's clock ahead of ours cannot make data younger than its fetch.
// Zero: never fetched.
func (s TileState) DataAt() time.Time {
	if s.UpdatedAt.IsZero() {
		return time.Time{}
	}
	if !s.At.IsZero() && s.At.Before(s.UpdatedAt) {
		return s.At
	}
	return s.UpdatedAt
}

// Age is how old the data is: since DataAt, not since the fetch (data that
// arrives with 150 s of ingestion lag is 150 s old when fetched).
func (s TileState) Age(now time.Time) time.Duration {
	at := s.DataAt()
	if at.IsZero() {
		return 0
	}
	return now.Sub(at)
}

// judge gives the status of a value against thresholds. NaN and nil are unknown.
func judge(v *float64, t *Thresholds) Status {
	if v == nil || math.IsNaN(*v) {
		return StatusUnknown
	}
	if t == nil {
		return StatusOK
	}
	x := *v
	worse := func(limit float64) bool { return x >= limit }
	if t.Direction == LowerIsWorse {
		worse = func(limit float64) bool { return x <= limit }
	}
	switch {
	case t.Critical != nil && worse(*t.Critical):
		return StatusCritical
	case t.Warn != nil && worse(*t.Warn):
		return StatusWarn
	}
	return StatusOK
}

// Apply returns the state after a poll: res on success, or err on failure. A
// failed poll keeps the last good data (marked stale by the error) so the
// screen never goes blank; the status is judged on the data it shows.
func (s TileState) Apply(res Result, err error, th *Thresholds, now time.Time) TileState {
	n := s
	if err != nil {
		if n.Error == "" {
			n.ErrorSince = now
		}
		// Shown on the wall and stored: never with a credential in it.
		n.Error = Redact(err.Error())
		return n
	}
	n.Restored = false
	n.Error, n.ErrorSince = "", time.Time{}
	if s.UpdatedAt.IsZero() || s.Restored {
		n.Prev = nil
	} else {
		n.Prev = s.Value
	}
	n.Result = res
	at := res.At
	if at.IsZero() {
		at = now
	}
	n.UpdatedAt = now
	if res.Value != nil && len(res.Series) == 0 {
		h := append([]Point(nil), s.History...)
		h = append(h, Point{T: at, V: *res.Value})
		if len(h) > historyLen {
			h = h[len(h)-historyLen:]
		}
		n.History = h
	}
	n.Status = judge(res.Value, th)
	if len(res.Rows) > 0 {
		// Rows the source did not judge are judged by the tile's thresholds.
		rows := make([]Row, len(res.Rows))
		for i, r := range res.Rows {
			if r.Status == "" {
				r.Status = judge(r.Value, th)
			}
			rows[i] = r
		}
		n.Rows = rows
	}
	if res.Value == nil && len(n.Rows) > 0 {
		n.Status = worstRow(n.Rows)
	} else if w := worstRow(sourceJudged(res.Rows)); (w == StatusWarn || w == StatusCritical) && rank[w] > rank[n.Status] {
		// Rows the source judged itself (an undocumented policy is a
		// warning) count whatever the value says: a count of findings
		// without thresholds is never "ok" while one exists.
		n.Status = w
	}
	return n
}

// rank orders statuses from the least to the most alarming.
var rank = map[Status]int{StatusUnknown: 0, StatusOK: 1, StatusWarn: 2, StatusCritical: 3}

func sourceJudged(rows []Row) []Row {
	var out []Row
	for _, r := range rows {
		if r.Status != "" {
			out = append(out, r)
		}
	}
	return out
}

func worstRow(rows []Row) Status {
	worst := StatusOK
	for _, r := range rows {
		if rank[r.Status] > rank[worst] {
			worst = r.Status
		}
	}
	return worst
}

// F is a convenience for building *float64 values.
func F(v float64) *float64 { return &v }

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
	// unsaved: applied by a poll since the store last took it (Unsaved).
	unsaved bool
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
	t.unsaved = true
	return t.state, true
}

// Unsaved returns the states that polls applied since the last call, and
// forgets them: the caller saves them (a poll never waits for the disk). A
// failed save gives them back with KeepUnsaved.
func (l *Live) Unsaved() []TileState {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []TileState
	for _, t := range l.tiles {
		if t.unsaved {
			t.unsaved = false
			out = append(out, t.state)
		}
	}
	return out
}

// KeepUnsaved marks the tiles of states unsaved again (their save failed),
// so that the next Unsaved returns them with whatever they hold then.
func (l *Live) KeepUnsaved(states []TileState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range states {
		if t, ok := l.tiles[TileRef{st.Board, st.Tile}]; ok {
			t.unsaved = true
		}
	}
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
// poller decides) keeps its state (value, series, age, error, and whether
// it is unsaved), so a config edit never blanks a screen; new tiles start
// waiting for data, removed ones are dropped.
func (l *Live) Rebuild(cfg *Config) *Live {
	l.mu.RLock()
	var kept []*liveTile
	for _, b := range cfg.Boards {
		for _, t := range b.Tiles {
			old, ok := l.tiles[TileRef{b.ID, t.ID}]
			if ok && QueryKey(t) != "" && QueryKey(old.cfg) == QueryKey(t) {
				c := *old
				kept = append(kept, &c)
			}
		}
	}
	l.mu.RUnlock()
	n := NewLive(cfg, nil)
	for _, old := range kept {
		st := old.state
		t := n.tiles[TileRef{st.Board, st.Tile}]
		st.Freshness = t.cfg.Freshness
		st.Result.FourKeys = boardTiers(st.Result.FourKeys, t.benchmarks)
		t.state = st
		t.wasStale = st.Stale(time.Now())
		t.unsaved = old.unsaved
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
