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
	if adminAuthorized(r, token) {
		return true
	}
	_, pw, ok := r.BasicAuth()
	return ok && secretEqual(pw, token)
}

// adminToken is the admin token of the config in force ("" when admin: is
// off). Access holds it, resolved once per config load, so the admin pages,
// the fleet page and /metrics always agree on it.
func (s *Server) adminToken() string {
	if s.opts.Access == nil {
		return ""
	}
	return s.opts.Access.adminToken()
}

// admin guards GET /admin and POST /api/v1/reload-screens with the admin
// token; without one they do not exist (404).
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := s.adminToken()
		if tok == "" {
			http.NotFound(w, r)
			return
		}
		// Throttled before the token is compared: a guesser over its budget
		// learns nothing, not even from the right token.
		ip, now, ok := s.adminBudget(w, r)
		if !ok {
			return
		}
		if !adminRequest(r, tok) {
			// A request without credentials (a browser's first, before
			// its login prompt) guesses nothing and spends no budget.
			if r.Header.Get("Authorization") != "" {
				s.ingress.admin.fail(ip, now)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="wallboard admin", charset="UTF-8"`)
			http.Error(w, "admin token required", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

// handleAdmin shows the config's state and its last error (GET /admin).
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request) {
	var st ConfigStatus
	if s.opts.AdminStatus != nil {
		st = s.opts.AdminStatus()
	}
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, r, st)
		return
	}
	writeHTML(w, r, http.StatusOK, views.Admin(views.AdminData{
		File: st.File, LoadedAt: st.LoadedAt, Reloads: st.Reloads, Problems: st.Problems, ErrorAt: st.ErrorAt, Store: st.Store,
	}))
}

// handleReloadScreens makes every screen reload its page
// (POST /api/v1/reload-screens).
func (s *Server) handleReloadScreens(w http.ResponseWriter, r *http.Request) {
	s.ReloadScreens()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"reloading": s.hub.viewerCount()})
}
