//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/doctor"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/fastpath"
)

var updateDoctorGolden = flag.Bool("update-doctor-golden", false, "rewrite internal/cli/testdata/doctor/*")

// otherVersion is the version of the second cwcreds the version case builds.
const otherVersion = "0.0.1-other"

// TestDoctorBinary runs `cwcreds doctor` from the built binary against the
// emulator, with each problem it names set up for real, and compares its
// outputs with golden files.
func TestDoctorBinary(t *testing.T) {
	bin := buildCwcreds(t)
	other := buildOtherVersion(t)
	// Each case has its own emulator and folders: they run side by side.
	for _, tc := range doctorCases(bin, other) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runDoctorCase(t, bin, other, tc)
		})
	}
	t.Run("ExitCodes", func(t *testing.T) {
		t.Parallel()
		testDoctorExitCodes(t, bin)
	})
}

// doctorCase sets up a world and says what doctor must find: the status of
// every step, in order, and a phrase of each problem.
type doctorCase struct {
	name string
	// setup prepares the world (after the AWS profile default is configured for
	// cwcreds profile default) and returns extra environment entries.
	setup func(t *testing.T, w *world) []string
	want  map[string]doctor.Status // steps not named must be ok
	says  map[string]string        // step id -> phrase of its problem or fix
	// propagation is how long the emulator's S3 side refuses a new key (and the
	// profile's propagation_delay).
	propagation time.Duration
}

func doctorCases(bin, other string) []doctorCase {
	const (
		problem = doctor.StatusProblem
		skipped = doctor.StatusSkipped
	)
	return []doctorCase{
		{name: "all-ok"},
		{name: "propagation-delay", propagation: 2 * time.Second},
		{
			name: "env-access-key",
			setup: func(*testing.T, *world) []string {
				return []string{"AWS_ACCESS_KEY_ID=AKIAEXAMPLEEXAMPLE", "AWS_SECRET_ACCESS_KEY=not-a-real-secret"}
			},
			want: map[string]doctor.Status{doctor.StepAWSEnvironment: problem},
			says: map[string]string{doctor.StepAWSEnvironment: "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY"},
		},
		{
			name: "aws-profile-elsewhere",
			setup: func(t *testing.T, w *world) []string {
				appendFile(t, w.env["AWS_CONFIG_FILE"], "\n[profile other]\ncredential_process = /usr/bin/aws-vault export --format=json other\n")
				return []string{"AWS_PROFILE=other"}
			},
			want: map[string]doctor.Status{doctor.StepAWSProfile: problem, doctor.StepCredentialProcess: skipped},
			says: map[string]string{doctor.StepAWSProfile: "export AWS_PROFILE=default, whose credential_process runs cwcreds profile default"},
		},
		{
			name:  "aws-profile-missing",
			setup: func(*testing.T, *world) []string { return []string{"AWS_PROFILE=nowhere"} },
			want:  map[string]doctor.Status{doctor.StepAWSProfile: problem, doctor.StepCredentialProcess: skipped},
			says:  map[string]string{doctor.StepAWSProfile: "names a profile that is in neither"},
		},
		{
			name: "container-variable",
			setup: func(t *testing.T, w *world) []string {
				renameAWSProfile(t, w, "default", "cw")
				return []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}
			},
			want: map[string]doctor.Status{doctor.StepAWSProfile: problem, doctor.StepCredentialProcess: skipped},
			says: map[string]string{doctor.StepAWSProfile: "export AWS_PROFILE=cw"},
		},
		{
			name: "container-relative-uri",
			setup: func(t *testing.T, w *world) []string {
				renameAWSProfile(t, w, "default", "cw")
				return []string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task", "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9911/v1/credentials"}
			},
			want: map[string]doctor.Status{doctor.StepAWSProfile: problem, doctor.StepCredentialProcess: skipped},
			says: map[string]string{doctor.StepAWSProfile: "RELATIVE_URI wins over"},
		},
		{
			name: "credentials-file-static-keys",
			setup: func(t *testing.T, w *world) []string {
				putFile(t, w.env["AWS_SHARED_CREDENTIALS_FILE"], "[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE\naws_secret_access_key = not-a-real-secret\n")
				return nil
			},
			want: map[string]doctor.Status{doctor.StepAWSProfile: problem, doctor.StepCredentialProcess: skipped},
			says: map[string]string{doctor.StepAWSProfile: "which AWS tools use before its credential_process"},
		},
		{
			name: "credential-process-missing-binary",
			setup: func(t *testing.T, w *world) []string {
				putFile(t, w.env["AWS_CONFIG_FILE"], "[default]\ncredential_process = "+w.dir+"/gone/cwcreds-credential-process --profile default\n")
				return nil
			},
			want: map[string]doctor.Status{doctor.StepCredentialProcess: problem},
			says: map[string]string{doctor.StepCredentialProcess: "which does not exist"},
		},
		{
			name: "credential-process-lone-fast-binary",
			setup: func(t *testing.T, w *world) []string {
				lone := filepath.Join(w.dir, "lone", fastpath.Name)
				copyExecutable(t, fastBinary(bin), lone)
				putFile(t, w.env["AWS_CONFIG_FILE"], "[default]\ncredential_process = "+lone+" --profile default\n")
				return nil
			},
			want: map[string]doctor.Status{doctor.StepCredentialProcess: problem},
			says: map[string]string{doctor.StepCredentialProcess: "cannot find the cwcreds binary"},
		},
		{
			name: "credential-process-other-version",
			setup: func(t *testing.T, w *world) []string {
				putFile(t, w.env["AWS_CONFIG_FILE"], "[default]\ncredential_process = "+other+" credential-process --profile default\n")
				return nil
			},
			want: map[string]doctor.Status{doctor.StepCredentialProcess: problem},
			says: map[string]string{doctor.StepCredentialProcess: "which is cwcreds " + otherVersion + "; this is cwcreds dev"},
		},
		{
			name:  "skewed-date",
			setup: func(_ *testing.T, w *world) []string { w.emu.SetDateSkew(-10 * time.Minute); return nil },
			want:  map[string]doctor.Status{doctor.StepClock: problem},
			says:  map[string]string{doctor.StepClock: "10m0s ahead of the CoreWeave API's"},
		},
		{
			name: "expired-token",
			setup: func(t *testing.T, w *world) []string {
				w.writeToken(devissuer.MintOptions{Subject: "ci-job", Lifetime: time.Hour, IssuedAt: time.Now().Add(-2 * time.Hour)})
				return nil
			},
			want: map[string]doctor.Status{doctor.StepIdentity: problem, doctor.StepExchange: skipped, doctor.StepS3: skipped},
			says: map[string]string{doctor.StepIdentity: "holds an expired token"},
		},
		{
			name: "wrong-audience",
			setup: func(t *testing.T, w *world) []string {
				w.writeToken(devissuer.MintOptions{Subject: "ci-job", Audience: []string{"https://example.com/not-coreweave"}, Lifetime: time.Hour})
				return nil
			},
			want: map[string]doctor.Status{doctor.StepIdentity: problem, doctor.StepExchange: problem, doctor.StepS3: skipped},
			says: map[string]string{doctor.StepIdentity: "does not include https://coreweave.com/iam", doctor.StepExchange: "Workload Federation must trust issuer"},
		},
		{
			name:  "s3-unreachable",
			setup: func(t *testing.T, _ *world) []string { return []string{"CWCREDS_S3_ENDPOINT=" + closedURL(t)} },
			want:  map[string]doctor.Status{doctor.StepS3: problem},
			says:  map[string]string{doctor.StepS3: "could not reach S3 at"},
		},
		{
			name: "s3-unreachable-and-exchange-denied",
			setup: func(t *testing.T, w *world) []string {
				w.emu.InjectFault(cwobject.OpCreateAccessKeyFromOIDC.Name, emulator.Fault{Count: 2, Code: cwobject.CodePermissionDenied, Message: "not allowed cwobject:CreateAccessKeyOIDC"})
				return []string{"CWCREDS_S3_ENDPOINT=" + closedURL(t)}
			},
			want: map[string]doctor.Status{doctor.StepExchange: problem, doctor.StepS3: problem},
			says: map[string]string{doctor.StepS3: "could not reach S3 at"},
		},
		{
			name: "exchange-denied",
			setup: func(_ *testing.T, w *world) []string {
				w.emu.InjectFault(cwobject.OpCreateAccessKeyFromOIDC.Name, emulator.Fault{Count: 2, Code: cwobject.CodePermissionDenied, Message: "not allowed cwobject:CreateAccessKeyOIDC"})
				return nil
			},
			want: map[string]doctor.Status{doctor.StepExchange: problem, doctor.StepS3: skipped},
			says: map[string]string{doctor.StepExchange: "cwcreds can-i cwobject:CreateAccessKeyOIDC"},
		},
	}
}

func runDoctorCase(t *testing.T, bin, other string, tc doctorCase) {
	w := newWorldWithPropagation(t, tc.propagation)
	w.env["CW_API_TOKEN"] = w.emu.AdminToken() // doctor revokes what it mints
	w.mustRun(nil, bin, "configure", "--aws-profile", "default")
	var extra []string
	if tc.setup != nil {
		extra = tc.setup(t, w)
	}
	awsBefore := snapshotFiles(t, w.env["AWS_CONFIG_FILE"], w.env["AWS_SHARED_CREDENTIALS_FILE"])
	w.emu.ResetCalls()

	for _, format := range []string{"json", "text"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		r := w.runProc(ctx, nil, w.environ(extra...), bin, "doctor", "-o", format)
		cancel()
		checkDoctorLeaks(t, w, r.stdout)
		wantCode := 0
		if len(tc.want) > 0 && containsStatus(tc.want, doctor.StatusProblem) {
			wantCode = 1
		}
		if r.code != wantCode || r.stderr != "" {
			t.Fatalf("-o %s: exit %d (want %d), stderr %q\n%s", format, r.code, wantCode, r.stderr, r.stdout)
		}
		if format == "json" {
			checkDoctorSteps(t, tc, r.stdout)
		}
		// The golden files hide the durations; the hour-long token and keys show them.
		if tc.name == "all-ok" && (!hourLeft.MatchString(r.stdout) || !hourValid.MatchString(r.stdout)) {
			t.Errorf("the token's and keys' time left is not about an hour:\n%s", r.stdout)
		}
		compareDoctorGolden(t, tc.name+map[string]string{"json": ".json", "text": ".txt"}[format], normalizeDoctor(w, r.stdout, extra, filepath.Dir(bin), "<bin>", filepath.Dir(other), "<other>"))
	}

	// Doctor changes nothing it inspects: no cache, and the AWS files as they were.
	if _, err := os.Stat(w.env["XDG_CACHE_HOME"]); !os.IsNotExist(err) {
		t.Errorf("doctor created the cache folder: %v", err)
	}
	if after := snapshotFiles(t, w.env["AWS_CONFIG_FILE"], w.env["AWS_SHARED_CREDENTIALS_FILE"]); after != awsBefore {
		t.Errorf("doctor changed the AWS files")
	}
	// Every key it minted, it revoked.
	calls := w.emu.Calls()
	if minted, revoked := calls[cwobject.OpCreateAccessKeyFromOIDC.Name], calls[cwobject.OpRevokeAccessKeyByAccessKey.Name]; tc.want[doctor.StepExchange] == "" && (minted != 2 || revoked != 2) {
		t.Errorf("%d exchanges and %d revocations for two runs, want 2 and 2", minted, revoked)
	}
}

func containsStatus(m map[string]doctor.Status, s doctor.Status) bool {
	for _, v := range m {
		if v == s {
			return true
		}
	}
	return false
}

// checkDoctorSteps decodes the JSON report and checks every step's status and
// the phrases the case expects.
func checkDoctorSteps(t *testing.T, tc doctorCase, out string) {
	t.Helper()
	var rep doctor.Report
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("doctor -o json: %v\n%s", err, out)
	}
	ids := []string{doctor.StepConfig, doctor.StepIdentity, doctor.StepClock, doctor.StepExchange, doctor.StepS3,
		doctor.StepAWSEnvironment, doctor.StepAWSProfile, doctor.StepCredentialProcess}
	if len(rep.Steps) != len(ids) {
		t.Fatalf("%d steps, want %d:\n%s", len(rep.Steps), len(ids), out)
	}
	for i, s := range rep.Steps {
		want := tc.want[s.ID]
		if want == "" {
			want = doctor.StatusOK
		}
		if s.ID != ids[i] || s.Status != want {
			t.Errorf("step %d: %s %s, want %s %s (%s / %s)", i, s.ID, s.Status, ids[i], want, s.Problem, s.Fix)
		}
		if s.Status == doctor.StatusProblem && (s.Problem == "" || s.Fix == "") {
			t.Errorf("step %s: a problem without its text or fix", s.ID)
		}
		if phrase := tc.says[s.ID]; phrase != "" && !strings.Contains(s.Problem+" "+s.Fix, phrase) {
			t.Errorf("step %s does not say %q:\nproblem: %s\nfix: %s", s.ID, phrase, s.Problem, s.Fix)
		}
	}
	if rep.OK != !containsStatus(tc.want, doctor.StatusProblem) || rep.Profile != "default" {
		t.Errorf("report ok %v profile %q", rep.OK, rep.Profile)
	}
}

var (
	keyIDShape  = regexp.MustCompile(`\bCW[A-Z0-9]{14}\b`)
	secretShape = regexp.MustCompile(`cwo[a-z0-9]{40}`)
	rfc3339     = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	hourLeft    = regexp.MustCompile(`\(in (1h0m0s|59m0s)\)`)
	hourValid   = regexp.MustCompile(`valid (1h0m0s|59m0s) `)
	timeLeft    = regexp.MustCompile(`\(in [0-9hms.]+\)`)
	timeSince   = regexp.MustCompile(`\([0-9hms.]+ ago\)`)
	validFor    = regexp.MustCompile(`valid [0-9hms.]+ `)
)

// checkDoctorLeaks: no token, API token, access key id or secret key in the output.
func checkDoctorLeaks(t *testing.T, w *world, out string) {
	t.Helper()
	w.secrets = append(w.secrets, w.currentToken())
	w.checkLeaks("doctor's output", out)
	if keyIDShape.MatchString(out) || secretShape.MatchString(out) {
		t.Errorf("doctor's output holds an access key id or a secret key:\n%s", out)
	}
	if strings.Contains(out, "not-a-real-secret") {
		t.Errorf("doctor's output holds the AWS secret it found")
	}
}

// normalizeDoctor replaces what differs between runs (addresses, folders,
// times) with placeholders; pairs are more old, new strings.
func normalizeDoctor(w *world, out string, extra []string, pairs ...string) string {
	pairs = append(pairs, w.emu.APIURL(), "<api>", w.emu.S3URL(), "<s3>", w.emu.OrgID(), "<org>", w.dir, "<dir>")
	for _, kv := range extra {
		if v, ok := strings.CutPrefix(kv, "CWCREDS_S3_ENDPOINT="); ok {
			pairs = append(pairs, v, "<closed>", strings.TrimPrefix(v, "http://"), "<closed-addr>")
		}
	}
	out = strings.NewReplacer(pairs...).Replace(out)
	out = rfc3339.ReplaceAllString(out, "<time>")
	// Time left and time since depend on how long the run took.
	for re, repl := range map[*regexp.Regexp]string{timeLeft: "(in <dur>)", timeSince: "(<dur> ago)", validFor: "valid <dur> "} {
		out = re.ReplaceAllString(out, repl)
	}
	return out
}

func compareDoctorGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "doctor", name)
	if *updateDoctorGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run TestDoctorBinary -update-doctor-golden)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func testDoctorExitCodes(t *testing.T, bin string) {
	w := newWorld(t)
	for _, tc := range []struct {
		args   []string
		env    []string
		code   int
		stderr string
	}{
		{args: []string{"doctor", "-o", "xml"}, code: 2, stderr: "unknown output format"},
		{args: []string{"doctor", "--no-such-flag"}, code: 2, stderr: "unknown flag"},
		{args: []string{"doctor", "extra"}, code: 2, stderr: "doctor takes no arguments"},
		{args: []string{"doctor", "--profile", "nope", "-o", "json"}, code: 1},
		{args: []string{"doctor", "-o", "yaml"}, env: []string{"CWCREDS_CONFIG=" + w.dir + "/missing.yaml"}, code: 1},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		r := w.runProc(ctx, nil, w.environ(tc.env...), append([]string{bin}, tc.args...)...)
		cancel()
		if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) || (tc.stderr == "" && r.stderr != "") {
			t.Errorf("%v: exit %d (want %d), stderr %q\n%s", tc.args, r.code, tc.code, r.stderr, r.stdout)
		}
	}
}

// buildOtherVersion builds cwcreds as another release would be.
func buildOtherVersion(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+otherVersion, "-o", filepath.Join(dir, "cwcreds"), "github.com/cwcreds/cwcreds/cmd/cwcreds")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "cwcreds")
}

// writeToken replaces the world's token file with a token minted with o.
func (w *world) writeToken(o devissuer.MintOptions) {
	w.t.Helper()
	tok, err := w.emu.DevIssuer().Mint(o)
	if err != nil {
		w.t.Fatal(err)
	}
	putFile(w.t, w.tokenFile, tok)
	w.addSecret(tok)
}

func (w *world) currentToken() string {
	b, err := os.ReadFile(w.tokenFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// renameAWSProfile renames [profile from] (or [default]) to [profile to].
func renameAWSProfile(t *testing.T, w *world, from, to string) {
	t.Helper()
	path := w.env["AWS_CONFIG_FILE"]
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header := "[profile " + from + "]"
	if from == "default" {
		header = "[default]"
	}
	if !strings.Contains(string(b), header) {
		t.Fatalf("%s has no %s:\n%s", path, header, b)
	}
	putFile(t, path, strings.Replace(string(b), header, "[profile "+to+"]", 1))
}

func putFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t testing.TB, path, body string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	putFile(t, path, string(b)+body)
}

func snapshotFiles(t testing.TB, paths ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		b.WriteString(p + "\x00" + string(data) + "\x00")
	}
	return b.String()
}
