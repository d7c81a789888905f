package web

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Hub fans tile fragments out to every screen showing a board.
//
// Each fragment is rendered once and wrapped in one PreparedMessage (framed,
// and compressed if negotiated, once for all viewers). The hub keeps the latest
// message per tile per board, so a screen that connects gets the whole
// current board from memory, with no rendering, and a screen that falls behind
// gets the latest fragment per tile when it catches up, never a backlog: what
// a client can have queued is bounded by the number of tiles on its board.
type Hub struct {
	mu     sync.Mutex
	boards map[string]*boardHub
	// known are the boards of the running config (SetBoards); nil: any.
	known  map[string]bool
	closed bool

	// Writing: a queue of dirty clients (each at most once) drained by a few
	// writer workers, started with the first viewer and stopped by Close.
	start   sync.Once
	qmu     sync.Mutex
	qcond   sync.Cond
	queue   []*client
	qhead   int
	qclosed bool
	done    chan struct{} // closed by Close: stops the pinger
	workers sync.WaitGroup
	// writers is the number of writer workers (default 16), PingEvery how
	// often each screen is pinged (default 45 s), WriteWait how long a
	// stuck screen may take to accept a write before it is dropped
	// (default 5 s), HandOff how long a worker stays on one screen before
	// it leaves that screen to its own goroutine and a fresh worker takes
	// its place (default 5 ms; see writer). Set them before the first viewer.
	writers   int
	pingEvery time.Duration
	writeWait time.Duration
	handOff   time.Duration

	viewers atomic.Int64
	// metrics, when set, counts what the hub sends and its viewers (the
	// server sets it; a hub in a test may have none).
	metrics *Metrics
	// onScreenGone is told when a websocket of a paired screen ends.
	onScreenGone func(screen string)
}

type boardHub struct {
	mu      sync.Mutex
	clients map[*client]struct{}
	latest  map[string]entry
	order   []string // keys in first-published order; "meta" is always first
}

type entry struct {
	seq uint64
	msg *websocket.PreparedMessage
	n   int // payload bytes
}

// NewHub makes an empty hub.
func NewHub() *Hub {
	h := &Hub{boards: map[string]*boardHub{}, done: make(chan struct{})}
	h.qcond.L = &h.qmu
	return h
}

// startWorkers runs the writer workers and the pinger (once, with the first
// viewer, so a hub nobody watches costs no goroutines).
func (h *Hub) startWorkers() {
	h.start.Do(func() {
		n := h.writers
		if n <= 0 {
			n = defaultWriters
		}
		if h.pingEvery <= 0 {
			h.pingEvery = pingPeriod
		}
		if h.writeWait <= 0 {
			h.writeWait = writeWait
		}
		if h.handOff <= 0 {
			h.handOff = handOff
		}
		for range n {
			h.workers.Go(h.writer)
		}
		h.workers.Go(h.pinger)
	})
}

// enqueue puts clients that were just claimed (client.claim) on the queue.
func (h *Hub) enqueue(cs ...*client) {
	if len(cs) == 0 {
		return
	}
	h.qmu.Lock()
	if h.qclosed {
		h.qmu.Unlock()
		return
	}
	h.queue = append(h.queue, cs...)
	h.qmu.Unlock()
	if len(cs) == 1 {
		h.qcond.Signal()
	} else {
		h.qcond.Broadcast()
	}
}

// next blocks until a client is queued; false once the hub is closed and the
// queue is drained.
func (h *Hub) next() (*client, bool) {
	h.qmu.Lock()
	defer h.qmu.Unlock()
	for h.qhead == len(h.queue) {
		if h.qclosed {
			return nil, false
		}
		h.qcond.Wait()
	}
	c := h.queue[h.qhead]
	h.queue[h.qhead] = nil
	h.qhead++
	if h.qhead == len(h.queue) { // empty: reuse the backing array from the start
		h.queue, h.qhead = h.queue[:0], 0
	} else if h.qhead > 1024 && h.qhead*2 > len(h.queue) {
		n := copy(h.queue, h.queue[h.qhead:])
		clear(h.queue[n:])
		h.queue, h.qhead = h.queue[:n], 0
	}
	return c, true
}

// writer is one writer worker: it writes each dirty client's pending
// messages, and requeues the client at the end if more came meanwhile.
//
// A flush that has not finished after HandOff is a screen whose socket is
// full (a healthy one takes microseconds: the writes only copy into the
// kernel). Then a new worker is started in this one's place and this
// goroutine stays with the stuck screen alone, for up to WriteWait, and
// ends after it: the pool always has Writers workers free of stuck screens,
// so stuck screens, however many, never hold the others up for more than
// HandOff each, once. Only stuck screens cost a goroutine of their own, and
// only while they are stuck.
func (h *Hub) writer() {
	var buf []entry
	// spawned orders the new worker's WaitGroup.Add before this one's Done.
	spawned := make(chan struct{}, 1)
	replaced := time.AfterFunc(time.Hour, func() {
		h.workers.Go(h.writer)
		spawned <- struct{}{}
	})
	replaced.Stop()
	for {
		c, ok := h.next()
		if !ok {
			return
		}
		replaced.Reset(h.handOff)
		var again bool
		again, buf = c.flush(buf)
		if !replaced.Stop() {
			// A new worker took this one's place while c held it. What c
			// still has pending is written here, never requeued: the pool
			// may already have stopped (after Close, a requeued going-away
			// frame would wait for a worker that never comes, and the page
			// would sit on a socket that is never closed).
			<-spawned
			for again {
				again, buf = c.flush(buf)
			}
			return
		}
		if again {
			h.requeue(c)
		}
	}
}

// requeue puts back a client a worker still holds (it is already claimed).
// Unlike enqueue it works after Close, so close frames still go out.
func (h *Hub) requeue(c *client) {
	h.qmu.Lock()
	h.queue = append(h.queue, c)
	h.qmu.Unlock()
	h.qcond.Signal()
}

// pinger marks each client's ping due once every PingEvery (checked every
// pingCheck, so pings of screens that joined at different times stay spread
// rather than all going out on one tick).
func (h *Hub) pinger() {
	t := time.NewTicker(min(pingCheck, h.pingEvery))
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case now := <-t.C:
			h.mu.Lock()
			boards := make([]*boardHub, 0, len(h.boards))
			for _, b := range h.boards {
				boards = append(boards, b)
			}
			h.mu.Unlock()
			for _, b := range boards {
				var due []*client
				b.mu.Lock()
				for c := range b.clients {
					if c.ping(now, h.pingEvery) {
						due = append(due, c)
					}
				}
				// Enqueue before unlocking, as Publish does: a Close in
				// between would find these clients claimed but not queued,
				// and they would never get their going-away frame.
				h.enqueue(due...)
				b.mu.Unlock()
			}
		}
	}
}

// board returns a board's state, made on first use; nil for a board that
// is not in the running config.
func (h *Hub) board(id string) *boardHub {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.boards[id]
	if !ok {
		if h.known != nil && !h.known[id] {
			return nil
		}
		b = &boardHub{clients: map[*client]struct{}{}, latest: map[string]entry{}}
		h.boards[id] = b
	}
	return b
}

// SetBoards sets the boards of the running config (at start and after each
// reload). The hub forgets every other board: its fragments are dropped and
// its screens closed with 1008, so their pages reload and show that the
// board no longer exists instead of its last tiles forever. Fragments
// published for it later (a poll of the previous config finishing) are
// dropped, and no screen can subscribe to it.
func (h *Hub) SetBoards(ids []string) {
	known := make(map[string]bool, len(ids))
	for _, id := range ids {
		known[id] = true
	}
	h.mu.Lock()
	h.known = known
	var gone []*boardHub
	for id, b := range h.boards {
		if !known[id] {
			gone = append(gone, b)
			delete(h.boards, id)
		}
	}
	h.mu.Unlock()
	for _, b := range gone {
		b.mu.Lock()
		cs := make([]*client, 0, len(b.clients))
		for c := range b.clients {
			cs = append(cs, c)
		}
		clear(b.clients)
		clear(b.latest)
		b.order = nil
		b.mu.Unlock()
		for _, c := range cs {
			// Counted out here: its unsubscribe will find no board.
			h.viewers.Add(-1)
			h.countViewers(-1)
			h.revoke(c, "board removed")
		}
	}
}

// publish replaces the fragment under key on a board and offers it to every
// viewer of that board. A message older (lower seq) than the one held is
// dropped, so out-of-order publishers can never move a screen backwards.
// It never blocks on a viewer.
func (h *Hub) publish(boardID, key string, seq uint64, msg *websocket.PreparedMessage, n int) {
	b := h.board(boardID)
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.latest[key]; ok {
		if old.seq > seq {
			return
		}
	} else if key == metaKey {
		b.order = append([]string{key}, b.order...)
	} else {
		b.order = append(b.order, key)
	}
	e := entry{seq: seq, msg: msg, n: n}
	b.latest[key] = e
	dirty := make([]*client, 0, len(b.clients))
	for c := range b.clients {
		if c.offer(key, e) {
			dirty = append(dirty, c)
		}
	}
	h.enqueue(dirty...)
}

// forget drops a key from a board (a tile removed by a config reload).
func (h *Hub) forget(boardID, key string) {
	h.mu.Lock()
	b := h.boards[boardID]
	h.mu.Unlock()
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.latest, key)
	for i, k := range b.order {
		if k == key {
			b.order = append(b.order[:i:i], b.order[i+1:]...)
			break
		}
	}
}

// subscribe adds a viewer and queues the board's whole current state for it,
// led by meta: a heartbeat rendered for this connection, because the cached
// one carries a server clock up to a heartbeat old and the page sets its clock
// offset from it. Publishing and subscribing hold the same lock, so a viewer
// can never miss an update published while it joins.
func (h *Hub) subscribe(boardID string, c *client, meta entry) bool {
	b := h.board(boardID)
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Checked under the board's lock: Close marks the hub closed before it
	// takes board locks to shut clients down, so a client added here is
	// either refused or seen by Close. The workers are started under h.mu
	// too, never after Close: their WaitGroup.Add must happen before Wait.
	h.mu.Lock()
	closed := h.closed
	if !closed {
		h.startWorkers()
	}
	h.mu.Unlock()
	if closed {
		return false
	}
	b.clients[c] = struct{}{}
	c.nextPing = time.Now().Add(h.pingEvery)
	queue := c.offer(metaKey, meta)
	for _, k := range b.order {
		if k != metaKey {
			queue = c.offer(k, b.latest[k]) || queue
		}
	}
	if queue {
		h.enqueue(c)
	}
	h.viewers.Add(1)
	h.countViewers(1)
	return true
}

func (h *Hub) unsubscribe(boardID string, c *client) {
	h.mu.Lock()
	b := h.boards[boardID]
	h.mu.Unlock()
	if b == nil {
		return // removed by SetBoards, which counted it out
	}
	b.mu.Lock()
	_, ok := b.clients[c]
	delete(b.clients, c)
	b.mu.Unlock()
	if ok {
		h.viewers.Add(-1)
		h.countViewers(-1)
	}
}

// revokeDenied closes, with 1008 (policy violation), every viewer whose grant
// allowed reports false: after an access change, a revoked screen gets no
// further frame. Grants are judged outside the hub's locks (a signed
// assertion may need the JWK set). It returns how many were closed.
func (h *Hub) revokeDenied(allowed func(*grant) bool) int {
	h.mu.Lock()
	boards := make([]*boardHub, 0, len(h.boards))
	for _, b := range h.boards {
		boards = append(boards, b)
	}
	h.mu.Unlock()
	n := 0
	for _, b := range boards {
		b.mu.Lock()
		cs := make([]*client, 0, len(b.clients))
		for c := range b.clients {
			cs = append(cs, c)
		}
		b.mu.Unlock()
		for _, c := range cs {
			if !allowed(c.grant) && h.revoke(c, "access revoked") {
				n++
			}
		}
	}
	return n
}

// clients lists every viewer (of every board) that keep reports true.
func (h *Hub) clients(keep func(*client) bool) []*client {
	h.mu.Lock()
	boards := make([]*boardHub, 0, len(h.boards))
	for _, b := range h.boards {
		boards = append(boards, b)
	}
	h.mu.Unlock()
	var cs []*client
	for _, b := range boards {
		b.mu.Lock()
		for c := range b.clients {
			if keep(c) {
				cs = append(cs, c)
			}
		}
		b.mu.Unlock()
	}
	return cs
}

// sendScreen offers e (a command, key "cmd") to every websocket of a paired
// screen; it returns how many there were. It never blocks on a screen.
func (h *Hub) sendScreen(screen string, e entry) int {
	cs := h.clients(func(c *client) bool { return c.screen == screen })
	for _, c := range cs {
		h.sendClient(c, e)
	}
	return len(cs)
}

// sendClient offers e to one client under the key "cmd".
func (h *Hub) sendClient(c *client, e entry) {
	if c.offer(cmdKey, e) {
		h.enqueue(c)
	}
}

// revokeScreen closes every websocket of a paired screen with 1008 (its
// page reloads and, revoked, is sent to the pairing page).
func (h *Hub) revokeScreen(screen string) int {
	n := 0
	for _, c := range h.clients(func(c *client) bool { return c.screen == screen }) {
		if h.revoke(c, "access revoked") {
			n++
		}
	}
	return n
}

// revoke closes one viewer with 1008 saying why; false if it was closing
// already.
func (h *Hub) revoke(c *client, why string) bool {
	revoked, queue := c.revoke(why)
	if queue {
		h.requeue(c) // a claimed client must reach a writer, as in Close
	}
	return revoked
}

// countViewers tells the metrics of delta screens connected (+) or gone (-).
func (h *Hub) countViewers(delta int) {
	if m := h.metrics; m != nil {
		m.Viewers.Add(float64(delta))
	}
}

// viewerCount is the number of connected screens.
func (h *Hub) viewerCount() int { return int(h.viewers.Load()) }

// Close tells every viewer the server is going away (close code 1001) and
// refuses new ones. The page script reconnects to the next process. The
// writer workers send the close frames and then stop; Wait waits for that.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	boards := make([]*boardHub, 0, len(h.boards))
	for _, b := range h.boards {
		boards = append(boards, b)
	}
	h.mu.Unlock()
	close(h.done)
	for _, b := range boards {
		var cs []*client
		b.mu.Lock()
		for c := range b.clients {
			if c.shutdown() {
				cs = append(cs, c)
			}
		}
		b.mu.Unlock()
		h.enqueue(cs...)
	}
	h.qmu.Lock()
	h.qclosed = true
	h.qmu.Unlock()
	h.qcond.Broadcast()
}

// wait waits until the writer workers have stopped (after Close) or ctx ends.
func (h *Hub) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { h.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// attach runs a connected screen: it counts it (addConn, false once
// shutdown has begun), subscribes it with meta as its first message, and
// reads on a goroutine of its own, so the HTTP handler can return at once and
// net/http can free the request's buffers and large handler stack (about
// 14 KB a screen). wg is what addConn added to; the read goroutine calls Done.
// A screen arriving during shutdown is told to go away at once.
//
// It returns the client (nil if it was turned away), so the caller can
// judge its grant again: access may have changed since the upgrade was let
// in, after Revoke looked at the viewers. v says what it was let in with,
// which keys it is sent and which paired screen it is.
func (h *Hub) attach(boardID string, conn *websocket.Conn, meta entry, v viewer, addConn func() bool, wg *sync.WaitGroup) *client {
	goAway := func() {
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server restarting")
		conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		conn.Close()
	}
	if !addConn() {
		goAway()
		return nil
	}
	c := newClient(conn, h)
	c.grant, c.keep, c.screen = v.grant, v.keep, v.screen
	if !h.subscribe(boardID, c, meta) {
		goAway()
		wg.Done()
		return nil
	}
	go c.run(boardID, wg)
	return c
}

const metaKey = "meta"

// cmdKey carries commands to one paired screen (see Server.sendCommand).
const cmdKey = "cmd"

// Timing of the websocket protocol. pongWait bounds how long a dead TV holds
// server resources; writeWait how long a stuck one may take to accept a
// write (after which it is dropped and its page reconnects); handOff how
// long it may hold a writer worker before the worker is replaced.
const (
	writeWait  = 5 * time.Second
	handOff    = 5 * time.Millisecond
	pongWait   = 60 * time.Second
	pingPeriod = 45 * time.Second // + up to pingCheck, well inside pongWait
	pingCheck  = 5 * time.Second
	// Writer workers: enough to use the cores on a burst; few enough to
	// cost nothing. A stuck screen holds one for at most handOff.
	defaultWriters = 16
	// A screen only ever sends pongs and close frames.
	maxMessageSize = 512
)

// The clients: one per connected screen, queued and written by the hub.

// viewer is what a screen brings to attach: the access it was let in with
// (nil in open mode), the keys it is sent (nil: every key) and the paired
// screen it is ("" for none).
type viewer struct {
	grant  *grant
	keep   func(key string) bool
	screen string
}

// client is one connected screen. It has no goroutine of its own for
// writing: Publish leaves the newest message per key (tile) in pending and
// puts the client on the hub's queue of dirty clients, at most once, and one
// of a few writer workers writes everything pending in one go. A newer
// fragment for a tile replaces the unsent older one, so what a client can have
// waiting is bounded by the tiles of its board, however slow it is.
//
// The only goroutine per screen is its read loop, which the websocket
// protocol needs (pongs, close frames, noticing a dead peer).
type client struct {
	conn *websocket.Conn
	hub  *Hub

	mu       sync.Mutex
	pending  []keyed // newest entry per key, in first-offered order
	queued   bool    // on the hub's queue or being written by a worker
	pingDue  bool
	closing  bool   // send a close frame, then close
	revoked  string // with closing: the close says 1008 with this reason, not 1001
	dead     bool   // connection closed: drop everything
	nextPing time.Time
	grant    *grant                // what it was let in with (nil in open mode)
	keep     func(key string) bool // nil: every key; set before subscribe
	screen   string                // id of the paired screen it belongs to ("" for none); set before subscribe
}

type keyed struct {
	key string
	e   entry
}

func newClient(conn *websocket.Conn, hub *Hub) *client {
	return &client{conn: conn, hub: hub}
}

// offer leaves e under key, replacing an unsent older one. It reports whether
// the caller must put the client on the write queue (it was not there yet).
// Never blocks on the network.
func (c *client) offer(key string, e entry) bool {
	if c.keep != nil && !c.keep(key) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closing {
		return false
	}
	i := 0
	for i < len(c.pending) && c.pending[i].key != key {
		i++
	}
	switch {
	case i == len(c.pending):
		c.pending = append(c.pending, keyed{key, e})
	case c.pending[i].e.seq > e.seq:
		return false
	default:
		c.pending[i].e = e
	}
	return c.claim()
}

// claim marks the client queued; it reports false if it already was.
// c.mu must be held.
func (c *client) claim() bool {
	if c.queued {
		return false
	}
	c.queued = true
	return true
}

// take moves the pending messages into buf (in order) and empties pending.
func (c *client) take(buf []entry) []entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.pending {
		buf = append(buf, p.e)
		c.pending[i] = keyed{} // drop the message for the GC
	}
	c.pending = c.pending[:0]
	return buf
}

// shutdown asks for a going-away close frame; it reports whether the client
// must be queued.
func (c *client) shutdown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closing {
		return false
	}
	c.closing = true
	return c.claim()
}

// revoke asks for a policy-violation close frame saying why (access
// revoked, board removed); it reports whether it did (false: closing or
// closed already) and whether the client must be queued.
func (c *client) revoke(why string) (revoked, queue bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closing {
		return false, false
	}
	c.closing, c.revoked = true, why
	clear(c.pending) // nothing more for it, not even what was already due
	c.pending = c.pending[:0]
	return true, c.claim()
}

// ping marks a ping due if the client's turn has come; it reports whether
// the client must be queued.
func (c *client) ping(now time.Time, every time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closing || now.Before(c.nextPing) {
		return false
	}
	c.nextPing = now.Add(every)
	c.pingDue = true
	return c.claim()
}

// kill closes the connection (which ends the read loop) and drops whatever
// is pending. Safe to call more than once and from any goroutine.
func (c *client) kill() {
	c.mu.Lock()
	c.dead = true
	clear(c.pending)
	c.pending = nil
	c.mu.Unlock()
	c.conn.Close()
}

// flush is what a writer worker does with a client it took from the queue:
// write everything pending (or the close frame), each write bounded by
// Hub.WriteWait so a stuck screen holds a worker for at most that long and is then
// dropped. It reports whether more arrived meanwhile, so the worker puts the
// client back at the end of the queue (after the others, which is fair).
func (c *client) flush(buf []entry) (again bool, _ []entry) {
	c.mu.Lock()
	closing, ping, dead, revoked := c.closing, c.pingDue, c.dead, c.revoked
	c.pingDue = false
	c.mu.Unlock()
	switch {
	case dead:
	case closing:
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server restarting")
		if revoked != "" {
			msg = websocket.FormatCloseMessage(websocket.ClosePolicyViolation, revoked)
		}
		c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		c.kill()
	default:
		buf = c.take(buf[:0])
		ok := true
		if len(buf) > 0 {
			c.conn.SetWriteDeadline(time.Now().Add(c.hub.writeWait))
		}
		for _, e := range buf {
			if err := c.conn.WritePreparedMessage(e.msg); err != nil {
				ok = false
				break
			}
			if m := c.hub.metrics; m != nil {
				m.bytesPushed.Add(float64(e.n))
				m.messagesPushed.Inc()
			}
		}
		clear(buf) // drop references to messages for the GC
		if ok && ping {
			ok = c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.hub.writeWait)) == nil
		}
		if !ok {
			c.kill()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dead && (len(c.pending) > 0 || c.pingDue || (c.closing && !closing)) {
		return true, buf
	}
	c.queued = false
	return false, buf
}

// run is the screen's one goroutine. It reads (and discards) until the peer
// goes away: reading is what processes pongs and close frames, and what
// notices a dead connection. Then it unsubscribes the screen.
//
// It is the goroutine's first and only frame above gorilla's read path on
// purpose: parked in NextReader the goroutine then fits the minimum 2 KB
// stack, where one more frame made it grow to 4 KB (2 KB more per screen;
// measured with `loadgen dial`, server_stack_bytes_per_viewer).
func (c *client) run(boardID string, wg *sync.WaitGroup) {
	c.conn.SetReadLimit(maxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			break
		}
	}
	c.hub.unsubscribe(boardID, c)
	c.kill()
	if c.screen != "" && c.hub.onScreenGone != nil {
		c.hub.onScreenGone(c.screen)
	}
	wg.Done()
}
