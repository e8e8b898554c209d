package deploy

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestScriptsParse(t *testing.T) {
	for _, s := range []string{"../scripts/cluster.sh", "../scripts/gen-certs.sh"} {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
}

// documents splits a multi-document YAML file, dropping comment-only parts.
func documents(s string) []string {
	var out []string
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(s, -1) {
		if regexp.MustCompile(`(?m)^[a-zA-Z]`).MatchString(d) {
			out = append(out, d)
		}
	}
	return out
}

// TestKubernetesStructure checks the manifests without kubectl or a YAML
// library: no tabs, every document typed and named, and the keys the
// deployment relies on present.
func TestKubernetesStructure(t *testing.T) {
	s := read(t, "kubernetes/arbiter.yaml")
	if strings.Contains(s, "\t") {
		t.Error("tab characters are not valid YAML indentation")
	}
	kinds := map[string]string{}
	for _, d := range documents(s) {
		kind := regexp.MustCompile(`(?m)^kind: (\w+)$`).FindStringSubmatch(d)
		name := regexp.MustCompile(`(?m)^  name: ([\w-]+)$`).FindStringSubmatch(d)
		if kind == nil || name == nil || !regexp.MustCompile(`(?m)^apiVersion: \S+$`).MatchString(d) {
			t.Fatalf("document without apiVersion, kind or metadata.name:\n%s", d)
		}
		kinds[name[1]+"/"+kind[1]] = d
	}
	for key, want := range map[string][]string{
		"arbiter-peers/Service":       {"clusterIP: None", "publishNotReadyAddresses: true"},
		"arbiter/Service":             {"port: 8000"},
		"arbiter/PodDisruptionBudget": {"maxUnavailable: 1"},
		"arbiter/StatefulSet": {"replicas: 3", "serviceName: arbiter-peers", "volumeClaimTemplates:",
			"readinessProbe:", "ARBITER_ID", "ARBITER_PEERS", "ARBITER_DATA_DIR", "mountPath: /var/lib/arbiter"},
	} {
		for _, w := range want {
			if !strings.Contains(kinds[key], w) {
				t.Errorf("%s lacks %q", key, w)
			}
		}
	}
}

func TestSystemdUnit(t *testing.T) {
	u := read(t, "systemd/arbiter@.service")
	for _, w := range []string{"EnvironmentFile=/etc/arbiter/%i.env", "ExecStart=/usr/local/bin/arbiter serve",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=arbiter/%i", "[Install]"} {
		if !strings.Contains(u, w) {
			t.Errorf("unit lacks %q", w)
		}
	}
	env := read(t, "systemd/n1.env.example")
	for _, w := range []string{"ARBITER_ID=n1", "ARBITER_PEERS=", "ARBITER_DATA_DIR=/var/lib/arbiter/n1"} {
		if !strings.Contains(env, w) {
			t.Errorf("env example lacks %q", w)
		}
	}
}
