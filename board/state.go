package board

import (
	"math"
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
