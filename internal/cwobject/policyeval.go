package cwobject

import "strings"

// How access policies are evaluated. [assume] The service documents Allow/Deny
// and wildcards, not the algorithm; this is the common reading, and both the
// emulator and `cwcreds can-i --principal` use it, so they agree:
//   - a statement matches when one of its principals, one of its actions and one
//     of its resources match (see MatchPattern);
//   - any matching Deny wins; otherwise a matching Allow is needed.

// PolicyAllows reports whether policies let principal perform action on resource.
func PolicyAllows(policies []Policy, principal, action, resource string) bool {
	allow := false
	for _, p := range policies {
		for _, st := range p.Statements {
			if !matchAny(st.Principals, principal) || !matchAny(st.Actions, action) || !matchAny(st.Resources, resource) {
				continue
			}
			switch st.Effect {
			case EffectDeny:
				return false
			case EffectAllow:
				allow = true
			}
		}
	}
	return allow
}

func matchAny(patterns []string, value string) bool {
	for _, p := range patterns {
		if MatchPattern(p, value) {
			return true
		}
	}
	return false
}

// MatchPattern supports "*" and a trailing "*" (prefix match), as CoreWeave's
// policy examples use them ("s3:*", "cwobject:*", "my-bucket/*"). [assume]
func MatchPattern(pattern, value string) bool {
	if pattern == "*" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(value, prefix)
	}
	return pattern == value
}

// Action prefixes of the two APIs a policy covers. [fact: docs]
const (
	ActionPrefixS3       = "s3:"
	ActionPrefixCWObject = "cwobject:"
)

// CWObjectActions are the AI Object Storage API actions known today. [fact:
// shared/design/cwobject-api.md]
var CWObjectActions = []string{
	"cwobject:CreateAccessKey", "cwobject:CreateAccessKeySAML", "cwobject:CreateAccessKeyOIDC",
	"cwobject:RevokeAccessKeyByAccessKey", "cwobject:RevokeAccessKeysByPrincipal",
	"cwobject:EnsureAccessPolicy", "cwobject:DeleteAccessPolicy", "cwobject:ListAccessPolicy",
	"cwobject:EnableBucketAuditLogging", "cwobject:DisableBucketAuditLogging",
	"cwobject:EnableControlPlaneAuditLogging", "cwobject:DisableControlPlaneAuditLogging",
	"cwobject:EnableBucketAuditLoggingDefault", "cwobject:DisableBucketAuditLoggingDefault",
	"cwobject:ListAccessKeyInfo", "cwobject:GetAccessKeyInfo", "cwobject:ListBucketInfo",
	"cwobject:GetBucketInfo", "cwobject:UpdateAccessKeyStatus",
}

// S3Actions are the S3 actions a policy may name: those the design lists as
// known [fact], and the object and bucket actions of the S3 API that CoreWeave's
// S3-compatible endpoint serves [assume]. An action outside this list is warned
// about, not refused: the service may know more.
var S3Actions = []string{
	"s3:CreateBucket", "s3:DeleteBucket", "s3:ListAllMyBuckets", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
	"s3:DeleteBucketPolicy", "s3:GetBucketVersioning", "s3:PutBucketVersioning",
	"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation",
	"s3:GetBucketAcl", "s3:PutBucketAcl", "s3:GetBucketCORS", "s3:PutBucketCORS", "s3:GetBucketTagging",
	"s3:PutBucketTagging", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
	"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAcl", "s3:PutObjectAcl", "s3:GetObjectTagging",
	"s3:PutObjectTagging", "s3:DeleteObjectTagging", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion",
	"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:RestoreObject",
}

// ActionTakesOnlyStarResource reports whether action applies to the organization
// rather than a bucket, so that its statement's resources must be ["*"]: every
// cwobject: action and s3:ListAllMyBuckets. [fact: docs]
func ActionTakesOnlyStarResource(action string) bool {
	return strings.HasPrefix(action, ActionPrefixCWObject) || action == "s3:ListAllMyBuckets"
}
