package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// aliasBombYAML is a valid-looking board whose tile query hides a
// "billion laughs" (9 levels of 9 aliases each) and whose title names its
// top: go-yaml expands it in full to turn it into text (9^9 values).
func aliasBombYAML() string {
	var b strings.Builder
	b.WriteString("sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - id: a\n        kind: stat\n        source: d\n        query:\n")
	b.WriteString(`          l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n")
	for i := 1; i < 9; i++ {
		ref := "*l" + string(rune('0'+i-1))
		b.WriteString("          l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [" + strings.Repeat(ref+",", 8) + ref + "]\n")
	}
	b.WriteString("        title: *l8\n")
	return b.String()
}

// deepYAML nests 50,000 flow sequences in a tile's title (100 KB).
func deepYAML() string {
	return "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - id: a\n        kind: stat\n        source: d\n        title: " +
		strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "\n"
}

// checkBounded runs `wallboard check` on content and returns its stderr and
// the bytes allocated meanwhile.
func checkBounded(t *testing.T, content string) (string, uint64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "board.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := run(context.Background(), []string{"check", "-config", path}, &out, &errOut)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatalf("check accepted it: %s", out.String())
	}
	return strings.ReplaceAll(errOut.String(), path, "board.yaml"), after.TotalAlloc - before.TotalAlloc
}

// TestCheckAliasBomb: a 700-byte alias bomb is refused before it is
// expanded, with the line of the alias that crosses the limit.
func TestCheckAliasBomb(t *testing.T) {
	stderr, alloc := checkBounded(t, aliasBombYAML())
	t.Logf("alias bomb: %d KiB allocated; stderr: %s", alloc>>10, stderr)
	want := "board.yaml:14: aliases expand the config beyond 10000 values"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", stderr, want)
	}
	if alloc > 100<<20 {
		t.Errorf("check allocated %d MiB on a 700-byte file, want under 100 MiB", alloc>>20)
	}
}

// TestCheckDeepNesting: 50,000 nested brackets are refused by a pre-scan,
// never handed to the parser (whose time grows with the square of the depth).
func TestCheckDeepNesting(t *testing.T) {
	stderr, alloc := checkBounded(t, deepYAML())
	t.Logf("deep nesting: %d KiB allocated; stderr: %s", alloc>>10, stderr)
	want := "board.yaml:9: nested more than 32 levels deep"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", stderr, want)
	}
	if alloc > 100<<20 {
		t.Errorf("check allocated %d MiB, want under 100 MiB", alloc>>20)
	}
}

// TestCheckTooLarge: a config over 1 MiB is refused without being parsed.
func TestCheckTooLarge(t *testing.T) {
	big := "sources:\n  - {id: d, kind: demo}\n" + strings.Repeat("# padding padding padding padding\n", 40000)
	stderr, _ := checkBounded(t, big)
	want := "board.yaml: 1360033 bytes: a config file may be at most 1048576 bytes (1 MiB)"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", stderr, want)
	}
}

// TestCheckListWhereScalarExpected: a list given for a single value is
// refused with its line, in words a user understands.
func TestCheckListWhereScalarExpected(t *testing.T) {
	stderr, _ := checkBounded(t, "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    title: [a, b]\n    tiles:\n      - {id: a, kind: stat, source: d, query: requests}\n")
	want := "board.yaml:5: boards.title: a list where a single value is expected"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", stderr, want)
	}
}

// checkOutput runs `wallboard check` with args (files named by their base
// name in the output) and returns stdout, stderr and whether it failed.
func checkOutput(t *testing.T, dir string, args ...string) (string, string, bool) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"check"}, args...), &out, &errOut)
	clean := func(s string) string { return strings.ReplaceAll(s, dir+string(filepath.Separator), "") }
	return clean(out.String()), clean(errOut.String()), err != nil
}

// TestCheckRefusesInlineSecrets: every way of writing a credential into the
// config is refused with its line, all in one run, and no message repeats
// the secret.
func TestCheckRefusesInlineSecrets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "board.yaml")
	os.WriteFile(path, []byte(`sources:
  - id: p
    kind: prometheus
    url: https://prom.example/api?access_token=tok-in-url-1
  - {id: q, kind: prometheus, url: "https://prom.example", token: tok-flow-2}
  - id: r
    kind: prometheus
    url: https://prom.example
    headers: {Authorization: "Bearer tok-header-3", X-Scope-OrgID: team-a}
  - id: s
    kind: alertmanager
    url: https://admin:pw-userinfo-4@am.example
boards:
  - id: ops
    tiles:
      - {id: a, kind: stat, source: p, query: up}
`), 0o600)
	_, stderr, failed := checkOutput(t, dir, "-config", path)
	if !failed {
		t.Fatal("check accepted inline secrets")
	}
	for _, want := range []string{
		"board.yaml:4: sources.url: the URL carries a credential in its query (access_token=…)",
		"board.yaml:5: sources.token: secrets are never written in the config: use {env: VARIABLE} or {file: /path}",
		`board.yaml:9: sources.headers: "Authorization" carries a credential`,
		"board.yaml:12: sources.url: the URL has a password in it (user:password@)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, secret := range []string{"tok-in-url-1", "tok-flow-2", "tok-header-3", "pw-userinfo-4"} {
		if strings.Contains(stderr, secret) {
			t.Errorf("check printed the secret %q:\n%s", secret, stderr)
		}
	}
}

// TestCheckSeveralFilesEveryProblem: check takes several files (-config
// repeated and arguments) and reports every problem of each in one run,
// including secret references whose variable or file is missing.
func TestCheckSeveralFilesEveryProblem(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, query: requests}\n")
	bad := write("bad.yaml", `sources:
  - id: p
    kind: prometheus
    colour: red
    url: https://prom.example
    token: hunter2
  - id: q
    kind: prometheus
    url: https://prom.example
    token: {env: WB_TEST_NO_SUCH_VARIABLE}
    basic_auth: {username: ana, password: {file: /no/such/password}}
boards:
  - id: ops
    size: big
    tiles:
      - {id: a, kind: stat, source: p, query: up, interval: 2x}
`)
	other := write("other.yaml", "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, query: requests, colour: blue}\n")
	stdout, stderr, failed := checkOutput(t, dir, "-config", good, "-config", bad, other)
	if !failed {
		t.Fatal("check of bad files succeeded")
	}
	if !strings.Contains(stdout, "good.yaml: ok (1 sources, 1 boards, 1 tiles)") {
		t.Errorf("stdout = %q, want good.yaml ok", stdout)
	}
	for _, want := range []string{
		`bad.yaml:4: unknown key "colour"`,
		"bad.yaml:6: sources.token: secrets are never written in the config",
		"bad.yaml:10: sources.token: environment variable WB_TEST_NO_SUCH_VARIABLE is not set",
		"bad.yaml:11: sources.basic_auth.password: secret file: open /no/such/password: no such file or directory",
		`bad.yaml:14: unknown key "size"`,
		`bad.yaml:16: tile ops/a: interval: "2x" is not a duration`,
		`other.yaml:6: unknown key "colour"`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("stderr repeats the inline secret:\n%s", stderr)
	}
}

// TestHelpAndVersion: -h exits 0 and lists the subcommands; version says
// which build this is.
func TestHelpAndVersion(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{arg}, &out, &errOut); err != nil {
			t.Errorf("wallboard %s: %v (want exit 0)", arg, err)
		}
		text := out.String() + errOut.String()
		for _, sub := range []string{"check", "screen-link", "version", "-config", "-addr", "-data"} {
			if !strings.Contains(text, sub) {
				t.Errorf("wallboard %s does not mention %q:\n%s", arg, sub, text)
			}
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &errOut); err != nil {
		t.Fatalf("version: %v %s", err, errOut.String())
	}
	v := out.String()
	t.Logf("wallboard version: %s", v)
	if !strings.HasPrefix(v, "wallboard ") || !strings.Contains(v, runtime.Version()) || !strings.Contains(v, "build ") {
		t.Errorf("version printed %q, want \"wallboard VERSION (build ID, GO VERSION)\"", v)
	}
}

// TestCheckStore: check reports each problem of a store: section with its
// line: an unknown scheme, a password written in the URL (never echoed), a
// URL the PostgreSQL driver refuses, a password variable or file missing.
func TestCheckStore(t *testing.T) {
	dir := t.TempDir()
	const board = "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, query: requests}\n"
	cases := []struct{ store, want string }{
		{"store:\n  url: mysql://wb@db/wb\n", `board.yaml:8: store.url: scheme "mysql": give postgres:// or postgresql://`},
		{"store:\n  url: postgres://wb:pw-in-url-5@db/wb\n", "board.yaml:8: store.url: a password written in the URL"},
		{"store:\n  url: postgres://wb@db/wb?sslmode=bogus\n", "board.yaml:8: store.url: cannot parse"},
		{"store:\n  url: postgres://wb@db/wb\n  password: {env: WB_TEST_UNSET_PG_PASSWORD}\n", "board.yaml:9: store.password: environment variable WB_TEST_UNSET_PG_PASSWORD is not set"},
		{"store:\n  url: postgres://wb@db/wb\n  password: {file: /nonexistent/pg-password}\n", "board.yaml:9: store.password: secret file: open /nonexistent/pg-password"},
		{"store:\n  password: {env: PGPASSWORD}\n", "board.yaml:7: store.url is missing"},
	}
	for i, c := range cases {
		path := filepath.Join(dir, "board.yaml")
		os.WriteFile(path, []byte(board+c.store), 0o600)
		_, stderr, failed := checkOutput(t, dir, path)
		if !failed || !strings.Contains(stderr, c.want) {
			t.Errorf("case %d: failed=%v, stderr lacks %q:\n%s", i, failed, c.want, stderr)
		}
		if strings.Contains(stderr, "pw-in-url-5") {
			t.Errorf("case %d: check printed the password:\n%s", i, stderr)
		}
	}
	path := filepath.Join(dir, "board.yaml")
	os.WriteFile(path, []byte(board+"store:\n  url: postgres://wallboard@/wallboard?host=/cloudsql/proj:europe-west1:db\n  password: {env: HOME}\n"), 0o600)
	if out, stderr, failed := checkOutput(t, dir, path); failed {
		t.Errorf("a Cloud SQL socket URL was refused: %s %s", out, stderr)
	}
}
