package cwobject

// This file is the one place where cwcreds writes down what it believes about the
// CWObject wire contract (../shared/design/cwobject-api.md). Facts and assumptions
// are marked; when the real service turns out to differ, change it here and both
// the client and the emulator follow.

import (
	"net/http"
	"net/url"
	"time"
)

// DefaultBaseURL is the public CoreWeave API host. [fact]
const DefaultBaseURL = "https://api.coreweave.com"

// Limits and lifetimes.
const (
	// MinListLimit and MaxListLimit bound `limit` on both list operations. [fact: seed]
	MinListLimit = 1
	MaxListLimit = 1000
	// MaxDurationSeconds is the longest key lifetime the POST exchanges accept (12 h). [fact]
	MaxDurationSeconds = 43200
	// ContainerCredsLifetime is the fixed lifetime of keys from the two GET exchanges. [fact: docs]
	ContainerCredsLifetime = 15 * time.Minute
	// DefaultExchangeLifetime is what the server applies when durationSeconds is 0 on
	// the SAML and OIDC exchanges (undocumented). [assume]
	DefaultExchangeLifetime = 15 * time.Minute
	// MaxResponseBytes caps every response body the client reads.
	MaxResponseBytes = 1 << 20
	// RecommendedAudience is the OIDC audience CoreWeave recommends for federation. [fact: docs]
	RecommendedAudience = "https://coreweave.com/iam"
)

// AccessKeyIDPrefix / SecretKeyPrefix and lengths describe the key shapes seen in
// CoreWeave's documentation examples. [fact: examples]
const (
	AccessKeyIDPrefix  = "CW"
	AccessKeyIDSuffix  = 14 // upper-case alphanumerics after the prefix
	SecretKeyPrefix    = "cwo"
	SecretKeySuffixLen = 40 // lower-case alphanumerics after the prefix
)

// PermanentExpiry is the `expiry` the API reports for a key minted with
// durationSeconds 0 on CreateAccessKeyFromJWT. [fact]
var PermanentExpiry = time.Unix(0, 0).UTC()

// SAML attribute names CoreWeave reads from an assertion. [fact: docs]
const (
	SAMLRoleAttribute          = "https://coreweave.com/SAML/Attributes/Role"
	SAMLPrincipalNameAttribute = "https://coreweave.com/SAML/Attributes/PrincipalName"
)

// Principal name prefixes. [fact: docs]
const (
	PrincipalPrefixUser = "coreweave/" // coreweave/<uid>
	PrincipalPrefixOIDC = "role/"      // role/<iss>:<sub>
	PrincipalPrefixSAML = "saml/"      // saml/<role>
)

// Auth says how an operation authenticates.
type Auth int

const (
	// AuthBearer sends `Authorization: Bearer <CoreWeave API token>`. [fact]
	AuthBearer Auth = iota
	// AuthNone sends no Authorization header (the identity is in the body). [fact]
	AuthNone
	// AuthRawJWT sends `Authorization: <JWT>` with no scheme. [fact]
	AuthRawJWT
)

// Operation describes one CWObject RPC as it appears on the HTTP wire.
type Operation struct {
	Name   string // gRPC method name, also the key of emulator statistics
	Method string // HTTP method
	// Path is the URL path; `{name}` segments are filled from the request.
	Path string
	Auth Auth
	// Idempotent operations may be retried after an ambiguous failure (the request
	// may have reached the server). Non-idempotent ones are only retried when the
	// server clearly did not act on them (429, 503, connection refused).
	Idempotent bool
}

// The 18 operations of coreweave.cwobject.v1. [fact: descriptor + API reference]
var (
	OpAuthCanI                          = Operation{"AuthCanI", http.MethodPost, "/v1/cwobject/auth/can-i", AuthBearer, true}
	OpCreateAccessKeyFromJWT            = Operation{"CreateAccessKeyFromJWT", http.MethodPost, "/v1/cwobject/access-key", AuthBearer, false}
	OpListAccessKeyInfo                 = Operation{"ListAccessKeyInfo", http.MethodGet, "/v1/cwobject/access-key", AuthBearer, true}
	OpGetAccessKeyInfo                  = Operation{"GetAccessKeyInfo", http.MethodGet, "/v1/cwobject/access-key/{accessKeyId}", AuthBearer, true}
	OpUpdateAccessKeyStatus             = Operation{"UpdateAccessKeyStatus", http.MethodPut, "/v1/cwobject/access-key-status", AuthBearer, true}
	OpListAccessPolicies                = Operation{"ListAccessPolicies", http.MethodGet, "/v1/cwobject/access-policy", AuthBearer, true}
	OpEnsureAccessPolicy                = Operation{"EnsureAccessPolicy", http.MethodPost, "/v1/cwobject/access-policy", AuthBearer, true}
	OpDeleteAccessPolicy                = Operation{"DeleteAccessPolicy", http.MethodDelete, "/v1/cwobject/access-policy/{name}", AuthBearer, true}
	OpSetBucketSettings                 = Operation{"SetBucketSettings", http.MethodPut, "/v1/cwobject/bucket/settings", AuthBearer, true}
	OpListBucketInfo                    = Operation{"ListBucketInfo", http.MethodGet, "/v1/cwobject/bucket-info", AuthBearer, true}
	OpGetBucketInfo                     = Operation{"GetBucketInfo", http.MethodGet, "/v1/cwobject/bucket-info/{bucketName}", AuthBearer, true}
	OpSetOrganizationSettings           = Operation{"SetOrganizationSettings", http.MethodPut, "/v1/cwobject/organization/settings", AuthBearer, true}
	OpRevokeAccessKeyByAccessKey        = Operation{"RevokeAccessKeyByAccessKey", http.MethodPost, "/v1/cwobject/revoke-access-key/access-key", AuthBearer, true}
	OpRevokeAccessKeysByPrincipal       = Operation{"RevokeAccessKeysByPrincipal", http.MethodPost, "/v1/cwobject/revoke-access-key/principal", AuthBearer, true}
	OpCreateAccessKeyFromSAML           = Operation{"CreateAccessKeyFromSAML", http.MethodPost, "/v1/cwobject/temporary-credentials/saml", AuthNone, false}
	OpCreateAccessKeyFromOIDC           = Operation{"CreateAccessKeyFromOIDC", http.MethodPost, "/v1/cwobject/temporary-credentials/oidc", AuthNone, false}
	OpCreateAccessKeyFromContainerCreds = Operation{"CreateAccessKeyFromContainerCreds", http.MethodGet, "/v1/cwobject/temporary-credentials/oidc/{orgId}", AuthRawJWT, false}
	OpCreateAccessKeyFromApiToken       = Operation{"CreateAccessKeyFromApiToken", http.MethodGet, "/v1/cwobject/temporary-credentials/api-token", AuthBearer, false}
)

// Operations lists every operation, in the order of the API reference.
var Operations = []Operation{
	OpAuthCanI, OpCreateAccessKeyFromJWT, OpListAccessKeyInfo, OpGetAccessKeyInfo,
	OpUpdateAccessKeyStatus, OpListAccessPolicies, OpEnsureAccessPolicy, OpDeleteAccessPolicy,
	OpSetBucketSettings, OpListBucketInfo, OpGetBucketInfo, OpSetOrganizationSettings,
	OpRevokeAccessKeyByAccessKey, OpRevokeAccessKeysByPrincipal, OpCreateAccessKeyFromSAML,
	OpCreateAccessKeyFromOIDC, OpCreateAccessKeyFromContainerCreds, OpCreateAccessKeyFromApiToken,
}

// Policy vocabulary. [fact: seed] Unknown values from the server are warned about,
// not refused, because the service may add new ones.
const (
	PolicyVersion = "v1alpha1"
	EffectAllow   = "Allow"
	EffectDeny    = "Deny"
)

// HTTPStatusForCode is the grpc-gateway mapping from gRPC code to HTTP status. [assume]
func HTTPStatusForCode(c Code) int {
	switch c {
	case CodeOK:
		return http.StatusOK
	case CodeInvalidArgument, CodeFailedPrecondition, CodeOutOfRange:
		return http.StatusBadRequest
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodePermissionDenied:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeAlreadyExists, CodeAborted:
		return http.StatusConflict
	case CodeResourceExhausted:
		return http.StatusTooManyRequests
	case CodeUnimplemented:
		return http.StatusNotImplemented
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	default: // Internal, Unknown, DataLoss, Canceled
		return http.StatusInternalServerError
	}
}

// CodeForHTTPStatus guesses a gRPC code for a response that carried no
// google.rpc.Status body (a proxy's page, an empty body).
func CodeForHTTPStatus(status int) Code {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalidArgument
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodePermissionDenied
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeAborted
	case http.StatusTooManyRequests:
		return CodeResourceExhausted
	case http.StatusNotImplemented:
		return CodeUnimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return CodeUnavailable
	case http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return CodeDeadlineExceeded
	default:
		if status >= 500 {
			return CodeInternal
		}
		return CodeUnknown
	}
}

// RequiredActions says which policy actions a bearer call needs, by operation name.
// Settings operations need the enable/disable action matching the change; the
// emulator derives those from the request. An operation absent here needs no
// action beyond a valid token (AuthCanI answers about others). [assume]
var RequiredActions = map[string][]string{
	"CreateAccessKeyFromJWT":      {"cwobject:CreateAccessKey"},
	"CreateAccessKeyFromApiToken": {"cwobject:CreateAccessKey"},
	"ListAccessKeyInfo":           {"cwobject:ListAccessKeyInfo"},
	"GetAccessKeyInfo":            {"cwobject:GetAccessKeyInfo"},
	"UpdateAccessKeyStatus":       {"cwobject:UpdateAccessKeyStatus"},
	"ListAccessPolicies":          {"cwobject:ListAccessPolicy"},
	"EnsureAccessPolicy":          {"cwobject:EnsureAccessPolicy"},
	"DeleteAccessPolicy":          {"cwobject:DeleteAccessPolicy"},
	"ListBucketInfo":              {"cwobject:ListBucketInfo"},
	"GetBucketInfo":               {"cwobject:GetBucketInfo"},
	"RevokeAccessKeyByAccessKey":  {"cwobject:RevokeAccessKeyByAccessKey"},
	"RevokeAccessKeysByPrincipal": {"cwobject:RevokeAccessKeysByPrincipal"},
}

// Assumptions the emulator (internal/emulator) relies on. Clients must treat
// org ids, config ids and token contents as opaque strings.
const (
	// APITokenPrefix starts every CoreWeave API access token. [fact: docs]
	APITokenPrefix = "CW-SECRET-"
	// MaxRequestBytes is the largest request body the API accepts; larger bodies are
	// refused with InvalidArgument. [assume]
	MaxRequestBytes = 1 << 20
	// OIDCIssuedAtSkew is how far in the future an OIDC token's `iat` may lie before
	// the exchange refuses it. [assume]
	OIDCIssuedAtSkew = time.Minute
	// Bucket usage measurement types reported in BucketInfo.usage. [assume]
	UsageBucketSizeBytes = "BUCKET_SIZE_BYTES"
	UsageObjectCount     = "OBJECT_COUNT"
)

// Further [assume]s, written down here so that they are changed in one place:
//   - Org ids look like "org-" + 8 lower-case alphanumerics in the emulator; the real
//     shape is unknown. SAML config ids are UUID v4 strings.
//   - AccessKeyStatus also arrives as a number: 0 UNSPECIFIED, 1 ACTIVE, 2 SUSPENDED.
//   - SetBucketSettings needs cwobject:EnableBucketAuditLogging or
//     cwobject:DisableBucketAuditLogging when it sets auditLoggingEnabled to true or
//     false; SetOrganizationSettings needs Enable/DisableControlPlaneAuditLogging for
//     controlPlaneAuditLoggingEnabled and Enable/DisableBucketAuditLoggingDefault for
//     bucketAuditLoggingEnabled. A settings call that touches no audit field needs only
//     a valid token.
//   - UpdateAccessKeyStatus and RevokeAccessKeysByPrincipal succeed ({}) for a
//     principal that has no keys; RevokeAccessKeyByAccessKey answers NotFound for an
//     unknown key id. Revoked keys disappear from List/GetAccessKeyInfo.
//   - An exchange whose orgId is not the caller's organisation, or whose token or
//     assertion does not verify, answers Unauthenticated (16) with the reason.
//   - The SAML exchange accepts IdP-initiated responses (no InResponseTo) and
//     SP-initiated ones addressed to a loopback ACS (SAMLLoopbackACSPath), refuses a
//     replayed assertion ID, and takes the principal from the first Role value, or
//     from the request attribute SAMLRoleAttribute when it is set, which must be
//     one of the assertion's Role values (else PermissionDenied); the
//     PrincipalName attribute, when present, is kept as a key attribute under its
//     attribute name.
//   - The federation exchanges (SAML, OIDC, container creds) check no policy action
//     (cwobject:CreateAccessKeySAML/OIDC are not enforced): trust comes from the
//     registered IdP alone.
//   - List calls refuse a missing or out-of-range `limit` (InvalidArgument), as for 0.
//   - SetBucketSettings takes `capacityCapBytes` as the requested cap and reports it
//     back in both capacityCapBytes and configuredCapacityCapBytes. Usage values
//     are human-readable as IEC sizes ("1.5 KiB") and plain counts.
//   - The S3 side (emulator/s3emu, table keyRefusals) refuses keys as AWS S3 does:
//     unknown, not yet propagated and revoked → InvalidAccessKeyId 403; suspended →
//     AccessDenied 403; expired → ExpiredToken 400. Keys carry no session token, so
//     any X-Amz-Security-Token (even an empty one) is InvalidToken 400.
//   - S3 requires the SigV4 scope region to equal the endpoint's availability zone
//     exactly (else AuthorizationHeaderMalformed 400); a CreateBucket
//     LocationConstraint matches it in any case. One organisation owns every bucket,
//     so re-creating one is BucketAlreadyOwnedByYou 409.

// SAMLServiceProviderEntityID is the SAML service-provider entity id (the assertion
// audience) CoreWeave presents to an organisation's IdP. [assume]: the console shows
// the real value; it is not in the API reference.
func SAMLServiceProviderEntityID(orgID string) string {
	return DefaultBaseURL + "/saml/" + orgID
}

// SAMLAssertionConsumerServiceURL is where the IdP addresses its responses (the
// Response Destination and SubjectConfirmationData Recipient). [assume]
func SAMLAssertionConsumerServiceURL(orgID string) string {
	return SAMLServiceProviderEntityID(orgID) + "/acs"
}

// SAMLLoopbackACSPath is the path of the assertion consumer service a CLI login
// (cwcreds login) serves on a loopback address. [assume]: besides responses for
// its own ACS, the SAML exchange accepts an SP-initiated response whose
// Destination and Recipient are http://127.0.0.1:<port>/saml/acs (or localhost,
// or [::1]) and whose InResponseTo the CLI has checked against its own request;
// the audience is still SAMLServiceProviderEntityID. The org's IdP must list that
// ACS URL for CoreWeave's service provider.
const SAMLLoopbackACSPath = "/saml/acs"

// IsSAMLLoopbackACS reports whether u is a loopback ACS URL as SAMLLoopbackACSPath
// describes: plain http, a loopback host with an explicit port, that path, and
// no query or fragment.
func IsSAMLLoopbackACS(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme != "http" || parsed.Path != SAMLLoopbackACSPath ||
		parsed.RawQuery != "" || parsed.Fragment != "" || parsed.User != nil || parsed.Port() == "" {
		return false
	}
	switch parsed.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}
