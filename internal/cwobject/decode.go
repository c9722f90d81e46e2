package cwobject

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Tolerant decoders for every type the API returns. Each UnmarshalJSON goes through
// wireObject (wire.go), so all of them accept both accessKeyId spellings, 64-bit
// integers as strings or numbers, RFC 3339 with fractional seconds, and ignore
// unknown fields. Required-field checks live in check methods that only the client
// applies, so other packages can still decode partial values.

// ParseAccessKeyStatus normalises a status written as ACTIVE, active,
// ACCESS_KEY_STATUS_ACTIVE or the enum number 1 (likewise SUSPENDED/2 and
// UNSPECIFIED/INVALID/0/empty, which all mean "unspecified"). For anything else it
// returns the input unchanged and false.
func ParseAccessKeyStatus(s string) (AccessKeyStatus, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimPrefix(u, "ACCESS_KEY_STATUS_")
	switch u {
	case "", "UNSPECIFIED", "INVALID", "0":
		return AccessKeyStatusUnspecified, true
	case "ACTIVE", "1":
		return AccessKeyStatusActive, true
	case "SUSPENDED", "2":
		return AccessKeyStatusSuspended, true
	}
	return AccessKeyStatus(s), false
}

// IsPermanent reports whether the key never expires (the API reports 1970-01-01
// for those; a missing expiry is read the same way).
func (k *AccessKey) IsPermanent() bool {
	return k.Expiry.IsZero() || k.Expiry.Equal(PermanentExpiry)
}

func (k *AccessKey) fromWire(o *wireObject) {
	o.str(&k.AccessKeyID, "accessKeyId")
	o.str(&k.SecretKey, "secretKey", "secretAccessKey")
	o.str(&k.PrincipalName, "principalName")
	o.timestamp(&k.Expiry, "expiry")
	o.strMap(&k.Attributes, "attributes")
}

// UnmarshalJSON decodes an access key tolerantly; errors never quote the input.
func (k *AccessKey) UnmarshalJSON(data []byte) error {
	var v AccessKey
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*k = v
	return nil
}

func (k *AccessKey) check() error {
	switch {
	case k.AccessKeyID == "":
		return &DecodeError{Field: "accessKeyId", Reason: "missing"}
	case k.SecretKey == "":
		return &DecodeError{Field: "secretKey", Reason: "missing"}
	}
	return nil
}

func (c *ContainerCredentials) fromWire(o *wireObject) {
	o.str(&c.AccessKeyID, "AccessKeyId")
	o.str(&c.SecretAccessKey, "SecretAccessKey", "secretKey")
	o.str(&c.Token, "Token", "sessionToken")
	o.timestamp(&c.Expiration, "Expiration", "expiry")
}

// UnmarshalJSON decodes the AWS container-credentials shape tolerantly.
func (c *ContainerCredentials) UnmarshalJSON(data []byte) error {
	var v ContainerCredentials
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*c = v
	return nil
}

// check: Token may be "" or absent [fact]; Expiration is what a credential
// provider refreshes on, so it is required.
func (c *ContainerCredentials) check() error {
	switch {
	case c.AccessKeyID == "":
		return &DecodeError{Field: "AccessKeyId", Reason: "missing"}
	case c.SecretAccessKey == "":
		return &DecodeError{Field: "SecretAccessKey", Reason: "missing"}
	case c.Expiration.IsZero():
		return &DecodeError{Field: "Expiration", Reason: "missing"}
	}
	return nil
}

func (i *AccessKeyInfo) fromWire(o *wireObject) {
	o.str(&i.AccessKeyID, "accessKeyId")
	o.status(&i.Status, "status")
	o.str(&i.PrincipalName, "principalName")
	o.strMap(&i.Attributes, "attributes")
	o.multiMap(&i.MultiAttributes, "multiAttributes")
	o.timestamp(&i.Expiry, "expiry")
	o.str(&i.OrgID, "orgId")
}

// UnmarshalJSON decodes key info tolerantly and normalises Status.
func (i *AccessKeyInfo) UnmarshalJSON(data []byte) error {
	var v AccessKeyInfo
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*i = v
	return nil
}

func (i *AccessKeyInfo) check(field string) error {
	if i.AccessKeyID == "" {
		return &DecodeError{Field: field + "accessKeyId", Reason: "missing"}
	}
	return nil
}

func (s *PolicyStatement) fromWire(o *wireObject) {
	o.str(&s.Name, "name")
	o.str(&s.Effect, "effect")
	o.strList(&s.Actions, "actions")
	o.strList(&s.Resources, "resources")
	o.strList(&s.Principals, "principals")
}

// UnmarshalJSON decodes a policy statement tolerantly. Effect is kept as sent,
// even when it is not Allow or Deny.
func (s *PolicyStatement) UnmarshalJSON(data []byte) error {
	var v PolicyStatement
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*s = v
	return nil
}

func (p *Policy) fromWire(o *wireObject) {
	o.str(&p.Version, "version")
	o.str(&p.Name, "name")
	wireList(o, &p.Statements, "statements")
}

// UnmarshalJSON decodes a policy tolerantly. Version is kept as sent.
func (p *Policy) UnmarshalJSON(data []byte) error {
	var v Policy
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*p = v
	return nil
}

func (s *BucketSettings) fromWire(o *wireObject) {
	o.boolean(&s.AuditLoggingEnabled, "auditLoggingEnabled")
	o.boolean(&s.ArchiveEnabled, "archiveEnabled")
	o.int64p(&s.ArchiveAfterLastAccessDays, "archiveAfterLastAccessDays")
	o.uint64p(&s.CapacityCapBytes, "capacityCapBytes")
	o.uint64p(&s.ConfiguredCapacityCapBytes, "configuredCapacityCapBytes")
}

// UnmarshalJSON decodes bucket settings tolerantly (integers as strings or numbers,
// booleans bare or wrapped).
func (s *BucketSettings) UnmarshalJSON(data []byte) error {
	var v BucketSettings
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*s = v
	return nil
}

func (u *BucketUsage) fromWire(o *wireObject) {
	o.str(&u.MeasurementType, "measurementType")
	o.uint64v(&u.Value, "value")
	o.str(&u.ValueHumanReadable, "valueHumanReadable")
}

// UnmarshalJSON decodes a usage measurement tolerantly.
func (u *BucketUsage) UnmarshalJSON(data []byte) error {
	var v BucketUsage
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*u = v
	return nil
}

func (b *BucketInfo) fromWire(o *wireObject) {
	o.str(&b.OrgID, "orgId")
	o.str(&b.Name, "name", "bucketName")
	o.timestamp(&b.CreationTime, "creationTime")
	o.object(&b.Settings, "settings")
	o.str(&b.Location, "location")
	wireList(o, &b.Usage, "usage")
}

// UnmarshalJSON decodes bucket info tolerantly.
func (b *BucketInfo) UnmarshalJSON(data []byte) error {
	var v BucketInfo
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*b = v
	return nil
}

func (b *BucketInfo) check(field string) error {
	if b.Name == "" {
		return &DecodeError{Field: field + "name", Reason: "missing"}
	}
	return nil
}

func (s *OrganizationSettings) fromWire(o *wireObject) {
	o.boolean(&s.ControlPlaneAuditLoggingEnabled, "controlPlaneAuditLoggingEnabled")
	o.boolean(&s.BucketAuditLoggingEnabled, "bucketAuditLoggingEnabled")
}

// UnmarshalJSON decodes organization settings tolerantly.
func (s *OrganizationSettings) UnmarshalJSON(data []byte) error {
	var v OrganizationSettings
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*s = v
	return nil
}

// protojson leaves out false booleans, so a missing verdict is false.
func (r *AuthCanIResponse) fromWire(o *wireObject) {
	var v *bool
	o.boolean(&v, "verdict")
	r.Verdict = v != nil && *v
}

// UnmarshalJSON decodes the can-i answer; a missing verdict is false.
func (r *AuthCanIResponse) UnmarshalJSON(data []byte) error {
	var v AuthCanIResponse
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*r = v
	return nil
}

func (r *SetBucketSettingsResponse) fromWire(o *wireObject) {
	o.object(&r.Settings, "settings")
}

// UnmarshalJSON decodes the SetBucketSettings answer tolerantly.
func (r *SetBucketSettingsResponse) UnmarshalJSON(data []byte) error {
	var v SetBucketSettingsResponse
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*r = v
	return nil
}

func (r *SetOrganizationSettingsResponse) fromWire(o *wireObject) {
	o.object(&r.Settings, "settings")
}

// UnmarshalJSON decodes the SetOrganizationSettings answer tolerantly.
func (r *SetOrganizationSettingsResponse) UnmarshalJSON(data []byte) error {
	var v SetOrganizationSettingsResponse
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*r = v
	return nil
}

// codeByName maps folded code names ("PERMISSION_DENIED", "PermissionDenied")
// to codes, for servers that spell the code instead of numbering it.
func codeByName(s string) (Code, bool) {
	f := foldKey(strings.TrimSpace(s))
	if f == "cancelled" {
		return CodeCanceled, true
	}
	for i, n := range codeNames {
		if foldKey(n) == f {
			return Code(i), true
		}
	}
	return 0, false
}

func (s *RPCStatus) fromWire(o *wireObject) {
	if raw, name, ok := o.get("code"); ok {
		c, ok := parseCode(raw)
		if !ok {
			o.fail(name, "want a status code")
			return
		}
		s.Code = c
	}
	o.str(&s.Message, "message")
	if s.Message == "" {
		// grpc-gateway v1 also sent {"error": "..."}.
		o.str(&s.Message, "error")
	}
	// details are kept only when they are a list; their shape is not ours to judge.
	if raw, _, ok := o.get("details"); ok {
		var d []any
		if json.Unmarshal(raw, &d) == nil {
			s.Details = d
		}
	}
}

// parseCode reads a status code given as a number, a numeric string or a name.
func parseCode(raw json.RawMessage) (Code, bool) {
	t, ok := integerText(raw)
	if !ok {
		return 0, false
	}
	if n, err := strconv.ParseInt(t, 10, 32); err == nil {
		return Code(n), true
	}
	return codeByName(t)
}

// UnmarshalJSON decodes a google.rpc.Status tolerantly (code as a number, a numeric
// string or a name; message also from "error").
func (s *RPCStatus) UnmarshalJSON(data []byte) error {
	var v RPCStatus
	if err := decodeWire(data, "", &v); err != nil {
		return err
	}
	*s = v
	return nil
}

// Response envelopes that exist only on the client side.

type accessKeyInfoList struct{ Info []AccessKeyInfo }

func (l *accessKeyInfoList) fromWire(o *wireObject) { wireList(o, &l.Info, "info") }
func (l *accessKeyInfoList) check() error {
	for i := range l.Info {
		if err := l.Info[i].check("info[" + itoa(i) + "]."); err != nil {
			return err
		}
	}
	return nil
}

type accessKeyInfoOne struct {
	Info    AccessKeyInfo
	present bool
}

func (e *accessKeyInfoOne) fromWire(o *wireObject) { e.present = o.object(&e.Info, "info") }
func (e *accessKeyInfoOne) check() error {
	if !e.present {
		return &DecodeError{Field: "info", Reason: "missing"}
	}
	return e.Info.check("info.")
}

type policyList struct{ Policies []Policy }

func (l *policyList) fromWire(o *wireObject) { wireList(o, &l.Policies, "policies") }
func (l *policyList) check() error {
	for i, p := range l.Policies {
		if p.Name == "" {
			return &DecodeError{Field: "policies[" + itoa(i) + "].name", Reason: "missing"}
		}
	}
	return nil
}

type bucketInfoList struct{ Info []BucketInfo }

func (l *bucketInfoList) fromWire(o *wireObject) { wireList(o, &l.Info, "info") }
func (l *bucketInfoList) check() error {
	for i := range l.Info {
		if err := l.Info[i].check("info[" + itoa(i) + "]."); err != nil {
			return err
		}
	}
	return nil
}

type bucketInfoOne struct {
	Info    BucketInfo
	present bool
}

func (e *bucketInfoOne) fromWire(o *wireObject) { e.present = o.object(&e.Info, "info") }
func (e *bucketInfoOne) check() error {
	if !e.present {
		return &DecodeError{Field: "info", Reason: "missing"}
	}
	return e.Info.check("info.")
}
