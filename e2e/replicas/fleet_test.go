package replicas

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// screensAccess: only paired TVs (or the spare link) see the boards, so a
// credential that one replica does not honour shows at once.
var screensAccess = "screens, screens: [{name: spare, token_sha256: " + strings.Repeat("ab", 32) + "}]"

// Behind a load balancer the TV's /pair, the admin's approval and the TV's
// wait each land on any replica: the code shown by A is approved on B, the
// TV's wait on C receives its screen link, and that link opens the board
// (page and websocket) on every replica.
func TestPairingCodeAcrossReplicas(t *testing.T) {
	be := newBackend(t)
	g := newGroupAccess(t, be, screensAccess)
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
	// The TV's cookies go with it to whichever replica answers.
	move := func(to *proc) {
		for _, from := range []*proc{a, b, c} {
			fu, _ := url.Parse("http://" + from.addr + "/pair")
			tu, _ := url.Parse("http://" + to.addr + "/pair")
			if from != to {
				jar.SetCookies(tu, jar.Cookies(fu))
			}
		}
	}
	move(c)
	if st := pairWait(t, tv, c); st.State != "waiting" {
		t.Fatalf("C's /pair/wait before approval = %+v, want waiting", st)
	}
	id := approve(t, b, code, "hall-tv")
	st := pairWait(t, tv, c)
	if st.State != "paired" || st.URL != "/boards/ops" {
		t.Fatalf("C's /pair/wait after B approved A's code = %+v, want paired with /boards/ops", st)
	}
	cu, _ := url.Parse("http://" + c.addr + "/")
	var cookie string
	for _, ck := range jar.Cookies(cu) {
		if ck.Name == "wallboard_tv" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("no screen credential after C's wait said paired")
	}
	// The code is used: approving it again (on any replica) is refused.
	for _, p := range []*proc{a, c} {
		if code := approveStatus(t, p, code, "again"); code != http.StatusForbidden {
			t.Errorf("approving a used code on %s: HTTP %d, want 403", p.name, code)
		}
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []*proc{a, b, c} {
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
	}
	t.Logf("screen %s paired: code from A, approved on B, collected on C", id)
}

// The fleet page of B shows a screen connected to A (connected, its
// viewport, lost once it goes), and B's steering reaches it on A.
func TestFleetAcrossReplicas(t *testing.T) {
	be := newBackend(t)
	g := newGroupAccess(t, be, screensAccess)
	a, b := g.start(nil), g.start(nil)
	cookie, id := pair(t, a, "hall-tv")
	s := openScreen(t, a, http.Header{"Cookie": {cookie}})
	eventually(t, 30*time.Second, "the paired screen's board on A", func() bool { return s.has(`id="tile-ops-rps"`) })
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.addr+"/pair/hello", strings.NewReader(`{"w":1234,"h":567,"dpr":2,"build":"b1"}`))
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("hello to A: HTTP %d", resp.StatusCode)
	}
	var last fleetScreen
	eventually(t, 30*time.Second, "B's fleet page showing the screen connected to A", func() bool {
		last = fleetOf(t, b, id)
		return last.Connected && last.W == 1234 && last.H == 567 && last.Build == "b1" && !last.Beat.IsZero()
	})

	// Steering from B reaches the screen's socket on A.
	steer(t, b, id, "identify")
	eventually(t, 30*time.Second, "B's identify on A's screen", func() bool { return s.has(`data-cmd="identify"`) && s.has(`data-arg="hall-tv"`) })
	steer(t, b, id, "reload")
	eventually(t, 30*time.Second, "B's reload on A's screen", func() bool { return s.has(`data-cmd="reload"`) })

	// A goes away without a word (SIGKILL): B no longer calls it connected.
	a.kill()
	eventually(t, 60*time.Second, "B's fleet page showing the screen of the killed A as lost", func() bool {
		last = fleetOf(t, b, id)
		return !last.Connected && !last.LostSince.IsZero()
	})
}

type fleetScreen struct {
	ID        string
	Connected bool
	LostSince time.Time
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

func approveStatus(t testing.TB, p *proc, code, name string) int {
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
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// approve approves code on p's fleet page and returns the new screen's id.
func approve(t testing.TB, p *proc, code, name string) string {
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
	if resp.StatusCode != 200 || got.ID == "" {
		t.Fatalf("approving code %s on %s: HTTP %d", code, p.name, resp.StatusCode)
	}
	return fmt.Sprint(got.ID)
}
