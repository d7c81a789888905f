package app

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The source kinds `wallboard check` knows (LoadConfig is what it runs)
// are exactly the kinds the app can build: a kind check accepts but the app
// cannot build would pass check and fail at start, and a kind the app builds
// but check refuses could never be configured.
func TestSourceKindsCheckEqualsBuild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	cfg := "sources:\n  - {id: x, kind: no-such-kind}\nboards:\n  - id: b\n    tiles:\n      - {id: t, kind: stat, source: x}\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	m := regexp.MustCompile(`unknown kind "no-such-kind" \(known: ([^)]*)\)`).FindStringSubmatch(errString(err))
	if m == nil {
		t.Fatalf("check does not refuse an unknown source kind with the known list: %v", err)
	}
	checked := strings.Split(m[1], ", ")
	var built []string
	for kind, k := range sourceKinds {
		if k.New != nil {
			built = append(built, kind)
		}
	}
	slices.Sort(checked)
	slices.Sort(built)
	if !slices.Equal(checked, built) {
		t.Errorf("check knows %q, the app builds %q", checked, built)
	}
	// And each kind check knows gets past check's kind rule.
	for _, kind := range checked {
		if err := os.WriteFile(path, []byte(strings.Replace(cfg, "no-such-kind", kind, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(path); err != nil && strings.Contains(err.Error(), "unknown kind") {
			t.Errorf("kind %s: %v", kind, err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
