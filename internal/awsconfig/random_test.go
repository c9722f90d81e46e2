package awsconfig

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// Line shapes seen in real config files, including the odd ones.
var (
	randHeaders = []string{
		"[default]", "[profile cw]", "[profile  cw]", "[ profile cw ]", "[profile cw ]",
		"[profile x]", "[profile default]", "[sso-session s]", "[services svc]", "[DEFAULT]",
		"[profile cw] ; note", "[profilex cw]", "[other]", "[profile y]\t",
	}
	randKeys = []string{
		"region = r", "Region=r2", "output : json", "credential_process = /old/cwcreds x",
		"endpoint_url = https://old.example", "sso_session = s", "cli_pager =", "  indented = v",
		"\tregion = tab", "role_arn = arn:aws:iam::1:role/x", "region = a # b",
	}
	randNested = []string{"  addressing_style = path", "\tmax_concurrent_requests = 10", "    # nested comment", "  endpoint_url = https://n", ""}
	randOther  = []string{"# comment", "; comment", "   # indented comment", "", "   "}
)

func randomConfig(rng *rand.Rand) string {
	var lines []string
	for s := rng.Intn(5); s >= 0; s-- {
		if rng.Intn(3) == 0 {
			lines = append(lines, randOther[rng.Intn(len(randOther))])
		}
		lines = append(lines, randHeaders[rng.Intn(len(randHeaders))])
		for k := rng.Intn(5); k > 0; k-- {
			switch rng.Intn(5) {
			case 0:
				lines = append(lines, randOther[rng.Intn(len(randOther))])
			case 1:
				lines = append(lines, []string{"s3 =", "dynamodb =", "  s3 ="}[rng.Intn(3)])
				for n := rng.Intn(3); n > 0; n-- {
					lines = append(lines, randNested[rng.Intn(len(randNested))])
				}
			default:
				lines = append(lines, randKeys[rng.Intn(len(randKeys))])
			}
		}
	}
	eol := "\n"
	if rng.Intn(4) == 0 {
		eol = "\r\n"
	}
	out := strings.Join(lines, eol)
	if rng.Intn(5) > 0 {
		out += eol
	}
	return out
}

// TestUpsertRandomConfigsReadByBotocore edits hundreds of random files built
// from real-world line shapes and has the real botocore re-read every result:
// the profile has the new values and every other section reads as before. The
// real Go SDK loads each profile too.
func TestUpsertRandomConfigsReadByBotocore(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	dir := t.TempDir()
	type run struct {
		in, out []byte
		profile string
	}
	var runs []run
	var jobs []botoJob
	tried := 0
	for len(runs) < 150 && tried < 5000 {
		tried++
		in := []byte(randomConfig(rng))
		profile := []string{"cw", "default", "x"}[rng.Intn(3)]
		out, _, err := Upsert(in, profile, stdSettings, stdS3)
		if err != nil {
			continue
		}
		assertPreserved(t, in, out, profile)
		checkOthersUnchanged(t, in, out, profile)
		i := len(runs)
		runs = append(runs, run{in, out, profile})
		outPath := writeTemp(t, dir, fmt.Sprintf("out%d", i), out)
		jobs = append(jobs, botoJob{Path: writeTemp(t, dir, fmt.Sprintf("in%d", i), in)}, botoJob{Path: outPath})
		cfg, err := goSDKProfile(outPath, profile)
		switch {
		case err != nil && (strings.HasPrefix(err.Error(), "panic:") || isNotExist(err)):
			t.Errorf("Go SDK: %v in\n%q", err, out)
		case err == nil && (cfg.CredentialProcess != stdSettings[0].Value || cfg.BaseEndpoint != stdSettings[1].Value || cfg.Region != stdSettings[2].Value):
			t.Errorf("Go SDK reads %q %q %q in\n%q", cfg.CredentialProcess, cfg.BaseEndpoint, cfg.Region, out)
		}
	}
	if len(runs) < 150 {
		t.Fatalf("only %d of %d random files were editable: the generator drifted", len(runs), tried)
	}
	res := runBoto(t, jobs)
	for i, r := range runs {
		before, after := res[2*i], res[2*i+1]
		if before.Error != "" || after.Error != "" {
			t.Errorf("botocore failed (%q / %q) on\n%q\n->\n%q", before.Error, after.Error, r.in, r.out)
			continue
		}
		p := after.Profiles[r.profile]
		for _, s := range stdSettings {
			if p[s.Key] != s.Value {
				t.Errorf("botocore reads %s = %v in\n%q", s.Key, p[s.Key], r.out)
			}
		}
		if s3, _ := p["s3"].(map[string]any); s3 == nil || s3["addressing_style"] != "virtual" {
			t.Errorf("botocore reads s3 = %v in\n%q", p["s3"], r.out)
		}
		for name, v := range before.Raw {
			if prof, ok := profileOf(name); ok && prof == r.profile {
				continue
			}
			if !reflect.DeepEqual(v, after.Raw[name]) {
				t.Errorf("botocore reads [%s] differently: %v -> %v\n%q\n->\n%q", name, v, after.Raw[name], r.in, r.out)
			}
		}
	}
	t.Logf("%d of %d random files edited and re-read by botocore", len(runs), tried)
}
