package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"time"
)

// pageBytes is the bytes a browser downloads to show a board: the page and
// every stylesheet and script it references, gzip-encoded as served. Header
// bytes are not counted.
type pageBytes struct {
	URL   string      `json:"url"`
	Files []loadedRes `json:"files"`
	Gzip  int         `json:"gzip_bytes"`
	Raw   int         `json:"raw_bytes"`
}

// loadedRes is one downloaded file.
type loadedRes struct {
	Path     string `json:"path"`
	Gzip     int    `json:"gzip_bytes"` // body bytes on the wire
	Raw      int    `json:"raw_bytes"`  // body bytes without Accept-Encoding
	Encoding string `json:"encoding"`
}

var assetRE = regexp.MustCompile(`(?:src|href)="(/[^"]+\.(?:js|css|svg|ico|png|woff2?))"`)

func firstLoad(args []string) error {
	fs := flag.NewFlagSet("bytes", flag.ExitOnError)
	page := fs.String("url", "", "board page, http://127.0.0.1:PORT/boards/ID")
	fs.Parse(args)
	u, err := url.Parse(*page)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bytes: -url %q: want http://127.0.0.1:PORT/boards/ID", *page)
	}
	// DisableCompression: the transport must not ask for or undo gzip itself,
	// so the body read is exactly what crossed the wire.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	get := func(path string, gzip bool) ([]byte, string, error) {
		req, err := http.NewRequest("GET", "http://"+u.Host+path, nil)
		if err != nil {
			return nil, "", err
		}
		if gzip {
			req.Header.Set("Accept-Encoding", "gzip, deflate, br")
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return b, resp.Header.Get("Content-Encoding"), err
	}
	out := pageBytes{URL: *page}
	raw, _, err := get(u.RequestURI(), false)
	if err != nil {
		return err
	}
	paths := []string{u.RequestURI()}
	for _, m := range assetRE.FindAllSubmatch(raw, -1) {
		paths = append(paths, string(m[1]))
	}
	if len(paths) == 1 {
		return errors.New("bytes: the page references no stylesheet or script")
	}
	for _, p := range paths {
		z, enc, err := get(p, true)
		if err != nil {
			return err
		}
		r, _, err := get(p, false)
		if err != nil {
			return err
		}
		out.Files = append(out.Files, loadedRes{Path: p, Gzip: len(z), Raw: len(r), Encoding: enc})
		out.Gzip += len(z)
		out.Raw += len(r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
