package app

import (
	"context"
	"fmt"
	"time"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/web"
)

func init() {
	board.RegisterTileKind(alerts.KindAlerts)
	board.RegisterTileKind(alerts.KindHygiene)
	routeSetups = append(routeSetups, setupAlerts)
}

// setupAlerts mounts the alert webhook receivers and starts the alerts
// (package alerts): the receivers hand their deliveries to it.
func setupAlerts(a *App) error {
	cfg := a.Config()
	receiver := map[string]bool{}
	secret := func(name string, w *board.WebhookConfig) (web.Credentials, error) {
		var c web.Credentials
		if w == nil {
			return c, nil
		}
		var err error
		if c.Token, err = w.Secret.Resolve(); err != nil {
			return c, fmt.Errorf("webhooks.%s.secret: %w", name, err)
		}
		if w.BasicAuth != nil {
			c.Username = w.BasicAuth.Username
			if c.Password, err = w.BasicAuth.Password.Resolve(); err != nil {
				return c, fmt.Errorf("webhooks.%s.basic_auth.password: %w", name, err)
			}
			if c.Username == "" || c.Password == "" {
				return c, fmt.Errorf("webhooks.%s.basic_auth: username and password are both required", name)
			}
		}
		return c, nil
	}
	am, err := secret("alertmanager", cfg.Webhooks.Alertmanager)
	if err != nil {
		return err
	}
	cm, err := secret("cloudmonitoring", cfg.Webhooks.CloudMonitoring)
	if err != nil {
		return err
	}
	ev, err := secret("events", cfg.Webhooks.Events)
	if err != nil {
		return err
	}
	receiver[alerts.ReceiverAlertmanager] = am.Token != ""
	receiver[alerts.ReceiverCloudMonitoring] = cm.Token != "" || cm.Username != ""
	receiver[alerts.ReceiverEvents] = ev.Token != ""
	f := alerts.New(a, a.Store(), a.Server(), a.Logger(), receiver)
	h := &web.AlertHooks{Alerts: f, Log: a.Logger(), AlertmanagerToken: am.Token, CloudMonitoringAuth: cm, EventsToken: ev.Token}

	// The receivers answer 404 while off, so these routes always exist.
	mux := a.Server().Mux()
	limits := web.DefaultWebhookLimits
	limits.Logger = a.Logger()
	guard := a.Server().Ingress()
	mux.Handle("POST /hooks/alertmanager", guard.Webhook(alerts.ReceiverAlertmanager, limits, h.AuthAlertmanager(), h.Alertmanager()))
	mux.Handle("POST /hooks/cloudmonitoring", guard.Webhook(alerts.ReceiverCloudMonitoring, limits, h.AuthCloudMonitoring(), h.CloudMonitoring()))
	mux.Handle("POST /api/v1/events/alerts", guard.Webhook(alerts.ReceiverEvents, limits, h.AuthEvents(), h.Events()))
	a.alerts = f
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.PublishLayers(ctx) // alerts still open from before a restart
	return nil
}
