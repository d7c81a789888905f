// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb into
// a temporary directory, a server on a free loopback port, one fresh database
// per test. It uses Debian's PostgreSQL binaries (make test-deps installs
// them) and fails, never skips, when they are missing: the PostgreSQL store is
// part of the product and its tests run in CI.
//
// PostgreSQL refuses to run as root; when the tests run as root the cluster
// belongs to the "postgres" user (created by Debian's package) or, failing
// that, to "nobody".
//
// A package's tests share one cluster: call Main from TestMain, then URL from
// each test.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
	log  string // the server's log file
}

var (
	shared    *Cluster
	sharedErr error
	once      sync.Once
	dbSeq     atomic.Int64
)

// Main runs the package's tests and stops the shared cluster (if a test
// started one) afterwards. Use it as TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	return code
}

// URL returns the URL of a new, empty database on the shared cluster, which
// starts on first use. The database is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatalf("pgtest: %v", sharedErr)
	}
	return shared.newDatabase(t)
}

// Shared returns the package's shared cluster (starting it on first use).
func Shared(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatalf("pgtest: %v", sharedErr)
	}
	return shared
}

// bindir finds the newest installed PostgreSQL's binaries.
func bindir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(ms) == 0 {
		return "", fmt.Errorf("PostgreSQL is not installed (no initdb in PATH or /usr/lib/postgresql/*/bin): run make test-deps")
	}
	sort.Slice(ms, func(i, j int) bool { return version(ms[i]) > version(ms[j]) })
	return filepath.Dir(ms[0]), nil
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// owner is the user the cluster runs as: nil (the current user) unless that
// is root.
func owner() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root and neither a postgres nor a nobody user exists to own the cluster")
}

// freePort asks the kernel for a free loopback port. Another process may take
// it before the server binds; Start then fails with the server's log.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start initialises and starts a new cluster. The caller stops it.
func start() (*Cluster, error) {
	bin, err := bindir()
	if err != nil {
		return nil, err
	}
	cred, err := owner()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wallboard-pg-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		// The temp dir's parent (/tmp) is world-writable; the cluster's
		// own directory belongs to its user.
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	run := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, name), args...)
		c.Dir = dir
		c.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
		if cred != nil {
			c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return c
	}
	if out, err := run("initdb", "-D", data, "-U", "wallboard", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c := &Cluster{dir: dir, port: port, done: make(chan struct{}), log: filepath.Join(dir, "server.log")}
	logf, err := os.Create(c.log)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if cred != nil {
		_ = logf.Chown(int(cred.Uid), int(cred.Gid))
	}
	// fsync off: the cluster lives for one test run and is never killed
	// under a test; the store's own durability promise (2xx only after
	// COMMIT returned) does not depend on it. max_connections covers three
	// replicas with their pools and listeners plus the tests' own.
	c.cmd = run("postgres", "-D", data, "-p", strconv.Itoa(port), "-h", "127.0.0.1", "-k", dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
		"-c", "shared_buffers=32MB", "-c", "log_min_messages=warning")
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C of go test does not reach it before
	// Stop asks it to shut down.
	if c.cmd.SysProcAttr == nil {
		c.cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.cmd.SysProcAttr.Setpgid = true
	// A test binary that dies (a timeout panic, a kill) takes its cluster
	// with it; the server's own children exit when it is gone.
	c.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { c.cmd.Wait(); logf.Close(); close(c.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.adminURL())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return c, nil
		}
		select {
		case <-c.done:
			b, _ := os.ReadFile(c.log)
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres exited: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(c.log)
			c.stop()
			return nil, fmt.Errorf("postgres did not accept connections within 30 s: %v: %s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminURL is the URL of the cluster's "postgres" database (for CREATE
// DATABASE and the like).
func (c *Cluster) adminURL() string { return c.databaseURL("postgres") }

// databaseURL is the URL of database name on the cluster.
func (c *Cluster) databaseURL(name string) string {
	return fmt.Sprintf("postgres://wallboard@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// newDatabase creates an empty database, dropped when the test ends, and
// returns its URL.
func (c *Cluster) newDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	c.exec(t, "CREATE DATABASE "+name)
	t.Cleanup(func() { c.exec(t, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return c.databaseURL(name)
}

func (c *Cluster) exec(t testing.TB, sql string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.adminURL())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// Restart stops the server and starts it again on the same port and data
// (for tests of a store that must ride out a PostgreSQL restart). down is
// called while the server is stopped.
func (c *Cluster) Restart(down func()) error {
	args := c.cmd.Args
	env := c.cmd.Env
	attr := c.cmd.SysProcAttr
	c.stop0(false)
	if down != nil {
		down()
	}
	logf, err := os.OpenFile(c.log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	c.done = make(chan struct{})
	c.cmd = exec.Command(args[0], args[1:]...)
	c.cmd.Dir, c.cmd.Env, c.cmd.SysProcAttr = c.dir, env, attr
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	done := c.done
	go func() { c.cmd.Wait(); logf.Close(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.adminURL())
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("postgres did not come back within 30 s")
}

// stop shuts the server down (fast shutdown: open sessions are ended) and
// removes its files.
func (c *Cluster) stop() { c.stop0(true) }

// stop0 shuts the server down; remove also deletes its files.
func (c *Cluster) stop0(remove bool) {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-c.done:
		case <-time.After(20 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	if remove {
		os.RemoveAll(c.dir)
	}
}

// logText is what the server has logged so far (for failure messages).
func (c *Cluster) logText() string {
	b, _ := os.ReadFile(c.log)
	return strings.TrimSpace(string(b))
}
