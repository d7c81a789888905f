// Package github is the "github" source: deployments, the commits they
// shipped and incident issues of GitHub repositories (github.com or GitHub
// Enterprise), polled through go-github and stored as Four Keys events; tiles
// then compute from the store (store.FourKeysComputer).
//
// It backfills on first start (default 90 days), then polls incrementally
// with conditional requests (ETag → 304, which GitHub does not count against
// the rate limit), and it backs off on rate limits: it never hammers GitHub.
// It only reads from GitHub.
package github

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v82/github"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
)

// Store is what the source needs of the store.
type Store interface {
	store.FourKeysImporter
	DeploymentBefore(ctx context.Context, service string, t time.Time) (fourkeys.Deployment, bool, error)
	NextDeployment(ctx context.Context, service string, t time.Time) (fourkeys.Deployment, bool, error)
	DeploymentIDs(ctx context.Context, source string) (map[string]bool, error)
}

// Defaults.
const (
	defaultBackfill    = 90 * fourkeys.Day
	defaultEnvironment = "production"
	defaultLabel       = "incident"
	// noIncidents as incident_label: the repositories' issues are not read;
	// change failure rate and time to restore are "not measured".
	noIncidents = "none"
	// minSync is the least time between two syncs with GitHub, however many
	// tiles poll the source.
	minSync = time.Minute
	// lowRemaining: below this many requests left, stop until the reset.
	lowRemaining = 20
	perPage      = 100
	maxPages     = 100 // per listing: 10,000 items
)

// Source polls GitHub for the Four Keys events of its repositories.
type Source struct {
	id                            string
	cfg                           board.SourceConfig
	client                        *gh.Client
	etags                         *etagTransport
	repos                         []*repoState
	env, workflow, label, service string
	backfill                      time.Duration
	store                         Store
	keys                          *store.FourKeysComputer
	now                           func() time.Time
	minSync                       time.Duration
	mu                            sync.Mutex               // guards the two below
	pauseUntil                    time.Time                // a rate limit: no call before
	pauseErr                      error                    // the rate limit's error
	sec                           map[*repoState]*secState // security alerts per repository (guarded by mu)
}

type repoState struct {
	mu                sync.Mutex // held during the repository's sync; guards the rest
	owner, name, full string
	defaultBranch     string
	since             time.Time       // deployments created before are done
	issuesSince       time.Time       // issues updated before are stored
	done              map[string]bool // deployment ids stored or given up on
	based             bool            // the compare base before the backfill horizon is stored (or there is none)
	lastSync          time.Time       // last successful sync
	err               error           // the last sync's failure; nil after a success
}

// New builds the source from its config; it does not call GitHub yet.
func New(cfg board.SourceConfig, st Store, httpClient *http.Client) (*Source, error) {
	if len(cfg.Repos) == 0 {
		return nil, errors.New("github: repos: list at least one owner/name")
	}
	backfill, err := board.ParseDuration(cfg.Backfill, defaultBackfill)
	if err != nil {
		return nil, fmt.Errorf("github: backfill: %w", err)
	}
	token, err := cfg.Token.Resolve()
	if err != nil {
		return nil, fmt.Errorf("github: token: %w", err)
	}
	if httpClient == nil {
		rt, err := transportFor(cfg)
		if err != nil {
			return nil, err
		}
		httpClient = &http.Client{Transport: rt}
	}
	timeout := cfg.Timeout
	if timeout <= 0 { // a config built in code, not parsed
		timeout = board.DefaultTimeout
	}
	base := httpClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	etags := newETagTransport(retryTransport{next: base}, 1024)
	hc := *httpClient
	hc.Transport = etags
	hc.Timeout = timeout
	client := gh.NewClient(&hc)
	if token != "" {
		client = client.WithAuthToken(token)
	}
	if cfg.URL != "" {
		if client, err = client.WithEnterpriseURLs(cfg.URL, cfg.URL); err != nil {
			return nil, fmt.Errorf("github: url %q: %w", cfg.URL, err)
		}
	}
	s := &Source{id: cfg.ID, cfg: cfg, client: client, etags: etags, env: cfg.Environment, workflow: cfg.Workflow,
		label: cfg.IncidentLabel, service: cfg.Service, backfill: backfill, store: st, now: time.Now, minSync: minSync}
	if s.env == "" {
		s.env = defaultEnvironment
	}
	if s.label == "" {
		s.label = defaultLabel
	}
	for _, r := range cfg.Repos {
		owner, name, ok := strings.Cut(r, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("github: repos: %q is not owner/name", r)
		}
		s.repos = append(s.repos, &repoState{owner: owner, name: name, full: r, done: map[string]bool{}})
	}
	var scope fourkeys.Scope
	if len(s.repos) == 1 {
		scope.Repo = s.repos[0].full
	}
	set, err := board.FourKeysOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	s.keys = &store.FourKeysComputer{Store: st, Scope: scope, PostmortemLabel: cfg.PostmortemLabel, NoIncidentFeed: s.label == noIncidents, Settings: set}
	return s, nil
}

// serviceOf is the service a repository's deployments count for (the
// GitHub webhook uses the same rule: settingsOf).
func (s *Source) serviceOf(repo string) string { return s.settingsOf(repo).Service }

func (s *Source) settingsOf(repo string) RepoSettings { return settingsOf(s.cfg, repo) }

// Fetch syncs with GitHub (at most once a minute per repository) and
// computes the tile's Four Keys from the store. Only the tiles whose scope
// includes a repository whose sync failed get the error.
func (s *Source) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	if q.Kind == board.KindSecurity {
		return s.securityFetch(ctx, q)
	}
	s.sync(ctx, s.reposOf(q))
	if err := s.errFor(q); err != nil {
		return board.Result{}, err
	}
	return s.keys.Fetch(ctx, q)
}

// reposOf lists the repositories q's scope covers (a tile of one
// repository neither waits for nor fails with another).
func (s *Source) reposOf(q board.Query) []*repoState {
	kq, err := store.ParseFourKeysQuery(q, s.keys.Scope)
	if err != nil {
		return nil // the computation reports the bad query
	}
	var out []*repoState
	for _, r := range s.repos {
		if kq.Scope.Repo != "" && !strings.EqualFold(kq.Scope.Repo, r.full) ||
			kq.Scope.Service != "" && kq.Scope.Service != s.serviceOf(r.full) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// errFor is the failure of the repositories q's scope covers.
func (s *Source) errFor(q board.Query) error {
	var errs []error
	for _, r := range s.reposOf(q) {
		r.mu.Lock()
		if r.err != nil {
			errs = append(errs, r.err)
		}
		r.mu.Unlock()
	}
	err := errors.Join(errs...)
	var ra *poller.RetryError
	if errors.As(err, &ra) {
		// Keep the retry-after hint visible to the poller.
		err = &poller.RetryError{After: ra.After, Err: err}
	}
	return err
}

// syncAll brings the store up to date with every repository; it returns the
// failures (each repository keeps its own, see Fetch).
func (s *Source) syncAll(ctx context.Context) error { return s.sync(ctx, s.repos) }

func (s *Source) sync(ctx context.Context, repos []*repoState) error {
	var errs []error
	for _, r := range repos {
		if err := s.syncOne(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncOne syncs r unless it was synced within minSync or GitHub asked the
// client to wait. Repositories sync independently: a slow or failing one
// never holds up the tiles of another.
func (s *Source) syncOne(ctx context.Context, r *repoState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := s.now()
	if pauseErr := s.paused(now); pauseErr != nil {
		r.err = pauseErr // the limit is the client's: every repository waits
		return r.err
	}
	if r.err == nil && !r.lastSync.IsZero() && now.Sub(r.lastSync) < s.minSync {
		return nil
	}
	r.lastSync, r.err = now, nil
	if err := s.syncRepo(ctx, r, now); err != nil {
		r.err = fmt.Errorf("github: %s: %w", r.full, err)
		s.pauseOnRetryAfter(err, now, r.err)
		return r.err
	}
	return nil
}

// paused is the error GitHub's request to wait failed with while that wait
// lasts past now, nil otherwise.
func (s *Source) paused(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.pauseUntil) {
		return s.pauseErr // set with pauseUntil, never nil
	}
	return nil
}

// pauseOnRetryAfter pauses every repository's calls when err is GitHub
// asking the client to wait; reported is what they fail with meanwhile.
func (s *Source) pauseOnRetryAfter(err error, now time.Time, reported error) {
	var ra *poller.RetryError
	if errors.As(err, &ra) {
		s.mu.Lock()
		s.pauseUntil, s.pauseErr = now.Add(ra.After), reported
		s.mu.Unlock()
	}
}

// syncRepo stores what is new in r. What it fetched before a failure is
// stored, so the next sync resumes rather than starts again.
func (s *Source) syncRepo(ctx context.Context, r *repoState, now time.Time) error {
	if r.since.IsZero() {
		r.since = now.Add(-s.backfill)
		r.issuesSince = r.since
		ids, err := s.store.DeploymentIDs(ctx, s.id)
		if err != nil {
			return err
		}
		for id := range ids {
			r.done[id] = true
		}
	}
	found, ferr := s.deployments(ctx, r, now)
	sort.Slice(found, func(i, j int) bool { return found[i].FinishedAt.Before(found[j].FinishedAt) })
	for _, d := range found {
		if err := s.storeWithChanges(ctx, r, d); err != nil {
			return err
		}
		r.done[d.ID] = true
	}
	if ferr != nil {
		return ferr
	}
	r.based = true
	if err := s.incidents(ctx, r, now); err != nil {
		return err
	}
	// Deployments still in progress are looked at again for a day; after
	// that a deployment without success never succeeded.
	r.since = now.Add(-fourkeys.Day)
	return nil
}

// deployments lists successful deployments not yet stored.
func (s *Source) deployments(ctx context.Context, r *repoState, now time.Time) ([]fourkeys.Deployment, error) {
	if s.workflow != "" {
		return s.workflowRuns(ctx, r)
	}
	var out []fourkeys.Deployment
	opts := &gh.DeploymentsListOptions{Environment: s.env, ListOptions: gh.ListOptions{PerPage: perPage}}
	for page := 0; page < maxPages; page++ {
		deps, resp, err := s.client.Repositories.ListDeployments(ctx, r.owner, r.name, opts)
		if err := s.check(resp, err, "list deployments"); err != nil {
			return out, err
		}
		older := false
		for _, d := range deps {
			id := fourkeys.GitHubDeploymentID(r.full, d.GetID())
			// The last successful deployment before the backfill horizon
			// is stored too: it is the compare base of the first one after
			// it, whose changes would otherwise be lost.
			base := false
			if d.GetCreatedAt().Before(r.since) {
				older = true // newest first: the rest are older still
				if r.based {
					break
				}
				base = true
			}
			if !r.done[id] {
				at, ok, err := s.successAt(ctx, r, d.GetID())
				if err != nil {
					return out, err
				}
				if !ok {
					continue // not successful: no deployment, and no base
				}
				out = append(out, deploymentOf(r.full, s.settingsOf(r.full), d, at))
			}
			if base {
				r.based = true
				break
			}
		}
		if older && r.based || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// successAt is the time of a deployment's first success status.
func (s *Source) successAt(ctx context.Context, r *repoState, id int64) (time.Time, bool, error) {
	var first time.Time
	opts := &gh.ListOptions{PerPage: perPage}
	for page := 0; page < maxPages; page++ {
		sts, resp, err := s.client.Repositories.ListDeploymentStatuses(ctx, r.owner, r.name, id, opts)
		if err := s.check(resp, err, "deployment statuses"); err != nil {
			return first, false, err
		}
		for _, st := range sts {
			if st.GetState() == "success" && (first.IsZero() || st.GetCreatedAt().Before(first)) {
				first = st.GetCreatedAt().Time
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return first, !first.IsZero(), nil
}

// workflowRuns lists successful runs of the workflow on the default branch.
func (s *Source) workflowRuns(ctx context.Context, r *repoState) ([]fourkeys.Deployment, error) {
	if r.defaultBranch == "" {
		repo, resp, err := s.client.Repositories.Get(ctx, r.owner, r.name)
		if err := s.check(resp, err, "get repository"); err != nil {
			return nil, err
		}
		r.defaultBranch = repo.GetDefaultBranch()
	}
	var out []fourkeys.Deployment
	opts := &gh.ListWorkflowRunsOptions{Branch: r.defaultBranch, Status: "success",
		Created: ">=" + r.since.UTC().Format(time.RFC3339), ListOptions: gh.ListOptions{PerPage: perPage}}
	for page := 0; page < maxPages; page++ {
		runs, resp, err := s.client.Actions.ListWorkflowRunsByFileName(ctx, r.owner, r.name, path.Base(s.workflow), opts)
		if err := s.check(resp, err, "list workflow runs"); err != nil {
			return out, err
		}
		for _, run := range runs.WorkflowRuns {
			id := fourkeys.GitHubRunID(r.full, run.GetID())
			if r.done[id] || run.GetConclusion() != "success" || run.GetHeadBranch() != r.defaultBranch {
				continue
			}
			out = append(out, runDeployment(r.full, s.settingsOf(r.full), run))
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// storeWithChanges stores d with the commits between the previous
// deployment of its service and it (GitHub compare, paginated).
func (s *Source) storeWithChanges(ctx context.Context, r *repoState, d fourkeys.Deployment) error {
	prev, ok, err := s.store.DeploymentBefore(ctx, d.Service, d.FinishedAt)
	if err != nil {
		return err
	}
	var cs []fourkeys.Change
	if ok && prev.SHA != "" && prev.SHA != d.SHA {
		if cs, err = s.compare(ctx, r, prev.SHA, d); err != nil {
			return err
		}
	}
	err = s.store.InTx(ctx, func(tx *sql.Tx) error {
		if err := store.UpsertDeployment(ctx, tx, s.id, d); err != nil {
			return err
		}
		return store.UpsertChanges(ctx, tx, d, cs)
	})
	if err != nil {
		return err
	}
	// A deployment found late (a sync that failed half-way, a success after
	// a later deployment's) is the new base of the one after it.
	next, ok, err := s.store.NextDeployment(ctx, d.Service, d.FinishedAt)
	if err != nil || !ok || !strings.EqualFold(next.Repo, r.full) || !strings.HasPrefix(next.ID, "github:") || next.SHA == "" {
		return err
	}
	var ncs []fourkeys.Change
	if next.SHA != d.SHA {
		if ncs, err = s.compare(ctx, r, d.SHA, next); err != nil {
			return err
		}
	}
	return s.store.InTx(ctx, func(tx *sql.Tx) error { return store.ReplaceChanges(ctx, tx, next, ncs) })
}

// compare lists the commits in base...d.SHA. GitHub pages the commits of a
// comparison (per_page up to 100) and reports total_commits.
func (s *Source) compare(ctx context.Context, r *repoState, base string, d fourkeys.Deployment) ([]fourkeys.Change, error) {
	var cs []fourkeys.Change
	opts := &gh.ListOptions{PerPage: perPage}
	for page := 0; page < maxPages; page++ {
		cmp, resp, err := s.client.Repositories.CompareCommits(ctx, r.owner, r.name, base, d.SHA, opts)
		if err := s.check(resp, err, "compare "+short(base)+"..."+short(d.SHA)); err != nil {
			return nil, err
		}
		for _, c := range cmp.Commits {
			at := c.GetCommit().GetAuthor().GetDate().Time
			if c.GetSHA() == "" || at.IsZero() {
				continue
			}
			cs = append(cs, fourkeys.Change{SHA: strings.ToLower(c.GetSHA()), Service: d.Service, AuthoredAt: at.UTC(), DeploymentID: d.ID})
		}
		if resp.NextPage == 0 || len(cmp.Commits) == 0 || len(cs) >= cmp.GetTotalCommits() {
			break
		}
		opts.Page = resp.NextPage
	}
	return cs, nil
}

// incidents stores issues with the incident label updated since the last
// sync (pull requests excluded).
func (s *Source) incidents(ctx context.Context, r *repoState, now time.Time) error {
	if s.label == noIncidents {
		return nil
	}
	opts := &gh.IssueListByRepoOptions{Labels: []string{s.label}, State: "all", Since: r.issuesSince,
		Sort: "updated", Direction: "asc", ListOptions: gh.ListOptions{PerPage: perPage}}
	var ins []fourkeys.Incident
	latest := r.issuesSince
	for page := 0; page < maxPages; page++ {
		issues, resp, err := s.client.Issues.ListByRepo(ctx, r.owner, r.name, opts)
		if err := s.check(resp, err, "list issues"); err != nil {
			return err
		}
		for _, is := range issues {
			in, ok, err := incidentFromIssue(r.full, is, func(string) RepoSettings { return s.settingsOf(r.full) })
			if err != nil || !ok {
				continue // a pull request, or an issue without what an incident needs
			}
			ins = append(ins, in)
			if u := is.GetUpdatedAt().Time; u.After(latest) {
				latest = u
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.ListOptions.Page = resp.NextPage
	}
	if len(ins) > 0 {
		err := s.store.InTx(ctx, func(tx *sql.Tx) error {
			for _, in := range ins {
				if err := store.UpsertIncident(ctx, tx, s.id, in); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	r.issuesSince = latest
	return nil
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// defaultRetryAfter is the wait after a secondary limit without Retry-After
// (GitHub's documentation asks for at least a minute).
const defaultRetryAfter = time.Minute

// check turns a go-github outcome into an error, mapping rate limits
// (primary: 403 with X-RateLimit-Remaining 0; secondary: 403/429 with
// Retry-After) to poller.RetryError. A successful response that leaves few
// requests is also an error, so the sync stops before GitHub must refuse.
func (s *Source) check(resp *gh.Response, err error, what string) error {
	if err != nil {
		var rl *gh.RateLimitError
		var ab *gh.AbuseRateLimitError
		var er *gh.ErrorResponse
		switch {
		case errors.As(err, &rl):
			return &poller.RetryError{After: max(time.Until(rl.Rate.Reset.Time), time.Second), Err: fmt.Errorf("%s: rate limit exhausted until %s", what, rl.Rate.Reset.Format(time.RFC3339))}
		case errors.As(err, &ab):
			after := defaultRetryAfter
			if ab.RetryAfter != nil && *ab.RetryAfter > 0 {
				after = *ab.RetryAfter
			}
			return &poller.RetryError{After: after, Err: fmt.Errorf("%s: secondary rate limit, retrying after %s", what, after)}
		case errors.As(err, &er) && er.Response != nil && (er.Response.StatusCode == http.StatusTooManyRequests ||
			er.Response.StatusCode == http.StatusForbidden && er.Response.Header.Get("Retry-After") != ""):
			after := defaultRetryAfter
			if n, perr := strconv.Atoi(er.Response.Header.Get("Retry-After")); perr == nil && n > 0 {
				after = time.Duration(n) * time.Second
			}
			return &poller.RetryError{After: after, Err: fmt.Errorf("%s: rate limited (%d), retrying after %s", what, er.Response.StatusCode, after)}
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if resp != nil && resp.Rate.Limit > 0 && resp.Rate.Remaining < lowRemaining && resp.Rate.Reset.After(time.Now()) {
		return &poller.RetryError{After: time.Until(resp.Rate.Reset.Time),
			Err: fmt.Errorf("%s: only %d requests left until %s; pausing", what, resp.Rate.Remaining, resp.Rate.Reset.Format(time.RFC3339))}
	}
	return nil
}
