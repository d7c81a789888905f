// Package views is where HTML is made: templ components for the page and for
// every tile kind. The same component renders a tile inside the page and alone
// as the fragment pushed over the websocket, so the two can never disagree.
//
// Views only format what they are given; they never fetch, store or decide status.
package views

import (
	"strconv"
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

// sectionID is the DOM id of the board's section in the page: a board and
// its retro view may both be in one rotation.
func (b BoardView) sectionID() string {
	if b.Retro != nil {
		return "retro-" + b.Board.ID
	}
	return "board-" + b.Board.ID
}

// view is the section's view of the board: "" for its tiles, "retro".
func (b BoardView) view() string {
	if b.Retro != nil {
		return board.ViewRetro
	}
	return ""
}

// hasRetro reports whether a retro view is among the page's boards (the
// page then loads the standup and retro stylesheet).
func (p PageData) hasRetro() bool {
	for _, b := range p.Boards {
		if b.Retro != nil {
			return true
		}
	}
	return false
}

// rotateMillis is data-rotate-ms: how long each board shows, 0 for no rotation.
func (p PageData) rotateMillis() string {
	if len(p.Boards) < 2 {
		return "0"
	}
	return strconv.FormatInt(p.RotateEvery.Milliseconds(), 10)
}
