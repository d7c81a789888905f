package views

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/wallboard/wallboard/board"
)

// Standup is the "what changed since" view of a board, for the daily
// standup shared on a video call: each tile's movement over the period, and
// the deployments, incidents and alerts of the period when the board's
// features provide them.
type Standup struct {
	Since  time.Time
	Until  time.Time
	Moves  []Move
	Events []StandupItem // newest first
	// HasFeed is true when some feature supplied events (deployments,
	// incidents); without one the events section only shows alerts found
	// in the tiles, and says nothing when there are none.
	HasFeed bool
	// Postmortems are the postmortems due on the board's postmortems tiles.
	Postmortems []PostmortemRow
}

// Move is one tile's value movement over the standup period.
type Move struct {
	tile   string
	title  string
	from   string
	to     string
	change string // "+12 %", "−3.1 %", "=" when unchanged
	arrow  string // ↑ ↓ =
	worse  bool
	better bool
	noBase bool // no value from the period's start: From says so, no change
	status board.Status
}

// StandupItem is one thing that happened in the period.
type StandupItem struct {
	Kind   string // "deployment", "incident" or "alert"
	State  string // "opened", "resolved", "closed", "succeeded", "failed"
	At     time.Time
	Title  string
	Detail string // service, sha, severity…
}

// baseNear is how far before the period's start a point of a tile's series
// may lie and still count as its value at the start.
const baseNear = 15 * time.Minute

// MovesOf computes the movement of each tile's value between since and now.
// The value at since comes from the tile's series or polled history when it
// reaches back to since, else from stored (the store's tile history; nil:
// none). A tile with neither is listed with noBase: "no value from then",
// never compared with a later value. Tiles without a value are left out.
func MovesOf(tiles []TileView, since time.Time, t Text, stored func(tile string) (board.Point, bool)) []Move {
	var out []Move
	for _, v := range tiles {
		if v.state.Value == nil {
			continue
		}
		cur := *v.state.Value
		if math.IsNaN(cur) || math.IsInf(cur, 0) {
			continue
		}
		m := Move{tile: v.Cfg.ID, title: v.title(), status: v.state.Status, to: t.value(&cur, v.Cfg.Unit)}
		base, ok := seriesAt(series(v.state), since)
		if !ok && stored != nil {
			base, ok = stored(v.Cfg.ID)
		}
		if !ok || math.IsNaN(base.V) || math.IsInf(base.V, 0) {
			m.noBase, m.from = true, t.noValueThen
			out = append(out, m)
			continue
		}
		m.from = t.value(&base.V, v.Cfg.Unit)
		if tr, ok := trendOf(&cur, &base.V, v.Cfg.Thresholds); ok {
			m.arrow, m.change = tr.arrow, tr.text
			if tr.arrow != "=" {
				m.worse, m.better = tr.worse, tr.better
			}
		}
		out = append(out, m)
	}
	return out
}

// seriesAt is the point of pts (oldest first) at since, else the last one
// before it when it is at most baseNear older; false when pts starts later.
func seriesAt(pts []board.Point, since time.Time) (board.Point, bool) {
	i, found := slices.BinarySearchFunc(pts, since, func(p board.Point, at time.Time) int { return p.T.Compare(at) })
	switch {
	case found:
		return pts[i], true
	case i > 0 && since.Sub(pts[i-1].T) <= baseNear:
		return pts[i-1], true
	}
	return board.Point{}, false
}

// AlertEventsOf lists the alerts held by a board's tiles that opened or
// closed in the period.
func AlertEventsOf(tiles []TileView, since time.Time) []StandupItem {
	seen := map[string]bool{}
	var out []StandupItem
	for _, v := range tiles {
		for _, a := range v.state.Alerts {
			key := a.Source + "/" + a.ID
			if seen[key] {
				continue
			}
			seen[key] = true
			if !a.EndedAt.IsZero() && !a.EndedAt.Before(since) {
				out = append(out, StandupItem{Kind: "alert", State: "closed", At: a.EndedAt, Title: a.Title, Detail: string(a.Severity)})
			}
			if !a.StartedAt.IsZero() && !a.StartedAt.Before(since) {
				out = append(out, StandupItem{Kind: "alert", State: "opened", At: a.StartedAt, Title: a.Title, Detail: string(a.Severity)})
			}
		}
	}
	return out
}

// DedupEvents drops events listed twice, as when a tile holds an alert the
// store's feed lists too (same kind, state, title and second), keeping the
// first.
func DedupEvents(ev []StandupItem) []StandupItem {
	seen := map[string]bool{}
	out := ev[:0]
	for _, e := range ev {
		state := e.State
		if state == "resolved" {
			state = "closed"
		}
		key := e.Kind + "\x00" + state + "\x00" + e.Title + "\x00" + fmt.Sprint(e.At.Unix())
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, e)
	}
	return out
}

// SortEvents orders events newest first.
func SortEvents(ev []StandupItem) {
	slices.SortStableFunc(ev, func(a, b StandupItem) int { return cmp.Compare(b.At.UnixNano(), a.At.UnixNano()) })
}

// LastStandup is the start of the previous standup held daily at "HH:MM" in
// loc: the latest such time at least 12 hours before now, so that during
// (and after) today's standup it means yesterday's.
func LastStandup(at string, loc *time.Location, now time.Time) (time.Time, bool) {
	var h, m int
	if _, err := fmt.Sscanf(at, "%d:%d", &h, &m); err != nil {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.Local
	}
	n := now.In(loc)
	s := time.Date(n.Year(), n.Month(), n.Day(), h, m, 0, 0, loc)
	for now.Sub(s) < 12*time.Hour {
		s = s.AddDate(0, 0, -1)
	}
	return s, true
}

// eventKindText is a standup event's kind in words.
func (t Text) eventKindText(kind string) string {
	switch kind {
	case "deployment":
		return t.deployment
	case "incident":
		return t.incident
	}
	return t.alert
}

// eventStateText is a standup event's state in words.
func (t Text) eventStateText(state string) string {
	switch state {
	case "opened":
		return t.opened
	case "resolved", "closed":
		return t.resolved
	case "failed":
		return t.failed
	}
	return t.succeeded
}
