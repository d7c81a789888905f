package board

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const validConfig = `
sources:
  - id: demo
    kind: demo
boards:
  - id: ops
    title: Operations
    columns: 4
    tiles:
      - id: rps
        kind: stat
        title: Requests
        source: demo
        query: requests
        interval: 10s
        thresholds: {warn: 100, critical: 200}
      - id: p99
        kind: timeseries
        source: demo
        query: latency_p99
        range: 2h
        thresholds: {warn: 0.5, critical: 0.2, direction: lower-is-worse}
`

func TestParseValid(t *testing.T) {
	cfg, err := Parse("board.yaml", []byte(validConfig), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := len(cfg.Boards[0].Tiles); got != 2 {
		t.Fatalf("tiles = %d, want 2", got)
	}
	tile := cfg.Boards[0].Tiles[0]
	if tile.Line != 10 {
		t.Errorf("tile line = %d, want 10", tile.Line)
	}
	if tile.Interval != 10*time.Second || tile.Freshness != 30*time.Second || tile.Range != defaultRange {
		t.Errorf("interval, freshness, range = %v, %v, %v; want 10s, 3 × 10s, the default", tile.Interval, tile.Freshness, tile.Range)
	}
	q, err := QueryOf(cfg.Boards[0].Tiles[1])
	if err != nil || q.Range != 2*time.Hour || q.Text != "latency_p99" {
		t.Errorf("QueryOf = %+v, %v", q, err)
	}
}

// TestParseProblems pins the exact messages a user sees from `wallboard check`.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "unknown key",
			yaml: "sources:\n  - id: demo\n    kind: demo\n    colour: red\nboards: []\n",
			want: []string{`b.yaml:4: unknown key "colour"`},
		},
		{
			name: "unknown tile kind and source",
			yaml: "sources:\n  - id: demo\n    kind: demo\nboards:\n  - id: ops\n    tiles:\n      - id: a\n        kind: pie\n        source: nope\n",
			want: []string{
				`b.yaml:7: tile ops/a: unknown kind "pie" (known: stat, timeseries, gauge, bar, list`,
				`b.yaml:7: tile ops/a: unknown source "nope"`,
			},
		},
		{
			name: "unknown source kind",
			yaml: "sources:\n  - id: x\n    kind: influx\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: x}\n",
			want: []string{`b.yaml:2: source "x": unknown kind "influx" (known: demo, prometheus)`},
		},
		{
			name: "bad durations",
			yaml: "sources:\n  - id: d\n    kind: demo\n    timeout: soon\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, interval: 5 minutes, freshness: -1s}\n",
			want: []string{
				`b.yaml:2: source "d": timeout: "soon" is not a duration (use e.g. 30s, 5m, 1h, 7d)`,
				`b.yaml:8: tile ops/a: interval: "5 minutes" is not a duration (use e.g. 30s, 5m, 1h, 7d)`,
				`b.yaml:8: tile ops/a: freshness: "-1s" is negative`,
			},
		},
		{
			name: "freshness below interval",
			yaml: "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, interval: 1m, freshness: 30s}\n",
			want: []string{`b.yaml:6: tile ops/a: freshness 30s is shorter than the interval 1m0s: the tile would always be stale`},
		},
		{
			name: "thresholds in the wrong order",
			yaml: "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, thresholds: {warn: 5, critical: 1}}\n      - {id: b, kind: stat, source: d, thresholds: {warn: 1, critical: 5, direction: lower-is-worse}}\n      - {id: c, kind: stat, source: d, thresholds: {direction: up}}\n",
			want: []string{
				`b.yaml:6: tile ops/a: thresholds: with higher-is-worse, warn (5) must be below critical (1)`,
				`b.yaml:7: tile ops/b: thresholds: with lower-is-worse, warn (1) must be above critical (5)`,
				`b.yaml:8: tile ops/c: thresholds: direction "up": use higher-is-worse or lower-is-worse`,
			},
		},
		{
			name: "duplicate ids",
			yaml: "sources:\n  - {id: d, kind: demo}\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d}\n      - {id: a, kind: stat, source: d}\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d}\n",
			want: []string{
				`b.yaml:3: duplicate source id "d" (first on line 2)`,
				`b.yaml:8: duplicate tile id "a" in board "ops" (first on line 7)`,
				`b.yaml:9: duplicate board id "ops" (first on line 5)`,
			},
		},
		{
			name: "secret written inline",
			yaml: "sources:\n  - id: p\n    kind: prometheus\n    token: hunter2\nboards: []\n",
			want: []string{`b.yaml:4: sources.token: secrets are never written in the config: use {env: VARIABLE} or {file: /path}`},
		},
		{
			name: "secret reference without env or file",
			yaml: "sources:\n  - id: p\n    kind: prometheus\n    token: {}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: p}\n",
			want: []string{`b.yaml:2: source "p": token: give env: VARIABLE or file: /path (secrets are never written in the config)`},
		},
		{
			name: "no boards",
			yaml: "sources:\n  - {id: d, kind: demo}\n",
			want: []string{`b.yaml: no boards: add at least one under boards:`},
		},
		{
			name: "syntax error",
			yaml: "sources:\n  - id: d\n   kind: demo\n",
			want: []string{`b.yaml:3: `},
		},
		{
			name: "source id reserved for a webhook feed",
			yaml: "sources:\n  - {id: cloudmonitoring, kind: gcm, project: p}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: cloudmonitoring}\n",
			want: []string{`b.yaml:2: source id "cloudmonitoring" is reserved for the alerts its webhook receiver stores; choose another`},
		},
		{
			name: "basic auth on a receiver that does not read it",
			yaml: "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d}\nwebhooks:\n  alertmanager:\n    basic_auth: {username: am, password: {env: AM_PW}}\n",
			want: []string{`webhooks.alertmanager.basic_auth: only the cloudmonitoring receiver takes basic auth; give secret: instead`},
		},
		{
			name: "span wider than the board",
			yaml: "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    columns: 2\n    tiles:\n      - {id: a, kind: stat, source: d, span: 3}\n",
			want: []string{`b.yaml:7: tile ops/a: span 3: use 1 to 2`},
		},
		{
			name: "bad ids",
			yaml: "sources:\n  - {id: D B, kind: demo}\nboards:\n  - id: Ops!\n    tiles:\n      - {id: a, kind: stat, source: D B}\n",
			want: []string{
				`b.yaml:2: source id "D B": use lower-case letters, digits, - and _`,
				`b.yaml:4: board id "Ops!": use lower-case letters, digits, - and _`,
			},
		},
		{
			name: "missing ids",
			yaml: "sources:\n  - {kind: demo}\nboards:\n  - title: Ops\n    tiles:\n      - {id: a, kind: stat, source: d}\n",
			want: []string{`b.yaml: source without id`, `b.yaml: board without id`},
		},
		{
			name: "playlist retro entries",
			yaml: "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d}\nplaylists:\n  - id: lobby\n    boards:\n      - ops\n      - ops/retro\n      - sales/retro\n      - ops/standup\n",
			want: []string{
				`b.yaml:12: playlist "lobby": unknown board "sales"`,
				`b.yaml:13: playlist "lobby": "ops/standup": unknown view "standup" of board "ops" (use ops or ops/retro)`,
			},
		},
		{
			name: "board retro and benchmarks",
			yaml: "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    retro: {period: 12h, refresh: 1s}\n    benchmarks: dora-2019\n    tiles:\n      - {id: a, kind: stat, source: d}\n  - id: web\n    retro: {period: soon, refresh: 2h}\n    tiles:\n      - {id: a, kind: stat, source: d}\n",
			want: []string{
				`b.yaml:4: board "ops": retro: period 12h: use 1d to 90d`,
				`b.yaml:4: board "ops": retro: refresh 1s: use 2s to 1h`,
				`b.yaml:4: board "ops": benchmarks "dora-2019": use dora-2024 or none`,
				`b.yaml:9: board "web": retro: period: "soon" is not a duration`,
				`b.yaml:9: board "web": retro: refresh 2h: use 2s to 1h`,
			},
		},
		{
			name: "playlist naming an unknown board",
			yaml: "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d}\nplaylists:\n  - {id: lobby, boards: [ops, sales], every: 1 min}\n",
			want: []string{
				`b.yaml:8: playlist "lobby": unknown board "sales"`,
				`b.yaml:8: playlist "lobby": every: "1 min" is not a duration`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("b.yaml", []byte(tt.yaml), testKinds{"demo", "prometheus"})
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Parse error = %v, want a ConfigError", err)
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, p := range ce.Problems {
				if p.File != "b.yaml" {
					t.Errorf("problem without file: %+v", p)
				}
			}
		})
	}
}

// testKinds are source kinds that refuse the query "bad".
type testKinds []string

func (k testKinds) Names() []string { return k }

func (testKinds) CheckQuery(src SourceConfig, tile TileConfig, q Query) error {
	if q.Text == "bad" {
		return errors.New("demo signal \"bad\" unknown")
	}
	return nil
}

func TestParseQueryCheck(t *testing.T) {
	y := "sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: a, kind: stat, source: d, query: bad}\n"
	_, err := Parse("b.yaml", []byte(y), testKinds{"demo"})
	want := `b.yaml:6: tile ops/a: query: demo signal "bad" unknown`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestSecretResolve(t *testing.T) {
	t.Setenv("WB_TEST_TOKEN", "s3cret")
	v, err := (&Secret{Env: "WB_TEST_TOKEN"}).Resolve()
	if err != nil || v != "s3cret" {
		t.Fatalf("Resolve = %q, %v", v, err)
	}
	_, err = (&Secret{Env: "WB_TEST_UNSET_VAR"}).Resolve()
	if err == nil || !strings.Contains(err.Error(), "WB_TEST_UNSET_VAR is not set") {
		t.Fatalf("unset env: %v", err)
	}
	f := t.TempDir() + "/tok"
	if err := writeFile(f, "from-file\n"); err != nil {
		t.Fatal(err)
	}
	v, err = (&Secret{File: f}).Resolve()
	if err != nil || v != "from-file" {
		t.Fatalf("file Resolve = %q, %v", v, err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", time.Minute, true}, {"30s", 30 * time.Second, true}, {"7d", 7 * 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true}, {"1.5d", 0, false}, {"d", 0, false}, {"-5m", 0, false}, {"x", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in, time.Minute)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestSecretsResolvedOncePerLoad: a secret is read when the config is
// loaded, and every use gets that value (a variable or file changed later
// takes effect with the next load); a missing one says where it is
// referenced.
func TestSecretsResolvedOncePerLoad(t *testing.T) {
	dir := t.TempDir()
	pwFile := dir + "/pw"
	if err := writeFile(pwFile, "first-password\n"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WB_TEST_TOKEN", "first-token")
	yaml := `sources:
  - id: prom
    kind: prometheus
    url: http://127.0.0.1:9090
    token: {env: WB_TEST_TOKEN}
    basic_auth: {username: u, password: {file: ` + pwFile + `}}
  - id: am
    kind: alertmanager
    url: http://127.0.0.1:9093
    token: {env: WB_TEST_NO_SUCH_VARIABLE}
boards:
  - id: a
    tiles:
      - {id: t, kind: stat, source: prom, query: up}
`
	cfg, err := Parse("wb.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("WB_TEST_TOKEN", "second-token")
	if err := writeFile(pwFile, "second-password\n"); err != nil {
		t.Fatal(err)
	}
	if v, err := cfg.Sources[0].Token.Resolve(); v != "first-token" || err != nil {
		t.Errorf("token = %q, %v; want the value at load", v, err)
	}
	if v, err := cfg.Sources[0].BasicAuth.Password.Resolve(); v != "first-password" || err != nil {
		t.Errorf("password = %q, %v; want the file's content at load", v, err)
	}
	_, err = cfg.Sources[1].Token.Resolve()
	if err == nil || !strings.Contains(err.Error(), "wb.yaml:10: ") || !strings.Contains(err.Error(), "WB_TEST_NO_SUCH_VARIABLE is not set") {
		t.Errorf("missing variable: %v; want it named with file:line", err)
	}
	if probs := cfg.SecretProblems(); len(probs) != 1 || probs[0].String() != "wb.yaml:10: sources.token: environment variable WB_TEST_NO_SUCH_VARIABLE is not set" {
		t.Errorf("SecretProblems = %v", probs)
	}
}

// TestEverySecretFieldIsLoaded walks the Config type: every *Secret it can
// hold must be one secretFields lists, or it would be read on use rather
// than once per load, and `wallboard check` would not report it missing
// (store.password slipped through that way).
func TestEverySecretFieldIsLoaded(t *testing.T) {
	secretType := reflect.TypeOf(&Secret{})
	var fill func(v reflect.Value) int
	fill = func(v reflect.Value) int {
		n := 0
		switch v.Kind() {
		case reflect.Pointer:
			if v.Type() == secretType {
				v.Set(reflect.ValueOf(&Secret{Env: "WB_TEST_NEVER_SET"}))
				return 1
			}
			if v.Type().Elem().Kind() != reflect.Struct {
				return 0
			}
			v.Set(reflect.New(v.Type().Elem()))
			return fill(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				if f := v.Field(i); f.CanSet() {
					n += fill(f)
				}
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Struct || v.Type().Elem().Kind() == reflect.Pointer {
				v.Set(reflect.MakeSlice(v.Type(), 1, 1))
				n += fill(v.Index(0))
			}
		}
		return n
	}
	var cfg Config
	total := fill(reflect.ValueOf(&cfg).Elem())
	if total == 0 {
		t.Fatal("found no secret fields: the walk is broken")
	}
	if got := len(cfg.secretFields()); got != total {
		t.Errorf("the config type holds %d secrets, secretFields lists %d", total, got)
	}
}
