package app

import (
	"context"
	"fmt"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/alertmanager"
	"github.com/wallboard/wallboard/store"
)

// newWebhooksSource builds a "webhooks" source: the alerts the webhook
// receivers stored.
func newWebhooksSource(a *App, _ board.SourceConfig) (poller.Source, error) {
	return webhookAlerts{st: a.Store()}, nil
}

// checkWebhooksQuery refuses a query on a webhooks source.
func checkWebhooksQuery(_ board.TileConfig, q board.Query) error {
	if q.Text != "" || len(q.Params) > 0 {
		return fmt.Errorf("webhooks: a webhooks source takes no query (it shows what the alert receivers stored)")
	}
	return nil
}

// webhookAlerts is the source of alerts that arrive by webhook: a poll reads
// the open alerts the receivers stored. Alert tiles read the store
// themselves; this makes the count usable on stat and list tiles too.
type webhookAlerts struct{ st *store.Store }

func (w webhookAlerts) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	open, err := w.st.OpenAlerts(ctx, alerts.Receivers)
	if err != nil {
		return board.Result{}, err
	}
	res := board.Result{Value: board.F(float64(len(open)))}
	for _, a := range open {
		res.Alerts = append(res.Alerts, a.Alert)
		res.Rows = append(res.Rows, alertmanager.Row(a.Alert))
	}
	return res, nil
}
