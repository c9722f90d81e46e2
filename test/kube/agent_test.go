package kube_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

// testAgentWithTokenRequest: a pod's projected token, as the API server issues it
// (TokenRequest, audience https://coreweave.com/iam), sent by a real SDK from
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, gets keys from `cwcreds serve --mode
// agent`; the emulator verified the token against the API server's own JWKS.
// Tokens the agent must refuse never reach the emulator.
func testAgentWithTokenRequest(t *testing.T, s *apiServer, bin string) {
	ns := createNamespace(t, s, "agent")
	sa := createServiceAccount(t, s, ns, "app", nil)
	emu := startTrustingEmulator(t, s)
	agent := startAgent(t, bin, emu)

	// A real pod's token is bound to the pod: make one (no kubelet runs it).
	pod := createPod(t, s, ns, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "app"},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{appContainer("app")}},
	})
	token := requestToken(t, s, ns, sa, cwobject.RecommendedAudience, 3600, pod)

	// botocore reads the token file on each request and sends it as Authorization.
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, []byte(token))
	key := botocoreContainerKey(t, agent.credentialsURL, tokenFile)
	wantPrincipal := cwobject.PrincipalPrefixOIDC + s.url + ":system:serviceaccount:" + ns + ":" + sa
	if got := emu.PrincipalOf(key); got != wantPrincipal {
		t.Errorf("the agent's key belongs to %q, want %q (the pod's service account at the API server's issuer)", got, wantPrincipal)
	}

	// Refused by the agent itself: no upstream call for any of them.
	emu.ResetCalls()
	wrongAudience := requestToken(t, s, ns, sa, "https://example.invalid/not-coreweave", 3600, pod)
	for _, c := range []struct {
		name, token string
		status      int
	}{
		{"wrong audience", wrongAudience, http.StatusForbidden},
		{"not a JWT", "not-a-jwt", http.StatusBadRequest},
		{"truncated JWT", token[:strings.LastIndex(token, ".")], http.StatusBadRequest},
	} {
		status, body := getCredentials(t, agent.credentialsURL, c.token)
		if status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, status, c.status, body)
		}
		var reason struct{ Code, Message string }
		if err := json.Unmarshal([]byte(body), &reason); err != nil || reason.Code == "" || reason.Message == "" {
			t.Errorf("%s: body %q is not a JSON {code, message}", c.name, body)
		}
	}
	if calls := emu.Calls(); len(calls) != 0 {
		t.Errorf("refused tokens reached the emulator: %v", calls)
	}
	for _, secret := range []string{token, wrongAudience} {
		if strings.Contains(agent.process.out.String(), secret) {
			t.Error("the agent's output holds a service-account token")
		}
	}
}

// startTrustingEmulator starts the CoreWeave emulator trusting the API server's
// service-account issuer, as Workload Federation is set up for a cluster: it
// discovers the issuer at <issuer>/.well-known/openid-configuration and checks
// signatures with <issuer>/openid/v1/jwks, over TLS to the cluster's CA.
func startTrustingEmulator(t *testing.T, s *apiServer) *emulator.Emulator {
	t.Helper()
	allowAnonymousIssuerDiscovery(t, s)
	emu := emutest.Start(t, emulator.Config{HTTPClient: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.ca.pool(), MinVersion: tls.VersionTLS12}},
	}})
	emu.TrustOIDCIssuer(s.url, cwobject.RecommendedAudience)
	return emu
}

// allowAnonymousIssuerDiscovery binds the built-in discovery role to
// unauthenticated users, as the Kubernetes docs say to do for a cluster whose
// tokens an outside party verifies.
func allowAnonymousIssuerDiscovery(t *testing.T, s *apiServer) {
	t.Helper()
	_, err := s.client.RbacV1().ClusterRoleBindings().Create(testContext(t), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cwcreds-test-anonymous-issuer-discovery"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// agentProcess is a running `cwcreds serve --mode agent`.
type agentProcess struct {
	credentialsURL string
	process        *process
}

func startAgent(t *testing.T, bin string, emu *emulator.Emulator) agentProcess {
	t.Helper()
	ports := freePorts(t, 2)
	dir := t.TempDir()
	p := startProcess(t, "cwcreds serve --mode agent", bin, []string{
		"serve", "--mode", "agent",
		"--listen", loopback(ports[0]),
		"--ops-listen", loopback(ports[1]),
		"--org-id", emu.OrgID(),
		"--api-endpoint", emu.APIURL(),
		// The emulator's S3 accepts a key at once (its KeyPropagationDelay is 0),
		// so the agent need not hold new keys back.
		"--propagation-delay", emu.KeyPropagationDelay().String(),
	}, isolatedEnv(dir)...)
	p.waitReady(t, "ready", httpOK(&http.Client{}, "http://"+loopback(ports[1])+"/readyz"))
	return agentProcess{credentialsURL: "http://" + loopback(ports[0]) + "/v1/credentials", process: p}
}

// isolatedEnv is this process's environment without anything that would point
// an SDK or cwcreds elsewhere, with HOME and the XDG folders under dir.
func isolatedEnv(dir string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CWCREDS_") || strings.HasPrefix(k, "XDG_") ||
			k == "CW_API_TOKEN" || k == "HOME" || k == "KUBECONFIG" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	return append(env, extra...)
}

// botocoreContainerKey has botocore resolve credentials from the container
// provider (AWS_CONTAINER_CREDENTIALS_FULL_URI +
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) and returns the access key id.
func botocoreContainerKey(t *testing.T, url, tokenFile string) string {
	t.Helper()
	const script = `
import json, botocore.session
c = botocore.session.get_session().get_credentials()
f = c.get_frozen_credentials()
print(json.dumps({"method": c.method, "keyId": f.access_key, "hasSecret": bool(f.secret_key)}))
`
	cmd := exec.CommandContext(testContext(t), "python3", "-c", script)
	cmd.Env = isolatedEnv(t.TempDir(),
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+url,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+tokenFile,
		"AWS_EC2_METADATA_DISABLED=true",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("botocore: %v\n%s%s", err, tail(stdout.String(), 20), tail(stderr.String(), 20))
	}
	out := stdout.Bytes()
	var got struct {
		Method    string `json:"method"`
		KeyID     string `json:"keyId"`
		HasSecret bool   `json:"hasSecret"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("botocore printed %q: %v", out, err)
	}
	if got.Method != "container-role" || got.KeyID == "" || !got.HasSecret {
		t.Fatalf("botocore resolved %+v, want keys from the container-role provider", got)
	}
	return got.KeyID
}

// getCredentials sends one GET to the agent with token as Authorization.
func getCredentials(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// requestToken asks the API server for a token of the service account, bound
// to pod when given, as the kubelet does for a projected token volume.
func requestToken(t *testing.T, s *apiServer, ns, sa, audience string, seconds int64, pod *corev1.Pod) string {
	t.Helper()
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         []string{audience},
		ExpirationSeconds: &seconds,
	}}
	if pod != nil {
		req.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}
	}
	got, err := s.client.CoreV1().ServiceAccounts(ns).CreateToken(testContext(t), sa, req, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, sa, err)
	}
	if got.Status.Token == "" {
		t.Fatalf("TokenRequest for %s/%s returned no token", ns, sa)
	}
	return got.Status.Token
}
