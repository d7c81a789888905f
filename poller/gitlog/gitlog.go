// Package gitlog is the "gitlog" source: the Four Keys of a local git clone,
// with no credentials. Deployments are tags matching a glob (tag_pattern), or
// else the first-parent merges onto a branch; the changes of a deployment are
// the commits between the previous deployment and it (`git log prev..this`).
//
// It runs the git CLI (os/exec, with a timeout) and never writes to the
// repository: no fetch, no checkout. Keeping the clone up to date is the
// owner's business (a cron `git fetch --tags` or a CI checkout).
package gitlog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/store"
)

// Source reads deployments and changes from a git repository.
type Source struct {
	id, dir, pattern, branch, service, repo string
	timeout                                 time.Duration
	store                                   store.FourKeysImporter
	keys                                    *store.FourKeysComputer

	mu      sync.Mutex      // one sync at a time
	stored  map[string]bool // deployment ids already written
	lastSig string          // refs seen at the last sync: unchanged refs skip the scan
}

// New checks the configuration (the path must be a git work tree or bare
// repository) and builds the source.
func New(ctx context.Context, cfg board.SourceConfig, st store.FourKeysImporter) (*Source, error) {
	if cfg.Path == "" {
		return nil, errors.New("gitlog: path: required (a local clone)")
	}
	if cfg.TagPattern != "" {
		if _, err := path.Match(cfg.TagPattern, ""); err != nil {
			return nil, fmt.Errorf("gitlog: tag_pattern %q: %w", cfg.TagPattern, err)
		}
	}
	timeout := cfg.Timeout
	if timeout <= 0 { // a config built in code, not parsed
		timeout = board.DefaultTimeout
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("gitlog: path: %w", err)
	}
	s := &Source{id: cfg.ID, dir: abs, pattern: cfg.TagPattern, branch: cfg.Branch, service: cfg.Service,
		timeout: timeout, store: st, stored: map[string]bool{}}
	if s.pattern == "" && s.branch == "" {
		s.branch = "HEAD"
	}
	if _, err := s.git(ctx, "rev-parse", "--git-dir"); err != nil {
		return nil, fmt.Errorf("gitlog: %s is not a git repository: %w", cfg.Path, err)
	}
	if s.service == "" {
		s.service = filepath.Base(abs)
	}
	s.repo = s.service
	if len(cfg.Repos) == 1 {
		s.repo = cfg.Repos[0]
	}
	set, err := board.FourKeysOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("gitlog: %w", err)
	}
	s.keys = &store.FourKeysComputer{Store: st, Scope: fourkeys.Scope{Service: s.service}, PostmortemLabel: cfg.PostmortemLabel,
		NoIncidentFeed: true, Settings: set} // git history has no incidents
	return s, nil
}

// Fetch brings the store up to date with the repository, then computes the
// tile's Four Keys from the store.
func (s *Source) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	if err := s.sync(ctx); err != nil {
		return board.Result{}, err
	}
	return s.keys.Fetch(ctx, q)
}

// git runs one git command in the repository with the source's timeout.
func (s *Source) git(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", s.dir, "--no-pager"}, args...)...)
	// No prompts, no pager, no user config surprises in the output format.
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_PAGER=cat", "LC_ALL=C", "GIT_CONFIG_NOSYSTEM=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git %s: timed out after %s", args[0], s.timeout)
		}
		return nil, fmt.Errorf("git %s: %w: %s", args[0], err, msg)
	}
	return stdout.Bytes(), nil
}

// deployment is a deployment found in the history.
type deployment struct {
	name, sha, author string
	at                time.Time
}

// sync writes the deployments and changes found in the repository.
func (s *Source) sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sig, err := s.refsSignature(ctx)
	if err != nil {
		return err
	}
	if sig == s.lastSig {
		return nil
	}
	var deps []deployment
	if s.pattern != "" {
		deps, err = s.tagDeployments(ctx)
	} else {
		deps, err = s.mergeDeployments(ctx)
	}
	if err != nil {
		return err
	}
	type pending struct {
		d  fourkeys.Deployment
		cs []fourkeys.Change
	}
	var todo []pending
	for i, d := range deps {
		fd := fourkeys.Deployment{ID: "gitlog:" + s.service + ":" + d.name, Service: s.service, Repo: s.repo, SHA: d.sha, FinishedAt: d.at, Author: d.author}
		if s.stored[fd.ID] {
			continue
		}
		p := pending{d: fd}
		if i > 0 { // the first deployment has no known previous one
			if p.cs, err = s.changes(ctx, deps[i-1].sha, d.sha, fd); err != nil {
				return err
			}
		}
		todo = append(todo, p)
	}
	if len(todo) > 0 {
		err = s.store.InTx(ctx, func(tx *sql.Tx) error {
			for _, p := range todo {
				if err := store.UpsertDeployment(ctx, tx, s.id, p.d); err != nil {
					return err
				}
				if err := store.UpsertChanges(ctx, tx, p.d, p.cs); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("gitlog: %w", err)
		}
		for _, p := range todo {
			s.stored[p.d.ID] = true
		}
	}
	s.lastSig = sig
	return nil
}

// refsSignature changes whenever a tag or branch moves.
func (s *Source) refsSignature(ctx context.Context) (string, error) {
	out, err := s.git(ctx, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags", "refs/heads")
	if err != nil {
		return "", fmt.Errorf("gitlog: %w", err)
	}
	head, err := s.git(ctx, "rev-parse", "--verify", "--quiet", s.branchRef()+"^{commit}")
	if err != nil && s.pattern == "" {
		return "", fmt.Errorf("gitlog: branch %q: %w", s.branch, err)
	}
	return string(out) + string(head), nil
}

func (s *Source) branchRef() string {
	if s.branch == "" {
		return "HEAD"
	}
	return s.branch
}

// Field and record separators in git's output: NUL and RS never occur in
// names, shas or dates, and git escapes neither away.
const (
	fieldSep  = "\x00"
	recordSep = "\x1e"
)

// records splits git's output into records of exactly n fields each; git
// ends every record with recordSep and a newline of its own.
func records(out []byte, n int) ([][]string, error) {
	var recs [][]string
	for _, rec := range strings.Split(string(out), recordSep) {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		f := strings.Split(rec, fieldSep)
		if len(f) != n {
			return nil, fmt.Errorf("unexpected line %q", rec)
		}
		recs = append(recs, f)
	}
	return recs, nil
}

// tagDeployments lists tags matching the pattern, oldest first. A tag's
// time is its tagger date (annotated) or its commit's committer date
// (lightweight): git's creatordate.
func (s *Source) tagDeployments(ctx context.Context) ([]deployment, error) {
	out, err := s.git(ctx, "for-each-ref", "refs/tags",
		"--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)%00%(creatordate:iso-strict)%00%(taggername)%00%(authorname)%00%(*authorname)%1e")
	if err != nil {
		return nil, fmt.Errorf("gitlog: list tags: %w", err)
	}
	recs, err := records(out, 7)
	if err != nil {
		return nil, fmt.Errorf("gitlog: list tags: %w", err)
	}
	var deps []deployment
	for _, f := range recs {
		name := f[0]
		if ok, _ := path.Match(s.pattern, name); !ok {
			continue
		}
		sha := f[1]
		if f[2] != "" { // annotated: the tag object points at the commit
			sha = f[2]
		}
		at, err := time.Parse(time.RFC3339, f[3])
		if err != nil {
			return nil, fmt.Errorf("gitlog: tag %s: date %q: %w", name, f[3], err)
		}
		author := firstNonEmpty(f[4], f[5], f[6])
		deps = append(deps, deployment{name: name, sha: sha, author: author, at: at.UTC()})
	}
	// Only tags of commits: a tag of a tree or blob has no history.
	sort.SliceStable(deps, func(i, j int) bool {
		if !deps[i].at.Equal(deps[j].at) {
			return deps[i].at.Before(deps[j].at)
		}
		return deps[i].name < deps[j].name
	})
	return deps, nil
}

// mergeDeployments lists the first-parent merges onto the branch, oldest
// first; a merge's time is its committer date.
func (s *Source) mergeDeployments(ctx context.Context) ([]deployment, error) {
	out, err := s.git(ctx, "log", "--first-parent", "--merges", "--reverse", "--format=%H%x00%cI%x00%cn%x1e", s.branchRef(), "--")
	if err != nil {
		return nil, fmt.Errorf("gitlog: merges onto %s: %w", s.branchRef(), err)
	}
	recs, err := records(out, 3)
	if err != nil {
		return nil, fmt.Errorf("gitlog: merges: %w", err)
	}
	var deps []deployment
	for _, f := range recs {
		at, err := time.Parse(time.RFC3339, f[1])
		if err != nil {
			return nil, fmt.Errorf("gitlog: merge %s: date %q: %w", f[0], f[1], err)
		}
		deps = append(deps, deployment{name: f[0], sha: f[0], author: f[2], at: at.UTC()})
	}
	return deps, nil
}

// changes are the commits reachable from sha and not from prev, merges
// excluded (a merge commit carries no work of its own), with their author dates.
func (s *Source) changes(ctx context.Context, prev, sha string, d fourkeys.Deployment) ([]fourkeys.Change, error) {
	if prev == sha {
		return nil, nil // the same commit tagged twice: nothing new shipped
	}
	out, err := s.git(ctx, "log", "--no-merges", "--format=%H%x00%aI%x1e", prev+".."+sha, "--")
	if err != nil {
		return nil, fmt.Errorf("gitlog: commits %.12s..%.12s: %w", prev, sha, err)
	}
	recs, err := records(out, 2)
	if err != nil {
		return nil, fmt.Errorf("gitlog: commits: %w", err)
	}
	var cs []fourkeys.Change
	for _, f := range recs {
		at, err := time.Parse(time.RFC3339, f[1])
		if err != nil {
			return nil, fmt.Errorf("gitlog: commit %s: date %q: %w", f[0], f[1], err)
		}
		cs = append(cs, fourkeys.Change{SHA: f[0], Service: d.Service, AuthoredAt: at.UTC(), DeploymentID: d.ID})
	}
	return cs, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			return x
		}
	}
	return ""
}
