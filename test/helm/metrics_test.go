package helm_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// agentMetrics are named by the issue 11 contract for `serve --mode agent`.
var agentMetrics = []string{"cwcreds_agent_identities", "cwcreds_agent_rate_limited_total"}

// knownMetrics reads the cwcreds_* names internal/server registers, so an alert or
// panel cannot keep using a renamed metric.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../../internal/server/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no internal/server sources: %v", err)
	}
	known := map[string]bool{}
	quoted := regexp.MustCompile(`"(cwcreds_[a-z_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range quoted.FindAllSubmatch(src, -1) {
			known[string(m[1])] = true
		}
	}
	if !known["cwcreds_exchanges_total"] {
		t.Fatal("internal/server no longer names cwcreds_exchanges_total: update the alerts and dashboard")
	}
	for _, name := range agentMetrics {
		known[name] = true
	}
	return known
}

// grafanaVariables are the dashboard's variables that are not PromQL, with a value
// that parses in their place.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m")

// checkPromQL parses expr as Prometheus would and returns the metric names it
// selects, failing for a cwcreds_* name that no code exports.
func checkPromQL(t *testing.T, where, expr string, known map[string]bool) []string {
	t.Helper()
	names, problems := promQLProblems(expr, known)
	for _, p := range problems {
		t.Errorf("%s: %s", where, p)
	}
	return names
}

func promQLProblems(expr string, known map[string]bool) (names, problems []string) {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVariables.Replace(expr))
	if err != nil {
		return nil, []string{fmt.Sprintf("not PromQL: %v\n%s", err, expr)}
	}
	parser.Inspect(ast, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	for _, name := range names {
		if !strings.HasPrefix(name, "cwcreds_") {
			continue
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if trimmed, ok := strings.CutSuffix(name, suffix); ok && known[trimmed] {
				base = trimmed
			}
		}
		if !known[base] {
			problems = append(problems, "uses "+name+", which cwcreds does not export")
		}
	}
	return names, problems
}

// TestPromQLCheck keeps the alert and dashboard checks honest.
func TestPromQLCheck(t *testing.T) {
	known := knownMetrics(t)
	for expr, wantProblem := range map[string]bool{
		`sum(rate(cwcreds_exchanges_total[5m])) > 0`:                                                 false,
		`histogram_quantile(0.99, rate(cwcreds_exchange_duration_seconds_bucket[$__rate_interval]))`: false,
		`sum(rate(cwcreds_exchange_total[5m])) > 0`:                                                  true, // renamed metric
		`sum by (pod (rate(cwcreds_exchanges_total[5m]))`:                                            true, // syntax
		`cwcreds_exchange_duration_seconds_bucket_count`:                                             true,
	} {
		if _, problems := promQLProblems(expr, known); (len(problems) > 0) != wantProblem {
			t.Errorf("%s: problems %v, want some: %v", expr, problems, wantProblem)
		}
	}
}

func TestMetricsObjects(t *testing.T) {
	h := newHelm(t)
	known := knownMetrics(t)
	r := renderVariant(t, h, "all-metrics")

	ds := one[*appsv1.DaemonSet](t, r)
	var metricsSvc *corev1.Service
	for _, s := range all[*corev1.Service](r) {
		if s.Name == releaseName+"-cwcreds-agent-metrics" {
			metricsSvc = s
		}
	}
	if metricsSvc == nil {
		t.Fatal("no agent metrics Service")
	}
	if !selects(metricsSvc.Spec.Selector, ds.Spec.Template.Labels) || metricsSvc.Spec.ClusterIP != "None" {
		t.Errorf("metrics Service %+v is not a headless Service of the agent pods", metricsSvc.Spec)
	}

	sms := customOf(r, "ServiceMonitor")
	if len(sms) != 1 {
		t.Fatalf("%d ServiceMonitors", len(sms))
	}
	sm := sms[0]
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if !selects(sel, metricsSvc.Labels) {
		t.Errorf("ServiceMonitor selector %v does not select the metrics Service labels %v", sel, metricsSvc.Labels)
	}
	if sm.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Error("metrics.serviceMonitor.labels not applied")
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(eps) != 1 {
		t.Fatalf("%d endpoints", len(eps))
	}
	ep := eps[0].(map[string]any)
	if ep["port"] != metricsSvc.Spec.Ports[0].Name || ep["path"] != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v does not scrape /metrics on Service port %s", ep, metricsSvc.Spec.Ports[0].Name)
	}
	names, _, _ := unstructured.NestedStringSlice(sm.Object, "spec", "namespaceSelector", "matchNames")
	if !slices.Equal(names, []string{namespace}) {
		t.Errorf("ServiceMonitor namespaceSelector %v", names)
	}

	rules := customOf(r, "PrometheusRule")
	if len(rules) != 1 {
		t.Fatalf("%d PrometheusRules", len(rules))
	}
	groups, _, _ := unstructured.NestedSlice(rules[0].Object, "spec", "groups")
	alerts := map[string]string{}
	for _, g := range groups {
		rs, _, _ := unstructured.NestedSlice(g.(map[string]any), "rules")
		for _, rule := range rs {
			m := rule.(map[string]any)
			name, _ := m["alert"].(string)
			expr, _ := m["expr"].(string)
			sev, _, _ := unstructured.NestedString(m, "labels", "severity")
			summary, _, _ := unstructured.NestedString(m, "annotations", "summary")
			if name == "" || expr == "" || sev == "" || summary == "" {
				t.Errorf("rule %v lacks alert, expr, severity or summary", m)
			}
			checkPromQL(t, "alert "+name, expr, known)
			alerts[name] = expr
		}
	}
	for name, metric := range map[string]string{
		"CwcredsKeysNearExpiry":      "cwcreds_credentials_expiry_seconds",
		"CwcredsExpiredKeysRefused":  "cwcreds_expired_refused_total",
		"CwcredsExchangesFailing":    "cwcreds_exchanges_total",
		"CwcredsUpstreamRateLimited": "cwcreds_agent_rate_limited_total",
		"CwcredsRequestsFailing":     "cwcreds_requests_total",
		"CwcredsAgentDown":           "up{",
	} {
		if !strings.Contains(alerts[name], metric) {
			t.Errorf("alert %s missing or not on %s: %q", name, metric, alerts[name])
		}
	}
	if !strings.Contains(alerts["CwcredsKeysNearExpiry"], "< 600") {
		t.Errorf("CwcredsKeysNearExpiry does not use metrics.prometheusRule.expiryThresholdSeconds: %s", alerts["CwcredsKeysNearExpiry"])
	}
	if !strings.Contains(alerts["CwcredsAgentDown"], `job="`+metricsSvc.Name+`"`) {
		t.Errorf("CwcredsAgentDown does not watch the ServiceMonitor's job %s: %s", metricsSvc.Name, alerts["CwcredsAgentDown"])
	}

	checkDashboard(t, r, known)
}

func checkDashboard(t *testing.T, r *rendered, known map[string]bool) {
	t.Helper()
	var cm *corev1.ConfigMap
	for _, c := range all[*corev1.ConfigMap](r) {
		if c.Labels["grafana_dashboard"] == "1" {
			cm = c
		}
	}
	if cm == nil {
		t.Fatal("no ConfigMap labelled grafana_dashboard=1")
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(cm.Data["cwcreds.json"]), &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	used := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, n := range checkPromQL(t, "panel "+p.Title, q.Expr, known) {
				used[strings.TrimSuffix(n, "_bucket")] = true
			}
		}
	}
	for name := range known {
		if !used[name] {
			t.Errorf("the dashboard shows nothing of %s", name)
		}
	}
}
