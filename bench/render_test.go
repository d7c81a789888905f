package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller/demo"
	"github.com/wallboard/wallboard/views"
	"github.com/wallboard/wallboard/web"
)

// bigBoard is the 24-tile board with realistic state: every tile polled from
// the demo source ten times, a minute apart, so stats carry a sparkline of
// history and a previous value (trend arrow), timeseries 61 points, lists six rows.
func bigBoard(tb testing.TB) (*web.Server, time.Time) {
	tb.Helper()
	cfg, err := app.ParseConfig("Config24", config24())
	if err != nil {
		tb.Fatal(err)
	}
	live := board.NewLive(cfg, nil)
	src := demo.New()
	now := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	for i := range 10 {
		at := now.Add(time.Duration(i-10) * time.Minute)
		src.Now = func() time.Time { return at }
		for _, t := range cfg.Boards[0].Tiles {
			q, err := board.QueryOf(t)
			if err != nil {
				tb.Fatal(err)
			}
			res, err := src.Fetch(context.Background(), q)
			if err != nil {
				tb.Fatal(err)
			}
			live.Apply(board.TileRef{Board: "big", Tile: t.ID}, res, nil, at)
		}
	}
	s := web.NewServer(live, web.NewHub(), web.NewMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)), web.Options{Build: "bench", DemoSources: []string{"demo"}})
	return s, now
}

// BenchmarkPage renders the whole 24-tile page into a buffer, as
// GET /boards/{id} does (before gzip). Budget: 2 ms.
func BenchmarkPage(b *testing.B) {
	s, now := bigBoard(b)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		p, ok := s.PageData("big", now, nil)
		if !ok {
			b.Fatal("no board big")
		}
		buf.Reset()
		if err := views.Page(p).Render(context.Background(), &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// BenchmarkTile renders one fragment of each kind, as a publish does (the
// PreparedMessage is measured separately). Budget: 100 µs per fragment.
func BenchmarkTile(b *testing.B) {
	s, now := bigBoard(b)
	p, _ := s.PageData("big", now, nil)
	for _, i := range []int{0, 3, 4, 6} { // stat, gauge, timeseries, list
		v := p.Boards[0].Tiles[i]
		b.Run(v.Cfg.Kind, func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := views.Tile(v).Render(context.Background(), &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes/fragment")
		})
	}
}

// BenchmarkPrepare is the once-per-change framing (and deflate) of a
// fragment for all viewers: what a publish costs on top of the render.
func BenchmarkPrepare(b *testing.B) {
	s, now := bigBoard(b)
	p, _ := s.PageData("big", now, nil)
	var buf bytes.Buffer
	if err := views.Tile(p.Boards[0].Tiles[0]).Render(context.Background(), &buf); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := websocket.NewPreparedMessage(websocket.TextMessage, buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBigBoardRenders keeps the benchmark fixture honest: 24 tiles, each
// with data, all in the page.
func TestBigBoardRenders(t *testing.T) {
	s, now := bigBoard(t)
	p, ok := s.PageData("big", now, nil)
	if !ok || len(p.Boards[0].Tiles) != 24 {
		t.Fatalf("want 24 tiles, got %d (ok=%v)", len(p.Boards[0].Tiles), ok)
	}
	var buf bytes.Buffer
	if err := views.Page(p).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	for _, v := range p.Boards[0].Tiles {
		if v.Waiting() {
			t.Errorf("tile %s has no data", v.Cfg.ID)
		}
		if !bytes.Contains(buf.Bytes(), []byte(`id="`+v.ID()+`"`)) {
			t.Errorf("page lacks tile %s", v.ID())
		}
	}
}
