package fastpath

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// scene is a config file with one profile, a disk cache folder, and the full
// binary's stand-in beside this binary's stand-in.
type scene struct {
	t        testing.TB
	dir      string
	config   string
	cacheDir string
	clock    *clockwork.FakeClock
	self     string // this binary
	full     string // cwcreds beside it
	environ  map[string]string
	wd       string
	handOffs [][]string
}

const testProfile = "ci"

func newScene(t testing.TB) *scene {
	t.Helper()
	dir := t.TempDir()
	s := &scene{
		t: t, dir: dir,
		config:   filepath.Join(dir, "config.yaml"),
		cacheDir: filepath.Join(dir, "cache"),
		clock:    clockwork.NewFakeClockAt(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)),
		self:     filepath.Join(dir, "bin", Name),
		full:     filepath.Join(dir, "bin", "cwcreds"),
		environ:  map[string]string{"HOME": filepath.Join(dir, "home"), "XDG_CACHE_HOME": filepath.Join(dir, "xdg-cache")},
		wd:       filepath.Join(dir, "work"),
	}
	body := "org_id: org-test\ncache_dir: " + s.cacheDir + "\ndefault_profile: " + testProfile + "\nprofiles:\n" +
		"  " + testProfile + ":\n    source: {type: token_file, path: " + filepath.Join(dir, "token") + "}\n" +
		"  other:\n    source: {type: token_file, path: " + filepath.Join(dir, "token") + "}\n"
	s.write(s.config, body, 0o600)
	s.write(s.self, "#!/bin/sh\n", 0o755)
	s.write(s.full, "#!/bin/sh\n", 0o755)
	return s
}

func (s *scene) write(path, body string, mode os.FileMode) {
	s.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		s.t.Fatal(err)
	}
}

func (s *scene) getenv(k string) string { return s.environ[k] }

func (s *scene) profile(name string) *config.Profile {
	s.t.Helper()
	cfg, err := config.Load(config.LoadOptions{Path: s.config, Getenv: s.getenv})
	if err != nil {
		s.t.Fatal(err)
	}
	p, err := cfg.Profile(name)
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

func policyOf(p *config.Profile) cache.Policy {
	return keypolicy.Policy{Lifetime: p.Lifetime, RefreshMargin: p.RefreshMargin, Floor: p.MinTTL,
		PropagationDelay: p.PropagationDelay, Jitter: keypolicy.DefaultJitter}
}

func keyOf(p *config.Profile) cache.Key { return cache.Key{Profile: p.Name, Identity: p.Identity()} }

// remember leaves the memo `cwcreds credential-process --config configArg
// --profile profileArg` leaves (internal/cli), workDir included when given.
func (s *scene) remember(configArg, profileArg, workDir string) {
	s.t.Helper()
	rec := NewRecorder(s.getenv, config.ReadConfigFile)
	cfg, err := config.Load(config.LoadOptions{Path: configArg, Getenv: rec.Getenv, ReadFile: rec.ReadFile,
		Flags: config.Overrides{Profile: profileArg}})
	if err != nil {
		s.t.Fatal(err)
	}
	p, err := cfg.Profile("")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := Remember(s.getenv, configArg, profileArg, rec, Resolution{Key: keyOf(p), CacheDir: p.CacheDir, Policy: policyOf(p)}, workDir); err != nil {
		s.t.Fatal(err)
	}
}

// memoFile is the one memo in the memo folder.
func (s *scene) memoFile() string {
	s.t.Helper()
	found, _ := filepath.Glob(filepath.Join(s.environ["XDG_CACHE_HOME"], "cwcreds", "resolved-*.json"))
	if len(found) != 1 {
		s.t.Fatalf("memo files: %q", found)
	}
	return found[0]
}

// cache stores keys of the given lifetime for profile the way `cwcreds
// credential-process` does, and returns them.
func (s *scene) cache(profile string, lifetime time.Duration) creds.Credentials {
	s.t.Helper()
	store, err := cache.NewDiskStore(cache.DiskConfig{Dir: s.cacheDir, Clock: s.clock})
	if err != nil {
		s.t.Fatal(err)
	}
	want := creds.Credentials{AccessKeyID: "CWAAAAAAAAAAAAAA", SecretAccessKey: "cwo" + strings.Repeat("s", 40),
		Expiration: s.clock.Now().Add(lifetime), Principal: "role/test"}
	got, err := store.GetOrFetch(context.Background(), keyOf(s.profile(profile)), fetcherFunc(func(context.Context) (creds.Credentials, error) { return want, nil }), policyOf(s.profile(profile)))
	if err != nil {
		s.t.Fatal(err)
	}
	s.clock.Advance(10 * time.Second) // past the propagation delay: servable
	return got
}

type fetcherFunc func(context.Context) (creds.Credentials, error)

func (f fetcherFunc) Fetch(ctx context.Context) (creds.Credentials, error) { return f(ctx) }

func (s *scene) env(args ...string) (Env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return Env{
		Args: args, Getenv: s.getenv, Stdout: &stdout, Stderr: &stderr, Clock: s.clock,
		Getwd:      func() (string, error) { return s.wd, nil },
		Executable: func() (string, error) { return s.self, nil },
		LookPath:   func(string) (string, error) { return "", errors.New("not on PATH") },
		HandOff: func(path string, argv []string) (int, error) {
			s.handOffs = append(s.handOffs, argv)
			return 7, nil
		},
	}, &stdout, &stderr
}

// run runs the binary's logic and returns its exit code and output.
func (s *scene) run(args ...string) (int, string, string) {
	env, stdout, stderr := s.env(args...)
	code := Run(env)
	return code, stdout.String(), stderr.String()
}

func TestWarmCacheAnswersWithoutTheFullBinary(t *testing.T) {
	s := newScene(t)
	want := s.cache(testProfile, time.Hour)
	s.remember(s.config, "", "")
	s.remember(s.config, testProfile, "")
	for _, args := range [][]string{
		{"--config", s.config},
		{"--config=" + s.config},
		{"--config", s.config, "--profile", testProfile},
		{"--profile=" + testProfile, "--config=" + s.config},
	} {
		code, out, errOut := s.run(args...)
		if code != 0 || errOut != "" || len(s.handOffs) != 0 {
			t.Fatalf("%q: exit %d, stderr %q, hand-offs %q", args, code, errOut, s.handOffs)
		}
		wantOut, _ := creds.ProcessJSON(want)
		if out != string(wantOut) {
			t.Errorf("%q: printed %s, want %s", args, out, wantOut)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || v["Version"] != float64(1) || !strings.HasSuffix(v["Expiration"].(string), "Z") {
			t.Errorf("%q: not credential_process JSON: %s", args, out)
		}
	}
}

func TestEverythingElseGoesToCwcreds(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(s *scene) []string
	}{
		{"no memo", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			return []string{"--config", s.config}
		}},
		{"a memo of other arguments", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			return []string{"--config", s.config, "--profile", testProfile}
		}},
		{"config file changed", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			data, _ := os.ReadFile(s.config)
			s.write(s.config, string(data)+"# edited\n", 0o600)
			return []string{"--config", s.config}
		}},
		{"config file gone", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			_ = os.Remove(s.config)
			return []string{"--config", s.config}
		}},
		{"an environment variable config reads changed", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.environ[config.EnvProfile] = "other"
			return []string{"--config", s.config}
		}},
		{"memo readable by others", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			_ = os.Chmod(s.memoFile(), 0o644)
			return []string{"--config", s.config}
		}},
		{"memo folder open to others", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			_ = os.Chmod(filepath.Dir(s.memoFile()), 0o755)
			return []string{"--config", s.config}
		}},
		{"corrupt memo", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.write(s.memoFile(), `{"version":1,"profile":"ci"`, 0o600)
			return []string{"--config", s.config}
		}},
		{"memo of another format version", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			data, _ := os.ReadFile(s.memoFile())
			s.write(s.memoFile(), strings.Replace(string(data), fmt.Sprintf(`"version":%d`, memoVersion), `"version":99`, 1), 0o600)
			return []string{"--config", s.config}
		}},
		{"memo written by another cwcreds build", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			data, _ := os.ReadFile(s.memoFile())
			s.write(s.memoFile(), strings.Replace(string(data), `"mod_time_ns":`, `"mod_time_ns":1`, 1), 0o600)
			return []string{"--config", s.config}
		}},
		{"memo pinned to another working folder", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", s.wd)
			s.wd = filepath.Join(s.dir, "elsewhere")
			return []string{"--config", s.config}
		}},
		{"cold cache", func(s *scene) []string {
			s.remember(s.config, "", "")
			return []string{"--config", s.config}
		}},
		{"another profile's keys only", func(s *scene) []string {
			s.cache("other", time.Hour)
			s.remember(s.config, "", "")
			return []string{"--config", s.config}
		}},
		{"keys still propagating", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.clock.Advance(-8 * time.Second) // 2s after the fetch; propagation_delay is 5s
			return []string{"--config", s.config}
		}},
		{"keys due for refresh", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.clock.Advance(40 * time.Minute) // 20 minutes left: inside the refresh lead
			return []string{"--config", s.config}
		}},
		{"expired keys", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.clock.Advance(2 * time.Hour)
			return []string{"--config", s.config}
		}},
		{"clock before the fetch", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.clock.Advance(-time.Minute)
			return []string{"--config", s.config}
		}},
		{"corrupt cache file", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.write(filepath.Join(s.cacheDir, testProfile+".json"), "{not json", 0o600)
			return []string{"--config", s.config}
		}},
		{"cache file readable by others", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			if err := os.Chmod(filepath.Join(s.cacheDir, testProfile+".json"), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"--config", s.config}
		}},
		{"cache folder open to others", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			if err := os.Chmod(s.cacheDir, 0o755); err != nil {
				t.Fatal(err)
			}
			return []string{"--config", s.config}
		}},
		{"unknown profile", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			return []string{"--config", s.config, "--profile", "nope"}
		}},
		{"broken config", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.write(s.config, "profiles: [", 0o600)
			return []string{"--config", s.config}
		}},
		{"a flag only cwcreds knows", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.remember(s.config, testProfile, "")
			return []string{"--config", s.config, "--log-level", "debug"}
		}},
		{"help", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			return []string{"--help"}
		}},
		{"flag without its value", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.remember(s.config, testProfile, "")
			return []string{"--config", s.config, "--profile"}
		}},
		{"stray argument", func(s *scene) []string {
			s.cache(testProfile, time.Hour)
			s.remember(s.config, "", "")
			s.remember(s.config, testProfile, "")
			return []string{"--config", s.config, "extra"}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newScene(t)
			args := c.setup(s)
			code, out, errOut := s.run(args...)
			if out != "" || errOut != "" {
				t.Errorf("printed %q / %q itself", out, errOut)
			}
			want := append([]string{s.full, "credential-process"}, args...)
			if code != 7 || len(s.handOffs) != 1 || !slices.Equal(s.handOffs[0], want) {
				t.Errorf("exit %d, hand-offs %q; want exit 7 from one hand-off %q", code, s.handOffs, want)
			}
		})
	}
}

func TestFindsCwcredsOnPathWhenNotBeside(t *testing.T) {
	s := newScene(t)
	if err := os.Remove(s.full); err != nil {
		t.Fatal(err)
	}
	onPath := filepath.Join(s.dir, "path", "cwcreds")
	s.write(onPath, "#!/bin/sh\n", 0o755)
	env, _, _ := s.env("--config", s.config)
	env.LookPath = func(name string) (string, error) { return onPath, nil }
	if code := Run(env); code != 7 || len(s.handOffs) != 1 || s.handOffs[0][0] != onPath {
		t.Fatalf("exit %d, hand-offs %q: want cwcreds from PATH", code, s.handOffs)
	}
}

func TestNoCwcredsToHandTo(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(s *scene)
	}{
		{"missing", func(s *scene) { _ = os.Remove(s.full) }},
		{"not executable", func(s *scene) { _ = os.Chmod(s.full, 0o644) }},
		{"a folder", func(s *scene) { _ = os.Remove(s.full); _ = os.Mkdir(s.full, 0o755) }},
		{"this binary itself", func(s *scene) { _ = os.Remove(s.full); _ = os.Link(s.self, s.full) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newScene(t)
			c.setup(s)
			code, out, errOut := s.run("--config", s.config)
			if code != 1 || out != "" || len(s.handOffs) != 0 {
				t.Fatalf("exit %d, stdout %q, hand-offs %q", code, out, s.handOffs)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "install cwcreds next to "+Name) {
				t.Errorf("stderr %q: want one line saying what to install", errOut)
			}
		})
	}
}

func TestHandOffFailure(t *testing.T) {
	s := newScene(t)
	env, stdout, stderr := s.env("--config", s.config)
	env.HandOff = func(string, []string) (int, error) { return 0, errors.New("exec format error") }
	if code := Run(env); code != 1 || stdout.Len() != 0 || !strings.Contains(stderr.String(), "could not start "+s.full) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestSecretsStayOnStdout(t *testing.T) {
	s := newScene(t)
	c := s.cache(testProfile, time.Hour)
	s.remember(s.config, "", "")
	env, stdout, stderr := s.env("--config", s.config)
	env.Stdout = failingWriter{}
	if code := Run(env); code != 1 {
		t.Fatalf("exit %d after a failed write, want 1", code)
	}
	if strings.Contains(stderr.String(), c.SecretAccessKey) || stdout.Len() != 0 {
		t.Errorf("the secret reached stderr: %q", stderr)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func FuzzParseArgs(f *testing.F) {
	for _, seed := range []string{"--profile\x00p", "--config=a\x00--profile=b", "--profile", "-p\x00x", "--profile=\x00--config"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		o, ok := parseArgs(args)
		if !ok {
			return
		}
		// Whatever is accepted re-serialises to arguments that parse the same.
		again, ok := parseArgs([]string{"--profile=" + o.profile, "--config=" + o.configPath})
		if !ok || again != o {
			t.Fatalf("%q parsed to %+v, which does not round-trip (%+v)", args, o, again)
		}
		for _, a := range args {
			if !strings.HasPrefix(a, "--profile") && !strings.HasPrefix(a, "--config") && a != o.profile && a != o.configPath {
				t.Fatalf("%q accepted an argument it does not know: %q", args, a)
			}
		}
	})
}

// BenchmarkWarm is the in-process cost of a warm answer: config, cache file,
// JSON. The rest of a run is process start-up (scripts/bench-credential-process).
func BenchmarkWarm(b *testing.B) {
	s := newScene(b)
	s.cache(testProfile, time.Hour)
	s.remember(s.config, "", "")
	env, stdout, _ := s.env("--config", s.config)
	b.ReportAllocs()
	for b.Loop() {
		stdout.Reset()
		if Run(env) != 0 {
			b.Fatal("not warm")
		}
	}
}

// Without a config file the default profile comes from the environment; the
// memo then depends on those variables, and holds none of their values.
func TestMemoOfTheEnvironmentProfile(t *testing.T) {
	s := newScene(t)
	token := "CW-SECRET-" + strings.Repeat("t", 40)
	s.environ["CW_API_TOKEN"] = token
	s.environ[config.EnvCacheDir] = s.cacheDir
	cfg, err := config.Load(config.LoadOptions{Getenv: s.getenv}) // no config file: the environment's profile
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile("")
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.NewDiskStore(cache.DiskConfig{Dir: s.cacheDir, Clock: s.clock})
	if err != nil {
		t.Fatal(err)
	}
	keys := creds.Credentials{AccessKeyID: "CWBBBBBBBBBBBBBB", SecretAccessKey: "cwo" + strings.Repeat("k", 40), Expiration: s.clock.Now().Add(time.Hour)}
	if _, err := store.GetOrFetch(context.Background(), keyOf(p), fetcherFunc(func(context.Context) (creds.Credentials, error) { return keys, nil }), policyOf(p)); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(10 * time.Second)
	s.remember("", "", "")
	data, err := os.ReadFile(s.memoFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{token, keys.SecretAccessKey} {
		if strings.Contains(string(data), secret) {
			t.Fatalf("the memo holds a secret:\n%s", data)
		}
	}
	if code, out, _ := s.run(); code != 0 || !strings.Contains(out, keys.AccessKeyID) || len(s.handOffs) != 0 {
		t.Fatalf("warm from the environment profile: exit %d, out %q, hand-offs %q", code, out, s.handOffs)
	}
	s.environ["CW_API_TOKEN"] = token + "x" // another token may select other keys
	if code, _, _ := s.run(); code != 7 || len(s.handOffs) != 1 {
		t.Fatalf("after the token changed: exit %d, hand-offs %q", code, s.handOffs)
	}
}

func TestMemoPinnedToItsWorkingFolder(t *testing.T) {
	s := newScene(t)
	s.cache(testProfile, time.Hour)
	s.remember(s.config, "", s.wd)
	if code, _, _ := s.run("--config", s.config); code != 0 || len(s.handOffs) != 0 {
		t.Fatalf("same folder: exit %d, hand-offs %q", code, s.handOffs)
	}
}

// A relative --config is the same file wherever it is resolved from.
func TestRelativeConfigArgument(t *testing.T) {
	s := newScene(t)
	s.cache(testProfile, time.Hour)
	t.Chdir(s.dir)
	s.remember("config.yaml", "", "")
	if code, _, _ := s.run("--config", "config.yaml"); code != 0 || len(s.handOffs) != 0 {
		t.Fatalf("relative --config: exit %d, hand-offs %q", code, s.handOffs)
	}
	t.Chdir(filepath.Dir(s.self))
	if code, _, _ := s.run("--config", "config.yaml"); code != 7 || len(s.handOffs) != 1 {
		t.Fatalf("relative --config from another folder: exit %d, hand-offs %q", code, s.handOffs)
	}
}

func FuzzReadMemo(f *testing.F) {
	s := newScene(f)
	s.cache(testProfile, time.Hour)
	s.remember(s.config, "", "")
	good, err := os.ReadFile(s.memoFile())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":2,"profile":"p","cache_dir":"/c","env":"` + strings.Repeat("0", 64) + `"} {}`))
	dir := filepath.Join(f.TempDir(), "memos")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "m.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, ok := readMemo(path)
		if ok && (m.Version != memoVersion || m.Profile == "" || !filepath.IsAbs(m.CacheDir) || len(data) > maxMemoBytes) {
			t.Fatalf("accepted an incomplete memo: %+v", m)
		}
	})
}

// A copy of this binary installed as cwcreds would be handed its own calls.
func TestRefusesToBeHandedItsOwnCall(t *testing.T) {
	s := newScene(t)
	code, out, errOut := s.run("credential-process", "--profile", testProfile)
	if code != 1 || out != "" || len(s.handOffs) != 0 || !strings.Contains(errOut, "install the real cwcreds") {
		t.Fatalf("exit %d, stdout %q, stderr %q, hand-offs %q", code, out, errOut, s.handOffs)
	}
}

// Durations below a millisecond survive the memo exactly: the small binary must
// apply the very policy the full one does.
func TestMemoKeepsThePolicyExactly(t *testing.T) {
	s := newScene(t)
	rec := NewRecorder(s.getenv, config.ReadConfigFile)
	if _, err := config.Load(config.LoadOptions{Path: s.config, Getenv: rec.Getenv, ReadFile: rec.ReadFile}); err != nil {
		t.Fatal(err)
	}
	want := Resolution{Key: cache.Key{Profile: testProfile, Identity: "sha256:abc"}, CacheDir: s.cacheDir, Policy: cache.Policy{
		RefreshMargin: 20*time.Minute + 333*time.Microsecond + 7, Floor: time.Minute + 1, PropagationDelay: 0, Lifetime: time.Hour + 3, Jitter: 0.1234}}
	if err := Remember(s.getenv, s.config, "", rec, want, ""); err != nil {
		t.Fatal(err)
	}
	got, ok := recall(s.getenv, func() (string, error) { return s.wd, nil }, s.config, "")
	if !ok || got != want {
		t.Fatalf("recalled %+v (%v), want %+v", got, ok, want)
	}
}
