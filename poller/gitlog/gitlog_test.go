package gitlog

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/store/storetest"
)

// repo builds a git repository whose every commit and tag has a known time.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	r := &repo{t: t, dir: filepath.Join(t.TempDir(), "shop")}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.run(time.Now(), "init", "-q", "-b", "main")
	return r
}

func (r *repo) run(at time.Time, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=Ann", "-c", "user.email=ann@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
	date := at.Format(time.RFC3339)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date, "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes a file and commits it, authored at `authored` and committed at `committed`.
func (r *repo) commit(msg string, authored, committed time.Time) string {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, msg+".txt"), []byte(msg), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.run(committed, "add", ".")
	cmd := exec.Command("git", "-C", r.dir, "-c", "user.name=Ann", "-c", "user.email=ann@example.com", "-c", "commit.gpgsign=false", "commit", "-q", "-m", msg)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE="+authored.Format(time.RFC3339), "GIT_COMMITTER_DATE="+committed.Format(time.RFC3339), "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("commit: %v\n%s", err, out)
	}
	return r.run(committed, "rev-parse", "HEAD")
}

func report(t *testing.T, src *Source) *fourkeys.Report {
	t.Helper()
	res, err := src.Fetch(context.Background(), board.Query{Source: "git"})
	if err != nil {
		t.Fatal(err)
	}
	if res.FourKeys == nil {
		t.Fatal("no report")
	}
	return res.FourKeys
}

func TestTags(t *testing.T) {
	r := newRepo(t)
	t0 := time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(time.Second)
	h := time.Hour
	r.commit("one", t0, t0)
	r.run(t0.Add(h), "tag", "-a", "-m", "first release", "v1.0") // first deployment: no changes counted
	r.commit("two", t0.Add(2*h), t0.Add(2*h))
	r.commit("three", t0.Add(3*h), t0.Add(3*h))
	r.run(t0.Add(5*h), "tag", "-a", "-m", "release", "v1.1") // changes: 3 h and 2 h
	// A squash merge: the branch's commits are days old, but only the
	// squash commit (authored when squashed) reaches main.
	r.run(t0, "checkout", "-q", "-b", "feature")
	r.commit("f1", t0.Add(-48*h), t0.Add(-48*h))
	r.commit("f2", t0.Add(-47*h), t0.Add(-47*h))
	r.run(t0, "checkout", "-q", "main")
	r.run(t0.Add(6*h), "merge", "--squash", "-q", "feature")
	r.run(t0.Add(6*h), "commit", "-q", "-m", "squashed feature")
	// Clock skew: authored after the release it ships in.
	r.commit("skewed", t0.Add(30*h), t0.Add(7*h))
	r.run(t0.Add(8*h), "tag", "v1.2") // lightweight: time = committer date of "skewed" (t0+7h)
	r.run(t0.Add(9*h), "tag", "-a", "-m", "not a release", "nightly-1")

	s := storetest.SQLite(t)
	src, err := New(context.Background(), board.SourceConfig{ID: "git", Path: r.dir, TagPattern: "v*", Service: "shop"}, s)
	if err != nil {
		t.Fatal(err)
	}
	rep := report(t, src)
	m := rep.Current
	if m.Deployments != 3 {
		t.Fatalf("deployments = %d, want 3 (v1.0, v1.1, v1.2; nightly-1 does not match v*)", m.Deployments)
	}
	// v1.1: 3 h, 2 h. v1.2 at t0+7h: squash 1 h, skewed dropped. Median of 1, 2, 3 h = 2 h.
	if m.Changes != 3 || m.LeadTime == nil || *m.LeadTime != 2*h {
		t.Fatalf("changes %d, lead time %v; want 3, 2h", m.Changes, m.LeadTime)
	}
	if *m.DeploymentsPerDay != 3.0/30 {
		t.Fatalf("deployments per day = %v", *m.DeploymentsPerDay)
	}
	if got := rep.Recent[0]; got.ID != "gitlog:shop:v1.2" || !got.FinishedAt.Equal(t0.Add(7*h)) || got.Author != "Ann" {
		t.Fatalf("latest deployment = %+v", got)
	}
	if got := rep.Recent[1]; !got.FinishedAt.Equal(t0.Add(5 * h)) {
		t.Fatalf("v1.1 finished at %v, want the tagger date %v", got.FinishedAt, t0.Add(5*h))
	}

	// A new release is picked up on the next poll; nothing counts twice.
	r.commit("four", t0.Add(10*h), t0.Add(10*h))
	r.run(t0.Add(12*h), "tag", "-a", "-m", "release", "v1.3")
	rep = report(t, src)
	if rep.Current.Deployments != 4 || rep.Current.Changes != 4 {
		t.Fatalf("after v1.3: %d deployments, %d changes; want 4, 4", rep.Current.Deployments, rep.Current.Changes)
	}
	// A restart (new source, same store) recounts nothing.
	src2, err := New(context.Background(), board.SourceConfig{ID: "git", Path: r.dir, TagPattern: "v*", Service: "shop"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if rep := report(t, src2); rep.Current.Deployments != 4 || rep.Current.Changes != 4 {
		t.Fatalf("after restart: %d deployments, %d changes; want 4, 4", rep.Current.Deployments, rep.Current.Changes)
	}
}

func TestFirstParentMerges(t *testing.T) {
	r := newRepo(t)
	t0 := time.Now().UTC().Add(-20 * 24 * time.Hour).Truncate(time.Second)
	h := time.Hour
	r.commit("base", t0, t0)
	merge := func(branch string, at time.Time, commits ...time.Duration) {
		r.run(at, "checkout", "-q", "-b", branch)
		for i, c := range commits {
			r.commit(branch+string(rune('a'+i)), t0.Add(c), t0.Add(c))
		}
		r.run(at, "checkout", "-q", "main")
		r.run(at, "merge", "-q", "--no-ff", "-m", "merge "+branch, branch)
	}
	merge("one", t0.Add(2*h), 1*h)                 // first deployment
	merge("two", t0.Add(10*h), 3*h, 4*h)           // 7 h, 6 h
	merge("three", t0.Add(30*h), 29*h)             // 1 h
	r.commit("direct", t0.Add(31*h), t0.Add(31*h)) // on main, not yet merged = not deployed

	s := storetest.SQLite(t)
	src, err := New(context.Background(), board.SourceConfig{ID: "git", Path: r.dir, Branch: "main"}, s)
	if err != nil {
		t.Fatal(err)
	}
	rep := report(t, src)
	m := rep.Current
	if m.Deployments != 3 || m.Changes != 3 || *m.LeadTime != 6*h {
		t.Fatalf("deployments %d, changes %d, lead %v; want 3, 3, 6h", m.Deployments, m.Changes, m.LeadTime)
	}
	if src.service != "shop" || rep.Recent[0].Service != "shop" {
		t.Fatalf("service = %q, want the directory name", src.service)
	}
}

func TestNotARepository(t *testing.T) {
	_, err := New(context.Background(), board.SourceConfig{ID: "git", Path: t.TempDir(), TagPattern: "v*"}, storetest.SQLite(t))
	if err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Fatalf("err = %v, want not a git repository", err)
	}
	if _, err := New(context.Background(), board.SourceConfig{ID: "git", Path: t.TempDir(), TagPattern: "v[*"}, storetest.SQLite(t)); err == nil || !strings.Contains(err.Error(), "tag_pattern") {
		t.Fatalf("err = %v, want a tag_pattern error", err)
	}
}
