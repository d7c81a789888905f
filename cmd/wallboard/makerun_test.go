package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app/apptest/runtest"
)

// TestMakeRunCtrlC runs `make run` as a newcomer does, in its own process
// group like a terminal's foreground job: it says it is building before the
// build, prints the board's URL, and Ctrl-C (SIGINT to the whole group) ends
// it with no make error.
func TestMakeRunCtrlC(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make not found")
	}
	addr := runtest.FreeAddr(t)
	cmd := exec.Command("make", "run", "ADDR="+addr, "DATA="+t.TempDir(),
		"BIN="+filepath.Join(t.TempDir(), "wallboard"))
	cmd.Dir = "../.."
	// As typed in a terminal: not a sub-make of `make test` (whose
	// MAKELEVEL would make it print "Entering directory" first).
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKELEVEL" && k != "MAKEFLAGS" && k != "MFLAGS" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(out.String(), "Wallboard: open http://"+addr) {
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("no URL within 5 min; output:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("make run ended before printing the URL: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	first := strings.SplitN(out.String(), "\n", 2)[0]
	if !strings.Contains(strings.ToLower(first), "building") {
		t.Errorf("first line of make run is %q, want it to say it is building", first)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("make run still running 30 s after Ctrl-C")
	}
	// make itself receives the SIGINT and ends by it (as any foreground job
	// does); what it must not do is report an error of the recipe.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGINT) {
		t.Errorf("make run ended with %v, want exit 0 or the SIGINT itself", err)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "make: ***") || strings.Contains(sc.Text(), "exit status") {
			t.Errorf("make run printed %q after Ctrl-C", sc.Text())
		}
	}
	t.Logf("make run output:\n%s", out.String())
}

// TestInterruptExitsZero: the binary ends with status 0 on SIGINT (Ctrl-C
// is how a board run by hand is stopped, not a failure).
func TestInterruptExitsZero(t *testing.T) {
	bin := buildBinary(t)
	addr := runtest.FreeAddr(t)
	cmd := exec.Command(bin, "-addr", addr, "-data", t.TempDir())
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Wallboard: open") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no URL within 30 s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("wallboard after SIGINT: %v, want exit 0\n%s", err, out.String())
	}
}
