package app

import (
	"fmt"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/web"
)

// secrets are a config's secrets, resolved once per load (at start and at
// each reload): every environment variable or file named under admin: and
// webhooks: is read here and nowhere else. A config whose secrets cannot be
// read does not start, and a reload to it is refused.
//
// What follows a reload: the admin token (web.Access holds it, for /admin,
// the fleet page and /metrics alike). The webhook receivers keep the secrets
// read at start until the next restart, as their routes do.
type secrets struct {
	admin string // admin.token; "" when admin: is off

	// Webhook receivers; "" (or zero credentials) when the receiver is off.
	github          string          // HMAC key of X-Hub-Signature-256
	alertmanager    string          // bearer token
	events          string          // bearer token (events and their ping)
	cloudMonitoring web.Credentials // ?token= and/or basic auth
}

// resolveSecrets reads cfg's secrets. An error names the config key, never
// the value.
func resolveSecrets(cfg *board.Config) (secrets, error) {
	var s secrets
	var err error
	if cfg.Admin != nil {
		if s.admin, err = cfg.Admin.Token.Resolve(); err != nil {
			return s, fmt.Errorf("admin.token: %w", err)
		}
	}
	// Validation allows basic auth on the cloudmonitoring receiver only;
	// every other receiver present has a secret.
	for _, w := range []struct {
		name string
		cfg  *board.WebhookConfig
		into *string
	}{
		{"github", cfg.Webhooks.GitHub, &s.github},
		{"alertmanager", cfg.Webhooks.Alertmanager, &s.alertmanager},
		{"events", cfg.Webhooks.Events, &s.events},
		{"cloudmonitoring", cfg.Webhooks.CloudMonitoring, &s.cloudMonitoring.Token},
	} {
		if w.cfg == nil {
			continue
		}
		if *w.into, err = w.cfg.Secret.Resolve(); err != nil {
			return s, fmt.Errorf("webhooks.%s.secret: %w", w.name, err)
		}
	}
	if cm := cfg.Webhooks.CloudMonitoring; cm != nil && cm.BasicAuth != nil {
		s.cloudMonitoring.Username = cm.BasicAuth.Username
		if s.cloudMonitoring.Password, err = cm.BasicAuth.Password.Resolve(); err != nil {
			return s, fmt.Errorf("webhooks.cloudmonitoring.basic_auth.password: %w", err)
		}
		if s.cloudMonitoring.Password == "" { // an empty file
			return s, fmt.Errorf("webhooks.cloudmonitoring.basic_auth.password: is empty")
		}
	}
	return s, nil
}
