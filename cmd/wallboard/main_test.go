package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, query: requests}\n"), 0o600)
	os.WriteFile(bad, []byte("sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, query: nope, interval: 2x}\n"), 0o600)

	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"check", "-config", good}, &out, &errOut); err != nil {
		t.Fatalf("check good: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "ok (1 sources, 1 boards, 1 tiles)") {
		t.Errorf("stdout = %q", out.String())
	}
	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), []string{"check", "-config", bad}, &out, &errOut); err == nil {
		t.Fatal("check bad: want an error (non-zero exit)")
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	want := []string{
		bad + `:6: tile ops/a: interval: "2x" is not a duration (use e.g. 30s, 5m, 1h, 7d)`,
		bad + `:6: tile ops/a: query: demo signal "nope" unknown`,
	}
	if len(lines) != 2 || lines[0] != want[0] || !strings.HasPrefix(lines[1], want[1]) {
		t.Errorf("stderr =\n%s\nwant lines starting\n%s", errOut.String(), strings.Join(want, "\n"))
	}
	if err := run(context.Background(), []string{"check"}, &out, &errOut); err == nil {
		t.Error("check without -config must fail")
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-config", "/no/such/board.yaml", "-addr", "127.0.0.1:0", "-data", t.TempDir()}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "/no/such/board.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunDemoPrintsURL(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, &out, &out) }()
	for !strings.Contains(out.String(), "/boards/demo") {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), "built-in DEMO") {
		t.Errorf("output does not say it is the demo: %s", out.String())
	}
}
