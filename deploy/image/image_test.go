package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestImageRunsTheDemo builds the image as `make image` does, unpacks its
// layers into a directory as a container runtime would (reading the OCI
// layout with the standard library only, not with the library that wrote
// it), checks what a runtime reads from its config, and runs the binary from
// the unpacked file system against the built-in demo.
func TestImageRunsTheDemo(t *testing.T) {
	work := t.TempDir()
	bin, builder := buildStatic(t, work)

	layoutDir := filepath.Join(work, "oci")
	tarPath := filepath.Join(work, "wallboard.tar")
	mark := time.Now()
	args := []string{"-binary", bin, "-arch", runtime.GOARCH, "-layout", layoutDir, "-tar", tarPath, "-ref", "wallboard:test"}
	out, err := exec.Command(builder, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("image %v: %v\n%s", args, err, out)
	}
	t.Logf("%s\n  written in %s", bytes.TrimSpace(out), time.Since(mark).Round(100*time.Millisecond))
	if fi, err := os.Stat(tarPath); err != nil || fi.Size() == 0 {
		t.Errorf("tarball for docker load: %v", err)
	}

	img := readLayout(t, layoutDir)
	if img.refName != "test" {
		t.Errorf("layout tag (org.opencontainers.image.ref.name) = %q, want test", img.refName)
	}

	// The same binary gives the same image: its digest names the build.
	if out, err := exec.Command(builder, "-binary", bin, "-arch", runtime.GOARCH, "-layout", filepath.Join(work, "again")).CombinedOutput(); err != nil {
		t.Fatalf("image: %v\n%s", err, out)
	}
	if again := readLayout(t, filepath.Join(work, "again")); again.digest != img.digest {
		t.Errorf("image digest differs between two builds of the same binary: %s, %s", img.digest, again.digest)
	}

	c := img.config.Config
	if img.config.OS != "linux" || img.config.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", img.config.OS, img.config.Architecture, runtime.GOARCH)
	}
	uid, _, _ := strings.Cut(c.User, ":")
	if uid != "65532" {
		t.Errorf("user %q: want the numeric non-root user 65532 (runAsNonRoot can only check a number)", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/wallboard"}) {
		t.Errorf("entrypoint %q, want [/wallboard]", c.Entrypoint)
	}
	if !slices.Equal(c.Cmd, []string{"-addr", "0.0.0.0:8080", "-data", "/data"}) {
		t.Errorf("cmd %q, want -addr 0.0.0.0:8080 -data /data", c.Cmd)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v, want 8080/tcp (the port of -addr)", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v, want /data", c.Volumes)
	}
	for _, e := range []string{"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "ZONEINFO=/usr/share/zoneinfo"} {
		if !slices.Contains(c.Env, e) {
			t.Errorf("env %q lacks %s", c.Env, e)
		}
	}
	for _, k := range []string{"org.opencontainers.image.source", "org.opencontainers.image.version", "org.opencontainers.image.created"} {
		if c.Labels[k] == "" {
			t.Errorf("label %s missing (labels: %v)", k, c.Labels)
		}
	}

	mark = time.Now()
	root := filepath.Join(work, "rootfs")
	owners := map[string]owner{}
	for _, l := range img.layers {
		if err := applyLayer(root, l, owners); err != nil {
			t.Fatal(err)
		}
	}
	if o := owners["wallboard"]; o.uid != 0 || o.mode&0o022 != 0 || o.mode&0o111 == 0 {
		t.Errorf("/wallboard: uid %d mode %o: want root's, executable, not writable by others", o.uid, o.mode)
	}
	if o := owners["data"]; o.uid != 65532 || !o.dir {
		t.Errorf("/data: uid %d dir %v: want a directory of the user 65532", o.uid, o.dir)
	}
	if o := owners["tmp"]; o.mode&0o1777 != 0o1777 {
		t.Errorf("/tmp: mode %o, want 1777", o.mode)
	}
	t.Logf("unpacked in %s", time.Since(mark).Round(100*time.Millisecond))
	exe := filepath.Join(root, "wallboard")
	assertStatic(t, exe)

	pem, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
	if err != nil {
		t.Fatalf("CA bundle in the image: %v", err)
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(pem) || bytes.Count(pem, []byte("BEGIN CERTIFICATE")) < 50 {
		t.Errorf("CA bundle in the image: %d certificates, want a full bundle", bytes.Count(pem, []byte("BEGIN CERTIFICATE")))
	}
	for _, zone := range []string{"Asia/Tokyo", "Europe/Berlin", "America/New_York", "Asia/Calcutta"} {
		b, err := os.ReadFile(filepath.Join(root, "usr/share/zoneinfo", zone)) // Asia/Calcutta: a link
		if err != nil {
			t.Errorf("zoneinfo in the image: %v", err)
			continue
		}
		loc, err := time.LoadLocationFromTZData(zone, b)
		if err != nil {
			t.Errorf("zoneinfo %s in the image: %v", zone, err)
			continue
		}
		if zone == "Asia/Tokyo" {
			if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); off != 9*3600 {
				t.Errorf("Asia/Tokyo from the image: offset %d s, want 32400", off)
			}
		}
	}

	// The binary says which build it is, and the label says the same.
	v, err := exec.Command(exe, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", exe, err)
	}
	want := fmt.Sprintf("wallboard %s (build %s, ", c.Labels["org.opencontainers.image.version"], c.Labels["dev.wallboard.build"])
	if !strings.HasPrefix(string(v), want) {
		t.Errorf("wallboard version = %q, the labels say %q…", v, want)
	}

	mark = time.Now()
	runDemo(t, root, c.Entrypoint, c.Cmd, c.Env)
	t.Logf("demo started, probed, stopped in %s", time.Since(mark).Round(100*time.Millisecond))
}

// runDemo starts the image's entrypoint from the unpacked root with the
// image's arguments and environment, its paths taken inside root as a
// chroot would, on a free loopback port (127.0.0.1 is open without an
// access mode) and a fresh data directory.
func runDemo(t *testing.T, root string, entrypoint, cmd, env []string) {
	data := t.TempDir()
	args := slices.Clone(cmd)
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-addr":
			args[i+1] = "127.0.0.1:0"
		case "-data":
			args[i+1] = data
		}
	}
	var environ []string
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		if strings.HasPrefix(v, "/") {
			v = filepath.Join(root, v)
		}
		environ = append(environ, k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := exec.CommandContext(ctx, filepath.Join(root, entrypoint[0]), args...)
	p.Dir = data // not a git checkout: the demo without this repository's history
	p.Env = environ
	var stderr bytes.Buffer
	p.Stderr = &stderr
	stdout, err := p.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`Wallboard: open (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		exited <- p.Wait()
	}()
	stopped := false
	defer func() {
		if !stopped {
			_ = p.Process.Kill()
			<-exited
		}
	}()
	var boardURL string
	select {
	case boardURL = <-urls:
	case err := <-exited:
		stopped = true
		t.Fatalf("the image's binary exited before serving: %v\n%s", err, stderr.String())
	case <-ctx.Done():
		t.Fatalf("the image's binary printed no URL\n%s", stderr.String())
	}
	base := strings.TrimSuffix(boardURL, "/boards/demo")
	if base == boardURL {
		t.Fatalf("URL %s: want the demo board /boards/demo", boardURL)
	}

	for _, probe := range []string{"/livez", "/readyz"} {
		code, body := get(t, base+probe)
		if code != http.StatusOK || !strings.HasPrefix(body, "ok") {
			t.Errorf("GET %s: %d %q, want 200 ok", probe, code, body)
		}
	}
	code, page := get(t, boardURL)
	if code != http.StatusOK || !strings.Contains(page, `id="tile-demo-`) || !strings.Contains(page, "DEMO") {
		t.Errorf("GET %s: %d, want the demo board with its tiles:\n%.600s", boardURL, code, page)
	}

	// A container stop is SIGTERM: a clean exit.
	if err := p.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stopped = true
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-ctx.Done():
		_ = p.Process.Kill()
		t.Fatal("no exit after SIGTERM")
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// buildStatic builds the binary the way `make image` does (the same flags
// share the build cache), once per test run, and the image builder itself:
// run in this process under -race, its gzip of the binary would take
// minutes instead of seconds.
func buildStatic(t *testing.T, dir string) (wallboard, builder string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// -buildvcs=false: the test must not depend on git; make image stamps.
	cmd := exec.Command(goCmd, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", dir+"/",
		"github.com/wallboard/wallboard/cmd/wallboard", "github.com/wallboard/wallboard/deploy/image")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("static binary and image builder built in %s", time.Since(start).Round(100*time.Millisecond))
	return filepath.Join(dir, "wallboard"), filepath.Join(dir, "image")
}

// assertStatic fails when the executable needs a dynamic loader or shared
// libraries, which an empty base does not have (running it here would not
// show that: this machine has them).
func assertStatic(t *testing.T, exe string) {
	t.Helper()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader: not a static binary", exe)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", exe, libs)
	}
}

// ociImage is what a runtime reads from a layout: the manifest's digest, the
// config, and the layers' streams in order.
type ociImage struct {
	digest  string
	refName string
	config  struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Config       struct {
			User         string              `json:"User"`
			Entrypoint   []string            `json:"Entrypoint"`
			Cmd          []string            `json:"Cmd"`
			Env          []string            `json:"Env"`
			ExposedPorts map[string]struct{} `json:"ExposedPorts"`
			Volumes      map[string]struct{} `json:"Volumes"`
			Labels       map[string]string   `json:"Labels"`
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	layers [][]byte // uncompressed tar streams
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
}

// readLayout reads the only image of an OCI layout, checking every blob
// against its digest and size, and every layer against the config's diff_ids.
func readLayout(t *testing.T, dir string) ociImage {
	t.Helper()
	var img ociImage
	if b, err := os.ReadFile(filepath.Join(dir, "oci-layout")); err != nil || !bytes.Contains(b, []byte(`"imageLayoutVersion"`)) {
		t.Fatalf("%s is not an OCI layout: %v %s", dir, err, b)
	}
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "index.json")), &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("index.json: %+v, want one OCI image manifest", index.Manifests)
	}
	img.digest = index.Manifests[0].Digest
	img.refName = index.Manifests[0].Annotations["org.opencontainers.image.ref.name"]
	var manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	if err := json.Unmarshal(blob(t, dir, index.Manifests[0]), &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("config media type %s", manifest.Config.MediaType)
	}
	if err := json.Unmarshal(blob(t, dir, manifest.Config), &img.config); err != nil {
		t.Fatal(err)
	}
	if len(img.config.RootFS.DiffIDs) != len(manifest.Layers) {
		t.Fatalf("%d layers, %d diff_ids", len(manifest.Layers), len(img.config.RootFS.DiffIDs))
	}
	for i, d := range manifest.Layers {
		b := blob(t, dir, d)
		switch d.MediaType {
		case "application/vnd.oci.image.layer.v1.tar+gzip":
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		case "application/vnd.oci.image.layer.v1.tar":
		default:
			t.Fatalf("layer %d: media type %s", i, d.MediaType)
		}
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(b)); got != img.config.RootFS.DiffIDs[i] {
			t.Fatalf("layer %d: uncompressed digest %s, config says %s", i, got, img.config.RootFS.DiffIDs[i])
		}
		img.layers = append(img.layers, b)
	}
	return img
}

func blob(t *testing.T, dir string, d descriptor) []byte {
	t.Helper()
	algo, hexSum, ok := strings.Cut(d.Digest, ":")
	if !ok || algo != "sha256" {
		t.Fatalf("digest %q", d.Digest)
	}
	b := readFile(t, filepath.Join(dir, "blobs", "sha256", hexSum))
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != hexSum || int64(len(b)) != d.Size {
		t.Fatalf("blob %s: content does not match its digest or size %d", d.Digest, d.Size)
	}
	return b
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// owner is what a runtime would chown and chmod a path to (the test runs
// unprivileged as far as it can: it records ownership instead of applying it).
type owner struct {
	uid  int
	mode int64
	dir  bool
}

// applyLayer unpacks one layer's tar stream over root the way the OCI image
// spec says: entries in order, a later one replacing an earlier one,
// ".wh.NAME" deleting NAME from the layers below, ".wh..wh..opq" emptying its
// directory of what the layers below put there. Paths that would leave root
// are refused.
func applyLayer(root string, layer []byte, owners map[string]owner) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(bytes.NewReader(layer))
	// Opaque directories empty only what lower layers put there: what this
	// layer adds to them, before or after the marker, stays.
	thisLayer := map[string]bool{}
	var opaque []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		rel := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if path.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return fmt.Errorf("layer: entry %q leaves the root", h.Name)
		}
		dir, base := path.Split(rel)
		dir = path.Clean(dir)
		switch {
		case base == ".wh..wh..opq":
			opaque = append(opaque, dir)
			continue
		case strings.HasPrefix(base, ".wh."):
			victim := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			if err := os.RemoveAll(filepath.Join(root, filepath.FromSlash(victim))); err != nil {
				return err
			}
			for p := range owners {
				if p == victim || strings.HasPrefix(p, victim+"/") {
					delete(owners, p)
				}
			}
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if h.Typeflag != tar.TypeDir {
			if err := os.RemoveAll(dst); err != nil {
				return err
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			// Written owner-writable so the test can clean up; the
			// image's own mode is recorded in owners.
			if err := os.WriteFile(dst, must(io.ReadAll(tr)), os.FileMode(h.Mode&0o777|0o200)); err != nil {
				return err
			}
			if err := os.Chmod(dst, os.FileMode(h.Mode&0o777|0o200)); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
		case tar.TypeLink:
			target := path.Clean(h.Linkname)
			if path.IsAbs(target) || strings.HasPrefix(target, "../") {
				return fmt.Errorf("layer: hard link %q to %q leaves the root", h.Name, h.Linkname)
			}
			if err := os.Link(filepath.Join(root, filepath.FromSlash(target)), dst); err != nil {
				return err
			}
		default:
			return fmt.Errorf("layer: entry %q of type %c", h.Name, h.Typeflag)
		}
		owners[rel] = owner{uid: h.Uid, mode: h.Mode, dir: h.Typeflag == tar.TypeDir}
		thisLayer[rel] = true
	}
	for _, dir := range opaque {
		d := filepath.Join(root, filepath.FromSlash(dir))
		entries, err := os.ReadDir(d)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		for _, e := range entries {
			rel := path.Join(dir, e.Name())
			if thisLayer[rel] {
				continue
			}
			if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
				return err
			}
			for p := range owners {
				if p == rel || strings.HasPrefix(p, rel+"/") {
					delete(owners, p)
				}
			}
		}
	}
	return nil
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestApplyLayerWhiteouts checks the unpacking the image test relies on:
// a whiteout removes a file of a lower layer, an opaque marker empties a
// directory of what lower layers put there but keeps what its own layer
// adds, and a later entry replaces an earlier one.
func TestApplyLayerWhiteouts(t *testing.T) {
	lower := tarOf(t, map[string]string{"etc/a": "a", "etc/b": "b", "opt/x/1": "1", "opt/x/2": "2", "keep": "old"})
	upper := tarOf(t, map[string]string{"etc/.wh.a": "", "opt/x/.wh..wh..opq": "", "opt/x/3": "3", "keep": "new"})
	root := t.TempDir()
	owners := map[string]owner{}
	for _, l := range [][]byte{lower, upper} {
		if err := applyLayer(root, l, owners); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"etc/b": "b", "opt/x/3": "3", "keep": "new"}
	got := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		got[filepath.ToSlash(rel)] = string(readFile(t, p))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("unpacked %v, want %v", got, want)
	}
	if _, ok := owners["etc/a"]; ok {
		t.Error("owners still lists the whited-out etc/a")
	}

	evil := tarOf(t, map[string]string{"../escape": "x"})
	if err := applyLayer(root, evil, owners); err == nil {
		t.Error("an entry leaving the root was unpacked")
	}
}

func tarOf(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
