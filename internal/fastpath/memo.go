package fastpath

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/fileutil"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// A memo lets the small binary answer without reading the config: parsing YAML
// means linking a YAML library, whose initialisation alone costs a large part of
// a hello world's start-up. For one --config/--profile pair it records the profile,
// cache folder and refresh rule that `cwcreds credential-process` resolved, and
// fingerprints of everything config.Load read to get there: the environment
// variables it looked at, the config file (or its absence) and, when the result
// depended on it, the working folder. While every fingerprint still matches, Load
// would resolve the same again; on any difference the call goes to cwcreds, which
// writes a new memo. Memos hold no secret: values are only hashed.
type memo struct {
	Version    int    `json:"version"`
	ConfigArg  string `json:"config_arg"`  // --config, made absolute; "" when not given
	ProfileArg string `json:"profile_arg"` // --profile; "" when not given

	EnvNames []string   `json:"env_names"` // the variables Load read, sorted
	Env      string     `json:"env"`       // hash of their names and values
	Files    []memoFile `json:"files"`     // the files Load read
	WorkDir  string     `json:"work_dir,omitempty"`

	// Writer is the cwcreds binary that resolved it: another build may resolve
	// differently, so an upgrade voids every memo.
	Writer binaryStamp `json:"writer"`

	Profile  string           `json:"profile"`
	Identity string           `json:"identity"` // the cache key's identity: a hash, no secret
	CacheDir string           `json:"cache_dir"`
	Policy   keypolicy.Policy `json:"policy"` // durations in nanoseconds
}

type memoFile struct {
	Path   string `json:"path"`
	Digest string `json:"digest"` // hash of the content, or absentFile
}

type binaryStamp struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	ModTime int64  `json:"mod_time_ns"`
}

// stampOf identifies the binary at path by size and modification time.
func stampOf(path string) (binaryStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return binaryStamp{}, err
	}
	return binaryStamp{Path: path, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}, nil
}

const (
	memoVersion  = 3 // 3: the identity and lifetime the cache entry must match
	maxMemoBytes = 64 << 10
	// maxMemoFileBytes bounds what is hashed of a config file: Load refuses
	// files over 1 MiB, so a bigger one has changed anyway.
	maxMemoFileBytes = 1<<20 + 1
	absentFile       = "absent"
)

// Resolution is what a credential_process call's arguments and environment
// select: the answer a memo remembers.
type Resolution struct {
	Key      cache.Key // the profile and its identity
	CacheDir string
	Policy   cache.Policy
}

// memoPath is where the memo of a --config/--profile pair lives: in the default
// cache folder, which the small binary can find without any config.
func memoPath(getenv func(string) string, configArg, profileArg string) (string, error) {
	dir, err := cache.DefaultDir(getenv)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(configArg + "\x00" + profileArg))
	return filepath.Join(dir, "resolved-"+hex.EncodeToString(sum[:12])+".json"), nil
}

// absArg makes a --config argument absolute, as Load would resolve it.
func absArg(configArg string) (string, error) {
	if configArg == "" {
		return "", nil
	}
	return filepath.Abs(configArg)
}

// Recorder wraps the environment and file reads of config.Load so that Remember
// can fingerprint them.
type Recorder struct {
	getenv func(string) string
	read   func(string) ([]byte, error)
	env    map[string]string
	files  map[string]string // path: digest or absentFile
	failed bool              // a read failed in a way a memo cannot record
}

// NewRecorder records through getenv and read (config.ReadConfigFile).
func NewRecorder(getenv func(string) string, read func(string) ([]byte, error)) *Recorder {
	return &Recorder{getenv: getenv, read: read, env: map[string]string{}, files: map[string]string{}}
}

// Getenv is the recording getenv to give config.Load.
func (r *Recorder) Getenv(name string) string {
	v := r.getenv(name)
	r.env[name] = v
	return v
}

// ReadFile is the recording file reader to give config.Load.
func (r *Recorder) ReadFile(path string) ([]byte, error) {
	data, err := r.read(path)
	switch {
	case err == nil:
		r.files[path] = digest(data)
	case errors.Is(err, fs.ErrNotExist):
		r.files[path] = absentFile
	default:
		r.failed = true
	}
	return data, err
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// envDigest hashes the named variables' values as getenv gives them now.
func envDigest(names []string, getenv func(string) string) string {
	h := sha256.New()
	for _, n := range names {
		v := getenv(n)
		fmt.Fprintf(h, "%d:%s%d:%s", len(n), n, len(v), v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Remember writes the memo of a call to `cwcreds credential-process` made with
// only --config and --profile, after config.Load resolved it through rec. workDir
// is the working folder when the resolution depends on it, else "". It returns
// an error only for the caller to log: without a memo the small binary simply
// hands the next call over again.
func Remember(getenv func(string) string, configArg, profileArg string, rec *Recorder, res Resolution, workDir string) error {
	if rec.failed {
		return errors.New("the config file could not be read")
	}
	configArg, err := absArg(configArg)
	if err != nil {
		return err
	}
	path, err := memoPath(getenv, configArg, profileArg)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	writer, err := stampOf(exe)
	if err != nil {
		return err
	}
	m := memo{
		Version: memoVersion, ConfigArg: configArg, ProfileArg: profileArg, WorkDir: workDir, Writer: writer,
		Profile: res.Key.Profile, Identity: res.Key.Identity, CacheDir: res.CacheDir, Policy: res.Policy,
	}
	for n := range rec.env {
		m.EnvNames = append(m.EnvNames, n)
	}
	slices.Sort(m.EnvNames)
	m.Env = envDigest(m.EnvNames, func(name string) string { return rec.env[name] }) // what Load saw
	for p, d := range rec.files {
		m.Files = append(m.Files, memoFile{Path: p, Digest: d})
	}
	slices.SortFunc(m.Files, func(a, b memoFile) int { return cmp.Compare(a.Path, b.Path) })
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil // unchanged: no write
	}
	if err := fileutil.EnsurePrivateDir(filepath.Dir(path)); err != nil {
		return err
	}
	return fileutil.WriteFileAtomic(path, data, 0o600)
}

// recall returns the resolution the memo of these arguments holds, if every
// input it was made from is unchanged. getwd is os.Getwd.
func recall(getenv func(string) string, getwd func() (string, error), configArg, profileArg string) (Resolution, bool) {
	configArg, err := absArg(configArg)
	if err != nil {
		return Resolution{}, false
	}
	path, err := memoPath(getenv, configArg, profileArg)
	if err != nil {
		return Resolution{}, false
	}
	m, ok := readMemo(path)
	if !ok || m.ConfigArg != configArg || m.ProfileArg != profileArg || envDigest(m.EnvNames, getenv) != m.Env {
		return Resolution{}, false
	}
	if m.WorkDir != "" {
		if wd, err := getwd(); err != nil || wd != m.WorkDir {
			return Resolution{}, false
		}
	}
	if stamp, err := stampOf(m.Writer.Path); err != nil || stamp != m.Writer {
		return Resolution{}, false
	}
	for _, f := range m.Files {
		if fileDigest(f.Path) != f.Digest {
			return Resolution{}, false
		}
	}
	return Resolution{Key: cache.Key{Profile: m.Profile, Identity: m.Identity}, CacheDir: m.CacheDir, Policy: m.Policy}, true
}

// readMemo reads a memo it can trust: a regular 0600 file of this user's, in a
// folder only this user can change, of this format version, complete.
func readMemo(path string) (memo, bool) {
	if !fileutil.IsPrivateDir(filepath.Dir(path)) {
		return memo{}, false
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxMemoBytes ||
		(runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) || !fileutil.OwnedByMe(fi) {
		return memo{}, false
	}
	f, err := fileutil.OpenPrivate(path)
	if err != nil {
		return memo{}, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMemoBytes+1))
	if err != nil || len(data) > maxMemoBytes {
		return memo{}, false
	}
	var m memo
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if dec.Decode(&m) != nil || dec.More() || m.Version != memoVersion ||
		m.Profile == "" || !filepath.IsAbs(m.CacheDir) || len(m.Env) != sha256.Size*2 {
		return memo{}, false
	}
	return m, true
}

// fileDigest is what the recorder would have noted for path now; "" for a file
// that cannot be read, which matches no memo.
func fileDigest(path string) string {
	f, err := os.OpenFile(path, os.O_RDONLY|fileutil.NonBlock, 0) // never blocks on a FIFO
	if errors.Is(err, fs.ErrNotExist) {
		return absentFile
	}
	if err != nil {
		return ""
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMemoFileBytes))
	if err != nil {
		return ""
	}
	return digest(data)
}
