// Command wallboard serves live, full-screen boards for office screens.
//
//	wallboard [-config board.yaml] [-addr 127.0.0.1:8080] [-data DIR]
//	wallboard check [-config a.yaml -config b.yaml | a.yaml b.yaml]
//	wallboard screen-link -name lobby-tv [-base https://board.example]
//	wallboard version
//
// Without -config it runs the built-in demo.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/board"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "wallboard:", err)
		}
		os.Exit(1)
	}
}

// errReported means the problem was already printed in full.
var errReported = errors.New("reported")

const usage = `Wallboard serves live, full-screen boards for office screens.

Usage:
  wallboard [-config board.yaml] [-addr 127.0.0.1:8080] [-data DIR]
      serve the boards (without -config: the built-in demo)
  wallboard check [-config a.yaml -config b.yaml | a.yaml b.yaml]
      validate config files; prints every problem as file:line: what
  wallboard screen-link -name lobby-tv [-base https://board.example]
      make a link that lets one screen view the boards
  wallboard version
      print which build this is
  wallboard help
      print this help

Flags of the server:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return check(args[1:], stdout, stderr)
		case "screen-link":
			return screenLink(args[1:], stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, app.Version())
			return nil
		case "help":
			args = []string{"-h"}
		}
	}
	fs := flag.NewFlagSet("wallboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "board config (YAML); empty runs the built-in demo")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address; use :8080 for a TV on the LAN")
	data := fs.String("data", "data", "directory for the SQLite store (wallboard.db)")
	storeURL := fs.String("store", os.Getenv("WALLBOARD_STORE"), "store: a postgres:// URL (replicas share it; the password from PGPASSWORD or the config's store.password) or a SQLite file; default: the config's store:, else wallboard.db in -data (env WALLBOARD_STORE)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	access := fs.String("access", "", "access mode when the config sets none: open lets anyone who reaches the port see the boards (the built-in demo on a LAN TV: -addr 0.0.0.0:8080 -access open)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // asked for: not a failure
		}
		return errReported
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wallboard: unknown command %q (see wallboard -h)\n", fs.Arg(0))
		return errReported
	}
	if *access != "" && *access != "open" {
		fmt.Fprintln(stderr, "wallboard: -access: only open can be given here; screens and proxy are written in the config's access:")
		return errReported
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	a, err := app.New(ctx, app.Options{ConfigPath: *configPath, Addr: *addr, DataDir: *data, Store: *storeURL, Access: *access, Logger: log})
	if err != nil {
		return reportConfig(err, stderr)
	}
	if *configPath == "" {
		fmt.Fprintln(stdout, "Wallboard: running the built-in DEMO (no -config given)")
	}
	fmt.Fprintf(stdout, "Wallboard: open %s\n", a.URL())
	for _, p := range a.Config().Playlists {
		fmt.Fprintf(stdout, "Wallboard: rotation %s/playlists/%s (%s)\n", a.BaseURL(), p.ID, strings.Join(p.Boards, ", "))
	}
	return a.Run(ctx)
}

// files collects -config given several times.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

// check validates every file given and prints every problem of each: the
// config's own, and secret references whose variable or file is missing
// (the server would not start on them).
func check(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wallboard check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var paths files
	fs.Var(&paths, "config", "board config (YAML) to validate; repeat for several, or name them as arguments")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errReported
	}
	paths = append(paths, fs.Args()...)
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "wallboard check: name the config files: -config board.yaml (repeatable) or as arguments")
		return errReported
	}
	failed := false
	for _, path := range paths {
		cfg, err := app.LoadConfig(path)
		var probs []board.Problem
		var ce *board.ConfigError
		switch {
		case errors.As(err, &ce):
			probs = append(slices.Clone(ce.Problems), ce.SecretProblems()...)
		case err != nil:
			fmt.Fprintf(stderr, "%s: %v\n", path, err)
			failed = true
			continue
		default:
			probs = append(cfg.SecretProblems(), app.StoreProblems(cfg)...)
		}
		if len(probs) > 0 {
			sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
			for _, p := range probs {
				fmt.Fprintln(stderr, p.String())
			}
			failed = true
			continue
		}
		tiles := 0
		for _, b := range cfg.Boards {
			tiles += len(b.Tiles)
		}
		fmt.Fprintf(stdout, "%s: ok (%d sources, %d boards, %d tiles)\n", path, len(cfg.Sources), len(cfg.Boards), tiles)
	}
	if failed {
		return errReported
	}
	return nil
}

// reportConfig prints each config problem on its own line.
func reportConfig(err error, stderr io.Writer) error {
	var ce *board.ConfigError
	if errors.As(err, &ce) {
		for _, p := range ce.Problems {
			fmt.Fprintln(stderr, p.String())
		}
		return errReported
	}
	return err
}

// screenLink prints a new screen link: a random token (shown once), the line
// for access.screens (only its hash is kept), and the link to open on the TV.
func screenLink(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wallboard screen-link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "screen name, e.g. lobby-tv")
	base := fs.String("base", "", "the board's address, e.g. https://board.example (prints a full link)")
	if err := fs.Parse(args); err != nil {
		return errReported
	}
	if *name == "" {
		fmt.Fprintln(stderr, "wallboard screen-link: -name is required")
		return errReported
	}
	var raw [32]byte // 256 bits: not guessable, not brute-forceable offline from its hash
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("screen-link: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	link := strings.TrimRight(*base, "/") + "/screen/" + token
	fmt.Fprintf(stdout, "Screen %q: open this link once on the screen (it is shown only now; anyone with it can view the boards):\n\n  %s\n\n", *name, link)
	fmt.Fprintf(stdout, "Add this under access.screens in the config (only the hash is stored; remove the line to revoke):\n\n")
	fmt.Fprintf(stdout, "    - {name: %s, token_sha256: %s}\n", *name, hex.EncodeToString(sum[:]))
	return nil
}
