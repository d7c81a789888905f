package views

import (
	"fmt"
	"time"
)

// PairData is the pairing page a TV shows at /pair.
type PairData struct {
	Code       string    // 6 characters
	ApproveURL string    // /admin/screens?code=… on this server (the QR code)
	Expires    time.Time // when the code stops working
	Build      string
}

// FleetData is the fleet page /admin/screens.
type FleetData struct {
	Code    string // prefilled from ?code= (the QR code on a TV)
	Now     time.Time
	Targets []FleetTarget
	Screens []FleetScreen
}

// FleetTarget is a board or playlist a screen can show.
type FleetTarget struct{ Path, Title string }

// FleetScreen is one paired screen as the fleet page shows it.
type FleetScreen struct {
	ID, Name, Target string
	Lobby            bool
	Revoked          time.Time
	Connected, Seen  bool
	LostSince, Beat  time.Time
	W, H             int
	DPR              float64
	Browser, Build   string
	Autoplay         *bool
	Reconnects       int
	Identifying      bool
}

// State is "connected", "lost since HH:MM", "not seen since the server
// started" or "revoked".
func (s FleetScreen) State() string {
	switch {
	case !s.Revoked.IsZero():
		return "revoked " + s.Revoked.Format("2006-01-02 15:04")
	case s.Connected:
		return "connected"
	case !s.LostSince.IsZero():
		return "lost since " + s.LostSince.Format("15:04")
	}
	return "not seen since the server started"
}

// viewport is "1920×1080 @2x" ("" before the first report).
func (s FleetScreen) viewport() string {
	if s.W == 0 {
		return "–"
	}
	return fmt.Sprintf("%d×%d @%gx", s.W, s.H, s.DPR)
}

// sound is whether the chime can play.
func (s FleetScreen) sound() string {
	switch {
	case s.Autoplay == nil:
		return "–"
	case *s.Autoplay:
		return "chime can play"
	}
	return "🔇 blocked: tap the screen or use the kiosk flag"
}

// beatAgo is the last heartbeat, as a time of day.
func (s FleetScreen) beatAgo() string {
	if s.Beat.IsZero() {
		return "–"
	}
	return s.Beat.Format("15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
