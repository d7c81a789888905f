package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/views"
)

// pageData is the view model of a page showing the entries ids, each a
// board id or a board's retro ("id/retro", filled by loadRetros); unknown
// ones are dropped (false when none is known). The page rotates every
// `every` when there is more than one.
func (s *Server) pageData(ids []string, every time.Duration, now time.Time, q url.Values) (views.PageData, bool) {
	live := s.live()
	p := views.PageData{Now: now, Build: s.opts.Build, Kiosk: q.Has("kiosk"), RotateEvery: every}
	for _, entry := range ids {
		e := board.ParsePlaylistEntry(entry)
		if e.View != "" && e.View != board.ViewRetro {
			continue
		}
		b, states, ok := live.Board(e.Board)
		if !ok {
			continue
		}
		text := views.TextFor(b.Locale)
		theme := b.Theme
		if t := q.Get("theme"); t == "light" || t == "dark" {
			theme = t
		}
		if theme == "" {
			theme = "dark"
		}
		bv := views.BoardView{
			Board: b, Demo: s.isDemo(b), Theme: theme, Text: text,
			WSPath: "/boards/" + b.ID + "/ws", Columns: columnsOf(b), Build: s.boardBuild(b.ID),
		}
		if b.Night != nil {
			bv.Night = b.Night.From + "-" + b.Night.To
		}
		if e.View == board.ViewRetro {
			// The retro shows no tiles: its socket carries the heartbeat and
			// the alert layer only.
			bv.Retro = &views.Retro{}
			bv.WSPath += "?retro"
			p.Boards = append(p.Boards, bv)
			continue
		}
		places := views.Pack(b.Tiles, bv.Columns)
		for i, t := range b.Tiles {
			v := views.NewTileView(b.ID, t, states[i], now, text)
			v.Place = places[i]
			bv.Tiles = append(bv.Tiles, v)
		}
		p.Boards = append(p.Boards, bv)
	}
	if len(p.Boards) == 0 {
		return views.PageData{}, false
	}
	first := p.Boards[0]
	p.Board, p.Theme, p.Text = first.Board, first.Theme, first.Text
	return p, true
}

// handlePlaylist serves /playlists/{id}: the boards of a configured playlist
// in one page that rotates without reloading.
func (s *Server) handlePlaylist(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var pl *board.Playlist
	for i, x := range s.live().Config().Playlists {
		if x.ID == id {
			pl = &s.live().Config().Playlists[i]
			break
		}
	}
	if pl == nil {
		http.Error(w, "no playlist "+id, http.StatusNotFound)
		return
	}
	every := pl.Every
	q := r.URL.Query()
	if d, err := board.ParseDuration(q.Get("rotate"), 0); err == nil && d > 0 {
		every = d
	}
	now := time.Now()
	p, ok := s.pageData(pl.Boards, every, now, q)
	if !ok {
		http.Error(w, "playlist "+id+" has no known board", http.StatusNotFound)
		return
	}
	if err := s.loadRetros(r.Context(), &p, now, ""); err != nil {
		s.log.Warn("retro failed", "playlist", id, "error", err)
		http.Error(w, "retro: the store could not be read", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.fleetPage(&p, r)
	writeHTML(w, r, http.StatusOK, views.Page(p))
}

// boardBuild is the build id a board's screens compare with the one pushed
// over the websocket: the server build, plus the board's config generation
// once a config reload (or an admin) asked its screens to reload.
func (s *Server) boardBuild(id string) string {
	s.genMu.Lock()
	g := s.gens[id]
	s.genMu.Unlock()
	if g == 0 {
		return s.opts.Build
	}
	return s.opts.Build + "." + strconv.FormatUint(g, 10)
}

// ReloadScreens makes every screen showing one of the boards ids (all boards
// when none is given) reload its page within a moment: their build id changes
// and the new one is pushed at once.
func (s *Server) ReloadScreens(ids ...string) {
	if len(ids) == 0 {
		for _, b := range s.live().Config().Boards {
			ids = append(ids, b.ID)
		}
	}
	s.genMu.Lock()
	if s.gens == nil {
		s.gens = map[string]uint64{}
	}
	// Generations are clock-based so that an id never repeats across
	// restarts (a screen must not take an old id for the current one).
	g := uint64(time.Now().UnixMilli())
	for _, id := range ids {
		s.gens[id] = max(s.gens[id]+1, g)
	}
	s.genMu.Unlock()
	s.PublishMeta(time.Now())
}

// ForgetTile drops a removed tile's last fragment so new screens of its board
// are not sent it.
func (s *Server) ForgetTile(ref board.TileRef) {
	s.hub.forget(ref.Board, views.ElementID(ref.Board, ref.Tile))
}

// StandupFeed supplies what happened on a board in a period — deployments,
// incidents — for the standup view. Features that store such events (four
// keys, incidents) register one with AddStandupFeed; without any, the view
// shows tile movement and the alerts the tiles hold.
type StandupFeed interface {
	StandupItems(ctx context.Context, boardID string, since, until time.Time) ([]views.StandupItem, error)
}

// AddStandupFeed registers a feed.
func (s *Server) AddStandupFeed(f StandupFeed) {
	s.feedMu.Lock()
	s.standupFeeds = append(s.standupFeeds, f)
	s.feedMu.Unlock()
}

// StandupHistory is the stored history of tiles' values (the store's
// tile_history): the value of a tile nearest to a time, false when none was
// stored near it.
type StandupHistory interface {
	ValueAt(ctx context.Context, boardID, tile string, at time.Time) (board.Point, bool, error)
}

// SetStandupHistory gives the standup view the stored tile history, so it
// compares with the value at the period's start across restarts.
func (s *Server) SetStandupHistory(h StandupHistory) { s.standupHistory.Store(&h) }

// addStandup turns p into the standup view: light theme unless ?theme=
// says otherwise, and the changes since ?since= (a duration back from now,
// or an RFC 3339 time), else since the board's last standup, else 24 h.
func (s *Server) addStandup(p *views.PageData, now time.Time, q url.Values) {
	b := &p.Boards[0]
	b.WSPath += "?standup"
	since := now.Add(-24 * time.Hour)
	if v := q.Get("since"); v != "" {
		if d, err := board.ParseDuration(v, 0); err == nil && d > 0 {
			since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil && t.Before(now) {
			since = t
		}
	} else if st := b.Board.Standup; st != nil {
		loc := time.Local
		if st.Timezone != "" {
			if l, err := time.LoadLocation(st.Timezone); err == nil {
				loc = l
			}
		}
		if t, ok := views.LastStandup(st.At, loc, now); ok {
			since = t
		}
	}
	if q.Get("theme") == "" {
		b.Theme, p.Theme = "light", "light"
	}
	// Times show in the standup's time zone when one is configured.
	if st := b.Board.Standup; st != nil && st.Timezone != "" {
		if l, err := time.LoadLocation(st.Timezone); err == nil {
			since = since.In(l)
		}
	}
	su := &views.Standup{Since: since, Until: now}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var stored func(string) (board.Point, bool)
	if h := s.standupHistory.Load(); h != nil {
		stored = func(tile string) (board.Point, bool) {
			p, ok, err := (*h).ValueAt(ctx, b.Board.ID, tile, since)
			if err != nil {
				s.log.Warn("standup history failed", "board", b.Board.ID, "tile", tile, "error", err)
			}
			return p, ok && err == nil
		}
	}
	su.Moves = views.MovesOf(b.Tiles, since, b.Text, stored)
	su.Events = views.AlertEventsOf(b.Tiles, since)
	su.Postmortems = views.PostmortemsDueOf(b.Tiles)
	s.feedMu.Lock()
	feeds := slices.Clone(s.standupFeeds)
	s.feedMu.Unlock()
	for _, f := range feeds {
		items, err := f.StandupItems(ctx, b.Board.ID, since, now)
		if err != nil {
			s.log.Warn("standup feed failed", "board", b.Board.ID, "error", err)
			continue
		}
		su.HasFeed = true
		su.Events = append(su.Events, items...)
	}
	su.Events = views.DedupEvents(su.Events)
	views.SortEvents(su.Events)
	p.Standup = su
}

func (s *Server) demoSources() []string { return s.world.Load().demo }
