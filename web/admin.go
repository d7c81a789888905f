package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/wallboard/wallboard/views"
)

// ConfigStatus is what the admin view shows about the config file.
type ConfigStatus struct {
	File     string    `json:"file"`
	LoadedAt time.Time `json:"loaded_at"`
	Reloads  int       `json:"reloads"`
	// Problems of the last rejected edit, each "file:line: what"; empty
	// when the file on disk is the config running.
	Problems []string  `json:"problems,omitempty"`
	ErrorAt  time.Time `json:"error_at,omitzero"`
	// Store says why the store is read-only; empty when it is writable.
	Store string `json:"store,omitempty"`
}

// adminRequest reports whether r carries the admin token as a bearer token
// (AdminAuthorized) or as the password of HTTP basic auth with any user name,
// so that a person can open /admin in a browser.
func adminRequest(r *http.Request, token string) bool {
	if AdminAuthorized(r, token) {
		return true
	}
	_, pw, ok := r.BasicAuth()
	return ok && SecretEqual(pw, token)
}

// AdminRoutes adds GET /admin (the config's state and last error) and
// POST /api/v1/reload-screens (every screen reloads its page), both behind
// the admin token that token() returns ("" turns them off: 404).
func (s *Server) AdminRoutes(status func() ConfigStatus, token func() (string, error)) {
	guard := func(w http.ResponseWriter, r *http.Request) bool {
		tok, err := token()
		if err != nil {
			s.log.Error("admin token unavailable", "error", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "admin token unavailable: see the server log", http.StatusServiceUnavailable)
			return false
		}
		if tok == "" {
			http.NotFound(w, r)
			return false
		}
		// Throttled before the token is compared: a guesser over its budget
		// learns nothing, not even from the right token.
		ip, now := s.ingress.clientIP(r), time.Now()
		if wait := s.ingress.admin.blocked(ip, now); wait > 0 {
			tooMany(w, wait, "too many wrong admin tokens from your address, retry later")
			return false
		}
		if !adminRequest(r, tok) {
			s.ingress.admin.fail(ip, now)
			w.Header().Set("WWW-Authenticate", `Basic realm="wallboard admin", charset="UTF-8"`)
			http.Error(w, "admin token required", http.StatusUnauthorized)
			return false
		}
		return true
	}
	s.mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r) {
			return
		}
		st := status()
		w.Header().Set("Cache-Control", "no-store")
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			writeJSON(w, r, st)
			return
		}
		writeHTML(w, r, http.StatusOK, views.Admin(views.AdminData{
			File: st.File, LoadedAt: st.LoadedAt, Reloads: st.Reloads, Problems: st.Problems, ErrorAt: st.ErrorAt, Store: st.Store,
		}))
	})
	s.mux.HandleFunc("POST /api/v1/reload-screens", func(w http.ResponseWriter, r *http.Request) {
		if !guard(w, r) {
			return
		}
		s.ReloadScreens()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"reloading": s.hub.Viewers()})
	})
}
