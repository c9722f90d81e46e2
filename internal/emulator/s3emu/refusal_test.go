package s3emu

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

// TestRefusals checks every refusal's S3 code, status and XML, for requests signed
// by the SDK's signer at the fake clock's time.
func TestRefusals(t *testing.T) {
	h := newHarness(t, false)
	const (
		expired   = "CWEXPIRED0000000"
		revoked   = "CWREVOKED0000000"
		suspended = "CWSUSPENDED00000"
		fresh     = "CWNOTYETVISIBLE0"
		otherSec  = "cwootherotherotherotherotherotherotherothe"
	)
	h.keys.set(expired, otherSec, KeyExpired)
	h.keys.set(revoked, otherSec, KeyRevoked)
	h.keys.set(suspended, otherSec, KeySuspended)
	h.keys.set(fresh, otherSec, KeyNotYetPropagated)
	now := h.clock.Now()

	setHeader := func(k, v string) func(*http.Request) {
		return func(r *http.Request) { r.Header[k] = []string{v} }
	}
	for _, tc := range []struct {
		name      string
		keyID     string
		secret    string // "" leaves the request unsigned
		at        time.Time
		mutate    func(*http.Request)
		afterSign func(*http.Request)
		code      string
		status    int
		inMessage string
	}{
		{name: "unsigned", code: "AccessDenied", status: 403},
		{name: "unknown key", keyID: "CWNOSUCHKEY00000", secret: testSecret, code: "InvalidAccessKeyId", status: 403},
		{name: "wrong secret", keyID: testKeyID, secret: otherSec, code: "SignatureDoesNotMatch", status: 403},
		{name: "expired key", keyID: expired, secret: otherSec, code: "ExpiredToken", status: 400, inMessage: "The provided token has expired."},
		{name: "revoked key", keyID: revoked, secret: otherSec, code: "InvalidAccessKeyId", status: 403},
		{name: "suspended key", keyID: suspended, secret: otherSec, code: "AccessDenied", status: 403},
		{name: "not yet propagated", keyID: fresh, secret: otherSec, code: "InvalidAccessKeyId", status: 403},
		{name: "date 16 minutes behind", keyID: testKeyID, secret: testSecret, at: now.Add(-16 * time.Minute), code: "RequestTimeTooSkewed", status: 403},
		{name: "date 16 minutes ahead", keyID: testKeyID, secret: testSecret, at: now.Add(16 * time.Minute), code: "RequestTimeTooSkewed", status: 403},
		{name: "empty security token", keyID: testKeyID, secret: testSecret, mutate: setHeader("X-Amz-Security-Token", ""),
			code: "InvalidToken", status: 400, inMessage: "present but empty"},
		{name: "foreign security token", keyID: testKeyID, secret: testSecret, mutate: setHeader("X-Amz-Security-Token", "some-token"),
			code: "InvalidToken", status: 400, inMessage: "no session token"},
		{name: "tampered path", keyID: testKeyID, secret: testSecret, afterSign: func(r *http.Request) { r.URL.Path = "/other" },
			code: "SignatureDoesNotMatch", status: 403},
		{name: "unsigned header changed", keyID: testKeyID, secret: testSecret, mutate: setHeader("X-Amz-Meta-A", "1"),
			afterSign: setHeader("X-Amz-Meta-A", "2"), code: "SignatureDoesNotMatch", status: 403},
		{name: "SigV2", afterSign: setHeader("Authorization", "AWS "+testKeyID+":c2lnbmF0dXJl"), code: "InvalidRequest", status: 400},
		{name: "garbled SigV4", afterSign: setHeader("Authorization", "AWS4-HMAC-SHA256 Credential=x"), code: "AuthorizationHeaderMalformed", status: 400},
		{name: "no content sha256", keyID: testKeyID, secret: testSecret, mutate: func(r *http.Request) { r.Header.Del("X-Amz-Content-Sha256") },
			code: "InvalidRequest", status: 400, inMessage: "x-amz-content-sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			if at.IsZero() {
				at = now
			}
			req := h.rawRequest(t, http.MethodGet, "/", nil, tc.keyID, tc.secret, at, tc.mutate, tc.afterSign)
			sentSig := signatureOf(req)
			rep := h.do(t, req)
			if rep.status != tc.status || rep.err.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", rep.status, rep.err.Code, rep.err.Message, tc.status, tc.code)
			}
			if rep.err.RequestID == "" || rep.err.RequestID != rep.header.Get("X-Amz-Request-Id") {
				t.Errorf("RequestId %q, header %q", rep.err.RequestID, rep.header.Get("X-Amz-Request-Id"))
			}
			if !strings.Contains(rep.body, `<Error><Code>`+tc.code+`</Code><Message>`) {
				t.Errorf("body is not S3's error shape: %s", rep.body)
			}
			if tc.inMessage != "" && !strings.Contains(rep.err.Message, tc.inMessage) {
				t.Errorf("message %q lacks %q", rep.err.Message, tc.inMessage)
			}
			for _, secret := range []string{testSecret, otherSec} {
				if strings.Contains(rep.body, secret) {
					t.Error("the error body contains a secret key")
				}
			}
			if sentSig != "" && strings.Contains(rep.body, sentSig) {
				t.Error("the error body echoes the signature")
			}
		})
	}

	if h.logs.FilterMessageSnippet("empty X-Amz-Security-Token").FilterLevelExact(zapcore.WarnLevel).Len() == 0 {
		t.Error("an empty X-Amz-Security-Token was not flagged in the log")
	}
	t.Run("skew inside 15 minutes is fine", func(t *testing.T) {
		for _, d := range []time.Duration{-14 * time.Minute, 14 * time.Minute} {
			rep := h.do(t, h.rawRequest(t, http.MethodGet, "/", nil, testKeyID, testSecret, now.Add(d), nil, nil))
			if rep.status != http.StatusOK {
				t.Errorf("signed %v away: %d %s", d, rep.status, rep.err.Code)
			}
		}
	})
	t.Run("key recovers once propagated", func(t *testing.T) {
		h.keys.set(fresh, otherSec, KeyValid)
		if rep := h.do(t, h.rawRequest(t, http.MethodGet, "/", nil, fresh, otherSec, now, nil, nil)); rep.status != http.StatusOK {
			t.Errorf("propagated key: %d %s", rep.status, rep.err.Code)
		}
	})
	t.Run("signature mismatch shows what the server signed", func(t *testing.T) {
		rep := h.do(t, h.rawRequest(t, http.MethodGet, "/", nil, testKeyID, otherSec, now, nil, nil))
		if !strings.HasPrefix(rep.err.CanonicalRequest, "GET\n/\n") || !strings.HasPrefix(rep.err.StringToSign, "AWS4-HMAC-SHA256\n") ||
			rep.err.AWSAccessKeyID != testKeyID {
			t.Errorf("mismatch details: %+v", rep.err)
		}
	})
}

// TestRegionAndScope checks the credential scope must name this endpoint's region.
func TestRegionAndScope(t *testing.T) {
	// The harness signs for testRegion.
	h := newHarness(t, false, func(c *Config) { c.Region = "US-WEST-01A" })
	rep := h.do(t, h.rawRequest(t, http.MethodGet, "/", nil, testKeyID, testSecret, h.clock.Now(), nil, nil))
	if rep.status != http.StatusBadRequest || rep.err.Code != "AuthorizationHeaderMalformed" || rep.err.Region != "US-WEST-01A" {
		t.Errorf("wrong region: %d %+v", rep.status, rep.err)
	}
}

// TestHeadRefusalHasNoBody checks HEAD refusals carry only the status, as S3's do.
func TestHeadRefusalHasNoBody(t *testing.T) {
	h := newHarness(t, false)
	rep := h.do(t, h.rawRequest(t, http.MethodHead, "/nobucket", nil, "CWNOSUCHKEY00000", testSecret, h.clock.Now(), nil, nil))
	if rep.status != http.StatusForbidden || rep.body != "" {
		t.Errorf("HEAD refusal: %d %q", rep.status, rep.body)
	}
}

// TestPayloadChecks covers the body integrity refusals.
func TestPayloadChecks(t *testing.T) {
	h := newHarness(t, false)
	now := h.clock.Now()
	if rep := h.do(t, h.rawRequest(t, http.MethodPut, "/pbk", nil, testKeyID, testSecret, now, nil, nil)); rep.status != http.StatusOK {
		t.Fatalf("CreateBucket: %d %s", rep.status, rep.err.Code)
	}
	body := []byte("some object data")
	for _, tc := range []struct {
		name   string
		mutate func(*http.Request)
		code   string
	}{
		{"sha256 of other data", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", emptySHA256) }, "XAmzContentSHA256Mismatch"},
		{"wrong Content-MD5", func(r *http.Request) { r.Header.Set("Content-Md5", "1B2M2Y8AsgTpgAmY7PhCfg==") }, "BadDigest"},
		{"garbled Content-MD5", func(r *http.Request) { r.Header.Set("Content-Md5", "nope") }, "InvalidDigest"},
		{"wrong CRC32", func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Crc32", "AAAAAA==") }, "BadDigest"},
		{"wrong SHA256 checksum", func(r *http.Request) { r.Header.Set("X-Amz-Checksum-Sha256", checksumOf("sha256", nil)) }, "BadDigest"},
		{"copy source", func(r *http.Request) { r.Header.Set("X-Amz-Copy-Source", "/pbk/other") }, "NotImplemented"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := h.do(t, h.rawRequest(t, http.MethodPut, "/pbk/key", body, testKeyID, testSecret, now, tc.mutate, nil))
			if rep.err.Code != tc.code {
				t.Errorf("got %d %s (%s), want %s", rep.status, rep.err.Code, rep.err.Message, tc.code)
			}
		})
	}
	t.Run("right checksums are kept", func(t *testing.T) {
		rep := h.do(t, h.rawRequest(t, http.MethodPut, "/pbk/key", body, testKeyID, testSecret, now, func(r *http.Request) {
			r.Header.Set("X-Amz-Checksum-Crc32c", checksumOf("crc32c", body))
			r.Header.Set("X-Amz-Checksum-Crc64nvme", checksumOf("crc64nvme", body))
		}, nil))
		if rep.status != http.StatusOK || rep.header.Get("X-Amz-Checksum-Crc32c") != checksumOf("crc32c", body) {
			t.Fatalf("PutObject: %d %s", rep.status, rep.err.Code)
		}
		rep = h.do(t, h.rawRequest(t, http.MethodGet, "/pbk/key", nil, testKeyID, testSecret, now, func(r *http.Request) {
			r.Header.Set("X-Amz-Checksum-Mode", "ENABLED")
		}, nil))
		if rep.body != string(body) || rep.header.Get("X-Amz-Checksum-Crc64nvme") != checksumOf("crc64nvme", body) {
			t.Errorf("GetObject: %q, CRC64NVME %q", rep.body, rep.header.Get("X-Amz-Checksum-Crc64nvme"))
		}
	})
	t.Run("object too large", func(t *testing.T) {
		small := newHarness(t, false, func(c *Config) { c.MaxObjectBytes = 8 })
		small.do(t, small.rawRequest(t, http.MethodPut, "/pbk", nil, testKeyID, testSecret, small.clock.Now(), nil, nil))
		rep := small.do(t, small.rawRequest(t, http.MethodPut, "/pbk/key", body, testKeyID, testSecret, small.clock.Now(), nil, nil))
		if rep.err.Code != "EntityTooLarge" || rep.status != http.StatusBadRequest {
			t.Errorf("got %d %s", rep.status, rep.err.Code)
		}
	})
}

// TestCRC64NVME pins the polynomial to the published check value of CRC-64/NVME.
func TestCRC64NVME(t *testing.T) {
	h := checksumAlgorithms["crc64nvme"]()
	h.Write([]byte("123456789"))
	if got := h.Sum(nil); string(got) != "\xae\x8b\x14\x86\x0a\x79\x98\x88" {
		t.Errorf("CRC-64/NVME check = %x, want ae8b14860a799888", got)
	}
}

// signatureOf returns the Signature= value of a signed request, if any.
func signatureOf(r *http.Request) string {
	_, sig, ok := strings.Cut(r.Header.Get("Authorization"), "Signature=")
	if !ok {
		return ""
	}
	return sig
}
