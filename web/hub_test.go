package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/app/apptest/runtest"
)

// hubServer serves websocket viewers of any board straight from a hub, the
// way handleWS does.
type hubServer struct {
	hub   *Hub
	srv   *httptest.Server
	conns sync.WaitGroup
}

func newHubServer(t *testing.T, hub *Hub) *hubServer {
	t.Helper()
	return newHubServerOn(t, hub, nil)
}

// newHubServerOn is newHubServer with the listener wrapped by wrap (nil:
// as is), e.g. to give accepted sockets small buffers.
func newHubServerOn(t *testing.T, hub *Hub, wrap func(net.Listener) net.Listener) *hubServer {
	t.Helper()
	hs := &hubServer{hub: hub}
	up := websocket.Upgrader{ReadBufferSize: 512, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{}, EnableCompression: true}
	hs.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		hub.attach(strings.TrimPrefix(r.URL.Path, "/"), conn, greeting(t), viewer{}, func() bool { hs.conns.Add(1); return true }, &hs.conns)
	}))
	if wrap != nil {
		hs.srv.Listener = wrap(hs.srv.Listener)
	}
	hs.srv.Start()
	t.Cleanup(func() {
		hub.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.wait(ctx)
		hs.srv.Close()
		hs.conns.Wait()
	})
	return hs
}

// greeting is the meta entry every new viewer gets first (handleWS renders
// one per connection).
func greeting(t *testing.T) entry {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte("hello"))
	if err != nil {
		t.Error(err)
	}
	return entry{msg: pm, n: 5}
}

// dial connects a viewer and reads its greeting.
func (hs *hubServer) dial(t *testing.T, boardID string) *websocket.Conn {
	t.Helper()
	c := hs.dialRaw(t, boardID)
	if got := readN(t, c, 1); got[0] != "hello" {
		t.Fatalf("first message %q, want the greeting", got[0])
	}
	return c
}

func (hs *hubServer) dialRaw(t *testing.T, boardID string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(hs.srv.URL, "http")+"/"+boardID, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func publish(t *testing.T, h *Hub, boardID, key string, seq uint64, payload string) {
	t.Helper()
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	h.publish(boardID, key, seq, pm, len(payload))
}

// readN reads n text messages, failing after a generous deadline.
func readN(t *testing.T, c *websocket.Conn, n int) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []string
	for range n {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(out), n, err)
		}
		out = append(out, string(b))
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	runtest.Eventually(t, 10*time.Second, what, func() (bool, string) { return cond(), "" })
}

func TestNewViewerGetsWholeBoardMetaFirst(t *testing.T) {
	h := NewHub()
	hs := newHubServer(t, h)
	publish(t, h, "b", "tile-a", 1, "a1")
	publish(t, h, "b", "tile-b", 2, "b1")
	publish(t, h, "b", metaKey, 3, "meta")
	publish(t, h, "b", "tile-a", 4, "a2")
	publish(t, h, "other", "tile-x", 5, "x")
	c := hs.dialRaw(t, "b")
	got := readN(t, c, 3)
	// The connection's own meta replaces the cached one, and comes first.
	want := []string{"hello", "a2", "b1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first messages %q, want %q", got, want)
	}
	// Then live updates, to every viewer.
	c2 := hs.dial(t, "b")
	readN(t, c2, 2)
	publish(t, h, "b", "tile-b", 6, "b2")
	for _, c := range []*websocket.Conn{c, c2} {
		if got := readN(t, c, 1); got[0] != "b2" {
			t.Fatalf("update %q, want b2", got[0])
		}
	}
	if h.viewerCount() != 2 {
		t.Fatalf("viewerCount() = %d, want 2", h.viewerCount())
	}
}

func TestOlderMessageNeverReplacesNewer(t *testing.T) {
	h := NewHub()
	hs := newHubServer(t, h)
	publish(t, h, "b", "tile-a", 5, "new")
	publish(t, h, "b", "tile-a", 3, "old")
	c := hs.dial(t, "b")
	if got := readN(t, c, 1); got[0] != "new" {
		t.Fatalf("got %q, want new", got[0])
	}
}

// A client that cannot be written to keeps only the newest message per tile,
// in first-offered order, and asks to be queued once.
func TestConflationPerTile(t *testing.T) {
	c := newClient(nil, NewHub())
	e := func(seq uint64) entry { return entry{seq: seq, n: int(seq)} }
	if !c.offer("a", e(1)) {
		t.Fatal("first offer must queue the client")
	}
	for i, k := range []string{"b", "a", "c", "b", "a"} {
		if c.offer(k, e(uint64(i+2))) {
			t.Fatalf("offer %d queued the client again", i)
		}
	}
	if c.offer("c", e(1)) {
		t.Fatal("older offer accepted")
	}
	var got []int
	for _, x := range c.take(nil) {
		got = append(got, x.n)
	}
	if fmt.Sprint(got) != "[6 5 4]" { // a (seq 6), b (seq 5), c (seq 4)
		t.Fatalf("pending %v, want [6 5 4]", got)
	}
	if len(c.take(nil)) != 0 {
		t.Fatal("take left messages behind")
	}
}

// A screen that stops reading must not delay the others: its writer blocks
// on a full socket while the other workers keep delivering. With one writer
// worker too: the worker stuck on it is replaced after HandOff.
func TestStuckViewerDoesNotDelayOthers(t *testing.T) {
	h := NewHub()
	h.writers = 1
	h.writeWait = 5 * time.Minute
	hs := newHubServer(t, h)
	hs.dial(t, "b") // stuck: never reads
	good := hs.dial(t, "b")
	waitFor(t, "two viewers", func() bool { return h.viewerCount() == 2 })
	// 64 tiles of 256 KiB: more than loopback socket buffers hold, so the
	// stuck viewer's writes block; the good viewer must get all of them.
	big := strings.Repeat("x", 256<<10)
	const tiles = 64
	var mu sync.Mutex
	received := 0
	done := make(chan error, 1)
	go func() {
		good.SetReadDeadline(time.Now().Add(time.Minute))
		for range tiles {
			if _, _, err := good.ReadMessage(); err != nil {
				done <- err
				return
			}
			mu.Lock()
			received++
			mu.Unlock()
		}
		done <- nil
	}()
	for i := range tiles {
		publish(t, h, "b", fmt.Sprintf("tile-%d", i), uint64(i+1), big)
	}
	if err := <-done; err != nil {
		t.Fatalf("good viewer after %d messages: %v", received, err)
	}
	// The stuck viewer is still connected (not yet timed out): the good one
	// was served while a worker was blocked on it, not after.
	if h.viewerCount() != 2 {
		t.Fatalf("viewerCount() = %d after the good viewer was served, want 2 (stuck one still blocked)", h.viewerCount())
	}
}

func TestCloseSendsGoingAway(t *testing.T) {
	h := NewHub()
	hs := newHubServer(t, h)
	publish(t, h, "b", "tile-a", 1, "a")
	var cs []*websocket.Conn
	for range 3 {
		c := hs.dial(t, "b")
		readN(t, c, 1)
		cs = append(cs, c)
	}
	h.Close()
	for i, c := range cs {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Fatalf("viewer %d: got %v, want close 1001", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.wait(ctx)
	if ctx.Err() != nil {
		t.Fatal("writers did not stop after Close")
	}
	waitFor(t, "viewers to go", func() bool { return h.viewerCount() == 0 })
	// A viewer arriving after Close is told to go away at once.
	c := hs.dialRaw(t, "b")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("late viewer: got %v, want close 1001", err)
	}
}

func TestViewersArePinged(t *testing.T) {
	h := NewHub()
	h.pingEvery = 50 * time.Millisecond
	hs := newHubServer(t, h)
	c := hs.dial(t, "b")
	pinged := make(chan struct{}, 1)
	c.SetPingHandler(func(data string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-time.After(10 * time.Second):
		t.Fatal("no ping")
	}
}

// A viewer that goes away is unsubscribed and its messages stop.
func TestGoneViewerIsUnsubscribed(t *testing.T) {
	h := NewHub()
	hs := newHubServer(t, h)
	c := hs.dial(t, "b")
	waitFor(t, "viewer", func() bool { return h.viewerCount() == 1 })
	c.Close()
	waitFor(t, "viewer gone", func() bool { return h.viewerCount() == 0 })
	publish(t, h, "b", "tile-a", 1, "a") // nobody to write to: must not block
	c2 := hs.dial(t, "b")
	if got := readN(t, c2, 1); got[0] != "a" {
		t.Fatalf("got %q, want a", got[0])
	}
}

// A worker replaced while it wrote a frame (the hand-off, here after 1 ns so
// that every write hands off) must still finish what its screen has pending.
// It used to requeue it instead, and when that happened during Close the
// pool had already stopped: the going-away frame was never sent, the socket
// never closed, and the page sat on it instead of reconnecting to the next
// server (a TV left on the old build after an upgrade).
func TestCloseReachesEveryViewerWhileWorkersHandOff(t *testing.T) {
	for round := range 5 {
		h := NewHub()
		h.handOff = time.Nanosecond
		hs := newHubServer(t, h)
		var cs []*websocket.Conn
		for range 20 {
			cs = append(cs, hs.dial(t, "b"))
		}
		for i := range 50 {
			publish(t, h, "b", fmt.Sprintf("tile-%d", i%5), uint64(i+1), strings.Repeat("x", 2000))
		}
		h.Close()
		for i, c := range cs {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				_, _, err := c.ReadMessage()
				if err == nil {
					continue // updates sent before the close frame
				}
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
					t.Fatalf("round %d, viewer %d: got %v, want close 1001", round, i, err)
				}
				break
			}
		}
	}
}

// A screen whose upgrade was answered just before shutdown may reach
// subscribe after Close. It must be turned away without starting writer
// workers: their WaitGroup.Add would race with the shutdown's Wait (seen in
// CI as a data race in App.Run under load).
func TestScreenJoiningDuringShutdownStartsNoWorkers(t *testing.T) {
	for range 300 {
		h := NewHub()
		h.Close()
		joined := make(chan bool, 1)
		go func() { joined <- h.subscribe("ops", newClient(nil, h), entry{}) }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		h.wait(ctx)
		cancel()
		if <-joined {
			t.Fatal("a screen joined a closed hub")
		}
	}
}

// TestHubForgetsRemovedBoards: after SetBoards without a board, the hub
// holds nothing of it: its screens are closed with 1008 (their pages reload
// and learn the board is gone), its fragments are dropped, and a late
// fragment for it (a poll of the previous config) does not bring it back.
func TestHubForgetsRemovedBoards(t *testing.T) {
	h := NewHub()
	hs := newHubServer(t, h)
	h.SetBoards([]string{"kept", "gone"})
	publish(t, h, "kept", "tile-kept-a", 1, "kept-a")
	publish(t, h, "gone", "tile-gone-a", 2, "gone-a")
	kept := hs.dial(t, "kept")
	gone := hs.dial(t, "gone")
	readN(t, kept, 1)
	readN(t, gone, 1)
	boards := func() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.boards) }
	if n := boards(); n != 2 {
		t.Fatalf("hub holds %d boards, want 2", n)
	}

	h.SetBoards([]string{"kept"})
	gone.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := gone.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "board removed" {
		t.Fatalf("the removed board's screen got %q, %v; want a 1008 close saying the board was removed", msg, err)
	}
	publish(t, h, "gone", "tile-gone-a", 3, "late")
	if n := boards(); n != 1 {
		t.Errorf("hub holds %d boards after the removal, want 1", n)
	}
	waitFor(t, "one viewer left", func() bool { return h.viewerCount() == 1 })
	publish(t, h, "kept", "tile-kept-a", 4, "kept-b")
	if got := readN(t, kept, 1); got[0] != "kept-b" {
		t.Errorf("the kept board's screen got %q", got[0])
	}
}
