package main

import (
	"os"
	"testing"

	"github.com/wallboard/wallboard/store/pgtest"
)

// The PostgreSQL tests of the package share one throwaway cluster.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
