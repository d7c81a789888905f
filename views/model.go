// Package views is where HTML is made: templ components for the page and for
// every tile kind. The same component renders a tile inside the page and alone
// as the fragment pushed over the websocket, so the two can never disagree.
//
// Views only format what they are given; they never fetch, store or decide status.
package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
)

// PageData is everything a board page shows. A page holds one board, or
// several for a rotation (a playlist): every board is rendered as its own
// section with its own websocket, so all of them stay live and switching is
// only a matter of showing another section, never a reload.
type PageData struct {
	Board  board.BoardConfig // the first board (the page title and theme)
	Boards []BoardView       // one or more; more than one rotates
	Now    time.Time
	Build  string // server build id; the page reloads itself when it changes
	Theme  string // theme of the first board: dark or light
	Kiosk  bool   // burn-in protection: the board shifts by a few px now and then
	// Screen is the name of the paired screen showing the page ("" for
	// none): its script then reports viewport and sound to the server.
	Screen string
	// Lobby shows status only: no names, alert details or next actions.
	Lobby bool
	Text  Text // wording of the first board
	// RotateEvery is how long each board shows in a rotation; 0 without one.
	RotateEvery time.Duration
	// Standup, when set, shows what changed since a point in time instead
	// of the tiles (light theme, extra-large type, for video calls).
	Standup *Standup
}

// BoardView is one board of a page.
type BoardView struct {
	Board   board.BoardConfig
	Tiles   []TileView
	Demo    bool   // any tile shows demo data
	Theme   string // dark or light
	Text    Text
	WSPath  string
	Columns int
	// Build is the id the page compares with what the server pushes: the
	// server build plus the board's config generation, so a config edit that
	// touches this board makes its screens reload.
	Build string
	// Night is "HH:MM-HH:MM" when the board dims at night (screen local time).
	Night string
	// Retro, when set, shows the board's retrospective view instead of its
	// tiles (/boards/{id}/retro, or a playlist entry "id/retro").
	Retro *Retro
}

// SectionID is the DOM id of the board's section in the page: a board and
// its retro view may both be in one rotation.
func (b BoardView) SectionID() string {
	if b.Retro != nil {
		return "retro-" + b.Board.ID
	}
	return "board-" + b.Board.ID
}

// View is the section's view of the board: "" for its tiles, "retro".
func (b BoardView) View() string {
	if b.Retro != nil {
		return board.ViewRetro
	}
	return ""
}

// HasRetro reports whether a retro view is among the page's boards (the
// page then loads the standup and retro stylesheet).
func (p PageData) HasRetro() bool {
	for _, b := range p.Boards {
		if b.Retro != nil {
			return true
		}
	}
	return false
}

// RotateMillis is data-rotate-ms: how long each board shows, 0 for no rotation.
func (p PageData) RotateMillis() string {
	if len(p.Boards) < 2 {
		return "0"
	}
	return strconv.FormatInt(p.RotateEvery.Milliseconds(), 10)
}

// TileView is one tile ready to render.
type TileView struct {
	Board string
	Cfg   board.TileConfig
	State board.TileState
	Now   time.Time
	Text  Text
	// Place is the tile's spans in its board's grid (Pack); the zero
	// Place is the configured span.
	Place Place
}

// NewTileView prepares a tile for rendering at time now.
func NewTileView(boardID string, cfg board.TileConfig, st board.TileState, now time.Time, text Text) TileView {
	return TileView{Board: boardID, Cfg: cfg, State: st, Now: now, Text: text}
}

// ElementID is the tile's stable DOM id; websocket fragments swap by it.
func ElementID(boardID, tileID string) string { return "tile-" + boardID + "-" + tileID }

// ID is the tile's DOM id.
func (v TileView) ID() string { return ElementID(v.Board, v.Cfg.ID) }

// Title is the configured title, or the id.
func (v TileView) Title() string {
	if v.Cfg.Title != "" {
		return v.Cfg.Title
	}
	return v.Cfg.ID
}

// Stale is the server's view of staleness at render time; the page script
// re-evaluates it every second from data-updated and data-fresh.
func (v TileView) Stale() bool { return v.State.Stale(v.Now) }

// Waiting is true before the first data arrives.
func (v TileView) Waiting() bool {
	return v.State.UpdatedAt.IsZero() && v.State.Error == ""
}

// FailingWithoutData is true when the source fails and a value tile has
// never had data: the error is then what the tile shows. Kinds that say
// themselves what a failing source means (alerts: "alerts unknown: source X
// failing since …") keep their own content, with the error line under it.
func (v TileView) FailingWithoutData() bool {
	switch v.Cfg.Kind {
	case board.KindStat, board.KindTimeSeries, board.KindGauge, board.KindBar, board.KindList:
		return v.State.Error != "" && v.State.UpdatedAt.IsZero()
	}
	return false
}

// Classes are the tile's CSS classes.
func (v TileView) Classes() string {
	c := "tile kind-" + v.Cfg.Kind + " status-" + string(v.State.Status)
	if v.Stale() {
		c += " is-stale"
	}
	if v.State.Error != "" {
		c += " is-error"
	}
	return c
}

// CellClasses are the classes of the grid cell that holds the tile: its
// place in the grid (landscape and portrait spans, rows). The cell, not the
// tile, is the grid item because Chromium never lays out a grid item apart
// from its grid: a tile inside a cell is a relayout boundary (contain:
// strict), so an update lays out that tile only, not the grid with every
// tile in it.
func (v TileView) CellClasses() string {
	rows := max(v.Cfg.RowSpan, 1)
	if v.Place.Span == 0 {
		return "cell span-" + strconv.Itoa(max(v.Cfg.Span, 1)) + " rows-" + strconv.Itoa(rows)
	}
	return "cell span-" + strconv.Itoa(v.Place.Span) + " pspan-" + strconv.Itoa(v.Place.PortraitSpan) + " rows-" + strconv.Itoa(rows)
}

// Value is the formatted current value.
func (v TileView) Value() string { return v.Text.Value(v.State.Value, v.Cfg.Unit) }

// UpdatedMillis is data-updated: unix ms of the data's own time (DataAt,
// from which age and staleness count), 0 for never.
func (v TileView) UpdatedMillis() string {
	if v.State.UpdatedAt.IsZero() {
		return "0"
	}
	return strconv.FormatInt(v.State.DataAt().UnixMilli(), 10)
}

// FreshMillis is data-fresh: the freshness limit in ms.
func (v TileView) FreshMillis() string {
	return strconv.FormatInt(v.State.Freshness.Milliseconds(), 10)
}

// StaleText is the line a stale tile shows: why, and how old its data is.
func (v TileView) StaleText() string {
	age := v.Text.Age(v.State.Age(v.Now))
	switch {
	case v.State.Error != "" && v.State.UpdatedAt.IsZero():
		return fmt.Sprintf(v.Text.FailingSince, v.State.ErrorSince.Format("15:04"))
	case v.State.Error != "":
		return fmt.Sprintf(v.Text.StaleFailing, age)
	case v.State.Restored:
		return fmt.Sprintf(v.Text.StaleRestored, age)
	}
	return fmt.Sprintf(v.Text.StaleOld, age)
}

// AgeText is the time of a fresh tile's data ("as of 14:03"), on the tile
// itself; only the header ticks an age in seconds, so a fresh tile's text
// changes at most once a minute (each change costs a TV a layout). Empty
// while waiting for data and when stale (the stale line says the age then).
func (v TileView) AgeText() string {
	if v.State.UpdatedAt.IsZero() || v.Stale() {
		return ""
	}
	return fmt.Sprintf(v.Text.AsOf, v.State.UpdatedAt.In(v.Now.Location()).Format("15:04"))
}

// Spark is the tile's sparkline.
func (v TileView) Spark() Spark { return SparkOf(Series(v.State)) }

// AxisSpark is a time series tile's chart: scaled to take in its thresholds,
// with their lines drawn, and its range printed beside it (Spark.Lo, Spark.Hi).
func (v TileView) AxisSpark() Spark {
	var th []float64
	if t := v.Cfg.Thresholds; t != nil {
		for _, x := range []*float64{t.Warn, t.Critical} {
			if x != nil {
				th = append(th, *x)
			}
		}
	}
	return SparkOf(Series(v.State), th...).withThresholds(v.Cfg.Thresholds)
}

// SparkValue formats one end of a chart's axis in the tile's unit.
func (v TileView) SparkValue(x float64) string { return v.Text.Value(&x, v.Cfg.Unit) }

// Trend is the change since the previous poll.
func (v TileView) Trend() (Trend, bool) {
	return TrendOf(v.State.Value, v.State.Prev, v.Cfg.Thresholds)
}

// StatusIcon and StatusText say the status by shape and word, not colour alone.
func (v TileView) StatusIcon() string { return StatusIcon(v.State.Status) }

// StatusText is the status in words.
func (v TileView) StatusText() string { return v.Text.Status(v.State.Status) }

// StatusIcon is a shape per status, distinct without colour.
func StatusIcon(s board.Status) string {
	switch s {
	case board.StatusOK:
		return "✓"
	case board.StatusWarn:
		return "▲"
	case board.StatusCritical:
		return "✖"
	}
	return "?"
}

// GaugePercent is how full a gauge is, 0–100.
func (v TileView) GaugePercent() int {
	if v.State.Value == nil {
		return 0
	}
	full := 1.0
	switch {
	case v.Cfg.Max != nil:
		full = *v.Cfg.Max
	case v.Cfg.Unit == "%":
		full = 100
	case v.Cfg.Unit == "ratio":
		full = 1
	case v.Cfg.Thresholds != nil && v.Cfg.Thresholds.Critical != nil && v.Cfg.Thresholds.Direction != board.LowerIsWorse:
		full = *v.Cfg.Thresholds.Critical * 1.25
	}
	if full <= 0 {
		return 0
	}
	p := int(*v.State.Value / full * 100)
	return min(max(p, 0), 100)
}

// GaugeWidth is the width of a gauge's fill in its SVG's 100 units: an SVG
// attribute, since the CSP forbids inline styles (a class per width cost
// the stylesheet 51 rules).
func (v TileView) GaugeWidth() string { return strconv.Itoa(v.GaugePercent()) }

// listLimit is how many lines a list-like tile shows: its configured
// limit, default 8.
func (v TileView) listLimit() int {
	if v.Cfg.Limit == 0 {
		return 8
	}
	return v.Cfg.Limit
}

// Rows is the list rows to show, at most the configured limit (default 8).
func (v TileView) Rows() []board.Row {
	limit := v.listLimit()
	if len(v.State.Rows) > limit {
		return v.State.Rows[:limit]
	}
	return v.State.Rows
}

// RowValue formats a list row's value.
func (v TileView) RowValue(r board.Row) string {
	if r.Text != "" {
		return r.Text
	}
	return v.Text.Value(r.Value, v.Cfg.Unit)
}

// LabelParts splits a bar or list label for display so that shortening
// keeps what tells rows apart ("/api/v1/qu…" and "team=paym…" twice said
// nothing): the beginning all the tile's labels share is dropped (shown as
// "…"), and the tail, always shown and cut (if at all) at its end, begins
// with what tells the row from the others: the shortest ending, from just
// after a separator (/ ? & # . : = _ - or space), that no other row's label
// ends with (or all after the dropped beginning). A label of 16 characters
// or fewer is all tail. The head before
// the tail may end in an ellipsis.
func (v TileView) LabelParts(r board.Row) (head, tail string) {
	rows := v.Rows()
	cp := commonPrefix(rows)
	shown := func(label string) []rune {
		rest := []rune(label)
		if cp > 0 {
			rest = append([]rune("…"), rest[cp:]...)
		}
		return rest
	}
	rest := shown(r.Label)
	if len(rest) <= 16 {
		return "", string(rest)
	}
	endsOther := func(suffix string) bool {
		for _, o := range rows {
			if o.Label != r.Label && strings.HasSuffix(string(shown(o.Label)), suffix) {
				return true
			}
		}
		return false
	}
	for i := len(rest) - 1; i > 0; i-- {
		// At least 4 characters: "eu" alone reads as nothing.
		if len(rest)-i >= 4 && strings.ContainsRune("…/?&#.:=_- ", rest[i-1]) && !endsOther(string(rest[i:])) {
			return string(rest[:i]), string(rest[i:])
		}
	}
	cut := len(rest) - 12 // no separator near the end: the last 12 characters
	for i := len(rest) - 1; i >= len(rest)-16; i-- {
		if strings.ContainsRune("/?&#.: ", rest[i]) {
			cut = i + 1
			break
		}
	}
	return string(rest[:cut]), string(rest[cut:])
}

// commonPrefix is how many runes every row's label shares at its start, cut
// back to just after a separator and only when it is worth dropping (4 or
// more runes, and every label goes on after it); 0 otherwise.
func commonPrefix(rows []board.Row) int {
	if len(rows) < 2 {
		return 0
	}
	first := []rune(rows[0].Label)
	n := len(first)
	for _, r := range rows[1:] {
		l := []rune(r.Label)
		i := 0
		for i < n && i < len(l) && l[i] == first[i] {
			i++
		}
		n = i
	}
	for n > 0 && !strings.ContainsRune("/?&#.:_- ", first[n-1]) {
		n--
	}
	for _, r := range rows {
		if len([]rune(r.Label)) <= n+2 {
			return 0
		}
	}
	if n < 4 {
		return 0
	}
	return n
}

// BarWidth is a row's bar length relative to the largest row, 0–100, in
// its SVG's units.
func (v TileView) BarWidth(r board.Row) string {
	hi := 0.0
	for _, x := range v.State.Rows {
		if x.Value != nil && *x.Value > hi {
			hi = *x.Value
		}
	}
	p := 0
	if r.Value != nil && hi > 0 {
		p = int(*r.Value / hi * 100)
	}
	return strconv.Itoa(min(max(p, 0), 100))
}
