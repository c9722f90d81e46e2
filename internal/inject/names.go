package inject

// The names below are shared with the chart, the serve/agent modes and the
// Kubernetes tests (the issue 11 contract): change them together or not at all.
const (
	// AnnotationInject opts a pod in (or out, with "false"), on the pod or on its
	// service account.
	AnnotationInject = "cwcreds.io/inject"
	// AnnotationCoreWeaveInject is CoreWeave's pod-identity-webhook opt-in,
	// accepted the same way so its users switch by changing nothing.
	AnnotationCoreWeaveInject = "caios.coreweave.com/inject"
	// AnnotationInjected marks a pod this webhook patched.
	AnnotationInjected = "cwcreds.io/injected"
	// AnnotationMode overrides the webhook's --mode for one pod.
	AnnotationMode = "cwcreds.io/mode"

	TokenVolume            = "cwcreds-token"
	TokenMountPath         = "/var/run/secrets/cwcreds.io/serviceaccount"
	TokenFileName          = "token"
	TokenPath              = TokenMountPath + "/" + TokenFileName
	DefaultAudience        = "https://coreweave.com/iam"
	TokenExpirationSeconds = 3600

	RunVolume     = "cwcreds-run"
	RunMountPath  = "/var/run/cwcreds"
	AWSConfigPath = RunMountPath + "/aws-config"
	AuthTokenPath = RunMountPath + "/auth-token"

	AWSConfigContainer = "cwcreds-aws-config"
	SidecarContainer   = "cwcreds"

	CredentialsPort = 9911
	OpsPort         = 9912

	SidecarCredentialsURI = "http://127.0.0.1:9911/v1/credentials"
	DefaultAgentURL       = "http://169.254.170.23:9911/v1/credentials"
	DefaultImageRepo      = "ghcr.io/cwcreds/cwcreds"
)

// Environment variables of the app containers.
const (
	EnvCredentialsFullURI     = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvCredentialsRelativeURI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	EnvAuthorizationTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	EnvAuthorizationToken     = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	EnvEndpointURLS3          = "AWS_ENDPOINT_URL_S3"
	EnvRegion                 = "AWS_REGION"
	EnvDefaultRegion          = "AWS_DEFAULT_REGION"
	EnvConfigFile             = "AWS_CONFIG_FILE"
)

// AWSConfig is the AWS config file the init container writes: CoreWeave AI
// Object Storage needs virtual-hosted addressing, which SDKs read only from here.
const AWSConfig = "[default]\ns3 =\n    addressing_style = virtual\n"

// Mode says who serves a pod's keys.
type Mode string

const (
	// ModeSidecar adds the cwcreds native sidecar to the pod.
	ModeSidecar Mode = "sidecar"
	// ModeAgent adds no container: the node agent (a DaemonSet) serves the pod,
	// which presents its own projected token.
	ModeAgent Mode = "agent"
)
