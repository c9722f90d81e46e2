package exchange

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTokenFileErrors(t *testing.T) {
	v := newTestEnv(t)
	good := v.mint("alice", time.Hour)
	expired := v.mintExpired("alice")
	dir := t.TempDir()
	cases := []struct {
		name    string
		content *string
		size    int64
		parts   []string
	}{
		{name: "missing", parts: []string{"does not exist", "no such file"}},
		{name: "empty", content: ptr("  \n"), parts: []string{"is empty"}},
		{name: "too big", content: ptr(good), size: 100, parts: []string{"too big", "larger than 100 bytes"}},
		{name: "not a jwt", content: ptr("hello-opaque-token-value"), parts: []string{"does not hold a JWT", "1 part"}},
		{name: "expired", content: ptr(expired), parts: []string{"expired token", "expired at"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := dir + "/" + strings.ReplaceAll(c.name, " ", "-")
			if c.content != nil {
				writeFile(t, path, *c.content)
			}
			src := &TokenFile{Path: path, MaxBytes: c.size, Clock: v.clock}
			_, err := src.Token(ctx(t))
			wantErr(t, err, true, append([]string{path}, c.parts...)...)
			noSecrets(t, err, good, expired)
		})
	}
	_, err := (&TokenFile{Path: dir, Clock: v.clock}).Token(ctx(t))
	wantErr(t, err, true, "is a folder")
}

func TestTokenFileTrimsAndRereads(t *testing.T) {
	v := newTestEnv(t)
	path := tempPath(t, "token")
	first := v.mint("alice", time.Hour)
	writeFile(t, path, "\n  "+first+"\r\n")
	src := &TokenFile{Path: path, Clock: v.clock}
	got, err := src.Token(ctx(t))
	if err != nil || got != first {
		t.Fatalf("token %v err %v", got == first, err)
	}
	fp1, _ := src.InputFingerprint()
	second := v.mint("bob", time.Hour)
	writeFile(t, path, second)
	if got, _ = src.Token(ctx(t)); got != second {
		t.Fatal("the rotated token was not read")
	}
	fp2, _ := src.InputFingerprint()
	if fp1 == fp2 || strings.Contains(fp1, first[:20]) || len(fp1) != 64 {
		t.Fatalf("fingerprints %q %q", fp1, fp2)
	}
	// The clock moving past exp makes the same file unusable.
	v.clock.Advance(2 * time.Hour)
	_, err = src.Token(ctx(t))
	if !errors.Is(err, ErrExpired) {
		t.Fatalf("err %v, want ErrExpired", err)
	}
	// A missing file has a stable fingerprint that differs from any content.
	os.Remove(path)
	fpA, errA := src.InputFingerprint()
	fpB, _ := src.InputFingerprint()
	if errA != nil || fpA != fpB || fpA == fp2 {
		t.Fatalf("missing-file fingerprints %q %q %v", fpA, fpB, errA)
	}
}

func ptr[T any](v T) *T { return &v }
