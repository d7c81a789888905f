package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/views"
)

// RetroSource fills the retrospective of a board from what the features
// stored (deployments, incidents, alert openings) for since..until.
type RetroSource interface {
	Retro(ctx context.Context, boardID string, since, until time.Time) (*views.Retro, error)
}

// SetRetroSource registers the source of /boards/{id}/retro.
func (s *Server) SetRetroSource(f RetroSource) { s.retro.Store(&f) }

// errRetroSince is the answer to a ?since= that is neither form.
var errRetroSince = fmt.Errorf("since: give a duration back from now (14d) or an RFC 3339 time")

// handleRetro serves GET /boards/{id}/retro: the period since ?since= (a
// duration back from now such as 14d, or an RFC 3339 time), default the
// board's retro.period (14 days).
func (s *Server) handleRetro(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	q := r.URL.Query()
	id := r.PathValue("id")
	p, ok := s.pageData([]string{board.PlaylistEntry{Board: id, View: board.ViewRetro}.String()}, 0, now, q)
	if !ok {
		http.Error(w, "no board "+id, http.StatusNotFound)
		return
	}
	if q.Get("theme") == "" {
		p.Boards[0].Theme, p.Theme = "light", "light"
	}
	if err := s.loadRetros(r.Context(), &p, now, q.Get("since")); err != nil {
		if err == errRetroSince {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.log.Warn("retro failed", "board", id, "error", err)
		http.Error(w, "retro: the store could not be read", http.StatusServiceUnavailable)
		return
	}
	// The page re-fetches itself (htmx, no inline script) to stay live.
	p.Boards[0].Retro.Self = r.URL.RequestURI()
	writeHTML(w, r, http.StatusOK, views.Page(p))
}

// loadRetros fills the retro views of a page (the retro page itself, or
// the "id/retro" entries of a rotation) for the period since `since` (""
// for each board's retro.period). Each view re-fetches its board's retro
// URL, so a rotation keeps its retros live as the page alone does.
func (s *Server) loadRetros(ctx context.Context, p *views.PageData, now time.Time, since string) error {
	for i := range p.Boards {
		b := &p.Boards[i]
		if b.Retro == nil {
			continue
		}
		from := now.Add(-b.Board.RetroPeriod())
		self := "/boards/" + url.PathEscape(b.Board.ID) + "/retro"
		if since != "" {
			if d, err := board.ParseDuration(since, 0); err == nil && d > 0 {
				from = now.Add(-d)
			} else if t, err := time.Parse(time.RFC3339, since); err == nil && t.Before(now) {
				from = t
			} else {
				return errRetroSince
			}
			self += "?since=" + url.QueryEscape(since)
		}
		rt := &views.Retro{Since: from, Until: now}
		if f := s.retro.Load(); f != nil {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			got, err := (*f).Retro(ctx, b.Board.ID, from, now)
			cancel()
			if err != nil {
				return fmt.Errorf("retro of %s: %w", b.Board.ID, err)
			}
			rt = got
		}
		rt.Self, rt.Refresh = self, b.Board.RetroRefresh()
		b.Retro = rt
	}
	return nil
}
