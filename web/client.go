package web

import (
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// client is one connected screen. Its writer goroutine drains a pending map
// that holds at most one message per key (tile): a newer fragment for a tile
// replaces the unsent older one.
type client struct {
	conn *websocket.Conn
	hub  *Hub

	mu      sync.Mutex
	pending map[string]entry
	order   []string

	notify  chan struct{} // capacity 1: "pending has something"
	closing chan struct{} // closed once by shutdown
	once    sync.Once
}

func newClient(conn *websocket.Conn, hub *Hub) *client {
	return &client{
		conn:    conn,
		hub:     hub,
		pending: map[string]entry{},
		notify:  make(chan struct{}, 1),
		closing: make(chan struct{}),
	}
}

// offer queues msg under key, replacing an unsent older one. Never blocks.
func (c *client) offer(key string, e entry) {
	c.mu.Lock()
	if old, ok := c.pending[key]; !ok {
		c.order = append(c.order, key)
	} else if old.seq > e.seq {
		c.mu.Unlock()
		return
	}
	c.pending[key] = e
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// take empties the pending map, returning its messages in order.
func (c *client) take(buf []entry) []entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.order {
		buf = append(buf, c.pending[k])
	}
	clear(c.pending)
	c.order = c.order[:0]
	return buf
}

// shutdown asks the writer to send a going-away close frame and stop.
func (c *client) shutdown() { c.once.Do(func() { close(c.closing) }) }

// writeLoop is the only goroutine that writes to the connection. It returns
// on a write error, on shutdown, or when the read loop reports the peer gone.
func (c *client) writeLoop(gone <-chan struct{}) {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	var buf []entry
	for {
		select {
		case <-c.notify:
			buf = c.take(buf[:0])
			for _, e := range buf {
				c.conn.SetWriteDeadline(time.Now().Add(writeWait))
				if err := c.conn.WritePreparedMessage(e.msg); err != nil {
					return
				}
				if c.hub.OnSent != nil {
					c.hub.OnSent(e.n)
				}
			}
			clear(buf) // drop references to messages for the GC
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		case <-c.closing:
			msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "server restarting")
			c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return
		case <-gone:
			return
		}
	}
}

// readLoop reads (and discards) until the peer goes away: it is what processes
// pongs and close frames, and what notices a dead connection.
func (c *client) readLoop() {
	c.conn.SetReadLimit(maxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			return
		}
	}
}
