package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"github.com/logship/logship/metrics"
)

// manifestFiles are the Kubernetes files shipped in deploy/kubernetes.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	return slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
}

// documents splits a multi-document YAML file.
func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// object is a decoded manifest document.
type object struct {
	file string
	kind string
	obj  any
}

// decodeManifests decodes every document of every manifest strictly into
// its k8s.io/api type: an unknown or misspelt field fails the test.
func decodeManifests(t *testing.T) []object {
	t.Helper()
	var out []object
	for _, f := range manifestFiles(t) {
		for i, doc := range documents(t, f) {
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			var obj any
			switch tm.Kind {
			case "ConfigMap":
				obj = &corev1.ConfigMap{}
			case "Secret":
				obj = &corev1.Secret{}
			case "PersistentVolumeClaim":
				obj = &corev1.PersistentVolumeClaim{}
			case "Service":
				obj = &corev1.Service{}
			case "Deployment":
				obj = &appsv1.Deployment{}
			case "StatefulSet":
				obj = &appsv1.StatefulSet{}
			default:
				t.Fatalf("%s document %d: kind %q has no check here: add its type", f, i, tm.Kind)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", f, i, tm.Kind, err)
			}
			out = append(out, object{file: f, kind: tm.Kind, obj: obj})
		}
	}
	return out
}

func TestManifestsDecodeStrictly(t *testing.T) {
	objs := decodeManifests(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.kind]++
	}
	if kinds["Deployment"] == 0 || kinds["ConfigMap"] == 0 {
		t.Fatalf("manifests hold %v: want at least a Deployment and a ConfigMap", kinds)
	}
}

// TestPodsRestricted checks every pod template against the Pod Security
// Standards "restricted" profile, with the admission controller's own
// checks, and that logship's containers use a pinned image tag.
func TestPodsRestricted(t *testing.T) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pods := 0
	for _, o := range decodeManifests(t) {
		var tmpl *corev1.PodTemplateSpec
		switch d := o.obj.(type) {
		case *appsv1.Deployment:
			tmpl = &d.Spec.Template
		case *appsv1.StatefulSet:
			tmpl = &d.Spec.Template
		default:
			continue
		}
		pods++
		lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
		res := policy.AggregateCheckResults(eval.EvaluatePod(lv, &tmpl.ObjectMeta, &tmpl.Spec))
		if !res.Allowed {
			t.Errorf("%s: pod template fails the restricted profile: %s: %s", o.file, res.ForbiddenReason(), res.ForbiddenDetail())
		}
		for _, c := range tmpl.Spec.Containers {
			image, tag, ok := strings.Cut(c.Image, ":")
			if !ok || tag == "" || tag == "latest" {
				t.Errorf("%s: container %s: image %q has no pinned tag", o.file, c.Name, c.Image)
			}
			if c.Name == "logship" && image != "logship" {
				t.Errorf("%s: logship container runs image %q, want the one kustomization.yaml pins", o.file, image)
			}
			if c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: container %s has no memory limit", o.file, c.Name)
			}
		}
	}
	if pods == 0 {
		t.Fatal("no pod template found")
	}
}

// TestKustomization decodes kustomization.yaml strictly and checks that
// every resource it names exists.
func TestKustomization(t *testing.T) {
	data, err := os.ReadFile("kubernetes/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Resources  []string `json:"resources"`
		Images     []struct {
			Name    string `json:"name"`
			NewTag  string `json:"newTag"`
			NewName string `json:"newName,omitempty"`
			Digest  string `json:"digest,omitempty"`
		} `json:"images"`
	}
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatal(err)
	}
	if k.Kind != "Kustomization" || len(k.Resources) == 0 {
		t.Fatalf("kustomization: kind %q, %d resources", k.Kind, len(k.Resources))
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
			t.Errorf("resource %s: %v", r, err)
		}
	}
}

// TestConfigMapsValidate runs the config of every ConfigMap that carries
// one through `logship validate`, as the pod would load it.
func TestConfigMapsValidate(t *testing.T) {
	bin := buildLogship(t)
	n := 0
	for _, o := range decodeManifests(t) {
		cm, ok := o.obj.(*corev1.ConfigMap)
		if !ok || cm.Data["config.yaml"] == "" {
			continue
		}
		n++
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(cm.Data["config.yaml"]), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "validate", "--config", path)
		// The token comes from the Secret the manifests reference.
		cmd.Env = append(os.Environ(), "CLEVER_API_TOKEN=token-from-the-secret")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: ConfigMap %s: logship validate: %v\n%s", o.file, cm.Name, err, out)
		}
	}
	if n == 0 {
		t.Fatal("no ConfigMap with a config.yaml")
	}
}

func buildLogship(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "logship")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/logship")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build logship: %v\n%s", err, out)
	}
	return bin
}

// exportedMetrics returns the names of every metric family logship
// registers: its own collectors (package metrics) and the Go and process
// collectors cmd/logship adds.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	var cs []prometheus.Collector
	mv := reflect.ValueOf(metrics.New()).Elem()
	for i := range mv.NumField() {
		if c, ok := mv.Field(i).Interface().(prometheus.Collector); ok {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		t.Fatal("package metrics exposes no collector")
	}
	cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for _, c := range cs {
		ch := make(chan *prometheus.Desc, 64)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := fq.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("cannot read the name of %s", d)
			}
			names[m[1]] = true
		}
	}
	return names
}

// metricNames returns the metric names an expression selects; a histogram's
// or summary's series (_bucket, _sum, _count) count as their family.
func metricNames(t *testing.T, p parser.Parser, expr string) []string {
	t.Helper()
	e, err := p.ParseExpr(expr)
	if err != nil {
		t.Fatalf("parse %q: %v", expr, err)
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

func checkNames(t *testing.T, where string, names []string, exported map[string]bool) {
	t.Helper()
	for _, n := range names {
		base := n
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, suf); ok && exported[b] {
				base = b
			}
		}
		if !exported[base] {
			t.Errorf("%s uses %s, which logship does not export", where, n)
		}
	}
}

// TestAlertRules loads the alerting rules with Prometheus' own parser
// (unknown fields refused) and checks every metric they use.
func TestAlertRules(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.ParseFile("prometheus/alerts.yaml", false, model.UTF8Validation, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if len(errs) > 0 {
		t.Fatalf("rules: %v", errs)
	}
	exported := exportedMetrics(t)
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			checkNames(t, "alert "+r.Alert, metricNames(t, p, r.Expr), exported)
		}
	}
	if alerts < 6 {
		t.Errorf("%d alerts, want lag, disconnected, sink failing, dead letters, malformed frames and memory at least", alerts)
	}
}

// TestDashboard checks that every query of the Grafana dashboard parses and
// uses only metrics logship exports.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile("grafana/logship.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	// Grafana's variables, as Grafana substitutes them.
	vars := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*")
	p := parser.NewParser(parser.Options{})
	exported := exportedMetrics(t)
	queries := 0
	for _, panel := range d.Panels {
		for _, tg := range panel.Targets {
			queries++
			checkNames(t, fmt.Sprintf("panel %q", panel.Title), metricNames(t, p, vars.Replace(tg.Expr)), exported)
		}
	}
	if queries == 0 {
		t.Fatal("the dashboard has no query")
	}
}
