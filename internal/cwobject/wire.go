package cwobject

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file holds the tolerant JSON reader behind every response decoder. It never
// puts a value from the input into an error: response bodies carry secret keys, so
// errors name the field and what was wrong with it, nothing more.

// DecodeError says which field of a JSON document could not be decoded and why.
type DecodeError struct {
	Field  string // dotted path such as "info[2].expiry"; empty for the document itself
	Reason string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "cwobject: malformed JSON: " + e.Reason
	}
	return "cwobject: malformed JSON: field " + e.Field + ": " + e.Reason
}

// wireObject is one JSON object whose keys are folded, so that accessKeyId,
// accessKeyID, access_key_id and AccessKeyId all find the same value.
type wireObject struct {
	fields map[string]json.RawMessage // raw key -> value; JSON nulls dropped
	prefix string
	errp   *error // shared by nested objects: the first error wins
}

// wireDecoder is implemented by every type the client decodes from a response.
type wireDecoder interface {
	fromWire(o *wireObject)
}

// foldKey lower-cases a key and drops '_' and '-'.
func foldKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_' || c == '-':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// describeJSONError turns an encoding/json error into a reason that carries no
// input bytes (UnmarshalTypeError can quote a number from the input).
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "not valid JSON (stopped at byte " + strconv.FormatInt(syn.Offset, 10) + ")"
	}
	return "not valid JSON"
}

// decodeWire decodes one JSON object into dst. field names dst in errors.
func decodeWire(data []byte, field string, dst wireDecoder) error {
	var err error
	o := parseObject(data, field, &err)
	if o != nil {
		dst.fromWire(o)
	}
	return err
}

// parseObject parses data as a JSON object. On failure it records the error in
// *errp and returns nil.
func parseObject(data []byte, prefix string, errp *error) *wireObject {
	fail := func(reason string) *wireObject {
		if *errp == nil {
			*errp = &DecodeError{Field: prefix, Reason: reason}
		}
		return nil
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return fail("empty")
	}
	if t[0] != '{' {
		if !json.Valid(t) {
			return fail("not valid JSON")
		}
		return fail("want a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return fail(describeJSONError(err))
	}
	for k, v := range m {
		if isNull(v) {
			delete(m, k)
		}
	}
	return &wireObject{fields: m, prefix: prefix, errp: errp}
}

func (o *wireObject) path(name string) string {
	if o.prefix == "" {
		return name
	}
	return o.prefix + "." + name
}

func (o *wireObject) fail(name, reason string) {
	if *o.errp == nil {
		*o.errp = &DecodeError{Field: o.path(name), Reason: reason}
	}
}

// get finds a field by its canonical name or any alias: an exact key first, then a
// folded match (the lexically smallest key when several fold alike, so duplicates
// decode the same way every time).
func (o *wireObject) get(names ...string) (json.RawMessage, string, bool) {
	for _, n := range names {
		if v, ok := o.fields[n]; ok {
			return v, names[0], true
		}
	}
	var keys []string
	for k := range o.fields {
		fk := foldKey(k)
		for _, n := range names {
			if fk == foldKey(n) {
				keys = append(keys, k)
				break
			}
		}
	}
	if len(keys) == 0 {
		return nil, names[0], false
	}
	sort.Strings(keys)
	return o.fields[keys[0]], names[0], true
}

// str decodes a string field. Numbers and booleans are refused: no field of this
// API changes type between versions that way.
func (o *wireObject) str(dst *string, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.fail(name, "want a string")
	}
}

// boolean accepts true/false, "true"/"false" and the wrapper form {"value": b}.
func (o *wireObject) boolean(dst **bool, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	b, ok := parseBool(raw)
	if !ok {
		o.fail(name, "want a boolean")
		return
	}
	*dst = &b
}

func parseBool(raw json.RawMessage) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v, err := strconv.ParseBool(strings.TrimSpace(s))
		return v, err == nil
	}
	var w struct {
		Value *bool `json:"value"`
	}
	if json.Unmarshal(raw, &w) == nil && w.Value != nil {
		return *w.Value, true
	}
	return false, false
}

// integerText returns the digits of a 64-bit integer sent as a JSON number or,
// as protojson does, a JSON string. Wrapper objects {"value": n} are unwrapped.
func integerText(raw json.RawMessage) (string, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '{' {
		var w struct {
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(t, &w) != nil || w.Value == nil {
			return "", false
		}
		t = bytes.TrimSpace(w.Value)
	}
	if len(t) > 0 && t[0] == '"' {
		var s string
		if json.Unmarshal(t, &s) != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	var n json.Number
	if json.Unmarshal(t, &n) != nil {
		return "", false
	}
	return n.String(), true
}

func (o *wireObject) int64p(dst **int64, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	s, ok := integerText(raw)
	v, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil {
		o.fail(name, "want a 64-bit integer")
		return
	}
	*dst = &v
}

func (o *wireObject) uint64p(dst **uint64, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	s, ok := integerText(raw)
	v, err := strconv.ParseUint(s, 10, 64)
	if !ok || err != nil {
		o.fail(name, "want an unsigned 64-bit integer")
		return
	}
	*dst = &v
}

func (o *wireObject) uint64v(dst *uint64, names ...string) {
	var p *uint64
	o.uint64p(&p, names...)
	if p != nil {
		*dst = *p
	}
}

// timestamp accepts RFC 3339 with or without fractional seconds; "" is the zero time.
func (o *wireObject) timestamp(dst *time.Time, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		o.fail(name, "want an RFC 3339 timestamp string")
		return
	}
	s = strings.TrimSpace(s)
	if s == "" {
		*dst = time.Time{}
		return
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		o.fail(name, "want an RFC 3339 timestamp")
		return
	}
	*dst = t
}

// strList decodes an array of strings; a single string becomes a one-element list.
func (o *wireObject) strList(dst *[]string, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	l, ok := parseStrList(raw)
	if !ok {
		o.fail(name, "want a list of strings")
		return
	}
	*dst = l
}

func parseStrList(raw json.RawMessage) ([]string, bool) {
	var l []*string
	if json.Unmarshal(raw, &l) == nil {
		out := make([]string, 0, len(l))
		for _, s := range l {
			if s != nil {
				out = append(out, *s)
			}
		}
		return out, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, true
	}
	return nil, false
}

// strMap decodes an object of strings; null values are dropped.
func (o *wireObject) strMap(dst *map[string]string, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	var m map[string]*string
	if json.Unmarshal(raw, &m) != nil {
		o.fail(name, "want an object of strings")
		return
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	*dst = out
}

// multiMap decodes multiAttributes, whose exact JSON is unknown [assume]: each value
// may be {"values": [...]}, a bare list, or a single string.
func (o *wireObject) multiMap(dst *map[string][]string, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		o.fail(name, "want an object of string lists")
		return
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		if isNull(v) {
			continue
		}
		if l, ok := parseStrList(v); ok {
			out[k] = l
			continue
		}
		var w struct {
			Values json.RawMessage `json:"values"`
		}
		if json.Unmarshal(v, &w) == nil {
			if w.Values == nil || isNull(w.Values) {
				out[k] = []string{}
				continue
			}
			if l, ok := parseStrList(w.Values); ok {
				out[k] = l
				continue
			}
		}
		o.fail(name, "want an object of string lists")
		return
	}
	*dst = out
}

// status decodes an access key status given as a name or an enum number.
func (o *wireObject) status(dst *AccessKeyStatus, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		*dst = AccessKeyStatusUnspecified
		return
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			o.fail(name, "want a status name or number")
			return
		}
		s = n.String()
	}
	*dst, _ = ParseAccessKeyStatus(s)
}

// object decodes a nested object into dst. It reports whether the field was there.
func (o *wireObject) object(dst wireDecoder, names ...string) bool {
	raw, name, ok := o.get(names...)
	if !ok {
		return false
	}
	sub := parseObject(raw, o.path(name), o.errp)
	if sub == nil {
		return false
	}
	dst.fromWire(sub)
	return true
}

// wireList decodes a list of objects. A lone object is accepted as a list of one.
func wireList[T any, P interface {
	*T
	wireDecoder
}](o *wireObject, dst *[]T, names ...string) {
	raw, name, ok := o.get(names...)
	if !ok {
		return
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
			items = []json.RawMessage{raw}
		} else {
			o.fail(name, "want a list of objects")
			return
		}
	}
	out := make([]T, 0, len(items))
	for i, item := range items {
		if isNull(item) {
			continue
		}
		sub := parseObject(item, o.path(name)+"["+strconv.Itoa(i)+"]", o.errp)
		if sub == nil {
			return
		}
		var v T
		P(&v).fromWire(sub)
		out = append(out, v)
	}
	*dst = out
}
