// Package creds holds Credentials, the one value every layer of cwcreds shares:
// what an exchange returns, what the cache keeps, what the delivery modes encode.
package creds

import (
	"fmt"
	"time"

	"go.uber.org/zap/zapcore"
)

// Credentials are S3 access keys. SecretAccessKey and SessionToken are secrets: the
// type's String, GoString and zap encodings show only the key id, the principal and
// the expiry, so a stray %v or log field cannot leak them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // often empty: CoreWeave keys need no session token
	Expiration      time.Time
	Principal       string // e.g. role/<iss>:<sub>; empty when the exchange does not say
}

// Valid reports whether the credentials are complete and have more than floor left at now.
func (c Credentials) Valid(now time.Time, floor time.Duration) bool {
	return c.AccessKeyID != "" && c.SecretAccessKey != "" && c.Expiration.Sub(now) > floor
}

// Remaining is the time left at now.
func (c Credentials) Remaining(now time.Time) time.Duration { return c.Expiration.Sub(now) }

func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{AccessKeyID:%s Principal:%s Expiration:%s}",
		c.AccessKeyID, c.Principal, c.Expiration.UTC().Format(time.RFC3339))
}

// GoString keeps %#v from printing the secret.
func (c Credentials) GoString() string { return c.String() }

// MarshalLogObject lets zap.Object("credentials", c) log the safe fields only.
func (c Credentials) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("access_key_id", c.AccessKeyID)
	if c.Principal != "" {
		enc.AddString("principal", c.Principal)
	}
	enc.AddTime("expiration", c.Expiration)
	return nil
}
