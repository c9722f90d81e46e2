package exchange

import (
	"crypto/sha256"
	"encoding/hex"
)

// fingerprint is the hex sha256 of an identity input: safe to keep and compare,
// useless to an attacker.
func fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
