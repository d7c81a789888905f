package web

import (
	"context"
	"net/http"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/views"
)

// defaultRetroPeriod is the retro view's period without ?since=: the two
// weeks of a KPT cycle.
const defaultRetroPeriod = 14 * 24 * time.Hour

// RetroSource fills the retrospective of a board from what the features
// stored (deployments, incidents, alert openings) for since..until.
type RetroSource interface {
	Retro(ctx context.Context, boardID string, since, until time.Time) (*views.Retro, error)
}

// SetRetroSource registers the source of /boards/{id}/retro.
func (s *Server) SetRetroSource(f RetroSource) { s.retro.Store(&f) }

// handleRetro serves GET /boards/{id}/retro: the period since ?since= (a
// duration back from now such as 14d, or an RFC 3339 time), default 14 days.
func (s *Server) handleRetro(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	q := r.URL.Query()
	p, ok := s.pageData([]string{r.PathValue("id")}, 0, now, q)
	if !ok {
		http.Error(w, "no board "+r.PathValue("id"), http.StatusNotFound)
		return
	}
	since := now.Add(-defaultRetroPeriod)
	if v := q.Get("since"); v != "" {
		if d, err := board.ParseDuration(v, 0); err == nil && d > 0 {
			since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil && t.Before(now) {
			since = t
		} else {
			http.Error(w, "since: give a duration back from now (14d) or an RFC 3339 time", http.StatusBadRequest)
			return
		}
	}
	if q.Get("theme") == "" {
		p.Boards[0].Theme, p.Theme = "light", "light"
	}
	rt := &views.Retro{Since: since, Until: now}
	if f := s.retro.Load(); f != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		got, err := (*f).Retro(ctx, p.Boards[0].Board.ID, since, now)
		if err != nil {
			s.log.Warn("retro failed", "board", p.Boards[0].Board.ID, "error", err)
			http.Error(w, "retro: the store could not be read", http.StatusServiceUnavailable)
			return
		}
		rt = got
	}
	// The page re-fetches itself (htmx, no inline script) to stay live.
	rt.Self = r.URL.RequestURI()
	p.Retro = rt
	writeHTML(w, r, http.StatusOK, views.Page(p))
}
