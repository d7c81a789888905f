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
	Tile    string
	Title   string
	From    string
	To      string
	Change  string // "+12 %", "−3.1 %", "=" when unchanged
	Arrow   string // ▲ ▼ =
	Worse   bool
	Better  bool
	Partial string // "since 14:05" when the data starts after the period's start
	Status  board.Status
}

// StandupItem is one thing that happened in the period.
type StandupItem struct {
	Kind   string // "deployment", "incident" or "alert"
	State  string // "opened", "resolved", "closed", "succeeded", "failed"
	At     time.Time
	Title  string
	Detail string // service, sha, severity…
}

// MovesOf computes the movement of each tile's value between since and now,
// where the tile's series or polled history reaches back far enough (or
// starts within the period: then Partial says from when). Tiles without a
// single value or without history are left out.
func MovesOf(tiles []TileView, since time.Time, t Text) []Move {
	var out []Move
	for _, v := range tiles {
		pts := Series(v.State)
		if v.State.Value == nil || len(pts) == 0 {
			continue
		}
		i, found := slices.BinarySearchFunc(pts, since, func(p board.Point, at time.Time) int { return p.T.Compare(at) })
		// The base is the point at since, else the last one before it.
		var base board.Point
		m := Move{Tile: v.Cfg.ID, Title: v.Title(), Status: v.State.Status}
		switch {
		case found:
			base = pts[i]
		case i > 0:
			base = pts[i-1]
		default:
			base = pts[0]
			m.Partial = fmt.Sprintf(t.SinceClock, base.T.In(since.Location()).Format("15:04"))
		}
		cur := *v.State.Value
		if math.IsNaN(cur) || math.IsInf(cur, 0) || math.IsNaN(base.V) || math.IsInf(base.V, 0) {
			continue
		}
		m.From = t.Value(&base.V, v.Cfg.Unit)
		m.To = t.Value(&cur, v.Cfg.Unit)
		if tr, ok := TrendOf(&cur, &base.V, v.Cfg.Thresholds); ok {
			m.Arrow, m.Change = tr.Arrow, tr.Text
			if tr.Arrow != "=" {
				m.Worse, m.Better = tr.Worse, !tr.Worse
			}
		}
		out = append(out, m)
	}
	return out
}

// AlertEventsOf lists the alerts held by a board's tiles that opened or
// closed in the period.
func AlertEventsOf(tiles []TileView, since time.Time) []StandupItem {
	seen := map[string]bool{}
	var out []StandupItem
	for _, v := range tiles {
		for _, a := range v.State.Alerts {
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

// EventKindText is a standup event's kind in words.
func (t Text) EventKindText(kind string) string {
	switch kind {
	case "deployment":
		return t.Deployment
	case "incident":
		return t.Incident
	}
	return t.Alert
}

// EventStateText is a standup event's state in words.
func (t Text) EventStateText(state string) string {
	switch state {
	case "opened":
		return t.Opened
	case "resolved", "closed":
		return t.Resolved
	case "failed":
		return t.Failed
	}
	return t.Succeeded
}
