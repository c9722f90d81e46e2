package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/devsaml"
	"github.com/cwcreds/cwcreds/internal/fileutil"
	"github.com/cwcreds/cwcreds/internal/login"
)

// devPasswordVar holds the password of the dev identity providers' user "dev".
const devPasswordVar = "CWCREDS_DEV_PASSWORD"

// devLogins are the identity providers `cwcreds dev emulator` and `serve --dev`
// host for trying laptop logins without a company IdP: an OpenID provider
// (zitadel's op) and a SAML IdP (crewjam's samlidp), both trusted by the
// emulator, with one user "dev" whose password is $CWCREDS_DEV_PASSWORD (given,
// or a new random one). A profiles file holds the emulator's default profile and
// dev-oidc and dev-saml, which log in there.
type devLogins struct {
	password   string
	configPath string
}

// startDevLogins serves both providers until ctx is done and writes the profiles
// file into stateDir; tokenFile is the default profile's token file.
func startDevLogins(ctx context.Context, emu *emulator.Emulator, stateDir, tokenFile string, propagation time.Duration,
	getenv func(string) string, clock clockwork.Clock, log *zap.Logger) (*devLogins, error) {
	pw := getenv(devPasswordVar)
	if pw == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b) // never fails
		pw = hex.EncodeToString(b)
	}
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dev OpenID provider: %w", err)
	}
	op, err := devop.Start(opLn, devop.Config{Password: pw})
	if err != nil {
		_ = opLn.Close()
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = op.Close() })
	op.TrustedBy(emu)

	samlLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dev SAML IdP: %w", err)
	}
	idp, err := devsaml.New(devsaml.Config{Password: pw, Clock: clock, Logger: log.Named("dev-saml")}, samlLn)
	if err != nil {
		_ = samlLn.Close()
		return nil, err
	}
	go func() {
		if err := idp.Serve(ctx); err != nil {
			log.Warn("the dev SAML IdP stopped", zap.Error(err))
		}
	}()
	// The IdP posts to the ACS its service provider lists: a port fixed now.
	acsPort, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	acsURL, err := login.SAMLLoginACSURL(net.JoinHostPort("127.0.0.1", strconv.Itoa(acsPort)))
	if err != nil {
		return nil, err
	}
	configID, err := devsaml.Register(emu, idp, acsURL)
	if err != nil {
		return nil, err
	}

	q := func(v string) string {
		b, _ := json.Marshal(v) // a string always marshals; JSON strings are YAML scalars
		return string(b)
	}
	body := fmt.Appendf(nil, `# written by cwcreds dev: the emulator's profiles (cwcreds login --profile dev-oidc)
api_endpoint: %s
org_id: %s
s3_endpoint: %s
region: %s
profiles:
  default:
    source: {type: token_file, path: %s}
    propagation_delay: %s
  dev-oidc:
    source: {type: oidc_refresh, issuer: %s, client_id: %s}
    propagation_delay: %s
  dev-saml:
    source: {type: saml_login, idp_metadata_url: %s, config_id: %s, acs_port: %d}
    propagation_delay: %s
`, q(emu.APIURL()), q(emu.OrgID()), q(emu.S3URL()), q(emu.Region()),
		q(tokenFile), propagation,
		q(op.Issuer()), q(op.ClientID()), propagation,
		q(idp.MetadataURL()), q(configID), acsPort, propagation)
	path := filepath.Join(stateDir, "profiles.yaml")
	if err := fileutil.WriteFileAtomic(path, body, 0o600); err != nil {
		return nil, err
	}
	log.Info("dev identity providers ready", zap.String("oidc", op.Issuer()), zap.String("saml", idp.URL()), zap.String("profiles", path))
	return &devLogins{password: pw, configPath: path}, nil
}

// exports point cwcreds at the profiles file and give the dev user's password.
func (l *devLogins) exports() []envVar {
	return []envVar{{"CWCREDS_CONFIG", l.configPath}, {devPasswordVar, l.password}}
}

func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
