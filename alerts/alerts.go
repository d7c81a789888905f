// Package alerts is what Wallboard does with alerts once they are known:
// one copy of each open alert across feeds (dedupe), the hygiene findings
// (firing without next action, noisy rules), and the takeover choice of
// each board. Polled alert sets and webhook deliveries both come here,
// through the store, so the two feeds of the same alert agree.
//
// It never speaks HTTP and never runs SQL: receivers hand it typed
// deliveries, the store keeps them (Store), and the screens get its
// takeover layers through a Publisher.
package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/alertmanager"
	"github.com/wallboard/wallboard/store"
)

// Tile kinds of alerts (declared with every tile kind in package board).
const (
	KindAlerts  = board.KindAlerts
	KindHygiene = board.KindHygiene
)

// Alert webhook receiver ids: the Source of the alerts they store, and the
// receiver names of their deliveries.
const (
	ReceiverAlertmanager    = "alertmanager-webhook"
	ReceiverCloudMonitoring = "cloudmonitoring"
	ReceiverEvents          = "events"
)

// Receivers lists the alert webhook receivers.
var Receivers = []string{ReceiverAlertmanager, ReceiverCloudMonitoring, ReceiverEvents}

// defaultNoisyAfter is how many openings in 7 days make an alert noisy.
const defaultNoisyAfter = 5

// Store is what alerts need of the store.
type Store interface {
	RecordAlertDelivery(ctx context.Context, receiver, delivery string, keyed bool, alerts []board.Alert, now time.Time) (duplicate bool, err error)
	SyncPolledFollowers(ctx context.Context, source string, open []board.Alert, suppressed, followers []string, asOf, now time.Time) (bool, error)
	OpenAlerts(ctx context.Context, sources []string) ([]store.StoredAlert, error)
	Openings(ctx context.Context, sources []string, since time.Time) ([]store.PolicyOpenings, error)
}

// World is the current config, tile state and poller; a reload replaces
// them, so they are asked for each time.
type World interface {
	Config() *board.Config
	Live() *board.Live
	Scheduler() *poller.Scheduler
}

// Publisher shows a board's layer on its screens.
type Publisher interface {
	PublishAlertLayer(l board.AlertLayer) error
}

// Alerts connects alert feeds, the store, alert tiles and the takeover:
// polled alert sets and webhook deliveries go into the store, and alert
// tiles and takeovers show what the store holds open.
type Alerts struct {
	world    World
	store    Store
	pub      Publisher
	log      *slog.Logger
	receiver map[string]bool // webhook receiver id -> configured

	// OnStored, when set, runs after a webhook delivery of a receiver was
	// stored here (replicas tell the others, who run Stored). Set it before
	// the first delivery.
	OnStored func(receiver string)

	mu     sync.Mutex        // serialises PublishLayers
	layers map[string]string // board -> signature of the last published layer
}

// New builds the alerts of world; configured says which webhook receivers
// have credentials (the others answer 404, and tiles fed by them warn).
func New(world World, st Store, pub Publisher, log *slog.Logger, configured map[string]bool) *Alerts {
	return &Alerts{world: world, store: st, pub: pub, log: log, receiver: configured, layers: map[string]string{}}
}

func (f *Alerts) sourceKind(id string) string {
	for _, s := range f.world.Config().Sources {
		if s.ID == id {
			return s.Kind
		}
	}
	return ""
}

// CheckTile refuses alert and hygiene tiles whose feeds cannot carry
// alerts, and sources: on other tiles. It runs in CheckQuery, so `wallboard
// check`, start-up and a config reload apply the same rules.
func CheckTile(srcKind string, t board.TileConfig, q board.Query) error {
	if t.Kind != KindAlerts && t.Kind != KindHygiene {
		if len(t.Sources) > 0 {
			return fmt.Errorf("sources is only for alerts and hygiene tiles")
		}
		return nil
	}
	switch srcKind {
	case "alertmanager", "webhooks":
	case "demo": // the built-in demo's alerts (poller/demo Alerts)
		if t.Kind == KindHygiene {
			return fmt.Errorf("a hygiene tile needs an alert source (alertmanager, gcm, webhooks), not a demo source")
		}
	case "gcm":
		// Cloud Monitoring answers alerts only to {alerts: open} and
		// policy findings only to {policies: undocumented}.
		want, key := "open", "alerts"
		if t.Kind == KindHygiene {
			want, key = "undocumented", "policies"
		}
		if q.Param(key) != want {
			return fmt.Errorf("a %s tile on a gcm source needs query: {%s: %s}", t.Kind, key, want)
		}
	default:
		return fmt.Errorf("a %s tile needs an alert source (alertmanager, gcm, webhooks), not a %s source", t.Kind, srcKind)
	}
	for _, s := range t.Sources {
		if !slices.Contains(Receivers, s) {
			return fmt.Errorf("sources: %q is not an alert webhook receiver (known: %s)", s, strings.Join(Receivers, ", "))
		}
	}
	return nil
}

// Feeds are the store source ids a tile shows: its source (a webhooks
// source stands for every alert receiver) and its extra sources.
func (f *Alerts) Feeds(t board.TileConfig) []string {
	var ids []string
	if f.sourceKind(t.Source) == "webhooks" {
		ids = append(ids, Receivers...)
	} else {
		ids = append(ids, t.Source)
	}
	for _, s := range t.Sources {
		if !slices.Contains(ids, s) {
			ids = append(ids, s)
		}
	}
	return ids
}

// AfterPoll stores a complete polled alert set, then returns what each tile
// of the job shows, given the tile's config: alert tiles the store's open
// alerts of their feeds, hygiene tiles their findings, other tiles the
// poll's result unchanged. asked is when the poll sent its request.
func (f *Alerts) AfterPoll(j *poller.Job, res board.Result, err error, asked time.Time) func(board.TileConfig, board.Result) board.Result {
	if err != nil {
		return func(_ board.TileConfig, r board.Result) board.Result { return r }
	}
	var storeErr error
	if res.AlertsComplete && f.sourceKind(j.Query.Source) != "webhooks" {
		// An alert without an id cannot be matched to its close: keep it
		// out of the store rather than refuse the whole set.
		polled := make([]board.Alert, 0, len(res.Alerts))
		for _, al := range res.Alerts {
			if al.ID != "" {
				polled = append(polled, al)
			}
		}
		if dropped := len(res.Alerts) - len(polled); dropped > 0 {
			f.log.Warn("polled alerts without id ignored", "source", j.Query.Source, "count", dropped)
		}
		// Alertmanager's own state is the truth wherever both its feeds
		// exist: it sends no notification for a silenced or inhibited
		// alert, nor for one resolved while silenced, so the webhook's
		// copies of the alerts this Alertmanager knows follow its poll.
		var followers []string
		if f.sourceKind(j.Query.Source) == "alertmanager" && f.receiver[ReceiverAlertmanager] {
			followers = []string{ReceiverAlertmanager}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		changed, err := f.store.SyncPolledFollowers(ctx, j.Query.Source, polled, res.AlertsSuppressed, followers, asked, time.Now())
		if err != nil {
			storeErr = err
			f.log.Error("storing polled alerts", "source", j.Query.Source, "error", err)
		} else if changed {
			f.PublishLayers(ctx)
		}
		cancel()
	}
	return func(cfg board.TileConfig, r board.Result) board.Result {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		switch cfg.Kind {
		case KindAlerts:
			return f.alertsResult(ctx, cfg, r, storeErr)
		case KindHygiene:
			return f.hygieneResult(ctx, cfg, r)
		}
		return r
	}
}

// openAlerts are the open alerts of the given feeds, each once: the same
// Alertmanager alert polled and delivered by webhook has the same id
// (its fingerprint), and the first feed's copy is kept.
func (f *Alerts) openAlerts(ctx context.Context, feeds []string) ([]store.StoredAlert, error) {
	open, err := f.store.OpenAlerts(ctx, feeds)
	if err != nil {
		return nil, err
	}
	rank := map[string]int{}
	for i, id := range feeds {
		rank[id] = i
	}
	best := map[string]int{} // alert id -> index in out
	out := open[:0]
	for _, a := range open {
		if i, ok := best[a.ID]; ok {
			if rank[a.Source] < rank[out[i].Source] {
				out[i] = a
			}
			continue
		}
		best[a.ID] = len(out)
		out = append(out, a)
	}
	store.SortAlerts(out)
	return out, nil
}

// warnings says which of a tile's feeds cannot be trusted to be complete.
func (f *Alerts) warnings(t board.TileConfig, storeErr error) []string {
	var w []string
	if f.sourceKind(t.Source) == "webhooks" && !f.receiver[ReceiverAlertmanager] &&
		!f.receiver[ReceiverCloudMonitoring] && !f.receiver[ReceiverEvents] {
		w = append(w, "alerts: no alert webhook receiver is configured (webhooks: in the config)")
	}
	for _, s := range t.Sources {
		if !f.receiver[s] {
			w = append(w, fmt.Sprintf("alerts: receiver %s is not configured (webhooks: %s: secret)", s, webhookKey(s)))
		}
	}
	if storeErr != nil {
		w = append(w, "alerts: not stored: "+storeErr.Error())
	}
	return w
}

func webhookKey(receiver string) string {
	if receiver == ReceiverAlertmanager {
		return "alertmanager"
	}
	return receiver
}

func (f *Alerts) alertsResult(ctx context.Context, t board.TileConfig, r board.Result, storeErr error) board.Result {
	out := board.Result{At: r.At, Warnings: append(slices.Clone(r.Warnings), f.warnings(t, storeErr)...)}
	open, err := f.openAlerts(ctx, f.Feeds(t))
	if err != nil {
		f.log.Error("reading open alerts", "error", err)
		out.Warnings = append(out.Warnings, "alerts: store unreadable")
		return out
	}
	for _, a := range open {
		out.Alerts = append(out.Alerts, a.Alert)
		out.Rows = append(out.Rows, alertmanager.Row(a.Alert))
	}
	if len(open) == 0 {
		// Zero open alerts is a fact (status ok); with alerts the tile's
		// status is that of the worst one.
		out.Value = board.F(0)
	}
	return out
}

func (f *Alerts) hygieneResult(ctx context.Context, t board.TileConfig, r board.Result) board.Result {
	out := board.Result{At: r.At, Warnings: slices.Clone(r.Warnings)}
	ids := f.Feeds(t)
	if f.sourceKind(t.Source) == "gcm" {
		// Policies without documentation, as the Cloud Monitoring source
		// judged them ({policies: undocumented}).
		for _, row := range r.Rows {
			if row.Status == "" {
				row.Status = board.StatusWarn
			}
			if row.Text == "" && row.Value == nil {
				row.Text = "no runbook"
			}
			out.Rows = append(out.Rows, row)
		}
	}
	open, err := f.openAlerts(ctx, ids)
	if err != nil {
		out.Warnings = append(out.Warnings, "alerts: store unreadable")
		return out
	}
	for _, a := range open {
		if strings.TrimSpace(a.NextAction) == "" && a.RunbookURL == "" {
			out.Rows = append(out.Rows, board.Row{Label: a.Title, Text: "no next action", Status: board.StatusWarn,
				Detail: "firing without documentation or runbook", URL: a.ConsoleURL, At: a.StartedAt})
		}
	}
	limit := t.NoisyAfter
	if limit == 0 {
		limit = defaultNoisyAfter
	}
	ops, err := f.store.Openings(ctx, ids, time.Now().Add(-7*24*time.Hour))
	if err != nil {
		out.Warnings = append(out.Warnings, "alerts: store unreadable")
		return out
	}
	for _, o := range ops {
		if o.Count > limit {
			out.Rows = append(out.Rows, board.Row{Label: o.Policy, Value: board.F(float64(o.Count)),
				Text: fmt.Sprintf("%d× / 7 d", o.Count), Status: board.StatusWarn,
				Detail: fmt.Sprintf("noisy: opened %d times in 7 days (more than %d)", o.Count, limit)})
		}
	}
	if len(out.Rows) == 0 {
		out.Value = board.F(0)
	}
	return out
}

// RecordAlertDelivery stores one webhook delivery of receiver (see
// store.Store.RecordAlertDelivery); once a new one is committed, takeovers
// change at once and the tiles fed by that receiver (and only their
// queries) are polled now, at most once per the scheduler's kick gap.
func (f *Alerts) RecordAlertDelivery(ctx context.Context, receiver, delivery string, keyed bool, alerts []board.Alert, now time.Time) (bool, error) {
	duplicate, err := f.store.RecordAlertDelivery(ctx, receiver, delivery, keyed, alerts, now)
	if err != nil || duplicate {
		return duplicate, err
	}
	f.Stored(receiver)
	if f.OnStored != nil {
		f.OnStored(receiver)
	}
	return false, nil
}

// Stored brings the screens up to date after a delivery of receiver was
// stored (here, or by another replica sharing the store): takeovers change
// at once, and the tiles fed by that receiver are polled now.
func (f *Alerts) Stored(receiver string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.PublishLayers(ctx)
	sched := f.world.Scheduler()
	if sched == nil {
		return
	}
	// Only the alert and hygiene tiles this receiver feeds: the metric
	// queries of their source have nothing new and keep its request budget.
	var refs []board.TileRef
	for _, b := range f.world.Config().Boards {
		for _, t := range b.Tiles {
			if (t.Kind == KindAlerts || t.Kind == KindHygiene) && slices.Contains(f.Feeds(t), receiver) {
				refs = append(refs, board.TileRef{Board: b.ID, Tile: t.ID})
			}
		}
	}
	sched.KickTiles(refs)
}

// PublishLayers pushes each board's takeover/banner when it changed: the
// most recently opened critical alert of the board's alert feeds, with the
// count of the others. One element per board, so takeovers never stack.
func (f *Alerts) PublishLayers(ctx context.Context) {
	// One publisher at a time: each reads the store and publishes in the
	// same order, so an older layer can never overtake a newer one.
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	boards := f.world.Config().Boards
	// A board a reload removed: the hub forgot its layer, so if a later
	// reload brings it back, its layer is published again.
	for id := range f.layers {
		if !slices.ContainsFunc(boards, func(b board.BoardConfig) bool { return b.ID == id }) {
			delete(f.layers, id)
		}
	}
	for _, b := range boards {
		var ids []string
		for _, t := range b.Tiles {
			if t.Kind == KindAlerts {
				for _, id := range f.Feeds(t) {
					if !slices.Contains(ids, id) {
						ids = append(ids, id)
					}
				}
			}
		}
		if len(ids) == 0 {
			if _, had := f.layers[b.ID]; had {
				// A reload took the board's alert tiles away: so goes its layer.
				delete(f.layers, b.ID)
				l := board.AlertLayer{Board: b.ID, Takeover: b.Takeover, Chime: b.Chime, Locale: b.Locale, Now: now}
				if err := f.pub.PublishAlertLayer(l); err != nil {
					f.log.Error("publishing alert layer", "board", b.ID, "error", err)
				}
			}
			continue
		}
		open, err := f.openAlerts(ctx, ids)
		if err != nil {
			f.log.Error("reading open alerts for the takeover", "board", b.ID, "error", err)
			continue
		}
		var crit []store.StoredAlert
		for _, a := range open {
			if a.Severity == board.SeverityCritical {
				crit = append(crit, a)
			}
		}
		l := board.AlertLayer{Board: b.ID, Takeover: b.Takeover, Chime: b.Chime, Locale: b.Locale, Now: now}
		if len(crit) > 0 {
			newest := crit[0]
			for _, a := range crit[1:] {
				if a.OpenedAt.After(newest.OpenedAt) {
					newest = a
				}
			}
			al := newest.Alert
			l.Alert, l.OpenedAt, l.Others = &al, newest.OpenedAt, len(crit)-1
		}
		// The board's presentation too: a reload can change how it shows.
		sig, _ := json.Marshal(struct {
			A *board.Alert
			O time.Time
			N int
			T time.Duration
			C bool
			L string
		}{l.Alert, l.OpenedAt, l.Others, l.Takeover, l.Chime, l.Locale})
		if f.layers[b.ID] == string(sig) {
			continue
		}
		f.layers[b.ID] = string(sig)
		if err := f.pub.PublishAlertLayer(l); err != nil {
			f.log.Error("publishing alert layer", "board", b.ID, "error", err)
		}
	}
}
