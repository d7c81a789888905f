package app

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const adminBoardYAML = boardYAML + "admin:\n  token: {env: TEST_WALLBOARD_ADMIN}\n"

type adminState struct {
	Problems []string
	Store    string
}

// adminProblems reads the problems /admin shows about the config.
func adminProblems(t *testing.T, base string) []string { return adminStatus(t, base).Problems }

// adminStatus reads what /admin shows.
func adminStatus(t *testing.T, base string) adminState {
	t.Helper()
	r, _ := http.NewRequest("GET", base+"/admin", nil)
	r.Header.Set("Authorization", "Bearer admin-secret-1")
	r.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st adminState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/admin: %d: %v", resp.StatusCode, err)
	}
	return st
}

// TestReloadRefusesExplodingConfigs: an alias bomb or a deeply nested file
// saved over the live config is refused without being expanded or parsed;
// the previous config keeps running and /admin says why, with the line.
func TestReloadRefusesExplodingConfigs(t *testing.T) {
	t.Setenv("TEST_WALLBOARD_ADMIN", "admin-secret-1")
	bomb := func() string {
		var b strings.Builder
		b.WriteString(adminBoardYAML + "      - id: boom\n        kind: stat\n        source: demo\n        query:\n")
		b.WriteString(`          l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
		for i := 1; i < 9; i++ {
			ref := "*l" + string(rune('0'+i-1))
			b.WriteString("          l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [" + strings.Repeat(ref+",", 8) + ref + "]\n")
		}
		b.WriteString("        title: *l8\n")
		return b.String()
	}()
	// The tile list of boardYAML ends the boards: section, so the bomb's
	// tile lands in board ops; admin: sits between, which YAML allows.
	bomb = strings.Replace(bomb, "admin:\n  token: {env: TEST_WALLBOARD_ADMIN}\n", "", 1) + "admin:\n  token: {env: TEST_WALLBOARD_ADMIN}\n"
	deep := adminBoardYAML + "playlists:\n  - id: p\n    boards: " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"alias bomb", bomb, "board.yaml:18: aliases expand the config beyond 10000 values"},
		{"deep nesting", deep, "board.yaml:14: nested more than 32 levels deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "board.yaml")
			writeFile(t, cfg, adminBoardYAML)
			var log syncBuffer
			_, base, _ := start(t, Options{ConfigPath: cfg, DataDir: filepath.Join(dir, "data"), Logger: slog.New(slog.NewTextHandler(&log, nil))}, "")
			first := waitOps(t, base, "first value", func(x apiTile) bool { return x.UpdatedAt != nil })

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			writeFile(t, cfg, tc.yaml)
			var problems []string
			deadline := time.Now().Add(20 * time.Second)
			for len(problems) == 0 && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				problems = adminProblems(t, base)
			}
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: %d KiB allocated while the reload was refused; /admin: %q", tc.name, alloc>>10, problems)
			got := strings.ReplaceAll(strings.Join(problems, "\n"), cfg, "board.yaml")
			if !strings.Contains(got, tc.want) {
				t.Errorf("/admin problems = %q, want %q", got, tc.want)
			}
			if alloc > 100<<20 {
				t.Errorf("the server allocated %d MiB refusing the file, want under 100 MiB", alloc>>20)
			}
			if !strings.Contains(log.String(), "config reload rejected") {
				t.Errorf("the log does not say the reload was rejected:\n%s", log.String())
			}
			// The previous config keeps running: its tile keeps getting values.
			waitOps(t, base, "live values after the refused reload", func(x apiTile) bool { return x.UpdatedAt.After(*first.UpdatedAt) })
		})
	}
}
