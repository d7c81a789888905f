package github

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/store/storetest"
)

// fakeGitHub is an in-process GitHub REST API (Enterprise layout, /api/v3)
// for one repository, org/api. It pages every listing by pageSize with Link
// headers, serves ETags, and can be told to fail.
type fakeGitHub struct {
	t        *testing.T
	pageSize int
	t0       time.Time

	mu           sync.Mutex
	requests     int
	notModified  int
	failCompare  int    // answer this many compare requests with 502
	secondaryHit bool   // answer the next request with a 403 secondary limit
	auth         string // the last Authorization header
	team         string // the last X-Team header (configured headers:)
}

func (f *fakeGitHub) at(d time.Duration) string { return f.t0.Add(d).Format(time.RFC3339) }

const h = time.Hour

func (f *fakeGitHub) deployments() []map[string]any {
	dep := func(id int, sha string, created time.Duration) map[string]any {
		return map[string]any{"id": id, "sha": sha, "environment": "production", "created_at": f.at(created), "creator": map[string]any{"login": "dev" + strconv.Itoa(id)}}
	}
	// Newest first, as GitHub lists them.
	old := dep(99, "c0", 0)
	old["created_at"] = f.t0.Add(-200 * 24 * h).Format(time.RFC3339) // before the backfill
	return []map[string]any{dep(4, "c4", 12*h), dep(3, "c3", 10*h), dep(2, "c2", 5*h), dep(1, "c1", 0), old}
}

func (f *fakeGitHub) statuses(id string) []map[string]any {
	st := func(state string, at time.Duration) map[string]any {
		return map[string]any{"state": state, "created_at": f.at(at)}
	}
	switch id {
	case "1":
		return []map[string]any{st("success", 1*h)}
	case "2":
		return []map[string]any{st("success", 6*h), st("in_progress", 5*h)}
	case "3":
		return []map[string]any{st("success", 11*h), st("success", 11*h+30*time.Minute), st("in_progress", 10*h)}
	case "4":
		return []map[string]any{st("failure", 13*h)}
	}
	return nil
}

func (f *fakeGitHub) commits(base, head string) []map[string]any {
	c := func(sha string, authored time.Duration) map[string]any {
		return map[string]any{"sha": sha, "commit": map[string]any{"author": map[string]any{"name": "x", "date": f.at(authored)}}}
	}
	switch base + "..." + head {
	case "c1...c2":
		return []map[string]any{c("x1", 2*h), c("x2", 3*h), c("c2", 4*h)}
	case "c2...c3":
		return []map[string]any{c("c3", 9*h)}
	}
	return nil
}

func (f *fakeGitHub) issues() []map[string]any {
	label := []map[string]any{{"name": "incident"}}
	return []map[string]any{
		{"number": 10, "title": "checkout down", "state": "closed", "created_at": f.at(11*h + 30*time.Minute), "closed_at": f.at(12 * h), "updated_at": f.at(12 * h), "labels": label, "body": "500s everywhere"},
		{"number": 11, "title": "fix checkout", "state": "closed", "created_at": f.at(11 * h), "closed_at": f.at(50 * h), "updated_at": f.at(50 * h), "labels": label, "pull_request": map[string]any{"url": "x"}},
		{"number": 12, "title": "slow search", "state": "closed", "created_at": f.at(100 * h), "closed_at": f.at(101 * h), "updated_at": f.at(101 * h), "labels": label, "body": "Caused by deployment: github:org/api:deployment:1"},
		{"number": 13, "title": "still open", "state": "open", "created_at": f.at(200 * h), "updated_at": f.at(200 * h), "labels": label},
	}
}

// page writes one page of items with a Link header to the next, and an
// ETag of the content (If-None-Match → 304).
func (f *fakeGitHub) page(w http.ResponseWriter, r *http.Request, items any, total int, wrap func(any) any) {
	all, _ := json.Marshal(items)
	var list []json.RawMessage
	json.Unmarshal(all, &list)
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p < 1 {
		p = 1
	}
	lo, hi := min((p-1)*f.pageSize, len(list)), min(p*f.pageSize, len(list))
	if hi < len(list) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p+1))
		next := "http://" + r.Host + r.URL.Path + "?" + q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next))
	}
	var body any = list[lo:hi]
	if wrap != nil {
		body = wrap(body)
	}
	b, _ := json.Marshal(body)
	etag := fmt.Sprintf(`"%x"`, len(b)*31+p)
	if r.Header.Get("If-None-Match") == etag {
		f.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.auth = r.Header.Get("Authorization")
	f.team = r.Header.Get("X-Team")
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4000")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	if f.secondaryHit {
		f.secondaryHit = false
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/api/v3/repos/org/api/")
	switch {
	case p == "deployments":
		if r.URL.Query().Get("environment") != "production" {
			f.t.Errorf("deployments listed for environment %q", r.URL.Query().Get("environment"))
		}
		f.page(w, r, f.deployments(), 0, nil)
	case strings.HasPrefix(p, "deployments/") && strings.HasSuffix(p, "/statuses"):
		f.page(w, r, f.statuses(strings.Split(p, "/")[1]), 0, nil)
	case strings.HasPrefix(p, "compare/"):
		if f.failCompare > 0 {
			f.failCompare--
			http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
			return
		}
		base, head, _ := strings.Cut(strings.TrimPrefix(p, "compare/"), "...")
		cs := f.commits(base, head)
		f.page(w, r, cs, len(cs), func(page any) any { return map[string]any{"total_commits": len(cs), "commits": page} })
	case p == "issues":
		if r.URL.Query().Get("labels") != "incident" || r.URL.Query().Get("state") != "all" {
			f.t.Errorf("issues listed with %s", r.URL.RawQuery)
		}
		f.page(w, r, f.issues(), 0, nil)
	default:
		http.NotFound(w, r)
	}
}

func setup(t *testing.T) (*fakeGitHub, *Source, *store.Store) {
	t.Helper()
	f := &fakeGitHub{t: t, pageSize: 2, t0: time.Now().UTC().Add(-20 * 24 * h).Truncate(time.Second)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	st := storetest.SQLite(t)
	t.Setenv("WB_TEST_GH_TOKEN", "ghp_test")
	src, err := New(board.SourceConfig{ID: "gh", Kind: "github", URL: srv.URL + "/api/v3/", Repos: []string{"org/api"},
		Token: &board.Secret{Env: "WB_TEST_GH_TOKEN"}}, st, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	src.minSync = 0
	retryBase = time.Millisecond
	t.Cleanup(func() { retryBase = defaultRetryBase })
	return f, src, st
}

func TestNumbersEqualTheDefinitions(t *testing.T) {
	f, src, _ := setup(t)
	ctx := context.Background()
	f.failCompare = 1

	// A 5xx is retried within the call: the poll succeeds.
	res, err := src.Fetch(ctx, board.Query{Source: "gh"})
	if err != nil {
		t.Fatal(err)
	}
	if f.failCompare != 0 {
		t.Fatalf("the failing compare was not asked again")
	}
	if f.auth != "Bearer ghp_test" {
		t.Fatalf("Authorization = %q", f.auth)
	}
	m := res.FourKeys.Current
	// Deployments 1, 2, 3 succeeded (4 failed, 99 predates the backfill):
	// 3 in 30 days.
	if m.Deployments != 3 || *m.DeploymentsPerDay != 3.0/30 {
		t.Fatalf("deployments %d (%v/day), want 3 (0.1/day)", m.Deployments, *m.DeploymentsPerDay)
	}
	// Deployment 1 is the first seen: no changes. Deployment 2 (finished
	// at its success status, t0+6h) ships x1, x2, c2 authored at 2, 3, 4 h:
	// 4, 3, 2 h. Deployment 3 (first success at t0+11h) ships c3 from 9 h: 2 h.
	// Median of 2, 2, 3, 4 h = 2.5 h.
	if m.Changes != 4 || *m.LeadTime != 150*time.Minute {
		t.Fatalf("changes %d, lead time %v; want 4, 2h30m", m.Changes, *m.LeadTime)
	}
	// #10 starts 30 m after deployment 3: caused by it; #12 names deployment
	// 1; the pull request #11 is not an incident. 2 of 3 failed.
	if m.FailedDeployments != 2 || *m.ChangeFailureRate != 2.0/3 {
		t.Fatalf("failed %d, cfr %v; want 2, 2/3", m.FailedDeployments, *m.ChangeFailureRate)
	}
	// Restored: #10 in 30 m, #12 in 1 h; #13 is open. Median 45 m.
	if m.Restored != 2 || *m.TimeToRestore != 45*time.Minute {
		t.Fatalf("restored %d in %v; want 2 in 45m", m.Restored, *m.TimeToRestore)
	}
	if got := res.FourKeys.Recent[0]; got.ID != "github:org/api:deployment:3" || got.Author != "dev3" || !got.FinishedAt.Equal(f.t0.Add(11*h)) {
		t.Fatalf("latest deployment = %+v", got)
	}

	// The next poll asks conditionally: unchanged listings come back 304 and
	// the numbers stay the same.
	before := f.notModified
	res2, err := src.Fetch(ctx, board.Query{Source: "gh"})
	if err != nil {
		t.Fatal(err)
	}
	if f.notModified <= before || src.etags.notModified.Load() == 0 {
		t.Fatalf("no 304 on an unchanged listing (%d before, %d after)", before, f.notModified)
	}
	if res2.FourKeys.Current.Deployments != 3 || res2.FourKeys.Current.Changes != 4 {
		t.Fatalf("after the 304 poll: %+v", res2.FourKeys.Current)
	}
}

func TestSecondaryRateLimitBacksOff(t *testing.T) {
	f, src, _ := setup(t)
	f.secondaryHit = true
	_, err := src.Fetch(context.Background(), board.Query{Source: "gh"})
	var ra poller.RetryAfterError
	if !errors.As(err, &ra) || ra.RetryAfter() != 120*time.Second {
		t.Fatalf("err = %v, want a retry-after of 120 s", err)
	}
	// Asked again at once, the source does not call GitHub until the
	// Retry-After has passed.
	n := f.requests
	if _, err := src.Fetch(context.Background(), board.Query{Source: "gh"}); !errors.As(err, &ra) {
		t.Fatalf("second fetch err = %v, want a retry-after", err)
	}
	if f.requests != n {
		t.Fatalf("%d requests sent during the secondary rate limit, want none", f.requests-n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  board.SourceConfig
		want string
	}{
		{board.SourceConfig{ID: "gh"}, "repos"},
		{board.SourceConfig{ID: "gh", Repos: []string{"api"}}, `"api" is not owner/name`},
		{board.SourceConfig{ID: "gh", Repos: []string{"o/r"}, Backfill: "ninety days"}, "backfill"},
		{board.SourceConfig{ID: "gh", Repos: []string{"o/r"}, Token: &board.Secret{Env: "WB_TEST_UNSET_VAR"}}, "WB_TEST_UNSET_VAR is not set"},
	} {
		if _, err := New(tc.cfg, nil, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error mentioning %q", tc.cfg, err, tc.want)
		}
	}
}

func TestEnterpriseWithPrivateCA(t *testing.T) {
	f := &fakeGitHub{t: t, pageSize: 100, t0: time.Now().UTC().Add(-20 * 24 * h).Truncate(time.Second)}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	st := storetest.SQLite(t)
	cfg := board.SourceConfig{ID: "ghe", Kind: "github", URL: srv.URL, Repos: []string{"org/api"}, Headers: map[string]string{"X-Team": "sre"}}
	src, err := New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fetch(context.Background(), board.Query{Source: "ghe"}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: err = %v, want a certificate error", err)
	}
	cfg.TLS = &board.TLSConfig{CAFile: ca}
	src, err = New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := src.Fetch(context.Background(), board.Query{Source: "ghe"})
	if err != nil {
		t.Fatal(err)
	}
	if res.FourKeys.Current.Deployments != 3 {
		t.Fatalf("deployments = %d, want 3", res.FourKeys.Current.Deployments)
	}
	if f.team != "sre" {
		t.Fatalf("X-Team header = %q, want the configured sre", f.team)
	}
}
