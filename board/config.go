// Package board is Wallboard's domain: what a board, a tile and a source are
// (the YAML config), what a tile currently shows (its state), and the rules that
// turn data into a status and decide when data is stale.
//
// It does no I/O beyond reading the config bytes it is handed and knows nothing
// of HTTP, SQLite or any data source: web/, poller/ and store/ depend on it,
// never the other way round.
package board

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Config is the whole YAML file: where data comes from and what boards show it.
type Config struct {
	Sources   []SourceConfig `yaml:"sources"`
	Boards    []BoardConfig  `yaml:"boards"`
	Playlists []Playlist     `yaml:"playlists"`
	Webhooks  Webhooks       `yaml:"webhooks"`
	Access    AccessConfig   `yaml:"access"`
	Admin     *AdminConfig   `yaml:"admin"`
	Store     *StoreConfig   `yaml:"store"`

	// File is the path the config was read from ("" for the built-in demo).
	File string `yaml:"-"`

	webhookLines map[string]int // receiver name -> line of its section
	adminLine    int
	secrets      []secretRef // every secret reference, for SecretProblems
}

// SourceConfig names one backend. Fields are shared by kinds where the meaning
// is the same (url, timeout, token); each kind documents which it reads.
type SourceConfig struct {
	ID   string `yaml:"id"`
	Kind string `yaml:"kind"`

	// URL is the base URL of an HTTP API (prometheus, alertmanager, github
	// Enterprise's API root).
	URL         string        `yaml:"url"`
	TimeoutText string        `yaml:"timeout"` // as written; see Timeout
	Timeout     time.Duration `yaml:"-"`       // per poll; default 10s

	// Credentials. Secrets are never written in the YAML itself.
	Token     *Secret           `yaml:"token"`      // bearer token (prometheus, alertmanager, github)
	BasicAuth *BasicAuth        `yaml:"basic_auth"` // prometheus, alertmanager
	Headers   map[string]string `yaml:"headers"`    // extra request headers (not secrets)
	TLS       *TLSConfig        `yaml:"tls"`

	// Google Cloud Monitoring.
	Project           string `yaml:"project"`
	CredentialsFile   string `yaml:"credentials_file"`
	Endpoint          string `yaml:"endpoint"` // gRPC endpoint override (tests, proxies)
	AlertsEndpoint    string `yaml:"alerts_endpoint"`
	Insecure          bool   `yaml:"insecure"` // plaintext to Endpoint; tests only
	RequestsPerMinute int    `yaml:"requests_per_minute"`

	// GitHub.
	Repos           []string `yaml:"repos"`
	Environment     string   `yaml:"environment"`
	Workflow        string   `yaml:"workflow"`
	IncidentLabel   string   `yaml:"incident_label"`
	PostmortemLabel string   `yaml:"postmortem_label"`
	Backfill        string   `yaml:"backfill"`

	// Four Keys (github, gitlog, events): see board/fourkeys.go.
	AttributionWindow string   `yaml:"attribution_window"` // default 24h
	HotfixLabels      []string `yaml:"hotfix_labels"`      // default [hotfix]
	PostmortemDue     string   `yaml:"postmortem_due"`     // "5d" (default), "3 business days"
	Benchmarks        string   `yaml:"benchmarks"`         // "dora-2024" (default) or "none"

	// Git history.
	Path       string `yaml:"path"`
	TagPattern string `yaml:"tag_pattern"`
	Branch     string `yaml:"branch"`
	Service    string `yaml:"service"`

	Line int `yaml:"-"`
}

// Secret is a reference to a secret held outside the config: an environment
// variable or a file. Writing the secret itself in the YAML is refused.
//
// Parse reads every secret of the config once, when it loads it: every use
// gets that value, and a changed variable or file takes effect with the
// next load (a reload), never half-way through one.
type Secret struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`

	inline bool // written as a plain value (refused by the shape check)

	loaded bool   // read by Parse: value and err are the load's
	value  string // never logged
	err    error  // the variable or file is missing; names file:line
	where  string // "sources.token", for SecretProblems
	line   int
}

// Resolve returns the secret as it was when the config was loaded; a
// Secret built in code (not parsed) is read now. The error names the
// variable or file (and where the config references it), never the value.
func (s *Secret) Resolve() (string, error) {
	if s == nil {
		return "", nil
	}
	if s.loaded {
		return s.value, s.err
	}
	return s.read()
}

// read reads the variable or file.
func (s *Secret) read() (string, error) {
	if s.Env != "" {
		v, ok := os.LookupEnv(s.Env)
		if !ok || v == "" {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	}
	b, err := os.ReadFile(s.File)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// BasicAuth is HTTP basic auth with the password held outside the config.
type BasicAuth struct {
	Username string  `yaml:"username"`
	Password *Secret `yaml:"password"`
}

// TLSConfig tunes the TLS client of an HTTP source.
type TLSConfig struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Webhooks configures the receivers; a receiver without a secret is off.
type Webhooks struct {
	GitHub          *WebhookConfig `yaml:"github"`
	Alertmanager    *WebhookConfig `yaml:"alertmanager"`
	CloudMonitoring *WebhookConfig `yaml:"cloudmonitoring"`
	Events          *WebhookConfig `yaml:"events"`
}

// WebhookConfig holds a receiver's secret and the boards it feeds.
type WebhookConfig struct {
	Secret    *Secret    `yaml:"secret"` // HMAC key (github) or token
	BasicAuth *BasicAuth `yaml:"basic_auth"`
}

// AdminConfig protects admin actions (reload, config errors) with their own
// bearer token, separate from viewer access.
type AdminConfig struct {
	Token *Secret `yaml:"token"`
}

// StoreConfig selects a PostgreSQL database shared by replicas instead of
// the SQLite file in the data directory (the -store flag wins over url).
// It is read at start: a reload does not move the store.
type StoreConfig struct {
	URL      string  `yaml:"url"`      // postgres://user@host:5432/db?sslmode=require
	Password *Secret `yaml:"password"` // never in the URL

	Line int `yaml:"-"`
}

// Viewer access modes (access.mode).
const (
	AccessOpen    = "open"    // anyone who can reach the port
	AccessScreens = "screens" // per-screen secret links setting a long-lived cookie
	AccessProxy   = "proxy"   // identity from an authenticating proxy's header
)

// AccessConfig says who may view boards. An empty mode means open, which the
// app accepts only when it listens on loopback.
type AccessConfig struct {
	Mode    string         `yaml:"mode"`
	Screens []ScreenConfig `yaml:"screens"`
	Proxy   *ProxyConfig   `yaml:"proxy"`
	// TrustedProxies are the addresses (CIDRs or single IPs) of reverse
	// proxies whose X-Forwarded-Proto and identity headers are believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// FrameAncestors are origins allowed to embed the board in a frame
	// (CSP frame-ancestors), e.g. https://portal.example; empty: none.
	FrameAncestors []string `yaml:"frame_ancestors"`

	Line int `yaml:"-"`
}

// ScreenConfig is one screen link. Only the SHA-256 of its token is kept
// (`wallboard screen-link -name NAME` prints a new token and this line).
type ScreenConfig struct {
	Name        string `yaml:"name"`
	TokenSHA256 string `yaml:"token_sha256"`

	Line int `yaml:"-"`
}

// ProxyConfig reads the viewer's identity from an authenticating proxy.
type ProxyConfig struct {
	// Header carrying the user's e-mail, the only one read. Default: with
	// IAP verified, X-Goog-Authenticated-User-Email; otherwise that one
	// (IAP) or X-Forwarded-Email (oauth2-proxy), refused when both are sent.
	Header string `yaml:"header"`
	// Allow lists e-mails ("ana@example.com") or domains ("@example.com")
	// allowed in; empty: anyone the proxy authenticated.
	Allow []string `yaml:"allow"`
	// IAP verifies IAP's signed header X-Goog-IAP-JWT-Assertion.
	IAP *IAPConfig `yaml:"iap"`
}

// IAPConfig verifies Identity-Aware Proxy's signed JWT (ES256).
type IAPConfig struct {
	// Audience is the expected aud claim: /projects/NUMBER/global/backendServices/ID
	// or /projects/NUMBER/apps/PROJECT_ID.
	Audience string `yaml:"audience"`
	JWKSFile string `yaml:"jwks_file"` // a JWK set on disk
	JWKSURL  string `yaml:"jwks_url"`  // e.g. https://www.gstatic.com/iap/verify/public_key-jwk
}

// Night dims a board between From and To ("HH:MM", the screen's local
// time); the span may wrap past midnight.
type Night struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// Standup is when a team's daily standup starts: the standup view shows
// what changed since the last one.
type Standup struct {
	At       string `yaml:"at"`       // "HH:MM"
	Timezone string `yaml:"timezone"` // IANA name, e.g. Asia/Tokyo; default the server's
}

// BoardConfig is one screen's worth of tiles.
type BoardConfig struct {
	ID      string   `yaml:"id"`
	Title   string   `yaml:"title"`
	Columns int      `yaml:"columns"` // 0: chosen from the number of tiles
	Theme   string   `yaml:"theme"`   // dark (default) or light
	Locale  string   `yaml:"locale"`  // en (default) or ja
	Night   *Night   `yaml:"night"`   // optional dimming schedule
	Standup *Standup `yaml:"standup"` // optional daily standup time
	// Retro sets the retrospective view (/boards/{id}/retro): its period
	// and how often it re-fetches itself.
	Retro *retroConfig `yaml:"retro"`
	// Benchmarks turns the Four Keys tiers of this board's tiles on
	// ("dora-2024") or off ("none"); it wins over the source's setting.
	// Empty: the source's.
	Benchmarks string       `yaml:"benchmarks"`
	Tiles      []TileConfig `yaml:"tiles"`
	// Takeover is how long a newly opened critical alert fills the screen
	// before it shrinks to a banner; default 60s.
	TakeoverText string        `yaml:"takeover"` // as written
	Takeover     time.Duration `yaml:"-"`
	// Chime plays a short sound when a takeover starts (kiosk browsers need
	// --autoplay-policy=no-user-gesture-required).
	Chime bool `yaml:"chime"`

	Line int `yaml:"-"`
}

// retroConfig is a board's retrospective view.
type retroConfig struct {
	// Period is how far back the view looks without ?since=; default 14d
	// (a KPT cycle), 1d to 90d.
	Period string `yaml:"period"`
	// Refresh is how often the open view re-fetches itself; default 60s,
	// 2s to 1h. Each re-fetch reads the store once per screen.
	Refresh string `yaml:"refresh"`
}

// Retro defaults and limits.
const (
	defaultRetroPeriod  = 14 * 24 * time.Hour
	defaultRetroRefresh = time.Minute
)

// RetroPeriod is the board's retro period (defaultRetroPeriod unless set).
func (b BoardConfig) RetroPeriod() time.Duration {
	if b.Retro == nil {
		return defaultRetroPeriod
	}
	return positiveDuration(b.Retro.Period, defaultRetroPeriod)
}

// RetroRefresh is how often the board's retro view re-fetches itself.
func (b BoardConfig) RetroRefresh() time.Duration {
	if b.Retro == nil {
		return defaultRetroRefresh
	}
	return positiveDuration(b.Retro.Refresh, defaultRetroRefresh)
}

// positiveDuration is the duration s writes, or def where s is empty,
// invalid or not positive (validation has reported the invalid ones).
func positiveDuration(s string, def time.Duration) time.Duration {
	d, err := ParseDuration(s, def)
	if err != nil || d <= 0 {
		return def
	}
	return d
}

// Playlist is a rotation of boards shown on one screen. An entry is a
// board id ("checkout") or a board's retrospective view ("checkout/retro",
// the path of the view under /boards/).
type Playlist struct {
	ID     string   `yaml:"id"`
	Boards []string `yaml:"boards"`
	// Every is how long each board shows; default 30s.
	EveryText string        `yaml:"every"` // as written
	Every     time.Duration `yaml:"-"`

	Line int `yaml:"-"`
	// EntryLines are the lines of the entries of Boards (0 when unknown).
	EntryLines []int `yaml:"-"`
}

// ViewRetro is the view part of a playlist entry "board/retro".
const ViewRetro = "retro"

// PlaylistEntry is one entry of a playlist: a board, and the view of it
// to show ("" for the board itself, ViewRetro).
type PlaylistEntry struct {
	Board, View string
}

// ParsePlaylistEntry reads "checkout" or "checkout/retro". Anything after
// a slash is the view; whether it is a known one is for the caller.
func ParsePlaylistEntry(s string) PlaylistEntry {
	id, view, _ := strings.Cut(strings.TrimSpace(s), "/")
	return PlaylistEntry{Board: id, View: view}
}

// String is the entry as written in a playlist.
func (e PlaylistEntry) String() string {
	if e.View == "" {
		return e.Board
	}
	return e.Board + "/" + e.View
}

// BoardIDs are the distinct boards a playlist shows, in order, whichever
// view of them it shows.
func (p Playlist) BoardIDs() []string {
	var out []string
	for _, s := range p.Boards {
		if id := ParsePlaylistEntry(s).Board; !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// TileConfig is one tile: what to ask which source, and how to judge the answer.
type TileConfig struct {
	ID     string `yaml:"id"`
	Kind   string `yaml:"kind"`
	Title  string `yaml:"title"`
	Source string `yaml:"source"`
	// Query is a string (PromQL, a demo signal) or a mapping (a Cloud
	// Monitoring filter and aggregation); its meaning belongs to the source.
	Query any    `yaml:"query"`
	Unit  string `yaml:"unit"`
	// The durations as written (see Interval, Freshness, Range).
	IntervalText  string `yaml:"interval"`
	FreshnessText string `yaml:"freshness"`
	RangeText     string `yaml:"range"`
	// Interval is how often the query is polled; default 30s.
	Interval time.Duration `yaml:"-"`
	// Freshness is how old the tile's data may get before it says it is
	// stale; default 3 × Interval plus its source kind's dataDelay.
	Freshness time.Duration `yaml:"-"`
	// Range is the series lookback of timeseries tiles; default 1h.
	Range      time.Duration `yaml:"-"`
	Thresholds *Thresholds   `yaml:"thresholds"`
	Span       int           `yaml:"span"`     // columns taken; default 1
	RowSpan    int           `yaml:"row_span"` // rows taken; default 1
	Label      string        `yaml:"label"`    // row label template for grouped results, e.g. "{{.service}}"
	Limit      int           `yaml:"limit"`    // rows shown in list tiles; default 8
	Max        *float64      `yaml:"max"`      // gauge full scale; default critical threshold or 1 for ratios
	// Sources are further alert feeds of an alerts or hygiene tile besides
	// Source: webhook receivers (alertmanager-webhook, cloudmonitoring, events).
	Sources []string `yaml:"sources"`
	// NoisyAfter is how many openings in 7 days make an alert noisy on a
	// hygiene tile; default 5.
	NoisyAfter int `yaml:"noisy_after"`

	Line int `yaml:"-"`
}

// Thresholds turn a value into a status.
type Thresholds struct {
	Warn      *float64 `yaml:"warn"`
	Critical  *float64 `yaml:"critical"`
	Direction string   `yaml:"direction"` // higher-is-worse (default) or lower-is-worse
}

// Tile kinds: how a tile draws its data. Each has a templ component in views.
const (
	KindStat       = "stat"
	KindTimeSeries = "timeseries"
	KindGauge      = "gauge"
	KindBar        = "bar"
	KindList       = "list"
	// KindSecurity: see baseline.go.

	// The Four Keys of the deployments and incidents a source stored.
	KindFourKeys    = "fourkeys"
	KindDeploys     = "deploys"
	KindPostmortems = "postmortems"

	// Open alerts (with the takeover of a critical one) and their hygiene.
	KindAlerts  = "alerts"
	KindHygiene = "hygiene"
)

// tileKinds lists every tile kind a config may name, in the order `wallboard
// check` prints them. This is the one list: validation reads it, and views
// has a component for each.
var tileKinds = []string{KindStat, KindTimeSeries, KindGauge, KindBar, KindList, KindSecurity,
	KindFourKeys, KindDeploys, KindPostmortems, KindAlerts, KindHygiene}

// ReservedSourceIDs are the feeds under which webhook receivers store alerts
// (alerts.Receivers). A polled source with one of these ids would close the
// webhook's alerts at every poll, so they cannot be source ids.
var ReservedSourceIDs = []string{"alertmanager-webhook", "cloudmonitoring", "events"}

// Direction values for thresholds.
const (
	higherIsWorse = "higher-is-worse"
	LowerIsWorse  = "lower-is-worse"
)

// Defaults.
const (
	defaultInterval      = 30 * time.Second
	DefaultTimeout       = 10 * time.Second
	defaultRange         = time.Hour
	minInterval          = time.Second
	defaultFreshnessMult = 3
	defaultTakeover      = 60 * time.Second
	defaultEvery         = 30 * time.Second // a playlist's time per board
)

// SourceKinds is what validation needs from the build: the source kinds it
// can build and how each checks a tile's query. The app declares them once
// (app/sources.go); validation and `wallboard check` read them from there.
// A nil SourceKinds accepts every kind and query (tests of the file's shape).
type SourceKinds interface {
	// Names lists the source kinds, in the order error messages print them.
	Names() []string
	// CheckQuery validates a tile's query for its source's kind, without
	// connecting to anything.
	CheckQuery(src SourceConfig, tile TileConfig, q Query) error
}

// Problem is one thing wrong with a config, with where it is.
type Problem struct {
	File string
	Line int
	Msg  string
}

// place is "file:line", or "file" when the line is unknown.
func (p Problem) place() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// ConfigError lists every problem found in a config.
type ConfigError struct {
	Problems []Problem

	file    string
	secrets []secretRef // the secret references read, for SecretProblems
}

// SecretProblems lists the secret references of the refused config whose
// variable or file is missing (see Config.SecretProblems), so that one run
// of `wallboard check` says everything.
func (e *ConfigError) SecretProblems() []Problem { return resolveSecrets(e.file, e.secrets) }

func (e *ConfigError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// LoadFile reads and validates a config file.
func LoadFile(path string, kinds SourceKinds) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	// One byte more than the limit is enough to know a file is too large.
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(b) > maxConfigBytes {
		if fi, err := f.Stat(); err == nil {
			return nil, &ConfigError{Problems: []Problem{{File: path, Msg: fmt.Sprintf("%d bytes: a config file may be at most %d bytes (1 MiB)", fi.Size(), maxConfigBytes)}}}
		}
	}
	return Parse(path, b, kinds)
}

// Parse decodes and validates config bytes; name is used in error messages.
// It reports every problem it can find, each as "file:line: what".
func Parse(name string, data []byte, kinds SourceKinds) (cfg *Config, err error) {
	// go-yaml v1.19.2 panics on some malformed documents (a tag before a
	// sequence item, found by FuzzParse). A config file must never crash the
	// server or `wallboard check`: report it as what it is, a bad file.
	defer func() {
		if r := recover(); r != nil {
			cfg, err = nil, &ConfigError{Problems: []Problem{{File: name, Msg: fmt.Sprintf("the YAML cannot be read (the parser failed: %v); check its indentation and tags", r)}}}
		}
	}()
	return parse(name, data, kinds)
}

func parse(name string, data []byte, kinds SourceKinds) (*Config, error) {
	// Bound the cost first: size and nesting before the parser sees the
	// bytes, alias expansion before the decoder expands anything.
	if p := checkLimits(name, data); p != nil {
		return nil, &ConfigError{Problems: []Problem{*p}}
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, &ConfigError{Problems: []Problem{yamlProblem(name, err)}}
	}
	if p := aliasProblem(name, file); p != nil {
		return nil, &ConfigError{Problems: []Problem{*p}}
	}
	// Every unknown key, inline secret and wrongly shaped value, each with
	// its line; then decode leniently so the rules below are checked too.
	probs, secrets := shapeProblems(name, file)
	var cfg Config
	if err := yaml.UnmarshalWithOptions(data, &cfg); err != nil {
		if len(probs) == 0 {
			probs = []Problem{yamlProblem(name, err)}
		}
		return nil, &ConfigError{Problems: probs, file: name, secrets: secrets}
	}
	cfg.File = name
	cfg.secrets = secrets
	cfg.fillLines(file)
	probs = append(probs, cfg.validate(kinds)...)
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return nil, &ConfigError{Problems: probs, file: name, secrets: secrets}
	}
	cfg.FillDefaults()
	cfg.loadSecrets(file)
	return &cfg, nil
}

// SecretProblems lists the secret references whose environment variable was
// unset or empty or whose file could not be read when the config was
// loaded: the server would refuse to start on them.
func (c *Config) SecretProblems() []Problem {
	var probs []Problem
	for _, s := range c.secretFields() {
		if s.secret.err != nil {
			probs = append(probs, Problem{File: c.File, Line: s.secret.line, Msg: fmt.Sprintf("%s: %v", s.secret.where, s.secret.readErr())})
		}
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return probs
}

// secretField is one place of the config that holds a secret.
type secretField struct {
	path, where string // YAML path (for its line), name in messages
	secret      *Secret
}

// secretFields lists every secret the config holds, with where it is.
func (c *Config) secretFields() []secretField {
	var out []secretField
	add := func(path, where string, s *Secret) {
		if s != nil && !s.inline && (s.Env != "") != (s.File != "") {
			out = append(out, secretField{path, where, s})
		}
	}
	for i, src := range c.Sources {
		p := fmt.Sprintf("$.sources[%d]", i)
		add(p+".token", "sources.token", src.Token)
		if src.BasicAuth != nil {
			add(p+".basic_auth.password", "sources.basic_auth.password", src.BasicAuth.Password)
		}
	}
	for _, w := range []struct {
		name string
		cfg  *WebhookConfig
	}{{"github", c.Webhooks.GitHub}, {"alertmanager", c.Webhooks.Alertmanager}, {"cloudmonitoring", c.Webhooks.CloudMonitoring}, {"events", c.Webhooks.Events}} {
		if w.cfg == nil {
			continue
		}
		p := "$.webhooks." + w.name
		add(p+".secret", "webhooks."+w.name+".secret", w.cfg.Secret)
		if w.cfg.BasicAuth != nil {
			add(p+".basic_auth.password", "webhooks."+w.name+".basic_auth.password", w.cfg.BasicAuth.Password)
		}
	}
	if c.Admin != nil {
		add("$.admin.token", "admin.token", c.Admin.Token)
	}
	if c.Store != nil {
		add("$.store.password", "store.password", c.Store.Password)
	}
	return out
}

// loadSecrets reads every secret of the config, once per load. A missing
// one is not a parse error (the parts that need it refuse to start, and
// `wallboard check` lists it); its error names file:line.
func (c *Config) loadSecrets(file *ast.File) {
	for _, f := range c.secretFields() {
		s := f.secret
		s.where, s.line = f.where, lineOf(file, f.path)
		s.value, s.err = s.read()
		if s.err != nil {
			s.err = fmt.Errorf("%s: %s: %w", Problem{File: c.File, Line: s.line}.place(), s.where, s.err)
		}
		s.loaded = true
	}
}

// readErr is the load's error without its place (SecretProblems adds it).
func (s *Secret) readErr() error {
	if err := errors.Unwrap(s.err); err != nil {
		return err
	}
	return s.err
}

func resolveSecrets(file string, refs []secretRef) []Problem {
	var probs []Problem
	for _, s := range refs {
		if s.Ref.Env != "" && s.Ref.File != "" {
			continue // refused as such by validate
		}
		if _, err := s.Ref.read(); err != nil {
			probs = append(probs, Problem{File: file, Line: s.Line, Msg: fmt.Sprintf("%s: %v", s.Where, err)})
		}
	}
	return probs
}

// yamlProblem turns a go-yaml error into "file:line: message" without the
// library's source excerpt (which could echo a secret pasted by mistake).
func yamlProblem(name string, err error) Problem {
	var ye yaml.Error
	if errors.As(err, &ye) {
		line := 0
		if tk := ye.GetToken(); tk != nil {
			line = tk.Position.Line
		}
		msg := ye.GetMessage()
		msg = strings.Replace(msg, "unknown field", "unknown key", 1)
		return Problem{File: name, Line: line, Msg: msg}
	}
	return Problem{File: name, Msg: err.Error()}
}

func lineOf(file *ast.File, path string) int {
	p, err := yaml.PathString(path)
	if err != nil {
		return 0
	}
	n, err := p.FilterFile(file)
	if err != nil || n == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

func (c *Config) fillLines(file *ast.File) {
	for i := range c.Sources {
		c.Sources[i].Line = lineOf(file, fmt.Sprintf("$.sources[%d].id", i))
	}
	for i := range c.Boards {
		c.Boards[i].Line = lineOf(file, fmt.Sprintf("$.boards[%d].id", i))
		for j := range c.Boards[i].Tiles {
			c.Boards[i].Tiles[j].Line = lineOf(file, fmt.Sprintf("$.boards[%d].tiles[%d].id", i, j))
		}
	}
	for i := range c.Playlists {
		c.Playlists[i].Line = lineOf(file, fmt.Sprintf("$.playlists[%d].id", i))
		c.Playlists[i].EntryLines = make([]int, len(c.Playlists[i].Boards))
		for j := range c.Playlists[i].Boards {
			c.Playlists[i].EntryLines[j] = lineOf(file, fmt.Sprintf("$.playlists[%d].boards[%d]", i, j))
		}
	}
	c.Access.Line = lineOfKey(file, "$", "access")
	for i := range c.Access.Screens {
		c.Access.Screens[i].Line = lineOf(file, fmt.Sprintf("$.access.screens[%d].name", i))
	}
	c.webhookLines = map[string]int{}
	for _, name := range []string{"github", "alertmanager", "cloudmonitoring", "events"} {
		c.webhookLines[name] = lineOfKey(file, "$.webhooks", name)
	}
	c.adminLine = lineOfKey(file, "$", "admin")
	if c.Store != nil {
		c.Store.Line = lineOfKey(file, "$", "store")
		if l := lineOf(file, "$.store.url"); l != 0 {
			c.Store.Line = l
		}
	}
}

// lineOfKey is the line of key in the mapping at path (0 if absent): the
// line a reader looks at, even when the value starts on the next one.
func lineOfKey(file *ast.File, path, key string) int {
	var n ast.Node
	if path == "$" {
		if len(file.Docs) == 0 || file.Docs[0] == nil {
			return 0
		}
		n = file.Docs[0].Body
	} else {
		p, err := yaml.PathString(path)
		if err != nil {
			return 0
		}
		if n, err = p.FilterFile(file); err != nil {
			return 0
		}
	}
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	}
	for _, kv := range values {
		if kv != nil && kv.Key != nil && kv.Key.GetToken() != nil && kv.Key.GetToken().Value == key {
			return kv.Key.GetToken().Position.Line
		}
	}
	return 0
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// idProblem is what is wrong with the id of a what ("source", "board"),
// seen already when its first holder is on line first; "" when nothing is.
func idProblem(what, id string, seen bool, first int) string {
	switch {
	case id == "":
		return what + " without id"
	case !idPattern.MatchString(id):
		return fmt.Sprintf("%s id %q: use lower-case letters, digits, - and _", what, id)
	case seen:
		return fmt.Sprintf("duplicate %s id %q (first on line %d)", what, id, first)
	}
	return ""
}

func (c *Config) validate(kinds SourceKinds) []Problem {
	var probs []Problem
	add := func(line int, format string, args ...any) {
		probs = append(probs, Problem{File: c.File, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	sources := map[string]SourceConfig{}
	for i := range c.Sources {
		s := &c.Sources[i]
		first := sources[s.ID]
		if msg := idProblem("source", s.ID, first.ID != "", first.Line); msg != "" {
			add(s.Line, "%s", msg)
		} else if slices.Contains(ReservedSourceIDs, s.ID) {
			add(s.Line, "source id %q is reserved for the alerts its webhook receiver stores; choose another", s.ID)
		}
		if kinds != nil && !slices.Contains(kinds.Names(), s.Kind) {
			add(s.Line, "source %q: unknown kind %q (known: %s)", s.ID, s.Kind, strings.Join(kinds.Names(), ", "))
		}
		if d, err := ParseDuration(s.TimeoutText, DefaultTimeout); err != nil {
			add(s.Line, "source %q: timeout: %v", s.ID, err)
		} else {
			s.Timeout = d
		}
		if s.Token != nil {
			if msg := s.Token.check(); msg != "" {
				add(s.Line, "source %q: token: %s", s.ID, msg)
			}
		}
		if s.BasicAuth != nil && s.BasicAuth.Password != nil {
			if msg := s.BasicAuth.Password.check(); msg != "" {
				add(s.Line, "source %q: basic_auth.password: %s", s.ID, msg)
			}
		}
		for _, msg := range checkFourKeysSource(*s) {
			add(s.Line, "source %q: %s", s.ID, msg)
		}
		if first.ID == "" {
			sources[s.ID] = *s
		}
	}
	if len(c.Boards) == 0 {
		add(0, "no boards: add at least one under boards:")
	}
	boards := map[string]int{}
	for bi := range c.Boards {
		b := &c.Boards[bi]
		first, seen := boards[b.ID]
		if msg := idProblem("board", b.ID, seen, first); msg != "" {
			add(b.Line, "%s", msg)
		} else {
			boards[b.ID] = max(b.Line, 1)
		}
		if b.Theme != "" && b.Theme != "dark" && b.Theme != "light" {
			add(b.Line, "board %q: theme %q: use dark or light", b.ID, b.Theme)
		}
		if b.Locale != "" && b.Locale != "en" && b.Locale != "ja" {
			add(b.Line, "board %q: locale %q: use en or ja", b.ID, b.Locale)
		}
		if d, err := ParseDuration(b.TakeoverText, defaultTakeover); err != nil {
			add(b.Line, "board %q: takeover: %v", b.ID, err)
		} else {
			b.Takeover = d
		}
		if b.Night != nil {
			if !isClock(b.Night.From) || !isClock(b.Night.To) {
				add(b.Line, "board %q: night: from %q to %q: use HH:MM, e.g. from: \"20:00\", to: \"07:00\"", b.ID, b.Night.From, b.Night.To)
			}
		}
		if b.Standup != nil {
			if !isClock(b.Standup.At) {
				add(b.Line, "board %q: standup: at %q: use HH:MM, e.g. at: \"09:30\"", b.ID, b.Standup.At)
			}
			if b.Standup.Timezone != "" {
				if _, err := time.LoadLocation(b.Standup.Timezone); err != nil {
					add(b.Line, "board %q: standup: timezone %q: not a known IANA time zone", b.ID, b.Standup.Timezone)
				}
			}
		}
		if b.Retro != nil {
			if d, err := ParseDuration(b.Retro.Period, defaultRetroPeriod); err != nil {
				add(b.Line, "board %q: retro: period: %v", b.ID, err)
			} else if d < 24*time.Hour || d > 90*24*time.Hour {
				add(b.Line, "board %q: retro: period %s: use 1d to 90d", b.ID, b.Retro.Period)
			}
			if d, err := ParseDuration(b.Retro.Refresh, defaultRetroRefresh); err != nil {
				add(b.Line, "board %q: retro: refresh: %v", b.ID, err)
			} else if d < 2*time.Second || d > time.Hour {
				add(b.Line, "board %q: retro: refresh %s: use 2s to 1h", b.ID, b.Retro.Refresh)
			}
		}
		switch strings.ToLower(strings.TrimSpace(b.Benchmarks)) {
		case "", benchmarksDORA2024, benchmarksNone:
		default:
			add(b.Line, "board %q: benchmarks %q: use %s or %s", b.ID, b.Benchmarks, benchmarksDORA2024, benchmarksNone)
		}
		if b.Columns < 0 || b.Columns > 12 {
			add(b.Line, "board %q: columns %d: use 1 to 12", b.ID, b.Columns)
		}
		if len(b.Tiles) == 0 {
			add(b.Line, "board %q has no tiles", b.ID)
		}
		tiles := map[string]int{}
		for ti := range b.Tiles {
			t := &b.Tiles[ti]
			where := fmt.Sprintf("tile %s/%s", b.ID, t.ID)
			switch {
			case t.ID == "":
				add(t.Line, "board %q: tile without id", b.ID)
			case !idPattern.MatchString(t.ID):
				add(t.Line, "%s: id: use lower-case letters, digits, - and _", where)
			case tiles[t.ID] != 0:
				add(t.Line, "duplicate tile id %q in board %q (first on line %d)", t.ID, b.ID, tiles[t.ID])
			default:
				tiles[t.ID] = max(t.Line, 1)
			}
			if !slices.Contains(tileKinds, t.Kind) {
				add(t.Line, "%s: unknown kind %q (known: %s)", where, t.Kind, strings.Join(tileKinds, ", "))
			}
			src, ok := sources[t.Source]
			if t.Source == "" {
				add(t.Line, "%s: no source", where)
			} else if !ok {
				add(t.Line, "%s: unknown source %q", where, t.Source)
			}
			interval, err := ParseDuration(t.IntervalText, defaultInterval)
			if err != nil {
				add(t.Line, "%s: interval: %v", where, err)
			} else if interval < minInterval {
				add(t.Line, "%s: interval %s is below the minimum of %s", where, interval, minInterval)
			}
			t.Interval = interval
			if fresh, err := ParseDuration(t.FreshnessText, 0); err != nil {
				add(t.Line, "%s: freshness: %v", where, err)
			} else if fresh != 0 && fresh < interval {
				add(t.Line, "%s: freshness %s is shorter than the interval %s: the tile would always be stale", where, fresh, interval)
			} else {
				t.Freshness = fresh // 0: the default, set by FillDefaults
			}
			if d, err := ParseDuration(t.RangeText, defaultRange); err != nil {
				add(t.Line, "%s: range: %v", where, err)
			} else {
				t.Range = d
			}
			if msg := t.Thresholds.check(); msg != "" {
				add(t.Line, "%s: thresholds: %s", where, msg)
			}
			cols := b.Columns
			if cols == 0 {
				cols = 12
			}
			if t.Span < 0 || t.Span > cols {
				add(t.Line, "%s: span %d: use 1 to %d", where, t.Span, cols)
			}
			if t.RowSpan < 0 || t.RowSpan > 6 {
				add(t.Line, "%s: row_span %d: use 1 to 6", where, t.RowSpan)
			}
			if t.NoisyAfter < 0 {
				add(t.Line, "%s: noisy_after %d: must not be negative", where, t.NoisyAfter)
			}
			if t.Limit < 0 {
				add(t.Line, "%s: limit %d: must not be negative", where, t.Limit)
			}
			if ok && kinds != nil {
				q, err := QueryOf(*t)
				if err == nil {
					err = kinds.CheckQuery(src, *t, q)
				}
				if err != nil {
					add(t.Line, "%s: query: %v", where, err)
				}
			}
		}
	}
	for i := range c.Playlists {
		p := &c.Playlists[i]
		if p.ID == "" || !idPattern.MatchString(p.ID) {
			add(p.Line, "playlist id %q: use lower-case letters, digits, - and _", p.ID)
		}
		if len(p.Boards) == 0 {
			add(p.Line, "playlist %q has no boards", p.ID)
		}
		for j, entry := range p.Boards {
			line := p.Line
			if j < len(p.EntryLines) && p.EntryLines[j] > 0 {
				line = p.EntryLines[j]
			}
			e := ParsePlaylistEntry(entry)
			switch {
			case boards[e.Board] == 0:
				add(line, "playlist %q: unknown board %q", p.ID, e.Board)
			case e.View != "" && e.View != ViewRetro:
				add(line, "playlist %q: %q: unknown view %q of board %q (use %s or %s/%s)", p.ID, entry, e.View, e.Board, e.Board, e.Board, ViewRetro)
			}
		}
		if d, err := ParseDuration(p.EveryText, defaultEvery); err != nil {
			add(p.Line, "playlist %q: every: %v", p.ID, err)
		} else {
			p.Every = d
		}
	}
	probs = append(probs, c.validateSecurity()...)
	probs = append(probs, c.validateStore()...)
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	return probs
}

// FillDefaults gives every duration left zero its default: Parse calls it,
// and whoever adds sources, boards or tiles to a parsed config in code (the
// built-in demo's additions) calls it again, so that every reader of the
// config finds each duration set, already parsed.
func (c *Config) FillDefaults() {
	kinds := map[string]string{}
	for i := range c.Sources {
		s := &c.Sources[i]
		kinds[s.ID] = s.Kind
		if s.Timeout == 0 {
			s.Timeout = DefaultTimeout
		}
	}
	for bi := range c.Boards {
		b := &c.Boards[bi]
		if b.Takeover == 0 {
			b.Takeover = defaultTakeover
		}
		for ti := range b.Tiles {
			t := &b.Tiles[ti]
			if t.Interval == 0 {
				t.Interval = defaultInterval
			}
			if t.Range == 0 {
				t.Range = defaultRange
			}
			if t.Freshness == 0 {
				t.Freshness = defaultFreshnessMult*t.Interval + dataDelay(kinds[t.Source])
			}
		}
	}
	for i := range c.Playlists {
		if p := &c.Playlists[i]; p.Every == 0 {
			p.Every = defaultEvery
		}
	}
}

// dataDelay is how far behind real time a source kind's newest data
// normally is. A tile's default freshness allows for it, since staleness
// counts from the data's own time: Cloud Monitoring points arrive one to
// three minutes after their period ends.
func dataDelay(kind string) time.Duration {
	if kind == "gcm" {
		return 3 * time.Minute
	}
	return 0
}

var clockPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// isClock reports whether s is a 24-hour "HH:MM".
func isClock(s string) bool { return clockPattern.MatchString(s) }

func (s *Secret) check() string {
	switch {
	case s.inline:
		return "" // reported with its own line by the shape check
	case s.Env != "" && s.File != "":
		return "give env or file, not both"
	case s.Env == "" && s.File == "":
		return "give env: VARIABLE or file: /path (secrets are never written in the config)"
	}
	return ""
}

func (t *Thresholds) check() string {
	if t == nil {
		return ""
	}
	if t.Direction != "" && t.Direction != higherIsWorse && t.Direction != LowerIsWorse {
		return fmt.Sprintf("direction %q: use %s or %s", t.Direction, higherIsWorse, LowerIsWorse)
	}
	if t.Warn == nil || t.Critical == nil {
		return ""
	}
	w, c := *t.Warn, *t.Critical
	if t.Direction == LowerIsWorse {
		if w <= c {
			return fmt.Sprintf("with %s, warn (%g) must be above critical (%g)", LowerIsWorse, w, c)
		}
	} else if w >= c {
		return fmt.Sprintf("with %s, warn (%g) must be below critical (%g)", higherIsWorse, w, c)
	}
	return ""
}

// ParseDuration parses a Go duration ("30s", "5m", "1h30m") plus days ("7d");
// an empty string gives def. Negative durations are refused.
func ParseDuration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n && days >= 0 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use e.g. 30s, 5m, 1h, 7d)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// UnmarshalYAML notes a secret written inline instead of failing the whole
// decode: the shape check has already reported it with its line.
func (s *Secret) UnmarshalYAML(unmarshal func(any) error) error {
	var str string
	if err := unmarshal(&str); err == nil {
		s.inline = true
		return nil
	}
	type plain Secret
	return unmarshal((*plain)(s))
}
