package helm_test

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// TestSchemaRefusesBadValues: each bad value must make helm template fail, with
// an error that names the key, before anything is rendered.
func TestSchemaRefusesBadValues(t *testing.T) {
	h := newHelm(t)
	for _, tc := range []struct {
		set     string // a --set argument
		mention string // what the error must name
	}{
		{"agentt.enabled=true", "agentt"},
		{"agent.enable=true", "enable"},
		{"agent.enabled=yes", "enabled"},
		{"agent.port=abc", "port"},
		{"agent.port=70000", "port"},
		{"agent.opsPort=0", "opsPort"},
		{"agent.addresses[0]=10.0.0.1", "addresses"},
		{"agent.addresses={}", "addresses"},
		{"agent.link=a-link-name-too-long", "link"},
		{"agent.upstreamRate=-1", "upstreamRate"},
		{"agent.upstreamRate=fast", "upstreamRate"},
		{"agent.maxIdentities=1.5", "maxIdentities"},
		{"agent.resources=big", "resources"},
		{"agent.resources.requests.memory=lots", "memory"},
		{"agent.pdb.maxUnavailable=half", "maxUnavailable"},
		{"agent.tolerations=none", "tolerations"},
		{"injector.mode=both", "mode"},
		{"injector.failurePolicy=Maybe", "failurePolicy"},
		{"injector.replicas=0", "replicas"},
		{"injector.certManager.enabled=maybe", "enabled"},
		{"injector.webhook.timeoutSeconds=60", "timeoutSeconds"},
		{"injector.webhook.url=http://127.0.0.1:8443/mutate", "url"},
		{"injector.webhook.caBundle=not base64!", "caBundle"},
		{"injector.webhook.reinvocationPolicy=Always", "reinvocationPolicy"},
		{"injector.agentURL=ftp://x", "agentURL"},
		// cwcreds inject refuses plain http off the addresses AWS SDKs accept.
		{"injector.agentURL=http://10.0.0.5:9911/v1/credentials", "agentURL"},
		{"fullnameOverride=My_Creds", "fullnameOverride"},
		{"fullnameOverride=" + strings.Repeat("a", 48), "fullnameOverride"},
		{"nameOverride=creds.", "nameOverride"},
		{"image.pullPolicy=Sometimes", "pullPolicy"},
		{"image.digest=latest", "digest"},
		{"s3Endpoint=cwlota.com", "s3Endpoint"},
		{"sidecar.tokenExpirationSeconds=60", "tokenExpirationSeconds"},
		{"sidecar.port=abc", "port"},
		{"metrics.prometheusRule.exchangeFailureRatio=2", "exchangeFailureRatio"},
		{"metrics.serviceMonitor.interval=30 seconds", "interval"},
		{"metrics.dashboard.enabled=1", "enabled"},
		{"commonLabels.team=1", "team"},
		{"injector.webhook.urll=https://x/mutate", "urll"},
		{"metrics.serviceMonitor.enable=true", "enable"},
		{"sidecar.image=x", "image"},
		{"injector.certManager.issuerRef.kind=Vault", "kind"},
		{"injector.webhook.objectSelector.matchExpressions[0].operator=Is", "operator"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			// Both shapes on, so every key is used; the bad value comes last and wins.
			out, err := h.template(t, "--set", "orgId=cw-test-org", "--set", "agent.enabled=true", "--set", "injector.enabled=true", "--set", tc.set)
			if err == nil {
				t.Fatalf("helm template accepted --set %s:\n%.400s", tc.set, out)
			}
			msg := stderrOf(err)
			if !strings.Contains(msg, "values don't meet the specifications of the schema") && !strings.Contains(msg, "schema") {
				t.Errorf("--set %s failed, but not in the schema: %s", tc.set, msg)
			}
			if !strings.Contains(msg, tc.mention) {
				t.Errorf("--set %s: the error does not name %q: %s", tc.set, tc.mention, msg)
			}
		})
	}
}

// TestSchemaAcceptsGoodValues guards the schema against refusing what the chart
// documents.
func TestSchemaAcceptsGoodValues(t *testing.T) {
	h := newHelm(t)
	for _, set := range [][]string{
		{"agent.enabled=true", "agent.addresses={fd00:ec2::23}"},
		{"agent.enabled=true", "agent.addresses={169.254.170.2}", "agent.upstreamRate=2.5", "agent.pdb.maxUnavailable=10%"},
		{"injector.enabled=true", "injector.certManager.enabled=true", "injector.certManager.issuerRef.name=ca", "injector.certManager.issuerRef.kind=ClusterIssuer"},
		{"injector.enabled=true", "injector.certManager.enabled=false"},
		{"injector.enabled=true", "injector.tls.existingSecret=my-tls", "injector.webhook.caBundle=dGVzdA=="},
		{"image.digest=sha256:" + strings.Repeat("ab", 32), "agent.enabled=true"},
		{"global.foo=bar", "agent.enabled=true"},
		{"injector.enabled=true", "injector.mode=agent", "injector.agentURL=https://agent.example:9911/v1/credentials"},
		{"injector.enabled=true", "injector.mode=agent", "injector.agentURL=http://[fd00:ec2::23]:9911/v1/credentials"},
	} {
		args := []string{"--set", "orgId=cw-test-org"}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if _, err := h.template(t, args...); err != nil {
			t.Errorf("--set %v refused: %v", set, err)
		}
	}
}

// TestTemplateRefusesContradictions: value combinations the schema cannot see.
func TestTemplateRefusesContradictions(t *testing.T) {
	h := newHelm(t)
	for _, tc := range []struct {
		set     []string
		mention string
	}{
		{[]string{"orgId=cw-test-org", "injector.enabled=true", "injector.tls.existingSecret=my-tls"}, "injector.webhook.caBundle"},
		{[]string{"agent.enabled=true"}, "orgId is empty"},
		{[]string{"injector.enabled=true"}, "orgId is empty"},
	} {
		args := []string{}
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		_, err := h.template(t, args...)
		if err == nil || !strings.Contains(stderrOf(err), tc.mention) {
			t.Errorf("--set %v: error %v, want one naming %s", tc.set, err, tc.mention)
		}
	}
}

// TestRefusesClustersWithoutNativeSidecars: Kubernetes before 1.29 has no native
// sidecars (on by default), so the sidecar would keep Jobs running.
func TestRefusesClustersWithoutNativeSidecars(t *testing.T) {
	h := newHelm(t)
	_, err := h.run(t, "template", releaseName, chartDir, "--namespace", namespace, "--kube-version", "v1.28.9", "--set", "orgId=x", "--set", "injector.enabled=true")
	if err == nil || !strings.Contains(stderrOf(err), "kubeVersion") && !strings.Contains(stderrOf(err), "incompatible") {
		t.Errorf("helm template for Kubernetes 1.28: %v, want a refusal naming the Kubernetes version", err)
	}
}

// TestLongNamesStayDistinctLabels: at the longest fullnameOverride the schema
// takes, and with a long release name, every object's name is a DNS label of at
// most 63 characters and no two objects of a kind share a name (the agent's and
// the injector's names once cut to the same 63 characters).
func TestLongNamesStayDistinctLabels(t *testing.T) {
	h := newHelm(t)
	for _, extra := range [][]string{
		{"cw", "--set", "fullnameOverride=" + strings.Repeat("a", 47)},
		{strings.Repeat("r", 53)}, // helm's longest release name
	} {
		args := append([]string{"template", extra[0], chartDir, "--namespace", namespace, "--kube-version", kubeVersion,
			"--set", "orgId=cw-test-org", "--set", "agent.enabled=true", "--set", "injector.enabled=true",
			"--set", "metrics.dashboard.enabled=true"}, extra[1:]...)
		out, err := h.run(t, args...)
		if err != nil {
			t.Fatalf("helm template %v: %v", extra, stderrOf(err))
		}
		r, err := decodeManifest(out)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, obj := range r.typed {
			m := obj.(interface {
				GetNamespace() string
				GetName() string
			})
			key := fmt.Sprintf("%T %s/%s", obj, m.GetNamespace(), m.GetName())
			if seen[key] {
				t.Errorf("%v: two objects %s", extra, key)
			}
			seen[key] = true
			if errs := validation.IsDNS1123Label(m.GetName()); len(errs) > 0 {
				t.Errorf("%v: %T %q: %v", extra, obj, m.GetName(), errs)
			}
		}
	}
}
