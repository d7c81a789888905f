// Package static holds the browser side: CSS, the page script and the
// vendored htmx files, embedded in the binary and served under content-hashed
// URLs so browsers may cache them forever and a new build is never mixed with
// an old file.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed wallboard.css wallboard.js pair.js favicon.svg vendor/*.js
var files embed.FS

// Prefix is where the files are served.
const Prefix = "/static/"

var (
	hashed = map[string]string{} // "wallboard.css" -> "wallboard.1a2b3c4d5e.css"
	byHash = map[string]string{} // the reverse
)

func init() {
	fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := files.ReadFile(p)
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		h := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		hashed[p] = h
		byHash[h] = p
		return nil
	})
}

// URL is the content-hashed URL of an embedded file, e.g. URL("wallboard.css").
// It panics on a name that is not embedded: that is a programming error caught
// by any test that renders a page.
func URL(name string) string {
	h, ok := hashed[name]
	if !ok {
		panic("static: no file " + name)
	}
	return Prefix + h
}

// Handler serves the embedded files by their hashed names with a year-long,
// immutable cache; unknown names are 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := byHash[strings.TrimPrefix(r.URL.Path, Prefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := files.ReadFile(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		switch path.Ext(name) {
		case ".css":
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
		case ".js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		case ".svg":
			w.Header().Set("Content-Type", "image/svg+xml")
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Write(b)
	})
}

// Favicon serves the icon at /favicon.ico for clients that ask there
// without reading the page's <link rel="icon"> (a 404 there is a console
// error on every page of some browsers). It is an SVG; a day of cache.
func Favicon() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := files.ReadFile("favicon.svg")
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(b)
	})
}

// Read returns an embedded file's bytes (for benchmarks of page weight).
func Read(name string) ([]byte, error) { return files.ReadFile(name) }
