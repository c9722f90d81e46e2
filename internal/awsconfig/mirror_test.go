package awsconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// trickyConfigs exercise the corners of both formats. They are also seeds of
// FuzzUpsert.
var trickyConfigs = []string{
	"",
	"\n\n# only comments\n; here\n",
	"[default]\nregion = us-east-1\n",
	"region = x\n",
	"# c\nregion = x\n[a]\n",
	"[a]\n[a]\n",
	"[a]\nx = 1\nX = 2\n",
	"[a]\nnovalue\n",
	"[a]\n= v\n",
	"[a]\n  : v\n",
	"[a]\nk: v\n",
	"[a]\nk : v = w\n",
	"[a]\nk = v\n  cont\n",
	"[a]\nk =\n  x = 1\n  y=2\n",
	"[a]\nk =\n  bad\n",
	"[a]\nk =\n\n  x = 1\n",
	"[a]\nk = v\n\n  more\n",
	"[a]\n  k = v\n  j = w\n",
	"[a]\n  k = v\n j = w\n",
	"[a]\n  k = v\n   [b]\n",
	"[a]\nk = v\n[b]]\nx=1\n",
	"[]\n",
	"[a]\n[]\n",
	"[a] trailing\nk=v\n",
	"[a]\n# c\n; c\n   # indented c\nk=v\n",
	"[DEFAULT]\nregion = d\n[profile x]\nk=v\n",
	"[DEFAULT]\ns3 =\n  bad\n[a]\n",
	"[DEFAULT]\na=1\n[DEFAULT]\nb=2\n[x]\n",
	"[DEFAULT]\na=1\n[DEFAULT]\na=2\n",
	"[profile \"quoted name\"]\nk=v\n",
	"[profile 'unterminated]\nk=v\n",
	"[profile a\\ b]\nk=v\n",
	"[profile \"a\\\"b\"]\nk=v\n",
	"[profile a b]\nk=v\n",
	"[profilex y]\nk=v\n",
	"[ profile x ]\nk=v\n",
	"[profile\tx]\nk=v\n",
	"[profile '']\nk=v\n",
	"[default]\nk=1\n[profile default]\nk=2\n",
	"[profile default]\nk=2\n[default]\nk=1\n",
	"[sso-session s]\nsso_region=x\n[services y]\ns3 =\n  endpoint_url = z\n",
	"[a]\nk = v\u00a0\n",
	"[a]\n\u3000k = v\n",
	"[a]\nk = v\n\u00a0\u00a0more\n",
	"[a]\nkey\t=\tvalue\n",
	"[a]\r\nk = v\r\n\r\n[b]\r\nx =\r\n  y = 1\r\n",
	"[a]\nk = \"quoted\"\n",
	"[a]\nk = v # inline\n",
	"[a]\nk=v\n[b]\nk=v\n",
	"[a]\nnested =\n  x = 1\n  # comment in nested\n  y = 2\n",
	"[a]\nnested =\n  x = 1\n# col0 comment\n  y = 2\n",
	"[a]\nk = v\n\t\tx = 1\n",
	"[a]\n\tk = v\n\t\tc\n",
	"[a]\n[b\n",
	"[profile x]\nregion = us # c\n",
	"[profile x]\nregion = 'q'\n",
	"[profile x]\nregion = \"q\" trailing\n",
	"[profile x]\ns3 =\n  region = y\n",
	"[profile x]\nregion = a\n  region = b\n",
	"[profile x] # c\nregion=a\n",
	"[profile x];c\nregion=a\n",
	"  [profile x]\nregion=a\n",
	"[profile x]\n  region=a\n",
	"[profile x]\nendpoint_url =\n  s3 = y\nregion = r\n",
	"[x]\nregion=a\n[profile x]\nregion=b\n",
	"[profile x]\nregion=a\n[x]\nregion=b\n",
	"[profile profile x]\nregion=a\n[profile x]\nregion=b\n",
	"[profile x]\nregion : us\n",
	"[profile x]\nregion : us = 1\n",
	"[profile x]\ncredential_process = /bin/echo a # b\nendpoint_url = http://x:1/y\n",
	"[profile x]\ncredential_process = \"/opt/a b/c\" --x\n",
	"[profile x]\nregion = a\n[profile x ]\nregion = b\n",
	"[profile x]\nregion = \n  endpoint_url = e\n",
	"[profile cw]\nregion = r\n  # c\n\n",
	"[profile cw]\ns3 =\n",
	"[profile cw]\ns3 = path\n",
	"[profile cw]\ns3 =\n    addressing_style = path\n[profile cw2]\n",
	"[profile cw]\n",
	"[profile cw]\nregion = a",
	"[profile cw]\nregion = a\n   more\n",
	"[profile cw]\n  region = a\n  s3 =\n    addressing_style = path\n  output = json\n",
	"[profile cw]\n  s3 =\n    x = 1\n  region = a\n",
}

// strictOnly are inputs botocore reads but this package refuses on purpose
// (non-ASCII setting names, control characters, lone carriage returns, a broken
// nested value in [DEFAULT] that no section inherits yet).
var strictOnly = []string{
	"[DEFAULT]\ns3 =\n  bad\n",
	"[a]\nкey = v\n",
	"[a]\nk = v\x0b\n",
	"[a]\nk = v\r  w\n",
	"[a]\n# comment\x1c\n",
}

func writeCorpus(t *testing.T, inputs []string) []string {
	t.Helper()
	dir := t.TempDir()
	paths := make([]string, len(inputs))
	for i, in := range inputs {
		paths[i] = writeTemp(t, dir, fmt.Sprintf("c%03d.config", i), []byte(in))
	}
	return paths
}

func corpusWithTestdata(t *testing.T) []string {
	t.Helper()
	inputs := append([]string{}, trickyConfigs...)
	files, err := filepath.Glob(filepath.Join("testdata", "*.config"))
	if err != nil {
		t.Fatal(err)
	}
	goldens, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, goldens...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(StripBOM(b)))
	}
	return inputs
}

// mirrorView renders pyParse's reading in the shape botocore's JSON has.
func mirrorView(in string) (raw, profiles map[string]any, err error) {
	f, err := splitLines([]byte(in))
	if err != nil {
		return nil, nil, err
	}
	doc, err := pyParse(f.lines)
	if err != nil {
		return nil, nil, err
	}
	conv := func(m map[string]pyValue) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			if v.nested != nil {
				n := map[string]any{}
				for nk, nv := range v.nested {
					n[nk] = nv
				}
				out[k] = n
			} else {
				out[k] = v.str
			}
		}
		return out
	}
	view, err := doc.botocoreView()
	if err != nil {
		return nil, nil, err
	}
	raw = map[string]any{}
	for k, v := range view {
		raw[k] = conv(v)
	}
	ps, err := doc.profiles()
	if err != nil {
		return nil, nil, err
	}
	profiles = map[string]any{}
	for k, v := range ps {
		profiles[k] = conv(v)
	}
	return raw, profiles, nil
}

func toAny[V any](m map[string]V) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestPyMirrorMatchesBotocore: for every corpus file, pyParse fails exactly when
// botocore does, and otherwise produces botocore's raw_config_parse and profile map.
func TestPyMirrorMatchesBotocore(t *testing.T) {
	inputs := corpusWithTestdata(t)
	all := append(append([]string{}, inputs...), strictOnly...)
	paths := writeCorpus(t, all)
	jobs := make([]botoJob, len(paths))
	for i, p := range paths {
		jobs[i] = botoJob{Path: p}
	}
	res := runBoto(t, jobs)
	for i, in := range all {
		raw, profiles, err := mirrorView(in)
		strict := i >= len(inputs)
		switch {
		case strict:
			if err == nil {
				t.Errorf("%q: accepted, but it should be refused as unsafe to edit", in)
			}
			if res[i].Error != "" {
				t.Errorf("%q: botocore refuses it (%s); it belongs in trickyConfigs", in, res[i].Error)
			}
		case (err != nil) != (res[i].Error != ""):
			t.Errorf("%q: mirror error %v, botocore error %q", in, err, res[i].Error)
		case err == nil:
			if !reflect.DeepEqual(raw, toAny(res[i].Raw)) {
				t.Errorf("%q: raw view differs\nmirror   %v\nbotocore %v", in, raw, res[i].Raw)
			}
			if !reflect.DeepEqual(profiles, toAny(res[i].Profiles)) {
				t.Errorf("%q: profiles differ\nmirror   %v\nbotocore %v", in, profiles, res[i].Profiles)
			}
		}
	}
}

// TestGoMirrorMatchesSDK: for every corpus file and every profile the mirror
// finds, the real aws-sdk-go-v2 loader reads the same region, credential_process
// and endpoint_url — and it panics exactly where the mirror reports a crash.
func TestGoMirrorMatchesSDK(t *testing.T) {
	inputs := corpusWithTestdata(t)
	paths := writeCorpus(t, inputs)
	compared := 0
	for i, in := range inputs {
		g, err := goParse([]byte(in))
		if err != nil {
			if !strings.Contains(err.Error(), "crashes") {
				t.Fatalf("%q: unexpected mirror error %v", in, err)
			}
			if _, sdkErr := goSDKProfile(paths[i], "x"); sdkErr == nil || !strings.HasPrefix(sdkErr.Error(), "panic:") {
				t.Errorf("%q: mirror predicts a crash, SDK returned %v", in, sdkErr)
			}
			continue
		}
		for name, sect := range g.sections {
			if strings.HasPrefix(name, "sso-session ") || strings.HasPrefix(name, "services ") {
				continue
			}
			cfg, err := goSDKProfile(paths[i], name)
			if err != nil {
				if strings.HasPrefix(err.Error(), "panic:") || isNotExist(err) {
					t.Errorf("%q: profile %q: SDK %v", in, name, err)
				}
				continue // the SDK validates more than the file format
			}
			str := func(k string) string {
				if v := sect.values[k]; v != nil {
					return v.str
				}
				return ""
			}
			got := [3]string{cfg.Region, cfg.CredentialProcess, cfg.BaseEndpoint}
			want := [3]string{str("region"), str("credential_process"), str("endpoint_url")}
			if got != want {
				t.Errorf("%q: profile %q: SDK reads %q, mirror %q", in, name, got, want)
			}
			compared++
		}
	}
	if compared < 40 {
		t.Fatalf("only %d profiles compared: the corpus lost its coverage", compared)
	}
}

func TestShlexSplitMatchesPython(t *testing.T) {
	cases := []string{
		"profile x", "profile  x ", "profile\tx", `profile "a b"`, `profile 'a b'`, `profile a\ b`,
		`profile "a\"b"`, `profile "a\b"`, `profile 'a\b'`, `profile a"b"c`, `profile ''`, `profile ""`,
		`profile 'x`, `profile x\`, `profile "x\`, "profile", "", "  ", `a\\b`, `"\\"`, "profile x y",
		"profile é", `profile "\'"`,
	}
	py := requirePython(t)
	script := "import json, shlex, sys\nout = []\nfor s in json.load(sys.stdin):\n    try:\n        out.append(shlex.split(s))\n    except ValueError as e:\n        out.append(None)\njson.dump(out, sys.stdout)\n"
	in := "["
	for i, c := range cases {
		if i > 0 {
			in += ","
		}
		in += fmt.Sprintf("%q", c)
	}
	in += "]"
	out := runPy(t, py, script, in, 2*time.Minute)
	var want [][]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		got, err := shlexSplit(c)
		if want[i] == nil {
			if err == nil {
				t.Errorf("%q: got %q, Python raises", c, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(nilToEmpty(got), want[i]) {
			t.Errorf("%q: got %q (%v), Python %q", c, got, err, want[i])
		}
	}
}

func nilToEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
