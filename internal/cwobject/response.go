package cwobject

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/cwcreds/cwcreds/internal/redact"
)

// errBodyTooLarge marks a body cut at MaxResponseBytes; it is never returned as is.
var errBodyTooLarge = errors.New("response body larger than MaxResponseBytes")

func tooLargeReason() string {
	return "body larger than " + strconv.Itoa(MaxResponseBytes) + " bytes"
}

// readBody reads at most MaxResponseBytes. A longer body is an error, never a
// silently truncated document.
func readBody(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxResponseBytes+1))
	if err != nil {
		return data, err
	}
	if len(data) > MaxResponseBytes {
		return data[:MaxResponseBytes], errBodyTooLarge
	}
	return data, nil
}

// mediaType returns the media type of a Content-Type header, without parameters,
// safe to print.
func mediaType(header string) string {
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		mt, _, _ = strings.Cut(header, ";")
	}
	return redact.Text(strings.ToLower(strings.TrimSpace(mt)), nil, 64)
}

// statusError builds the StatusError for a non-2xx answer. Whatever the body is,
// the result says something useful: the server's google.rpc.Status when there is
// one, otherwise what kind of body came back and who probably sent it.
func statusError(op Operation, status int, contentType, retryAfter string, data []byte, readErr error, secrets []string, now time.Time) *StatusError {
	e := &StatusError{
		Op:         op.Name,
		Code:       CodeForHTTPStatus(status),
		HTTPStatus: status,
		RetryAfter: parseRetryAfter(retryAfter, now),
	}
	httpN := "HTTP " + strconv.Itoa(status)
	t := bytes.TrimSpace(data)
	switch {
	case errors.Is(readErr, errBodyTooLarge):
		e.Message = httpN + " with a " + tooLargeReason()
	case readErr != nil:
		e.Message = httpN + "; the body could not be read (connection lost)"
	case len(t) == 0:
		e.Message = httpN + " with an empty body"
	default:
		var st RPCStatus
		err := decodeWire(t, "", &st)
		switch {
		case err == nil && (st.Code != CodeOK || st.Message != ""):
			if st.Code > CodeOK && st.Code <= CodeUnauthenticated {
				e.Code = st.Code
			}
			e.Message = redact.Text(st.Message, secrets, maxMessageBytes)
		case err == nil || json.Valid(t):
			e.Message = httpN + " with a JSON body that is not a google.rpc.Status"
		case t[0] == '{' || t[0] == '[' || strings.Contains(contentType, "json"):
			e.Message = httpN + " with a malformed JSON body"
		default:
			ct := contentType
			if ct == "" {
				ct = "no content type"
			}
			e.Message = httpN + " with a non-JSON body (" + ct + ") — a proxy or load balancer answered, not the CoreWeave API"
		}
	}
	return e
}

// decodeSuccess decodes a 2xx body into out. out == nil means the operation answers
// google.protobuf.Empty: an empty body or any JSON object is fine, but an HTML page
// (a captive portal) is not a success.
func decodeSuccess(op Operation, status int, contentType string, data []byte, out wireDecoder) error {
	bad := func(reason string) error {
		return &MalformedResponseError{Op: op.Name, HTTPStatus: status, ContentType: contentType, Reason: reason}
	}
	t := bytes.TrimSpace(data)
	if out == nil {
		if len(t) == 0 || (t[0] == '{' && json.Valid(t)) {
			return nil
		}
		return bad(notJSONReason(t))
	}
	if len(t) == 0 {
		return bad("empty body")
	}
	if t[0] != '{' && !json.Valid(t) {
		return bad(notJSONReason(t))
	}
	if err := decodeWire(t, "", out); err != nil {
		return bad(decodeReason(err))
	}
	if c, ok := out.(interface{ check() error }); ok {
		if err := c.check(); err != nil {
			return bad(decodeReason(err))
		}
	}
	return nil
}

func notJSONReason(t []byte) string {
	if json.Valid(t) {
		return "want a JSON object"
	}
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return "truncated or invalid JSON"
	}
	return "the body is not JSON; something other than the CoreWeave API answered"
}

func decodeReason(err error) string {
	var de *DecodeError
	if !errors.As(err, &de) {
		return "not valid JSON"
	}
	if de.Field == "" {
		return de.Reason
	}
	return de.Field + ": " + de.Reason
}
