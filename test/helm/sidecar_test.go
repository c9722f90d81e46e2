package helm_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestSidecarExample decodes the hand-written sidecar fragment as a Pod, strictly,
// and checks it is what the issue 11 contract says the injector adds.
func TestSidecarExample(t *testing.T) {
	h := newHelm(t)
	r := renderVariant(t, h, "sidecar-example")
	cm := one[*corev1.ConfigMap](t, r)
	fragment, ok := cm.Data["pod-spec.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no pod-spec.yaml", cm.Name)
	}
	pods, err := decodeManifest("apiVersion: v1\nkind: Pod\nmetadata:\n  name: example\nspec:\n" + indent(fragment, "  "))
	if err != nil {
		t.Fatalf("the fragment is not a valid pod spec: %v\n%s", err, fragment)
	}
	spec := one[*corev1.Pod](t, pods).Spec

	if len(spec.InitContainers) != 2 || spec.InitContainers[0].Name != "cwcreds-aws-config" {
		t.Fatalf("init containers %v: want cwcreds-aws-config first, then the sidecar", names(spec.InitContainers))
	}
	awsConfig := spec.InitContainers[0]
	if !slices.Equal(awsConfig.Args, []string{"inject", "write-aws-config", "--out", "/var/run/cwcreds/aws-config"}) {
		t.Errorf("cwcreds-aws-config args %v", awsConfig.Args)
	}
	sc := container(t, spec.InitContainers, "cwcreds")
	checkRestricted(t, sc)
	if sc.RestartPolicy == nil || *sc.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("the sidecar is not a native sidecar (restartPolicy: Always): Jobs would not finish")
	}
	wantArgs := []string{"serve", "--listen", "127.0.0.1:9911", "--ops-listen", "0.0.0.0:9912", "--auth-token-file", "/var/run/cwcreds/auth-token"}
	if !slices.Equal(sc.Args, wantArgs) {
		t.Errorf("sidecar args %v, want %v", sc.Args, wantArgs)
	}
	if p := sc.StartupProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.IntValue() != 9912 {
		t.Errorf("startupProbe %+v, want GET /readyz on 9912", p)
	}
	for name, want := range map[string]string{
		"CWCREDS_TOKEN_FILE": "/var/run/secrets/cwcreds.io/serviceaccount/token",
		"CWCREDS_ORG_ID":     "cw-test-org",
	} {
		if got, _ := envValue(sc, name); got != want {
			t.Errorf("sidecar %s=%q, want %q", name, got, want)
		}
	}

	app := container(t, spec.Containers, "app")
	for name, want := range map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "http://127.0.0.1:9911/v1/credentials",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/cwcreds/auth-token",
		"AWS_CONFIG_FILE":                        "/var/run/cwcreds/aws-config",
		"AWS_ENDPOINT_URL_S3":                    "http://cwlota.com",
		"AWS_REGION":                             "US-EAST-04A",
	} {
		if got, _ := envValue(app, name); got != want {
			t.Errorf("app %s=%q, want %q", name, got, want)
		}
	}

	var token *corev1.ServiceAccountTokenProjection
	for _, v := range spec.Volumes {
		if v.Name == "cwcreds-token" && v.Projected != nil && len(v.Projected.Sources) == 1 {
			token = v.Projected.Sources[0].ServiceAccountToken
		}
	}
	if token == nil || token.Audience != "https://coreweave.com/iam" || token.Path != "token" ||
		token.ExpirationSeconds == nil || *token.ExpirationSeconds != 3600 {
		t.Errorf("projected token %+v, want audience https://coreweave.com/iam, path token, 3600 s", token)
	}
	mounts := map[string]string{}
	for _, m := range sc.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["cwcreds-token"] != "/var/run/secrets/cwcreds.io/serviceaccount" || mounts["cwcreds-run"] != "/var/run/cwcreds" {
		t.Errorf("sidecar mounts %v", mounts)
	}
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix) + "\n"
}
