package inject

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceAccounts gives the annotations of service accounts (see
// NewServiceAccounts for the informer-backed one).
type ServiceAccounts interface {
	// Annotations returns the annotations of the service account namespace/name;
	// found is false when there is no such account.
	Annotations(ctx context.Context, namespace, name string) (annotations map[string]string, found bool, err error)
}

// Outcome says what a review did, for metrics and logs.
type Outcome string

const (
	OutcomeInjected        Outcome = "injected"
	OutcomeNotOptedIn      Outcome = "not_opted_in"
	OutcomeOptedOut        Outcome = "opted_out"
	OutcomeAlreadyInjected Outcome = "already_injected"
	OutcomeNotPodCreate    Outcome = "not_pod_create" // another kind, operation or subresource
	OutcomeDenied          Outcome = "denied"
)

// Result is Mutate's answer: the response to send and what it did.
type Result struct {
	Response *admissionv1.AdmissionResponse
	Outcome  Outcome
	Mode     Mode   // when injected
	Reason   string // why, in a few words, for the log
	// Pod ("namespace/name", or "namespace/generateName*") and ServiceAccount
	// are for the log; never anything from the pod's env or annotations values.
	Pod            string
	ServiceAccount string
}

// BadRequestError is a request Mutate cannot read: the handler answers it with
// HTTP 400, so the webhook's failure policy decides.
type BadRequestError struct{ msg string }

func (e *BadRequestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &BadRequestError{msg: fmt.Sprintf(format, args...)}
}

// StatusCode is the HTTP status the handler answers err with.
func StatusCode(err error) int {
	var bad *BadRequestError
	if errors.As(err, &bad) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// patchOp is one RFC 6902 operation; the webhook only ever adds (an add on an
// object member that exists replaces its value: pod-level resources).
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// Mutate answers req. cfg must have passed Validate. accounts is asked only when
// the pod itself neither opts in nor out; nil means service accounts are not
// consulted. The response always carries req.UID. An error means req could not
// be read (BadRequestError) or the service account could not be looked up.
//
// A pod opts in with AnnotationInject or AnnotationCoreWeaveInject "true" on
// itself or, failing that, on its service account (the pod's "false" wins over
// the account's "true"; cwcreds' annotation over CoreWeave's). A pod that carries
// AnnotationInjected is left alone; otherwise nothing is added twice: a volume,
// container, env variable or mount path already there is kept as it is.
func Mutate(ctx context.Context, cfg Config, req *admissionv1.AdmissionRequest, accounts ServiceAccounts) (Result, error) {
	if req == nil {
		return Result{}, badRequest("the AdmissionReview has no request")
	}
	if req.UID == "" {
		return Result{}, badRequest("the AdmissionReview request has no uid")
	}
	res := Result{Response: &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}}
	if req.Kind.Group != "" || req.Kind.Kind != "Pod" || req.SubResource != "" || req.Operation != admissionv1.Create {
		res.Outcome, res.Reason = OutcomeNotPodCreate, fmt.Sprintf("%s %s %s", req.Operation, req.Kind.Kind, req.SubResource)
		return res, nil
	}
	pod, err := decodePod(req.Object.Raw)
	if err != nil {
		return Result{}, err
	}
	namespace := req.Namespace
	if namespace == "" {
		namespace = pod.Metadata.Namespace
	}
	res.Pod = namespace + "/" + pod.Metadata.Name
	if pod.Metadata.Name == "" {
		res.Pod = namespace + "/" + pod.Metadata.GenerateName + "*"
	}
	res.ServiceAccount = pod.Spec.ServiceAccountName
	if res.ServiceAccount == "" {
		res.ServiceAccount = "default"
	}

	if strings.EqualFold(pod.Metadata.Annotations[AnnotationInjected], "true") {
		res.Outcome, res.Reason = OutcomeAlreadyInjected, AnnotationInjected+" is set"
		return res, nil
	}
	in, decided, why, warnings := optIn(pod.Metadata.Annotations, "pod")
	res.Response.Warnings = append(res.Response.Warnings, warnings...)
	if !decided && accounts != nil && namespace != "" {
		sa, found, err := accounts.Annotations(ctx, namespace, res.ServiceAccount)
		if err != nil {
			return Result{}, fmt.Errorf("could not read service account %s/%s: %w", namespace, res.ServiceAccount, err)
		}
		if found {
			in, decided, why, warnings = optIn(sa, "service account "+res.ServiceAccount)
			res.Response.Warnings = append(res.Response.Warnings, warnings...)
		}
	}
	switch {
	case !decided:
		res.Outcome, res.Reason = OutcomeNotOptedIn, "no "+AnnotationInject+" on the pod or its service account"
		return res, nil
	case !in:
		res.Outcome, res.Reason = OutcomeOptedOut, why
		return res, nil
	}

	mode := cfg.Mode
	if v, ok := pod.Metadata.Annotations[AnnotationMode]; ok {
		mode = Mode(v)
		if err := mode.check(); err != nil {
			return deny(res, fmt.Sprintf("pod annotation %s: %v", AnnotationMode, err)), nil
		}
	}
	if mode == ModeSidecar && cfg.OrgID == "" {
		return deny(res, fmt.Sprintf("this cwcreds injector has no --org-id, so it cannot add a sidecar: set %s: %s on the pod, or give the injector --org-id", AnnotationMode, ModeAgent)), nil
	}
	if pod.Spec.OS != nil && pod.Spec.OS.Name != "" && pod.Spec.OS.Name != "linux" {
		return deny(res, fmt.Sprintf("cwcreds runs on Linux only and cannot be added to a pod for %s nodes: remove %s from the pod, or set it to \"false\" to override its service account", quoteShort(pod.Spec.OS.Name), AnnotationInject)), nil
	}
	if mode == ModeSidecar && pod.Spec.HostNetwork {
		res.Response.Warnings = append(res.Response.Warnings, fmt.Sprintf("cwcreds: this pod uses the host network, so its cwcreds sidecar listens on the node's ports %d and %d", CredentialsPort, OpsPort))
	}
	ops := podPatch(cfg, mode, pod)
	patch, err := json.Marshal(ops)
	if err != nil {
		return Result{}, fmt.Errorf("could not encode the patch: %w", err)
	}
	jsonPatch := admissionv1.PatchTypeJSONPatch
	res.Response.PatchType, res.Response.Patch = &jsonPatch, patch
	res.Outcome, res.Mode, res.Reason = OutcomeInjected, mode, why
	return res, nil
}

func deny(res Result, msg string) Result {
	res.Response.Allowed = false
	res.Response.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest, Message: msg}
	res.Outcome, res.Reason = OutcomeDenied, msg
	return res
}

// MaxPodContainers caps the containers and init containers of a pod Mutate
// reads (answered 400 above it). Real pods have a handful.
const MaxPodContainers = 250

// decodePod reads the pod of a request, which must have metadata and spec
// objects: the patch adds under both.
func decodePod(raw []byte) (*pod, error) {
	if len(raw) == 0 {
		return nil, badRequest("the AdmissionReview request has no object")
	}
	var top struct {
		Metadata json.RawMessage `json:"metadata"`
		Spec     json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, badRequest("the request's object is not a pod: %v", oneLine(err))
	}
	if !isObject(top.Metadata) || !isObject(top.Spec) {
		return nil, badRequest("the request's pod has no metadata or spec object")
	}
	// Count the containers before decoding them: each one gets a few hundred
	// bytes of patch, so a review of many empty containers would cost far more
	// memory than its size. Elements of size zero cost nothing to count.
	var count struct {
		InitContainers []struct{} `json:"initContainers"`
		Containers     []struct{} `json:"containers"`
	}
	if err := json.Unmarshal(top.Spec, &count); err != nil {
		return nil, badRequest("the request's object is not a pod: %v", oneLine(err))
	}
	if n := len(count.InitContainers) + len(count.Containers); n > MaxPodContainers {
		return nil, badRequest("the pod has %d containers and init containers; cwcreds injects into pods of at most %d", n, MaxPodContainers)
	}
	var p pod
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, badRequest("the request's object is not a pod: %v", oneLine(err))
	}
	return &p, nil
}

func isObject(raw json.RawMessage) bool {
	s := strings.TrimLeft(string(raw), " \t\r\n")
	return strings.HasPrefix(s, "{")
}

// optIn reads the opt-in annotations of one object. decided is false when
// neither says true or false; values other than those are ignored with a warning.
func optIn(annotations map[string]string, where string) (in, decided bool, why string, warnings []string) {
	for _, key := range []string{AnnotationInject, AnnotationCoreWeaveInject} {
		v, ok := annotations[key]
		if !ok {
			continue
		}
		switch {
		case strings.EqualFold(v, "true"):
			return true, true, key + " on the " + where, warnings
		case strings.EqualFold(v, "false"):
			return false, true, key + "=false on the " + where, warnings
		}
		warnings = append(warnings, fmt.Sprintf("cwcreds: %s on the %s is %s, neither \"true\" nor \"false\": ignored", key, where, quoteShort(v)))
	}
	return false, false, "", warnings
}

// quoteShort quotes a user's value for a warning, cut to a sane length.
func quoteShort(v string) string {
	const max = 40
	if len(v) > max {
		v = v[:max] + "…"
	}
	return strconv.QuoteToASCII(v)
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// podPatch is the JSON patch that adds to pod what mode needs and it lacks.
// User containers are patched at their indices first; cwcreds' init containers
// are inserted at the front last, so every path refers to the pod as it is then.
func podPatch(cfg Config, mode Mode, pod *pod) []patchOp {
	var ops []patchOp
	if pod.Metadata.Annotations == nil {
		ops = append(ops, patchOp{"add", "/metadata/annotations", map[string]string{AnnotationInjected: "true"}})
	} else {
		ops = append(ops, patchOp{"add", "/metadata/annotations/" + escapePointer(AnnotationInjected), "true"})
	}

	var volumes []Volume
	for _, v := range []Volume{tokenVolume(cfg), runVolume()} {
		if !hasVolume(pod.Spec.Volumes, v.Name) {
			volumes = append(volumes, v)
		}
	}
	ops = appendAll(ops, "/spec/volumes", pod.Spec.Volumes == nil, volumes)

	env := appEnv(cfg, mode)
	mounts := appMounts(mode)
	for i := range pod.Spec.InitContainers {
		ops = patchApp(ops, fmt.Sprintf("/spec/initContainers/%d", i), &pod.Spec.InitContainers[i], env, mounts)
	}
	for i := range pod.Spec.Containers {
		ops = patchApp(ops, fmt.Sprintf("/spec/containers/%d", i), &pod.Spec.Containers[i], env, mounts)
	}

	var ours []Container
	if !hasContainer(pod, AWSConfigContainer) {
		ours = append(ours, awsConfigContainer(cfg, mode))
	}
	if mode == ModeSidecar && !hasContainer(pod, SidecarContainer) {
		ours = append(ours, sidecarContainer(cfg))
	}
	ops = append(ops, podResourcesPatch(pod.Spec.Resources, ours)...)
	if pod.Spec.InitContainers == nil {
		if len(ours) > 0 {
			ops = append(ops, patchOp{"add", "/spec/initContainers", ours})
		}
	} else {
		for i, c := range ours {
			ops = append(ops, patchOp{"add", fmt.Sprintf("/spec/initContainers/%d", i), c})
		}
	}
	return ops
}

// podResourcesPatch raises a pod's pod-level resources, when it sets them, by
// what ours need: the API server refuses a pod whose containers ask for more
// than the pod, or whose pod-level requests exceed its limits. ours come first
// among the init containers, so (as Kubernetes adds them up) a native sidecar
// adds its share to the pod's total and a plain init container needs only its
// own at its turn: new = max(old + sidecars, each plain init container); a limit
// also rises to at least the new request. Only resources the pod names change.
func podResourcesPatch(podLevel *Resources, ours []Container) []patchOp {
	if podLevel == nil || len(ours) == 0 {
		return nil
	}
	raise := func(old resource.Quantity, name string, of func(Resources) map[string]resource.Quantity) resource.Quantity {
		want := old.DeepCopy()
		var largestInit resource.Quantity
		for _, c := range ours {
			q, ok := of(c.Resources)[name]
			switch {
			case !ok:
			case c.RestartPolicy != nil && *c.RestartPolicy == "Always":
				want.Add(q)
			case q.Cmp(largestInit) > 0:
				largestInit = q
			}
		}
		if largestInit.Cmp(want) > 0 {
			return largestInit
		}
		return want
	}
	var ops []patchOp
	requests := map[string]resource.Quantity{}
	for _, name := range slices.Sorted(maps.Keys(podLevel.Requests)) {
		old := podLevel.Requests[name]
		requests[name] = raise(old, name, func(r Resources) map[string]resource.Quantity { return r.Requests })
		if q := requests[name]; q.Cmp(old) != 0 {
			ops = append(ops, patchOp{"add", "/spec/resources/requests/" + escapePointer(name), q})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(podLevel.Limits)) {
		old := podLevel.Limits[name]
		want := raise(old, name, func(r Resources) map[string]resource.Quantity { return r.Limits })
		if req, ok := requests[name]; ok && req.Cmp(want) > 0 {
			want = req
		}
		if want.Cmp(old) != 0 {
			ops = append(ops, patchOp{"add", "/spec/resources/limits/" + escapePointer(name), want})
		}
	}
	return ops
}

// appendAll adds items to the array at path: the whole array when it is absent,
// else one "-" append each.
func appendAll[T any](ops []patchOp, path string, absent bool, items []T) []patchOp {
	if len(items) == 0 {
		return ops
	}
	if absent {
		return append(ops, patchOp{"add", path, items})
	}
	for _, it := range items {
		ops = append(ops, patchOp{"add", path + "/-", it})
	}
	return ops
}

// patchApp gives one app container the env it does not set and the mounts it
// lacks. cwcreds' own containers (a hand-written sidecar) are left alone.
func patchApp(ops []patchOp, path string, c *podContainer, env []envGroup, mounts []VolumeMount) []patchOp {
	if c.Name == SidecarContainer || c.Name == AWSConfigContainer {
		return ops
	}
	set := make(map[string]bool, len(c.Env))
	for _, e := range c.Env {
		set[e.Name] = true
	}
	var add []EnvVar
	for _, g := range env {
		if !g.setByUser(set) {
			add = append(add, g.vars...)
		}
	}
	ops = appendAll(ops, path+"/env", c.Env == nil, add)

	var addMounts []VolumeMount
	for _, m := range mounts {
		if !hasMount(c.VolumeMounts, m) {
			addMounts = append(addMounts, m)
		}
	}
	return appendAll(ops, path+"/volumeMounts", c.VolumeMounts == nil, addMounts)
}

// envGroup is variables added together, and only when the container sets none
// of the variables that would contradict them.
type envGroup struct {
	vars      []EnvVar
	conflicts []string
}

func (g envGroup) setByUser(set map[string]bool) bool {
	for _, name := range g.conflicts {
		if set[name] {
			return true
		}
	}
	return false
}

// appEnv is what an app container needs to find its keys:
//   - the credentials endpoint and its token, unless the container points its
//     SDK at an endpoint or token of its own;
//   - the S3 endpoint, unless it sets it (or AWS_ENDPOINT_URL, which ours would
//     override for S3);
//   - the region (AWS_REGION for most SDKs, AWS_DEFAULT_REGION for boto3 and the
//     AWS CLI), unless it sets either;
//   - the AWS config file with virtual-hosted addressing, unless it names a
//     config file or a profile (which lives in a config file of its own).
func appEnv(cfg Config, mode Mode) []envGroup {
	uri, tokenFile := SidecarCredentialsURI, AuthTokenPath
	if mode == ModeAgent {
		uri, tokenFile = cfg.AgentURL, TokenPath
	}
	groups := []envGroup{
		{
			vars:      []EnvVar{{Name: EnvCredentialsFullURI, Value: uri}, {Name: EnvAuthorizationTokenFile, Value: tokenFile}},
			conflicts: []string{EnvCredentialsFullURI, EnvCredentialsRelativeURI, EnvAuthorizationTokenFile, EnvAuthorizationToken},
		},
		{
			vars:      []EnvVar{{Name: EnvEndpointURLS3, Value: cfg.S3Endpoint}},
			conflicts: []string{EnvEndpointURLS3, "AWS_ENDPOINT_URL"},
		},
	}
	if cfg.Region != "" {
		groups = append(groups, envGroup{
			vars:      []EnvVar{{Name: EnvRegion, Value: cfg.Region}, {Name: EnvDefaultRegion, Value: cfg.Region}},
			conflicts: []string{EnvRegion, EnvDefaultRegion},
		})
	}
	return append(groups, envGroup{
		vars:      []EnvVar{{Name: EnvConfigFile, Value: AWSConfigPath}},
		conflicts: []string{EnvConfigFile, "AWS_PROFILE", "AWS_DEFAULT_PROFILE"},
	})
}

// appMounts: the shared folder (AWS config, sidecar's auth token) always; the
// pod's token only in agent mode, where the app itself presents it.
func appMounts(mode Mode) []VolumeMount {
	m := []VolumeMount{{Name: RunVolume, MountPath: RunMountPath, ReadOnly: true}}
	if mode == ModeAgent {
		m = append(m, VolumeMount{Name: TokenVolume, MountPath: TokenMountPath, ReadOnly: true})
	}
	return m
}

func tokenVolume(cfg Config) Volume {
	exp := int64(TokenExpirationSeconds)
	return Volume{Name: TokenVolume, Projected: &projected{Sources: []projection{{ServiceAccountToken: &serviceAccountToken{
		Audience: cfg.Audience, ExpirationSeconds: &exp, Path: TokenFileName,
	}}}}}
}

// runVolume is in memory: it holds the sidecar's auth token, which should not
// reach the node's disk.
func runVolume() Volume {
	size := resource.MustParse("1Mi")
	return Volume{Name: RunVolume, EmptyDir: &emptyDir{Medium: "Memory", SizeLimit: &size}}
}

// awsConfigContainer writes the AWS config file, and in sidecar mode the auth
// token the app and the sidecar share (readable by the app's user, whoever it is).
// In agent mode it then asks the node agent for the pod's keys, so the app starts
// with them in the agent's cache and past their propagation delay (what the
// sidecar's startup probe does in sidecar mode).
func awsConfigContainer(cfg Config, mode Mode) Container {
	args := []string{"inject", "write-aws-config", "--out", AWSConfigPath}
	mounts := []VolumeMount{{Name: RunVolume, MountPath: RunMountPath}}
	switch mode {
	case ModeSidecar:
		args = append(args, "--auth-token-file", AuthTokenPath)
	case ModeAgent:
		args = append(args, "--wait-for-credentials", cfg.AgentURL, "--token-file", TokenPath)
		mounts = append(mounts, VolumeMount{Name: TokenVolume, MountPath: TokenMountPath, ReadOnly: true})
	}
	return Container{
		Name:                     AWSConfigContainer,
		Image:                    cfg.Image,
		ImagePullPolicy:          cfg.ImagePullPolicy,
		Args:                     args,
		Resources:                cfg.Resources,
		SecurityContext:          restricted(),
		VolumeMounts:             mounts,
		TerminationMessagePolicy: fallbackToLogsOnError,
	}
}

// sidecarContainer is cwcreds serve as a native sidecar: an init container that
// keeps running, started (its startup probe passed: keys in hand) before the
// init containers after it and the app, and stopped after them, so Jobs finish.
func sidecarContainer(cfg Config) Container {
	always := "Always"
	env := []EnvVar{
		{Name: "CWCREDS_TOKEN_FILE", Value: TokenPath},
		{Name: "CWCREDS_ORG_ID", Value: cfg.OrgID},
	}
	if cfg.APIEndpoint != "" {
		env = append(env, EnvVar{Name: "CWCREDS_API_ENDPOINT", Value: cfg.APIEndpoint})
	}
	probe := func(path string, period, timeout, failures int32) *Probe {
		return &Probe{HTTPGet: &httpGet{Path: path, Port: OpsPort}, PeriodSeconds: period, TimeoutSeconds: timeout, FailureThreshold: failures}
	}
	return Container{
		Name:            SidecarContainer,
		Image:           cfg.Image,
		ImagePullPolicy: cfg.ImagePullPolicy,
		Args: []string{"serve",
			"--listen", "127.0.0.1:" + strconv.Itoa(CredentialsPort),
			"--ops-listen", "0.0.0.0:" + strconv.Itoa(OpsPort),
			"--auth-token-file", AuthTokenPath},
		Env:           env,
		RestartPolicy: &always,
		// Up to two minutes for the first keys, checked every second.
		StartupProbe:             probe("/readyz", 1, 1, 120),
		LivenessProbe:            probe("/healthz", 10, 2, 3),
		Resources:                cfg.Resources,
		SecurityContext:          restricted(),
		TerminationMessagePolicy: fallbackToLogsOnError,
		VolumeMounts: []VolumeMount{
			{Name: TokenVolume, MountPath: TokenMountPath, ReadOnly: true},
			{Name: RunVolume, MountPath: RunMountPath},
		},
	}
}

// restricted is a securityContext that passes the "restricted" Pod Security
// Standard: the image's non-root user, read-only root, no capabilities.
func restricted() *securityContext {
	yes, no, uid := true, false, int64(65532)
	return &securityContext{
		RunAsNonRoot:             &yes,
		RunAsUser:                &uid,
		RunAsGroup:               &uid,
		ReadOnlyRootFilesystem:   &yes,
		AllowPrivilegeEscalation: &no,
		Capabilities:             &capabilities{Drop: []string{"ALL"}},
		SeccompProfile:           &seccompProfile{Type: "RuntimeDefault"},
	}
}

func hasVolume(vs []named, name string) bool {
	for _, v := range vs {
		if v.Name == name {
			return true
		}
	}
	return false
}

func hasContainer(pod *pod, name string) bool {
	for _, list := range [][]podContainer{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}

// hasMount: the container already mounts that volume, or something at that path.
func hasMount(ms []VolumeMount, m VolumeMount) bool {
	for _, have := range ms {
		if have.Name == m.Name || strings.TrimRight(have.MountPath, "/") == m.MountPath {
			return true
		}
	}
	return false
}

const fallbackToLogsOnError = "FallbackToLogsOnError"

// escapePointer escapes a JSON-pointer reference token (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
