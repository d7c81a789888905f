package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/alertmanager"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/views"
	"github.com/wallboard/wallboard/web"
)

// Tile kinds of the alerts feature.
const (
	kindAlerts  = board.KindAlerts
	kindHygiene = board.KindHygiene
)

// defaultNoisyAfter is how many openings in 7 days make an alert noisy.
const defaultNoisyAfter = 5

// alertsFeature connects alert sources, the store, alert tiles and the
// takeover: polled alert sets and webhook deliveries go into the store, and
// alert tiles and takeovers show what the store holds open.
type alertsFeature struct {
	a        *App
	hooks    *web.AlertHooks
	receiver map[string]bool // webhook receiver id -> configured

	mu     sync.Mutex        // serialises publishLayers
	layers map[string]string // board -> signature of the last published layer
}

// newAlertsFeature builds the alert receivers with the config's secrets
// (their routes are in web/routes.go: each answers 404 while its secret is
// unset).
func newAlertsFeature(a *App, sec secrets) *alertsFeature {
	f := &alertsFeature{a: a, receiver: map[string]bool{}, layers: map[string]string{}}
	f.hooks = &web.AlertHooks{Store: a.Store(), Log: a.log, Stored: func(receiver string) {
		f.stored(receiver)
		a.announce(stepAlerts + receiver) // every replica's takeover follows
	},
		AlertmanagerToken: sec.alertmanager, CloudMonitoringAuth: sec.cloudMonitoring, EventsToken: sec.events}
	f.receiver[web.ReceiverAlertmanager] = sec.alertmanager != ""
	f.receiver[web.ReceiverCloudMonitoring] = sec.cloudMonitoring.Token != "" || sec.cloudMonitoring.Username != ""
	f.receiver[web.ReceiverEvents] = sec.events != ""
	return f
}

func (f *alertsFeature) sourceKind(id string) string {
	for _, s := range f.a.Config().Sources {
		if s.ID == id {
			return s.Kind
		}
	}
	return ""
}

// checkAlertTile refuses alert and hygiene tiles whose feeds cannot carry
// alerts, and sources: on other tiles. It runs in sourceKinds.CheckQuery, so `wallboard
// check`, start-up and a config reload apply the same rules.
func checkAlertTile(srcKind string, t board.TileConfig, q board.Query) error {
	if t.Kind != kindAlerts && t.Kind != kindHygiene {
		if len(t.Sources) > 0 {
			return fmt.Errorf("sources is only for alerts and hygiene tiles")
		}
		return nil
	}
	switch srcKind {
	case "alertmanager", "webhooks":
	case "demo": // the built-in demo's alerts (poller/demo Alerts)
		if t.Kind == kindHygiene {
			return fmt.Errorf("a hygiene tile needs an alert source (alertmanager, gcm, webhooks), not a demo source")
		}
	case "gcm":
		// Cloud Monitoring answers alerts only to {alerts: open} and
		// policy findings only to {policies: undocumented}.
		want, key := "open", "alerts"
		if t.Kind == kindHygiene {
			want, key = "undocumented", "policies"
		}
		if q.Param(key) != want {
			return fmt.Errorf("a %s tile on a gcm source needs query: {%s: %s}", t.Kind, key, want)
		}
	default:
		return fmt.Errorf("a %s tile needs an alert source (alertmanager, gcm, webhooks), not a %s source", t.Kind, srcKind)
	}
	for _, s := range t.Sources {
		if !slices.Contains(web.AlertReceivers, s) {
			return fmt.Errorf("sources: %q is not an alert webhook receiver (known: %s)", s, strings.Join(web.AlertReceivers, ", "))
		}
	}
	return nil
}

// feeds are the store source ids a tile shows: its source (a webhooks
// source stands for every alert receiver) and its extra sources.
func (f *alertsFeature) feeds(t board.TileConfig) []string {
	var ids []string
	if f.sourceKind(t.Source) == "webhooks" {
		ids = append(ids, web.AlertReceivers...)
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

// afterPoll stores a complete polled alert set, then returns what each tile
// of the job shows: alert tiles the store's open alerts of their feeds,
// hygiene tiles their findings, other tiles the poll's result unchanged.
// asked is when the poll sent its request.
func (f *alertsFeature) afterPoll(j *poller.Job, res board.Result, err error, asked time.Time) func(board.TileRef, board.Result) board.Result {
	if err != nil {
		return func(_ board.TileRef, r board.Result) board.Result { return r }
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
			f.a.log.Warn("polled alerts without id ignored", "source", j.Query.Source, "count", dropped)
		}
		// Alertmanager's own state is the truth wherever both its feeds
		// exist: it sends no notification for a silenced or inhibited
		// alert, nor for one resolved while silenced, so the webhook's
		// copies of the alerts this Alertmanager knows follow its poll.
		var followers []string
		if f.sourceKind(j.Query.Source) == "alertmanager" && f.receiver[web.ReceiverAlertmanager] {
			followers = []string{web.ReceiverAlertmanager}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		changed, err := f.a.Store().SyncPolledFollowers(ctx, j.Query.Source, polled, res.AlertsSuppressed, followers, asked, time.Now())
		if err != nil {
			storeErr = err
			f.a.log.Error("storing polled alerts", "source", j.Query.Source, "error", err)
		} else if changed {
			f.publishLayers(ctx)
		}
		cancel()
	}
	return func(ref board.TileRef, r board.Result) board.Result {
		cfg, _, ok := f.a.Live().Tile(ref)
		if !ok {
			return r
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		switch cfg.Kind {
		case kindAlerts:
			return f.alertsResult(ctx, cfg, r, storeErr)
		case kindHygiene:
			return f.hygieneResult(ctx, cfg, r)
		}
		return r
	}
}

// openAlerts are the open alerts of the given feeds, each once: the same
// Alertmanager alert polled and delivered by webhook has the same id
// (its fingerprint), and the first feed's copy is kept.
func (f *alertsFeature) openAlerts(ctx context.Context, feeds []string) ([]store.StoredAlert, error) {
	open, err := f.a.Store().OpenAlerts(ctx, feeds)
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
func (f *alertsFeature) warnings(t board.TileConfig, storeErr error) []string {
	var w []string
	if f.sourceKind(t.Source) == "webhooks" && !f.receiver[web.ReceiverAlertmanager] &&
		!f.receiver[web.ReceiverCloudMonitoring] && !f.receiver[web.ReceiverEvents] {
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
	if receiver == web.ReceiverAlertmanager {
		return "alertmanager"
	}
	return receiver
}

func (f *alertsFeature) alertsResult(ctx context.Context, t board.TileConfig, r board.Result, storeErr error) board.Result {
	out := board.Result{At: r.At, Warnings: append(slices.Clone(r.Warnings), f.warnings(t, storeErr)...)}
	open, err := f.openAlerts(ctx, f.feeds(t))
	if err != nil {
		f.a.log.Error("reading open alerts", "error", err)
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

func (f *alertsFeature) hygieneResult(ctx context.Context, t board.TileConfig, r board.Result) board.Result {
	out := board.Result{At: r.At, Warnings: slices.Clone(r.Warnings)}
	ids := f.feeds(t)
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
	ops, err := f.a.Store().Openings(ctx, ids, time.Now().Add(-7*24*time.Hour))
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

// stored runs after a webhook delivery is committed: takeovers change at
// once, and the tiles fed by that receiver (and only their queries) are
// polled now, at most once per poller.KickGap.
func (f *alertsFeature) stored(receiver string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.publishLayers(ctx)
	sched := f.a.scheduler()
	if sched == nil {
		return
	}
	// Only the alert and hygiene tiles this receiver feeds: the metric
	// queries of their source have nothing new and keep its request budget.
	var refs []board.TileRef
	for _, b := range f.a.Config().Boards {
		for _, t := range b.Tiles {
			if (t.Kind == kindAlerts || t.Kind == kindHygiene) && slices.Contains(f.feeds(t), receiver) {
				refs = append(refs, board.TileRef{Board: b.ID, Tile: t.ID})
			}
		}
	}
	sched.KickTiles(refs)
}

// publishLayers pushes each board's takeover/banner when it changed: the
// most recently opened critical alert of the board's alert feeds, with the
// count of the others. One element per board, so takeovers never stack.
func (f *alertsFeature) publishLayers(ctx context.Context) {
	// One publisher at a time: each reads the store and publishes in the
	// same order, so an older layer can never overtake a newer one.
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, b := range f.a.Config().Boards {
		var ids []string
		for _, t := range b.Tiles {
			if t.Kind == kindAlerts {
				for _, id := range f.feeds(t) {
					if !slices.Contains(ids, id) {
						ids = append(ids, id)
					}
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		open, err := f.openAlerts(ctx, ids)
		if err != nil {
			f.a.log.Error("reading open alerts for the takeover", "board", b.ID, "error", err)
			continue
		}
		var crit []store.StoredAlert
		for _, a := range open {
			if a.Severity == board.SeverityCritical {
				crit = append(crit, a)
			}
		}
		l := views.AlertLayerView{Board: b.ID, Takeover: b.Takeover, Chime: b.Chime, Text: views.TextFor(b.Locale), Now: now}
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
		sig, _ := json.Marshal(struct {
			A *board.Alert
			O time.Time
			N int
		}{l.Alert, l.OpenedAt, l.Others})
		if f.layers[b.ID] == string(sig) {
			continue
		}
		f.layers[b.ID] = string(sig)
		if err := f.a.Server().PublishAlertLayer(l); err != nil {
			f.a.log.Error("publishing alert layer", "board", b.ID, "error", err)
		}
	}
}
