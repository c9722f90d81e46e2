package awsconfig

import (
	"reflect"
	"testing"
)

func TestProfiles(t *testing.T) {
	in := []byte("[default]\nregion = a\n[profile cw]\ncredential_process = /bin/cwcreds credential-process --profile ci\n[profile \"odd\" x]\n[sso-session s]\nsso_region = b\n")
	ps, err := Profiles(in)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if !reflect.DeepEqual(names, []string{"cw", "default"}) {
		t.Fatalf("profiles %v", names)
	}
	if ps[0].Values["credential_process"] != "/bin/cwcreds credential-process --profile ci" || ps[0].Line != 3 {
		t.Fatalf("cw: %+v", ps[0])
	}
	if _, err := Profiles([]byte("\ufeff[default]\n")); err != ErrBOM {
		t.Fatalf("BOM: %v", err)
	}
}

func TestCredentialsProfile(t *testing.T) {
	in := []byte("[DEFAULT]\naws_session_token = t\n[default]\naws_access_key_id = A\n\n[cw]\naws_access_key_id = B\naws_secret_access_key = S\n[profile cw]\naws_access_key_id = C\n")
	p, ok, err := CredentialsProfile(in, "cw")
	if err != nil || !ok {
		t.Fatalf("cw: %v %v", ok, err)
	}
	want := map[string]string{"aws_access_key_id": "B", "aws_secret_access_key": "S", "aws_session_token": "t"}
	if !reflect.DeepEqual(p.Values, want) || p.Line != 6 {
		t.Fatalf("cw: line %d values %v", p.Line, p.Values)
	}
	if _, ok, _ := CredentialsProfile(in, "nope"); ok {
		t.Fatal("nope found")
	}
	if _, _, err := CredentialsProfile([]byte("[a]\nk = 1\n[a]\n"), "a"); err == nil {
		t.Fatal("a duplicate section, which botocore refuses, was accepted")
	}
}

func TestSplitCommand(t *testing.T) {
	got, err := SplitCommand(`"/opt/my tools/cwcreds" credential-process --profile ci`)
	if err != nil || !reflect.DeepEqual(got, []string{"/opt/my tools/cwcreds", "credential-process", "--profile", "ci"}) {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := SplitCommand(`"unclosed`); err == nil {
		t.Fatal("an unclosed quote split")
	}
}

func FuzzCredentialsProfile(f *testing.F) {
	f.Add([]byte("[default]\naws_access_key_id = A\n"), "default")
	f.Add([]byte("[DEFAULT]\nx=1\n[a]\ns =\n  k = v\n"), "a")
	f.Fuzz(func(t *testing.T, data []byte, profile string) {
		p, ok, err := CredentialsProfile(data, profile)
		if err == nil && ok && p.Name != profile {
			t.Fatalf("asked %q, got %q", profile, p.Name)
		}
		_, _ = Profiles(data)
	})
}
