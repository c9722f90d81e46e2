package inject

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testConfig is the injector of the golden files.
func testConfig() Config {
	return Config{
		Mode:       ModeSidecar,
		Image:      "ghcr.io/cwcreds/cwcreds:v1.2.3",
		S3Endpoint: "http://cwlota.com",
		Region:     "US-EAST-04A",
		OrgID:      "org-abc12345",
	}.WithDefaults()
}

// staticAccounts are service accounts by "namespace/name".
type staticAccounts map[string]map[string]string

func (s staticAccounts) Annotations(_ context.Context, ns, name string) (map[string]string, bool, error) {
	a, ok := s[ns+"/"+name]
	return a, ok, nil
}

func testAccounts() staticAccounts {
	return staticAccounts{
		"ml/default":      {"description": "nothing to do with cwcreds"},
		"ml/builder":      {AnnotationInject: "true"},
		"ml/caios-reader": {AnnotationCoreWeaveInject: "true"},
		"batch/exporter":  {},
		"dev/notebook":    {AnnotationInject: "True"},
	}
}

// goldenCase is one review of testdata/reviews and what it must give.
type goldenCase struct {
	name    string
	outcome Outcome
}

var goldenCases = []goldenCase{
	{"opted-in-pod", OutcomeInjected},
	{"opted-in-service-account", OutcomeInjected},
	{"coreweave-annotation", OutcomeInjected},
	{"opt-out-pod", OutcomeOptedOut},
	{"not-opted-in", OutcomeNotOptedIn},
	{"user-env-kept", OutcomeInjected},
	{"agent-mode", OutcomeInjected},
	{"job-pod", OutcomeInjected},
	{"bare-pod-service-account", OutcomeInjected},
	{"bad-mode", OutcomeDenied},
	{"not-a-pod", OutcomeNotPodCreate},
	{"pod-update", OutcomeNotPodCreate},
	{"host-network-sidecar", OutcomeInjected},
	{"already-injected", OutcomeAlreadyInjected}, // the patched pod of opted-in-pod
	{"pod-level-resources", OutcomeInjected},
	{"windows-pod", OutcomeDenied},
}

// goldenResponse is a response as the golden files show it: the patch decoded.
type goldenResponse struct {
	Outcome  Outcome         `json:"outcome"`
	UID      string          `json:"uid"`
	Allowed  bool            `json:"allowed"`
	Warnings []string        `json:"warnings,omitempty"`
	Result   any             `json:"result,omitempty"`
	Patch    json.RawMessage `json:"patch,omitempty"`
}

// TestGolden runs every review of testdata/reviews through the handler's decoder
// and Mutate, compares response and patch with testdata/golden/<case>.response.json,
// applies the patch with a JSON-patch library, decodes the pod strictly with
// client-go, checks it is a pod the API server would accept as far as names go,
// and compares it with testdata/golden/<case>.pod.json.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			body := readReview(t, tc.name)
			review, err := DecodeReview(body)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Mutate(context.Background(), testConfig(), review.Request, testAccounts())
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.outcome {
				t.Fatalf("outcome %s (%s), want %s", res.Outcome, res.Reason, tc.outcome)
			}
			resp := res.Response
			if resp.UID != review.Request.UID {
				t.Fatalf("response uid %q, want the request's %q", resp.UID, review.Request.UID)
			}
			if (tc.outcome == OutcomeInjected) != (resp.Patch != nil) || (resp.Patch != nil) != (resp.PatchType != nil) {
				t.Fatalf("outcome %s with patch %v and patch type %v", res.Outcome, resp.Patch != nil, resp.PatchType)
			}
			if resp.Allowed != (tc.outcome != OutcomeDenied) {
				t.Fatalf("allowed %v for outcome %s", resp.Allowed, res.Outcome)
			}
			g := goldenResponse{Outcome: res.Outcome, UID: string(resp.UID), Allowed: resp.Allowed, Warnings: resp.Warnings, Patch: resp.Patch}
			if resp.Result != nil {
				g.Result = resp.Result
			}
			compareGolden(t, tc.name+".response.json", indent(t, mustJSON(t, g)))
			if resp.Patch == nil {
				return
			}
			patched := applyPatch(t, review.Request.Object.Raw, resp.Patch)
			pod := decodeStrict(t, patched)
			checkPod(t, pod)
			compareGolden(t, tc.name+".pod.json", indent(t, patched))
		})
	}
}

// TestIdempotent: a patched pod reviewed again gets no patch; without the
// marker annotation it gets only the marker back (nothing else twice).
func TestIdempotent(t *testing.T) {
	for _, tc := range goldenCases {
		if tc.outcome != OutcomeInjected {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			review := mustDecode(t, readReview(t, tc.name))
			res := mustMutate(t, review.Request)
			patched := applyPatch(t, review.Request.Object.Raw, res.Response.Patch)

			review.Request.Object.Raw = patched
			again := mustMutate(t, review.Request)
			if again.Outcome != OutcomeAlreadyInjected || again.Response.Patch != nil {
				t.Fatalf("second review: %s with patch %s", again.Outcome, again.Response.Patch)
			}

			var obj map[string]any
			if err := json.Unmarshal(patched, &obj); err != nil {
				t.Fatal(err)
			}
			delete(obj["metadata"].(map[string]any)["annotations"].(map[string]any), AnnotationInjected)
			review.Request.Object.Raw = mustJSON(t, obj)
			unmarked := mustMutate(t, review.Request)
			want := `[{"op":"add","path":"/metadata/annotations/cwcreds.io~1injected","value":"true"}]`
			if string(unmarked.Response.Patch) != want {
				t.Fatalf("review of the patched pod without its marker: patch %s, want only the marker", unmarked.Response.Patch)
			}
		})
	}
}

// TestUserEnvKept checks by name what the golden file of user-env-kept shows.
func TestUserEnvKept(t *testing.T) {
	review := mustDecode(t, readReview(t, "user-env-kept"))
	res := mustMutate(t, review.Request)
	pod := decodeStrict(t, applyPatch(t, review.Request.Object.Raw, res.Response.Patch))
	trainer, exporter := envOf(pod.Spec.Containers[0]), envOf(pod.Spec.Containers[1])
	for name, want := range map[string]string{
		EnvRegion: "EU-WEST-01A", EnvEndpointURLS3: "https://s3.internal.example.com", EnvConfigFile: "/etc/aws/config",
		EnvCredentialsFullURI: SidecarCredentialsURI, EnvAuthorizationTokenFile: AuthTokenPath,
	} {
		if trainer[name] != want {
			t.Errorf("trainer %s=%q, want %q", name, trainer[name], want)
		}
	}
	if _, ok := trainer[EnvDefaultRegion]; ok {
		t.Error("trainer sets AWS_REGION, yet got AWS_DEFAULT_REGION too")
	}
	if exporter[EnvCredentialsFullURI] != "http://127.0.0.1:8080/creds" {
		t.Errorf("exporter's own endpoint replaced: %q", exporter[EnvCredentialsFullURI])
	}
	if _, ok := exporter[EnvAuthorizationTokenFile]; ok {
		t.Error("exporter has its own endpoint, yet got cwcreds' token file (it would send it there)")
	}
	if _, ok := exporter[EnvConfigFile]; ok {
		t.Error("exporter names AWS_PROFILE, yet got an AWS config file without that profile")
	}
	for _, m := range pod.Spec.Containers[1].VolumeMounts {
		if m.Name == RunVolume {
			t.Error("exporter already mounts something at /var/run/cwcreds, yet got a second mount there")
		}
	}
}

// TestJobPod: the sidecar runs before the Job's own init container (which gets
// the env too) and the pod's restartPolicy stays Never.
func TestJobPod(t *testing.T) {
	review := mustDecode(t, readReview(t, "job-pod"))
	res := mustMutate(t, review.Request)
	pod := decodeStrict(t, applyPatch(t, review.Request.Object.Raw, res.Response.Patch))
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "cwcreds-aws-config,cwcreds,fetch-manifest" {
		t.Fatalf("init containers %s", got)
	}
	if rp := pod.Spec.InitContainers[1].RestartPolicy; rp == nil || *rp != corev1.ContainerRestartPolicyAlways {
		t.Fatal("the sidecar is not a native sidecar (restartPolicy Always)")
	}
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Fatalf("pod restartPolicy %s", pod.Spec.RestartPolicy)
	}
	if envOf(pod.Spec.InitContainers[2])[EnvCredentialsFullURI] != SidecarCredentialsURI {
		t.Fatal("the Job's init container, which runs after the sidecar, has no credentials endpoint")
	}
}

func TestAgentModeHasNoSidecar(t *testing.T) {
	review := mustDecode(t, readReview(t, "agent-mode"))
	res := mustMutate(t, review.Request)
	pod := decodeStrict(t, applyPatch(t, review.Request.Object.Raw, res.Response.Patch))
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		if c.Name == SidecarContainer {
			t.Fatal("agent mode added a sidecar")
		}
	}
	env := envOf(pod.Spec.Containers[0])
	if env[EnvCredentialsFullURI] != DefaultAgentURL || env[EnvAuthorizationTokenFile] != TokenPath {
		t.Fatalf("agent env %v", env)
	}
}

func TestNoServiceAccounts(t *testing.T) {
	review := mustDecode(t, readReview(t, "opted-in-service-account"))
	res, err := Mutate(context.Background(), testConfig(), review.Request, nil)
	if err != nil || res.Outcome != OutcomeNotOptedIn {
		t.Fatalf("without service accounts: %v %v", res.Outcome, err)
	}
}

type failingAccounts struct{}

func (failingAccounts) Annotations(context.Context, string, string) (map[string]string, bool, error) {
	return nil, false, errors.New("connection refused")
}

func TestLookupFailureIsAnError(t *testing.T) {
	review := mustDecode(t, readReview(t, "opted-in-service-account"))
	_, err := Mutate(context.Background(), testConfig(), review.Request, failingAccounts{})
	if err == nil || StatusCode(err) != 500 || !strings.Contains(err.Error(), "ml/builder") {
		t.Fatalf("lookup failure gave %v", err)
	}
	// A pod that decides by itself needs no lookup.
	review = mustDecode(t, readReview(t, "opted-in-pod"))
	if _, err := Mutate(context.Background(), testConfig(), review.Request, failingAccounts{}); err != nil {
		t.Fatal(err)
	}
}

func TestSidecarNeedsOrgID(t *testing.T) {
	cfg := testConfig()
	cfg.Mode, cfg.OrgID = ModeAgent, ""
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	review := mustDecode(t, readReview(t, "agent-mode"))
	if res, _ := Mutate(context.Background(), cfg, review.Request, nil); res.Outcome != OutcomeInjected {
		t.Fatalf("agent pod on an agent injector without org id: %s", res.Outcome)
	}
	review = mustDecode(t, readReview(t, "opted-in-pod"))
	review.Request.Object.Raw = bytes.Replace(review.Request.Object.Raw, []byte(`"cwcreds.io/inject":`), []byte(`"cwcreds.io/mode":"sidecar","cwcreds.io/inject":`), 1)
	res, err := Mutate(context.Background(), cfg, review.Request, nil)
	if err != nil || res.Response.Allowed || !strings.Contains(res.Response.Result.Message, "--org-id") {
		t.Fatalf("sidecar pod on an injector without org id: %s allowed %v, %v", res.Outcome, res.Response.Allowed, err)
	}
}

func TestValidate(t *testing.T) {
	if err := testConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Mode = "node" }, "--mode"},
		{func(c *Config) { c.Image = "" }, "--image"},
		{func(c *Config) { c.ImagePullPolicy = "Sometimes" }, "--image-pull-policy"},
		{func(c *Config) { c.Audience = " x" }, "--audience"},
		{func(c *Config) { c.S3Endpoint = "cwlota.com" }, "--s3-endpoint"},
		{func(c *Config) { c.S3Endpoint = "" }, "--s3-endpoint"},
		{func(c *Config) { c.Region = "US EAST" }, "--region"},
		{func(c *Config) { c.AgentURL = "http://10.0.0.5:9911/v1/credentials" }, "refuse plain http"},
		{func(c *Config) { c.APIEndpoint = "ftp://x" }, "--api-endpoint"},
		{func(c *Config) { c.OrgID = "" }, "--org-id is required"},
	} {
		c := testConfig()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", c, err, tc.want)
		}
	}
	for _, ok := range []string{"http://[fd00:ec2::23]:9911/v1/credentials", "http://127.0.0.1:9911/v1/credentials", "https://agent.example:9911/"} {
		c := testConfig()
		c.AgentURL = ok
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// checkPod fails t when pod breaks a rule the API server's validation enforces
// on names, or when the injection is not wired up.
func checkPod(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if err := podProblem(pod); err != nil {
		t.Fatal(err)
	}
}

// podProblem is checkPod's rules, shared with the fuzz test.
func podProblem(pod *corev1.Pod) error {
	volumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if volumes[v.Name] {
			return fmt.Errorf("volume %s twice", v.Name)
		}
		volumes[v.Name] = true
	}
	containers := map[string]bool{}
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		if containers[c.Name] && c.Name != "" {
			return fmt.Errorf("container %s twice", c.Name)
		}
		containers[c.Name] = true
		env := map[string]bool{}
		for _, e := range c.Env {
			if env[e.Name] && strings.HasPrefix(e.Name, "AWS_") {
				return fmt.Errorf("container %s: env %s twice", c.Name, e.Name)
			}
			env[e.Name] = true
		}
		paths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if paths[m.MountPath] && strings.HasPrefix(m.MountPath, "/var/run/") {
				return fmt.Errorf("container %s: two mounts at %s", c.Name, m.MountPath)
			}
			paths[m.MountPath] = true
			if (m.Name == RunVolume || m.Name == TokenVolume) && !volumes[m.Name] {
				return fmt.Errorf("container %s mounts %s, which is no volume", c.Name, m.Name)
			}
		}
	}
	if pod.Annotations[AnnotationInjected] != "true" {
		return errors.New("no injected marker")
	}
	if !volumes[TokenVolume] || !volumes[RunVolume] {
		return errors.New("cwcreds volumes missing")
	}
	if len(pod.Spec.InitContainers) == 0 || (pod.Spec.InitContainers[0].Name != AWSConfigContainer && !containers[AWSConfigContainer]) {
		return errors.New("the aws-config init container is not first")
	}
	return nil
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func readReview(t testing.TB, name string) []byte {
	t.Helper()
	if name == "already-injected" {
		// The pod opted-in-pod's patch makes, in opted-in-pod's review.
		review := mustDecode(t, readReview(t, "opted-in-pod"))
		pod, err := os.ReadFile(filepath.Join("testdata", "golden", "opted-in-pod.pod.json"))
		if err != nil {
			t.Fatal(err)
		}
		review.Request.Object.Raw = pod
		review.Request.UID = "7c1f2a58-51a5-4d32-9c0a-0d6c2f1b9e99"
		return mustJSON(t, review)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "reviews", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecode(t testing.TB, body []byte) *admissionv1.AdmissionReview {
	t.Helper()
	r, err := DecodeReview(body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustMutate(t testing.TB, req *admissionv1.AdmissionRequest) Result {
	t.Helper()
	res, err := Mutate(context.Background(), testConfig(), req, testAccounts())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func applyPatch(t testing.TB, doc, patch []byte) []byte {
	t.Helper()
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatalf("the patch is not a JSON patch: %v", err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("the patch does not apply: %v\n%s", err, patch)
	}
	return out
}

// decodeStrict decodes a pod as the API server's strict field validation does:
// unknown or duplicate fields and wrong types fail.
func decodeStrict(t testing.TB, data []byte) *corev1.Pod {
	t.Helper()
	pod, err := strictPod(data)
	if err != nil {
		t.Fatalf("patched pod does not decode strictly: %v", err)
	}
	return pod
}

func strictPod(data []byte) (*corev1.Pod, error) {
	dec := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	obj, _, err := dec.Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, fmt.Errorf("decoded a %T, not a pod", obj)
	}
	return pod, nil
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func indent(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/inject -run TestGolden -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the test got (go test ./internal/inject -run TestGolden -update rewrites it; review the diff):\n%s", path, got)
	}
}
