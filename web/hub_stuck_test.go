package web

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// smallSendBuffers gives every accepted socket a small send buffer, so a
// viewer that stops reading blocks the server's writes after a few KB
// instead of the megabytes loopback autotuning allows.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// dialStuck connects a viewer that never reads, with a small receive buffer.
func (hs *hubServer) dialStuck(t *testing.T, boardID string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(4 << 10)
			}
			return c, err
		}}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(hs.srv.URL, "http")+"/"+boardID, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// healthy is a viewer that reads all the time and notes, per tile, the
// newest burst it has and how long each message took from Publish.
type healthy struct {
	mu     sync.Mutex
	burst  map[string]int
	lat    []time.Duration
	failed error
}

func (v *healthy) read(c *websocket.Conn) {
	c.SetReadDeadline(time.Time{}) // dial set one for the greeting
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			v.mu.Lock()
			v.failed = err
			v.mu.Unlock()
			return
		}
		var key string
		var b int
		var sent int64
		if _, err := fmt.Sscanf(string(msg), "%s %d %d ", &key, &b, &sent); err != nil {
			continue // the greeting
		}
		v.mu.Lock()
		v.burst[key] = max(v.burst[key], b)
		v.lat = append(v.lat, time.Since(time.Unix(0, sent)))
		v.mu.Unlock()
	}
}

func (v *healthy) has(tiles, b int) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := range tiles {
		if v.burst[fmt.Sprintf("tile-%d", i)] < b {
			return false
		}
	}
	return true
}

func percentiles(ls []time.Duration) (p50, p99, top time.Duration) {
	if len(ls) == 0 {
		return 0, 0, 0
	}
	ls = slices.Clone(ls)
	slices.Sort(ls)
	return ls[len(ls)/2], ls[len(ls)*99/100], ls[len(ls)-1]
}

// Stuck screens (connected, never reading, buffers full) must not hold the
// writers the others need. 100 healthy viewers get bursts of updates, first
// alone, then with 200 stuck viewers: they must have the final state of
// every burst (conflation allowed) while the stuck ones sit in their write
// deadline, and the stuck ones are then dropped. Latency publish-to-receipt
// of the healthy ones is logged for both phases (not asserted).
//
// Before the fix every stuck viewer held one of the 16 writer workers for
// its whole write deadline (here 3 s): 200 of them blocked everyone for
// about 200/16 × 3 s, far past the 10 s this test waits for a burst.
func TestStuckViewersDoNotStallHealthyOnes(t *testing.T) {
	const (
		healthyN = 100
		stuckN   = 200
		tiles    = 4
		size     = 16 << 10 // bytes per message: a burst fills a stuck socket
	)
	h := NewHub()
	h.writeWait = 3 * time.Second
	hs := newHubServerOn(t, h, func(l net.Listener) net.Listener { return smallSendBuffers{l} })
	vs := make([]*healthy, healthyN)
	for i := range vs {
		vs[i] = &healthy{burst: map[string]int{}}
		go vs[i].read(hs.dial(t, "b"))
	}
	waitFor(t, "healthy viewers", func() bool { return h.viewerCount() == healthyN })

	pad := strings.Repeat("x", size)
	seq := uint64(0)
	burst := 0
	// bursts publishes n bursts of every tile and waits, per burst, until
	// every healthy viewer has all of it; it returns their latencies.
	bursts := func(n int, phase string) []time.Duration {
		for range n {
			burst++
			for i := range tiles {
				seq++
				key := fmt.Sprintf("tile-%d", i)
				publish(t, h, "b", key, seq, fmt.Sprintf("%s %d %d %s", key, burst, time.Now().UnixNano(), pad))
			}
			deadline := time.Now().Add(10 * time.Second)
			for i, v := range vs {
				for !v.has(tiles, burst) {
					v.mu.Lock()
					failed := v.failed
					v.mu.Unlock()
					if failed != nil {
						t.Fatalf("%s: healthy viewer %d: %v", phase, i, failed)
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s: healthy viewer %d does not have the final state of burst %d after 10 s (%d viewers connected)", phase, i, burst, h.viewerCount())
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
		}
		var all []time.Duration
		for _, v := range vs {
			v.mu.Lock()
			all = append(all, v.lat...)
			v.lat = v.lat[:0]
			v.mu.Unlock()
		}
		return all
	}

	alone := bursts(5, "alone")
	for range stuckN {
		hs.dialStuck(t, "b")
	}
	waitFor(t, "stuck viewers", func() bool { return h.viewerCount() == healthyN+stuckN })
	withStuck := bursts(10, "with stuck viewers")
	p50, p99, top := percentiles(alone)
	t.Logf("%d healthy viewers alone: %d messages, publish-to-receipt p50 %v, p99 %v, max %v", healthyN, len(alone), p50, p99, top)
	p50, p99, top = percentiles(withStuck)
	t.Logf("%d healthy viewers with %d stuck ones: %d messages, publish-to-receipt p50 %v, p99 %v, max %v", healthyN, stuckN, len(withStuck), p50, p99, top)

	// The stuck ones are dropped once their write deadline passes; the
	// healthy ones stay.
	waitFor(t, "stuck viewers to be dropped", func() bool { return h.viewerCount() == healthyN })
	bursts(1, "after the stuck ones left")
}
