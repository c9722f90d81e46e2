package awsconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRemoveUndoesUpsertAndKeepsEverythingElse(t *testing.T) {
	for _, c := range goldenCases {
		if c.stripBOM {
			continue
		}
		t.Run(c.name(), func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", c.name()+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			keys := []string{"credential_process", "s3"}
			out, changed, err := Remove(in, c.profile, keys)
			if err != nil {
				t.Fatal(err)
			}
			if !changed {
				t.Fatal("nothing removed")
			}
			assertPreserved(t, in, out, c.profile)
			p, ok, err := Get(out, c.profile)
			if err != nil || !ok {
				t.Fatalf("profile gone after removing keys: %v %v", ok, err)
			}
			for _, k := range keys {
				if _, has := p.Values[k]; has {
					t.Errorf("%s still there", k)
				}
				if _, has := p.Nested[k]; has {
					t.Errorf("%s still there", k)
				}
			}
			if p.Values["endpoint_url"] == "" && c.settings == nil {
				t.Error("endpoint_url was removed too")
			}
			again, changed, err := Remove(out, c.profile, keys)
			if err != nil || changed || string(again) != string(out) {
				t.Fatalf("second Remove changed the file: %v %v", changed, err)
			}
		})
	}
}

func TestRemoveCases(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"missing profile", "[default]\nregion = a\n", "[default]\nregion = a\n"},
		{"keeps comments in the block", "[profile cw]\ns3 =\n  a = 1\n  # note\n\n  b = 2\nregion = r\n", "[profile cw]\n  # note\n\nregion = r\n"},
		{"keeps no final newline", "[profile cw]\nregion = r\ncredential_process = x", "[profile cw]\nregion = r"},
		{"keeps the BOM", "\xef\xbb\xbf[profile cw]\ncredential_process = x\r\nregion = r\r\n", "\xef\xbb\xbf[profile cw]\nregion = r\r\n"},
		{"every copy of default", "[default]\ncredential_process = a\n[profile default]\ncredential_process = b\nregion = r\n", "[default]\n[profile default]\nregion = r\n"},
		{"header stays when empty", "[profile cw]\ncredential_process = x\n\n[profile z]\n", "[profile cw]\n\n[profile z]\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			profile := "cw"
			if strings.Contains(c.name, "default") {
				profile = "default"
			}
			out, changed, err := Remove([]byte(c.in), profile, []string{"credential_process", "s3"})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want || changed != (c.in != c.want) {
				t.Fatalf("got %q (changed %v), want %q", out, changed, c.want)
			}
		})
	}
	if _, _, err := Remove([]byte("[profile cw]\ncredential_process = a\n  b\n"), "cw", []string{"credential_process"}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("continued value: err = %v", err)
	}
	if _, _, err := Remove([]byte("[profile zero]\nregion = z\n[profile cw]0\ncredential_process = x\n"), "cw", []string{"credential_process"}); err == nil || !strings.Contains(err.Error(), "profile zero") {
		t.Fatalf("header only botocore reads: err = %v", err)
	}
	if _, _, err := Remove([]byte("[profile cw]\n"), "cw", []string{"Bad Key"}); err == nil {
		t.Fatal("bad key accepted")
	}
	if _, _, err := Remove([]byte("[profile cw]\n[profile cw]\n"), "cw", []string{"region"}); err == nil {
		t.Fatal("broken file accepted")
	}
}

func TestGet(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "nested-s3.config"))
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := Get(in, "cw")
	if err != nil || !ok {
		t.Fatalf("Get: %v %v", ok, err)
	}
	want := Profile{
		Name:   "cw",
		Line:   7,
		Values: map[string]string{"region": "US-EAST-04A", "services": "cw-svc", "output": "json"},
		Nested: map[string]map[string]string{"s3": {"max_concurrent_requests": "20", "addressing_style": "path", "multipart_threshold": "64MB"}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v\nwant %+v", p, want)
	}
	if got := p.Keys(); !reflect.DeepEqual(got, []string{"output", "region", "s3", "services"}) {
		t.Fatalf("Keys = %v", got)
	}
	if _, ok, err := Get(in, "nope"); ok || err != nil {
		t.Fatalf("missing profile: %v %v", ok, err)
	}
	// [DEFAULT] keys reach every profile in botocore; the last of [default] and
	// [profile default] wins.
	p, ok, err = Get([]byte("[DEFAULT]\nregion = d\n[default]\nregion = a\n[profile default]\noutput = json\n"), "default")
	if err != nil || !ok || p.Values["region"] != "d" || p.Values["output"] != "json" || p.Line != 5 {
		t.Fatalf("got %+v %v %v", p, ok, err)
	}
	if _, _, err := Get([]byte("region = a\n"), "default"); err == nil {
		t.Fatal("broken file accepted")
	}
	if _, _, err := Get([]byte("\xef\xbb\xbf[default]\n"), "default"); !errors.Is(err, ErrBOM) {
		t.Fatalf("BOM: %v", err)
	}
}
