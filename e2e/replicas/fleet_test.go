package replicas

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Behind a load balancer the TV's /pair, the admin's approval and the TV's
// wait each land on any replica. The code shown by A is approved on B and
// the TV's wait on C receives its screen link; that link opens the board
// (page and websocket) on every replica (only paired TVs see the boards).
// B's fleet page shows the screen connected to A, B's steering reaches it
// there, and B's revocation closes its socket on A.
func TestPairingAndFleetAcrossReplicas(t *testing.T) {
	be := newBackend(t)
	g := newGroupAccess(t, be, "screens, screens: [{name: spare, token_sha256: "+strings.Repeat("ab", 32)+"}]")
	a, b, c := g.start(nil), g.start(nil), g.start(nil)
	jar, _ := cookiejar.New(nil)
	tv := &http.Client{Jar: jar}
	resp, err := tv.Get("http://" + a.addr + "/pair")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := codeRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no pairing code on A's /pair: %.300s", body)
	}
	code := string(m[1])
	// The TV's cookies go with it to C, as they would to one host.
	au, _ := url.Parse("http://" + a.addr + "/pair")
	cu, _ := url.Parse("http://" + c.addr + "/pair")
	jar.SetCookies(cu, jar.Cookies(au))
	if st := pairWait(t, tv, c); st.State != "waiting" {
		t.Fatalf("C's /pair/wait before approval = %+v, want waiting", st)
	}
	st, id := approve(t, b, code, "hall-tv")
	if st != 200 || id == "" {
		t.Fatalf("approving A's code on B: HTTP %d", st)
	}
	if st := pairWait(t, tv, c); st.State != "paired" || st.URL != "/boards/ops" {
		t.Fatalf("C's /pair/wait after B approved A's code = %+v, want paired with /boards/ops", st)
	}
	var cookie string
	for _, ck := range jar.Cookies(cu) {
		if ck.Name == "wallboard_tv" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("no screen credential after C's wait said paired")
	}
	// The code is used: approving it again, on any replica, is refused.
	for _, p := range []*proc{a, c} {
		if st, _ := approve(t, p, code, "again"); st != http.StatusForbidden {
			t.Errorf("approving a used code on %s: HTTP %d, want 403", p.name, st)
		}
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The link opens the board on p; the screen's socket there is returned.
	open := func(p *proc) *screen {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/boards/ops", nil)
		req.Header.Set("Cookie", cookie)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("the paired TV's board on %s: HTTP %d (to %q), want 200", p.name, resp.StatusCode, resp.Header.Get("Location"))
		}
		s := openScreen(t, p, http.Header{"Cookie": {cookie}})
		eventually(t, 30*time.Second, "the paired screen's board on "+p.name, func() bool { return s.has(`id="tile-ops-rps"`) })
		return s
	}
	onA := open(a)

	// Only A holds the screen (and has its report): B's fleet page shows
	// it connected, with what A saw.
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.addr+"/pair/hello", strings.NewReader(`{"w":1234,"h":567,"dpr":2,"build":"b1"}`))
	req.Header.Set("Cookie", cookie)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("hello to A: HTTP %d", resp.StatusCode)
	}
	eventually(t, 30*time.Second, "B's fleet page showing the screen connected to A, with A's report", func() bool {
		f := fleetOf(t, b, id)
		return f.Connected && f.W == 1234 && f.H == 567 && f.Build == "b1" && !f.Beat.IsZero()
	})
	steer(t, b, id, "identify")
	eventually(t, 30*time.Second, "B's identify on A's screen", func() bool { return onA.has(`data-cmd="identify"`) && onA.has(`data-arg="hall-tv"`) })
	steer(t, b, id, "reload")
	eventually(t, 30*time.Second, "B's reload on A's screen", func() bool { return onA.has(`data-cmd="reload"`) })

	// The link works on the others too; B's revocation closes every socket.
	sockets := []*screen{onA, open(b), open(c)}
	steer(t, b, id, "revoke")
	eventually(t, 30*time.Second, "every replica closing the socket of the screen B revoked", func() bool {
		for _, s := range sockets {
			if !s.closed.Load() {
				return false
			}
		}
		return true
	})
}

type fleetScreen struct {
	ID        string
	Connected bool
	Beat      time.Time
	W, H      int
	Build     string
}

// fleetOf is screen id as p's fleet page (JSON) shows it.
func fleetOf(t testing.TB, p *proc, id string) fleetScreen {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+p.addr+"/admin/screens", nil)
	req.SetBasicAuth("admin", adminToken)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fleetScreen{}
	}
	defer resp.Body.Close()
	var list []fleetScreen
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("fleet page of %s: %v", p.name, err)
	}
	for _, sc := range list {
		if sc.ID == id {
			return sc
		}
	}
	return fleetScreen{}
}

type waitState struct{ State, URL string }

// pairWait is the TV's poll of p's /pair/wait.
func pairWait(t testing.TB, tv *http.Client, p *proc) waitState {
	t.Helper()
	resp, err := tv.Get("http://" + p.addr + "/pair/wait")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st waitState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/pair/wait on %s: %v", p.name, err)
	}
	return st
}

// approve approves code on p's fleet page: its status and the new
// screen's id.
func approve(t testing.TB, p *proc, code, name string) (int, string) {
	t.Helper()
	form := url.Values{"code": {code}, "name": {name}, "target": {"/boards/ops"}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/admin/screens/pair", strings.NewReader(form.Encode()))
	req.SetBasicAuth("admin", adminToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&got)
	return resp.StatusCode, got.ID
}
