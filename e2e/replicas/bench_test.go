package replicas

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// benchScreen is a lean screen for thousands of sockets: it keeps no
// messages, only when the one containing the awaited text arrived.
type benchScreen struct {
	c    *websocket.Conn
	want atomic.Pointer[string]
	got  atomic.Int64 // unix ns the awaited text arrived; 0: not yet
	full atomic.Bool  // the first full state arrived (the rps tile)
}

func dialBench(p *proc) (*benchScreen, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	c, _, err := d.Dial("ws://"+p.addr+"/boards/ops/ws", nil)
	if err != nil {
		return nil, err
	}
	s := &benchScreen{c: c}
	go func() {
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				return
			}
			now := time.Now().UnixNano()
			if !s.full.Load() && strings.Contains(string(m), `id="tile-ops-rps"`) {
				s.full.Store(true)
			}
			if w := s.want.Load(); w != nil && s.got.Load() == 0 && strings.Contains(string(m), *w) {
				s.got.Store(now)
			}
		}
	}()
	return s, nil
}

// cpuTicks is the user+system CPU time of process pid in clock ticks
// (1/100 s on Linux).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// histogram reads name's _sum and _count from p's /metrics.
func histogram(p *proc, name string) (sum float64, count float64) {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, part := range []struct {
		suffix string
		to     *float64
	}{{"_sum", &sum}, {"_count", &count}} {
		m := regexp.MustCompile(`(?m)^` + name + part.suffix + ` (\S+)$`).FindSubmatch(b)
		if m != nil {
			*part.to, _ = strconv.ParseFloat(string(m[1]), 64)
		}
	}
	return sum, count
}

// BenchmarkReplicasWebhookFanout: three replicas with WB_BENCH_SCREENS
// screens each (default 3,000); each iteration posts one critical alert to
// replica A and waits until every screen of every replica shows it. It
// reports the latency over every screen and delivery (p50, p99), and the
// PostgreSQL path's cost: the lease holder's guarded write and notify per
// poll, the others' read-and-apply per notice (from their /metrics), and
// each replica's CPU time per delivery (/proc, polls of the 5 s tiles
// included).
//
//	go test -run '^$' -bench BenchmarkReplicasWebhookFanout -benchtime 20x ./e2e/replicas/
func BenchmarkReplicasWebhookFanout(b *testing.B) {
	per := 3000
	if v, err := strconv.Atoi(os.Getenv("WB_BENCH_SCREENS")); err == nil && v > 0 {
		per = v
	}
	be := newBackend(b)
	g := newGroup(b, be)
	reps := []*proc{g.start(nil), g.start(nil), g.start(nil)}
	var screens []*benchScreen
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var failed atomic.Int64
	for i := range 3 * per {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			s, err := dialBench(reps[i%3])
			if err != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			screens = append(screens, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d screens could not connect", failed.Load(), 3*per)
	}
	defer func() {
		for _, s := range screens {
			s.c.Close()
		}
	}()
	eventually(b, 120*time.Second, "every screen's full state", func() bool {
		for _, s := range screens {
			if !s.full.Load() {
				return false
			}
		}
		return true
	})
	var cpu0 []int64
	for _, p := range reps {
		cpu0 = append(cpu0, cpuTicks(p.cmd.Process.Pid))
	}
	type cost struct{ ws, wc, as, ac float64 }
	var before []cost
	for _, p := range reps {
		ws, wc := histogram(p, "wallboard_replica_write_seconds")
		as, ac := histogram(p, "wallboard_replica_apply_seconds")
		before = append(before, cost{ws, wc, as, ac})
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		want := fmt.Sprintf("Bench alert %d", i)
		for _, s := range screens {
			s.got.Store(0)
			s.want.Store(&want)
		}
		sent := time.Now()
		if ok, err := postAlert(reps[0], fmt.Sprintf("bench-%d", i), want); !ok || err != nil {
			b.Fatalf("delivery %d not acknowledged: %v", i, err)
		}
		eventually(b, 60*time.Second, want+" on every screen", func() bool {
			for _, s := range screens {
				if s.got.Load() == 0 {
					return false
				}
			}
			return true
		})
		for _, s := range screens {
			lat = append(lat, time.Duration(s.got.Load()-sent.UnixNano()))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	for k, p := range reps {
		ticks := cpuTicks(p.cmd.Process.Pid) - cpu0[k]
		ws, wc := histogram(p, "wallboard_replica_write_seconds")
		as, ac := histogram(p, "wallboard_replica_apply_seconds")
		c := before[k]
		role := "follower"
		if p.leases(b) == jobs {
			role = "holder"
		}
		line := fmt.Sprintf("replica %s (%s): CPU %.1f ms per delivery", p.name, role, float64(ticks)*10/float64(b.N))
		if n := wc - c.wc; n > 0 {
			line += fmt.Sprintf("; guarded write+NOTIFY %.2f ms per poll (%d)", (ws-c.ws)*1000/n, int(n))
		}
		if n := ac - c.ac; n > 0 {
			line += fmt.Sprintf("; read+apply %.2f ms per notice (%d)", (as-c.as)*1000/n, int(n))
		}
		b.Log(line)
	}
	b.Logf("3 replicas x %d screens, %d deliveries to A: every screen p50 %s, p99 %s, max %s",
		per, b.N, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
}
