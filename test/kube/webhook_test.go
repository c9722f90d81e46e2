package kube_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// The names the webhook and the chart share (/tmp/k8s-contract.md, README).
const (
	annotationInject    = "cwcreds.io/inject"
	annotationCoreWeave = "caios.coreweave.com/inject"
	annotationInjected  = "cwcreds.io/injected"
	annotationMode      = "cwcreds.io/mode"

	tokenVolume     = "cwcreds-token"
	tokenDir        = "/var/run/secrets/cwcreds.io/serviceaccount"
	tokenPath       = tokenDir + "/token"
	runVolume       = "cwcreds-run"
	runDir          = "/var/run/cwcreds"
	awsConfigPath   = runDir + "/aws-config"
	authTokenPath   = runDir + "/auth-token"
	awsConfigInit   = "cwcreds-aws-config"
	sidecarName     = "cwcreds"
	sidecarURL      = "http://127.0.0.1:9911/v1/credentials"
	defaultAgentURL = "http://169.254.170.23:9911/v1/credentials"

	injectImage  = "cwcreds:test"
	injectS3     = "http://cwlota.com"
	injectRegion = "US-EAST-04A"
	injectOrg    = "org-test"
)

// testWebhook: the API server calls `cwcreds inject` through the chart's
// MutatingWebhookConfiguration on pod create and stores what it patched.
func testWebhook(t *testing.T, s *apiServer, bin string) {
	ns := createNamespace(t, s, "webhook")
	// Service accounts exist before the webhook starts, so its informer's first
	// list holds their annotations.
	plainSA := createServiceAccount(t, s, ns, "plain", nil)
	optedSA := createServiceAccount(t, s, ns, "opted-in", map[string]string{annotationInject: "true"})
	coreweaveSA := createServiceAccount(t, s, ns, "coreweave", map[string]string{annotationCoreWeave: "true"})
	startWebhook(t, s, bin)

	withEnv := appContainer("app")
	withEnv.Env = []corev1.EnvVar{{Name: "AWS_REGION", Value: "user-region"}}
	cases := []struct {
		name        string
		annotations map[string]string
		sa          string
		containers  []corev1.Container
		want        string // "sidecar", "agent" or "" (untouched)
	}{
		{"pod-annotation", map[string]string{annotationInject: "true"}, plainSA, []corev1.Container{withEnv, appContainer("second")}, "sidecar"},
		{"sa-annotation", nil, optedSA, []corev1.Container{appContainer("app")}, "sidecar"},
		{"coreweave-sa-annotation", nil, coreweaveSA, []corev1.Container{appContainer("app")}, "sidecar"},
		{"agent-mode", map[string]string{annotationInject: "true", annotationMode: "agent"}, plainSA, []corev1.Container{appContainer("app")}, "agent"},
		{"opted-out", nil, plainSA, []corev1.Container{appContainer("app")}, ""},
		{"opted-out-explicitly", map[string]string{annotationInject: "false"}, optedSA, []corev1.Container{appContainer("app")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := createPod(t, s, ns, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: c.name, Annotations: c.annotations},
				Spec:       corev1.PodSpec{ServiceAccountName: c.sa, Containers: c.containers},
			})
			switch c.want {
			case "":
				checkUntouched(t, pod)
			default:
				checkInjected(t, pod, c.want)
			}
			if c.want == "agent" {
				agentServesPod(t, s, bin, pod)
			}
			if c.name == "pod-annotation" {
				if got := envValue(pod.Spec.Containers[0], "AWS_REGION"); got != "user-region" {
					t.Errorf("the webhook replaced the user's AWS_REGION with %q", got)
				}
			}
		})
	}

	t.Run("job", func(t *testing.T) {
		// No controller runs here: create the Job, then its pod the way the Job
		// controller would (the template, owned by the Job).
		job, err := s.client.BatchV1().Jobs(ns).Create(testContext(t), &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "batch"},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{annotationInject: "true"}},
				Spec: corev1.PodSpec{
					ServiceAccountName: plainSA,
					RestartPolicy:      corev1.RestartPolicyNever,
					Containers:         []corev1.Container{appContainer("work")},
				},
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tmpl := job.Spec.Template.DeepCopy()
		pod := createPod(t, s, ns, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name:            "batch-0",
				Labels:          tmpl.Labels,
				Annotations:     tmpl.Annotations,
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))},
			},
			Spec: tmpl.Spec,
		})
		checkInjected(t, pod, "sidecar")
		if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("pod restartPolicy %q, want Never as the Job set it", pod.Spec.RestartPolicy)
		}
		// A native sidecar is not a container: the Job completes when "work" does.
		if slices.ContainsFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == sidecarName }) {
			t.Error("the sidecar is a regular container: the Job would never finish")
		}
	})

	t.Run("already-injected", func(t *testing.T) {
		// A pod whose spec already went through the webhook (re-created from a
		// stored one) gets nothing twice. (The API server's ServiceAccount
		// admission may add its token mount to the containers cwcreds added.)
		first := createPod(t, s, ns, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "first", Annotations: map[string]string{annotationInject: "true"}},
			Spec:       corev1.PodSpec{ServiceAccountName: plainSA, Containers: []corev1.Container{appContainer("app")}},
		})
		second := createPod(t, s, ns, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "again", Annotations: first.Annotations},
			Spec:       *first.Spec.DeepCopy(),
		})
		checkInjected(t, second, "sidecar")
		if got, want := containerNames(second.Spec.InitContainers), containerNames(first.Spec.InitContainers); !slices.Equal(got, want) {
			t.Errorf("init containers %v after a second pass, want %v", got, want)
		}
		if !equalJSON(t, first.Spec.Containers[0].Env, second.Spec.Containers[0].Env) {
			t.Errorf("a second pass changed the app's env:\nfirst:  %s\nsecond: %s", mustJSON(t, first.Spec.Containers[0].Env), mustJSON(t, second.Spec.Containers[0].Env))
		}
	})

	t.Run("pod-level-resources", func(t *testing.T) {
		// The API server refuses a pod whose containers ask for more than its
		// pod-level resources: the webhook raises them by what it adds (the
		// cpu limit too, which must stay at or above the raised request).
		q := resource.MustParse
		app := appContainer("app")
		app.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": q("1"), "memory": q("1Gi")}}
		pod := createPod(t, s, ns, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-level", Annotations: map[string]string{annotationInject: "true"}},
			Spec: corev1.PodSpec{
				ServiceAccountName: plainSA,
				Containers:         []corev1.Container{app},
				Resources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{"cpu": q("1"), "memory": q("1Gi")},
					Limits:   corev1.ResourceList{"cpu": q("1"), "memory": q("1Gi")},
				},
			},
		})
		checkInjected(t, pod, "sidecar")
		got := pod.Spec.Resources
		if got.Requests.Cpu().Cmp(q("1010m")) != 0 || got.Requests.Memory().Cmp(q("1056Mi")) != 0 ||
			got.Limits.Cpu().Cmp(q("1010m")) != 0 || got.Limits.Memory().Cmp(q("1088Mi")) != 0 {
			t.Errorf("pod-level resources after injection: %s", mustJSON(t, got))
		}
	})

	t.Run("windows", func(t *testing.T) {
		// cwcreds is Linux only: an opted-in Windows pod is refused with why.
		_, err := s.client.CoreV1().Pods(ns).Create(testContext(t), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "windows", Annotations: map[string]string{annotationInject: "true"}},
			Spec:       corev1.PodSpec{ServiceAccountName: plainSA, OS: &corev1.PodOS{Name: corev1.Windows}, Containers: []corev1.Container{appContainer("app")}},
		}, metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), "cwcreds runs on Linux only") {
			t.Fatalf("an opted-in Windows pod: %v", err)
		}
	})

	t.Run("dry-run-create", func(t *testing.T) {
		// kubectl --dry-run=server and admission checks see the same patch.
		pod, err := s.client.CoreV1().Pods(ns).Create(testContext(t), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "dry", Annotations: map[string]string{annotationInject: "true"}},
			Spec:       corev1.PodSpec{ServiceAccountName: plainSA, Containers: []corev1.Container{appContainer("app")}},
		}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatal(err)
		}
		checkInjected(t, pod, "sidecar")
	})
}

// startWebhook runs `cwcreds inject` on a loopback TLS port and registers it
// with the chart's own MutatingWebhookConfiguration, pointed at that port.
func startWebhook(t *testing.T, s *apiServer, bin string) {
	t.Helper()
	dir := t.TempDir()
	ca := newTestCA(t, "cwcreds-test-webhook-ca")
	certFile, keyFile := ca.serving(t).write(t, dir, "webhook")
	port := freePorts(t, 1)[0]
	p := startProcess(t, "cwcreds inject", bin, []string{
		"inject",
		"--listen", loopback(port),
		"--tls-cert-file", certFile,
		"--tls-key-file", keyFile,
		"--kubeconfig", s.kubeconfig,
		"--mode", "sidecar",
		"--image", injectImage,
		"--org-id", injectOrg,
		"--s3-endpoint", injectS3,
		"--region", injectRegion,
		"--audience", cwobject.RecommendedAudience,
	}, isolatedEnv(dir)...)
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool(), MinVersion: tls.VersionTLS12}}}
	p.waitReady(t, "ready", httpOK(tlsClient, "https://"+loopback(port)+"/readyz"))

	rendered := findObject(t, renderChart(t, "injector.enabled=true", "orgId="+injectOrg), "MutatingWebhookConfiguration")
	var mwc admissionregistrationv1.MutatingWebhookConfiguration
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(rendered.Object, &mwc, true); err != nil {
		t.Fatalf("the chart's MutatingWebhookConfiguration: %v", err)
	}
	if len(mwc.Webhooks) == 0 {
		t.Fatal("the chart's MutatingWebhookConfiguration has no webhooks")
	}
	url := "https://" + loopback(port) + "/mutate"
	for i := range mwc.Webhooks {
		w := &mwc.Webhooks[i]
		// The Service it names has no endpoints here: call the test's process.
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.certPEM}
		// Fail rather than let a broken webhook pass pods through untouched.
		w.FailurePolicy = new(admissionregistrationv1.Fail)
	}
	mwc.ResourceVersion = ""
	// Its own name: ChartDryRunApply, in parallel, dry-runs the chart's object,
	// which must meet no stored one of that name.
	mwc.Name += "-kubetest"
	if _, err := s.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(testContext(t), &mwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("register the chart's webhook: %v", err)
	}
	// Unregister before the process stops (cleanups run last first): with
	// failurePolicy Fail, other tests' pods could not be created otherwise.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, mwc.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("unregister the webhook: %v", err)
		}
	})
}

// agentServesPod plays the kubelet and the pod's SDK for a pod injected in
// agent mode: the token its projected volume asks for (TokenRequest with that
// audience and lifetime, bound to the pod), and the env the webhook gave it,
// get keys from `cwcreds serve --mode agent`. The agent listens on loopback,
// not 169.254.170.23 (no NET_ADMIN here), so only the URL's host is swapped.
func agentServesPod(t *testing.T, s *apiServer, bin string, pod *corev1.Pod) {
	t.Helper()
	v := volume(pod, tokenVolume)
	if v == nil || v.Projected == nil || len(v.Projected.Sources) != 1 || v.Projected.Sources[0].ServiceAccountToken == nil {
		t.Fatalf("no projected token volume %s", tokenVolume)
	}
	projection := v.Projected.Sources[0].ServiceAccountToken
	token := requestToken(t, s, pod.Namespace, pod.Spec.ServiceAccountName, projection.Audience, *projection.ExpirationSeconds, pod)
	tokenFile := filepath.Join(t.TempDir(), projection.Path)
	writeFile(t, tokenFile, []byte(token))

	app := pod.Spec.Containers[0]
	if got := envValue(app, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); got != tokenDir+"/"+projection.Path {
		t.Fatalf("the app reads its token from %q, but the volume puts it at %s/%s", got, tokenDir, projection.Path)
	}
	emu := startTrustingEmulator(t, s)
	agent := startAgent(t, bin, emu)
	podURL := envValue(app, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if !strings.HasPrefix(podURL, "http://169.254.170.23:9911/") {
		t.Fatalf("agent URL %q", podURL)
	}
	url := strings.Replace(podURL, "http://169.254.170.23:9911", strings.TrimSuffix(agent.credentialsURL, "/v1/credentials"), 1)
	key := botocoreContainerKey(t, url, tokenFile)
	want := cwobject.PrincipalPrefixOIDC + s.url + ":system:serviceaccount:" + pod.Namespace + ":" + pod.Spec.ServiceAccountName
	if got := emu.PrincipalOf(key); got != want {
		t.Errorf("the pod's key belongs to %q, want %q", got, want)
	}
}

// checkNoDuplicates: no volume, init container, env variable or mount twice.
func checkNoDuplicates(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	dup := func(what string, names []string) {
		seen := map[string]bool{}
		for _, n := range names {
			if seen[n] {
				t.Errorf("%s %s twice", what, n)
			}
			seen[n] = true
		}
	}
	var volumes []string
	for _, v := range pod.Spec.Volumes {
		volumes = append(volumes, v.Name)
	}
	dup("volume", volumes)
	dup("init container", containerNames(pod.Spec.InitContainers))
	for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		var env, mounts []string
		for _, e := range c.Env {
			env = append(env, e.Name)
		}
		for _, m := range c.VolumeMounts {
			mounts = append(mounts, m.MountPath)
		}
		dup("container "+c.Name+": env", env)
		dup("container "+c.Name+": mount at", mounts)
	}
}

// checkUntouched: the webhook added nothing.
func checkUntouched(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if _, ok := pod.Annotations[annotationInjected]; ok {
		t.Errorf("opted-out pod carries %s", annotationInjected)
	}
	if len(pod.Spec.InitContainers) != 0 {
		t.Errorf("opted-out pod got init containers %v", containerNames(pod.Spec.InitContainers))
	}
	for _, v := range pod.Spec.Volumes {
		if strings.HasPrefix(v.Name, "cwcreds") {
			t.Errorf("opted-out pod got volume %s", v.Name)
		}
	}
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "AWS_") {
				t.Errorf("opted-out container %s got %s", c.Name, e.Name)
			}
		}
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(m.Name, "cwcreds") {
				t.Errorf("opted-out container %s got mount %s", c.Name, m.Name)
			}
		}
	}
}

// checkInjected checks the stored pod against the contract for mode.
func checkInjected(t *testing.T, pod *corev1.Pod, mode string) {
	t.Helper()
	if pod.Annotations[annotationInjected] != "true" {
		t.Errorf("annotations %v lack %s: \"true\"", pod.Annotations, annotationInjected)
	}
	checkTokenVolume(t, pod)
	if v := volume(pod, runVolume); v == nil || v.EmptyDir == nil {
		t.Errorf("no emptyDir volume %s", runVolume)
	}

	inits := pod.Spec.InitContainers
	if len(inits) == 0 || inits[0].Name != awsConfigInit {
		t.Fatalf("init containers %v: want %s first", containerNames(inits), awsConfigInit)
	}
	writer := inits[0]
	if cmd := strings.Join(append(slices.Clone(writer.Command), writer.Args...), " "); !strings.Contains(cmd, "inject write-aws-config --out "+awsConfigPath) || writer.Image != injectImage {
		t.Errorf("%s runs %q in %q, want `cwcreds inject write-aws-config --out %s` in %s", awsConfigInit, cmd, writer.Image, awsConfigPath, injectImage)
	}
	if writer.RestartPolicy != nil {
		t.Errorf("%s is a sidecar (restartPolicy %s): it must run once, before the others", awsConfigInit, *writer.RestartPolicy)
	}
	checkMount(t, writer, runVolume, runDir, mountRW)

	sidecar := findContainer(inits, sidecarName)
	wantURL, wantTokenFile := sidecarURL, authTokenPath
	switch mode {
	case "sidecar":
		checkSidecar(t, sidecar)
	case "agent":
		if sidecar != nil {
			t.Errorf("agent mode added the sidecar %s", sidecarName)
		}
		wantURL, wantTokenFile = defaultAgentURL, tokenPath
	}

	for _, c := range pod.Spec.Containers {
		for name, want := range map[string]string{
			"AWS_CONTAINER_CREDENTIALS_FULL_URI":     wantURL,
			"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": wantTokenFile,
			"AWS_ENDPOINT_URL_S3":                    injectS3,
			"AWS_CONFIG_FILE":                        awsConfigPath,
		} {
			if got := envValue(c, name); got != want {
				t.Errorf("container %s: %s=%q, want %q", c.Name, name, got, want)
			}
		}
		if envValue(c, "AWS_REGION") == "" {
			t.Errorf("container %s: no AWS_REGION", c.Name)
		}
		if n := countEnv(c, "AWS_REGION"); n != 1 {
			t.Errorf("container %s: AWS_REGION set %d times", c.Name, n)
		}
		checkMount(t, c, runVolume, runDir, mountAny)
		if mode == "agent" {
			checkMount(t, c, tokenVolume, tokenDir, mountRO)
		}
	}
	checkNoDuplicates(t, pod)
	// The API server's own ServiceAccount admission still did its part.
	if !slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return strings.HasPrefix(v.Name, "kube-api-access-") }) {
		t.Error("the pod lost its kube-api-access volume")
	}
}

func checkSidecar(t *testing.T, c *corev1.Container) {
	t.Helper()
	if c == nil {
		t.Errorf("no init container %s", sidecarName)
		return
	}
	if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("%s is not a native sidecar (restartPolicy %v, want Always)", sidecarName, c.RestartPolicy)
	}
	args := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
	if !strings.Contains(args, "serve --listen 127.0.0.1:9911 --ops-listen 0.0.0.0:9912 --auth-token-file "+authTokenPath) {
		t.Errorf("sidecar runs %q", args)
	}
	if c.Image != injectImage {
		t.Errorf("sidecar image %q, want %q", c.Image, injectImage)
	}
	if p := c.StartupProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.IntValue() != 9912 {
		t.Errorf("sidecar startupProbe %+v, want httpGet /readyz on 9912", p)
	}
	for name, want := range map[string]string{"CWCREDS_TOKEN_FILE": tokenPath, "CWCREDS_ORG_ID": injectOrg} {
		if got := envValue(*c, name); got != want {
			t.Errorf("sidecar %s=%q, want %q", name, got, want)
		}
	}
	checkMount(t, *c, tokenVolume, tokenDir, mountRO)
	checkMount(t, *c, runVolume, runDir, mountRW)
}

func checkTokenVolume(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	v := volume(pod, tokenVolume)
	if v == nil || v.Projected == nil || len(v.Projected.Sources) != 1 || v.Projected.Sources[0].ServiceAccountToken == nil {
		t.Errorf("no projected service-account token volume %s: %+v", tokenVolume, v)
		return
	}
	tok := v.Projected.Sources[0].ServiceAccountToken
	if tok.Audience != cwobject.RecommendedAudience || tok.Path != "token" || tok.ExpirationSeconds == nil || *tok.ExpirationSeconds != 3600 {
		t.Errorf("token projection audience %q path %q expirationSeconds %v, want %q, token, 3600",
			tok.Audience, tok.Path, tok.ExpirationSeconds, cwobject.RecommendedAudience)
	}
}

// mountRW and mountRO say how a volume must be mounted; mountAny leaves it to
// the webhook (an app may read the shared folder read-only).
type mountMode int

const (
	mountAny mountMode = iota
	mountRW
	mountRO
)

func checkMount(t *testing.T, c corev1.Container, volumeName, path string, mode mountMode) {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.Name == volumeName {
			if m.MountPath != path || (mode == mountRW && m.ReadOnly) || (mode == mountRO && !m.ReadOnly) {
				t.Errorf("container %s mounts %s at %s (read-only %v), want %s (read-only: %v)", c.Name, volumeName, m.MountPath, m.ReadOnly, path, mode == mountRO)
			}
			return
		}
	}
	t.Errorf("container %s does not mount %s", c.Name, volumeName)
}

func volume(pod *corev1.Pod, name string) *corev1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

func findContainer(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func containerNames(cs []corev1.Container) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func countEnv(c corev1.Container, name string) int {
	n := 0
	for _, e := range c.Env {
		if e.Name == name {
			n++
		}
	}
	return n
}
