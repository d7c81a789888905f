package app

import (
	"fmt"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/web"
)

// The delivery check endpoint is on whenever the generic events receiver
// (webhooks.events) is configured, and takes the same secret.
func init() {
	routeSetups = append(routeSetups, func(a *App) error {
		ev := a.Config().Webhooks.Events
		if ev == nil {
			return nil
		}
		secret, user, err := webhookSecret("events", ev.Secret, ev.BasicAuth)
		if err != nil {
			return err
		}
		lim := web.PingLimits
		lim.Logger = a.log
		a.server.Mux().Handle("POST /api/v1/events/ping",
			a.server.Ingress().Webhook(web.PingReceiver, lim, web.PingAuth(secret, user), web.PingHandler(a.store, secret, user, a.log)))
		return nil
	})
}

// webhookSecret resolves a receiver's secret: the secret itself, or basic
// auth's password with its user name. The error names the receiver and where
// the secret should be, never the value.
func webhookSecret(name string, secret *board.Secret, basic *board.BasicAuth) (string, string, error) {
	if secret != nil {
		s, err := secret.Resolve()
		if err != nil {
			return "", "", fmt.Errorf("webhooks.%s.secret: %w", name, err)
		}
		return s, "", nil
	}
	if basic != nil && basic.Password != nil {
		p, err := basic.Password.Resolve()
		if err != nil {
			return "", "", fmt.Errorf("webhooks.%s.basic_auth.password: %w", name, err)
		}
		return p, basic.Username, nil
	}
	return "", "", fmt.Errorf("webhooks.%s: no secret", name)
}
