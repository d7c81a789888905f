package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountSmallDisk mounts a tmpfs of size bytes at a new directory (root
// only: CI runs as root) and unmounts it when the test ends.
func mountSmallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a small tmpfs to fill up needs root (as in CI): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file until the disk is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return path
		}
	}
}

// TestStoreDiskFull: the disk under the store fills up. Webhooks that can
// no longer be stored get 503 (every 200 given is really stored), live
// values keep flowing, nothing crashes, and once space is freed deliveries
// are stored again.
func TestStoreDiskFull(t *testing.T) {
	t.Setenv("TEST_EVENTS_SECRET", "ev-secret")
	disk := mountSmallDisk(t, 4<<20)
	cfg := filepath.Join(t.TempDir(), "board.yaml")
	writeFile(t, cfg, eventsYAML)
	var log syncBuffer
	a, base, stop := start(t, Options{ConfigPath: cfg, DataDir: filepath.Join(disk, "data"), Logger: slog.New(slog.NewTextHandler(&log, nil))}, "")
	waitOps(t, base, "first value", func(x apiTile) bool { return x.UpdatedAt != nil })

	filler := fill(t, disk)
	note := strings.Repeat("n", 900)
	acked := map[string]bool{}
	refused := 0
	for i := 0; i < 3000 && refused < 3; i++ {
		id := fmt.Sprintf("full-%04d", i)
		code, body := post(t, base+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"`+id+`","note":"`+note+`"}`)
		switch code {
		case 200:
			acked[id] = true
		case 503:
			refused++
		default:
			t.Fatalf("ping on a full disk: %d %q", code, body)
		}
	}
	if refused == 0 {
		t.Fatalf("3000 deliveries of 1 KB fitted on a full 4 MiB disk: the disk never filled")
	}
	if !strings.Contains(log.String(), "full") {
		t.Errorf("the log does not say the disk is full:\n%s", log.String())
	}
	// Live values keep flowing.
	x := getTile(t, base, "ops", "req")
	waitOps(t, base, "live values on a full disk", func(y apiTile) bool { return y.UpdatedAt.After(*x.UpdatedAt) && !y.Stale })

	// Space again: deliveries are stored again, and every acknowledged one is there once.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, base+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"after"}`); code != 200 {
		t.Errorf("ping after freeing space: %d %q", code, body)
	}
	acked["after"] = true
	rows, err := a.Store().DB.QueryContext(context.Background(), `SELECT delivery_id, count(*) FROM pings GROUP BY delivery_id`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		rows.Scan(&id, &n)
		stored[id] = n
	}
	rows.Close()
	for id := range acked {
		if stored[id] != 1 {
			t.Errorf("%s acknowledged but stored %d times", id, stored[id])
		}
	}
	if len(stored) != len(acked) {
		t.Errorf("%d deliveries stored, %d acknowledged", len(stored), len(acked))
	}
	t.Logf("%d deliveries stored before the disk was full, %d refused with 503", len(acked)-1, refused)
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
}
