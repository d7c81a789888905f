package app

import (
	"strings"
	"testing"
)

// TestAlertTileRulesAtLoad: the rules for alert tiles hold wherever a config
// is loaded (wallboard check, start-up, a reload), with the tile's line.
func TestAlertTileRulesAtLoad(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"sources:\n  - {id: prom, kind: prometheus, url: http://127.0.0.1:9}\nboards:\n  - id: b\n    tiles:\n      - {id: a, kind: alerts, source: prom}\n",
			`:6: tile b/a: query: a alerts tile needs an alert source (alertmanager, gcm, webhooks), not a prometheus source`},
		{"sources:\n  - {id: g, kind: gcm, project: p}\nboards:\n  - id: b\n    tiles:\n      - {id: a, kind: hygiene, source: g}\n",
			`:6: tile b/a: query: a hygiene tile on a gcm source needs query: {policies: undocumented}`},
		{"sources:\n  - {id: d, kind: demo}\nboards:\n  - id: b\n    tiles:\n      - {id: a, kind: stat, source: d, query: cpu, sources: [events]}\n",
			`:6: tile b/a: query: sources is only for alerts and hygiene tiles`},
	}
	for _, tt := range tests {
		path := t.TempDir() + "/b.yaml"
		writeFile(t, path, tt.yaml)
		_, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadConfig error = %v, want it to contain %q", err, tt.want)
		}
	}
}
