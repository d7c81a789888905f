package web

import (
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
	closed bool

	viewers  atomic.Int64
	OnSent   func(bytes int) // metrics hook; called from writer goroutines
	OnViewer func(delta int)
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
func NewHub() *Hub { return &Hub{boards: map[string]*boardHub{}} }

func (h *Hub) board(id string) *boardHub {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.boards[id]
	if !ok {
		b = &boardHub{clients: map[*client]struct{}{}, latest: map[string]entry{}}
		h.boards[id] = b
	}
	return b
}

// Publish replaces the fragment under key on a board and offers it to every
// viewer of that board. A message older (lower seq) than the one held is
// dropped, so out-of-order publishers can never move a screen backwards.
// It never blocks on a viewer.
func (h *Hub) Publish(boardID, key string, seq uint64, msg *websocket.PreparedMessage, n int) {
	b := h.board(boardID)
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
	for c := range b.clients {
		c.offer(key, e)
	}
}

// Forget drops a key from a board (a tile removed by a config reload).
func (h *Hub) Forget(boardID, key string) {
	b := h.board(boardID)
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
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return false
	}
	b := h.board(boardID)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clients[c] = struct{}{}
	c.offer(metaKey, meta)
	for _, k := range b.order {
		if k != metaKey {
			c.offer(k, b.latest[k])
		}
	}
	h.viewers.Add(1)
	if h.OnViewer != nil {
		h.OnViewer(1)
	}
	return true
}

func (h *Hub) unsubscribe(boardID string, c *client) {
	b := h.board(boardID)
	b.mu.Lock()
	_, ok := b.clients[c]
	delete(b.clients, c)
	b.mu.Unlock()
	if ok {
		h.viewers.Add(-1)
		if h.OnViewer != nil {
			h.OnViewer(-1)
		}
	}
}

// Viewers is the number of connected screens.
func (h *Hub) Viewers() int { return int(h.viewers.Load()) }

// Close tells every viewer the server is going away (close code 1001) and
// refuses new ones. The page script reconnects to the next process.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	boards := make([]*boardHub, 0, len(h.boards))
	for _, b := range h.boards {
		boards = append(boards, b)
	}
	h.mu.Unlock()
	for _, b := range boards {
		b.mu.Lock()
		for c := range b.clients {
			c.shutdown()
		}
		b.mu.Unlock()
	}
}

const metaKey = "meta"

// Timing of the websocket protocol (gorilla/websocket's chat example values,
// which also bound how long a dead TV holds server resources).
const (
	writeWait  = 10 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = pongWait * 9 / 10
	// A screen only ever sends pongs and close frames.
	maxMessageSize = 512
)
