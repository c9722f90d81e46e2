package creds

import (
	"time"
	"unicode/utf8"
)

// AppendContainerJSON appends the body the container-credentials endpoint sends for
// c (AWS_CONTAINER_CREDENTIALS_FULL_URI; see aws-compat.md §1):
//
//	{"AccessKeyId":"…","SecretAccessKey":"…","Token":"…","Expiration":"2026-11-26T23:00:00Z"}
//
// Token is always present, empty when the keys have no session token: botocore, JS
// and Rust require the field. Expiration is UTC with a Z and no fractional seconds
// (JS's parser requires the Z); sub-second precision is dropped, which only makes the
// keys look a little shorter-lived. Strings are escaped exactly as encoding/json does
// without HTML escaping, so the result decodes everywhere. It is hand-written because
// the endpoint encodes on a hot path and reflection would dominate its cost.
func AppendContainerJSON(dst []byte, c Credentials) []byte {
	dst = append(dst, `{"AccessKeyId":`...)
	dst = appendContainerQuoted(dst, c.AccessKeyID)
	dst = append(dst, `,"SecretAccessKey":`...)
	dst = appendContainerQuoted(dst, c.SecretAccessKey)
	dst = append(dst, `,"Token":`...)
	dst = appendContainerQuoted(dst, c.SessionToken)
	dst = append(dst, `,"Expiration":"`...)
	dst = c.Expiration.UTC().AppendFormat(dst, time.RFC3339)
	return append(dst, `"}`...)
}

// ContainerJSON returns the container-credentials body for c. It holds the secret:
// write it to the caller that asked for it and nowhere else.
func (c Credentials) ContainerJSON() []byte {
	return AppendContainerJSON(make([]byte, 0, 96+len(c.AccessKeyID)+len(c.SecretAccessKey)+len(c.SessionToken)), c)
}

const containerHex = "0123456789abcdef"

// appendContainerQuoted appends s as a JSON string, byte-for-byte as encoding/json
// encodes it with SetEscapeHTML(false): short escapes for \ " \b \f \n \r \t,
// \u00XX for other control bytes, \ufffd for invalid UTF-8, \u2028 and \u2029.
func appendContainerQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', containerHex[b>>4], containerHex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', containerHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
