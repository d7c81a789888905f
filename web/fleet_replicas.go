package web

import (
	"context"
	"fmt"
	"strings"
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
	revoked, err := f.Reload(ctx)
	if err != nil {
		return err
	}
	for _, id := range revoked {
		s.hub.RevokeScreen(id)
	}
	return nil
}

// Reload reads the screens from the store again, keeping what is seen live
// of each; it returns the screens revoked since the last read.
func (f *Fleet) Reload(ctx context.Context) ([]string, error) {
	list, err := f.st.Screens(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: reload: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var revoked []string
	for _, sc := range list {
		old, ok := f.screens[sc.ID]
		if !ok {
			f.screens[sc.ID] = &fleetScreen{Screen: sc}
			f.byHash[sc.TokenSHA256] = sc.ID
			if !sc.Revoked.IsZero() {
				revoked = append(revoked, sc.ID)
			}
			continue
		}
		if old.Revoked.IsZero() && !sc.Revoked.IsZero() {
			revoked = append(revoked, sc.ID)
		}
		old.Screen = sc
	}
	return revoked, nil
}
