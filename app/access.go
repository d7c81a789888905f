package app

import (
	"fmt"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/web"
)

// buildAccess builds viewer access, holding the resolved admin token. Listening
// beyond loopback with no access mode written down is refused: a board
// shows internal numbers, and "anyone on the network" must be a choice.
func (a *App) buildAccess(cfg *board.Config, addr, adminToken string) (*web.Access, error) {
	if cfg.Access.Mode == "" && !web.IsLoopback(addr) {
		return nil, fmt.Errorf("listening on %s (not loopback) needs an access mode: "+
			"write access: {mode: screens} with screen links (wallboard screen-link -name NAME), "+
			"access: {mode: proxy} behind an authenticating proxy, "+
			"or access: {mode: open} to let anyone who reaches the port see the boards", addr)
	}
	return web.NewAccess(cfg.Access, adminToken, a.log)
}
