package emulator

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// The request decoders read bodies the way grpc-gateway's protojson does: unknown
// fields are ignored, a field may be spelled lowerCamel or snake_case (not both),
// null means unset, and 64-bit integers arrive as numbers or strings.

// jsonObject is one JSON object of a request body.
type jsonObject map[string]json.RawMessage

func parseObject(data []byte, what string) (jsonObject, *apiError) {
	if len(bytes.TrimSpace(data)) == 0 {
		return jsonObject{}, nil // grpc-gateway treats an empty body as an empty message
	}
	var o jsonObject
	if err := json.Unmarshal(data, &o); err != nil || o == nil {
		return nil, invalidArgument("%s must be a JSON object", what)
	}
	return o, nil
}

// snakeCase turns a lowerCamel protojson name into its proto field name.
func snakeCase(name string) string {
	var b strings.Builder
	for _, r := range name {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// field returns the raw value of name (or its snake_case spelling); ok is false
// when it is absent or null.
func (o jsonObject) field(name string) (json.RawMessage, bool, *apiError) {
	v, camel := o[name]
	alt := snakeCase(name)
	var snake bool
	if alt != name {
		var sv json.RawMessage
		sv, snake = o[alt]
		if camel && snake {
			return nil, false, invalidArgument("field %q is given twice (as %q and %q)", name, name, alt)
		}
		if snake {
			v = sv
		}
	}
	if !camel && !snake {
		return nil, false, nil
	}
	if string(bytes.TrimSpace(v)) == "null" {
		return nil, false, nil
	}
	return v, true, nil
}

func (o jsonObject) str(name string) (string, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return "", aerr
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", invalidArgument("field %q must be a string", name)
	}
	return s, nil
}

func (o jsonObject) boolPtr(name string) (*bool, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return nil, aerr
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		return nil, invalidArgument("field %q must be true or false", name)
	}
	return &b, nil
}

// parseInt64 accepts a JSON number or a string holding one, as protojson does.
func parseInt64(v json.RawMessage) (int64, bool) {
	text := string(bytes.TrimSpace(v))
	if strings.HasPrefix(text, `"`) {
		if json.Unmarshal(v, &text) != nil {
			return 0, false
		}
		if strings.TrimSpace(text) != text || text == "" {
			return 0, false
		}
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, true
	}
	// protojson also takes integral values written with a fraction or exponent.
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) ||
		f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

func (o jsonObject) int64Ptr(name string) (*int64, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return nil, aerr
	}
	n, good := parseInt64(v)
	if !good {
		return nil, invalidArgument("field %q must be a 64-bit integer (number or string)", name)
	}
	return &n, nil
}

func (o jsonObject) int64(name string) (int64, *apiError) {
	p, aerr := o.int64Ptr(name)
	if aerr != nil || p == nil {
		return 0, aerr
	}
	return *p, nil
}

func (o jsonObject) uint64Ptr(name string) (*uint64, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return nil, aerr
	}
	text := string(bytes.TrimSpace(v))
	if strings.HasPrefix(text, `"`) && json.Unmarshal(v, &text) != nil {
		return nil, invalidArgument("field %q must be an unsigned 64-bit integer", name)
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return nil, invalidArgument("field %q must be an unsigned 64-bit integer (number or string)", name)
	}
	return &n, nil
}

func (o jsonObject) strings(name string) ([]string, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return nil, aerr
	}
	var ss []string
	if json.Unmarshal(v, &ss) != nil {
		return nil, invalidArgument("field %q must be a list of strings", name)
	}
	return ss, nil
}

func (o jsonObject) stringMap(name string) (map[string]string, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return nil, aerr
	}
	var m map[string]string
	if json.Unmarshal(v, &m) != nil {
		return nil, invalidArgument("field %q must be an object of strings", name)
	}
	return m, nil
}

func (o jsonObject) object(name string) (jsonObject, bool, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return nil, false, aerr
	}
	var sub jsonObject
	if json.Unmarshal(v, &sub) != nil || sub == nil {
		return nil, false, invalidArgument("field %q must be an object", name)
	}
	return sub, true, nil
}

func (o jsonObject) objects(name string) ([]jsonObject, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return nil, aerr
	}
	var list []jsonObject
	if json.Unmarshal(v, &list) != nil {
		return nil, invalidArgument("field %q must be a list of objects", name)
	}
	for _, item := range list {
		if item == nil {
			return nil, invalidArgument("field %q must be a list of objects", name)
		}
	}
	return list, nil
}

// parseKeyStatus accepts the symbolic names, their short forms and the enum numbers.
func parseKeyStatus(s string) (cwobject.AccessKeyStatus, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "0", "UNSPECIFIED", "INVALID", string(cwobject.AccessKeyStatusUnspecified), "ACCESS_KEY_STATUS_INVALID":
		return cwobject.AccessKeyStatusUnspecified, true
	case "1", "ACTIVE", string(cwobject.AccessKeyStatusActive):
		return cwobject.AccessKeyStatusActive, true
	case "2", "SUSPENDED", string(cwobject.AccessKeyStatusSuspended):
		return cwobject.AccessKeyStatusSuspended, true
	}
	return "", false
}

func (o jsonObject) keyStatus(name string) (cwobject.AccessKeyStatus, *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return cwobject.AccessKeyStatusUnspecified, aerr
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		n, good := parseInt64(v)
		if !good {
			return "", invalidArgument("field %q must be an access key status", name)
		}
		s = strconv.FormatInt(n, 10)
	}
	st, good := parseKeyStatus(s)
	if !good {
		return "", invalidArgument("field %q: unknown access key status %q", name, s)
	}
	return st, nil
}

// Request decoders, one per operation that has a body.

func decodeAuthCanI(body []byte) (cwobject.AuthCanIRequest, *apiError) {
	var req cwobject.AuthCanIRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	if req.Actions, aerr = o.strings("actions"); aerr != nil {
		return req, aerr
	}
	if req.Resources, aerr = o.strings("resources"); aerr != nil {
		return req, aerr
	}
	return req, nil
}

func decodeCreateAccessKeyFromJWT(body []byte) (cwobject.CreateAccessKeyFromJWTRequest, *apiError) {
	var req cwobject.CreateAccessKeyFromJWTRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	if req.DurationSeconds, aerr = o.int64("durationSeconds"); aerr != nil {
		return req, aerr
	}
	req.Attributes, aerr = o.stringMap("attributes")
	return req, aerr
}

func decodeUpdateAccessKeyStatus(body []byte) (cwobject.UpdateAccessKeyStatusRequest, *apiError) {
	var req cwobject.UpdateAccessKeyStatusRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	if req.PrincipalName, aerr = o.str("principalName"); aerr != nil {
		return req, aerr
	}
	req.Status, aerr = o.keyStatus("status")
	return req, aerr
}

func decodePolicy(o jsonObject) (cwobject.Policy, *apiError) {
	var p cwobject.Policy
	var aerr *apiError
	if p.Version, aerr = o.str("version"); aerr != nil {
		return p, aerr
	}
	if p.Name, aerr = o.str("name"); aerr != nil {
		return p, aerr
	}
	stmts, aerr := o.objects("statements")
	if aerr != nil {
		return p, aerr
	}
	for _, so := range stmts {
		var s cwobject.PolicyStatement
		if s.Name, aerr = so.str("name"); aerr != nil {
			return p, aerr
		}
		if s.Effect, aerr = so.str("effect"); aerr != nil {
			return p, aerr
		}
		if s.Actions, aerr = so.strings("actions"); aerr != nil {
			return p, aerr
		}
		if s.Resources, aerr = so.strings("resources"); aerr != nil {
			return p, aerr
		}
		if s.Principals, aerr = so.strings("principals"); aerr != nil {
			return p, aerr
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func decodeEnsureAccessPolicy(body []byte) (cwobject.EnsureAccessPolicyRequest, *apiError) {
	var req cwobject.EnsureAccessPolicyRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	po, ok, aerr := o.object("policy")
	if aerr != nil {
		return req, aerr
	}
	if !ok {
		return req, invalidArgument("field \"policy\" is required")
	}
	req.Policy, aerr = decodePolicy(po)
	return req, aerr
}

func decodeBucketSettings(o jsonObject) (cwobject.BucketSettings, *apiError) {
	var s cwobject.BucketSettings
	var aerr *apiError
	if s.AuditLoggingEnabled, aerr = o.boolPtr("auditLoggingEnabled"); aerr != nil {
		return s, aerr
	}
	if s.ArchiveEnabled, aerr = o.boolPtr("archiveEnabled"); aerr != nil {
		return s, aerr
	}
	if s.ArchiveAfterLastAccessDays, aerr = o.int64Ptr("archiveAfterLastAccessDays"); aerr != nil {
		return s, aerr
	}
	if s.CapacityCapBytes, aerr = o.uint64Ptr("capacityCapBytes"); aerr != nil {
		return s, aerr
	}
	s.ConfiguredCapacityCapBytes, aerr = o.uint64Ptr("configuredCapacityCapBytes")
	return s, aerr
}

func decodeSetBucketSettings(body []byte) (cwobject.SetBucketSettingsRequest, *apiError) {
	var req cwobject.SetBucketSettingsRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	if req.BucketName, aerr = o.str("bucketName"); aerr != nil {
		return req, aerr
	}
	so, ok, aerr := o.object("settings")
	if aerr != nil || !ok {
		return req, aerr
	}
	req.Settings, aerr = decodeBucketSettings(so)
	return req, aerr
}

func decodeSetOrganizationSettings(body []byte) (cwobject.SetOrganizationSettingsRequest, *apiError) {
	var req cwobject.SetOrganizationSettingsRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	so, ok, aerr := o.object("settings")
	if aerr != nil || !ok {
		return req, aerr
	}
	if req.Settings.ControlPlaneAuditLoggingEnabled, aerr = so.boolPtr("controlPlaneAuditLoggingEnabled"); aerr != nil {
		return req, aerr
	}
	req.Settings.BucketAuditLoggingEnabled, aerr = so.boolPtr("bucketAuditLoggingEnabled")
	return req, aerr
}

func decodeRevokeAccessKeyByAccessKey(body []byte) (cwobject.RevokeAccessKeyByAccessKeyRequest, *apiError) {
	var req cwobject.RevokeAccessKeyByAccessKeyRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	req.AccessKey, aerr = o.str("accessKey")
	return req, aerr
}

func decodeRevokeAccessKeysByPrincipal(body []byte) (cwobject.RevokeAccessKeysByPrincipalRequest, *apiError) {
	var req cwobject.RevokeAccessKeysByPrincipalRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	req.PrincipalName, aerr = o.str("principalName")
	return req, aerr
}

func decodeCreateAccessKeyFromOIDC(body []byte) (cwobject.CreateAccessKeyFromOIDCRequest, *apiError) {
	var req cwobject.CreateAccessKeyFromOIDCRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	if req.DurationSeconds, aerr = o.int64("durationSeconds"); aerr != nil {
		return req, aerr
	}
	if req.OrgID, aerr = o.str("orgId"); aerr != nil {
		return req, aerr
	}
	if req.OIDCToken, aerr = o.str("oidcToken"); aerr != nil {
		return req, aerr
	}
	req.Attributes, aerr = o.stringMap("attributes")
	return req, aerr
}

func decodeCreateAccessKeyFromSAML(body []byte) (cwobject.CreateAccessKeyFromSAMLRequest, *apiError) {
	var req cwobject.CreateAccessKeyFromSAMLRequest
	o, aerr := parseObject(body, "request body")
	if aerr != nil {
		return req, aerr
	}
	if req.DurationSeconds, aerr = o.int64("durationSeconds"); aerr != nil {
		return req, aerr
	}
	if req.OrgID, aerr = o.str("orgId"); aerr != nil {
		return req, aerr
	}
	if req.SAMLResponse, aerr = o.str("samlResponse"); aerr != nil {
		return req, aerr
	}
	if req.ConfigID, aerr = o.str("configId"); aerr != nil {
		return req, aerr
	}
	req.Attributes, aerr = o.stringMap("attributes")
	return req, aerr
}

// decodeListQuery reads offset and limit (both required in range) and, when
// withStatus, the status filter.
func decodeListQuery(q map[string][]string, withStatus bool) (offset, limit int, status cwobject.AccessKeyStatus, aerr *apiError) {
	get := func(name string) (string, *apiError) {
		vals := q[name]
		if alt := snakeCase(name); alt != name {
			vals = append(vals, q[alt]...)
		}
		if len(vals) > 1 {
			return "", invalidArgument("query parameter %q is given more than once", name)
		}
		if len(vals) == 0 {
			return "", nil
		}
		return vals[0], nil
	}
	num := func(name string) (int, *apiError) {
		s, aerr := get(name)
		if aerr != nil || s == "" {
			return 0, aerr
		}
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return 0, invalidArgument("query parameter %q must be an integer", name)
		}
		return int(n), nil
	}
	if offset, aerr = num("offset"); aerr != nil {
		return
	}
	if offset < 0 {
		return 0, 0, "", invalidArgument("offset must not be negative")
	}
	if limit, aerr = num("limit"); aerr != nil {
		return
	}
	if limit < cwobject.MinListLimit || limit > cwobject.MaxListLimit {
		return 0, 0, "", invalidArgument("limit must be between %d and %d", cwobject.MinListLimit, cwobject.MaxListLimit)
	}
	status = cwobject.AccessKeyStatusUnspecified
	if withStatus {
		s, aerr2 := get("status")
		if aerr2 != nil {
			return 0, 0, "", aerr2
		}
		st, ok := parseKeyStatus(s)
		if !ok {
			return 0, 0, "", invalidArgument("unknown access key status %q", s)
		}
		status = st
	}
	return offset, limit, status, nil
}
