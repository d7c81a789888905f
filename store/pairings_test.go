package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"
)

func pairingOf(code, nonce, addr string, expires time.Time) Pairing {
	return Pairing{CodeSHA256: sha256.Sum256([]byte(code)), NonceSHA256: sha256.Sum256([]byte(nonce)), Addr: addr, Expires: expires}
}

// A code is added within its limits, approved once (the screen's credential
// is the TV's nonce), collected once; expired codes neither count nor
// approve, and are swept.
func TestPairingsLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_780_000_000_000)
		ttl := 10 * time.Minute
		add := func(code, nonce, addr string, at time.Time) error {
			return s.AddPairing(ctx, pairingOf(code, nonce, addr, at.Add(ttl)), at, 2, 3)
		}
		if err := add("AAAAAA", "n1", "10.0.0.1", t0); err != nil {
			t.Fatal(err)
		}
		if err := add("AAAAAA", "n2", "10.0.0.2", t0); !errors.Is(err, ErrCodeTaken) {
			t.Errorf("same code twice: %v, want ErrCodeTaken", err)
		}
		if err := add("BBBBBB", "n2", "10.0.0.1", t0); err != nil {
			t.Fatal(err)
		}
		if err := add("CCCCCC", "n3", "10.0.0.1", t0); !errors.Is(err, ErrTooManyFromAddr) {
			t.Errorf("third code of one address (limit 2): %v, want ErrTooManyFromAddr", err)
		}
		if err := add("CCCCCC", "n3", "10.0.0.2", t0); err != nil {
			t.Fatal(err)
		}
		if err := add("DDDDDD", "n4", "10.0.0.3", t0); !errors.Is(err, ErrTooManyPairings) {
			t.Errorf("fourth code in all (limit 3): %v, want ErrTooManyPairings", err)
		}

		p, err := s.PairingByNonce(ctx, sha256.Sum256([]byte("n1")), t0)
		if err != nil || p.ScreenID != "" || p.CodeSHA256 != sha256.Sum256([]byte("AAAAAA")) || !p.Expires.Equal(t0.Add(ttl)) {
			t.Fatalf("pairing by nonce = %+v, %v", p, err)
		}
		if _, err := s.CollectPairing(ctx, sha256.Sum256([]byte("n1")), t0); !errors.Is(err, ErrNoPairing) {
			t.Errorf("collect before approval: %v, want ErrNoPairing", err)
		}
		sc := Screen{ID: "s1", Name: "Hall", Target: "/boards/ops", CreatedAt: t0}
		got, err := s.ApprovePairing(ctx, sha256.Sum256([]byte("AAAAAA")), sc, t0.Add(time.Minute))
		if err != nil || got.TokenSHA256 != sha256.Sum256([]byte("n1")) {
			t.Fatalf("approve = %+v, %v; want the nonce's hash as credential", got, err)
		}
		if _, err := s.ApprovePairing(ctx, sha256.Sum256([]byte("AAAAAA")), Screen{ID: "s2", CreatedAt: t0}, t0.Add(time.Minute)); !errors.Is(err, ErrNoPairing) {
			t.Errorf("second approval: %v, want ErrNoPairing", err)
		}
		if _, err := s.ApprovePairing(ctx, sha256.Sum256([]byte("ZZZZZZ")), Screen{ID: "s3", CreatedAt: t0}, t0); !errors.Is(err, ErrNoPairing) {
			t.Errorf("unknown code: %v, want ErrNoPairing", err)
		}
		if byTok, err := s.ScreenByToken(ctx, sha256.Sum256([]byte("n1"))); err != nil || byTok.ID != "s1" {
			t.Errorf("screen by token = %+v, %v", byTok, err)
		}
		if _, err := s.ScreenByToken(ctx, sha256.Sum256([]byte("n2"))); !errors.Is(err, ErrNoScreen) {
			t.Errorf("screen by a waiting nonce: %v, want ErrNoScreen", err)
		}
		// Moved before the TV collects: it gets where the screen is now.
		got.Target = "/playlists/office"
		if err := s.UpdateScreen(ctx, got); err != nil {
			t.Fatal(err)
		}
		col, err := s.CollectPairing(ctx, sha256.Sum256([]byte("n1")), t0.Add(2*time.Minute))
		if err != nil || col.ID != "s1" || col.Target != "/playlists/office" {
			t.Fatalf("collect = %+v, %v", col, err)
		}
		if _, err := s.CollectPairing(ctx, sha256.Sum256([]byte("n1")), t0.Add(2*time.Minute)); !errors.Is(err, ErrNoPairing) {
			t.Errorf("second collection: %v, want ErrNoPairing", err)
		}

		// Past their time codes are neither found nor approved, and the
		// next code sweeps them: the limits count only live ones.
		late := t0.Add(ttl + time.Second)
		if _, err := s.PairingByNonce(ctx, sha256.Sum256([]byte("n2")), late); !errors.Is(err, ErrNoPairing) {
			t.Errorf("expired pairing found: %v", err)
		}
		if _, err := s.ApprovePairing(ctx, sha256.Sum256([]byte("BBBBBB")), Screen{ID: "s4", CreatedAt: late}, late); !errors.Is(err, ErrNoPairing) {
			t.Errorf("expired code approved: %v", err)
		}
		for i, code := range []string{"EEEEEE", "FFFFFF"} {
			if err := add(code, "m"+code, "10.0.0.1", late); err != nil {
				t.Errorf("code %d after expiry: %v", i, err)
			}
		}
		var n int
		if err := s.DB.QueryRow(`SELECT count(*) FROM pairings`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d rows after the sweep, %v; want the 2 live codes", n, err)
		}
	})
}

func TestPairFailuresCountedInWindowAndSwept(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_780_000_000_000)
		for i := range 3 {
			if err := s.AddPairFailure(ctx, "10.0.0.1", t0.Add(time.Duration(i)*time.Minute), t0.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.PairFailures(ctx, "10.0.0.1", t0.Add(time.Minute)); err != nil || n != 2 {
			t.Errorf("failures since t0+1m = %d, %v; want 2", n, err)
		}
		if n, err := s.PairFailures(ctx, "10.0.0.2", t0); err != nil || n != 0 {
			t.Errorf("another address = %d, %v; want 0", n, err)
		}
		if err := s.AddPairFailure(ctx, "10.0.0.2", t0.Add(time.Hour), t0.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.DB.QueryRow(`SELECT count(*) FROM pair_failures`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d failures kept after the sweep, %v; want 1", n, err)
		}
	})
}

func TestScreenPresenceRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_780_000_000_000)
		yes := true
		a := ScreenPresence{ScreenID: "s1", Conns: 2, BeatAt: t0, W: 1920, H: 1080, DPR: 1.5, Browser: "Chrome 131 on Linux", Build: "b1", Autoplay: &yes, Opens: 3}
		if err := s.SavePresence(ctx, "A", []ScreenPresence{a}, t0, t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		b := ScreenPresence{ScreenID: "s1", LostAt: t0.Add(time.Second)}
		if err := s.SavePresence(ctx, "B", []ScreenPresence{b}, t0.Add(time.Second), t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		// A touches its rows without changes.
		if err := s.SavePresence(ctx, "A", nil, t0.Add(5*time.Second), t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Presence(ctx)
		if err != nil || len(got) != 2 {
			t.Fatalf("presence = %+v, %v", got, err)
		}
		ga, gb := got[0], got[1]
		if ga.Replica != "A" || ga.Conns != 2 || !ga.BeatAt.Equal(t0) || ga.W != 1920 || ga.DPR != 1.5 || ga.Browser != a.Browser ||
			ga.Build != "b1" || ga.Autoplay == nil || !*ga.Autoplay || ga.Opens != 3 || !ga.LostAt.IsZero() || !ga.UpdatedAt.Equal(t0.Add(5*time.Second)) {
			t.Errorf("A's row = %+v", ga)
		}
		if gb.Replica != "B" || gb.Conns != 0 || !gb.LostAt.Equal(t0.Add(time.Second)) || !gb.BeatAt.IsZero() || gb.Autoplay != nil {
			t.Errorf("B's row = %+v", gb)
		}
		// A row untouched past the sweep time goes.
		if err := s.SavePresence(ctx, "A", nil, t0.Add(time.Hour), t0.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Presence(ctx); err != nil || len(got) != 1 || got[0].Replica != "A" {
			t.Errorf("after the sweep = %+v, %v; want A's row only", got, err)
		}
	})
}
