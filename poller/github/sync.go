package github

// The incremental sync of one repository with GitHub's REST API: successful
// deployments (or workflow runs), the commits each shipped (compare against
// the previous deployment of its service), and incident issues, stored as
// Four Keys events through the mapping in github.go. Fetch runs it at most
// once a minute per repository.

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
	"time"

	gh "github.com/google/go-github/v82/github"

	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
)

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
