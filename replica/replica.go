// Package replica lets several Wallboard processes share one PostgreSQL
// database: one of them polls each query (a lease per poll job), writes the
// result and tells the others, who show it on their own screens; a webhook
// or a fleet action taken by one is announced to all.
//
// It talks to PostgreSQL only; it never renders, never polls a backend and
// never decides what a result means. Losing PostgreSQL never stops a
// replica from serving the state it has: it stops polling (its leases are
// gone) and keeps trying to reconnect.
package replica

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/store"
)

// channel is the LISTEN/NOTIFY channel every replica listens on.
const channel = "wallboard"

// maxPayload bounds a NOTIFY payload in bytes; PostgreSQL refuses 8,000 and
// more. A notice that would not fit says "reload everything" instead.
const maxPayload = 7000

// defaultTTL is how long a lease lasts without renewal. A SIGKILLed holder's
// queries are taken by another replica within defaultTTL plus one renewal
// period (TTL/4): 7.5 s, so a tile polled every 5 s or more never goes
// stale (its freshness is three intervals) across a failover.
const defaultTTL = 6 * time.Second

// The lease is a row with a TTL (holder, expires_at on PostgreSQL's clock),
// renewed by its holder, rather than a session advisory lock on a dedicated
// connection:
//   - a lease row's end is bounded by its TTL whatever happens to the
//     network: an advisory lock lives as long as PostgreSQL believes the
//     holder's session is alive, which after a network partition or a
//     frozen instance (Cloud Run throttles idle CPU) is until the server's
//     TCP keepalive gives up, by default two hours of a query nobody polls;
//   - it works through connection poolers in transaction mode (PgBouncer,
//     which Cloud SQL setups often put in front) that break session locks;
//   - the write of a result is guarded in its own transaction (the lease
//     row is read FOR SHARE: a takeover waits for the write or the write
//     sees the new holder), on any connection; an advisory lock guards only
//     the writes made on its own session;
//   - one statement renews and takes every lease of a replica, so the
//     cost in PostgreSQL is one round trip per replica and period, whatever
//     the number of queries.
//
// The holder stops at its own local deadline, TTL·2/3 after it sent its last
// successful renewal, well before the row expires on the server's clock; a
// failed renewal (the connection is lost) drops every lease at once.
const leaseTable = `CREATE TABLE IF NOT EXISTS wallboard_leases (
	key        TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
)`

// Notice is what one replica tells the others.
type Notice struct {
	From string `json:"f"`
	// Tiles whose stored state changed.
	Tiles [][2]string `json:"t,omitempty"`
	// Steps the other replicas run as the sender did after its commit
	// (a webhook receiver's name, "screens", ...).
	Steps []string `json:"s,omitempty"`
	// All: reload every tile and run every step (the payload was too big,
	// or notices may have been missed while the listen connection was down).
	All bool `json:"a,omitempty"`
}

// Refs are the notice's tiles.
func (n Notice) Refs() []board.TileRef {
	out := make([]board.TileRef, len(n.Tiles))
	for i, t := range n.Tiles {
		out[i] = board.TileRef{Board: t[0], Tile: t[1]}
	}
	return out
}

// payload encodes n for NOTIFY, as a reload-all notice when it is too big.
func (n Notice) payload() string {
	b, _ := json.Marshal(n)
	if len(b) > maxPayload {
		b, _ = json.Marshal(Notice{From: n.From, All: true})
	}
	return string(b)
}

// Options configure a Replica.
type Options struct {
	// Conn is how to reach the database (the store's: store.ParsePostgresURL).
	Conn *pgx.ConnConfig
	// id names this replica as a lease holder; default host-pid-random.
	id  string
	ttl time.Duration // default defaultTTL
	Log *slog.Logger
	// OnAcquire runs (on the lease goroutine, keep it short) when this
	// replica takes the lease of key: poll it now.
	OnAcquire func(key string)
	// OnNotice runs for every notice of another replica, and with All after
	// each (re)connection of the listen connection. Notices are handed over
	// one at a time, in order.
	OnNotice func(Notice)
}

// Replica is this process's part in the group.
type Replica struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	want []string         // sorted job keys this process runs
	held map[string]*hold // key -> lease held now

	wmu   sync.Mutex // one write at a time on wconn
	wconn *pgx.Conn
	// closed: Close ran; no write connects again (a webhook or a poll can
	// still finish after it, and its connection would never be closed).
	closed bool

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

type hold struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// New makes a replica; Start runs it.
func New(opts Options) *Replica {
	if opts.ttl <= 0 {
		opts.ttl = defaultTTL
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.id == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		rand.Read(b)
		opts.id = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if opts.OnAcquire == nil {
		opts.OnAcquire = func(string) {}
	}
	if opts.OnNotice == nil {
		opts.OnNotice = func(Notice) {}
	}
	return &Replica{opts: opts, log: opts.Log, held: map[string]*hold{}}
}

func (r *Replica) connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, r.opts.Conn)
}

// ID is this replica's holder id (also the key of its screens' presence rows).
func (r *Replica) ID() string { return r.opts.id }

// Start creates the lease table when missing and starts keeping leases and
// listening; both run until Close and reconnect by themselves. It returns
// once the listen connection is up and its first reload is done (or after
// 10 s without it), so that a replica is not reported ready while it would
// miss the other replicas' notices.
func (r *Replica) Start(ctx context.Context) error {
	c, err := r.connect(ctx)
	if err != nil {
		return fmt.Errorf("replica: connect: %w", err)
	}
	defer c.Close(context.Background())
	// Replicas starting together would race on CREATE TABLE IF NOT EXISTS
	// (a unique violation in pg_type): one at a time.
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7304198827710452431)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, leaseTable)
		return err
	})
	if err != nil {
		return fmt.Errorf("replica: create lease table: %w", err)
	}
	wait := ctx
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	listening := make(chan struct{})
	r.wg.Go(func() { r.leaseLoop(ctx) })
	r.wg.Go(func() { r.listenLoop(ctx, listening) })
	select {
	case <-listening:
	case <-wait.Done():
	case <-time.After(10 * time.Second):
		r.log.Warn("replica: not listening yet; going on (the first reload comes once it is)")
	}
	return nil
}

// Close stops polling (every lease is dropped and released so another
// replica takes them at its next renewal, not after the TTL) and listening.
func (r *Replica) Close() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	r.dropAll()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if c, err := r.connect(ctx); err == nil {
		if _, err := c.Exec(ctx, `DELETE FROM wallboard_leases WHERE holder = $1`, r.opts.id); err != nil {
			r.log.Warn("releasing leases", "error", err)
		}
		c.Close(ctx)
	}
	r.wmu.Lock()
	r.closed = true
	if r.wconn != nil {
		r.wconn.Close(ctx)
		r.wconn = nil
	}
	r.wmu.Unlock()
}

// Want sets the job keys this replica contends for (poller.Leases).
func (r *Replica) Want(keys []string) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	r.mu.Lock()
	r.want = keys
	for k, h := range r.held {
		if _, ok := slices.BinarySearch(keys, k); !ok {
			h.cancel()
			delete(r.held, k)
		}
	}
	r.mu.Unlock()
}

// Hold reports whether this replica holds key's lease (poller.Leases).
func (r *Replica) Hold(key string) (context.Context, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.held[key]
	if !ok {
		return nil, false
	}
	return h.ctx, true
}

// Held is how many leases this replica holds now.
func (r *Replica) Held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.held)
}

func (r *Replica) dropAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, h := range r.held {
		h.cancel()
		delete(r.held, k)
	}
}

// leaseLoop renews and takes leases every TTL/4 with one statement, and
// drops them all when a renewal fails or comes later than the local deadline.
func (r *Replica) leaseLoop(ctx context.Context) {
	period := r.opts.ttl / 4
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	deadline := time.NewTimer(time.Hour)
	deadline.Stop()
	tick := time.NewTimer(0)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			// The renewal in flight is late: PostgreSQL may hand the
			// lease to another replica before we hear back.
			r.dropAll()
			continue
		case <-tick.C:
		}
		tick.Reset(period)
		sent := time.Now()
		got, err := r.renew(ctx, &conn, period)
		if ctx.Err() != nil {
			return
		}
		if err != nil || time.Since(sent) > r.opts.ttl*2/3 {
			if conn != nil {
				conn.Close(context.Background())
				conn = nil
			}
			r.dropAll()
			if !failing {
				r.log.Error("replica: leases lost: polling stops until PostgreSQL answers again", "error", err)
			}
			failing = true
			continue
		}
		if failing {
			r.log.Info("replica: renewing leases works again")
			failing = false
		}
		deadline.Reset(time.Until(sent.Add(r.opts.ttl * 2 / 3)))
		r.apply(got)
	}
}

// renew runs one round: release unwanted leases, renew held ones and take
// free or expired ones, all in one statement; it returns the keys held now.
func (r *Replica) renew(ctx context.Context, conn **pgx.Conn, timeout time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, max(timeout, time.Second))
	defer cancel()
	if *conn == nil {
		c, err := r.connect(ctx)
		if err != nil {
			return nil, fmt.Errorf("replica: connect: %w", err)
		}
		*conn = c
	}
	r.mu.Lock()
	want := r.want
	r.mu.Unlock()
	// Keys in sorted order: two replicas lock rows in the same order,
	// so their rounds never deadlock.
	rows, err := (*conn).Query(ctx, `WITH gone AS (
			DELETE FROM wallboard_leases WHERE holder = $1 AND key <> ALL($2::text[])
		)
		INSERT INTO wallboard_leases (key, holder, expires_at)
		SELECT k, $1, now() + $3 * interval '1 millisecond' FROM unnest($2::text[]) AS k
		ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE wallboard_leases.holder = excluded.holder OR wallboard_leases.expires_at < now()
		RETURNING key`, r.opts.id, want, r.opts.ttl.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("replica: renew leases: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("replica: renew leases: %w", err)
	}
	return keys, nil
}

// apply makes keys the held set: new ones get a context and a kick, lost
// ones are cancelled.
func (r *Replica) apply(keys []string) {
	var taken []string
	r.mu.Lock()
	now := map[string]bool{}
	for _, k := range keys {
		if _, ok := slices.BinarySearch(r.want, k); !ok {
			continue // Want changed during the round
		}
		now[k] = true
		if _, ok := r.held[k]; !ok {
			ctx, cancel := context.WithCancel(context.Background())
			r.held[k] = &hold{ctx: ctx, cancel: cancel}
			taken = append(taken, k)
		}
	}
	for k, h := range r.held {
		if !now[k] {
			h.cancel()
			delete(r.held, k)
		}
	}
	r.mu.Unlock()
	for _, k := range taken {
		r.opts.OnAcquire(k)
	}
}

// ErrLeaseLost means a result was not written: this replica no longer holds
// its query's lease (another one polls it now).
var ErrLeaseLost = errors.New("replica: lease lost: result dropped")

// errClosed: a write after Close.
var errClosed = errors.New("replica: closed")

// withConn runs fn on the write connection, connecting when needed, one
// call at a time; a failed call drops the connection.
func (r *Replica) withConn(ctx context.Context, fn func(c *pgx.Conn) error) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.closed {
		return errClosed
	}
	if r.wconn == nil {
		c, err := r.connect(ctx)
		if err != nil {
			return fmt.Errorf("replica: connect: %w", err)
		}
		r.wconn = c
	}
	err := fn(r.wconn)
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		r.wconn.Close(context.Background())
		r.wconn = nil
	}
	return err
}

// SaveTiles writes the states a poll of the job keyed key produced, and
// their values to the tile history, then notifies the other replicas, in one
// transaction guarded by the lease: it returns ErrLeaseLost, writing
// nothing, unless this replica still holds key's lease on PostgreSQL's clock.
func (r *Replica) SaveTiles(ctx context.Context, key string, states []board.TileState) error {
	if len(states) == 0 {
		return nil
	}
	n := Notice{From: r.opts.id}
	for _, st := range states {
		n.Tiles = append(n.Tiles, [2]string{st.Board, st.Tile})
	}
	err := r.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM wallboard_leases WHERE key = $1 AND holder = $2 AND expires_at > now() FOR SHARE`,
				key, r.opts.id).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrLeaseLost
			}
			if err != nil {
				return fmt.Errorf("replica: check lease: %w", err)
			}
			var b pgx.Batch
			for _, st := range states {
				st.Restored = false
				js, err := json.Marshal(st)
				if err != nil {
					return fmt.Errorf("replica: save tile %s/%s: %w", st.Board, st.Tile, err)
				}
				b.Queue(`INSERT INTO tile_state (board, tile, state, updated_at) VALUES ($1, $2, $3, $4)
					ON CONFLICT (board, tile) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
					st.Board, st.Tile, string(js), st.UpdatedAt.UnixMilli())
				if st.Value != nil && st.Error == "" {
					queueHistory(&b, st)
				}
			}
			b.Queue(`SELECT pg_notify($1, $2)`, channel, n.payload())
			if err := tx.SendBatch(ctx, &b).Close(); err != nil {
				return fmt.Errorf("replica: save tiles: %w", err)
			}
			return nil
		})
	})
	if errors.Is(err, errClosed) {
		// Close released every lease: the result is another replica's now.
		return ErrLeaseLost
	}
	return err
}

// queueHistory queues st's value for the tile history, at the data's time
// when that is earlier than the poll's.
func queueHistory(b *pgx.Batch, st board.TileState) {
	at := st.UpdatedAt
	if !st.At.IsZero() && st.At.Before(at) {
		at = st.At
	}
	for _, w := range store.PostgresHistoryWrites(st.Board, st.Tile, at, *st.Value) {
		b.Queue(w.SQL, w.Args...)
	}
}

// Announce tells the other replicas to run steps (after a webhook's commit,
// a change of the screens).
func (r *Replica) Announce(ctx context.Context, steps ...string) error {
	n := Notice{From: r.opts.id, Steps: steps}
	return r.withConn(ctx, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, n.payload()); err != nil {
			return fmt.Errorf("replica: notify: %w", err)
		}
		return nil
	})
}

// LoadTiles reads the stored states of refs (every tile when refs is nil).
func (r *Replica) LoadTiles(ctx context.Context, refs []board.TileRef) ([]board.TileState, error) {
	var out []board.TileState
	err := r.withConn(ctx, func(c *pgx.Conn) error {
		var rows pgx.Rows
		var err error
		if refs == nil {
			rows, err = c.Query(ctx, `SELECT board, tile, state::text FROM tile_state`)
		} else {
			bs, ts := make([]string, len(refs)), make([]string, len(refs))
			for i, ref := range refs {
				bs[i], ts[i] = ref.Board, ref.Tile
			}
			rows, err = c.Query(ctx, `SELECT board, tile, state::text FROM tile_state
				WHERE (board, tile) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, bs, ts)
		}
		if err != nil {
			return fmt.Errorf("replica: load tiles: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var b, t, js string
			if err := rows.Scan(&b, &t, &js); err != nil {
				return fmt.Errorf("replica: load tiles: %w", err)
			}
			var st board.TileState
			if err := json.Unmarshal([]byte(js), &st); err != nil {
				r.log.Warn("replica: undecodable tile state", "board", b, "tile", t, "error", err)
				continue
			}
			st.Board, st.Tile = b, t
			out = append(out, st)
		}
		return rows.Err()
	})
	return out, err
}

// listenLoop listens for notices on a connection of its own, reconnecting
// with a growing pause (1 s to 10 s) when it is lost; after every
// (re)connection it hands over an All notice, since notices sent while it
// was down are lost.
func (r *Replica) listenLoop(ctx context.Context, listening chan<- struct{}) {
	pause := time.Second
	var once sync.Once
	up := func() { once.Do(func() { close(listening) }) }
	for {
		err := r.listen(ctx, up)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("replica: listen connection lost; reconnecting", "error", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(pause*2, 10*time.Second)
	}
}

func (r *Replica) listen(ctx context.Context, up func()) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := r.connect(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("replica: connect: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, `LISTEN `+channel); err != nil {
		return fmt.Errorf("replica: listen: %w", err)
	}
	r.opts.OnNotice(Notice{All: true})
	up()
	for {
		// A quiet connection is checked every 30 s so a dead one is found
		// (WaitForNotification alone would wait on a half-open socket).
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		nt, err := c.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = c.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("replica: listen: %w", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("replica: listen: %w", err)
		}
		var n Notice
		if err := json.Unmarshal([]byte(nt.Payload), &n); err != nil {
			r.log.Warn("replica: undecodable notice", "error", err)
			continue
		}
		if n.From == r.opts.id {
			continue
		}
		r.opts.OnNotice(n)
	}
}
