package deploy

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
)

// The image's facts (deploy/image: its test asserts them from the image).
const (
	imageUID  = 65532
	imagePort = 8080
)

// The parts of Kubernetes and Knative objects the tests look at.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
	Spec       struct {
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata meta    `yaml:"metadata"`
			Spec     podSpec `yaml:"spec"`
		} `yaml:"template"`
		// Service
		Ports []struct {
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
			Name       string `yaml:"name"`
		} `yaml:"ports"`
		// PodDisruptionBudget
		MinAvailable any `yaml:"minAvailable"`
	} `yaml:"spec"`
}

type meta struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// load parses a manifest: valid YAML first (into a generic value, so a
// typo'd indentation is caught even where the typed view would not look),
// then into v.
func load(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := yaml.Unmarshal(b, &generic); err != nil {
		t.Fatalf("%s: not valid YAML: %v", path, err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// flagValue is the value of -name=value or -name value in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v, true
		}
		if a == "-"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// checkContainer checks what every manifest's container must get right:
// the listen port is the declared port, the probes point at /livez and
// /readyz on it, and the store is PostgreSQL with its password from a
// secret. It returns the probe paths.
func checkContainer(t *testing.T, where string, c container) []string {
	t.Helper()
	addr, ok := flagValue(c.Args, "addr")
	if !ok {
		t.Errorf("%s: no -addr (the binary's default is loopback only)", where)
	}
	port := -1
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		port, _ = strconv.Atoi(addr[i+1:])
	}
	if port != imagePort {
		t.Errorf("%s: -addr %q, want port %d (the image's exposed port)", where, addr, imagePort)
	}
	portNames := map[string]bool{}
	declared := false
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			declared = true
			portNames[p.Name] = true
		}
	}
	if !declared {
		t.Errorf("%s: containerPort %d not declared (ports %+v)", where, port, c.Ports)
	}
	var paths []string
	for _, pr := range []struct {
		name string
		p    *probe
		want []string
	}{
		{"livenessProbe", c.LivenessProbe, []string{"/livez"}},
		{"readinessProbe", c.ReadinessProbe, []string{"/readyz"}},
		{"startupProbe", c.StartupProbe, []string{"/livez", "/readyz"}},
	} {
		if pr.p == nil {
			if pr.name != "readinessProbe" || !strings.Contains(where, "cloudrun") { // Cloud Run has no readiness probe
				t.Errorf("%s: no %s", where, pr.name)
			}
			continue
		}
		if pr.p.HTTPGet == nil {
			t.Errorf("%s: %s is not an httpGet", where, pr.name)
			continue
		}
		if !slices.Contains(pr.want, pr.p.HTTPGet.Path) {
			t.Errorf("%s: %s on %q, want one of %v", where, pr.name, pr.p.HTTPGet.Path, pr.want)
		}
		switch p := pr.p.HTTPGet.Port.(type) {
		case string:
			if !portNames[p] {
				t.Errorf("%s: %s on port %q, not the name of port %d", where, pr.name, p, port)
			}
		case uint64:
			if int(p) != port {
				t.Errorf("%s: %s on port %d, want %d", where, pr.name, p, port)
			}
		default:
			t.Errorf("%s: %s port %v (%T)", where, pr.name, p, p)
		}
		paths = append(paths, pr.p.HTTPGet.Path)
	}
	store, ok := flagValue(c.Args, "store")
	secretEnv := map[string]bool{}
	for _, e := range c.Env {
		if e.Name == "WALLBOARD_STORE" {
			store, ok = e.Value, true
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secretEnv[e.Name] = true
		} else if e.ValueFrom != nil {
			t.Errorf("%s: env %s from something other than a secret", where, e.Name)
		}
	}
	if !ok || !(strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")) {
		t.Errorf("%s: store %q: want a PostgreSQL URL (-store or WALLBOARD_STORE)", where, store)
	}
	if strings.Contains(strings.SplitN(strings.TrimPrefix(store, "postgres://"), "@", 2)[0], ":") {
		t.Errorf("%s: store URL %q carries a password: give it as PGPASSWORD from a secret", where, store)
	}
	if !secretEnv["PGPASSWORD"] {
		t.Errorf("%s: PGPASSWORD not taken from a secret", where)
	}
	return paths
}

// checkConfigEnv validates a board config as `wallboard check` does and
// checks that every {env: NAME} it names is given to the container from a
// secret.
func checkConfigEnv(t *testing.T, path string, c container) {
	t.Helper()
	if _, err := app.LoadConfig(path); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, _ := os.ReadFile(path)
	given := map[string]bool{}
	for _, e := range c.Env {
		given[e.Name] = e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
	}
	for _, m := range regexp.MustCompile(`\{env:\s*([A-Za-z_][A-Za-z0-9_]*)\}`).FindAllSubmatch(b, -1) {
		if !given[string(m[1])] {
			t.Errorf("%s names {env: %s}, which %s does not get from a secret", path, m[1], c.Name)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	dir := "kubernetes"
	var k struct {
		Kind               string   `yaml:"kind"`
		Namespace          string   `yaml:"namespace"`
		Resources          []string `yaml:"resources"`
		ConfigMapGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"configMapGenerator"`
		Images []struct {
			Name    string `yaml:"name"`
			NewName string `yaml:"newName"`
		} `yaml:"images"`
	}
	load(t, filepath.Join(dir, "kustomization.yaml"), &k)
	if k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: kind %q", k.Kind)
	}
	byKind := map[string]object{}
	for _, r := range k.Resources {
		var o object
		load(t, filepath.Join(dir, r), &o)
		if _, dup := byKind[o.Kind]; dup {
			t.Errorf("%s: a second %s", r, o.Kind)
		}
		byKind[o.Kind] = o
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget"} {
		if _, ok := byKind[kind]; !ok {
			t.Errorf("kustomization.yaml: no %s among %v", kind, k.Resources)
		}
	}
	d := byKind["Deployment"]
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("Deployment: replicas %v, want 2 or more", d.Spec.Replicas)
	}
	podLabels := d.Spec.Template.Metadata.Labels
	for k, v := range d.Spec.Selector.MatchLabels {
		if podLabels[k] != v {
			t.Errorf("Deployment selector %s=%s does not match the pod labels %v", k, v, podLabels)
		}
	}
	pod := d.Spec.Template.Spec
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("Deployment: runAsNonRoot not true")
	}
	if pod.SecurityContext.RunAsUser == nil || *pod.SecurityContext.RunAsUser != imageUID {
		t.Errorf("Deployment: runAsUser %v, want the image's user %d", pod.SecurityContext.RunAsUser, imageUID)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("Deployment: %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	checkContainer(t, "kubernetes/deployment.yaml", c)
	if len(k.Images) != 1 || k.Images[0].Name != c.Image {
		t.Errorf("kustomization images %+v do not rename the container's image %q", k.Images, c.Image)
	}
	sc := c.SecurityContext
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		!slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext: readOnlyRootFilesystem %v, allowPrivilegeEscalation %v, drop %v: want true, false, [ALL]",
			deref(sc.ReadOnlyRootFilesystem), deref(sc.AllowPrivilegeEscalation), sc.Capabilities.Drop)
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("container resources %+v: want cpu and memory requests and a memory limit", c.Resources)
	}
	// The config comes from the generated ConfigMap, mounted where -config
	// looks; /data and /tmp are writable under a read-only root.
	if len(k.ConfigMapGenerator) != 1 || len(k.ConfigMapGenerator[0].Files) != 1 {
		t.Fatalf("configMapGenerator %+v: want one ConfigMap of one file", k.ConfigMapGenerator)
	}
	gen := k.ConfigMapGenerator[0]
	configPath, _ := flagValue(c.Args, "config")
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	found := false
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == gen.Name && mounts[v.Name]+"/"+gen.Files[0] == configPath {
			found = true
		}
	}
	if !found {
		t.Errorf("-config %q is not the ConfigMap %s's %s mounted", configPath, gen.Name, gen.Files[0])
	}
	dataDir, _ := flagValue(c.Args, "data")
	for _, p := range []string{dataDir, "/tmp"} {
		if !slices.Contains(slices.Collect(maps.Values(mounts)), p) {
			t.Errorf("%s is not a mounted volume: the root file system is read-only", p)
		}
	}
	checkConfigEnv(t, filepath.Join(dir, gen.Files[0]), c)

	svc := byKind["Service"]
	var rawSvc struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
		} `yaml:"spec"`
	}
	load(t, filepath.Join(dir, "service.yaml"), &rawSvc)
	if len(rawSvc.Spec.Selector) == 0 {
		t.Error("Service: no selector")
	}
	for k, v := range rawSvc.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("Service selector %s=%s does not match the pod labels %v", k, v, podLabels)
		}
	}
	for _, p := range svc.Spec.Ports {
		if name, ok := p.TargetPort.(string); !ok || !slices.ContainsFunc(c.Ports, func(cp struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		}) bool {
			return cp.Name == name
		}) {
			t.Errorf("Service port %d: targetPort %v is not a named container port", p.Port, p.TargetPort)
		}
	}
	pdb := byKind["PodDisruptionBudget"]
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if podLabels[k] != v {
			t.Errorf("PodDisruptionBudget selector %s=%s does not match the pod labels", k, v)
		}
	}
	if n, ok := pdb.Spec.MinAvailable.(uint64); !ok || n < 1 || d.Spec.Replicas == nil || int(n) >= *d.Spec.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %v: want at least 1 and fewer than the replicas (else a drain blocks)", pdb.Spec.MinAvailable)
	}
}

func deref(b *bool) any {
	if b == nil {
		return "unset"
	}
	return *b
}

func TestCloudRunServices(t *testing.T) {
	configs := map[string]map[string]any{}
	var image string
	for _, f := range []struct {
		file, config, mode string
		iap                string
	}{
		{"cloudrun/service.yaml", "cloudrun/board-iap.yaml", "proxy", "true"},
		{"cloudrun/service-screens.yaml", "cloudrun/board-screens.yaml", "screens", "false"},
	} {
		var o object
		load(t, f.file, &o)
		if o.APIVersion != "serving.knative.dev/v1" || o.Kind != "Service" {
			t.Errorf("%s: %s %s, want a serving.knative.dev/v1 Service", f.file, o.APIVersion, o.Kind)
		}
		if got := o.Metadata.Annotations["run.googleapis.com/iap-enabled"]; got != f.iap {
			t.Errorf("%s: iap-enabled %q, want %q", f.file, got, f.iap)
		}
		ann := o.Spec.Template.Metadata.Annotations
		if n, err := strconv.Atoi(ann["autoscaling.knative.dev/minScale"]); err != nil || n < 1 {
			t.Errorf("%s: minScale %q, want 1 or more (pollers and screens need a running instance)", f.file, ann["autoscaling.knative.dev/minScale"])
		}
		if ann["run.googleapis.com/cpu-throttling"] != "false" {
			t.Errorf("%s: CPU throttled between requests: the pollers would stall", f.file)
		}
		if len(o.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("%s: want one container", f.file)
		}
		c := o.Spec.Template.Spec.Containers[0]
		checkContainer(t, f.file, c)
		if image == "" {
			image = c.Image
		} else if c.Image != image {
			t.Errorf("%s: image %s, the other service runs %s", f.file, c.Image, image)
		}
		store, _ := flagValue(c.Args, "store")
		instance := ann["run.googleapis.com/cloudsql-instances"]
		if instance == "" || !strings.HasSuffix(store, "host=/cloudsql/"+instance) {
			t.Errorf("%s: -store %q does not use the socket of the Cloud SQL instance %q", f.file, store, instance)
		}
		checkConfigEnv(t, f.config, c)
		var b map[string]any
		load(t, f.config, &b)
		access, _ := b["access"].(map[string]any)
		if access["mode"] != f.mode {
			t.Errorf("%s: access mode %v, want %s", f.config, access["mode"], f.mode)
		}
		configs[f.mode] = b
		if f.mode == "proxy" {
			aud := ""
			if p, ok := access["proxy"].(map[string]any); ok {
				if iap, ok := p["iap"].(map[string]any); ok {
					aud, _ = iap["audience"].(string)
				}
			}
			if !strings.HasSuffix(aud, "/services/"+o.Metadata.Name) || !strings.HasPrefix(aud, "/projects/") {
				t.Errorf("%s: IAP audience %q: want /projects/PROJECT_NUMBER/locations/REGION/services/%s", f.config, aud, o.Metadata.Name)
			}
		}
	}
	// The two services show the same boards: only who gets in differs.
	a, b := configs["proxy"], configs["screens"]
	if a != nil && b != nil {
		delete(a, "access")
		delete(b, "access")
		ya, _ := yaml.Marshal(a)
		yb, _ := yaml.Marshal(b)
		if !bytes.Equal(ya, yb) {
			t.Errorf("board-iap.yaml and board-screens.yaml differ outside access:\n%s\n---\n%s", ya, yb)
		}
	}
}

// TestProbePathsAreServed starts a Wallboard and asks it for every path a
// manifest probes: each must answer 200 without credentials.
func TestProbePathsAreServed(t *testing.T) {
	paths := map[string]bool{}
	for _, f := range []string{"kubernetes/deployment.yaml", "cloudrun/service.yaml", "cloudrun/service-screens.yaml"} {
		var o object
		load(t, f, &o)
		for _, c := range o.Spec.Template.Spec.Containers {
			for _, p := range []*probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
				if p != nil && p.HTTPGet != nil {
					paths[p.HTTPGet.Path] = true
				}
			}
		}
	}
	if len(paths) == 0 {
		t.Fatal("no probe found in the manifests")
	}
	a := apptest.Start(t, app.Options{})
	for p := range paths {
		resp, err := http.Get(a.BaseURL() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s (probed by a manifest): %d, want 200", p, resp.StatusCode)
		}
	}
}

// TestSystemdUnit verifies the unit with systemd's own checker on a copy
// whose binary path names an executable that exists here (verify refuses a
// unit whose ExecStart is missing), and rates its sandbox with
// systemd-analyze security.
func TestSystemdUnit(t *testing.T) {
	const unit = "systemd/wallboard.service"
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s: line %q is not key=value", unit, line)
			continue
		}
		keys[k] = append(keys[k], v)
	}
	for k, want := range map[string]string{
		"DynamicUser": "yes", "StateDirectory": "wallboard", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
		"PrivateTmp": "yes", "Restart": "on-failure", "SystemCallFilter": "@system-service",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "KillSignal": "SIGTERM",
	} {
		if !slices.Contains(keys[k], want) {
			t.Errorf("%s: %s=%s missing (has %q)", unit, k, want, keys[k])
		}
	}
	start := strings.Fields(strings.Join(keys["ExecStart"], " "))
	if data, _ := flagValue(start, "data"); data != "/var/lib/wallboard" {
		t.Errorf("%s: -data %q, want /var/lib/wallboard, the StateDirectory", unit, data)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze not found: install Debian's systemd package (make test-deps)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "wallboard.service")
	if err := os.WriteFile(copyPath, bytes.ReplaceAll(b, []byte("/usr/local/bin/wallboard"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(analyze, "verify", "--man=no", copyPath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	// verify exits 0 on unknown keys and bad values: it only logs them.
	if err != nil || stderr.Len() > 0 || stdout.Len() > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s%s", unit, err, stdout.String(), stderr.String())
	}
	out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager", copyPath).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Overall exposure level for wallboard.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no exposure level in:\n%s", out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f (0 is fully sandboxed, 10 is none)", level)
	if level > 2.0 {
		t.Errorf("exposure level %.1f: the sandbox has loosened (it was 1.2)", level)
	}
}
