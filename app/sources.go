package app

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/alertmanager"
	"github.com/wallboard/wallboard/poller/demo"
	"github.com/wallboard/wallboard/poller/gcm"
	"github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/poller/prom"
	"github.com/wallboard/wallboard/store"
)

// sourceKind builds sources of one kind and checks their queries.
type sourceKind struct {
	// New builds a running source from its config.
	New func(a *App, cfg board.SourceConfig) (poller.Source, error)
	// Check validates a tile's query without connecting (for `wallboard check`).
	Check func(tile board.TileConfig, q board.Query) error
	// Demo marks sources whose data is made up (labelled DEMO on screen).
	Demo bool
	// FourKeys marks sources whose tiles compute from the store's Four Keys
	// events: a webhook that stored an event kicks them.
	FourKeys bool
}

// sourceKindTable maps a source kind (the kind: of a source in the config)
// to how it is built and checked.
type sourceKindTable map[string]sourceKind

// sourceKinds is every source kind this build knows: the one declaration.
// Config validation and `wallboard check` take their list from it (through
// board.SourceKinds), and New builds sources from it.
var sourceKinds = sourceKindTable{
	"demo": {
		New:   func(*App, board.SourceConfig) (poller.Source, error) { return demo.New(), nil },
		Check: func(t board.TileConfig, q board.Query) error { return demo.New().CheckQuery(t, q) },
		Demo:  true,
	},
	"prometheus":   {New: newPrometheusSource, Check: prom.CheckQuery},
	"gcm":          {New: newGCMSource, Check: gcm.CheckQuery},
	"alertmanager": {New: newAlertmanagerSource, Check: alertmanager.CheckQuery},
	"github":       {New: newGitHubSource, Check: github.CheckQuery, FourKeys: true},
	"gitlog":       {New: newGitlogSource, Check: store.CheckFourKeysQuery, FourKeys: true},
	"events":       {New: newEventsSource, Check: store.CheckFourKeysQuery, FourKeys: true},
	"webhooks":     {New: newWebhooksSource, Check: checkWebhooksQuery},
}

// Names lists the source kinds, sorted.
func (k sourceKindTable) Names() []string {
	names := make([]string, 0, len(k))
	for n := range k {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// CheckQuery validates a tile's query for its source kind, and the rules
// that tie tile kinds to source kinds (alert and security tiles).
func (k sourceKindTable) CheckQuery(src board.SourceConfig, tile board.TileConfig, q board.Query) error {
	if err := alerts.CheckTile(src.Kind, tile, q); err != nil {
		return err
	}
	if err := checkSecurityTile(src.Kind, tile); err != nil {
		return err
	}
	kind, ok := k[src.Kind]
	if !ok || kind.Check == nil {
		return nil
	}
	return kind.Check(tile, q)
}

// ParseConfig decodes and validates config bytes against the source kinds
// of this build; name is used in error messages.
func ParseConfig(name string, data []byte) (*board.Config, error) {
	return board.Parse(name, data, sourceKinds)
}

// checkSecurityTile refuses a security tile on a source that is not github
// (only GitHub holds the repositories' security alerts).
func checkSecurityTile(srcKind string, t board.TileConfig) error {
	if t.Kind == board.KindSecurity && srcKind != "github" {
		return fmt.Errorf("a security tile needs a github source, not a %s source", srcKind)
	}
	return nil
}

// fourKeysSources lists the ids of cfg's sources whose tiles compute from
// the store's Four Keys events (Options.Sources' replacements included: the
// config's kind decides).
func fourKeysSources(cfg *board.Config) []string {
	var ids []string
	for _, sc := range cfg.Sources {
		if sourceKinds[sc.Kind].FourKeys {
			ids = append(ids, sc.ID)
		}
	}
	return ids
}

// buildSources builds every source of cfg (or takes the test's from
// Options.Sources) and lists the ids of the demo ones.
func (a *App) buildSources(cfg *board.Config) (map[string]poller.Source, []string, error) {
	out := map[string]poller.Source{}
	var demoIDs []string
	for _, sc := range cfg.Sources {
		if s, ok := a.opts.Sources[sc.ID]; ok {
			out[sc.ID] = s
			continue
		}
		k, ok := sourceKinds[sc.Kind]
		if !ok {
			return nil, nil, fmt.Errorf("source %s: kind %q is not built into this binary (known: %s)", sc.ID, sc.Kind, strings.Join(sourceKinds.Names(), ", "))
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
