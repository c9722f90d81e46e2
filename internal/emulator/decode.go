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

// typed decodes field name as a T; must says what it must be, for the error. ok
// is false when the field is absent or null, or on an error.
func typed[T any](o jsonObject, name, must string) (x T, ok bool, aerr *apiError) {
	v, ok, aerr := o.field(name)
	if aerr != nil || !ok {
		return x, false, aerr
	}
	if json.Unmarshal(v, &x) != nil {
		var zero T
		return zero, false, invalidArgument("field %q must be %s", name, must)
	}
	return x, true, nil
}

func (o jsonObject) str(name string) (string, *apiError) {
	s, _, aerr := typed[string](o, name, "a string")
	return s, aerr
}

func (o jsonObject) boolPtr(name string) (*bool, *apiError) {
	b, ok, aerr := typed[bool](o, name, "true or false")
	if !ok {
		return nil, aerr
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
	ss, _, aerr := typed[[]string](o, name, "a list of strings")
	return ss, aerr
}

func (o jsonObject) stringMap(name string) (map[string]string, *apiError) {
	m, _, aerr := typed[map[string]string](o, name, "an object of strings")
	return m, aerr
}

func (o jsonObject) object(name string) (jsonObject, bool, *apiError) {
	sub, ok, aerr := typed[jsonObject](o, name, "an object")
	if ok && sub == nil {
		return nil, false, invalidArgument("field %q must be an object", name)
	}
	return sub, ok, aerr
}

func (o jsonObject) objects(name string) ([]jsonObject, *apiError) {
	list, _, aerr := typed[[]jsonObject](o, name, "a list of objects")
	for _, item := range list {
		if item == nil {
			return nil, invalidArgument("field %q must be a list of objects", name)
		}
	}
	return list, aerr
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

// reader reads the fields of one request object in turn into their places. After
// the first error it reads no more; that error is kept in *errp, which the readers
// of the nested objects share.
type reader struct {
	o    jsonObject
	errp **apiError
}

// bodyReader reads body as the request object.
func bodyReader(body []byte) reader {
	o, aerr := parseObject(body, "request body")
	return reader{o: o, errp: &aerr}
}

// err is the first error met, nil when there was none.
func (r reader) err() *apiError { return *r.errp }

func read[T any](r reader, dst *T, get func(jsonObject, string) (T, *apiError), name string) {
	if *r.errp == nil {
		*dst, *r.errp = get(r.o, name)
	}
}

func (r reader) str(dst *string, name string)       { read(r, dst, jsonObject.str, name) }
func (r reader) strings(dst *[]string, name string) { read(r, dst, jsonObject.strings, name) }
func (r reader) stringMap(dst *map[string]string, name string) {
	read(r, dst, jsonObject.stringMap, name)
}
func (r reader) boolPtr(dst **bool, name string)     { read(r, dst, jsonObject.boolPtr, name) }
func (r reader) int64(dst *int64, name string)       { read(r, dst, jsonObject.int64, name) }
func (r reader) int64Ptr(dst **int64, name string)   { read(r, dst, jsonObject.int64Ptr, name) }
func (r reader) uint64Ptr(dst **uint64, name string) { read(r, dst, jsonObject.uint64Ptr, name) }
func (r reader) keyStatus(dst *cwobject.AccessKeyStatus, name string) {
	read(r, dst, jsonObject.keyStatus, name)
}

// object reads the object field name; ok is false when it is absent or null, or
// on an error.
func (r reader) object(name string) (sub reader, ok bool) {
	sub.errp = r.errp
	if *r.errp == nil {
		sub.o, ok, *r.errp = r.o.object(name)
	}
	return sub, ok
}

// objects reads the list of objects field name (none on an error).
func (r reader) objects(name string) []reader {
	var list []jsonObject
	read(r, &list, jsonObject.objects, name)
	subs := make([]reader, 0, len(list))
	for _, o := range list {
		subs = append(subs, reader{o: o, errp: r.errp})
	}
	return subs
}

// Request decoders, one per operation that has a body.

// decodeBody reads body as the request object into a T with fill, and returns
// the first error fill met.
func decodeBody[T any](body []byte, fill func(r reader, req *T)) (T, *apiError) {
	var req T
	r := bodyReader(body)
	fill(r, &req)
	return req, r.err()
}

func decodeAuthCanI(body []byte) (cwobject.AuthCanIRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.AuthCanIRequest) {
		r.strings(&req.Actions, "actions")
		r.strings(&req.Resources, "resources")
	})
}

func decodeCreateAccessKeyFromJWT(body []byte) (cwobject.CreateAccessKeyFromJWTRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.CreateAccessKeyFromJWTRequest) {
		r.int64(&req.DurationSeconds, "durationSeconds")
		r.stringMap(&req.Attributes, "attributes")
	})
}

func decodeUpdateAccessKeyStatus(body []byte) (cwobject.UpdateAccessKeyStatusRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.UpdateAccessKeyStatusRequest) {
		r.str(&req.PrincipalName, "principalName")
		r.keyStatus(&req.Status, "status")
	})
}

func decodePolicy(r reader, p *cwobject.Policy) {
	r.str(&p.Version, "version")
	r.str(&p.Name, "name")
	for _, sr := range r.objects("statements") {
		var s cwobject.PolicyStatement
		sr.str(&s.Name, "name")
		sr.str(&s.Effect, "effect")
		sr.strings(&s.Actions, "actions")
		sr.strings(&s.Resources, "resources")
		sr.strings(&s.Principals, "principals")
		if r.err() != nil {
			return
		}
		p.Statements = append(p.Statements, s)
	}
}

func decodeEnsureAccessPolicy(body []byte) (cwobject.EnsureAccessPolicyRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.EnsureAccessPolicyRequest) {
		switch pr, ok := r.object("policy"); {
		case ok:
			decodePolicy(pr, &req.Policy)
		case r.err() == nil:
			*r.errp = invalidArgument("field \"policy\" is required")
		}
	})
}

func decodeSetBucketSettings(body []byte) (cwobject.SetBucketSettingsRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.SetBucketSettingsRequest) {
		r.str(&req.BucketName, "bucketName")
		if sr, ok := r.object("settings"); ok {
			s := &req.Settings
			sr.boolPtr(&s.AuditLoggingEnabled, "auditLoggingEnabled")
			sr.boolPtr(&s.ArchiveEnabled, "archiveEnabled")
			sr.int64Ptr(&s.ArchiveAfterLastAccessDays, "archiveAfterLastAccessDays")
			sr.uint64Ptr(&s.CapacityCapBytes, "capacityCapBytes")
			sr.uint64Ptr(&s.ConfiguredCapacityCapBytes, "configuredCapacityCapBytes")
		}
	})
}

func decodeSetOrganizationSettings(body []byte) (cwobject.SetOrganizationSettingsRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.SetOrganizationSettingsRequest) {
		if sr, ok := r.object("settings"); ok {
			sr.boolPtr(&req.Settings.ControlPlaneAuditLoggingEnabled, "controlPlaneAuditLoggingEnabled")
			sr.boolPtr(&req.Settings.BucketAuditLoggingEnabled, "bucketAuditLoggingEnabled")
		}
	})
}

func decodeRevokeAccessKeyByAccessKey(body []byte) (cwobject.RevokeAccessKeyByAccessKeyRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.RevokeAccessKeyByAccessKeyRequest) {
		r.str(&req.AccessKey, "accessKey")
	})
}

func decodeRevokeAccessKeysByPrincipal(body []byte) (cwobject.RevokeAccessKeysByPrincipalRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.RevokeAccessKeysByPrincipalRequest) {
		r.str(&req.PrincipalName, "principalName")
	})
}

func decodeCreateAccessKeyFromOIDC(body []byte) (cwobject.CreateAccessKeyFromOIDCRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.CreateAccessKeyFromOIDCRequest) {
		r.int64(&req.DurationSeconds, "durationSeconds")
		r.str(&req.OrgID, "orgId")
		r.str(&req.OIDCToken, "oidcToken")
		r.stringMap(&req.Attributes, "attributes")
	})
}

func decodeCreateAccessKeyFromSAML(body []byte) (cwobject.CreateAccessKeyFromSAMLRequest, *apiError) {
	return decodeBody(body, func(r reader, req *cwobject.CreateAccessKeyFromSAMLRequest) {
		r.int64(&req.DurationSeconds, "durationSeconds")
		r.str(&req.OrgID, "orgId")
		r.str(&req.SAMLResponse, "samlResponse")
		r.str(&req.ConfigID, "configId")
		r.stringMap(&req.Attributes, "attributes")
	})
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
