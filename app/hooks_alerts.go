package app

import (
	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/web"
)

// newAlerts builds the alerts (package alerts) and their webhook receivers
// with the config's secrets (their routes are in web/routes.go: each
// answers 404 while its secret is unset). A stored delivery is announced to
// the other replicas, whose takeovers follow.
func newAlerts(a *App, sec secrets) (*alerts.Alerts, *web.AlertHooks) {
	configured := map[string]bool{
		alerts.ReceiverAlertmanager:    sec.alertmanager != "",
		alerts.ReceiverCloudMonitoring: sec.cloudMonitoring.Token != "" || sec.cloudMonitoring.Username != "",
		alerts.ReceiverEvents:          sec.events != "",
	}
	f := alerts.New(alertsWorld{a}, a.store, alertsWorld{a}, a.log, configured)
	f.OnStored = func(receiver string) { a.announce(stepAlerts + receiver) }
	h := &web.AlertHooks{Alerts: f, Log: a.log,
		AlertmanagerToken: sec.alertmanager, CloudMonitoringAuth: sec.cloudMonitoring, EventsToken: sec.events}
	return f, h
}

// alertsWorld is what package alerts reads of the app (the running config,
// its live state and poller, asked each time since a reload replaces them)
// and where it publishes takeovers (the server, built after it).
type alertsWorld struct{ a *App }

func (w alertsWorld) Config() *board.Config        { return w.a.Config() }
func (w alertsWorld) Live() *board.Live            { return w.a.Live() }
func (w alertsWorld) Scheduler() *poller.Scheduler { return w.a.scheduler() }
func (w alertsWorld) PublishAlertLayer(l board.AlertLayer) error {
	return w.a.server.PublishAlertLayer(l)
}
