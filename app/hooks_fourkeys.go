package app

import (
	"fmt"

	"github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/web"
)

func init() {
	routeSetups = append(routeSetups, setupFourKeysHooks)
}

// setupFourKeysHooks mounts POST /api/v1/events/{deployments,incidents} and
// POST /hooks/github, each only when its secret is configured (no secret:
// the route does not exist, 404).
//
// Secrets are read once, at start; the repositories' settings follow the
// config as it is reloaded. The receivers only store: the store signals
// what they stored (kickFourKeys).
func setupFourKeysHooks(a *App) error {
	cfg := a.Config()
	if wh := cfg.Webhooks.Events; wh != nil && wh.Secret != nil {
		tok, err := wh.Secret.Resolve()
		if err != nil {
			return fmt.Errorf("webhooks.events.secret: %w", err)
		}
		limits := web.DefaultWebhookLimits
		limits.Logger = a.Logger()
		web.NewEventsHandler(tok, a.Store(), a.Logger()).Register(a.Server().Mux(), a.Server().Ingress(), limits)
	}
	if wh := cfg.Webhooks.GitHub; wh != nil && wh.Secret != nil {
		secret, err := wh.Secret.Resolve()
		if err != nil {
			return fmt.Errorf("webhooks.github.secret: %w", err)
		}
		h := web.NewGitHubHandler(secret, a.Store(), func(repo string) web.GitHubRepoSettings { return github.SettingsIn(a.Config(), repo) }, a.Logger())
		limits := web.DefaultWebhookLimits
		limits.Logger = a.Logger()
		limits.MaxBytes = web.MaxGitHubBody // push payloads of large pushes exceed 1 MiB
		a.Server().Mux().Handle("POST /hooks/github", a.Server().Ingress().Webhook("github", limits, h.Auth(), h))
	}
	return nil
}
