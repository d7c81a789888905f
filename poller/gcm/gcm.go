// Package gcm is the Google Cloud Monitoring source: metric queries
// (ListTimeSeries with aggregation, ratios, percentiles, presets for Cloud
// Run, Cloud SQL, GKE, load balancers and Pub/Sub), SLO error budgets and
// burn rates, open alerts enriched with their policies' next action, and the
// list of alert policies that have none.
//
// It talks to Google only through the official clients
// (cloud.google.com/go/monitoring/apiv3/v2 over gRPC, and
// google.golang.org/api/monitoring/v3 over REST for alerts), spends at most
// its request budget per minute, and never logs: the poller reports failures
// once per transition.
package gcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	monitoring "cloud.google.com/go/monitoring/apiv3/v2"
	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"github.com/googleapis/gax-go/v2"
	"golang.org/x/time/rate"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	monrest "google.golang.org/api/monitoring/v3"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// defaultRequestsPerMinute is the request budget of a source when the config
// gives none: a twentieth of Cloud Monitoring's default read quota of 6,000
// requests per minute per project, so a wall never starves other tools.
const defaultRequestsPerMinute = 300

// defaultQuotaBackoff is how long to wait after RESOURCE_EXHAUSTED (or an
// HTTP 429) that did not say how long.
const defaultQuotaBackoff = time.Minute

// pageSize asks for large pages: fewer requests per poll.
const pageSize = 1000

// Source reads one Google Cloud project (or metrics scope).
type Source struct {
	id      string
	project string // "projects/PROJECT"
	cfg     board.SourceConfig
	limiter *rate.Limiter
	rpm     int
	now     func() time.Time

	mu       sync.Mutex
	policies map[string]cachedPolicy // alert policies read, by name (policyTTL)
	cl       *clients
	conn     *grpc.ClientConn // owned when Insecure
}

type clients struct {
	metric *monitoring.MetricClient
	slo    *monitoring.ServiceMonitoringClient
	policy *monitoring.AlertPolicyClient
	alerts *monrest.Service // nil when Insecure without alerts_endpoint
}

// New makes a source from its config. The logger is unused on purpose: the
// source reports through its errors and the app logs transitions; it is
// taken so the constructor matches the other sources. With Endpoint and Insecure set it
// connects to a plaintext endpoint without credentials and builds the
// clients at once (no network is touched until a poll); otherwise clients
// are built on the first poll, so missing credentials show on the tiles
// instead of stopping the whole board.
func New(cfg board.SourceConfig, _ *slog.Logger) (*Source, error) {
	if cfg.Project == "" {
		return nil, fmt.Errorf("gcm: source %s: project is required (the scoping project of the metrics scope)", cfg.ID)
	}
	if cfg.Insecure && cfg.Endpoint == "" {
		return nil, fmt.Errorf("gcm: source %s: insecure needs endpoint", cfg.ID)
	}
	if cfg.RequestsPerMinute < 0 {
		return nil, fmt.Errorf("gcm: source %s: requests_per_minute %d must not be negative", cfg.ID, cfg.RequestsPerMinute)
	}
	rpm := cfg.RequestsPerMinute
	if rpm == 0 {
		rpm = defaultRequestsPerMinute
	}
	s := &Source{
		id: cfg.ID, project: "projects/" + cfg.Project, cfg: cfg, rpm: rpm, now: time.Now,
		// Bursts of a tenth of the minute's budget let a board's first
		// polls (spread over a second) through; the rate holds after.
		limiter: rate.NewLimiter(rate.Limit(float64(rpm)/60), max(1, rpm/10)),
	}
	if cfg.Insecure {
		if _, err := s.clients(context.Background()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close releases the connections.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.cl != nil {
		errs = append(errs, s.cl.metric.Close(), s.cl.slo.Close(), s.cl.policy.Close())
		s.cl = nil
	}
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
		s.conn = nil
	}
	return errors.Join(errs...)
}

func (s *Source) clients(ctx context.Context) (*clients, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		return s.cl, nil
	}
	// Not the poll's context: the clients outlive it, and the auth
	// library keeps the dial context for refreshing tokens.
	cl, err := s.dial(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	s.cl = cl
	return cl, nil
}

func (s *Source) dial(ctx context.Context) (*clients, error) {
	var opts []option.ClientOption
	switch {
	case s.cfg.Insecure:
		if s.conn == nil {
			conn, err := grpc.NewClient(s.cfg.Endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return nil, fmt.Errorf("gcm: endpoint %s: %w", s.cfg.Endpoint, err)
			}
			s.conn = conn
		}
		opts = append(opts, option.WithGRPCConn(s.conn), option.WithoutAuthentication())
	default:
		if s.cfg.Endpoint != "" {
			opts = append(opts, option.WithEndpoint(s.cfg.Endpoint))
		}
		if s.cfg.CredentialsFile != "" {
			co, err := credentialsOption(s.cfg.CredentialsFile)
			if err != nil {
				return nil, err
			}
			opts = append(opts, co)
		}
	}
	var cl clients
	var err error
	if cl.metric, err = monitoring.NewMetricClient(ctx, opts...); err != nil {
		return nil, fmt.Errorf("gcm: metric client: %w", err)
	}
	if cl.slo, err = monitoring.NewServiceMonitoringClient(ctx, opts...); err != nil {
		cl.metric.Close()
		return nil, fmt.Errorf("gcm: service monitoring client: %w", err)
	}
	if cl.policy, err = monitoring.NewAlertPolicyClient(ctx, opts...); err != nil {
		cl.metric.Close()
		cl.slo.Close()
		return nil, fmt.Errorf("gcm: alert policy client: %w", err)
	}
	// The generated clients retry UNAVAILABLE (and some more codes) with a
	// 100 ms back-off growing ×1.3 up to 30 s until the call's own timeout:
	// about 16 tries within a 10 s poll, which then ends as "no answer
	// within 10s" and hides the cause. Here a call is tried at most
	// maxAttempts times; the poller backs off between polls.
	retry := gax.WithRetry(boundedRetry)
	cl.metric.CallOptions.ListTimeSeries = append(cl.metric.CallOptions.ListTimeSeries, retry)
	cl.slo.CallOptions.ListServices = append(cl.slo.CallOptions.ListServices, retry)
	cl.slo.CallOptions.ListServiceLevelObjectives = append(cl.slo.CallOptions.ListServiceLevelObjectives, retry)
	cl.policy.CallOptions.GetAlertPolicy = append(cl.policy.CallOptions.GetAlertPolicy, retry)
	cl.policy.CallOptions.ListAlertPolicies = append(cl.policy.CallOptions.ListAlertPolicies, retry)
	// Open alerts exist only in the REST surface (projects.alerts.list).
	var ropts []option.ClientOption
	switch {
	case s.cfg.AlertsEndpoint != "":
		ropts = append(ropts, option.WithEndpoint(s.cfg.AlertsEndpoint))
		if s.cfg.Insecure {
			ropts = append(ropts, option.WithoutAuthentication(), option.WithHTTPClient(&http.Client{}))
		}
	case s.cfg.Insecure:
		ropts = nil // no REST endpoint to talk to: alerts queries say so
	}
	if s.cfg.CredentialsFile != "" && !s.cfg.Insecure {
		co, err := credentialsOption(s.cfg.CredentialsFile)
		if err != nil {
			return nil, err
		}
		ropts = append(ropts, co)
	}
	if s.cfg.AlertsEndpoint != "" || !s.cfg.Insecure {
		if cl.alerts, err = monrest.NewService(ctx, ropts...); err != nil {
			cl.metric.Close()
			cl.slo.Close()
			cl.policy.Close()
			return nil, fmt.Errorf("gcm: alerts REST client: %w", err)
		}
	}
	return &cl, nil
}

// credentialsOption reads the credentials file's type so the auth library
// can check it is what it claims to be.
func credentialsOption(path string) (option.ClientOption, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gcm: credentials_file: %w", err)
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("gcm: credentials_file %s: not a JSON credentials file: %w", path, err)
	}
	var t option.CredentialsType
	switch f.Type {
	case "service_account":
		t = option.ServiceAccount
	case "authorized_user":
		t = option.AuthorizedUser
	case "external_account":
		t = option.ExternalAccount
	case "impersonated_service_account":
		t = option.ImpersonatedServiceAccount
	default:
		return nil, fmt.Errorf("gcm: credentials_file %s: type %q not supported (service_account, authorized_user, external_account, impersonated_service_account)", path, f.Type)
	}
	return option.WithAuthCredentialsFile(t, path), nil
}

// Fetch runs one tile query.
func (s *Source) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	sp, err := parse(q)
	if err != nil {
		return board.Result{}, err
	}
	cl, err := s.clients(ctx)
	if err != nil {
		return board.Result{}, err
	}
	switch sp.mode {
	case modeAlerts:
		return s.openAlerts(ctx, cl)
	case modePolicies:
		return s.undocumented(ctx, cl)
	case modeSLOList:
		return s.sloList(ctx, cl)
	}
	return s.metrics(ctx, cl, sp, q.Range)
}

// metrics runs a metric, ratio or SLO query: one ListTimeSeries call (two
// for a ratio whose numerator is not its denominator plus a label).
func (s *Source) metrics(ctx context.Context, cl *clients, sp *spec, rng time.Duration) (board.Result, error) {
	now := s.now()
	lookback, period := sp.lookback, sp.period
	if rng > 0 {
		lookback = rng
		if period == 0 {
			period = max(defaultAlignmentPeriod, (rng / seriesPoints).Truncate(time.Minute))
		}
	}
	if period == 0 {
		period = defaultAlignmentPeriod
	}
	m := &mapping{}
	// Ratios sum each side per group_by group (see sumSeries); other
	// queries keep one series per group the API returned.
	convert := m.toSeries
	if sp.mode == modeRatio {
		convert = m.sumSeries
	}
	fetch := func(filter string) ([]series, string, error) {
		ts, unit, err := s.listTimeSeries(ctx, cl, m, &monitoringpb.ListTimeSeriesRequest{
			Name:   s.project,
			Filter: filter,
			Interval: &monitoringpb.TimeInterval{
				StartTime: timestamppb.New(now.Add(-lookback)),
				EndTime:   timestamppb.New(now),
			},
			Aggregation: &monitoringpb.Aggregation{
				AlignmentPeriod:    durationpb.New(period),
				PerSeriesAligner:   sp.aligner,
				CrossSeriesReducer: sp.reducer,
				GroupByFields:      sp.groupBy,
			},
			View:     monitoringpb.ListTimeSeriesRequest_FULL,
			PageSize: pageSize,
		})
		if err != nil {
			return nil, "", err
		}
		return convert(ts, sp.groupBy), unit, nil
	}
	var all []series
	switch {
	case sp.mode == modeRatio && sp.ratioLabel != "":
		grouped, _, err := fetch(sp.filter)
		if err != nil {
			return board.Result{}, err
		}
		all = ratioSeries(splitByLabel(grouped, sp.ratioLabel, sp.ratioValues))
	case sp.mode == modeRatio:
		num, _, err := fetch(sp.numerator)
		if err != nil {
			return board.Result{}, err
		}
		den, _, err := fetch(sp.denominator)
		if err != nil {
			return board.Result{}, err
		}
		all = ratioSeries(num, den)
	default:
		var err error
		if all, _, err = fetch(sp.filter); err != nil {
			return board.Result{}, err
		}
	}
	res := sp.result(all, rng > 0, now)
	res.Warnings = m.finish()
	return res, nil
}

// listTimeSeries reads every page, spending one token of the budget per
// page, and keeps the execution errors (partial data) as warnings.
func (s *Source) listTimeSeries(ctx context.Context, cl *clients, m *mapping, req *monitoringpb.ListTimeSeriesRequest) ([]*monitoringpb.TimeSeries, string, error) {
	var out []*monitoringpb.TimeSeries
	unit := ""
	it := cl.metric.ListTimeSeries(ctx, req)
	more, err := eachPage(s, it, fmt.Sprintf("list time series %q", req.Filter), 100, func(page []*monitoringpb.TimeSeries) {
		out = append(out, page...)
		if resp, ok := it.Response.(*monitoringpb.ListTimeSeriesResponse); ok && resp != nil {
			unit = resp.GetUnit()
			for _, e := range resp.GetExecutionErrors() {
				m.warn("partial data: %s", e.GetMessage())
			}
		}
	})
	if err != nil {
		return nil, "", err
	}
	if more {
		return nil, "", fmt.Errorf("gcm: list time series %q: more than 100 pages; narrow the filter or group_by", req.Filter)
	}
	return out, unit, nil
}

// eachPage hands each page of a listing to fn, spending one request of the
// budget per page. It is a bound, not a count anyone sees: when pages remain
// after page number maxPages+1 (counting from 0) it stops, with more true.
// what names the listing in errors. A function, not a method, because
// methods take no type parameters.
func eachPage[T any](s *Source, it iterator.Pageable, what string, maxPages int, fn func(page []T)) (more bool, err error) {
	pager := iterator.NewPager(it, pageSize, "")
	for pages := 0; ; pages++ {
		if err := s.take(); err != nil {
			return false, err
		}
		var page []T
		next, err := pager.NextPage(&page)
		if err != nil {
			return false, s.apiError(what, err)
		}
		fn(page)
		if next == "" {
			return false, nil
		}
		if pages > maxPages {
			return true, nil
		}
	}
}

// take spends one request of the budget, or says when there will be one.
func (s *Source) take() error {
	r := s.limiter.Reserve()
	if !r.OK() {
		return &poller.RetryError{After: time.Minute, Err: fmt.Errorf("gcm: request budget of %d/min is too small", s.rpm)}
	}
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return &poller.RetryError{After: d, Err: fmt.Errorf("gcm: request budget of %d/min spent (requests_per_minute), next request in %s", s.rpm, d.Round(time.Second))}
	}
	return nil
}

// apiError wraps a client error, turning quota errors into
// poller.RetryErrors.
func (s *Source) apiError(what string, err error) error {
	// REST first: googleapi errors also carry a gRPC status.
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusTooManyRequests {
		after := defaultQuotaBackoff
		if secs, perr := strconv.Atoi(ge.Header.Get("Retry-After")); perr == nil && secs > 0 {
			after = time.Duration(secs) * time.Second
		}
		return &poller.RetryError{After: after, Err: fmt.Errorf("gcm: %s: quota exhausted (HTTP 429), retrying in %s: %w", what, after, err)}
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.ResourceExhausted {
		after := defaultQuotaBackoff
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil && ri.GetRetryDelay().AsDuration() > 0 {
				after = ri.GetRetryDelay().AsDuration()
			}
		}
		return &poller.RetryError{After: after, Err: fmt.Errorf("gcm: %s: quota exhausted (RESOURCE_EXHAUSTED), retrying in %s: %w", what, after, err)}
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unavailable {
		// Named as the API names it, so the tile says what happened rather
		// than how long it waited.
		return fmt.Errorf("gcm: %s: UNAVAILABLE (tried %d times): %w", what, maxAttempts, err)
	}
	return fmt.Errorf("gcm: %s: %w", what, err)
}

// maxAttempts is how many times one call is tried on UNAVAILABLE within a
// poll: one try and two retries. The poller backs off between polls.
const maxAttempts = 3

// boundedRetry makes the retryer of one call: UNAVAILABLE only (the server
// did not take the request), at most maxAttempts tries, pauses of 100 ms
// then 200 ms (with the library's jitter).
func boundedRetry() gax.Retryer {
	return &attemptsRetryer{next: gax.OnCodes([]codes.Code{codes.Unavailable}, gax.Backoff{
		Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2,
	})}
}

type attemptsRetryer struct {
	next  gax.Retryer
	tries int
}

func (r *attemptsRetryer) Retry(err error) (time.Duration, bool) {
	r.tries++
	if r.tries >= maxAttempts {
		return 0, false
	}
	return r.next.Retry(err)
}
