package app

import (
	"os"
	"testing"

	"github.com/wallboard/wallboard/store/pgtest"
)

// The PostgreSQL tests of the package share one throwaway cluster (started
// by the first that needs it).
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
