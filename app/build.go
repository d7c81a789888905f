package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// buildID identifies this binary: the VCS revision when built from a checkout,
// else a hash of the executable. Screens reload once when it changes.
var buildID = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" && !dirty {
			return rev[:12]
		}
	}
	if exe, err := os.Executable(); err == nil {
		if b, err := os.ReadFile(exe); err == nil {
			sum := sha256.Sum256(b)
			return hex.EncodeToString(sum[:6])
		}
	}
	return "dev"
})

// Version says which build this is: the module version, the build id the
// screens see (buildID) and the Go version, e.g.
// "wallboard v1.4.0 (build 3f2a9c1d0b7e, go1.25.1)".
func Version() string {
	return fmt.Sprintf("wallboard %s (build %s, %s)", moduleVersion(), buildID(), runtime.Version())
}

// moduleVersion is the module version go install recorded ("(devel)" for a
// build from a checkout).
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// buildInfo is the wallboard_build_info gauge: always 1, its labels say
// which build runs (the page says it too, in its wb-build meta).
func buildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "wallboard_build_info", Help: "Which build runs (always 1).",
		ConstLabels: prometheus.Labels{"version": moduleVersion(), "build": buildID(), "goversion": runtime.Version()}})
	g.Set(1)
	return g
}
