package app

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the app's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitOps(t *testing.T, base string, what string, cond func(apiTile) bool) apiTile {
	t.Helper()
	var last apiTile
	eventually(t, 15*time.Second, what, func() (bool, string) {
		last = getTile(t, base, "ops", "req")
		return cond(last), fmt.Sprintf("tile is %+v", last)
	})
	return last
}

// makeReadOnly makes files and directories unwritable, even for root
// (chattr +i), and undoes it when the test ends.
func makeReadOnly(t *testing.T, paths ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			mode := os.FileMode(0o444)
			if fi.IsDir() {
				mode = 0o555
			}
			os.Chmod(p, mode)
			t.Cleanup(func() { os.Chmod(p, fi.Mode()) })
		}
		return
	}
	if out, err := exec.Command("chattr", append([]string{"+i"}, paths...)...).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i (e2fsprogs; run make test-deps): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", append([]string{"-i"}, paths...)...).Run() })
}

func storeErrors(t *testing.T, base string) int {
	t.Helper()
	code, body := getStatus(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	m := regexp.MustCompile(`(?m)^wallboard_store_errors_total (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no wallboard_store_errors_total in /metrics")
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	return int(n)
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}

// TestStoreReadOnly: the database file and its directory became read-only
// (a restore with wrong permissions, a read-only mount). The board starts,
// says why in the log, shows the stored state and then live values, refuses
// webhooks with 503 rather than acknowledging what it cannot store, and
// does not crash.
func TestStoreReadOnly(t *testing.T) {
	t.Setenv("TEST_EVENTS_SECRET", "ev-secret")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "board.yaml")
	writeFile(t, cfg, eventsYAML)
	data := filepath.Join(dir, "data")

	var log1 syncBuffer
	_, base, stop := start(t, Options{ConfigPath: cfg, DataDir: data, Logger: slog.New(slog.NewTextHandler(&log1, nil))}, "")
	first := waitOps(t, base, "first value", func(x apiTile) bool { return x.Value != nil && x.UpdatedAt != nil })
	if code, body := post(t, base+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"before"}`); code != 200 {
		t.Fatalf("ping before: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	db := filepath.Join(data, "wallboard.db")
	makeReadOnly(t, db, data)
	var log2 syncBuffer
	a, base, stop := start(t, Options{ConfigPath: cfg, DataDir: data, Logger: slog.New(slog.NewTextHandler(&log2, nil))}, "")
	if !a.Store().ReadOnly() {
		t.Fatal("store not opened read-only")
	}
	if !strings.Contains(log2.String(), "is read-only (") {
		t.Errorf("log does not say the store is read-only:\n%s", log2.String())
	}
	// Stored state first, then live values keep coming.
	restored := getTile(t, base, "ops", "req")
	if restored.UpdatedAt == nil || restored.UpdatedAt.Before(first.UpdatedAt.Truncate(time.Millisecond)) {
		t.Errorf("stored state not shown: %+v", restored)
	}
	x := waitOps(t, base, "live values with a read-only store", func(x apiTile) bool {
		return x.UpdatedAt != nil && restored.UpdatedAt != nil && x.UpdatedAt.After(*restored.UpdatedAt) && !x.Stale
	})
	waitOps(t, base, "more live values", func(y apiTile) bool { return y.UpdatedAt.After(*x.UpdatedAt) })
	code, body := post(t, base+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"during"}`)
	if code != 503 || !strings.Contains(body, "store unavailable") {
		t.Errorf("ping with a read-only store: %d %q, want 503", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for storeErrors(t, base) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if storeErrors(t, base) == 0 {
		t.Error("failed tile saves are not counted in wallboard_store_errors_total")
	}
	if n := strings.Count(log2.String(), "saving tile state failed"); n != 1 {
		t.Errorf("the save failure is logged %d times, want once per outage", n)
	}
	if err := stop(); err != nil {
		t.Errorf("stop with a read-only store: %v", err)
	}
}

// TestStoreLocked: another process holds the write lock. Webhooks answer
// 503 after the busy timeout (nothing acknowledged), live values keep
// flowing, and everything works again once the lock is gone.
func TestStoreLocked(t *testing.T) {
	t.Setenv("TEST_EVENTS_SECRET", "ev-secret")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "board.yaml")
	writeFile(t, cfg, eventsYAML)
	data := filepath.Join(dir, "data")
	var log syncBuffer
	_, base, _ := start(t, Options{ConfigPath: cfg, DataDir: data, Logger: slog.New(slog.NewTextHandler(&log, nil))}, "")
	x := waitOps(t, base, "first value", func(x apiTile) bool { return x.UpdatedAt != nil })

	other, err := sql.Open("sqlite", "file:"+filepath.Join(data, "wallboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO deliveries VALUES ('lock', 'x', 0)"); err != nil {
		t.Fatal(err)
	}
	code, body := post(t, base+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"locked"}`)
	if code != 503 {
		t.Errorf("ping while locked: %d %q, want 503", code, body)
	}
	if !strings.Contains(log.String(), "locked") {
		t.Errorf("log does not name the lock:\n%s", log.String())
	}
	// Live values flowed meanwhile.
	y := getTile(t, base, "ops", "req")
	if y.UpdatedAt == nil || !y.UpdatedAt.After(*x.UpdatedAt) || y.Stale {
		t.Errorf("live values stopped while the store was locked: %+v then %+v", x, y)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, base+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"locked"}`); code != 200 || !strings.Contains(body, `"stored":true`) {
		t.Errorf("ping after the lock: %d %q, want 200 stored", code, body)
	}
}
