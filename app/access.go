package app

import (
	"fmt"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/web"
)

// buildAccess resolves the admin token and builds viewer access. Listening
// beyond loopback with no access mode written down is refused: a board
// shows internal numbers, and "anyone on the network" must be a choice.
func (a *App) buildAccess(cfg *board.Config, addr string) (*web.Access, error) {
	if cfg.Access.Mode == "" && !web.IsLoopback(addr) {
		return nil, fmt.Errorf("listening on %s (not loopback) needs an access mode: "+
			"write access: {mode: screens} with screen links (wallboard screen-link -name NAME), "+
			"access: {mode: proxy} behind an authenticating proxy, "+
			"or access: {mode: open} to let anyone who reaches the port see the boards", addr)
	}
	if cfg.Admin != nil {
		tok, err := cfg.Admin.Token.Resolve()
		if err != nil {
			return nil, fmt.Errorf("admin.token: %w", err)
		}
		a.adminToken = tok
	}
	acc, err := web.NewAccess(cfg.Access, a.adminToken, a.log)
	if err != nil {
		return nil, err
	}
	return acc, nil
}

// AdminToken is the resolved admin token ("" when admin: is not configured);
// admin routes check it with web.AdminAuthorized.
func (a *App) AdminToken() string { return a.adminToken }
