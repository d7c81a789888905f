package web

import (
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/views"
)

// alertLayerKey is the hub key of a board's takeover/banner fragment.
const alertLayerKey = "alert-layer"

// PublishAlertLayer renders a board's takeover/banner once and pushes it to
// every screen of that board; screens that connect later get it with the
// rest of the board.
func (s *Server) PublishAlertLayer(l board.AlertLayer) error {
	v := views.AlertLayerView{AlertLayer: l, Text: views.TextFor(l.Locale)}
	// Callers serialise layer publishing (package alerts), so numbering
	// here keeps their order.
	return s.publish(l.Board, alertLayerKey, s.nextSeq(), views.AlertLayer(v))
}
