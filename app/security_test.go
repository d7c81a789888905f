package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/poller/github/githubtest"
	"github.com/wallboard/wallboard/web"
)

// Issue 16 point 8 through the whole server: a security tile on a github
// source (GitHub Enterprise layout) gives its counts in the JSON API and
// its big numbers on the page, in English and Japanese.
func TestSecurityTileThroughTheServer(t *testing.T) {
	now := time.Now().UTC()
	day := 24 * time.Hour
	api := &githubtest.Repo{FullName: "org/api",
		Dependabot: []githubtest.SecurityAlert{{Number: 1, Severity: "critical", CreatedAt: now.Add(-10 * day)},
			{Number: 2, Severity: "high", CreatedAt: now.Add(-2 * day)}, {Number: 3, Severity: "medium", CreatedAt: now}},
		CodeScanning:   []githubtest.SecurityAlert{{Number: 1, Severity: "high", CreatedAt: now.Add(-day)}},
		SecretScanning: []githubtest.SecurityAlert{{Number: 1, CreatedAt: now.Add(-time.Hour)}},
	}
	web := &githubtest.Repo{FullName: "org/web", SecretScanningStatus: 403}
	fake := githubtest.New(t, 1, api, web)
	a, base, _ := start(t, Options{}, fmt.Sprintf(`
sources:
  - {id: gh, kind: github, url: %q, repos: [org/api, org/web]}
boards:
  - id: sec
    tiles:
      - {id: baseline, kind: security, title: Security, source: gh, interval: 1h}
  - id: sec-ja
    locale: ja
    tiles:
      - {id: baseline, kind: security, title: セキュリティ, source: gh, query: {critical_after: 14d}, interval: 1h}
`, fake.APIURL()))
	var tile apiTile
	eventually(t, 10*time.Second, "the security tile's counts", func() (bool, string) {
		tile = boardTiles(t, a, "sec")["baseline"]
		return tile.Extra != nil, ""
	})
	ex := tile.Extra
	totals, _ := ex["totals"].(map[string]any)
	if fmt.Sprint(totals) != "map[critical:1 high:2 low:0 medium:1]" || ex["secret_scanning"] != 1.0 {
		t.Errorf("totals %v, secret scanning %v; want 1 critical, 2 high, 1 medium, 1 secret", totals, ex["secret_scanning"])
	}
	if u := fmt.Sprint(ex["secret_scanning_unreadable"]); u != "[org/web]" {
		t.Errorf("secret scanning unreadable = %s, want [org/web]", u)
	}
	if age, _ := ex["oldest_critical_age_seconds"].(float64); age < (10*day).Seconds() || age > (10*day+time.Hour).Seconds() {
		t.Errorf("oldest critical age = %v s, want about 10 days", ex["oldest_critical_age_seconds"])
	}
	if tile.Value == nil || *tile.Value != 3 || tile.Error != "" {
		t.Errorf("value %v error %q, want 3 open critical and high, no error", tile.Value, tile.Error)
	}
	status := boardStatus(t, base, "sec", "baseline")
	if status != "critical" {
		t.Errorf("status %s, want critical (a critical open 10 days)", status)
	}

	page := get(t, base+"/boards/sec")
	for _, want := range []string{`class="sev sev-critical"`, `<span class="sev-n">1</span>`, `<span class="sev-n">2</span>`,
		"oldest critical open 10 d", "secrets: 1 open", "secrets not readable with this token: org/web", "org/api", "1 C · 2 H"} {
		if !strings.Contains(page, want) {
			t.Errorf("English page lacks %q", want)
		}
	}
	eventually(t, 10*time.Second, "the Japanese tile", func() (bool, string) { return boardTiles(t, a, "sec-ja")["baseline"].Extra != nil, "" })
	ja := get(t, base+"/boards/sec-ja")
	for _, want := range []string{"重大", "最古の重大: 10日", "シークレット: 1 件"} {
		if !strings.Contains(ja, want) {
			t.Errorf("Japanese page lacks %q", want)
		}
	}
	if s := boardStatus(t, base, "sec-ja", "baseline"); s != "warn" {
		t.Errorf("critical_after 14d: status %s, want warn", s)
	}
}

// boardStatus is a tile's status from the JSON API.
func boardStatus(t *testing.T, base, boardID, tile string) string {
	t.Helper()
	var b web.APIBoard
	if err := json.Unmarshal([]byte(get(t, base+"/api/v1/boards/"+boardID)), &b); err != nil {
		t.Fatal(err)
	}
	for _, tl := range b.Tiles {
		if tl.ID == tile {
			return string(tl.Status)
		}
	}
	return ""
}

// `wallboard check` (ParseConfig) refuses a security tile
// on another source kind and a bad security query, with the tile's line.
func TestSecurityTileChecked(t *testing.T) {
	for _, tc := range []struct{ tile, want string }{
		{`{id: s, kind: security, source: dora}`, "a security tile needs a github source, not a events source"},
		{`{id: s, kind: security, source: gh, query: {window: 30d}}`, `unknown key "window"`},
		{`{id: s, kind: security, source: gh, query: {critical_after: soon}}`, "critical_after"},
	} {
		cfg := fmt.Sprintf(`sources:
  - {id: gh, kind: github, repos: [org/api]}
  - {id: dora, kind: events}
boards:
  - id: b
    tiles:
      - %s
`, tc.tile)
		_, err := ParseConfig("c.yaml", []byte(cfg))
		if err == nil || !strings.Contains(err.Error(), "c.yaml:7:") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want c.yaml:7: … %q", tc.tile, err, tc.want)
		}
	}
	ok := "sources:\n  - {id: gh, kind: github, repos: [org/api]}\nboards:\n  - id: b\n    tiles:\n      - {id: s, kind: security, source: gh, query: {repo: org/api, critical_after: 3d}}\n"
	if _, err := ParseConfig("c.yaml", []byte(ok)); err != nil {
		t.Errorf("a good security tile refused: %v", err)
	}
}
