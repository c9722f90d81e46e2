package creds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// processOutput is the credential_process document. Field order is the wire order;
// Version is an integer because Go, JS and Java reject the string "1".
type processOutput struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	// Omitted when empty: botocore reads it with .get, the Go SDK and JS fromProcess
	// treat it as optional, so CoreWeave keys without a token need no empty field.
	SessionToken string `json:"SessionToken,omitempty"`
	Expiration   string `json:"Expiration"`
}

// ProcessJSON encodes c as the one JSON object credential_process prints on stdout,
// followed by a newline:
//
//	{"Version":1,"AccessKeyId":"…","SecretAccessKey":"…","SessionToken":"…","Expiration":"2026-11-26T23:00:00Z"}
//
// Expiration is RFC 3339 in UTC with a Z and whole seconds (truncated, so the SDKs
// never believe the keys live longer than they do); SessionToken is left out when
// empty. Errors never contain the secret.
func ProcessJSON(c Credentials) ([]byte, error) {
	if err := checkEncodable(c); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encode appends the trailing newline.
	if err := enc.Encode(processOutput{
		Version:         1,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      FormatExpiration(c.Expiration),
	}); err != nil {
		return nil, fmt.Errorf("could not encode credentials: %w", err)
	}
	return buf.Bytes(), nil
}

// FormatExpiration renders t the way every AWS SDK parses it: RFC 3339, UTC, a Z
// suffix and no fractional seconds (JS's parser requires the Z).
func FormatExpiration(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func checkEncodable(c Credentials) error {
	switch {
	case c.AccessKeyID == "":
		return errors.New("credentials have no access key id: run `cwcreds login` again, and report a bug if it persists")
	case c.SecretAccessKey == "":
		return errors.New("credentials have no secret access key: run `cwcreds login` again, and report a bug if it persists")
	case c.Expiration.IsZero():
		// Without Expiration the SDKs would cache the keys forever.
		return errors.New("credentials have no expiry time: run `cwcreds login` again, and report a bug if it persists")
	case !utf8.ValidString(c.AccessKeyID) || !utf8.ValidString(c.SecretAccessKey) || !utf8.ValidString(c.SessionToken):
		// encoding/json would silently replace the bad bytes, handing SDKs a wrong key.
		return errors.New("credentials contain bytes that are not UTF-8: run `cwcreds login` again, and report a bug if it persists")
	}
	return nil
}
