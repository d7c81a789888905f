package alerts

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/store/storetest"
)

// world is one config and its live state, as the app holds them.
type world struct {
	cfg  *board.Config
	live *board.Live
}

func (w world) Config() *board.Config        { return w.cfg }
func (w world) Live() *board.Live            { return w.live }
func (w world) Scheduler() *poller.Scheduler { return nil }

// screens records the layers published, as screens would show them.
type screens struct {
	mu     sync.Mutex
	layers []board.AlertLayer
}

func (s *screens) PublishAlertLayer(l board.AlertLayer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.layers = append(s.layers, l)
	return nil
}

func (s *screens) all() []board.AlertLayer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]board.AlertLayer(nil), s.layers...)
}

// newAlerts is the alerts of one board whose alert tile shows the polled
// Alertmanager "am" and its webhook receiver, and whose hygiene tile "am"
// alone, over a real store.
func newAlerts(t *testing.T) (*Alerts, *store.Store, *screens) {
	t.Helper()
	st := storetest.SQLite(t)
	cfg := &board.Config{
		Sources: []board.SourceConfig{{ID: "am", Kind: "alertmanager"}},
		Boards: []board.BoardConfig{{ID: "ops", Takeover: 30 * time.Second, Tiles: []board.TileConfig{
			{ID: "alerts", Kind: KindAlerts, Source: "am", Sources: []string{ReceiverAlertmanager}},
			{ID: "hygiene", Kind: KindHygiene, Source: "am"},
		}}},
	}
	pub := &screens{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := New(world{cfg, board.NewLive(cfg, nil)}, st, pub, log, map[string]bool{ReceiverAlertmanager: true})
	return a, st, pub
}

func critical(id, title string) board.Alert {
	return board.Alert{ID: id, Title: title, Severity: board.SeverityCritical, State: board.AlertOpen}
}

// The takeover shows the most recently opened critical alert, counts the
// other critical ones, ignores the rest, and is published only when it
// changes; the same alert from the poll and the webhook counts once.
func TestTakeoverChoice(t *testing.T) {
	a, st, pub := newAlerts(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	warn := board.Alert{ID: "w", Title: "Queue backlog", Severity: board.SeverityWarning, State: board.AlertOpen}
	if _, err := st.SyncPolled(ctx, "am", []board.Alert{critical("old", "Checkout down"), warn}, t0); err != nil {
		t.Fatal(err)
	}
	// The webhook brings a newer critical alert, and its own copy of "old".
	dup, err := a.RecordAlertDelivery(ctx, ReceiverAlertmanager, "d-1", true,
		[]board.Alert{critical("new", "Payments down"), critical("old", "Checkout down")}, t0.Add(time.Minute))
	if err != nil || dup {
		t.Fatalf("first delivery: duplicate %v, error %v", dup, err)
	}
	layers := pub.all()
	if len(layers) != 1 {
		t.Fatalf("%d layers published, want 1", len(layers))
	}
	l := layers[0]
	if l.Alert == nil || l.Alert.ID != "new" || l.Others != 1 || l.Takeover != 30*time.Second || l.Board != "ops" {
		t.Fatalf("layer %+v (alert %+v), want the newest critical alert \"new\", 1 other, a 30 s takeover", l, l.Alert)
	}
	// The same delivery again changes nothing and publishes nothing.
	if dup, err := a.RecordAlertDelivery(ctx, ReceiverAlertmanager, "d-1", true, []board.Alert{critical("new", "Payments down")}, t0.Add(2*time.Minute)); err != nil || !dup {
		t.Fatalf("redelivery: duplicate %v, error %v; want a duplicate", dup, err)
	}
	a.PublishLayers(ctx)
	if n := len(pub.all()); n != 1 {
		t.Fatalf("%d layers published after an unchanged state, want 1", n)
	}
	// The newest closes: the older one takes over, alone.
	closed := critical("new", "Payments down")
	closed.State, closed.EndedAt = board.AlertClosed, t0.Add(3*time.Minute)
	if _, err := a.RecordAlertDelivery(ctx, ReceiverAlertmanager, "d-2", true, []board.Alert{closed}, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	layers = pub.all()
	l = layers[len(layers)-1]
	if len(layers) != 2 || l.Alert == nil || l.Alert.ID != "old" || l.Others != 0 {
		t.Fatalf("after the close: %d layers, last %+v (alert %+v); want \"old\" alone", len(layers), l, l.Alert)
	}
	// The first feed's copy is the one shown: the polled source's.
	if l.Alert.Source != "am" {
		t.Errorf("takeover shows the copy of %s, want the tile's own source am", l.Alert.Source)
	}
}

// An alert tile shows each open alert once, however many of its feeds
// hold it; a hygiene tile lists the ones firing without a next action.
func TestTilesShowEachAlertOnce(t *testing.T) {
	a, st, _ := newAlerts(t)
	ctx := context.Background()
	now := time.Now()
	doc := critical("fp1", "Checkout down")
	doc.NextAction = "Roll back."
	if _, err := st.SyncPolled(ctx, "am", []board.Alert{doc, critical("fp2", "Disk full")}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RecordAlertDelivery(ctx, ReceiverAlertmanager, "d-1", true, []board.Alert{doc, critical("fp2", "Disk full")}, now); err != nil {
		t.Fatal(err)
	}
	job := &poller.Job{Query: board.Query{Source: "am"}}
	tile := a.AfterPoll(job, board.Result{}, nil, now)
	tileCfg := func(id string) board.TileConfig {
		t.Helper()
		cfg, _, ok := a.world.Live().Tile(board.TileRef{Board: "ops", Tile: id})
		if !ok {
			t.Fatalf("no tile ops/%s", id)
		}
		return cfg
	}
	got := tile(tileCfg("alerts"), board.Result{})
	if len(got.Alerts) != 2 || len(got.Rows) != 2 {
		t.Fatalf("alert tile: %d alerts, %d rows; want each of the 2 alerts once: %+v", len(got.Alerts), len(got.Rows), got.Rows)
	}
	hyg := tile(tileCfg("hygiene"), board.Result{})
	if len(hyg.Rows) != 1 || hyg.Rows[0].Label != "Disk full" || hyg.Rows[0].Text != "no next action" {
		t.Fatalf("hygiene tile rows %+v, want Disk full without a next action", hyg.Rows)
	}
}

// The config refuses the receivers' ids as source ids: both lists name
// the same feeds.
func TestReceiversAreReservedSourceIDs(t *testing.T) {
	if !slices.Equal(Receivers, board.ReservedSourceIDs) {
		t.Errorf("alert receivers %v, reserved source ids %v: want the same", Receivers, board.ReservedSourceIDs)
	}
}
