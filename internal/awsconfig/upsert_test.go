package awsconfig

import (
	"errors"
	"strings"
	"testing"
)

func TestUpsertRefusesBadArguments(t *testing.T) {
	const secretish = "cwoSECRETISH"
	cases := map[string]struct {
		profile  string
		settings []Setting
		s3       []Setting
	}{
		"empty profile":      {"", stdSettings, stdS3},
		"profile with space": {"a b", stdSettings, stdS3},
		"profile with ]":     {"a]", stdSettings, stdS3},
		"profile with #":     {"a#b", stdSettings, stdS3},
		"profile with quote": {`a"b`, stdSettings, stdS3},
		"long profile":       {strings.Repeat("p", 129), stdSettings, stdS3},
		"nothing to write":   {"cw", nil, nil},
		"upper-case key":     {"cw", []Setting{{"Region", "x"}}, nil},
		"key with space":     {"cw", []Setting{{"a b", "x"}}, nil},
		"s3 as plain":        {"cw", []Setting{{"s3", "x"}}, nil},
		"duplicate key":      {"cw", []Setting{{"region", "a"}, {"region", "b"}}, nil},
		"duplicate nested":   {"cw", nil, []Setting{{"a", "1"}, {"a", "2"}}},
		"empty value":        {"cw", []Setting{{"region", ""}}, nil},
		"value with #":       {"cw", []Setting{{"endpoint_url", secretish + " #x"}}, nil},
		"value with ;":       {"cw", []Setting{{"endpoint_url", secretish + "\t;x"}}, nil},
		"value with newline": {"cw", []Setting{{"region", secretish + "\nx"}}, nil},
		"value with CR":      {"cw", []Setting{{"region", secretish + "\rx"}}, nil},
		"leading space":      {"cw", []Setting{{"region", " " + secretish}}, nil},
		"trailing nbsp":      {"cw", []Setting{{"region", secretish + "\u00a0"}}, nil},
		"double-quoted":      {"cw", []Setting{{"region", `"` + secretish + `"`}}, nil},
		"single-quoted":      {"cw", []Setting{{"region", `'` + secretish + `'`}}, nil},
		"lone quote":         {"cw", []Setting{{"region", `"`}}, nil},
		"invalid utf-8":      {"cw", []Setting{{"region", secretish + "\xff"}}, nil},
		"bad nested value":   {"cw", nil, []Setting{{"addressing_style", secretish + " ;x"}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := Upsert([]byte("[default]\n"), c.profile, c.settings, c.s3)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secretish) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error shows the value or spans lines: %q", err)
			}
		})
	}
}

func TestUpsertRefusesFilesItCannotEditSafely(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"duplicate section", "[default]\nregion = a\n[profile cw]\n[default]\n", []string{"line 4", "line 1", "[default]"}},
		{"duplicate key", "[profile cw]\nregion = a\nREGION = b\n", []string{"line 3", "region"}},
		{"key outside section", "region = a\n[profile cw]\n", []string{"line 1", "outside"}},
		{"junk line", "[profile cw]\nthis is not a setting\n", []string{"line 2"}},
		{"bad nested block", "[profile other]\ns3 =\n  not a pair\n", []string{"line 2", "s3"}},
		{"continued value", "[profile cw]\nregion = a\n   b\n", []string{"line 2", "region", "indented"}},
		{"continued target key in nested form", "[profile cw]\nregion =\n   x = 1\n", []string{"line 2", "region"}},
		{"s3 with plain value", "[profile cw]\ns3 = path\n", []string{"line 2", "s3", "nested"}},
		{"crashes the Go SDK", "[profile other]\nregion = \"\n", []string{"line 2", "AWS SDK for Go"}},
		{"Go reads a later duplicate", "[profile cw]\nregion = a\n\n[ profile  cw ]\nregion = b\n", []string{"line 5", "region", "AWS SDK for Go"}},
		{"lines would land in another Go profile", "[profile zero]\n[profile cw]0\n", []string{"profile zero", "line 2", "AWS SDK for Go"}},
		{"Go sees no header", "[default]\n[profile cw]x\nregion = a\n", []string{"line 2", "AWS SDK for Go", "header"}},
		{"invalid utf-8", "[profile cw]\nregion = \xff\n", []string{"line 2", "UTF-8"}},
		{"control character", "[profile cw]\n# \x1b[31m\n", []string{"line 2", "control"}},
		{"lone CR", "[profile cw]\r\nregion = a\rb\r\n", []string{"line 2", "carriage return"}},
		{"non-ASCII key", "[profile other]\nrégion = a\n", []string{"line 2", "non-ASCII"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, err := Upsert([]byte(c.in), "cw", stdSettings, stdS3)
			if err == nil {
				t.Fatalf("no error; result:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
}

func TestUpsertBOM(t *testing.T) {
	in := []byte("\xef\xbb\xbf[default]\nregion = a\n")
	if _, _, err := Upsert(in, "cw", stdSettings, stdS3); !errors.Is(err, ErrBOM) {
		t.Fatalf("err = %v, want ErrBOM", err)
	}
	if !HasBOM(in) || HasBOM(StripBOM(in)) || string(StripBOM(in)) != string(in[3:]) {
		t.Fatal("HasBOM/StripBOM")
	}
}

func TestUpsertRewritesValuesKeepingStyle(t *testing.T) {
	cases := map[string]string{
		"[profile cw]\nregion=old\n":              "[profile cw]\nregion=new\n",
		"[profile cw]\nregion  :  old  \n":        "[profile cw]\nregion  :  new\n",
		"[profile cw]\nregion =\n":                "[profile cw]\nregion = new\n",
		"[profile cw]\nregion=\n":                 "[profile cw]\nregion=new\n",
		"[profile cw]\n\tRegion\t=\told\n":        "[profile cw]\n\tRegion\t=\tnew\n",
		"[profile cw]\nregion = old # why\n":      "[profile cw]\nregion = new\n",
		"[profile cw]\nregion = old\n[profile x]": "[profile cw]\nregion = new\n[profile x]",
		"[profile cw]\nregion = new\n":            "[profile cw]\nregion = new\n",
		"[profile cw]\nregion = new   \n":         "[profile cw]\nregion = new   \n", // botocore strips: already up to date
	}
	for in, want := range cases {
		out, changed, err := Upsert([]byte(in), "cw", []Setting{{"region", "new"}}, nil)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if string(out) != want || changed != (in != want) {
			t.Errorf("%q: got %q (changed %v), want %q", in, out, changed, want)
		}
	}
}

func TestUpsertNestedOnly(t *testing.T) {
	in := "[profile cw]\nregion = r\n"
	out, _, err := Upsert([]byte(in), "cw", nil, stdS3)
	if err != nil {
		t.Fatal(err)
	}
	if want := in + "s3 =\n    addressing_style = virtual\n"; string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
	// An empty `s3 =` gets its block under it, even when keys follow.
	in = "[profile cw]\ns3 =\nregion = r\n"
	out, _, err = Upsert([]byte(in), "cw", nil, stdS3)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[profile cw]\ns3 =\n    addressing_style = virtual\nregion = r\n"; string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

func TestUpsertNewProfileSpacing(t *testing.T) {
	cases := map[string]string{
		"":                          "[profile cw]\nregion = r\n",
		"[default]\n":               "[default]\n\n[profile cw]\nregion = r\n",
		"[default]\n\n":             "[default]\n\n[profile cw]\nregion = r\n",
		"[default]":                 "[default]\n\n[profile cw]\nregion = r",
		"[default]\r\nk = v\r\n":    "[default]\r\nk = v\r\n\r\n[profile cw]\r\nregion = r\r\n",
		"# just a comment\n":        "# just a comment\n\n[profile cw]\nregion = r\n",
		"[default]\nk = v\n  # c\n": "[default]\nk = v\n  # c\n\n[profile cw]\nregion = r\n",
	}
	for in, want := range cases {
		out, _, err := Upsert([]byte(in), "cw", []Setting{{"region", "r"}}, nil)
		if err != nil || string(out) != want {
			t.Errorf("%q: got %q, %v; want %q", in, out, err, want)
		}
	}
	out, _, err := Upsert(nil, "default", []Setting{{"region", "r"}}, nil)
	if err != nil || string(out) != "[default]\nregion = r\n" {
		t.Fatalf("default profile header: %q, %v", out, err)
	}
}
