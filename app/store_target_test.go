package app

import (
	"path/filepath"
	"testing"

	"github.com/wallboard/wallboard/board"
)

// The -store flag wins over the config's store.url; store.password goes
// with a PostgreSQL URL from either; without both, the SQLite file in the
// data directory.
func TestStoreTarget(t *testing.T) {
	t.Setenv("WB_TEST_STORE_PW", "pw")
	cfgStore := &board.StoreConfig{URL: "postgres://wb@cfg/wb", Password: &board.Secret{Env: "WB_TEST_STORE_PW"}}
	for _, c := range []struct {
		name         string
		flag         string
		store        *board.StoreConfig
		target, pass string
	}{
		{"default", "", nil, filepath.Join("d", "wallboard.db"), ""},
		{"config", "", cfgStore, "postgres://wb@cfg/wb", "pw"},
		{"flag wins", "postgresql://wb@flag/wb", cfgStore, "postgresql://wb@flag/wb", "pw"},
		{"flag alone", "postgres://wb@flag/wb", nil, "postgres://wb@flag/wb", ""},
		{"flag is a file", "/var/lib/wb/w.db", cfgStore, "/var/lib/wb/w.db", ""},
	} {
		target, pass, err := storeTarget(Options{Store: c.flag, DataDir: "d"}, &board.Config{Store: c.store})
		if err != nil || target != c.target || pass != c.pass {
			t.Errorf("%s: %q, %q, %v; want %q, %q", c.name, target, pass, err, c.target, c.pass)
		}
	}
	if _, _, err := storeTarget(Options{}, &board.Config{Store: &board.StoreConfig{URL: "postgres://wb@cfg/wb",
		Password: &board.Secret{Env: "WB_TEST_STORE_UNSET"}}}); err == nil {
		t.Error("a missing password variable did not stop the start")
	}
}
