package cache

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// FuzzDecodeEntry: the decoder of cache files (which anyone who can write the file
// controls) never panics, never accepts what it cannot serve safely, and what it
// accepts survives a round trip.
func FuzzDecodeEntry(f *testing.F) {
	p := keypolicy.Default()
	h := newHeld(mkCreds("AK", epoch.Add(time.Hour)), epoch, time.Hour, p, 0)
	full, _ := encodeEntry(&diskEntry{
		Profile:  "p",
		Current:  toDiskKeys(h),
		Previous: toDiskKeys(newHeld(mkCreds("OLD", epoch.Add(20*time.Minute)), epoch.Add(-40*time.Minute), time.Hour, p, 0)),
		Failure:  &diskFailure{At: epoch, Class: "transient", Message: "503", Count: 2, RetryAt: epoch.Add(time.Second)},
	})
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Add(bytes.Replace(full, []byte(`"version": 2`), []byte(`"version": 1`), 1))
	f.Add([]byte(`{"version":2,"profile":"p"}`))
	f.Add([]byte(`{"version":2,"profile":"p","current":{"access_key_id":"a","secret_access_key":"s","expiration":"2026-01-01T00:00:00Z","fetched_at":"2026-01-01T00:00:00Z","lifetime_ms":-5}}`))
	f.Add([]byte(`{"version":2,"profile":"p","failure":{"at":"2026-01-01T00:00:00Z","class":"weird","message":"x","count":1,"retry_at":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"version":2,"profile":"p"} trailing`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decodeEntry(data, Key{Profile: "p"}, keypolicy.Default())
		if err != nil {
			// Fixed messages only (the version is an int): never a quote of the file.
			if !strings.HasPrefix(err.Error(), "the file ") {
				t.Fatalf("unexpected error text: %v", err)
			}
			return
		}
		for _, k := range []*diskKeys{e.Current, e.Previous} {
			if k != nil && (k.AccessKeyID == "" || k.SecretAccessKey == "" || k.LifetimeMillis <= 0 || time.Duration(k.LifetimeMillis)*time.Millisecond > keypolicy.MaxLifetime+lifetimeSlack ||
				k.Expiration.After(k.FetchedAt.Add(time.Duration(k.LifetimeMillis)*time.Millisecond+lifetimeSlack))) {
				t.Fatalf("accepted unusable keys: %+v", k)
			}
		}
		pr := e.pair(p)
		now := epoch.Add(30 * time.Minute)
		if c, ok := pr.pick(now, p.Floor); ok && (c.Expiration.Sub(now) <= p.Floor) {
			t.Fatalf("would serve keys with %s left", c.Expiration.Sub(now))
		}
		again, err := encodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeEntry(again, Key{Profile: "p"}, keypolicy.Default()); err != nil {
			t.Fatalf("re-encoded entry refused: %v", err)
		}
	})
}

// FuzzFileStem: every profile name maps to a plain file name inside the folder.
func FuzzFileStem(f *testing.F) {
	for _, s := range []string{"default", "../x", "a/b", "..", "%h", "ü", strings.Repeat("y", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, profile string) {
		stem, err := fileStem(profile)
		if profile == "" {
			if err == nil {
				t.Fatal("empty name accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.FromSlash("/cache/cwcreds")
		path := filepath.Join(dir, stem+".json")
		if filepath.Dir(path) != dir || strings.ContainsAny(stem, `/\.:`+"\x00") || len(stem) > maxFileNameBytes+2 {
			t.Fatalf("%q -> %q escapes or is unsafe", profile, stem)
		}
		if !strings.HasPrefix(stem, "%h") && unescapeStem(stem) != profile {
			t.Fatalf("%q -> %q is not reversible", profile, stem)
		}
	})
}

func unescapeStem(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			var c byte
			for _, h := range []byte(s[i+1 : i+3]) {
				c <<= 4
				switch {
				case h >= '0' && h <= '9':
					c |= h - '0'
				case h >= 'A' && h <= 'F':
					c |= h - 'A' + 10
				}
			}
			b.WriteByte(c)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
