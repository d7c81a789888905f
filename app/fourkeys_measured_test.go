package app

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/poller/github/githubtest"
)

// A source that sees no incidents (git history; GitHub with incidents
// turned off) has no change failure rate or time to restore: both are "not
// measured" (null in JSON, said on the page), never 0 % and elite.
func TestFourKeysWithoutAnIncidentFeedAreNotMeasured(t *testing.T) {
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err) // the tests run inside this repository's checkout
	}
	fake := githubtest.New(t, 1, githubtest.Sample("org/api", time.Now()))
	a, base, _ := start(t, Options{}, fmt.Sprintf(`
sources:
  - {id: git, kind: gitlog, path: %q, branch: HEAD, service: wallboard}
  - {id: gh, kind: github, url: %q, repos: [org/api], incident_label: none}
boards:
  - id: ship
    tiles:
      - {id: git, kind: fourkeys, source: git, interval: 1h, span: 2}
      - {id: gh, kind: fourkeys, source: gh, interval: 1h, span: 2}
`, filepath.Clean(strings.TrimSpace(string(top))), fake.APIURL()))
	eventually(t, 10*time.Second, "both tiles computed", func() (bool, string) {
		tl := boardTiles(t, a, "ship")
		return tl["git"].Extra != nil && tl["gh"].Extra != nil, ""
	})
	for id, tl := range boardTiles(t, a, "ship") {
		ex := tl.Extra
		if ex["deployments"] == nil || ex["deployments"].(float64) == 0 && id == "gh" {
			t.Errorf("%s: deployments = %v, want the source's deployments counted", id, ex["deployments"])
		}
		for _, k := range []string{"change_failure_rate", "time_to_restore_seconds", "deployment_rework_rate", "failed_deployment_recovery_seconds"} {
			if v, ok := ex[k]; !ok || v != nil {
				t.Errorf("%s: %s = %v, want null (not measured)", id, k, v)
			}
		}
		if tiers := ex["tiers"].(map[string]any); tiers["change_failure_rate"] != nil || tiers["time_to_restore"] != nil {
			t.Errorf("%s: tiers = %v, want no tier for what is not measured", id, tiers)
		}
		if ex["incidents_measured"] != false {
			t.Errorf("%s: incidents_measured = %v, want false", id, ex["incidents_measured"])
		}
	}
	resp, err := http.Get(base + "/boards/ship")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(page), ">not measured<"); n != 6 {
		t.Errorf(`the page says "not measured" %d times, want 6 (three keys on two tiles: failures, recovery, rework)`, n)
	}
	if strings.Contains(string(page), ">0 %<") {
		t.Errorf(`the page shows "0 %%" for a change failure rate nobody measured`)
	}
}
