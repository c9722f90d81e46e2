package creds

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestContainerJSONExact(t *testing.T) {
	c := Credentials{
		AccessKeyID:     "CWABCDEFGHIJKLMN",
		SecretAccessKey: "cwo-secret/+=",
		SessionToken:    "",
		// Not UTC and with nanoseconds: the body must still say UTC, Z, whole seconds.
		Expiration: time.Date(2026, 11, 27, 0, 0, 0, 999_999_999, time.FixedZone("CET", 3600)),
		Principal:  "role/x",
	}
	want := `{"AccessKeyId":"CWABCDEFGHIJKLMN","SecretAccessKey":"cwo-secret/+=","Token":"","Expiration":"2026-11-26T23:00:00Z"}`
	if got := string(c.ContainerJSON()); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

func TestContainerJSONEscapesLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", `q"uote`, `back\slash`, "ctl\x00\x01\x1f\b\f\n\r\t", "bad\xffutf8", "sep\u2028\u2029", "<&>", "é漢\U0001F600", "\x7f"} {
		checkContainerJSONMatches(t, s, "tok", s)
	}
}

func FuzzContainerJSON(f *testing.F) {
	f.Add("CWKEY", "secret", "", int64(1800000000))
	f.Add("a\"b", "\\\n\u2028", "\xff\xfe", int64(0))
	f.Add("", "", "<tok>", int64(-1))
	f.Fuzz(func(t *testing.T, id, secret, token string, unix int64) {
		// Years after 9999 have no RFC 3339 form and never occur in keys: fold them in.
		secs := int64(uint64(unix) % 253402300800)
		c := Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Expiration: time.Unix(secs, 0)}
		got := c.ContainerJSON()
		want := encodeContainerWithEncodingJSON(t, c)
		if !bytes.Equal(got, want) {
			t.Fatalf("body differs from encoding/json\n got %s\nwant %s", got, want)
		}
	})
}

func checkContainerJSONMatches(t *testing.T, id, secret, token string) {
	t.Helper()
	c := Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Expiration: time.Unix(1800000000, 0)}
	got := c.ContainerJSON()
	if want := encodeContainerWithEncodingJSON(t, c); !bytes.Equal(got, want) {
		t.Errorf("body for %q differs from encoding/json\n got %s\nwant %s", id, got, want)
	}
}

func encodeContainerWithEncodingJSON(t *testing.T, c Credentials) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		AccessKeyID     string `json:"AccessKeyId"`
		SecretAccessKey string
		Token           string
		Expiration      string
	}{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expiration.UTC().Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
