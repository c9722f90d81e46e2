package inject

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Config is what the webhook adds to a pod. Zero fields take the defaults of
// WithDefaults; Validate says what is wrong in a way a user can fix.
type Config struct {
	// Mode is the default mode; a pod may override it with AnnotationMode.
	Mode Mode
	// Image is the cwcreds image of the sidecar and the aws-config init container.
	Image string
	// ImagePullPolicy of those containers ("": Kubernetes' default).
	ImagePullPolicy PullPolicy
	// Audience of the projected service-account token.
	Audience string
	// S3Endpoint becomes AWS_ENDPOINT_URL_S3 (e.g. http://cwlota.com inside
	// CoreWeave clusters).
	S3Endpoint string
	// Region becomes AWS_REGION and AWS_DEFAULT_REGION; "" sets neither.
	Region string
	// AgentURL becomes AWS_CONTAINER_CREDENTIALS_FULL_URI in agent mode.
	AgentURL string
	// OrgID and APIEndpoint are the sidecar's CWCREDS_ORG_ID and
	// CWCREDS_API_ENDPOINT (the latter only when set). A sidecar needs OrgID.
	OrgID       string
	APIEndpoint string
	// Resources of the containers the webhook adds.
	Resources Resources
}

// DefaultResources of the containers the webhook adds: cwcreds serve idles at
// about 17 MB and peaks near 23 MB under load (docs/benchmarks.md).
func DefaultResources() Resources {
	return Resources{
		Requests: map[string]resource.Quantity{"cpu": resource.MustParse("10m"), "memory": resource.MustParse("32Mi")},
		Limits:   map[string]resource.Quantity{"memory": resource.MustParse("64Mi")},
	}
}

// WithDefaults fills the zero fields (Image excepted: it depends on the build).
func (c Config) WithDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeSidecar
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.AgentURL == "" {
		c.AgentURL = DefaultAgentURL
	}
	if c.Resources.Requests == nil && c.Resources.Limits == nil {
		c.Resources = DefaultResources()
	}
	return c
}

// Validate checks c after WithDefaults. Messages name the flag that sets the field.
func (c Config) Validate() error {
	if err := c.Mode.check(); err != nil {
		return fmt.Errorf("--mode: %w", err)
	}
	if c.Image == "" || strings.ContainsAny(c.Image, " \t\r\n") {
		return fmt.Errorf("--image %q is not an image reference: use e.g. %s:v1.0.0", c.Image, DefaultImageRepo)
	}
	switch c.ImagePullPolicy {
	case "", PullAlways, PullIfNotPresent, PullNever:
	default:
		return fmt.Errorf("--image-pull-policy %q: use Always, IfNotPresent or Never", c.ImagePullPolicy)
	}
	if strings.TrimSpace(c.Audience) != c.Audience || c.Audience == "" {
		return fmt.Errorf("--audience %q: give the audience CoreWeave expects, e.g. %s", c.Audience, DefaultAudience)
	}
	if c.S3Endpoint == "" {
		return errors.New("--s3-endpoint is empty: use e.g. https://cwobject.com, or http://cwlota.com inside CoreWeave clusters")
	}
	if err := checkURL(c.S3Endpoint); err != nil {
		return fmt.Errorf("--s3-endpoint: %w", err)
	}
	if strings.ContainsAny(c.Region, " \t\r\n") {
		return fmt.Errorf("--region %q has spaces: use e.g. US-EAST-04A", c.Region)
	}
	if err := checkAgentURL(c.AgentURL); err != nil {
		return fmt.Errorf("--agent-url: %w", err)
	}
	if c.APIEndpoint != "" {
		if err := checkURL(c.APIEndpoint); err != nil {
			return fmt.Errorf("--api-endpoint: %w", err)
		}
	}
	if c.Mode == ModeSidecar && c.OrgID == "" {
		return errors.New("--org-id is required in sidecar mode: the sidecar exchanges the pod's token in that organization")
	}
	if strings.ContainsAny(c.OrgID, " \t\r\n") {
		return fmt.Errorf("--org-id %q has spaces: use e.g. org-abc12345", c.OrgID)
	}
	return nil
}

func (m Mode) check() error {
	switch m {
	case ModeSidecar, ModeAgent:
		return nil
	}
	return fmt.Errorf("%q is not a mode: use %s or %s", string(m), ModeSidecar, ModeAgent)
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%q is not an http(s) URL: use e.g. https://host", s)
	}
	return nil
}

// checkAgentURL refuses plain-HTTP addresses the AWS SDKs would not call: they
// accept http:// only on loopback and the container-credentials link-local hosts.
func checkAgentURL(s string) error {
	if err := checkURL(s); err != nil {
		return err
	}
	u, _ := url.Parse(s)
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
	case ip.IsLoopback(), ip.Equal(net.ParseIP("169.254.170.2")), ip.Equal(net.ParseIP("169.254.170.23")), ip.Equal(net.ParseIP("fd00:ec2::23")):
		return nil
	}
	return fmt.Errorf("AWS SDKs refuse plain http on %s: use http://169.254.170.23:9911/v1/credentials, http://[fd00:ec2::23]:9911/v1/credentials, or https", host)
}
