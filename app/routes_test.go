package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/static"
)

// routePattern is a ServeMux pattern with a method, as a string literal.
var routePattern = regexp.MustCompile(`"((?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /[^"]*)"`)

// registeredRoutes are the method patterns written in web/routes.go, in the
// README's spelling ("GET /{$}" is "GET /", "{token...}" is "{token}").
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "web", "routes.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		r := strings.ReplaceAll(strings.ReplaceAll(m[1], "{$}", ""), "...}", "}")
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// documentedRoutes are the routes of the README's "HTTP surface" table.
func documentedRoutes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## HTTP surface\n")
	if !ok {
		t.Fatal("README.md has no HTTP surface section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `((?:GET|POST|PUT|PATCH|DELETE) /[^`]*)` \\|")
	var out []string
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return out
}

// Every route is registered in web/routes.go and nowhere else, and the
// README lists exactly those routes.
func TestRouteTableIsTheOnlyOne(t *testing.T) {
	reg, doc := registeredRoutes(t), documentedRoutes(t)
	if len(reg) == 0 || !slices.Equal(reg, doc) {
		t.Errorf("web/routes.go and the README's HTTP surface differ:\nroutes.go: %q\nREADME:    %q", reg, doc)
	}
	// A route registered anywhere else in the product (the load generator's
	// debug routes are a tool's, not the product's).
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "loadgen" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.ToSlash(path) == "../web/routes.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := routePattern.FindString(string(b)); m != "" {
			t.Errorf("%s registers %s outside web/routes.go", path, m)
		}
		if strings.Contains(string(b), `Handle("/`) || strings.Contains(string(b), `HandleFunc("/`) {
			t.Errorf("%s registers a route without a method outside web/routes.go", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Each documented route answers its method on a running Wallboard with
// every part on (screens access, admin, every webhook receiver): pages
// with their content, guarded routes with 401, and another method with
// 405. A path outside the table is 404.
func TestRouteTableAnswers(t *testing.T) {
	const screenToken = "route-table-screen-token"
	sum := sha256.Sum256([]byte(screenToken))
	for _, env := range []string{"WB_RT_ADMIN", "WB_RT_GH", "WB_RT_AM", "WB_RT_CM", "WB_RT_EV"} {
		t.Setenv(env, "secret-"+env)
	}
	path := apptest.WriteConfig(t, `
sources:
  - {id: demo, kind: demo}
boards:
  - id: ops
    title: Ops
    tiles:
      - {id: rps, kind: stat, source: demo, query: requests}
  - id: team
    tiles:
      - {id: rps, kind: stat, source: demo, query: requests}
playlists:
  - {id: lobby, boards: [ops, team], every: 30s}
access:
  mode: screens
  screens:
    - {name: lobby-tv, token_sha256: `+hex.EncodeToString(sum[:])+`}
admin:
  token: {env: WB_RT_ADMIN}
webhooks:
  github: {secret: {env: WB_RT_GH}}
  alertmanager: {secret: {env: WB_RT_AM}}
  cloudmonitoring: {secret: {env: WB_RT_CM}}
  events: {secret: {env: WB_RT_EV}}
`)
	a := apptest.Start(t, app.Options{ConfigPath: path})
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, a.BaseURL()+path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The screen link first: its cookie lets this client see the boards.
	if code, body := do("GET", "/screen/"+screenToken); code != http.StatusSeeOther {
		t.Fatalf("GET /screen/{token}: %d %s", code, body)
	}

	// want: the status without admin or webhook credentials.
	routes := map[string]struct {
		path string
		want int
	}{
		"GET /":                             {"/", http.StatusOK},
		"GET /boards/{id}":                  {"/boards/ops", http.StatusOK},
		"GET /boards/{id}/ws":               {"/boards/ops/ws", http.StatusBadRequest}, // not an upgrade
		"GET /boards/{id}/retro":            {"/boards/ops/retro", http.StatusOK},
		"GET /playlists/{id}":               {"/playlists/lobby", http.StatusOK},
		"GET /api/v1/boards":                {"/api/v1/boards", http.StatusOK},
		"GET /api/v1/boards/{id}":           {"/api/v1/boards/ops", http.StatusOK},
		"GET /livez":                        {"/livez", http.StatusOK},
		"GET /healthz":                      {"/healthz", http.StatusOK},
		"GET /readyz":                       {"/readyz", http.StatusOK},
		"GET /metrics":                      {"/metrics", http.StatusOK},
		"GET /static/":                      {static.URL("wallboard.css"), http.StatusOK},
		"GET /favicon.ico":                  {"/favicon.ico", http.StatusOK},
		"GET /screen/{token}":               {"/screen/" + screenToken, http.StatusSeeOther},
		"GET /pair":                         {"/pair", http.StatusOK},
		"GET /pair/wait":                    {"/pair/wait", http.StatusOK},
		"POST /pair/hello":                  {"/pair/hello", http.StatusForbidden}, // not a paired screen
		"GET /admin/screens":                {"/admin/screens", http.StatusUnauthorized},
		"POST /admin/screens/pair":          {"/admin/screens/pair", http.StatusUnauthorized},
		"POST /admin/screens/{id}/{action}": {"/admin/screens/tv/reload", http.StatusUnauthorized},
		"GET /admin":                        {"/admin", http.StatusUnauthorized},
		"POST /api/v1/reload-screens":       {"/api/v1/reload-screens", http.StatusUnauthorized},
		"POST /hooks/alertmanager":          {"/hooks/alertmanager", http.StatusUnauthorized},
		"POST /hooks/cloudmonitoring":       {"/hooks/cloudmonitoring", http.StatusUnauthorized},
		"POST /api/v1/events/alerts":        {"/api/v1/events/alerts", http.StatusUnauthorized},
		"POST /api/v1/events/deployments":   {"/api/v1/events/deployments", http.StatusUnauthorized},
		"POST /api/v1/events/incidents":     {"/api/v1/events/incidents", http.StatusUnauthorized},
		"POST /api/v1/events/ping":          {"/api/v1/events/ping", http.StatusUnauthorized},
		"POST /hooks/github":                {"/hooks/github", http.StatusUnauthorized},
	}
	for _, r := range documentedRoutes(t) {
		tc, ok := routes[r]
		if !ok {
			t.Errorf("%s: documented but not in this test's table: add how to call it", r)
			continue
		}
		method, _, _ := strings.Cut(r, " ")
		if code, body := do(method, tc.path); code != tc.want {
			t.Errorf("%s %s: %d, want %d (%.80s)", method, tc.path, code, tc.want, body)
		}
		other := "POST"
		if method == "POST" {
			other = "GET"
		}
		if code, _ := do(other, tc.path); code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405 (the route takes %s only)", other, tc.path, code, method)
		}
	}
	for _, p := range []string{"/nope", "/boards/ops/nope", "/api/v1/nope", "/hooks/nope", "/admin/nope"} {
		if code, _ := do("GET", p); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, code)
		}
	}
}
