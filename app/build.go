package app

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"runtime/debug"
	"sync"
)

// BuildID identifies this binary: the VCS revision when built from a checkout,
// else a hash of the executable. Screens reload once when it changes.
var BuildID = sync.OnceValue(func() string {
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
