package login

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
)

// DeviceOptions tune Device.
type DeviceOptions struct {
	// Out receives the verification URL and the user code; required.
	Out io.Writer
}

// Device runs the OIDC device authorization grant (RFC 8628): it writes the
// verification URL, the user code and verification_uri_complete to opts.Out,
// polls the token endpoint at the provider's interval (slower after slow_down),
// and verifies the ID token. ctx bounds the login; the device code's own expiry
// ends it with ErrExpired, the user's refusal with ErrDenied.
func Device(ctx context.Context, cfg Config, opts DeviceOptions) (*Tokens, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	p, err := discover(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if p.conf.Endpoint.DeviceAuthURL == "" {
		return nil, fmt.Errorf("the identity provider %s does not offer the device flow (no device_authorization_endpoint); log in with the browser instead", cfg.Issuer)
	}
	ctx2 := cfg.withClient(ctx)
	da, err := p.conf.DeviceAuth(ctx2)
	if err != nil {
		return nil, providerErr(ctx, "starting the device login", err)
	}
	fmt.Fprintf(opts.Out, "To log in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(opts.Out, "or open %s\n", da.VerificationURIComplete)
	}
	cfg.logger().Debug("polling for the device login", zap.String("issuer", cfg.Issuer), zap.Int64("intervalSeconds", da.Interval))
	t, err := p.conf.DeviceAccessToken(ctx2, da)
	if err != nil {
		return nil, deviceErr(ctx, err, da.DeviceCode)
	}
	return p.tokens(ctx, t, "")
}

func deviceErr(ctx context.Context, err error, deviceCode string) error {
	if e := ctxErr(ctx, "waiting for the device login to be approved"); e != nil {
		return e
	}
	// x/oauth2 bounds the polling by the device code's expiry with a context
	// deadline of its own: the caller's ctx is still alive, so the code expired.
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w before it was approved; run the login again and enter the new code sooner", ErrExpired)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "access_denied":
			return fmt.Errorf("%w: the request was refused at the identity provider; run the login again to retry", ErrDenied)
		case "expired_token":
			return fmt.Errorf("%w before it was approved; run the login again and enter the new code sooner", ErrExpired)
		}
	}
	return providerErr(ctx, "waiting for the device login", err, deviceCode)
}
