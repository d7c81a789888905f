package app

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStoreDiskFullAtStart: the disk under the store is full when the board
// starts (after a crash, a log filling the volume). It starts anyway with
// the last stored state and live values, read-only, and says so in the log,
// on /readyz and on /admin, rather than exiting into a crash loop.
func TestStoreDiskFullAtStart(t *testing.T) {
	t.Setenv("TEST_WALLBOARD_ADMIN", "admin-secret-1")
	disk := mountSmallDisk(t, 4<<20)
	cfg := filepath.Join(t.TempDir(), "board.yaml")
	writeFile(t, cfg, adminBoardYAML)
	data := filepath.Join(disk, "data")

	var log1 syncBuffer
	_, base, stop := runApp(t, cfg, data, &log1)
	first := waitOps(t, base, "first value", func(x apiTile) bool { return x.Value != nil && x.UpdatedAt != nil })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	fill(t, disk)

	var log2 syncBuffer
	a, base, stop := runApp(t, cfg, data, &log2)
	if !a.Store().ReadOnly() {
		t.Fatal("store not opened read-only on a full disk")
	}
	if !strings.Contains(log2.String(), "full") {
		t.Errorf("the log does not say the disk is full:\n%s", log2.String())
	}
	restored := getTile(t, base, "ops", "req")
	if restored.UpdatedAt == nil || restored.UpdatedAt.Before(first.UpdatedAt.Truncate(time.Millisecond)) {
		t.Errorf("stored state not shown: %+v", restored)
	}
	waitOps(t, base, "live values on a full disk", func(x apiTile) bool { return x.UpdatedAt.After(*restored.UpdatedAt) && !x.Stale })
	code, body := getStatus(t, base+"/readyz")
	t.Logf("/readyz: %d %q", code, body)
	if code != 200 || !strings.Contains(body, "store read-only") || !strings.Contains(body, "full") {
		t.Errorf("/readyz = %d %q, want 200 saying the store is read-only because the disk is full", code, body)
	}
	st := adminStatus(t, base)
	if !strings.Contains(st.Store, "read-only") || !strings.Contains(st.Store, "full") {
		t.Errorf("/admin store = %q, want it to say read-only, disk full", st.Store)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}
