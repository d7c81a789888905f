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
	"github.com/wallboard/wallboard/poller/keysrc"
)

// Source kind "gitlog": the Four Keys of a local clone, no credentials.
func init() {
	kinds["gitlog"] = sourceKind{
		New: func(a *App, cfg board.SourceConfig) (poller.Source, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return gitlog.New(ctx, cfg, a.Store())
		},
		Check: keysrc.CheckQuery,
	}
	demoAdditions = append(demoAdditions, addGitDemo)
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
	b := &cfg.Boards[0]
	b.Tiles = append(b.Tiles,
		board.TileConfig{ID: "fourkeys", Kind: "fourkeys", Title: "Four Keys · " + filepath.Base(top) + " (git history)", Source: "git", Interval: "1m", Span: 3},
		board.TileConfig{ID: "deploys", Kind: "deploys", Title: "Latest merges", Source: "git", Interval: "1m"},
	)
}
