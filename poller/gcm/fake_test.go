package gcm

import (
	"context"
	"net"
	"sort"
	"sync"
	"testing"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/wallboard/wallboard/board"
)

// fake is an in-process Cloud Monitoring gRPC server. Each handler func may
// be swapped by a test; requests are recorded for assertions.
type fake struct {
	monitoringpb.UnimplementedMetricServiceServer
	monitoringpb.UnimplementedServiceMonitoringServiceServer
	monitoringpb.UnimplementedAlertPolicyServiceServer

	mu         sync.Mutex
	reqs       []*monitoringpb.ListTimeSeriesRequest
	policyGets []string
	series     func(ctx context.Context, n int, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error)
	policies   map[string]*monitoringpb.AlertPolicy
	services   []*monitoringpb.Service
	slos       map[string][]*monitoringpb.ServiceLevelObjective
}

func (f *fake) ListTimeSeries(ctx context.Context, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, proto.Clone(req).(*monitoringpb.ListTimeSeriesRequest))
	n := len(f.reqs)
	h := f.series
	f.mu.Unlock()
	if h == nil {
		return &monitoringpb.ListTimeSeriesResponse{}, nil
	}
	return h(ctx, n, req)
}

func (f *fake) GetAlertPolicy(_ context.Context, req *monitoringpb.GetAlertPolicyRequest) (*monitoringpb.AlertPolicy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policyGets = append(f.policyGets, req.GetName())
	p, ok := f.policies[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "policy %s not found", req.GetName())
	}
	return p, nil
}

func (f *fake) ListAlertPolicies(_ context.Context, req *monitoringpb.ListAlertPoliciesRequest) (*monitoringpb.ListAlertPoliciesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []*monitoringpb.AlertPolicy
	for _, p := range f.policies {
		all = append(all, p)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].GetName() < all[j].GetName() })
	// Two pages when there is more than one policy: pagination is exercised.
	if req.GetPageToken() == "" && len(all) > 1 {
		return &monitoringpb.ListAlertPoliciesResponse{AlertPolicies: all[:1], NextPageToken: "p2"}, nil
	}
	if req.GetPageToken() == "p2" {
		return &monitoringpb.ListAlertPoliciesResponse{AlertPolicies: all[1:]}, nil
	}
	return &monitoringpb.ListAlertPoliciesResponse{AlertPolicies: all}, nil
}

func (f *fake) ListServices(_ context.Context, req *monitoringpb.ListServicesRequest) (*monitoringpb.ListServicesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &monitoringpb.ListServicesResponse{Services: f.services}, nil
}

func (f *fake) ListServiceLevelObjectives(_ context.Context, req *monitoringpb.ListServiceLevelObjectivesRequest) (*monitoringpb.ListServiceLevelObjectivesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &monitoringpb.ListServiceLevelObjectivesResponse{ServiceLevelObjectives: f.slos[req.GetParent()]}, nil
}

func (f *fake) requests() []*monitoringpb.ListTimeSeriesRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*monitoringpb.ListTimeSeriesRequest(nil), f.reqs...)
}

func (f *fake) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fake) setSeries(h func(ctx context.Context, n int, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.series = h
}

// startFake serves f on a loopback port and returns its address.
func startFake(t testing.TB, f *fake) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	monitoringpb.RegisterMetricServiceServer(srv, f)
	monitoringpb.RegisterServiceMonitoringServiceServer(srv, f)
	monitoringpb.RegisterAlertPolicyServiceServer(srv, f)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// newTestSource builds a real source (real clients) pointed at the fake.
func newTestSource(t testing.TB, addr, alerts string, rpm int) *Source {
	t.Helper()
	s, err := New(board.SourceConfig{ID: "gcp", Kind: "gcm", Project: "proj", Endpoint: addr, Insecure: true, AlertsEndpoint: alerts, RequestsPerMinute: rpm}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
