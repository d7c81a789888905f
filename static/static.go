// Package static holds the browser side: CSS, the page script and the
// vendored htmx files, embedded in the binary and served under content-hashed
// URLs so browsers may cache them forever and a new build is never mixed with
// an old file.
//
// The project's own stylesheet and scripts are kept readable in the source
// tree and minified once at start-up (github.com/tdewolff/minify): the TV's
// first load has a 30 KB gzip budget and comments and indentation are about
// a fifth of these files even after gzip. The hash in each URL is of the
// bytes served, so a change to the minifier changes the URL too. The vendored
// htmx files are served as shipped (already minified upstream).
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	"github.com/tdewolff/minify/v2/js"
)

//go:embed wallboard.css standup.css admin.css wallboard.js screen.js pair.js favicon.svg vendor/*.js
var files embed.FS

// prefix is where the files are served.
const prefix = "/static/"

// assets are the embedded files as served, built once when the package is
// loaded: what the server serves never changes while it runs.
var assets = buildAssets()

type assetTable struct {
	hashed map[string]string // "wallboard.css" -> "wallboard.1a2b3c4d5e.css"
	byHash map[string]string // the reverse
	served map[string][]byte // "wallboard.css" -> the bytes served (minified for our own CSS/JS)
}

func buildAssets() assetTable {
	t := assetTable{hashed: map[string]string{}, byHash: map[string]string{}, served: map[string][]byte{}}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		if b, err = minifyFile(p, b); err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		h := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		t.hashed[p] = h
		t.byHash[h] = p
		t.served[p] = b
		return nil
	})
	if err != nil {
		// The files are embedded at build time: a failure here is a broken
		// build (e.g. a syntax error the minifier refuses), caught by any test
		// that imports the package.
		panic("static: " + err.Error())
	}
	return t
}

// minifyFile returns the bytes served for the embedded file name given its
// source: the project's own .css and .js minified, anything else (the
// vendored, already minified htmx files, the icon) unchanged.
func minifyFile(name string, src []byte) ([]byte, error) {
	if strings.HasPrefix(name, "vendor/") {
		return src, nil
	}
	var mediatype string
	switch path.Ext(name) {
	case ".css":
		mediatype = "text/css"
	case ".js":
		mediatype = "text/javascript"
	default:
		return src, nil
	}
	m := minify.New()
	m.AddFunc("text/css", css.Minify)
	m.AddFunc("text/javascript", js.Minify)
	var out bytes.Buffer
	if err := m.Minify(mediatype, &out, bytes.NewReader(src)); err != nil {
		return nil, fmt.Errorf("minify %s: %w", name, err)
	}
	return out.Bytes(), nil
}

// URL is the content-hashed URL of an embedded file, e.g. URL("wallboard.css").
// It panics on a name that is not embedded: that is a programming error caught
// by any test that renders a page.
func URL(name string) string {
	h, ok := assets.hashed[name]
	if !ok {
		panic("static: no file " + name)
	}
	return prefix + h
}

// Handler serves the embedded files by their hashed names with a year-long,
// immutable cache; unknown names are 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := assets.byHash[strings.TrimPrefix(r.URL.Path, prefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b := assets.served[name]
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
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(assets.served["favicon.svg"])
	})
}
