package board

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds the config loader arbitrary bytes, seeded with the real
// example configs: it must never panic, and must either return a config that
// passed validation or a ConfigError whose every problem names the file.
func FuzzParse(f *testing.F) {
	demo, err := os.ReadFile("../app/demo.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	base := "sources:\n  - id: demo\n    kind: demo\nboards:\n  - id: ops\n    tiles:\n      - {id: req, kind: stat, source: demo, query: requests, interval: 1s}\n"
	for _, extra := range []string{
		"",
		"access:\n  mode: screens\n  screens:\n    - {name: lobby-tv, token_sha256: " + strings.Repeat("ab", 32) + "}\n",
		"access:\n  mode: proxy\n  trusted_proxies: [10.0.0.0/8, \"::1\"]\n  proxy:\n    allow: [\"@example.com\"]\n    iap: {audience: /projects/1/apps/x, jwks_url: \"https://www.gstatic.com/iap/verify/public_key-jwk\"}\n",
		"access:\n  mode: open\n  frame_ancestors: [\"https://portal.example\"]\nadmin:\n  token: {env: WALLBOARD_ADMIN_TOKEN}\n",
		"webhooks:\n  github: {secret: {env: GH}}\n  alertmanager: {basic_auth: {username: am, password: {file: /x}}}\n  events:\n",
		"playlists:\n  - {id: p, boards: [ops, nope], every: 7d}\n",
	} {
		f.Add([]byte(base + extra))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, nil)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error is not a ConfigError: %T %v", err, err)
			}
			if len(ce.Problems) == 0 {
				t.Fatal("ConfigError without problems")
			}
			for _, p := range ce.Problems {
				if p.File != "fuzz.yaml" || p.Msg == "" {
					t.Fatalf("problem without file or message: %+v", p)
				}
			}
			return
		}
		// Accepted: the invariants the rest of the program relies on hold.
		if len(cfg.Boards) == 0 {
			t.Fatal("accepted a config without boards")
		}
		for _, b := range cfg.Boards {
			if len(b.Tiles) == 0 {
				t.Fatalf("accepted board %q without tiles", b.ID)
			}
		}
		switch cfg.Access.Mode {
		case "", AccessOpen, AccessScreens, AccessProxy:
		default:
			t.Fatalf("accepted access mode %q", cfg.Access.Mode)
		}
		if cfg.Access.Mode == AccessProxy && len(cfg.Access.TrustedProxies) == 0 {
			t.Fatal("accepted proxy mode without trusted proxies")
		}
		for _, w := range cfg.webhookSections() {
			if w.Cfg != nil && w.Cfg.Secret == nil && w.Cfg.BasicAuth == nil {
				t.Fatalf("accepted webhooks.%s without a secret", w.Name)
			}
		}
	})
}
