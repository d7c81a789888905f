package app

import (
	"fmt"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/demo"
)

// sourceKind builds sources of one kind and checks their queries.
type sourceKind struct {
	// New builds a running source from its config.
	New func(a *App, cfg board.SourceConfig) (poller.Source, error)
	// Check validates a tile's query without connecting (for `wallboard check`).
	Check func(tile board.TileConfig, q board.Query) error
	// Demo marks sources whose data is made up (labelled DEMO on screen).
	Demo bool
}

// kinds is every source kind this build knows. Each kind's package adds
// itself here in kinds_*.go.
var kinds = map[string]sourceKind{
	"demo": {
		New:   func(*App, board.SourceConfig) (poller.Source, error) { return demo.New(), nil },
		Check: func(t board.TileConfig, q board.Query) error { return demo.New().CheckQuery(t, q) },
		Demo:  true,
	},
}

// CheckQuery validates a tile's query for its source kind.
func CheckQuery(src board.SourceConfig, tile board.TileConfig, q board.Query) error {
	if err := alerts.CheckTile(src.Kind, tile, q); err != nil {
		return err
	}
	if err := checkSecurityTile(src.Kind, tile); err != nil {
		return err
	}
	k, ok := kinds[src.Kind]
	if !ok || k.Check == nil {
		return nil
	}
	return k.Check(tile, q)
}

func (a *App) buildSources(cfg *board.Config) (map[string]poller.Source, []string, error) {
	out := map[string]poller.Source{}
	var demoIDs []string
	for _, sc := range cfg.Sources {
		if s, ok := a.opts.Sources[sc.ID]; ok {
			out[sc.ID] = s
			continue
		}
		k, ok := kinds[sc.Kind]
		if !ok {
			return nil, nil, fmt.Errorf("source %s: kind %q is not built into this binary", sc.ID, sc.Kind)
		}
		s, err := k.New(a, sc)
		if err != nil {
			return nil, nil, fmt.Errorf("source %s (%s): %w", sc.ID, sc.Kind, err)
		}
		if k.Demo {
			demoIDs = append(demoIDs, sc.ID)
		}
		out[sc.ID] = s
	}
	return out, demoIDs, nil
}
