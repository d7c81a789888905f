package app

import (
	"log/slog"
	"os"
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
	_, base, stop := start(t, Options{ConfigPath: cfg, DataDir: data, Logger: slog.New(slog.NewTextHandler(&log1, nil))}, "")
	first := waitOps(t, base, "first value", func(x apiTile) bool { return x.Value != nil && x.UpdatedAt != nil })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	fill(t, disk)

	var log2 syncBuffer
	a, base, stop := start(t, Options{ConfigPath: cfg, DataDir: data, Logger: slog.New(slog.NewTextHandler(&log2, nil))}, "")
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

// TestStoreRecoversWithoutRestart: a store opened read-only because the disk
// was full becomes writable again once there is room, without a restart:
// webhooks are stored again and /readyz and /admin say ok.
func TestStoreRecoversWithoutRestart(t *testing.T) {
	t.Setenv("TEST_WALLBOARD_ADMIN", "admin-secret-1")
	t.Setenv("TEST_EVENTS_SECRET", "ev-secret")
	disk := mountSmallDisk(t, 4<<20)
	cfg := filepath.Join(t.TempDir(), "board.yaml")
	writeFile(t, cfg, eventsYAML+"admin:\n  token: {env: TEST_WALLBOARD_ADMIN}\n")
	data := filepath.Join(disk, "data")
	var log1 syncBuffer
	_, base, stop := start(t, Options{ConfigPath: cfg, DataDir: data, Logger: slog.New(slog.NewTextHandler(&log1, nil))}, "")
	waitOps(t, base, "first value", func(x apiTile) bool { return x.UpdatedAt != nil })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	filler := fill(t, disk)

	var log2 syncBuffer
	a, base, _ := start(t, Options{ConfigPath: cfg, DataDir: data, Logger: slog.New(slog.NewTextHandler(&log2, nil))}, "")
	if !a.Store().ReadOnly() {
		t.Fatal("store not opened read-only on a full disk")
	}
	if code, body := post(t, base+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"while-full"}`); code != 503 {
		t.Errorf("ping on a full disk: %d %q, want 503", code, body)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	code, body := 0, ""
	for time.Now().Before(deadline) {
		if code, body = post(t, base+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"after-room"}`); code == 200 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if code != 200 || !strings.Contains(body, `"stored":true`) {
		t.Fatalf("ping after freeing space: %d %q, want 200 stored (without a restart)", code, body)
	}
	if a.Store().ReadOnly() {
		t.Error("the store still says read-only")
	}
	if code, body := getStatus(t, base+"/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("/readyz after recovery = %d %q, want ok", code, body)
	}
	if st := adminStatus(t, base); st.Store != "" {
		t.Errorf("/admin store after recovery = %q, want empty", st.Store)
	}
	if !strings.Contains(log2.String(), "store is writable again") {
		t.Errorf("the log does not say the store recovered:\n%s", log2.String())
	}
}
