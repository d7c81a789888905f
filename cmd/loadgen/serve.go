package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/bench"
	"github.com/wallboard/wallboard/poller"
)

// serve runs the server under test until SIGINT/SIGTERM.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	which := fs.String("board", "bench", "bench (one tile, updated every second by a counting clock) or demo (the built-in demo)")
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	addrFile := fs.String("addr-file", "", "write the bound address here once listening")
	fs.Parse(args)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "loadgen-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := app.Options{Addr: *addr, DataDir: dir, Build: "bench",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	clock := &bench.ClockSource{}
	switch *which {
	case "bench":
		opts.ConfigPath = filepath.Join(dir, "bench.yaml")
		if err := os.WriteFile(opts.ConfigPath, bench.Config(), 0o644); err != nil {
			return err
		}
		opts.Sources = map[string]poller.Source{bench.SourceID: clock}
	case "demo":
	default:
		return fmt.Errorf("serve: -board %q: want bench or demo", *which)
	}
	a, err := app.New(ctx, opts)
	if err != nil {
		return err
	}
	mux := a.Server().Mux()
	// Benchmark-only routes: the clock's fetch count (backend calls) and pprof.
	mux.HandleFunc("GET /bench/fetches", func(w http.ResponseWriter, r *http.Request) {
		n, last := clock.Fetches()
		fmt.Fprintln(w, n, last.UnixNano())
	})
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/heap", pprof.Index)
	if *addrFile != "" {
		// Written then renamed, so a script polling for the file never reads half of it.
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(a.Addr()+" "+strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			return err
		}
	}
	return a.Run(ctx)
}
