package app

import (
	"fmt"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/github"
)

// Source kind "github": deployments, changes and incident issues polled
// from GitHub (or GitHub Enterprise at url:) into the store.
func init() {
	kinds["github"] = sourceKind{
		New: func(a *App, cfg board.SourceConfig) (poller.Source, error) {
			return github.New(cfg, a.Store(), nil)
		},
		Check: github.CheckQuery,
	}
}

// checkSecurityTile refuses a security tile on a source that is not github
// (only GitHub holds the repositories' security alerts).
func checkSecurityTile(srcKind string, t board.TileConfig) error {
	if t.Kind == board.KindSecurity && srcKind != "github" {
		return fmt.Errorf("a security tile needs a github source, not a %s source", srcKind)
	}
	return nil
}
