package web

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/views"
)

// Replicas sharing one PostgreSQL share the screens table: a screen paired,
// steered or revoked on one replica must be honoured by every other, whose
// websockets may hold that screen. The replica that made the change calls
// the function given to OnFleetChange with a step; every other replica
// hands that step to ApplyFleetChange.

// Fleet change steps.
const (
	// StepScreens: the screens table changed (paired, renamed, moved,
	// revoked): reload it, close the sockets of screens revoked since.
	StepScreens = "screens"
	// stepCommand prefixes "screen-cmd:<id>:<cmd>:<arg>": send a command
	// to a screen's sockets on this replica.
	stepCommand = "screen-cmd:"
)

// OnFleetChange sets what runs after this replica changed the fleet
// (nil: nothing, a lone process).
func (s *Server) OnFleetChange(fn func(step string)) { s.fleetChanged = fn }

func (s *Server) fleetChange(step string) {
	if s.fleetChanged != nil {
		s.fleetChanged(step)
	}
}

// ApplyFleetChange does on this replica what another replica's fleet change
// asks; reload is true for a step that may have been missed (reconnection).
func (s *Server) ApplyFleetChange(ctx context.Context, step string) error {
	f := s.fleet
	if f == nil {
		return nil
	}
	if rest, ok := strings.CutPrefix(step, stepCommand); ok {
		p := strings.SplitN(rest, ":", 3)
		if len(p) != 3 {
			return fmt.Errorf("fleet: bad step %q", step)
		}
		s.sendCommand(p[0], p[1], p[2])
		return nil
	}
	if step != StepScreens {
		return nil
	}
	revoked, err := f.reload(ctx)
	if err != nil {
		return err
	}
	for _, id := range revoked {
		s.hub.revokeScreen(id)
	}
	return nil
}

// reload reads the screens from the store again, keeping what is seen live
// of each; it returns the screens revoked since the last read.
func (f *Fleet) reload(ctx context.Context) ([]string, error) {
	list, err := f.st.Screens(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: reload: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var revoked []string
	for _, sc := range list {
		old, ok := f.screens[sc.ID]
		if !sc.Revoked.IsZero() && (!ok || old.Revoked.IsZero()) {
			revoked = append(revoked, sc.ID)
		}
		f.learn(sc)
	}
	return revoked, nil
}

// Presence: each replica writes what it sees live of the screens connected
// to it (websockets, the page's last report) to the store, and touches its
// rows every presenceEvery; the fleet page of any replica adds the other
// replicas' rows to its own. A row untouched for presenceStale belongs to a
// replica that is gone (SIGKILL, a lost network): its screens count as lost
// since its last write. Replicas' clocks must agree within a few seconds.
const (
	presenceEvery = 5 * time.Second
	presenceStale = 3 * presenceEvery
	// presenceKeep: rows of replicas gone this long are swept.
	presenceKeep = 24 * time.Hour
	// presenceGap folds changes in quick succession (many screens
	// reconnecting after a restart) into one write.
	presenceGap = 200 * time.Millisecond
)

// SharePresence writes this replica's view of its screens to the store as
// replica, until ctx ends (replicas only: alone, the fleet page has it all).
func (s *Server) SharePresence(ctx context.Context, replica string) {
	if f := s.fleet; f != nil {
		f.sharePresence(ctx, replica)
	}
}

func (f *Fleet) sharePresence(ctx context.Context, replica string) {
	f.mu.Lock()
	f.replica = replica
	for _, sc := range f.screens {
		if sc.seen {
			sc.dirty = true
		}
	}
	f.mu.Unlock()
	tick := time.NewTicker(presenceEvery)
	defer tick.Stop()
	failing := false
	for {
		err := f.flushPresence(ctx, replica)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			f.log.Warn("fleet: writing screen presence failed; other replicas may show these screens as lost", "error", err)
		case err == nil && failing:
			f.log.Info("fleet: writing screen presence works again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-time.After(presenceGap):
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-f.seen:
		}
	}
}

// changed marks a screen's live state to be written. f.mu held.
func (f *Fleet) changed(sc *fleetScreen) {
	sc.dirty = true
	if f.replica == "" {
		return
	}
	select {
	case f.seen <- struct{}{}:
	default:
	}
}

// flushPresence writes the screens changed since the last write and
// touches the others.
func (f *Fleet) flushPresence(ctx context.Context, replica string) error {
	now := f.now()
	f.mu.Lock()
	var rows []store.ScreenPresence
	for _, sc := range f.screens {
		if !sc.dirty {
			continue
		}
		sc.dirty = false
		opens := 0
		for _, t := range sc.opens {
			if now.Sub(t) <= 24*time.Hour {
				opens++
			}
		}
		rows = append(rows, store.ScreenPresence{ScreenID: sc.ID, Conns: sc.conns, LostAt: sc.lostSince, BeatAt: sc.beat,
			W: sc.w, H: sc.h, DPR: sc.dpr, Browser: sc.ua, Build: sc.build, Autoplay: sc.autoplay, Opens: opens})
	}
	f.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := f.st.SavePresence(wctx, replica, rows, now, now.Add(-presenceKeep))
	if err != nil {
		// Written again with the next try.
		f.mu.Lock()
		for _, p := range rows {
			if sc := f.screens[p.ScreenID]; sc != nil {
				sc.dirty = true
			}
		}
		f.mu.Unlock()
	}
	return err
}

// othersPresence is the other replicas' rows by screen (nil alone, or
// when the store cannot be read: the page then shows this replica's view).
func (f *Fleet) othersPresence(ctx context.Context, now time.Time) map[string][]store.ScreenPresence {
	f.mu.Lock()
	self := f.replica
	f.mu.Unlock()
	if self == "" {
		return nil
	}
	rows, err := f.st.Presence(ctx)
	if err != nil {
		f.log.Warn("fleet: reading screen presence", "error", err)
		return nil
	}
	out := map[string][]store.ScreenPresence{}
	for _, p := range rows {
		if p.Replica != self {
			out[p.ScreenID] = append(out[p.ScreenID], p)
		}
	}
	return out
}

// mergePresence adds another replica's view of a screen to v: connected
// if connected anywhere, lost since the latest loss, details from the
// latest report.
func mergePresence(v *views.FleetScreen, p store.ScreenPresence, now time.Time) {
	v.Seen = true
	lost := p.LostAt
	if now.Sub(p.UpdatedAt) > presenceStale {
		if p.Conns > 0 {
			lost = p.UpdatedAt // its replica went away with the screen on it
		}
	} else if p.Conns > 0 {
		v.Connected = true
	}
	if lost.After(v.LostSince) {
		v.LostSince = lost
	}
	if p.BeatAt.After(v.Beat) {
		v.Beat, v.W, v.H, v.DPR, v.Build, v.Autoplay = p.BeatAt, p.W, p.H, p.DPR, p.Build, p.Autoplay
		if p.Browser != "" {
			v.Browser = p.Browser
		}
	}
	if v.Browser == "" {
		v.Browser = p.Browser
	}
	v.Reconnects += p.Opens
}
