package app

import (
	"log/slog"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

// TestMetricsBuildInfo: /metrics says which build runs, with the build id
// the page carries in its wb-build meta and `wallboard version` prints.
func TestMetricsBuildInfo(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "board.yaml")
	writeFile(t, cfg, boardYAML)
	var log syncBuffer
	_, base, _ := start(t, Options{ConfigPath: cfg, DataDir: filepath.Join(dir, "data"), Logger: slog.New(slog.NewTextHandler(&log, nil))}, "")
	code, body := getStatus(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	m := regexp.MustCompile(`(?m)^wallboard_build_info\{build="([^"]+)",goversion="([^"]+)",version="([^"]+)"\} 1$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no wallboard_build_info gauge in /metrics:\n%.2000s", body)
	}
	if m[1] != buildID() || m[2] != runtime.Version() {
		t.Errorf("build_info = %q, want build %q and %s", m[0], buildID(), runtime.Version())
	}
	_, page := getStatus(t, base+"/boards/ops")
	if !regexp.MustCompile(`<meta name="wb-build" content="` + regexp.QuoteMeta(buildID()) + `"`).MatchString(page) {
		t.Errorf("the page does not carry the build id %q", buildID())
	}
}
