package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const reloadConfig = `admin:
  token: {env: WALLBOARD_TEST_ADMIN}
sources:
  - {id: demo, kind: demo}
boards:
  - id: a
    title: Board A
    columns: 2
    tiles:
      - {id: req, kind: stat, title: Requests, source: demo, query: requests, interval: 1s}
`

// replaceFile writes data the way many editors do: a new file renamed over
// the old one.
func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".wallboard.yaml.swp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func adminGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestConfigReloadValidEditChangesScreenInvalidIsReported(t *testing.T) {
	const token = "s3cret-admin-token"
	t.Setenv("WALLBOARD_TEST_ADMIN", token)
	s := StartServer(t, ServerOptions{Config: reloadConfig})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/a", 1280, 720)
	b.WaitJS(`document.getElementById('tile-a-req').dataset.updated !== '0'`, 20*time.Second)
	b.Eval(`window.__marker = 1; true`, nil)

	// A valid edit: a new tile and three columns. The screen reloads by
	// itself and shows it; the old tile keeps its data through the reload.
	valid := strings.Replace(reloadConfig, "columns: 2", "columns: 3", 1) +
		"      - {id: fresh, kind: gauge, title: Fresh tile, source: demo, query: cpu, unit: ratio, interval: 1s}\n"
	replaceFile(t, s.ConfigPath, valid)
	b.WaitJS(`window.__marker === undefined && document.getElementById('tile-a-fresh') !== null`, 20*time.Second)
	b.WaitJS(`window.wallboard !== undefined`, 10*time.Second)
	var cols string
	b.Eval(`document.querySelector('.board .grid').className`, &cols)
	if !strings.Contains(cols, "cols-3") {
		t.Errorf("grid after reload is %q, want cols-3", cols)
	}
	var reqUpdated string
	b.Eval(`document.getElementById('tile-a-req').dataset.updated`, &reqUpdated)
	if reqUpdated == "0" {
		t.Error("the kept tile lost its data in the reload")
	}
	code, body := adminGet(t, s.Base+"/admin", token)
	if code != 200 || !strings.Contains(body, "The file on disk is the config running") {
		t.Errorf("/admin after a valid edit: %d %s", code, body)
	}

	// An invalid edit (line 10: unknown tile kind): nothing changes on the
	// screen, the error with file:line is on /admin.
	b.Eval(`window.__marker = 2; true`, nil)
	invalid := strings.Replace(valid, "kind: gauge", "kind: gauge-o-matic", 1)
	replaceFile(t, s.ConfigPath, invalid)
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body = adminGet(t, s.Base+"/admin", token)
		if strings.Contains(body, "rejected") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/admin never reported the bad edit: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	wantErr := filepath.Base(s.ConfigPath) + `:11: tile a/fresh: unknown kind &#34;gauge-o-matic&#34;`
	if !strings.Contains(body, wantErr) {
		t.Errorf("/admin does not name the problem and its line %q:\n%s", wantErr, body)
	}
	var st struct {
		Problems []string `json:"problems"`
	}
	req, _ := http.NewRequest("GET", s.Base+"/admin", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if len(st.Problems) != 1 || !strings.Contains(st.Problems[0], ":11: ") {
		t.Errorf("admin JSON problems = %q", st.Problems)
	}
	var tiles struct {
		Tiles []struct{ ID string } `json:"tiles"`
	}
	resp, err = http.Get(s.Base + "/api/v1/boards/a")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&tiles)
	resp.Body.Close()
	if len(tiles.Tiles) != 2 {
		t.Errorf("after a rejected edit the board has %d tiles, want the 2 of the running config", len(tiles.Tiles))
	}
	var marker int
	b.Eval(`window.__marker || 0`, &marker)
	if marker != 2 {
		t.Error("the screen reloaded after a rejected edit")
	}

	// Admin auth: no token, a wrong one.
	if code, _ := adminGet(t, s.Base+"/admin", ""); code != http.StatusUnauthorized {
		t.Errorf("/admin without a token: %d, want 401", code)
	}
	if code, _ := adminGet(t, s.Base+"/admin", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("/admin with a wrong token: %d, want 401", code)
	}

	// POST /api/v1/reload-screens: every screen reloads.
	post := func(tok string) int {
		req, _ := http.NewRequest("POST", s.Base+"/api/v1/reload-screens", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Errorf("reload-screens without a token: %d, want 401", code)
	}
	if marker != 2 {
		t.Fatal("screen reloaded too early")
	}
	if code := post(token); code != http.StatusOK {
		t.Fatalf("reload-screens: %d", code)
	}
	b.WaitJS(`window.__marker === undefined && window.wallboard !== undefined`, 20*time.Second)
}
