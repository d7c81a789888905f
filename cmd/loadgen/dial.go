package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// sample is one message a viewer received.
type sample struct {
	upd  int64 // data-updated of the fragment, unix ms (0: no data-updated)
	recv int64 // receipt, unix ns
	size int32 // payload bytes (after inflate)
	tile bool  // the fragment is the measured tile
}

type viewer struct {
	conn    *websocket.Conn
	samples []sample
	dropped bool // read failed before the run ended
	err     error
}

// result is what dial prints (JSON). Times in ms, CPU in µs, memory in bytes.
type result struct {
	Viewers     int     `json:"viewers"`
	Connected   int     `json:"connected"`
	DialErrors  int     `json:"dial_errors"`
	DialError   string  `json:"dial_error,omitempty"`
	ConnectSecs float64 `json:"connect_seconds"`
	Compression bool    `json:"compression"`
	WindowSecs  float64 `json:"window_seconds"`

	Updates         int     `json:"updates"` // distinct publishes of the tile in the window
	Deliveries      int     `json:"deliveries"`
	Missing         int     `json:"missing"` // (update, viewer) pairs never received (lost or conflated)
	Dropped         int     `json:"dropped"` // viewers whose connection failed during the run
	DropError       string  `json:"drop_error,omitempty"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
	P999ms          float64 `json:"p999_ms"`
	MaxMs           float64 `json:"max_ms"`
	LastViewerP50ms float64 `json:"last_viewer_p50_ms"` // per update: when the last viewer had it
	LastViewerMaxMs float64 `json:"last_viewer_max_ms"`
	// Per update in publish order: ms until the last viewer had it.
	LastViewerMs []float64 `json:"last_viewer_ms_per_update"`

	Messages          int     `json:"messages"` // every message in the window, all viewers
	PayloadPerMessage float64 `json:"payload_bytes_per_message"`
	WirePerMessage    float64 `json:"wire_bytes_per_message"` // TCP payload read, frames and pings included

	ServerRSSBefore    int64   `json:"server_rss_before"`
	ServerRSSConnected int64   `json:"server_rss_connected"`
	ServerRSSEnd       int64   `json:"server_rss_end"`
	ServerRSSPerViewer float64 `json:"server_rss_per_viewer"`
	// From the server's /metrics, before connecting and after: where the
	// RSS per viewer goes (goroutine stacks vs heap).
	ServerGoroutinesPerViewer float64 `json:"server_goroutines_per_viewer"`
	ServerStackPerViewer      float64 `json:"server_stack_bytes_per_viewer"`
	ServerHeapPerViewer       float64 `json:"server_heap_inuse_bytes_per_viewer"`
	ServerCPUSecs             float64 `json:"server_cpu_seconds"`
	ServerCPUPerDelivery      float64 `json:"server_cpu_us_per_viewer_update"`
	LoadgenCPUSecs            float64 `json:"loadgen_cpu_seconds"`
	LoadgenCPUPercent         float64 `json:"loadgen_cpu_percent"` // of one core, over the window
	ServerCPUPercent          float64 `json:"server_cpu_percent"`
	// Whole machine during the window (percent of one core; 200 = both busy),
	// and what neither the server nor the load generator used: other
	// processes sharing the cores.
	MachineCPUPercent float64 `json:"machine_cpu_percent"`
	OthersCPUPercent  float64 `json:"others_cpu_percent"`

	BackendCalls       int64   `json:"backend_calls"`
	BackendCallsPerMin float64 `json:"backend_calls_per_minute"`
}

// wireBytes counts every byte read from every connection.
var wireBytes atomic.Int64

type countingConn struct{ net.Conn }

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	wireBytes.Add(int64(n))
	return n, err
}

func dial(args []string) error {
	fs := flag.NewFlagSet("dial", flag.ExitOnError)
	rawURL := fs.String("url", "", "websocket URL, ws://127.0.0.1:PORT/boards/ID/ws")
	n := fs.Int("n", 1000, "viewers to connect")
	conc := fs.Int("concurrency", 100, "dials in flight at once")
	window := fs.Duration("duration", 30*time.Second, "measuring window, after every viewer is connected")
	settle := fs.Duration("settle", 3*time.Second, "wait between the last connect and the window")
	grace := fs.Duration("grace", 2*time.Second, "wait after the window for late deliveries")
	compress := fs.Bool("compress", true, "negotiate permessage-deflate (as browsers do)")
	pid := fs.Int("server-pid", 0, "server process to read RSS and CPU from (/proc/PID)")
	tile := fs.String("tile", "tile-bench-clock", "element id of the measured tile; empty: every fragment with data-updated")
	fs.Parse(args)
	if *rawURL == "" || *pid == 0 {
		return errors.New("dial: -url and -server-pid are required")
	}
	u, err := url.Parse(*rawURL)
	if err != nil {
		return fmt.Errorf("dial: -url: %w", err)
	}
	if h, _, _ := net.SplitHostPort(u.Host); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return fmt.Errorf("dial: -url %s: load goes to loopback only", *rawURL)
	}
	base := "http://" + u.Host

	res := result{Viewers: *n, Compression: *compress}
	rss0, err := procRSS(*pid)
	if err != nil {
		return err
	}
	res.ServerRSSBefore = rss0
	m0, err := goMetrics(base)
	if err != nil {
		return err
	}

	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return countingConn{c}, nil
		},
		ReadBufferSize:    1024,
		WriteBufferSize:   256,
		HandshakeTimeout:  30 * time.Second,
		EnableCompression: *compress,
	}
	var stopping atomic.Bool
	viewers := make([]*viewer, *n)
	var readers sync.WaitGroup
	var dialErrs atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	sem := make(chan struct{}, *conc)
	var dials sync.WaitGroup
	tileID := []byte(*tile)
	for i := range *n {
		sem <- struct{}{}
		dials.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, resp, err := d.DialContext(ctx, *rawURL, nil)
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			if err != nil {
				dialErrs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			v := &viewer{conn: c, samples: make([]sample, 0, 64)}
			viewers[i] = v
			readers.Go(func() { v.read(&stopping, tileID) })
		})
	}
	dials.Wait()
	res.ConnectSecs = time.Since(start).Seconds()
	res.DialErrors = int(dialErrs.Load())
	if e, ok := firstErr.Load().(string); ok {
		res.DialError = e
	}
	res.Connected = *n - res.DialErrors
	fmt.Fprintf(os.Stderr, "loadgen: %d/%d viewers connected in %.1fs\n", res.Connected, *n, res.ConnectSecs)

	time.Sleep(*settle)
	if res.ServerRSSConnected, err = procRSS(*pid); err != nil {
		return err
	}
	m1, err := goMetrics(base)
	if err != nil {
		return err
	}
	if res.Connected > 0 {
		per := func(k string) float64 { return (m1[k] - m0[k]) / float64(res.Connected) }
		res.ServerGoroutinesPerViewer = per("go_goroutines")
		res.ServerStackPerViewer = per("go_memstats_stack_inuse_bytes")
		res.ServerHeapPerViewer = per("go_memstats_heap_inuse_bytes")
	}
	w0, err := readWindow(*pid, base)
	if err != nil {
		return err
	}
	time.Sleep(*window)
	w1, err := readWindow(*pid, base)
	if err != nil {
		return err
	}
	if res.ServerRSSEnd, err = procRSS(*pid); err != nil {
		return err
	}
	time.Sleep(*grace)
	stopping.Store(true)
	for _, v := range viewers {
		if v != nil {
			v.conn.Close()
		}
	}
	waitTimeout(&readers, 30*time.Second)

	secs := w1.at.Sub(w0.at).Seconds()
	res.WindowSecs = secs
	res.ServerCPUSecs = (w1.serverCPU - w0.serverCPU).Seconds()
	res.ServerCPUPercent = 100 * res.ServerCPUSecs / secs
	res.LoadgenCPUSecs = (w1.ownCPU - w0.ownCPU).Seconds()
	res.LoadgenCPUPercent = 100 * res.LoadgenCPUSecs / secs
	if w0.fetchErr == nil && w1.fetchErr == nil && w1.lastFetch > w0.lastFetch {
		// Between the last calls before and after the window: no edge error.
		res.BackendCalls = w1.fetches - w0.fetches
		res.BackendCallsPerMin = float64(w1.fetches-w0.fetches) / (float64(w1.lastFetch-w0.lastFetch) / 1e9) * 60
	}
	if w1.machineTotal > w0.machineTotal {
		// Percent of one core, like the other CPU figures; ticks are 10 ms.
		ticks := float64(w1.machineTotal - w0.machineTotal)
		cores := ticks / 100 / secs
		res.MachineCPUPercent = 100 * cores * float64(w1.machineBusy-w0.machineBusy) / ticks
		res.OthersCPUPercent = max(0, res.MachineCPUPercent-res.ServerCPUPercent-res.LoadgenCPUPercent)
	}
	if res.Connected > 0 {
		res.ServerRSSPerViewer = float64(res.ServerRSSConnected-res.ServerRSSBefore) / float64(res.Connected)
	}
	aggregate(&res, viewers, w0.at, w1.at)
	if res.Messages > 0 {
		res.WirePerMessage = float64(w1.wire-w0.wire) / float64(res.Messages)
	}
	if res.Updates > 0 && res.Connected > 0 {
		res.ServerCPUPerDelivery = res.ServerCPUSecs * 1e6 / float64(res.Updates*res.Connected)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// read records every message until the connection ends. It reuses one
// buffer per viewer: the load generator shares the two cores with the server,
// so its cost per message is kept small.
func (v *viewer) read(stopping *atomic.Bool, tileID []byte) {
	var buf bytes.Buffer
	idAttr := append(append([]byte(`id="`), tileID...), '"')
	for {
		_, r, err := v.conn.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		now := time.Now().UnixNano()
		if err != nil {
			if !stopping.Load() {
				v.dropped, v.err = true, err
			}
			return
		}
		data := buf.Bytes()
		s := sample{recv: now, size: int32(len(data))}
		s.upd = attrInt(data, `data-updated="`)
		if len(tileID) == 0 {
			s.tile = s.upd > 0
		} else {
			s.tile = bytes.Contains(data, idAttr)
		}
		v.samples = append(v.samples, s)
	}
}

func attrInt(data []byte, prefix string) int64 {
	i := bytes.Index(data, []byte(prefix))
	if i < 0 {
		return 0
	}
	rest := data[i+len(prefix):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0
	}
	x, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
	return x
}

// aggregate computes the latency and delivery figures of updates published
// in [t0, t1) and the message counts of messages received in [t0, t1).
func aggregate(res *result, viewers []*viewer, t0, t1 time.Time) {
	lo, hi := t0.UnixMilli(), t1.UnixMilli()
	type upd struct {
		n    int
		last int64
	}
	updates := map[int64]*upd{}
	var lat []int64
	var payload int64
	alive := 0
	for _, v := range viewers {
		if v == nil {
			continue
		}
		if v.dropped {
			res.Dropped++
			if res.DropError == "" {
				res.DropError = v.err.Error()
			}
		} else {
			alive++
		}
		for _, s := range v.samples {
			if s.recv >= t0.UnixNano() && s.recv < t1.UnixNano() {
				res.Messages++
				payload += int64(s.size)
			}
			if !s.tile || s.upd < lo || s.upd >= hi {
				continue
			}
			l := s.recv - s.upd*1e6
			lat = append(lat, l)
			u := updates[s.upd]
			if u == nil {
				u = &upd{}
				updates[s.upd] = u
			}
			u.n++
			u.last = max(u.last, l)
		}
	}
	if res.Messages > 0 {
		res.PayloadPerMessage = float64(payload) / float64(res.Messages)
	}
	res.Updates = len(updates)
	res.Deliveries = len(lat)
	var lasts []int64
	for _, at := range slices.Sorted(maps.Keys(updates)) {
		u := updates[at]
		res.Missing += max(alive-u.n, 0)
		lasts = append(lasts, u.last)
		res.LastViewerMs = append(res.LastViewerMs, math.Round(float64(u.last)/1e5)/10)
	}
	slices.Sort(lat)
	slices.Sort(lasts)
	res.P50ms, res.P99ms, res.P999ms, res.MaxMs = pct(lat, 0.50), pct(lat, 0.99), pct(lat, 0.999), pct(lat, 1)
	res.LastViewerP50ms, res.LastViewerMaxMs = pct(lasts, 0.5), pct(lasts, 1)
}

// pct is the q-quantile of sorted ns values, in ms (nearest rank).
func pct(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i]) / 1e6
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		fmt.Fprintln(os.Stderr, "loadgen: some readers did not stop in", d)
	}
}

// procRSS is VmRSS of a process, in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("server RSS: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest) // "123456 kB"
			if len(f) == 2 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024, err
			}
		}
	}
	return 0, fmt.Errorf("server RSS: no VmRSS in /proc/%d/status", pid)
}

// windowEnd is what is read at each end of the measurement window; the
// figures are the differences between the two.
type windowEnd struct {
	at                        time.Time
	serverCPU, ownCPU         time.Duration
	wire                      int64 // bytes read from every connection so far
	fetches, lastFetch        int64 // the clock source's calls; unix ns of the last
	fetchErr                  error // the calls are left out of the result when set
	machineBusy, machineTotal int64 // ticks of all CPUs
}

// readWindow reads one end of the measurement window.
func readWindow(pid int, base string) (windowEnd, error) {
	w := windowEnd{at: time.Now()}
	var err error
	if w.serverCPU, err = procCPU(pid); err != nil {
		return windowEnd{}, err
	}
	w.ownCPU = selfCPU()
	w.wire = wireBytes.Load()
	w.fetches, w.lastFetch, w.fetchErr = fetches(base)
	w.machineBusy, w.machineTotal = machineCPU()
	return w, nil
}

// procCPU is utime+stime of a process. The kernel counts in clock ticks,
// which are 1/100 s on Linux (USER_HZ).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server CPU: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("server CPU: short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("server CPU: %w", err)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fetches reads the clock source's call count and the time of its last
// call (unix ns) from the benchmark server.
func fetches(base string) (int64, int64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/bench/fetches")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("fetches: %s", resp.Status)
	}
	var n, last int64
	if _, err := fmt.Sscan(string(b), &n, &last); err != nil {
		return 0, 0, fmt.Errorf("fetches: %q: %w", b, err)
	}
	return n, last, nil
}

// machineCPU is the busy and total time of all CPUs from /proc/stat, in ticks.
func machineCPU() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, x := range f[1:] {
		v, _ := strconv.ParseInt(x, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// goMetrics reads the Go runtime gauges from the server's /metrics.
func goMetrics(base string) (map[string]float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("server metrics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("server metrics: %w", err)
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(name, "#") || !strings.HasPrefix(name, "go_") {
			continue
		}
		if x, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = x
		}
	}
	return out, nil
}
