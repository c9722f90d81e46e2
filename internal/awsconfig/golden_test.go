package awsconfig

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

var updateGolden = flag.Bool("update-awsconfig-golden", false, "rewrite internal/awsconfig/testdata/*.golden")

type goldenCase struct {
	file     string // testdata/<file>.config
	profile  string
	settings []Setting // nil: stdSettings
	stripBOM bool      // the input has a BOM: expect ErrBOM, then edit StripBOM(input)
}

func (c goldenCase) name() string { return c.file + "." + c.profile }

func (c goldenCase) values() []Setting {
	if c.settings != nil {
		return c.settings
	}
	return stdSettings
}

// A path with spaces and a quote, as CredentialProcessCommand writes it.
var spacedCommand = []Setting{
	{"credential_process", `"/opt/Cw Tools/it's/cwcreds" credential-process --profile cw`},
	{"endpoint_url", "https://cwobject.com"},
	{"region", "US-EAST-04A"},
}

var goldenCases = []goldenCase{
	{file: "sso-sessions", profile: "cw"},
	{file: "sso-sessions", profile: "default"},
	{file: "comments-everywhere", profile: "cw"},
	{file: "comments-everywhere", profile: "default", settings: []Setting{{"region", "US-EAST-04A"}}},
	{file: "crlf", profile: "cw"},
	{file: "tabs", profile: "cw"},
	{file: "no-final-newline", profile: "cw"},
	{file: "no-final-newline-new", profile: "cw"},
	{file: "default-twice", profile: "default"},
	{file: "odd-headers", profile: "cw"},
	{file: "odd-headers", profile: "spaced"},
	{file: "nested-s3", profile: "cw"},
	{file: "nested-s3", profile: "minio"},
	{file: "bom", profile: "cw", stripBOM: true},
	{file: "empty", profile: "cw"},
	{file: "aws-cli-written", profile: "cw", settings: spacedCommand},
	{file: "indented-keys", profile: "cw"},
	{file: "up-to-date", profile: "cw"},
	{file: "mixed-endings", profile: "cw"},
	{file: "mixed-case", profile: "cw"},
}

type goldenRun struct {
	c        goldenCase
	in, out  []byte
	dir      string
	inPath   string
	outPath  string
	settings []Setting
}

// TestUpsertGolden edits real-world-looking config files and checks, for each:
// the exact result (testdata/<file>.<profile>.golden; rewrite with
// -update-awsconfig-golden), that nothing outside the profile changed, that a
// second run changes nothing, and that botocore and the Go SDK read the new
// profile — and every other profile exactly as before.
func TestUpsertGolden(t *testing.T) {
	var runs []*goldenRun
	for _, c := range goldenCases {
		dir := t.TempDir() // outlives the subtest: botocore reads it afterwards
		t.Run(c.name(), func(t *testing.T) {
			runs = append(runs, upsertGoldenOne(t, c, dir))
		})
	}
	if t.Failed() {
		return
	}
	t.Run("botocore", func(t *testing.T) { checkGoldenWithBotocore(t, runs) })
	t.Run("go-sdk", func(t *testing.T) {
		for _, r := range runs {
			checkGoldenWithGoSDK(t, r)
		}
	})
}

func upsertGoldenOne(t *testing.T, c goldenCase, dir string) *goldenRun {
	in, err := os.ReadFile(filepath.Join("testdata", c.file+".config"))
	if err != nil {
		t.Fatal(err)
	}
	if c.stripBOM {
		if _, _, err := Upsert(in, c.profile, c.values(), stdS3); !errors.Is(err, ErrBOM) {
			t.Fatalf("want ErrBOM for a file with a byte-order mark, got %v", err)
		}
		in = StripBOM(in)
	}
	out, changed, err := Upsert(in, c.profile, c.values(), stdS3)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", c.name()+".golden")
	if *updateGolden {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-awsconfig-golden to create it)", err)
	}
	if !bytes.Equal(out, want) {
		t.Fatalf("result differs from %s:\n%s", golden, Diff(want, out))
	}
	if changed != !bytes.Equal(in, out) {
		t.Fatalf("changed = %v, but input and output equal = %v", changed, bytes.Equal(in, out))
	}
	assertPreserved(t, in, out, c.profile)
	again, changed2, err := Upsert(out, c.profile, c.values(), stdS3)
	if err != nil || changed2 || !bytes.Equal(again, out) {
		t.Fatalf("second run not a no-op: changed=%v err=%v\n%s", changed2, err, Diff(out, again))
	}
	return &goldenRun{c: c, in: in, out: out, dir: dir, settings: c.values(),
		inPath:  writeTemp(t, dir, "in.config", in),
		outPath: writeTemp(t, dir, "out.config", out)}
}

func checkGoldenWithBotocore(t *testing.T, runs []*goldenRun) {
	var jobs []botoJob
	for _, r := range runs {
		jobs = append(jobs, botoJob{Path: r.inPath}, botoJob{Path: r.outPath, Profile: r.c.profile})
	}
	res := runBoto(t, jobs)
	for i, r := range runs {
		before, after := res[2*i], res[2*i+1]
		name := r.c.name()
		if before.Error != "" || after.Error != "" {
			t.Errorf("%s: botocore failed: before %q, after %q", name, before.Error, after.Error)
			continue
		}
		p := after.Profiles[r.c.profile]
		for _, s := range r.settings {
			if p[s.Key] != s.Value {
				t.Errorf("%s: botocore reads %s = %v", name, s.Key, p[s.Key])
			}
		}
		if s3, _ := p["s3"].(map[string]any); s3 == nil || s3["addressing_style"] != "virtual" {
			t.Errorf("%s: botocore reads s3 = %v", name, p["s3"])
		}
		wantClient := map[string]any{"endpoint_url": "https://cwobject.com", "region": "US-EAST-04A", "addressing_style": "virtual"}
		if len(r.c.settings) == 1 {
			wantClient["endpoint_url"] = after.Client["endpoint_url"] // only region was written
		}
		if !reflect.DeepEqual(after.Client, wantClient) {
			t.Errorf("%s: botocore S3 client = %v, want %v", name, after.Client, wantClient)
		}
		for prof, v := range before.Profiles {
			if prof != r.c.profile && !reflect.DeepEqual(v, after.Profiles[prof]) {
				t.Errorf("%s: botocore reads profile %s differently after the edit: %v -> %v", name, prof, v, after.Profiles[prof])
			}
		}
		for what, pair := range map[string][2]any{
			"sso-sessions":    {before.Sessions, after.Sessions},
			"services":        {before.Services, after.Services},
			"other sections":  {before.Extra, after.Extra},
			"profile count+1": {len(before.Profiles) + boolInt(before.Profiles[r.c.profile] == nil), len(after.Profiles)},
		} {
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("%s: botocore %s changed: %v -> %v", name, what, pair[0], pair[1])
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkGoldenWithGoSDK loads the profile with aws-sdk-go-v2's real loader, and
// every other profile the Go SDK sees before and after, which must not change.
func checkGoldenWithGoSDK(t *testing.T, r *goldenRun) {
	name := r.c.name()
	got, err := goSDKProfile(r.outPath, r.c.profile)
	if err != nil {
		t.Errorf("%s: Go SDK: %v", name, err)
		return
	}
	want := map[string]string{}
	for _, s := range r.settings {
		want[s.Key] = s.Value
	}
	for key, gotV := range map[string]string{"credential_process": got.CredentialProcess, "endpoint_url": got.BaseEndpoint, "region": got.Region} {
		if w, ok := want[key]; ok && gotV != w {
			t.Errorf("%s: Go SDK reads %s = %q, want %q", name, key, gotV, w)
		}
	}
	g, err := goParse(r.in)
	if err != nil {
		t.Fatal(err)
	}
	// Compare the other profiles through one path so error texts match.
	same := filepath.Join(r.dir, "same.config")
	type loaded struct {
		cfg config.SharedConfig
		err string
	}
	load := func(data []byte, prof string) loaded {
		if err := os.WriteFile(same, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := goSDKProfile(same, prof)
		return loaded{c, fmt.Sprint(err)}
	}
	for prof := range g.sections {
		if prof == r.c.profile || strings.HasPrefix(prof, "sso-session ") || strings.HasPrefix(prof, "services ") {
			continue
		}
		if before, after := load(r.in, prof), load(r.out, prof); !reflect.DeepEqual(before, after) {
			t.Errorf("%s: Go SDK reads profile %s differently after the edit:\n%+v\n%+v", name, prof, before, after)
		}
	}
}
