package web

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/views"
)

// What a screen sees change: the world the server shows, the poller's
// outcomes applied to it (Sink), and each changed tile rendered once and
// handed to the hub for every screen of its board.

// shown is the running config's state as the server shows it: its live
// state and the ids of its demo sources (labelled DEMO). A reload replaces
// it as one (SetWorld), so a request never sees the live state of one
// config with the demo sources of another.
type shown struct {
	live *board.Live
	demo []string
}

// live is the current state.
func (s *Server) live() *board.Live { return s.world.Load().live }

// SetWorld makes live, and demo as the ids of its demo sources, what the
// server shows from now on (app calls it when a reload swapped the config
// in): the server holds its state and never asks the app for it.
func (s *Server) SetWorld(live *board.Live, demo []string) {
	s.world.Store(&shown{live: live, demo: demo})
}

// SaveResult, when set (replicas sharing PostgreSQL), receives the states
// each poll produced, in the poll's goroutine, to write them under the
// poll's lease for the other replicas. Without it the live state keeps
// them as unsaved (board.Live.Unsaved) for the periodic save. Call it
// before the first poll.
func (s *Server) SaveResult(f func(j *poller.Job, states []board.TileState)) { s.saveResult = f }

// pollLog remembers which queries are failing, to log each change once: a
// source down for hours must not flood the log.
type pollLog struct {
	mu      sync.Mutex
	failing map[string]bool // job key -> its last poll failed
}

// changed records a poll's outcome and reports whether it differs from the
// query's last one.
func (p *pollLog) changed(key string, failed bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failing == nil {
		p.failing = map[string]bool{}
	}
	was := p.failing[key]
	p.failing[key] = failed
	return was != failed
}

// Sink is the scheduler's sink (poller.Sink): it counts the poll, applies
// its outcome to every tile of the job that still asks its query, and
// publishes each tile that changed. A poll whose tiles show alerts goes
// through package alerts first (stored, then each tile's view of the open
// alerts).
func (s *Server) Sink(j *poller.Job, res board.Result, err error, took time.Duration) {
	src := j.Query.Source
	s.metrics.Polls.WithLabelValues(src).Inc()
	s.metrics.pollSeconds.WithLabelValues(src).Observe(took.Seconds())
	if s.polls.changed(j.Key, err != nil) {
		if err != nil {
			s.log.Warn("poll failing", "source", src, "tiles", len(j.Tiles), "error", board.Redact(err.Error()))
		} else {
			s.log.Info("poll recovered", "source", src, "tiles", len(j.Tiles))
		}
	}
	if err != nil {
		s.metrics.pollErrors.WithLabelValues(src).Inc()
	}
	now := time.Now()
	tileResult := func(_ board.TileConfig, r board.Result) board.Result { return r }
	if s.opts.Alerts != nil && err == nil && (res.AlertsComplete || j.Alerts) {
		tileResult = s.opts.Alerts.AfterPoll(j, res, err, now.Add(-took))
	}
	live := s.live()
	var saved []board.TileState
	for _, ref := range j.Tiles {
		// A poll of the previous config can finish after a reload: its result
		// belongs only to tiles that still ask the same query.
		tc, _, ok := live.Tile(ref)
		if !ok || board.QueryKey(tc) != j.Key {
			continue
		}
		st, ok := live.Apply(ref, tileResult(tc, res), err, now)
		if !ok {
			continue
		}
		s.PublishTile(ref, now)
		saved = append(saved, st)
	}
	if s.saveResult != nil {
		s.saveResult(j, saved)
	}
}

// PublishTile renders a tile's fragment once and hands it to the hub for
// every screen of its board. A render error is returned and nothing is sent,
// so a screen never receives half a tile.
//
// The sequence number is taken before the state is read: a publisher that
// read older state then always carries a lower number than one that read
// newer state, so the hub never lets the older fragment replace the newer.
func (s *Server) PublishTile(ref board.TileRef, now time.Time) error {
	seq := s.nextSeq()
	live := s.live()
	cfg, st, ok := live.Tile(ref)
	if !ok {
		return nil
	}
	b, _, _ := live.Board(ref.Board)
	v := views.NewTileView(ref.Board, cfg, st, now, views.TextFor(b.Locale))
	return s.publish(ref.Board, v.ID(), seq, views.Tile(v))
}

// PublishMeta sends the build id and server clock to every board: the
// heartbeat that lets screens tell a live connection from a dead one.
func (s *Server) PublishMeta(now time.Time) {
	for _, b := range s.live().Config().Boards {
		seq := s.nextSeq()
		s.publish(b.ID, metaKey, seq, views.Meta(b.ID, s.boardBuild(b.ID), now))
	}
}

// nextSeq orders published messages.
func (s *Server) nextSeq() uint64 { return s.seq.Add(1) }

func (s *Server) publish(boardID, key string, seq uint64, c templ.Component) error {
	e, err := s.render(seq, c)
	if err != nil {
		s.log.Error("render failed", "board", boardID, "key", key, "error", err)
		return err
	}
	s.hub.publish(boardID, key, e.seq, e.msg, e.n)
	return nil
}

// render renders a component into one prepared message numbered seq.
func (s *Server) render(seq uint64, c templ.Component) (entry, error) {
	var buf bytes.Buffer
	start := time.Now()
	if err := c.Render(context.Background(), &buf); err != nil {
		s.metrics.renderErrors.Inc()
		return entry{}, err
	}
	s.metrics.renderSeconds.Observe(time.Since(start).Seconds())
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, buf.Bytes())
	if err != nil {
		return entry{}, err
	}
	return entry{seq: seq, msg: pm, n: buf.Len()}, nil
}
