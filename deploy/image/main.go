// Command image writes Wallboard's container image without a container
// daemon: a static binary on an empty base, with CA certificates and time
// zone data, run as a non-root user. It writes an OCI image layout (for
// crane, skopeo, or a registry push) and, when asked, a tarball that
// `docker load` and `podman load` accept.
//
//	go run ./deploy/image -binary bin/image/wallboard -layout bin/image/oci -tar bin/image/wallboard.tar
//
// `make image` builds the binary (CGO_ENABLED=0, -trimpath) and calls this.
// The image's version and revision labels and its creation time come from the
// binary's own build information, so an image says exactly which build it
// holds, and the same source gives the same image digest.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's fixed facts. The user is a number, not a name: Kubernetes'
// runAsNonRoot can only check a numeric user, and scratch has no user
// database of its own (the /etc/passwd written here is for tools that show
// names). 65532 is the "nonroot" user of distroless images.
const (
	uid         = 65532
	port        = 8080
	dataDir     = "/data"
	entrypoint  = "/wallboard"
	caBundle    = "/etc/ssl/certs/ca-certificates.crt"
	zoneinfoDir = "/usr/share/zoneinfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

// recipe is what goes into the image.
type recipe struct {
	binary   string // a static Linux executable: the entrypoint
	arch     string // its GOARCH (amd64, arm64)
	caCerts  string // a PEM bundle, copied to CABundle
	zoneinfo string // a zoneinfo tree, copied to ZoneinfoDir
	source   string // the repository's URL (org.opencontainers.image.source)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var r recipe
	fs.StringVar(&r.binary, "binary", "", "the static wallboard binary (CGO_ENABLED=0 GOOS=linux)")
	fs.StringVar(&r.arch, "arch", "amd64", "the binary's GOARCH")
	fs.StringVar(&r.caCerts, "ca", "/etc/ssl/certs/ca-certificates.crt", "CA bundle (PEM) to copy into the image")
	fs.StringVar(&r.zoneinfo, "zoneinfo", "/usr/share/zoneinfo", "time zone database to copy into the image")
	fs.StringVar(&r.source, "source", "https://github.com/wallboard/wallboard", "the source repository's URL, for the image's labels")
	layoutDir := fs.String("layout", "", "write an OCI image layout into this directory (replaced)")
	tarPath := fs.String("tar", "", "also write a tarball for docker load / podman load")
	ref := fs.String("ref", "wallboard:latest", "the name the tarball loads as, and the tag in the layout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if r.binary == "" || *layoutDir == "" {
		return errors.New("-binary and -layout are required")
	}
	tag, err := name.NewTag(*ref)
	if err != nil {
		return fmt.Errorf("-ref: %w", err)
	}
	img, err := build(r)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeLayout(*layoutDir, img, tag.TagStr()); err != nil {
		return err
	}
	if *tarPath != "" {
		if err := tarball.WriteToFile(*tarPath, tag, img); err != nil {
			return fmt.Errorf("write tarball %s: %w", *tarPath, err)
		}
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	size, err := imageSize(img)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "image %s (linux/%s, %s compressed)\n  version %s (build %s)\n  layout  %s (tag %s)\n",
		digest, r.arch, mib(size), cf.Config.Labels["org.opencontainers.image.version"], cf.Config.Labels["dev.wallboard.build"], *layoutDir, tag.TagStr())
	if *tarPath != "" {
		fmt.Fprintf(stdout, "  tarball %s (docker load -i %s: %s)\n", *tarPath, *tarPath, tag.Name())
	}
	return nil
}

// writeLayout writes img as the only image of an OCI layout at dir, tagged
// tag (the org.opencontainers.image.ref.name annotation skopeo's
// oci:DIR:TAG finds).
func writeLayout(dir string, img v1.Image, tag string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
		return fmt.Errorf("layout %s: %w", dir, err)
	}
	return nil
}

// build assembles the image: a base layer (CA bundle, zoneinfo, passwd and
// group, /data and /tmp owned right) and an application layer (the binary),
// so that a new build changes only the layer on top.
func build(r recipe) (v1.Image, error) {
	bi, err := buildinfo.ReadFile(r.binary)
	if err != nil {
		return nil, fmt.Errorf("read build info of %s: %w", r.binary, err)
	}
	bin, err := os.ReadFile(r.binary)
	if err != nil {
		return nil, err
	}
	meta := describe(bi, bin)
	created := meta.created

	base := newLayer(created)
	base.dir("etc", 0o755, 0)
	base.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n"))
	base.file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n"))
	base.dir("etc/ssl", 0o755, 0)
	base.dir("etc/ssl/certs", 0o755, 0)
	pem, err := os.ReadFile(r.caCerts)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	if !bytes.Contains(pem, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("CA bundle %s: no PEM certificate in it", r.caCerts)
	}
	base.file(strings.TrimPrefix(caBundle, "/"), 0o644, pem)
	base.dir("usr", 0o755, 0)
	base.dir("usr/share", 0o755, 0)
	if err := base.tree(r.zoneinfo, strings.TrimPrefix(zoneinfoDir, "/")); err != nil {
		return nil, fmt.Errorf("zoneinfo: %w", err)
	}
	// /data belongs to the user, 0700: the SQLite store holds webhook
	// payloads. /tmp for SQLite's temporary files when the root file system
	// is read-only and nothing is mounted there.
	base.dir(strings.TrimPrefix(dataDir, "/"), 0o700, uid)
	base.dir("tmp", 0o1777, 0)

	app := newLayer(created)
	// Owned by root, not by the user it runs as: a compromised process
	// cannot replace its own binary.
	app.file(strings.TrimPrefix(entrypoint, "/"), 0o755, bin)

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, l := range []struct {
		layer *layer
		what  string
	}{{base, "CA certificates, time zones, passwd, /data, /tmp"}, {app, "the wallboard binary"}} {
		data, err := l.layer.gzipped()
		if err != nil {
			return nil, err
		}
		// Compressed once here: given uncompressed bytes, the layer would
		// compress them again for every digest, layout and tarball written.
		tl, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: tl, History: v1.History{
			Created: v1.Time{Time: created}, CreatedBy: "deploy/image: " + l.what, Comment: meta.version}})
		if err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = r.arch
	cf.Created = v1.Time{Time: created}
	labels := map[string]string{
		"org.opencontainers.image.title":       "wallboard",
		"org.opencontainers.image.description": "Live full-screen boards for office screens",
		"org.opencontainers.image.source":      r.source,
		"org.opencontainers.image.version":     meta.version,
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
		// The build id the binary reports (wallboard version, the page's
		// wb-build meta, wallboard_build_info): the image and the running
		// process can be matched even for a build without VCS stamping.
		"dev.wallboard.build": meta.build,
	}
	if meta.revision != "" {
		labels["org.opencontainers.image.revision"] = meta.revision
	}
	cf.Config = v1.Config{
		User:       strconv.Itoa(uid) + ":" + strconv.Itoa(uid),
		Entrypoint: []string{entrypoint},
		// Arguments, not part of the entrypoint: `docker run IMAGE check
		// /etc/wallboard/board.yaml` runs a subcommand. A config that sets
		// no access mode refuses to listen on 0.0.0.0; give
		// `-access open` (the demo) or an access: section.
		Cmd:        []string{"-addr", "0.0.0.0:" + strconv.Itoa(port), "-data", dataDir},
		WorkingDir: dataDir,
		// Said explicitly, though Go looks there first anyway: the binary
		// also carries both as a fallback (cmd/wallboard/embedded.go).
		Env:          []string{"SSL_CERT_FILE=" + caBundle, "ZONEINFO=" + zoneinfoDir},
		ExposedPorts: map[string]struct{}{strconv.Itoa(port) + "/tcp": {}},
		Volumes:      map[string]struct{}{dataDir: {}},
		Labels:       labels,
		StopSignal:   "SIGTERM",
	}
	return mutate.ConfigFile(img, cf)
}

// buildMeta is what the binary says about itself.
type buildMeta struct {
	version  string    // the module version Go stamped ("(devel)" without VCS stamping)
	revision string    // the VCS revision, when stamped
	created  time.Time // the commit time, else SOURCE_DATE_EPOCH, else the Unix epoch
	build    string    // the build id, as app.BuildID computes it
}

// describe reads the binary's build information. The build id follows
// app.BuildID: the revision's first 12 digits for a clean VCS build, else
// the first 6 bytes of the executable's SHA-256 in hex.
func describe(bi *buildinfo.BuildInfo, bin []byte) buildMeta {
	m := buildMeta{version: bi.Main.Version, created: time.Unix(0, 0).UTC()}
	if m.version == "" {
		m.version = "(devel)"
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.modified":
			modified = s.Value == "true"
		case "vcs.revision":
			m.revision = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				m.created = t.UTC()
			}
		}
	}
	if len(m.revision) >= 12 && !modified {
		m.build = m.revision[:12]
	} else {
		sum := sha256.Sum256(bin)
		m.build = hex.EncodeToString(sum[:6])
	}
	if m.revision == "" {
		if sec, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
			m.created = time.Unix(sec, 0).UTC()
		}
	}
	return m
}

// layer is a tar archive being written, with every entry's time the same
// (created) and owned by root unless said otherwise, so that the bytes
// depend only on the content.
type layer struct {
	buf     bytes.Buffer
	tw      *tar.Writer
	created time.Time
	err     error
}

func newLayer(created time.Time) *layer {
	l := &layer{created: created}
	l.tw = tar.NewWriter(&l.buf)
	return l
}

func (l *layer) header(h *tar.Header) {
	if l.err != nil {
		return
	}
	h.ModTime = l.created
	h.Format = tar.FormatPAX
	l.err = l.tw.WriteHeader(h)
}

func (l *layer) dir(name string, mode int64, uid int) {
	l.header(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid})
}

func (l *layer) file(name string, mode int64, data []byte) {
	l.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
	if l.err == nil {
		_, l.err = l.tw.Write(data)
	}
}

// tree copies the directory src to dst inside the layer: directories,
// regular files and symbolic links (zoneinfo links aliases such as
// Asia/Calcutta to their zone), in a sorted, stable order.
func (l *layer) tree(src, dst string) error {
	type entry struct {
		rel string
		d   fs.DirEntry
	}
	var entries []entry
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		entries = append(entries, entry{filepath.ToSlash(rel), d})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	for _, e := range entries {
		name := path.Join(dst, e.rel)
		p := filepath.Join(src, filepath.FromSlash(e.rel))
		switch t := e.d.Type(); {
		case t.IsDir():
			l.dir(name, 0o755, 0)
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if path.IsAbs(target) || !strings.HasPrefix(path.Clean(path.Join(path.Dir(name), target)), dst+"/") {
				continue // Debian's localtime -> /etc/localtime: would dangle in the image
			}
			l.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
		case t.IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			l.file(name, 0o644, b)
		default:
			return fmt.Errorf("%s: not a file, directory or link", p)
		}
	}
	return l.err
}

// gzipped ends the archive and compresses it. The gzip header carries no
// name and no time, so the bytes depend only on the content.
func (l *layer) gzipped() ([]byte, error) {
	if l.err != nil {
		return nil, l.err
	}
	if err := l.tw.Close(); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(l.buf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// imageSize is what a pull transfers: the compressed layers and the config.
func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
