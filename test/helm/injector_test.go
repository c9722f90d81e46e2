package helm_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"slices"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	injectorName = releaseName + "-cwcreds-injector"
	injectorDNS  = injectorName + "." + namespace + ".svc"
)

type tlsSource int

const (
	tlsGenerated tlsSource = iota
	tlsCertManager
	tlsGiven // injector.webhook.caBundle
)

func TestInjector(t *testing.T) {
	h := newHelm(t)
	for _, tc := range []struct {
		variant       string
		mode          string
		agentURL      string
		failurePolicy admissionregistrationv1.FailurePolicyType
		tls           tlsSource
		url           string
		excluded      []string
	}{
		{variant: "injector-sidecar", mode: "sidecar", failurePolicy: "Ignore", tls: tlsGenerated},
		{variant: "injector-agent", mode: "agent", agentURL: "http://169.254.170.23:9911/v1/credentials", failurePolicy: "Fail", tls: tlsGenerated},
		{variant: "all-metrics", mode: "agent", agentURL: "http://[fd00:ec2::23]:9911/v1/credentials", failurePolicy: "Ignore", tls: tlsGenerated, excluded: []string{"monitoring"}},
		{variant: "cert-manager", mode: "sidecar", failurePolicy: "Ignore", tls: tlsCertManager},
		{variant: "webhook-url", mode: "sidecar", failurePolicy: "Fail", tls: tlsGiven, url: "https://127.0.0.1:8443/mutate"},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			r := renderVariant(t, h, tc.variant)
			dep := named[*appsv1.Deployment](t, r, injectorName)
			pod := dep.Spec.Template
			if !selects(dep.Spec.Selector.MatchLabels, pod.Labels) {
				t.Errorf("selector %v does not select the pod labels %v", dep.Spec.Selector.MatchLabels, pod.Labels)
			}
			if _, ok := pod.Labels["helm.sh/chart"]; ok {
				t.Error("the pod template carries the chart version: every chart upgrade would restart the injector")
			}
			c := container(t, pod.Spec.Containers, "injector")
			checkRestricted(t, c)
			if c.Args[0] != "inject" {
				t.Errorf("args %v do not run cwcreds inject", c.Args)
			}
			wantFlags := map[string]string{"--mode": tc.mode, "--listen": "0.0.0.0:8443", "--audience": "https://coreweave.com/iam",
				"--image": "ghcr.io/cwcreds/cwcreds:0.1.0", "--org-id": "cw-test-org", "--agent-url": tc.agentURL}
			for f, want := range wantFlags {
				got := flagValues(c.Args, f)
				if want == "" && len(got) != 0 || want != "" && !slices.Equal(got, []string{want}) {
					t.Errorf("%s %v, want %q", f, got, want)
				}
			}
			secretName := checkTLSMount(t, pod.Spec, c)
			for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Scheme != corev1.URISchemeHTTPS || p.HTTPGet.Port.String() != "https" {
					t.Errorf("%s probe %+v is not HTTPS on the webhook port", name, p)
				}
			}

			svc := named[*corev1.Service](t, r, injectorName)
			if svc.Name != injectorName || !selects(svc.Spec.Selector, pod.Labels) || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.String() != "https" {
				t.Errorf("Service %s %+v does not reach the injector pods' https port on 443", svc.Name, svc.Spec)
			}
			checkRBAC(t, r, pod.Spec.ServiceAccountName)

			wh := checkWebhook(t, r, tc.failurePolicy, tc.excluded)
			switch {
			case tc.url != "":
				if wh.ClientConfig.URL == nil || *wh.ClientConfig.URL != tc.url || wh.ClientConfig.Service != nil {
					t.Errorf("clientConfig %+v, want url %s only", wh.ClientConfig, tc.url)
				}
			default:
				s := wh.ClientConfig.Service
				if s == nil || s.Name != svc.Name || s.Namespace != namespace || s.Path == nil || *s.Path != "/mutate" || s.Port == nil || *s.Port != 443 {
					t.Errorf("clientConfig.service %+v, want %s/%s:443/mutate", s, namespace, svc.Name)
				}
			}

			mwc := one[*admissionregistrationv1.MutatingWebhookConfiguration](t, r)
			caInject := mwc.Annotations["cert-manager.io/inject-ca-from"]
			switch tc.tls {
			case tlsGenerated:
				checkGeneratedTLS(t, r, secretName, wh.ClientConfig.CABundle)
				if caInject != "" || len(customOf(r, "Certificate")) != 0 {
					t.Error("cert-manager objects rendered without cert-manager")
				}
			case tlsCertManager:
				checkCertManager(t, r, secretName, caInject, wh.ClientConfig.CABundle)
			case tlsGiven:
				if string(wh.ClientConfig.CABundle) != "test-ca-bundle" {
					t.Errorf("caBundle %q, want the one given in injector.webhook.caBundle", wh.ClientConfig.CABundle)
				}
			}
		})
	}
}

// checkTLSMount returns the Secret the injector reads its certificate from, after
// checking that --tls-cert-file and --tls-key-file are in its mount.
func checkTLSMount(t *testing.T, spec corev1.PodSpec, c corev1.Container) string {
	t.Helper()
	if len(c.VolumeMounts) != 1 || len(spec.Volumes) != 1 || spec.Volumes[0].Secret == nil || c.VolumeMounts[0].Name != spec.Volumes[0].Name {
		t.Fatalf("want one Secret volume for the certificate, got volumes %+v, mounts %+v", spec.Volumes, c.VolumeMounts)
	}
	dir := c.VolumeMounts[0].MountPath
	if got := flagValues(c.Args, "--tls-cert-file"); !slices.Equal(got, []string{dir + "/tls.crt"}) {
		t.Errorf("--tls-cert-file %v, want %s/tls.crt", got, dir)
	}
	if got := flagValues(c.Args, "--tls-key-file"); !slices.Equal(got, []string{dir + "/tls.key"}) {
		t.Errorf("--tls-key-file %v, want %s/tls.key", got, dir)
	}
	return spec.Volumes[0].Secret.SecretName
}

func checkRBAC(t *testing.T, r *rendered, serviceAccount string) {
	t.Helper()
	sa := named[*corev1.ServiceAccount](t, r, injectorName)
	role := one[*rbacv1.ClusterRole](t, r)
	binding := one[*rbacv1.ClusterRoleBinding](t, r)
	if sa.Name != serviceAccount {
		t.Errorf("pods use service account %q, chart renders %q", serviceAccount, sa.Name)
	}
	if binding.RoleRef.Name != role.Name || binding.RoleRef.Kind != "ClusterRole" ||
		len(binding.Subjects) != 1 || binding.Subjects[0].Name != sa.Name || binding.Subjects[0].Namespace != namespace {
		t.Errorf("ClusterRoleBinding %+v does not bind %s to %s", binding, sa.Name, role.Name)
	}
	want := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch"}}
	if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Resources, want.Resources) || !slices.Equal(role.Rules[0].Verbs, want.Verbs) || !slices.Equal(role.Rules[0].APIGroups, want.APIGroups) {
		t.Errorf("ClusterRole rules %+v, want only watching service accounts", role.Rules)
	}
}

func checkWebhook(t *testing.T, r *rendered, policy admissionregistrationv1.FailurePolicyType, excluded []string) admissionregistrationv1.MutatingWebhook {
	t.Helper()
	mwc := one[*admissionregistrationv1.MutatingWebhookConfiguration](t, r)
	if len(mwc.Webhooks) != 1 {
		t.Fatalf("%d webhooks", len(mwc.Webhooks))
	}
	wh := mwc.Webhooks[0]
	if wh.SideEffects == nil || *wh.SideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("sideEffects %v, want None", wh.SideEffects)
	}
	if !slices.Equal(wh.AdmissionReviewVersions, []string{"v1"}) {
		t.Errorf("admissionReviewVersions %v", wh.AdmissionReviewVersions)
	}
	if wh.FailurePolicy == nil || *wh.FailurePolicy != policy {
		t.Errorf("failurePolicy %v, want %s", wh.FailurePolicy, policy)
	}
	if wh.TimeoutSeconds == nil || *wh.TimeoutSeconds != 10 {
		t.Errorf("timeoutSeconds %v, want 10", wh.TimeoutSeconds)
	}
	if len(wh.Rules) != 1 || !slices.Equal(wh.Rules[0].Operations, []admissionregistrationv1.OperationType{"CREATE"}) ||
		!slices.Equal(wh.Rules[0].Resources, []string{"pods"}) || !slices.Equal(wh.Rules[0].APIGroups, []string{""}) {
		t.Errorf("rules %+v, want pod creation only", wh.Rules)
	}
	var notIn []string
	for _, e := range wh.NamespaceSelector.MatchExpressions {
		if e.Key == "kubernetes.io/metadata.name" && e.Operator == "NotIn" {
			notIn = e.Values
		}
	}
	for _, ns := range append([]string{"kube-system", namespace}, excluded...) {
		if !slices.Contains(notIn, ns) {
			t.Errorf("namespace %s is not excluded from the webhook (NotIn %v)", ns, notIn)
		}
	}
	if wh.ObjectSelector == nil || len(wh.ObjectSelector.MatchExpressions) != 1 || wh.ObjectSelector.MatchExpressions[0].Key != "cwcreds.io/inject" {
		t.Errorf("objectSelector %+v, want pods labelled cwcreds.io/inject=false left out", wh.ObjectSelector)
	}
	return wh
}

// checkGeneratedTLS: the chart's Secret holds a key pair for the Service's DNS name
// signed by the CA that the webhook's caBundle holds.
func checkGeneratedTLS(t *testing.T, r *rendered, secretName string, caBundle []byte) {
	t.Helper()
	secret := one[*corev1.Secret](t, r)
	if secret.Name != secretName || secret.Type != corev1.SecretTypeTLS {
		t.Fatalf("Secret %s of type %s, want %s of type %s", secret.Name, secret.Type, secretName, corev1.SecretTypeTLS)
	}
	pair, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		t.Fatalf("tls.crt and tls.key are not a key pair: %v", err)
	}
	if string(caBundle) != string(secret.Data["ca.crt"]) {
		t.Error("the webhook's caBundle is not the Secret's ca.crt")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caBundle) {
		t.Fatal("caBundle holds no PEM certificate")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{injectorDNS, injectorDNS + ".cluster.local"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("the API server would refuse the webhook's certificate for %s: %v", name, err)
		}
	}
	if block, _ := pem.Decode(caBundle); block == nil || block.Type != "CERTIFICATE" {
		t.Error("caBundle is not a PEM certificate")
	}
}

func checkCertManager(t *testing.T, r *rendered, secretName, caInject string, caBundle []byte) {
	t.Helper()
	if len(all[*corev1.Secret](r)) != 0 {
		t.Error("a generated Secret rendered although cert-manager makes it")
	}
	if len(caBundle) != 0 {
		t.Error("caBundle set although cert-manager's cainjector fills it")
	}
	certs, issuers := customOf(r, "Certificate"), customOf(r, "Issuer")
	if len(certs) != 1 || len(issuers) != 1 {
		t.Fatalf("%d Certificates and %d Issuers, want one each", len(certs), len(issuers))
	}
	cert, issuer := certs[0], issuers[0]
	if caInject != namespace+"/"+cert.GetName() {
		t.Errorf("cert-manager.io/inject-ca-from %q, want %s/%s", caInject, namespace, cert.GetName())
	}
	str := func(u *unstructured.Unstructured, path ...string) string {
		s, _, _ := unstructured.NestedString(u.Object, path...)
		return s
	}
	if got := str(cert, "spec", "secretName"); got != secretName {
		t.Errorf("Certificate secretName %q, injector mounts %q", got, secretName)
	}
	if str(cert, "spec", "issuerRef", "name") != issuer.GetName() || str(cert, "spec", "issuerRef", "kind") != "Issuer" {
		t.Errorf("Certificate issuerRef does not name Issuer %s", issuer.GetName())
	}
	if _, ok, _ := unstructured.NestedMap(issuer.Object, "spec", "selfSigned"); !ok {
		t.Error("Issuer is not selfSigned")
	}
	dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if !slices.Contains(dns, injectorDNS) {
		t.Errorf("Certificate dnsNames %v lack %s", dns, injectorDNS)
	}
	for _, f := range []string{"duration", "renewBefore"} {
		if str(cert, "spec", f) == "" {
			t.Errorf("Certificate without %s", f)
		}
	}
}
