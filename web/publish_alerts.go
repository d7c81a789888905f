package web

import (
	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/views"
)

// alertLayerKey is the hub key of a board's takeover/banner fragment.
const alertLayerKey = "alert-layer"

// PublishAlertLayer renders a board's takeover/banner once and pushes it to
// every screen of that board; screens that connect later get it with the
// rest of the board.
func (s *Server) PublishAlertLayer(l alerts.Layer) error {
	v := views.AlertLayerView{Board: l.Board, Alert: l.Alert, OpenedAt: l.OpenedAt, Others: l.Others,
		Takeover: l.Takeover, Chime: l.Chime, Text: views.TextFor(l.Locale), Now: l.Now}
	// Callers serialise layer publishing (package alerts), so numbering
	// here keeps their order.
	return s.publish(l.Board, alertLayerKey, s.nextSeq(), views.AlertLayer(v))
}
