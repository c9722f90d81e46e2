package helm_test

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

func TestAgentDaemonSet(t *testing.T) {
	h := newHelm(t)
	for _, tc := range []struct {
		variant   string
		addresses []string
		listens   []string
		extraArgs map[string]string
	}{
		{"agent", []string{"169.254.170.23", "fd00:ec2::23"}, []string{"169.254.170.23:9911", "[fd00:ec2::23]:9911"}, nil},
		{"agent-ipv4-only", []string{"169.254.170.23"}, []string{"169.254.170.23:9911"},
			map[string]string{"--upstream-rate": "20", "--upstream-burst": "40", "--max-identities": "1000000"}},
		{"agent-ipv6-only", []string{"fd00:ec2::23"}, []string{"[fd00:ec2::23]:9911"}, nil},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			r := renderVariant(t, h, tc.variant)
			ds := one[*appsv1.DaemonSet](t, r)
			spec := ds.Spec.Template.Spec
			if !selects(ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) {
				t.Errorf("selector %v does not select the pod labels %v", ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels)
			}
			if _, ok := ds.Spec.Template.Labels["helm.sh/chart"]; ok {
				t.Error("the pod template carries the chart version: every chart upgrade would restart every agent")
			}
			if !spec.HostNetwork || spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
				t.Errorf("hostNetwork %v, dnsPolicy %q: want host network with ClusterFirstWithHostNet", spec.HostNetwork, spec.DNSPolicy)
			}
			if spec.PriorityClassName != "system-node-critical" {
				t.Errorf("priorityClassName %q", spec.PriorityClassName)
			}
			if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
				t.Error("the agent's own service-account token is mounted; it never calls the API")
			}
			if !slices.ContainsFunc(spec.Tolerations, func(tol corev1.Toleration) bool {
				return tol.Operator == corev1.TolerationOpExists && tol.Key == ""
			}) {
				t.Error("the agent does not tolerate every taint: tainted nodes' pods would have no agent")
			}

			checkInitNetwork(t, spec, tc.addresses)

			agent := container(t, spec.Containers, "agent")
			checkRestricted(t, agent)
			if got := flagValues(agent.Args, "--mode"); !slices.Equal(got, []string{"agent"}) {
				t.Errorf("--mode %v", got)
			}
			if got := flagValues(agent.Args, "--listen"); !slices.Equal(got, tc.listens) {
				t.Errorf("--listen %v, want %v", got, tc.listens)
			}
			if got := flagValues(agent.Args, "--ops-listen"); !slices.Equal(got, []string{"0.0.0.0:9912"}) {
				t.Errorf("--ops-listen %v", got)
			}
			if got := flagValues(agent.Args, "--audience"); !slices.Equal(got, []string{"https://coreweave.com/iam"}) {
				t.Errorf("--audience %v", got)
			}
			for _, f := range []string{"--upstream-rate", "--upstream-burst", "--max-identities"} {
				got := flagValues(agent.Args, f)
				if want, ok := tc.extraArgs[f]; ok && !slices.Equal(got, []string{want}) || !ok && len(got) != 0 {
					t.Errorf("%s %v, want %q", f, got, tc.extraArgs[f])
				}
			}
			if v, _ := envValue(agent, "CWCREDS_ORG_ID"); v != "cw-test-org" {
				t.Errorf("CWCREDS_ORG_ID %q", v)
			}
			ports := map[string]int32{}
			for _, p := range agent.Ports {
				ports[p.Name] = p.ContainerPort
				if p.HostPort != p.ContainerPort {
					t.Errorf("port %s: hostPort %d, containerPort %d (host network needs them equal)", p.Name, p.HostPort, p.ContainerPort)
				}
			}
			if ports["credentials"] != 9911 || ports["ops"] != 9912 {
				t.Errorf("ports %v, want credentials 9911 and ops 9912", ports)
			}
			for name, p := range map[string]*corev1.Probe{"startup": agent.StartupProbe, "liveness": agent.LivenessProbe, "readiness": agent.ReadinessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "ops" {
					t.Errorf("%s probe %+v is not an HTTP probe on the operations port", name, p)
				}
			}
			if agent.ReadinessProbe.HTTPGet.Path != "/readyz" || agent.LivenessProbe.HTTPGet.Path != "/healthz" {
				t.Errorf("readiness %s, liveness %s", agent.ReadinessProbe.HTTPGet.Path, agent.LivenessProbe.HTTPGet.Path)
			}
			if agent.Resources.Limits.Memory().IsZero() {
				t.Error("no memory limit")
			}

			pdb := one[*policyv1.PodDisruptionBudget](t, r)
			if !selects(pdb.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) || pdb.Spec.MaxUnavailable == nil {
				t.Errorf("PodDisruptionBudget %+v does not cover the agent pods", pdb.Spec)
			}
			sa := one[*corev1.ServiceAccount](t, r)
			if sa.Name != spec.ServiceAccountName {
				t.Errorf("pods use service account %q, chart renders %q", spec.ServiceAccountName, sa.Name)
			}
		})
	}
}

// checkInitNetwork: root with NET_ADMIN and nothing else, adding each address.
func checkInitNetwork(t *testing.T, spec corev1.PodSpec, addresses []string) {
	t.Helper()
	if len(spec.InitContainers) != 1 {
		t.Fatalf("%d init containers, want init-network only", len(spec.InitContainers))
	}
	c := container(t, spec.InitContainers, "init-network")
	if !slices.Equal(c.Args[:2], []string{"agent", "init-network"}) {
		t.Errorf("init container args %v", c.Args)
	}
	if got := flagValues(c.Args, "--address"); !slices.Equal(got, addresses) {
		t.Errorf("--address %v, want %v", got, addresses)
	}
	if got := flagValues(c.Args, "--link"); !slices.Equal(got, []string{"cwcreds0"}) {
		t.Errorf("--link %v", got)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil || sc.Capabilities == nil:
		t.Fatal("init-network has no security context")
	case sc.RunAsUser == nil || *sc.RunAsUser != 0:
		t.Error("init-network does not run as root (netlink address changes need uid 0 with NET_ADMIN)")
	case !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_ADMIN"}):
		t.Errorf("capabilities %+v, want drop ALL, add NET_ADMIN only", sc.Capabilities)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation, sc.Privileged != nil && *sc.Privileged:
		t.Error("init-network may escalate privileges")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("init-network root filesystem is writable")
	}
}

// checkRestricted: non-root, read-only root, no capabilities, no escalation.
func checkRestricted(t *testing.T, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	switch {
	case sc == nil || sc.Capabilities == nil:
		t.Fatalf("%s has no security context", c.Name)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0:
		t.Errorf("%s may run as root", c.Name)
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Errorf("%s root filesystem is writable", c.Name)
	case !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Errorf("%s capabilities %+v, want all dropped", c.Name, sc.Capabilities)
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Errorf("%s may escalate privileges", c.Name)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("%s has no RuntimeDefault seccomp profile", c.Name)
	}
}

// TestAgentWithoutInitNetwork: nodes that already have the addresses run no
// privileged container at all.
func TestAgentWithoutInitNetwork(t *testing.T) {
	h := newHelm(t)
	out, err := h.template(t, "--set", "orgId=cw-test-org", "--set", "agent.enabled=true", "--set", "agent.initNetwork=false")
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	spec := one[*appsv1.DaemonSet](t, r).Spec.Template.Spec
	if len(spec.InitContainers) != 0 {
		t.Errorf("init containers %v with agent.initNetwork=false", names(spec.InitContainers))
	}
	for _, c := range spec.Containers {
		checkRestricted(t, c)
	}
}
