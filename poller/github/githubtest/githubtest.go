// Package githubtest is one GitHub history told two ways for tests: as the
// REST API the github source polls (an httptest server, Enterprise layout
// under /api/v3/) and as the signed webhook deliveries GitHub would have sent
// while it happened. A test can then check that both paths give the same
// Four Keys, in any delivery order, with a share of API calls failing.
package githubtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v82/github"
)

// Commit is one commit of the default branch; Repo.Commits is the linear
// history, oldest first.
type Commit struct {
	SHA        string
	AuthoredAt time.Time
}

// status is one deployment status.
type status struct {
	ID        int64
	State     string // success, failure, in_progress...
	CreatedAt time.Time
}

// deployment is one GitHub deployment and its statuses.
type deployment struct {
	ID          int64
	SHA         string
	Environment string // "" = production
	CreatedAt   time.Time
	Creator     string
	Statuses    []status
}

// issueState is an issue as one issues event (action) showed it.
type issueState struct {
	Action    string // opened, labeled, unlabeled, closed, reopened
	UpdatedAt time.Time
	Closed    time.Time // zero while open
	Labels    []string
}

// issue is an issue and the states its events showed, in time order; the
// API serves the last one.
type issue struct {
	Number    int
	Title     string
	Body      string
	CreatedAt time.Time
	History   []issueState
}

// Repo is one repository's history.
type Repo struct {
	FullName    string // owner/name
	Commits     []Commit
	deployments []deployment
	issues      []issue
	// pushSize is how many commits one push event carries (default 1).
	pushSize int
	// AlwaysFail makes every API call about this repository answer 500.
	AlwaysFail bool

	// Open and closed security alerts (GitHub lists the open ones when
	// asked state=open). Dependabot pages by cursor (after=), the others
	// by page number, as GitHub does.
	Dependabot, CodeScanning, SecretScanning []SecurityAlert
	// SecretScanningStatus, when set, answers secret scanning with this
	// status (403: the token may not read it).
	SecretScanningStatus int
}

// SecurityAlert is one Dependabot, code scanning or secret scanning alert.
type SecurityAlert struct {
	Number    int
	Severity  string // critical, high, medium, low; code scanning: "" for a non-security rule
	CreatedAt time.Time
	Closed    bool // fixed or dismissed
}

// Server is the fake GitHub REST API.
type Server struct {
	*httptest.Server
	// FailRate is the share of calls answered 502 at random (seeded).
	FailRate float64
	pageSize int // default 2: everything is paged

	mu       sync.Mutex
	rnd      *rand.Rand
	repos    map[string]*Repo
	Requests int
	Failed   int
	// notModified counts 304s answered to If-None-Match (security listings).
	notModified int
	// paths counts the requests per URL path.
	paths map[string]int
}

// New serves repos until the test ends; seed drives the random failures.
func New(t testing.TB, seed uint64, repos ...*Repo) *Server {
	s := &Server{pageSize: 2, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), repos: map[string]*Repo{}}
	for _, r := range repos {
		s.repos[strings.ToLower(r.FullName)] = r
	}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

// Stats are the calls answered with a failure, and all calls.
func (s *Server) Stats() (failed, requests int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Failed, s.Requests
}

// NotModifiedCount is how many requests were answered 304.
func (s *Server) NotModifiedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notModified
}

// APIURL is the API base for a github source's url: (Enterprise layout).
func (s *Server) APIURL() string { return s.Server.URL + "/api/v3/" }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Requests++
	if s.paths == nil {
		s.paths = map[string]int{}
	}
	s.paths[r.URL.Path]++
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4000")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/api/v3/repos/"), "/", 3)
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	repo := s.repos[strings.ToLower(parts[0]+"/"+parts[1])]
	if repo == nil {
		http.NotFound(w, r)
		return
	}
	if repo.AlwaysFail {
		s.Failed++
		http.Error(w, `{"message":"Server Error"}`, http.StatusInternalServerError)
		return
	}
	if s.FailRate > 0 && s.rnd.Float64() < s.FailRate {
		s.Failed++
		http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
		return
	}
	rest := ""
	if len(parts) == 3 {
		rest = parts[2]
	}
	q := r.URL.Query()
	switch {
	case rest == "":
		writeJSON(w, map[string]any{"full_name": repo.FullName, "default_branch": "main"})
	case rest == "deployments":
		env := q.Get("environment")
		var out []map[string]any
		deps := append([]deployment(nil), repo.deployments...)
		sort.Slice(deps, func(i, j int) bool { return deps[i].CreatedAt.After(deps[j].CreatedAt) }) // newest first
		for _, d := range deps {
			if env != "" && !strings.EqualFold(env, d.env()) {
				continue
			}
			out = append(out, map[string]any{"id": d.ID, "sha": d.SHA, "environment": d.env(),
				"created_at": d.CreatedAt.UTC().Format(time.RFC3339), "creator": map[string]any{"login": d.Creator}})
		}
		s.page(w, r, out, nil)
	case strings.HasPrefix(rest, "deployments/") && strings.HasSuffix(rest, "/statuses"):
		id, _ := strconv.ParseInt(strings.Split(rest, "/")[1], 10, 64)
		var out []map[string]any
		for _, d := range repo.deployments {
			if d.ID != id {
				continue
			}
			sts := append([]status(nil), d.Statuses...)
			sort.Slice(sts, func(i, j int) bool { return sts[i].ID > sts[j].ID }) // newest first
			for _, st := range sts {
				out = append(out, map[string]any{"id": st.ID, "state": st.State, "created_at": st.CreatedAt.UTC().Format(time.RFC3339)})
			}
		}
		s.page(w, r, out, nil)
	case strings.HasPrefix(rest, "compare/"):
		base, head, _ := strings.Cut(strings.TrimPrefix(rest, "compare/"), "...")
		cs := repo.between(base, head)
		var out []map[string]any
		for _, c := range cs {
			out = append(out, map[string]any{"sha": c.SHA, "commit": map[string]any{"author": map[string]any{"name": "dev", "date": c.AuthoredAt.UTC().Format(time.RFC3339)}}})
		}
		s.page(w, r, out, func(page any) any { return map[string]any{"total_commits": len(cs), "commits": page} })
	case rest == "dependabot/alerts" || rest == "code-scanning/alerts" || rest == "secret-scanning/alerts":
		if rest == "secret-scanning/alerts" && repo.SecretScanningStatus != 0 {
			w.WriteHeader(repo.SecretScanningStatus)
			fmt.Fprint(w, `{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest/secret-scanning"}`)
			return
		}
		s.securityAlerts(w, r, repo, rest)
	case rest == "issues":
		label := q.Get("labels")
		since, _ := time.Parse(time.RFC3339, q.Get("since"))
		var out []map[string]any
		iss := append([]issue(nil), repo.issues...)
		sort.Slice(iss, func(i, j int) bool { return iss[i].last().UpdatedAt.Before(iss[j].last().UpdatedAt) })
		for _, is := range iss {
			st := is.last()
			if st.UpdatedAt.Before(since) || (label != "" && !hasLabel(st.Labels, label)) {
				continue
			}
			out = append(out, is.json(st))
		}
		s.page(w, r, out, nil)
	default:
		http.NotFound(w, r)
	}
}

// securityAlerts lists one kind of alert the way GitHub does, with an ETag
// per page (If-None-Match → 304).
func (s *Server) securityAlerts(w http.ResponseWriter, r *http.Request, repo *Repo, rest string) {
	var list []SecurityAlert
	switch rest {
	case "dependabot/alerts":
		list = repo.Dependabot
	case "code-scanning/alerts":
		list = repo.CodeScanning
	default:
		list = repo.SecretScanning
	}
	state := r.URL.Query().Get("state")
	items := []map[string]any{}
	for _, a := range list {
		st := "open"
		if a.Closed {
			st = map[string]string{"dependabot/alerts": "fixed", "code-scanning/alerts": "dismissed"}[rest]
			if st == "" {
				st = "resolved"
			}
		}
		if state != "" && state != st {
			continue
		}
		m := map[string]any{"number": a.Number, "state": st, "created_at": a.CreatedAt.UTC().Format(time.RFC3339),
			"html_url": fmt.Sprintf("https://github.example/%s/security/%d", repo.FullName, a.Number)}
		switch rest {
		case "dependabot/alerts":
			m["security_advisory"] = map[string]any{"severity": a.Severity, "ghsa_id": fmt.Sprintf("GHSA-%04d", a.Number)}
			m["security_vulnerability"] = map[string]any{"severity": a.Severity}
		case "code-scanning/alerts":
			rule := map[string]any{"id": "rule", "severity": "error"}
			if a.Severity != "" {
				rule["security_severity_level"] = a.Severity
			}
			m["rule"] = rule
		default:
			m["secret_type_display_name"] = "Token"
		}
		items = append(items, m)
	}
	size := s.pageSize
	if n, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && n > 0 && n < size {
		size = n
	}
	// Dependabot's cursor is the index of the next item; the others page.
	lo := 0
	cursor := rest == "dependabot/alerts"
	if cursor {
		lo, _ = strconv.Atoi(r.URL.Query().Get("after"))
	} else if p, _ := strconv.Atoi(r.URL.Query().Get("page")); p > 1 {
		lo = (p - 1) * size
	}
	lo = min(max(lo, 0), len(items))
	hi := min(lo+size, len(items))
	if hi < len(items) {
		q := r.URL.Query()
		if cursor {
			q.Set("after", strconv.Itoa(hi))
		} else {
			q.Set("page", strconv.Itoa(hi/size+1))
		}
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.Path, q.Encode()))
	}
	b, _ := json.Marshal(items[lo:hi])
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(b))
	if r.Header.Get("If-None-Match") == etag {
		s.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func hasLabel(ls []string, l string) bool {
	for _, x := range ls {
		if strings.EqualFold(x, l) {
			return true
		}
	}
	return false
}

func (d deployment) env() string {
	if d.Environment == "" {
		return "production"
	}
	return d.Environment
}

func (is issue) last() issueState { return is.History[len(is.History)-1] }

func (is issue) json(st issueState) map[string]any {
	labels := []map[string]any{}
	for _, l := range st.Labels {
		labels = append(labels, map[string]any{"name": l})
	}
	m := map[string]any{"number": is.Number, "title": is.Title, "body": is.Body, "state": "open",
		"created_at": is.CreatedAt.UTC().Format(time.RFC3339), "updated_at": st.UpdatedAt.UTC().Format(time.RFC3339),
		"labels": labels, "closed_at": nil, "html_url": "https://github.example/issues/" + strconv.Itoa(is.Number)}
	if !st.Closed.IsZero() {
		m["state"] = "closed"
		m["closed_at"] = st.Closed.UTC().Format(time.RFC3339)
	}
	return m
}

// between is the commits after base up to and including head.
func (r *Repo) between(base, head string) []Commit {
	lo, hi := -1, -1
	for i, c := range r.Commits {
		if c.SHA == base {
			lo = i
		}
		if c.SHA == head {
			hi = i
		}
	}
	if lo < 0 || hi < 0 || hi <= lo {
		return nil
	}
	return r.Commits[lo+1 : hi+1]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// page writes one page of items (Link to the next page).
func (s *Server) page(w http.ResponseWriter, r *http.Request, items []map[string]any, wrap func(any) any) {
	size := s.pageSize
	if n, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && n > 0 && n < size {
		size = n
	}
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p < 1 {
		p = 1
	}
	lo, hi := min((p-1)*size, len(items)), min(p*size, len(items))
	if hi < len(items) {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p+1))
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.Path, q.Encode()))
	}
	var body any = items[lo:hi]
	if items == nil {
		body = []any{}
	}
	if wrap != nil {
		body = wrap(body)
	}
	writeJSON(w, body)
}

// Delivery is one webhook delivery as GitHub sends it.
type Delivery struct {
	Event string // X-GitHub-Event
	ID    string // X-GitHub-Delivery
	body  []byte
}

// Request is the delivery as a signed POST to url.
func (d Delivery) Request(url, secret string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(d.body)))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(d.body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.ID)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	return req
}

// Deliveries are the push, deployment_status and issues deliveries of r
// in the order the events happened.
func (r *Repo) Deliveries() []Delivery {
	type timed struct {
		at time.Time
		d  Delivery
	}
	var all []timed
	ghRepo := &gh.PushEventRepository{FullName: gh.Ptr(r.FullName), DefaultBranch: gh.Ptr("main")}
	repo := &gh.Repository{FullName: gh.Ptr(r.FullName), DefaultBranch: gh.Ptr("main")}
	n := 0
	id := func(kind string) string { n++; return fmt.Sprintf("%s-%s-%d", r.FullName, kind, n) }
	// One push per deployed commit (a commit is pushed before it is
	// deployed) or per pushSize commits, delivered when its last commit was
	// authored.
	deployed := map[string]bool{}
	for _, d := range r.deployments {
		deployed[d.SHA] = true
	}
	size := max(r.pushSize, 1)
	for i := 0; i < len(r.Commits); {
		j := i
		for j < len(r.Commits) && j-i < size {
			j++
			if deployed[r.Commits[j-1].SHA] {
				break
			}
		}
		before := strings.Repeat("0", 40)
		if i > 0 {
			before = r.Commits[i-1].SHA
		}
		var hc []*gh.HeadCommit
		last := r.Commits[j-1]
		for _, c := range r.Commits[i:j] {
			hc = append(hc, &gh.HeadCommit{ID: gh.Ptr(c.SHA), Timestamp: &gh.Timestamp{Time: c.AuthoredAt.UTC()}, Message: gh.Ptr("change")})
		}
		ev := &gh.PushEvent{Ref: gh.Ptr("refs/heads/main"), Before: gh.Ptr(before), After: gh.Ptr(last.SHA), Commits: hc, Repo: ghRepo}
		b, _ := json.Marshal(ev)
		all = append(all, timed{last.AuthoredAt, Delivery{"push", id("push"), b}})
		i = j
	}
	for _, d := range r.deployments {
		dep := &gh.Deployment{ID: gh.Ptr(d.ID), SHA: gh.Ptr(d.SHA), Environment: gh.Ptr(d.env()),
			CreatedAt: &gh.Timestamp{Time: d.CreatedAt.UTC()}, Creator: &gh.User{Login: gh.Ptr(d.Creator)}}
		for _, st := range d.Statuses {
			ev := &gh.DeploymentStatusEvent{Action: gh.Ptr("created"), Deployment: dep, Repo: repo,
				DeploymentStatus: &gh.DeploymentStatus{ID: gh.Ptr(st.ID), State: gh.Ptr(st.State), CreatedAt: &gh.Timestamp{Time: st.CreatedAt.UTC()}}}
			b, _ := json.Marshal(ev)
			all = append(all, timed{st.CreatedAt, Delivery{"deployment_status", id("status"), b}})
		}
	}
	for _, is := range r.issues {
		for _, st := range is.History {
			body := map[string]any{"action": st.Action, "issue": is.json(st), "repository": map[string]any{"full_name": r.FullName, "default_branch": "main"}}
			b, _ := json.Marshal(body)
			all = append(all, timed{st.UpdatedAt, Delivery{"issues", id("issue"), b}})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	out := make([]Delivery, len(all))
	for i, t := range all {
		out[i] = t.d
	}
	return out
}

// Shuffled is ds in a random order drawn from seed.
func Shuffled(ds []Delivery, seed uint64) []Delivery {
	out := append([]Delivery(nil), ds...)
	rand.New(rand.NewPCG(seed, seed+1)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Sample is a repository with 100 days of history up to now: a deployment
// every 9 days (the first before a 90-day backfill horizon, the first after
// it inside the oldest week of a 12-week trend), two commits before each,
// a second success status on some deployments with a commit authored
// between the two, a failed and a staging deployment, and incident issues
// that are labelled late, unlabelled, closed or still open.
func Sample(fullName string, now time.Time) *Repo {
	t0 := now.UTC().Truncate(time.Hour).Add(-100 * 24 * time.Hour)
	r := &Repo{FullName: fullName, pushSize: 2}
	day := 24 * time.Hour
	var statusID int64 = 1000
	next := func() int64 { statusID++; return statusID }
	sha := func(i int) string { return fmt.Sprintf("%040x", 0xc0ffee000+i) }
	var deps []time.Time
	for k := 0; k < 12; k++ {
		at := t0.Add(time.Duration(9*k) * day)
		deps = append(deps, at)
		if k > 0 && (k-1)%3 == 0 {
			// authored between the previous deployment's two successes
			r.Commits = append(r.Commits, Commit{sha(len(r.Commits)), deps[k-1].Add(20 * time.Hour)})
		}
		r.Commits = append(r.Commits, Commit{sha(len(r.Commits)), at.Add(time.Hour)}, Commit{sha(len(r.Commits) + 1), at.Add(3 * time.Hour)})
		d := deployment{ID: int64(100 + k), SHA: r.Commits[len(r.Commits)-1].SHA, CreatedAt: at.Add(5 * time.Hour), Creator: fmt.Sprintf("dev%d", k),
			Statuses: []status{{next(), "in_progress", at.Add(5 * time.Hour)}, {next(), "success", at.Add(6 * time.Hour)}}}
		if k%3 == 1 {
			d.Statuses = append(d.Statuses, status{next(), "success", at.Add(30 * time.Hour)})
		}
		r.deployments = append(r.deployments, d)
		if k == 6 {
			r.deployments = append(r.deployments,
				deployment{ID: 500, SHA: d.SHA, CreatedAt: at.Add(7 * time.Hour), Creator: "ops", Statuses: []status{{next(), "failure", at.Add(8 * time.Hour)}}},
				deployment{ID: 501, SHA: d.SHA, Environment: "staging", CreatedAt: at.Add(2 * time.Hour), Creator: "ops", Statuses: []status{{next(), "success", at.Add(3 * time.Hour)}}})
		}
	}
	inc := []string{"incident"}
	r.issues = []issue{
		{Number: 1, Title: "checkout down", CreatedAt: deps[5].Add(7 * time.Hour), History: []issueState{
			{Action: "opened", UpdatedAt: deps[5].Add(7 * time.Hour), Labels: inc},
			{Action: "closed", UpdatedAt: deps[5].Add(9 * time.Hour), Closed: deps[5].Add(9 * time.Hour), Labels: inc}}},
		{Number: 2, Title: "slow search", CreatedAt: deps[8].Add(8 * time.Hour), History: []issueState{
			{Action: "opened", UpdatedAt: deps[8].Add(8 * time.Hour)},
			{Action: "labeled", UpdatedAt: deps[8].Add(8*time.Hour + 30*time.Minute), Labels: inc},
			{Action: "closed", UpdatedAt: deps[8].Add(12 * time.Hour), Closed: deps[8].Add(12 * time.Hour), Labels: inc}}},
		{Number: 3, Title: "not an incident after all", CreatedAt: deps[9].Add(7 * time.Hour), History: []issueState{
			{Action: "opened", UpdatedAt: deps[9].Add(7 * time.Hour), Labels: inc},
			{Action: "unlabeled", UpdatedAt: deps[9].Add(7*time.Hour + 10*time.Minute), Labels: []string{}}}},
		{Number: 4, Title: "login errors", CreatedAt: deps[10].Add(8 * time.Hour), History: []issueState{
			{Action: "opened", UpdatedAt: deps[10].Add(8 * time.Hour), Labels: inc},
			{Action: "closed", UpdatedAt: deps[10].Add(10 * time.Hour), Closed: deps[10].Add(10 * time.Hour), Labels: inc},
			{Action: "reopened", UpdatedAt: deps[10].Add(11 * time.Hour), Labels: inc}}},
	}
	return r
}
