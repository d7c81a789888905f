package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
)

// gcmFake is Cloud Monitoring's metric service, in process: it answers every
// ListTimeSeries with one series holding the current value, or with the
// current error, and counts the calls.
type gcmFake struct {
	monitoringpb.UnimplementedMetricServiceServer
	mu    sync.Mutex
	value float64
	err   error
	calls int
}

func (f *gcmFake) ListTimeSeries(_ context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	end := req.GetInterval().GetEndTime().AsTime()
	return &monitoringpb.ListTimeSeriesResponse{TimeSeries: []*monitoringpb.TimeSeries{{
		Metric: &metric.Metric{Type: "run.googleapis.com/request_count", Labels: map[string]string{"response_code_class": "2xx"}},
		Points: []*monitoringpb.Point{{
			Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(end.Add(-time.Minute)), EndTime: timestamppb.New(end)},
			Value:    &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: f.value}},
		}},
	}}}, nil
}

func (f *gcmFake) set(v float64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value, f.err = v, err
}

func (f *gcmFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

const gcmConfig = `
sources:
  - id: gcp
    kind: gcm
    project: proj
    endpoint: %s
    insecure: true
boards:
  - id: sys
    title: API
    tiles:
      - id: rps
        kind: stat
        title: Requests
        source: gcp
        query: {preset: cloudrun_request_rate, service: api}
        unit: req/s
        interval: 1s
      - id: errors
        kind: stat
        title: 5xx
        source: gcp
        query: {preset: cloudrun_5xx_ratio, service: api}
        unit: ratio
        interval: 1s
  - id: lobby
    title: Lobby
    tiles:
      - id: rps-again
        kind: stat
        title: Requests (same query, shared)
        source: gcp
        query: {service: api, preset: cloudrun_request_rate}
        unit: req/s
        interval: 1s
`

// eventually polls cond until it holds or the deadline passes.

func TestGCMEndToEnd(t *testing.T) {
	fake := &gcmFake{value: 42}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	monitoringpb.RegisterMetricServiceServer(srv, fake)
	go srv.Serve(ln)
	defer srv.Stop()

	cfg := filepath.Join(t.TempDir(), "gcp.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(gcmConfig, ln.Addr())), 0o600); err != nil {
		t.Fatal(err)
	}
	a := apptest.Start(t, app.Options{ConfigPath: cfg})

	dial := func() *websocket.Conn {
		t.Helper()
		c, _, err := websocket.DefaultDialer.Dial("ws://"+a.Addr()+"/boards/sys/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// waitFragment reads fragments until one contains want.
	waitFragment := func(c *websocket.Conn, want string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for %q: %v", want, err)
			}
			if strings.Contains(string(msg), want) {
				return
			}
		}
	}

	viewer := dial()
	defer viewer.Close()
	waitFragment(viewer, "42 req/s")
	fake.set(77, nil)
	waitFragment(viewer, "77 req/s")

	// Calls: one per poll of a distinct query, whatever the number of tiles
	// (the lobby's tile shares the rps query) and of viewers. settled waits
	// for a moment with no poll in flight, when the fake's count must equal
	// the polls the scheduler made; a viewer causing calls of its own would
	// make them differ for good.
	polls := func() int { return int(testutil.ToFloat64(a.Metrics().Polls.WithLabelValues("gcp"))) }
	settled := func(atLeast int) int {
		t.Helper()
		var n int
		apptest.Eventually(t, 20*time.Second, fmt.Sprintf("%d polls with calls == polls", atLeast), func() (bool, string) {
			p, c := polls(), fake.count()
			n = c
			return c == p && c >= atLeast, fmt.Sprintf("%d polls, %d calls", p, c)
		})
		return n
	}
	one := settled(fake.count() + 4)

	var viewers []*websocket.Conn
	for range 99 {
		c := dial()
		defer c.Close()
		viewers = append(viewers, c)
	}
	for _, c := range viewers {
		waitFragment(c, "77 req/s") // each got the full state on connect
	}
	apptest.Eventually(t, 20*time.Second, "100 viewers", func() (bool, string) {
		n := testutil.ToFloat64(a.Metrics().Viewers)
		return n == 100, fmt.Sprintf("%v viewers", n)
	})
	hundred := settled(one + 4)
	if hundred-one < 4 {
		t.Fatalf("polls went from %d to %d", one, hundred)
	}

	// Quota exhausted: the tile goes stale with the reason, the poller backs
	// off for the RetryInfo delay, and the tile recovers after.
	st, _ := status.New(codes.ResourceExhausted, "Quota exceeded for quota metric 'Time series queries'").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(2 * time.Second)})
	fake.set(77, st.Err())
	tile := func(id string) map[string]any {
		resp, err := http.Get("http://" + a.Addr() + "/api/v1/boards/sys")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Tiles []map[string]any `json:"tiles"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		for _, tl := range body.Tiles {
			if tl["id"] == id {
				return tl
			}
		}
		t.Fatalf("no tile %s", id)
		return nil
	}
	apptest.Eventually(t, 20*time.Second, "stale tile", func() (bool, string) {
		tl := tile("rps")
		e, _ := tl["error"].(string)
		return tl["stale"] == true && strings.Contains(e, "RESOURCE_EXHAUSTED") && tl["value"] == 77.0, fmt.Sprint(tl)
	})
	fake.set(88, nil)
	apptest.Eventually(t, 20*time.Second, "recovered tile", func() (bool, string) {
		tl := tile("rps")
		return tl["stale"] == false && tl["value"] == 88.0 && tl["error"] == nil, fmt.Sprint(tl)
	})
	waitFragment(viewer, "88 req/s")
}
