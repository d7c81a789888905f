package app

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app/apptest/runtest"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// silentSource answers no poll: each Fetch waits for its end, so only the
// test's own outcome reaches the tile.
type silentSource struct{}

func (silentSource) Fetch(ctx context.Context, _ board.Query) (board.Result, error) {
	<-ctx.Done()
	return board.Result{}, ctx.Err()
}

const unsavedConfig = `
sources:
  - {id: fake, kind: demo}
boards:
  - id: ops
    title: %s
    tiles:
      - {id: a, kind: stat, title: Alpha, source: fake, query: requests, interval: 1h}
`

// A periodic save that fails while a config reload swaps the live state in
// must leave the tiles it took unsaved in the state that runs on: the next
// save writes them, and a restart shows the value. Here the save's failure
// is its context ending while it waits for the store's writer.
func TestFailedSaveDuringReloadStaysUnsaved(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "board.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(unsavedConfig, "Ops")), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigPath: cfgPath, Sources: map[string]poller.Source{"fake": silentSource{}}}
	runtest.Defaults(t, &o.Addr, &o.DataDir, &o.Logger)
	a, err := New(ctx, o) // not Run: no save loop besides the test's
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		w := a.world.Load()
		w.stop()
		a.ln.Close()
		a.store.Close()
	}()

	// A poll's outcome, as the scheduler hands it to the sink.
	jobs, err := poller.Jobs(a.Config(), a.world.Load().sources)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs: %v, %v", jobs, err)
	}
	a.server.Sink(jobs[0], board.Result{Value: board.F(42)}, nil, time.Millisecond)

	// The store's writer is busy: the save takes the unsaved tiles and waits.
	held, release := make(chan struct{}), make(chan struct{})
	txDone := make(chan error, 1)
	go func() {
		txDone <- a.store.InTx(ctx, func(*sql.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	saveCtx, failSave := context.WithCancel(ctx)
	saved := make(chan struct{})
	go func() { a.flush(saveCtx); close(saved) }()
	old := a.Live()
	runtest.Eventually(t, 10*time.Second, "the save to take the unsaved tile", func() (bool, string) {
		return len(old.Rebuild(a.Config()).Unsaved()) == 0, "" // Rebuild copies without taking
	})

	// The config is edited meanwhile (same tile, same query); then the save fails.
	if err := a.apply(ctx, []byte(fmt.Sprintf(unsavedConfig, "Ops room"))); err != nil {
		t.Fatal(err)
	}
	failSave()
	<-saved
	close(release)
	if err := <-txDone; err != nil {
		t.Fatal(err)
	}

	a.flush(ctx) // the next periodic save
	states, err := a.store.LoadTiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.Board == "ops" && st.Tile == "a" && st.Value != nil && *st.Value == 42 {
			return
		}
	}
	t.Fatalf("stored tiles after the next save = %+v; want ops/a with 42 (a restart would lose it)", states)
}
