package awsconfig

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var fuzzProfiles = []string{"cw", "default", "x"}

// FuzzUpsert: for any input, Upsert either returns a one-line error or a file
// that both readers (the botocore mirror and the real Go SDK) read with the new
// values, in which every line outside the profile is unchanged and every other
// section means what it meant, and on which a second Upsert changes nothing.
func FuzzUpsert(f *testing.F) {
	for _, c := range trickyConfigs {
		for i := range fuzzProfiles {
			f.Add([]byte(c), uint8(i))
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.config"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint8(0))
			f.Add(b, uint8(1))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		profile := fuzzProfiles[int(which)%len(fuzzProfiles)]
		out, changed, err := Upsert(data, profile, stdSettings, stdS3)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if changed != !bytes.Equal(data, out) {
			t.Fatalf("changed = %v but bytes equal = %v", changed, bytes.Equal(data, out))
		}
		checkReadsBack(t, out, profile)
		assertPreserved(t, data, out, profile)
		checkOthersUnchanged(t, data, out, profile)
		again, changed2, err := Upsert(out, profile, stdSettings, stdS3)
		if err != nil || changed2 || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: changed=%v err=%v\n%s", changed2, err, Diff(out, again))
		}
		checkRemove(t, out, profile)
		path := writeTemp(t, t.TempDir(), "config", out)
		cfg, err := goSDKProfile(path, profile)
		switch {
		case err != nil && (strings.HasPrefix(err.Error(), "panic:") || isNotExist(err)):
			t.Fatalf("Go SDK: %v\n%q", err, out)
		case err == nil:
			if cfg.CredentialProcess != stdSettings[0].Value || cfg.BaseEndpoint != stdSettings[1].Value || cfg.Region != stdSettings[2].Value {
				t.Fatalf("Go SDK reads %q %q %q\n%q", cfg.CredentialProcess, cfg.BaseEndpoint, cfg.Region, out)
			}
		}
	})
}

// checkRemove takes the cwcreds keys out of a file Upsert wrote: it must work,
// touch nothing outside the profile, and leave the profile without them.
func checkRemove(t *testing.T, out []byte, profile string) {
	t.Helper()
	keys := []string{"credential_process", "s3"}
	removed, changed, err := Remove(out, profile, keys)
	if err != nil {
		t.Fatalf("Remove after Upsert: %v\n%q", err, out)
	}
	if !changed {
		t.Fatalf("Remove after Upsert changed nothing\n%q", out)
	}
	assertPreserved(t, out, removed, profile)
	p, ok, err := Get(removed, profile)
	if err != nil || !ok {
		t.Fatalf("Get after Remove: %v %v", ok, err)
	}
	if _, has := p.Values["credential_process"]; has {
		t.Fatalf("credential_process survived Remove\n%q", removed)
	}
	if _, has := p.Nested["s3"]; has {
		t.Fatalf("s3 survived Remove\n%q", removed)
	}
}

// checkReadsBack re-reads out with the botocore mirror, independently of
// Upsert's own verification.
func checkReadsBack(t *testing.T, out []byte, profile string) {
	t.Helper()
	_, profiles, err := mirrorView(string(out))
	if err != nil {
		t.Fatalf("output does not parse: %v\n%q", err, out)
	}
	p, _ := profiles[profile].(map[string]any)
	for _, s := range stdSettings {
		if p[s.Key] != s.Value {
			t.Fatalf("botocore mirror reads %s = %v\n%q", s.Key, p[s.Key], out)
		}
	}
	if s3, _ := p["s3"].(map[string]any); s3 == nil || s3["addressing_style"] != "virtual" {
		t.Fatalf("botocore mirror reads s3 = %v\n%q", p["s3"], out)
	}
}

// checkOthersUnchanged compares every section other than the profile's, as
// both mirrors read them, before and after.
func checkOthersUnchanged(t *testing.T, in, out []byte, profile string) {
	t.Helper()
	rawIn, _, err := mirrorView(string(StripBOM(in)))
	if err != nil {
		t.Fatal(err)
	}
	rawOut, _, err := mirrorView(string(out))
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range rawOut {
		if p, ok := profileOf(name); ok && p == profile {
			delete(rawOut, name)
			continue
		}
		if !reflect.DeepEqual(v, rawIn[name]) {
			t.Fatalf("botocore mirror: section [%s] changed: %v -> %v", name, rawIn[name], v)
		}
	}
	for name := range rawIn {
		if p, ok := profileOf(name); !(ok && p == profile) && rawOut[name] == nil {
			t.Fatalf("botocore mirror: section [%s] disappeared", name)
		}
	}
	gIn, err := goParse(in)
	if err != nil {
		t.Fatal(err)
	}
	gOut, err := goParse(out)
	if err != nil {
		t.Fatal(err)
	}
	flat := func(s *goSection) map[string]any {
		m := map[string]any{}
		if s != nil {
			for k, v := range s.values {
				m[k] = [2]any{v.str, v.mp}
			}
		}
		return m
	}
	for name, s := range gIn.sections {
		if name != profile && !reflect.DeepEqual(flat(s), flat(gOut.sections[name])) {
			t.Fatalf("Go mirror: section %q changed: %v -> %v", name, flat(s), flat(gOut.sections[name]))
		}
	}
}
