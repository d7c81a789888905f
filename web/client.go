package web

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// client is one connected screen. It has no goroutine of its own for
// writing: Publish leaves the newest message per key (tile) in pending and
// puts the client on the hub's queue of dirty clients, at most once, and one
// of a few writer workers writes everything pending in one go. A newer
// fragment for a tile replaces the unsent older one, so what a client can have
// waiting is bounded by the tiles of its board, however slow it is.
//
// The only goroutine per screen is its read loop, which the websocket
// protocol needs (pongs, close frames, noticing a dead peer).
// viewer is what a screen brings to attach: the access it was let in with
// (nil in open mode), the keys it is sent (nil: every key) and the paired
// screen it is ("" for none).
type viewer struct {
	grant  *Grant
	keep   func(key string) bool
	screen string
}

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
	grant    *Grant                // what it was let in with (nil in open mode)
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
			c.conn.SetWriteDeadline(time.Now().Add(c.hub.WriteWait))
		}
		for _, e := range buf {
			if err := c.conn.WritePreparedMessage(e.msg); err != nil {
				ok = false
				break
			}
			if c.hub.OnSent != nil {
				c.hub.OnSent(e.n)
			}
		}
		clear(buf) // drop references to messages for the GC
		if ok && ping {
			ok = c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.hub.WriteWait)) == nil
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
	if c.screen != "" && c.hub.OnScreenGone != nil {
		c.hub.OnScreenGone(c.screen)
	}
	wg.Done()
}
