package web

import (
	"bytes"
	"context"
	"time"

	"github.com/a-h/templ"
	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/views"
)

// PublishTile renders a tile's fragment once and hands it to the hub for
// every screen of its board. A render error is returned and nothing is sent,
// so a screen never receives half a tile.
//
// The sequence number is taken before the state is read: a publisher that
// read older state then always carries a lower number than one that read
// newer state, so the hub never lets the older fragment replace the newer.
func (s *Server) PublishTile(ref board.TileRef, now time.Time) error {
	seq := s.nextSeq()
	live := s.Live()
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
	for _, b := range s.Live().Config().Boards {
		seq := s.nextSeq()
		s.publish(b.ID, metaKey, seq, views.Meta(b.ID, s.boardBuild(b.ID), now))
	}
}

func (s *Server) publish(boardID, key string, seq uint64, c templ.Component) error {
	e, err := s.render(seq, c)
	if err != nil {
		s.log.Error("render failed", "board", boardID, "key", key, "error", err)
		return err
	}
	s.hub.Publish(boardID, key, e.seq, e.msg, e.n)
	return nil
}

// render renders a component into one prepared message numbered seq.
func (s *Server) render(seq uint64, c templ.Component) (entry, error) {
	var buf bytes.Buffer
	start := time.Now()
	if err := c.Render(context.Background(), &buf); err != nil {
		s.metrics.RenderErrors.Inc()
		return entry{}, err
	}
	s.metrics.RenderSeconds.Observe(time.Since(start).Seconds())
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, buf.Bytes())
	if err != nil {
		return entry{}, err
	}
	return entry{seq: seq, msg: pm, n: buf.Len()}, nil
}
