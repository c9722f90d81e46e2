package cwobject

import "time"

// Code is a gRPC status code as carried in google.rpc.Status.
type Code int

// gRPC codes (google.golang.org/grpc/codes), without importing grpc.
const (
	CodeOK                 Code = 0
	CodeCanceled           Code = 1
	CodeUnknown            Code = 2
	CodeInvalidArgument    Code = 3
	CodeDeadlineExceeded   Code = 4
	CodeNotFound           Code = 5
	CodeAlreadyExists      Code = 6
	CodePermissionDenied   Code = 7
	CodeResourceExhausted  Code = 8
	CodeFailedPrecondition Code = 9
	CodeAborted            Code = 10
	CodeOutOfRange         Code = 11
	CodeUnimplemented      Code = 12
	CodeInternal           Code = 13
	CodeUnavailable        Code = 14
	CodeDataLoss           Code = 15
	CodeUnauthenticated    Code = 16
)

var codeNames = [...]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
	"NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
	"Aborted", "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + itoa(int(c)) + ")"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// RPCStatus is google.rpc.Status on the wire.
type RPCStatus struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

// AccessKeyStatus is the symbolic status of an access key on the wire.
type AccessKeyStatus string

const (
	AccessKeyStatusUnspecified AccessKeyStatus = "ACCESS_KEY_STATUS_UNSPECIFIED"
	AccessKeyStatusActive      AccessKeyStatus = "ACCESS_KEY_STATUS_ACTIVE"
	AccessKeyStatusSuspended   AccessKeyStatus = "ACCESS_KEY_STATUS_SUSPENDED"
)

// AccessKey is what the three POST exchanges (JWT, SAML, OIDC) return. It holds a
// secret: never log it or put it in an error.
type AccessKey struct {
	AccessKeyID   string            `json:"accessKeyId"`
	SecretKey     string            `json:"secretKey"`
	PrincipalName string            `json:"principalName"`
	Expiry        time.Time         `json:"expiry"` // PermanentExpiry for a permanent key
	Attributes    map[string]string `json:"attributes,omitempty"`
}

// ContainerCredentials is the AWS-shaped answer of the two GET exchanges. It holds
// a secret.
type ContainerCredentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	Token           string    `json:"Token"`
	Expiration      time.Time `json:"Expiration"`
}

// AccessKeyInfo describes a key without its secret.
type AccessKeyInfo struct {
	AccessKeyID     string              `json:"accessKeyId"`
	Status          AccessKeyStatus     `json:"status"`
	PrincipalName   string              `json:"principalName"`
	Attributes      map[string]string   `json:"attributes,omitempty"`
	MultiAttributes map[string][]string `json:"multiAttributes,omitempty"`
	Expiry          time.Time           `json:"expiry"`
	OrgID           string              `json:"orgId"`
}

// Policy is an access policy.
type Policy struct {
	Version    string            `json:"version"`
	Name       string            `json:"name"`
	Statements []PolicyStatement `json:"statements"`
}

// PolicyStatement is one statement of a Policy.
type PolicyStatement struct {
	Name       string   `json:"name"`
	Effect     string   `json:"effect"`
	Actions    []string `json:"actions"`
	Resources  []string `json:"resources"`
	Principals []string `json:"principals"`
}

// BucketSettings are the per-bucket settings. Pointer fields are protobuf wrappers:
// nil means "not set / leave unchanged".
type BucketSettings struct {
	AuditLoggingEnabled        *bool   `json:"auditLoggingEnabled,omitempty"`
	ArchiveEnabled             *bool   `json:"archiveEnabled,omitempty"`
	ArchiveAfterLastAccessDays *int64  `json:"archiveAfterLastAccessDays,omitempty,string"`
	CapacityCapBytes           *uint64 `json:"capacityCapBytes,omitempty,string"`
	ConfiguredCapacityCapBytes *uint64 `json:"configuredCapacityCapBytes,omitempty,string"`
}

// BucketUsage is one usage measurement of a bucket.
type BucketUsage struct {
	MeasurementType    string `json:"measurementType"`
	Value              uint64 `json:"value,string"`
	ValueHumanReadable string `json:"valueHumanReadable"`
}

// BucketInfo describes a bucket.
type BucketInfo struct {
	OrgID        string         `json:"orgId"`
	Name         string         `json:"name"`
	CreationTime time.Time      `json:"creationTime"`
	Settings     BucketSettings `json:"settings"`
	Location     string         `json:"location"`
	Usage        []BucketUsage  `json:"usage,omitempty"`
}

// OrganizationSettings are the org-wide audit settings.
type OrganizationSettings struct {
	ControlPlaneAuditLoggingEnabled *bool `json:"controlPlaneAuditLoggingEnabled,omitempty"`
	BucketAuditLoggingEnabled       *bool `json:"bucketAuditLoggingEnabled,omitempty"`
}

// Requests. Field names are the lowerCamel protojson names.

type AuthCanIRequest struct {
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
}

type AuthCanIResponse struct {
	Verdict bool `json:"verdict"`
}

type CreateAccessKeyFromJWTRequest struct {
	DurationSeconds int64             `json:"durationSeconds,string"`
	Attributes      map[string]string `json:"attributes,omitempty"`
}

type ListAccessKeyInfoRequest struct {
	Offset int
	Limit  int
	Status AccessKeyStatus // empty or UNSPECIFIED: no filter
}

type UpdateAccessKeyStatusRequest struct {
	PrincipalName string          `json:"principalName"`
	Status        AccessKeyStatus `json:"status"`
}

type EnsureAccessPolicyRequest struct {
	Policy Policy `json:"policy"`
}

type SetBucketSettingsRequest struct {
	BucketName string         `json:"bucketName"`
	Settings   BucketSettings `json:"settings"`
}

type SetBucketSettingsResponse struct {
	Settings BucketSettings `json:"settings"`
}

type ListBucketInfoRequest struct {
	Offset int
	Limit  int
}

type SetOrganizationSettingsRequest struct {
	Settings OrganizationSettings `json:"settings"`
}

type SetOrganizationSettingsResponse struct {
	Settings OrganizationSettings `json:"settings"`
}

type RevokeAccessKeyByAccessKeyRequest struct {
	AccessKey string `json:"accessKey"` // the key id (CW…), never the secret
}

type RevokeAccessKeysByPrincipalRequest struct {
	PrincipalName string `json:"principalName"`
}

// CreateAccessKeyFromSAMLRequest holds a SAML response: a secret.
type CreateAccessKeyFromSAMLRequest struct {
	DurationSeconds int64             `json:"durationSeconds,string"`
	OrgID           string            `json:"orgId"`
	SAMLResponse    string            `json:"samlResponse"` // base64 of the IdP's <Response>
	Attributes      map[string]string `json:"attributes,omitempty"`
	ConfigID        string            `json:"configId"`
}

// CreateAccessKeyFromOIDCRequest holds an ID token: a secret.
type CreateAccessKeyFromOIDCRequest struct {
	DurationSeconds int64             `json:"durationSeconds,string"`
	OrgID           string            `json:"orgId"`
	OIDCToken       string            `json:"oidcToken"`
	Attributes      map[string]string `json:"attributes,omitempty"`
}
