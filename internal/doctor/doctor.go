// Package doctor holds the checks of `cwcreds doctor`: it walks one profile end
// to end — the config, the identity source, the clock against the API, the
// exchange, S3 with the new keys, and what an AWS SDK in this shell would
// actually use — and says for each step ok, or the problem and its fix.
//
// It changes nothing it inspects: it reads the config, the token, the AWS files
// and the environment, and never writes the disk cache, the config or the AWS
// files. It does mint one set of keys (that is the only way to know the exchange
// works) and revokes them afterwards when an API token allows it (the profile's
// own api_token source, else $CW_API_TOKEN); otherwise they expire by themselves,
// and the exchange step says so. An oidc_refresh profile's refresh may rotate the
// stored refresh token, as every refresh does; the login store keeps the new one.
//
// Nothing it reports holds a token, a secret key or an access key id: claims are
// shown (iss, sub, aud, exp), the token never is.
package doctor

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

// Status is the outcome of one step.
type Status string

// The outcomes. A step is skipped when it does not apply (no credential_process
// to check) or when an earlier problem, reported there, makes it impossible.
const (
	StatusOK      Status = "ok"
	StatusProblem Status = "problem"
	StatusSkipped Status = "skipped"
)

// Step IDs, stable for scripts reading `-o json`.
const (
	StepConfig            = "config"
	StepIdentity          = "identity"
	StepClock             = "clock"
	StepExchange          = "exchange"
	StepS3                = "s3"
	StepAWSEnvironment    = "aws-environment"
	StepAWSProfile        = "aws-profile"
	StepCredentialProcess = "credential-process"
)

// Step is one check and its outcome.
type Step struct {
	ID     string `json:"id" yaml:"id"`
	Title  string `json:"title" yaml:"title"`
	Status Status `json:"status" yaml:"status"`
	// Detail says what was found (for every status).
	Detail string `json:"detail,omitempty" yaml:"detail,omitempty"`
	// Problem and Fix are set when Status is StatusProblem.
	Problem string `json:"problem,omitempty" yaml:"problem,omitempty"`
	Fix     string `json:"fix,omitempty" yaml:"fix,omitempty"`
}

// Report is every step, in order.
type Report struct {
	Profile string `json:"profile" yaml:"profile"`
	// OK is true when no step has a problem.
	OK    bool   `json:"ok" yaml:"ok"`
	Steps []Step `json:"steps" yaml:"steps"`
}

// Problems counts the steps with a problem.
func (r Report) Problems() int {
	n := 0
	for _, s := range r.Steps {
		if s.Status == StatusProblem {
			n++
		}
	}
	return n
}

// Deps are what the checks read and call; every field but Load has a default.
type Deps struct {
	// Load reads the effective configuration (flags, environment, file).
	Load func() (*config.Config, error)
	// Profile is the profile to check; "" is the config's default profile.
	Profile string
	// Getenv reads the environment of the shell being diagnosed.
	Getenv func(string) string
	Clock  clockwork.Clock
	// HTTPClient makes the clock and S3 requests; nil builds one from the
	// profile's CA bundle and proxy settings, as the exchange does.
	HTTPClient *http.Client
	// NewFetcher builds the profile's exchange; src, when not nil, replaces the
	// profile's identity source with the token the identity step already read.
	NewFetcher func(p *config.Profile, src exchange.TokenSource) (exchange.Fetcher, error)
	// Cached returns the profile's keys from the disk cache, read only, for the
	// sources doctor cannot run on its own (an interactive SAML login).
	Cached func(p *config.Profile) (creds.Credentials, bool)
	// Revoker revokes the keys doctor minted; nil: they are left to expire.
	Revoker *exchange.Revoker
	// CommandStderr receives a token command's stderr (nil discards it).
	CommandStderr io.Writer
	// Version is this cwcreds's version, Executable its path ("" unknown).
	Version    string
	Executable string
	// RunVersion runs `path version` and returns its first line (default: a
	// child process with a timeout).
	RunVersion func(ctx context.Context, path string) (string, error)
	// ConfigFlag is doctor's --config, "" when not given: a credential_process
	// without it reads another file.
	ConfigFlag string
	// WorkDir resolves a relative credential_process program ("" os.Getwd).
	WorkDir string
	// S3Patience is how long after the propagation delay a refused new key is
	// tried again (default DefaultS3Patience).
	S3Patience time.Duration
}

const (
	// MaxClockSkew is the largest difference from the API's clock that passes:
	// JWT exp/iat checks allow about a minute, SigV4 fifteen.
	MaxClockSkew = time.Minute
	// DefaultS3Patience: CoreWeave's own Terraform provider retries a new key
	// for up to a minute; doctor waits half that beyond propagation_delay.
	DefaultS3Patience = 30 * time.Second
	// s3RetryEvery paces the retries of a refused new key.
	s3RetryEvery = time.Second
	// callTimeout bounds each network call doctor makes.
	callTimeout = 30 * time.Second
)

// Run walks the profile and returns every step's outcome. It returns when
// every check is done or ctx ends (the steps left are then problems saying so).
func Run(ctx context.Context, d Deps) Report {
	if d.Getenv == nil {
		d.Getenv = func(string) string { return "" }
	}
	if d.Clock == nil {
		d.Clock = clockwork.NewRealClock()
	}
	if d.RunVersion == nil {
		d.RunVersion = runVersion
	}
	if d.S3Patience <= 0 {
		d.S3Patience = DefaultS3Patience
	}
	r := &run{d: d}
	r.walk(ctx)
	rep := Report{Profile: r.profileName(), Steps: r.steps, OK: true}
	for _, s := range r.steps {
		if s.Status == StatusProblem {
			rep.OK = false
		}
	}
	return rep
}

// run is one walk: what each step learned for the next.
type run struct {
	d     Deps
	steps []Step

	cfg     *config.Config
	profile *config.Profile
	// identity
	token       string // the JWT or API token read, never reported
	claims      *exchange.Claims
	audMismatch bool
	identityOK  bool
	cachedOnly  bool // the source cannot run here: use cached keys
	// exchange
	keys       creds.Credentials
	haveKeys   bool
	minted     bool
	mintedAt   time.Time
	exchangeAt int // index of the exchange step, whose detail the revocation completes
}

func (r *run) profileName() string {
	switch {
	case r.profile != nil:
		return r.profile.Name
	case r.d.Profile != "":
		return r.d.Profile
	case r.cfg != nil:
		return r.cfg.DefaultProfile
	}
	return config.DefaultProfileName
}

func (r *run) add(s Step) int {
	r.steps = append(r.steps, s)
	return len(r.steps) - 1
}

func okStep(id, title, detail string) Step {
	return Step{ID: id, Title: title, Status: StatusOK, Detail: detail}
}

func problemStep(id, title, detail, prob, fix string) Step {
	return Step{ID: id, Title: title, Status: StatusProblem, Detail: detail, Problem: prob, Fix: fix}
}

func skippedStep(id, title, why string) Step {
	return Step{ID: id, Title: title, Status: StatusSkipped, Detail: why}
}

func (r *run) walk(ctx context.Context) {
	r.checkConfig()
	if r.profile == nil {
		r.add(skippedStep(StepIdentity, titleIdentity, "needs the profile (see config)"))
		r.add(skippedStep(StepClock, titleClock, "needs the profile's API endpoint (see config)"))
		r.add(skippedStep(StepExchange, titleExchange, "needs the profile (see config)"))
		r.add(skippedStep(StepS3, titleS3, "needs the profile (see config)"))
	} else {
		r.checkIdentity(ctx)
		r.checkClock(ctx)
		r.checkExchange(ctx)
		r.checkS3(ctx)
		r.revoke(ctx)
	}
	r.checkAWS(ctx)
}
