package app

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/gitlog"
)

// newGitlogSource builds a "gitlog" source: the Four Keys of a local clone,
// no credentials.
func newGitlogSource(a *App, cfg board.SourceConfig) (poller.Source, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return gitlog.New(ctx, cfg, a.Store())
}

// addGitDemo adds the Four Keys of the git checkout wallboard runs in to
// the built-in demo: deployments are the first-parent merges onto HEAD. It
// adds nothing outside a checkout or without git.
func addGitDemo(cfg *board.Config) {
	if len(cfg.Boards) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--show-toplevel").Output()
	top := strings.TrimSpace(string(out))
	if err != nil || top == "" {
		return
	}
	cfg.Sources = append(cfg.Sources, board.SourceConfig{ID: "git", Kind: "gitlog", Path: top, Branch: "HEAD", Service: filepath.Base(top)})
	// The git history is real data, not demo data: it gets a board of its
	// own (not labelled DEMO), with room for the four values to be read from
	// across a room, and a playlist shows both boards in turn.
	cfg.Boards = append(cfg.Boards, board.BoardConfig{
		ID: "delivery", Title: "Delivery · " + filepath.Base(top) + " (git history)", Columns: 4,
		Tiles: []board.TileConfig{
			{ID: "fourkeys", Kind: "fourkeys", Title: "Four Keys (first-parent merges as deployments)", Source: "git", Interval: time.Minute, Span: 4, RowSpan: 2},
			{ID: "deploys", Kind: "deploys", Title: "Latest merges", Source: "git", Interval: time.Minute, Span: 4, Limit: 5},
		},
	})
	// The team board shows the same Four Keys and feed beside the demo's
	// health and alerts; the Four Keys get two rows, so that five values
	// with their tiers are read from across the room even at 960x540.
	playlist := []string{cfg.Boards[0].ID, "delivery"}
	for i := range cfg.Boards {
		if b := &cfg.Boards[i]; b.ID == "team" {
			b.Tiles = append(b.Tiles,
				board.TileConfig{ID: "fourkeys", Kind: "fourkeys", Title: "Four Keys (git history)", Source: "git", Interval: time.Minute, Span: 2, RowSpan: 2},
				board.TileConfig{ID: "deploys", Kind: "deploys", Title: "Latest merges", Source: "git", Interval: time.Minute, Span: 2, Limit: 4},
			)
			playlist = append(playlist, b.ID)
		}
	}
	cfg.Playlists = append(cfg.Playlists, board.Playlist{ID: "demo", Boards: playlist, Every: 30 * time.Second})
}
