package kube_test

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeVersion names the folder scripts/install-kube-apiserver builds into.
const kubeVersion = "v1.37.2"

// assetsDir holds etcd and kube-apiserver: $CWCREDS_KUBE_ASSETS, else
// $HOME/.cache/cwcreds-test/kube-v1.37.2, as scripts/install-kube-apiserver says.
func assetsDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("CWCREDS_KUBE_ASSETS"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(home, ".cache", "cwcreds-test", "kube-"+kubeVersion)
}

// apiServer is a real kube-apiserver on etcd, both on loopback ports, with no
// controllers and no kubelet: objects are stored and admitted, pods never run.
type apiServer struct {
	url    string // https://127.0.0.1:<port>, also the service-account issuer
	ca     *testCA
	dir    string // its certificates and the admin kubeconfig
	config *rest.Config
	client kubernetes.Interface
	dyn    dynamic.Interface
	// kubeconfig is a file with the admin credentials, for cwcreds inject.
	kubeconfig string
	process    *process
}

// startAPIServer starts etcd and kube-apiserver for the test and stops them,
// API server first, when it ends.
func startAPIServer(t *testing.T) *apiServer {
	t.Helper()
	assets := assetsDir(t)
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, name)); err != nil {
			t.Fatalf("%s is missing from %s: run scripts/install-test-deps (it builds etcd and kube-apiserver once per machine)", name, assets)
		}
	}
	dir := t.TempDir()
	ports := freePorts(t, 3)
	etcdClient, etcdPeer, securePort := loopback(ports[0]), loopback(ports[1]), ports[2]

	etcd := startProcess(t, "etcd", filepath.Join(assets, "etcd"), []string{
		"--name=test",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=http://" + etcdClient,
		"--advertise-client-urls=http://" + etcdClient,
		"--listen-peer-urls=http://" + etcdPeer,
		"--initial-advertise-peer-urls=http://" + etcdPeer,
		"--initial-cluster=test=http://" + etcdPeer,
		"--unsafe-no-fsync=true", // a throwaway store: its durability is not under test
		"--log-level=warn",
	})
	etcd.waitReady(t, "healthy", etcdHealthy(&http.Client{}, "http://"+etcdClient+"/health"))

	ca := newTestCA(t, "cwcreds-test-kube-ca")
	servingCert, servingKey := ca.serving(t, "kubernetes", "kubernetes.default", "kubernetes.default.svc").write(t, dir, "apiserver")
	caFile := filepath.Join(dir, "ca.crt")
	writeFile(t, caFile, ca.certPEM)
	saKey := filepath.Join(dir, "service-account.key")
	writeFile(t, saKey, newServiceAccountKey(t))
	admin := ca.client(t, "cwcreds-test-admin", "system:masters")
	adminCert, adminKey := admin.write(t, dir, "admin")

	url := "https://" + loopback(securePort)
	apiserver := startProcess(t, "kube-apiserver", filepath.Join(assets, "kube-apiserver"), []string{
		"--etcd-servers=http://" + etcdClient,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(securePort),
		"--cert-dir=" + filepath.Join(dir, "cert-dir"),
		"--tls-cert-file=" + servingCert,
		"--tls-private-key-file=" + servingKey,
		"--client-ca-file=" + caFile,
		// The issuer is the server itself, so its discovery document and JWKS
		// are at <issuer>/.well-known/openid-configuration, as a cloud's are.
		"--service-account-issuer=" + url,
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--endpoint-reconciler-type=none", // 1.37 refuses a loopback advertise address otherwise
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--profiling=false",
		"--enable-priority-and-fairness=false",
	})
	adminTLS := &tls.Config{
		RootCAs:      ca.pool(),
		Certificates: []tls.Certificate{admin.tlsCertificate(t)},
		MinVersion:   tls.VersionTLS12,
	}
	apiserver.waitReady(t, "ready", httpOK(&http.Client{Transport: &http.Transport{TLSClientConfig: adminTLS}}, url+"/readyz"))

	cfg := &rest.Config{
		Host: url,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   caFile,
			CertFile: adminCert,
			KeyFile:  adminKey,
		},
		QPS:   100,
		Burst: 200,
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &apiServer{url: url, ca: ca, dir: dir, config: cfg, client: client, dyn: dyn, process: apiserver}
	s.kubeconfig = s.writeKubeconfig(t, caFile, adminCert, adminKey)
	return s
}

func (s *apiServer) writeKubeconfig(t *testing.T, caFile, certFile, keyFile string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: s.url, CertificateAuthority: caFile}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificate: certFile, ClientKey: keyFile}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin"}
	cfg.CurrentContext = "test"
	path := filepath.Join(s.dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// etcdHealthy checks etcd's /health, which answers {"health":"true"} once it
// serves.
func etcdHealthy(client *http.Client, url string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var health struct {
			Health string `json:"health"`
			Reason string `json:"reason"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&health); err != nil {
			return err
		}
		if health.Health != "true" {
			return fmt.Errorf("etcd health %q: %s", health.Health, cmp.Or(health.Reason, "no reason given"))
		}
		return nil
	}
}

// ctx is a context for one API call or a short sequence of them.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
