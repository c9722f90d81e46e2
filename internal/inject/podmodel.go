package inject

import "k8s.io/apimachinery/pkg/api/resource"

// The webhook reads and writes pods through these few types rather than
// k8s.io/api/core/v1, whose generated code would add about 5 MB to the cwcreds
// binary (and image) for the handful of fields used here. Field names, JSON
// names and order follow core/v1, so the patch is what core/v1 would encode;
// the tests decode every patched pod strictly with client-go's core/v1.

// pod is what Mutate reads of a Pod. Slices keep JSON's difference between
// absent or null (nil) and empty, which decides how the patch adds to them.
type pod struct {
	Metadata struct {
		Name         string            `json:"name"`
		GenerateName string            `json:"generateName"`
		Namespace    string            `json:"namespace"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		ServiceAccountName string         `json:"serviceAccountName"`
		HostNetwork        bool           `json:"hostNetwork"`
		OS                 *named         `json:"os"`
		Resources          *Resources     `json:"resources"` // pod-level resources
		Volumes            []named        `json:"volumes"`
		InitContainers     []podContainer `json:"initContainers"`
		Containers         []podContainer `json:"containers"`
	} `json:"spec"`
}

type named struct {
	Name string `json:"name"`
}

type podContainer struct {
	Name         string        `json:"name"`
	Env          []named       `json:"env"`
	VolumeMounts []VolumeMount `json:"volumeMounts"`
}

// PullPolicy is a container's imagePullPolicy.
type PullPolicy string

const (
	PullAlways       PullPolicy = "Always"
	PullIfNotPresent PullPolicy = "IfNotPresent"
	PullNever        PullPolicy = "Never"
)

// Resources is a container's resources (core/v1 ResourceRequirements): keys
// "cpu" and "memory".
type Resources struct {
	Limits   map[string]resource.Quantity `json:"limits,omitempty"`
	Requests map[string]resource.Quantity `json:"requests,omitempty"`
}

// EnvVar, VolumeMount, Volume and Container are what the patch adds.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

type VolumeMount struct {
	Name      string `json:"name"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	MountPath string `json:"mountPath"`
}

type Volume struct {
	Name      string     `json:"name"`
	EmptyDir  *emptyDir  `json:"emptyDir,omitempty"`
	Projected *projected `json:"projected,omitempty"`
}

type emptyDir struct {
	Medium    string             `json:"medium,omitempty"`
	SizeLimit *resource.Quantity `json:"sizeLimit,omitempty"`
}

type projected struct {
	Sources []projection `json:"sources"`
}

type projection struct {
	ServiceAccountToken *serviceAccountToken `json:"serviceAccountToken,omitempty"`
}

type serviceAccountToken struct {
	Audience          string `json:"audience,omitempty"`
	ExpirationSeconds *int64 `json:"expirationSeconds,omitempty"`
	Path              string `json:"path"`
}

type Container struct {
	Name                     string           `json:"name"`
	Image                    string           `json:"image,omitempty"`
	Args                     []string         `json:"args,omitempty"`
	Env                      []EnvVar         `json:"env,omitempty"`
	Resources                Resources        `json:"resources"`
	RestartPolicy            *string          `json:"restartPolicy,omitempty"`
	VolumeMounts             []VolumeMount    `json:"volumeMounts,omitempty"`
	LivenessProbe            *Probe           `json:"livenessProbe,omitempty"`
	StartupProbe             *Probe           `json:"startupProbe,omitempty"`
	TerminationMessagePolicy string           `json:"terminationMessagePolicy,omitempty"`
	ImagePullPolicy          PullPolicy       `json:"imagePullPolicy,omitempty"`
	SecurityContext          *securityContext `json:"securityContext,omitempty"`
}

type Probe struct {
	HTTPGet          *httpGet `json:"httpGet,omitempty"`
	TimeoutSeconds   int32    `json:"timeoutSeconds,omitempty"`
	PeriodSeconds    int32    `json:"periodSeconds,omitempty"`
	FailureThreshold int32    `json:"failureThreshold,omitempty"`
}

type httpGet struct {
	Path string `json:"path,omitempty"`
	Port int32  `json:"port"`
}

type securityContext struct {
	Capabilities             *capabilities   `json:"capabilities,omitempty"`
	RunAsUser                *int64          `json:"runAsUser,omitempty"`
	RunAsGroup               *int64          `json:"runAsGroup,omitempty"`
	RunAsNonRoot             *bool           `json:"runAsNonRoot,omitempty"`
	ReadOnlyRootFilesystem   *bool           `json:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool           `json:"allowPrivilegeEscalation,omitempty"`
	SeccompProfile           *seccompProfile `json:"seccompProfile,omitempty"`
}

type capabilities struct {
	Drop []string `json:"drop,omitempty"`
}

type seccompProfile struct {
	Type string `json:"type"`
}
