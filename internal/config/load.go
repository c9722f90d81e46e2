package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/cwcreds/cwcreds/internal/fileutil"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// DefaultS3Endpoint is CoreWeave AI Object Storage's public S3 endpoint
// (cwobject-api.md, "The S3 side"). Inside CoreWeave clusters http://cwlota.com
// is faster; set s3_endpoint for that.
const DefaultS3Endpoint = "https://cwobject.com"

// DefaultAPIEndpoint is the public CoreWeave API.
const DefaultAPIEndpoint = "https://api.coreweave.com"

// DefaultProfileName is the profile used when nothing names one.
const DefaultProfileName = "default"

// Environment variables cwcreds reads.
const (
	EnvConfig      = "CWCREDS_CONFIG"
	EnvAPIEndpoint = "CWCREDS_API_ENDPOINT"
	EnvOrgID       = "CWCREDS_ORG_ID"
	EnvS3Endpoint  = "CWCREDS_S3_ENDPOINT"
	EnvRegion      = "CWCREDS_REGION"
	EnvProfile     = "CWCREDS_PROFILE"
	EnvCacheDir    = "CWCREDS_CACHE_DIR"
	EnvCABundle    = "CWCREDS_CA_BUNDLE"
	// EnvTokenFile and EnvAPIToken build the `default` profile when there is no
	// config file; EnvAPIToken is also the default variable of an api_token source.
	EnvTokenFile = "CWCREDS_TOKEN_FILE"
	EnvAPIToken  = "CW_API_TOKEN"
	// EnvPropagationDelay sets the default profile's propagation_delay.
	EnvPropagationDelay = "CWCREDS_PROPAGATION_DELAY"
	// Lower-precedence fallbacks, below the config file: the same variables the
	// AWS SDKs read, so `cwcreds dev emulator`'s exports are enough.
	EnvAWSEndpointS3 = "AWS_ENDPOINT_URL_S3"
	EnvAWSRegion     = "AWS_REGION"
)

// Overrides are the values given as command-line flags; "" means not given.
type Overrides struct {
	APIEndpoint string // --api-endpoint
	OrgID       string // --org-id
	S3Endpoint  string // --s3-endpoint
	Region      string // --region
	CABundle    string // --ca-bundle
	CacheDir    string // --cache-dir
	Profile     string // --profile: the default profile for this run
}

// LoadOptions are the inputs of Load. The zero value reads the default file with
// an empty environment.
type LoadOptions struct {
	// Path is the config file from --config; "" falls back to CWCREDS_CONFIG, then
	// to $XDG_CONFIG_HOME/cwcreds/config.yaml (~/.config/cwcreds/config.yaml).
	// A file named by --config or CWCREDS_CONFIG must exist; a missing default
	// file means "build the default profile from the environment".
	Path string
	// Getenv reads the environment; nil means an empty one.
	Getenv func(string) string
	// Flags are the command-line overrides, the highest-precedence layer.
	Flags Overrides
	// WorkDir resolves relative paths given by flags and environment variables
	// (paths in the file are relative to the file's folder); "" means os.Getwd.
	WorkDir string
	// HomeDir expands `~` and locates the default files; "" means $HOME, then
	// (on Windows) %USERPROFILE%, both read through Getenv.
	HomeDir string
	// MinLifetime is the shortest `lifetime` accepted; 0 means keypolicy.MinLifetime.
	// Tests and dev mode lower it to see several refreshes quickly.
	MinLifetime time.Duration
	// ReadFile reads the config file; nil means ReadConfigFile. With Getenv it
	// is everything Load reads besides the working and home folders, so a caller
	// that wraps both knows every input of the result.
	ReadFile func(path string) ([]byte, error)
}

// Load builds the effective configuration with the precedence
// flag > CWCREDS_* environment > config file (profile, then top level) >
// AWS_ENDPOINT_URL_S3 / AWS_REGION > default, and checks every value. Errors are
// *Error values located at the offending value.
func Load(opts LoadOptions) (*Config, error) {
	l, err := newLoader(opts)
	if err != nil {
		return nil, err
	}
	c, err := l.load(opts)
	if err != nil {
		return nil, err
	}
	c.dependsOnWorkDir = l.usedWorkDir
	return c, nil
}

func (l *loader) load(opts LoadOptions) (*Config, error) {
	path, pathOrigin, explicit := l.locate(opts.Path)
	if path == "" {
		return l.fromEnvironment("")
	}
	abs, problem, fix := l.absFromWorkDir("config file", path)
	if problem != "" {
		return nil, errAt(pathOrigin, "", problem, fix)
	}
	read := opts.ReadFile
	if read == nil {
		read = ReadConfigFile
	}
	data, err := read(abs)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return l.fromEnvironment(abs)
	}
	if err != nil {
		if !explicit {
			return nil, &Error{File: path, Problem: fileProblem(path, err), Fix: "fix it, or name another file with --config or " + EnvConfig}
		}
		return nil, errAt(pathOrigin, "", fileProblem(path, err), fileFix(pathOrigin, err))
	}
	return l.fromFile(path, abs, data)
}

type loader struct {
	getenv      func(string) string
	flags       Overrides
	paths       pathResolver
	wd          string
	usedWorkDir bool // see Config.DependsOnWorkDir
	minLifetime time.Duration
}

// absFromWorkDir resolves a path from a flag or the environment: relative paths
// are relative to the working folder, which then becomes an input of the result.
func (l *loader) absFromWorkDir(field, v string) (string, string, string) {
	tilde := v == "~" || strings.HasPrefix(v, "~/") || strings.HasPrefix(v, `~\`)
	if !filepath.IsAbs(v) && !(tilde && filepath.IsAbs(l.paths.home)) {
		l.usedWorkDir = true
	}
	return l.paths.abs(field, v, l.wd)
}

func newLoader(opts LoadOptions) (*loader, error) {
	l := &loader{getenv: opts.Getenv, flags: opts.Flags, wd: opts.WorkDir, minLifetime: opts.MinLifetime}
	if l.getenv == nil {
		l.getenv = func(string) string { return "" }
	}
	if l.minLifetime <= 0 {
		l.minLifetime = keypolicy.MinLifetime
	}
	if l.minLifetime > keypolicy.MaxLifetime {
		return nil, fmt.Errorf("minimum lifetime %s is over the %s maximum: use a smaller one", fmtDur(l.minLifetime), fmtDur(keypolicy.MaxLifetime))
	}
	if l.wd == "" {
		l.wd, _ = os.Getwd() // unknown stays "": relative flag/env paths are then refused
	}
	home := opts.HomeDir
	if home == "" {
		home = l.getenv("HOME")
	}
	if home == "" && runtime.GOOS == "windows" {
		home = l.getenv("USERPROFILE") // what os.UserHomeDir reads there
	}
	if home != "" && !filepath.IsAbs(home) {
		l.usedWorkDir = true // default locations below a relative home
	}
	l.paths = pathResolver{home: home} // no home: `~` paths and default locations are refused
	return l, nil
}

// locate picks the config file: --config, CWCREDS_CONFIG, or the default
// location (explicit=false). It returns "" when there is no default location.
func (l *loader) locate(flagPath string) (path string, o Origin, explicit bool) {
	if flagPath != "" {
		return flagPath, Origin{Kind: OriginFlag, Name: "--config"}, true
	}
	if v := l.getenv(EnvConfig); v != "" {
		return v, Origin{Kind: OriginEnv, Name: EnvConfig}, true
	}
	return DefaultPath(l.getenv, l.paths.home), defaultOrigin("config location"), false
}

// DefaultPath is $XDG_CONFIG_HOME/cwcreds/config.yaml, else
// <home>/.config/cwcreds/config.yaml; "" when neither is known.
func DefaultPath(getenv func(string) string, home string) string {
	if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "cwcreds", "config.yaml")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".config", "cwcreds", "config.yaml")
}

// defaultCacheDir is $XDG_CACHE_HOME/cwcreds, else <home>/.cache/cwcreds.
func (l *loader) defaultCacheDir() string {
	if x := l.getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "cwcreds")
	}
	if l.paths.home == "" {
		return ""
	}
	return filepath.Join(l.paths.home, ".cache", "cwcreds")
}

// ReadConfigFile reads a config file as Load does: a folder is an error, and at
// most one byte more than the size limit is read. The open never blocks (a FIFO
// without a writer reads as empty).
func ReadConfigFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|fileutil.NonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, errIsDir
	}
	return io.ReadAll(io.LimitReader(f, maxFileBytes+1))
}

var errIsDir = errors.New("is a folder")

func fileProblem(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("config file %s does not exist", show(path))
	case errors.Is(err, errIsDir):
		return fmt.Sprintf("config file %s is a folder", show(path))
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("config file %s cannot be read (permission denied)", show(path))
	default:
		return fmt.Sprintf("could not read config file %s: %v", show(path), err)
	}
}

func fileFix(o Origin, err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "create it, or point " + o.Name + " at an existing file"
	}
	if errors.Is(err, fs.ErrPermission) {
		return "make it readable by this user"
	}
	return "point " + o.Name + " at a config file"
}

// setting is one candidate value of a string setting, with its origin.
type setting struct {
	v   string
	o   Origin
	set bool
}

// globalKey describes one top-level setting and the layers that can set it.
type globalKey struct {
	key     string
	env     string // CWCREDS_* variable
	flag    string
	awsEnv  string // lower-precedence fallback below the file
	perProf bool   // a profile may set its own
	isPath  bool
	check   check
}

// globalKeys is a read-only table; its order is the order `config show` prints.
var globalKeys = []globalKey{
	{key: "api_endpoint", env: EnvAPIEndpoint, flag: "--api-endpoint", perProf: true, check: checkURL},
	{key: "org_id", env: EnvOrgID, flag: "--org-id", perProf: true, check: checkID},
	{key: "s3_endpoint", env: EnvS3Endpoint, flag: "--s3-endpoint", awsEnv: EnvAWSEndpointS3, perProf: true, check: checkS3URL},
	{key: "region", env: EnvRegion, flag: "--region", awsEnv: EnvAWSRegion, perProf: true, check: checkRegion},
	{key: "ca_bundle", env: EnvCABundle, flag: "--ca-bundle", perProf: true, isPath: true},
	{key: "cache_dir", env: EnvCacheDir, flag: "--cache-dir", isPath: true},
	{key: "default_profile", env: EnvProfile, flag: "--profile", check: checkProfileName},
}

func (o Overrides) get(key string) string {
	switch key {
	case "api_endpoint":
		return o.APIEndpoint
	case "org_id":
		return o.OrgID
	case "s3_endpoint":
		return o.S3Endpoint
	case "region":
		return o.Region
	case "ca_bundle":
		return o.CABundle
	case "cache_dir":
		return o.CacheDir
	case "default_profile":
		return o.Profile
	}
	return ""
}

// globals holds the winning value of each top-level setting, by key.
type globals map[string]setting

// resolveGlobals applies flag > env > file > AWS env > default to every
// top-level setting and checks each winner where it came from.
func (l *loader) resolveGlobals(file map[string]setting, fileDir string) (globals, error) {
	g := make(globals, len(globalKeys))
	for _, k := range globalKeys {
		cands := []setting{
			{v: l.flags.get(k.key), o: Origin{Kind: OriginFlag, Name: k.flag}},
			{v: l.getenv(k.env), o: Origin{Kind: OriginEnv, Name: k.env}},
			file[k.key],
		}
		if k.awsEnv != "" {
			cands = append(cands, setting{v: l.getenv(k.awsEnv), o: Origin{Kind: OriginAWSEnv, Name: k.awsEnv}})
		}
		cands = append(cands, l.globalDefault(k.key))
		var win setting
		for _, c := range cands {
			if c.v != "" {
				win, win.set = c, true
				break
			}
		}
		if !win.set {
			g[k.key] = setting{o: defaultOrigin("")}
			continue
		}
		field := k.key
		if k.key == "default_profile" && win.o.Kind >= OriginEnv {
			field = "profile" // named by --profile or CWCREDS_PROFILE
		}
		v, err := l.checkValue(k, field, win, fileDir)
		if err != nil {
			return nil, err
		}
		win.v = v
		g[k.key] = win
	}
	return g, nil
}

func (l *loader) globalDefault(key string) setting {
	d := setting{o: defaultOrigin("")}
	switch key {
	case "api_endpoint":
		d.v = DefaultAPIEndpoint
	case "s3_endpoint":
		d.v = DefaultS3Endpoint
	case "default_profile":
		d.v = DefaultProfileName
	case "cache_dir":
		d.v = l.defaultCacheDir()
	}
	return d
}

// checkValue validates and normalises one value of setting k; field names it in
// errors. Paths are made absolute relative to the file's folder (file values) or
// the working directory (flags and environment).
func (l *loader) checkValue(k globalKey, field string, s setting, fileDir string) (string, error) {
	var v, problem, fix string
	switch {
	case k.isPath && s.o.Kind == OriginFile:
		v, problem, fix = l.paths.abs(field, s.v, fileDir)
	case k.isPath:
		v, problem, fix = l.absFromWorkDir(field, s.v)
	case k.check != nil:
		v, problem, fix = k.check(field, s.v)
	default:
		v = s.v
	}
	if problem != "" {
		return "", errAt(s.o, field, problem, fix)
	}
	return v, nil
}

func (l *loader) newConfig(path string, g globals) *Config {
	c := &Config{
		Path:           path,
		APIEndpoint:    g["api_endpoint"].v,
		OrgID:          g["org_id"].v,
		S3Endpoint:     g["s3_endpoint"].v,
		Region:         g["region"].v,
		CABundle:       g["ca_bundle"].v,
		CacheDir:       g["cache_dir"].v,
		DefaultProfile: g["default_profile"].v,
		profiles:       map[string]*Profile{},
		origins:        map[string]Origin{},
	}
	for k, s := range g {
		c.origins[k] = s.o
	}
	return c
}

// inherit copies the global settings into p, recording their origins.
func inherit(p *Profile, g globals) {
	p.APIEndpoint, p.origins["api_endpoint"] = g["api_endpoint"].v, g["api_endpoint"].o
	p.OrgID, p.origins["org_id"] = g["org_id"].v, g["org_id"].o
	p.S3Endpoint, p.origins["s3_endpoint"] = g["s3_endpoint"].v, g["s3_endpoint"].o
	p.Region, p.origins["region"] = g["region"].v, g["region"].o
	p.CABundle, p.origins["ca_bundle"] = g["ca_bundle"].v, g["ca_bundle"].o
	p.CacheDir = g["cache_dir"].v
}

func (p *Profile) setGlobal(key, v string) {
	switch key {
	case "api_endpoint":
		p.APIEndpoint = v
	case "org_id":
		p.OrgID = v
	case "s3_endpoint":
		p.S3Endpoint = v
	case "region":
		p.Region = v
	case "ca_bundle":
		p.CABundle = v
	}
}
