package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/server"
)

// privateEndpoint is the container-credentials endpoint `exec --server` runs for
// its command alone: loopback, a port the kernel picks, a fresh random token.
type privateEndpoint struct {
	url       string
	tokenFile string
	token     string // the file's content, for SDKs that read only AWS_CONTAINER_AUTHORIZATION_TOKEN
	stop      func()
}

// startPrivateEndpoint fetches the profile's first keys (so a failure shows
// before the command starts) and serves them from an in-memory refresher that
// renews them ahead of expiry until stop.
func startPrivateEndpoint(ctx context.Context, env Env, p *config.Profile, logger *zap.Logger) (_ *privateEndpoint, err error) {
	counted := &countingReader{r: env.Stdin}
	// No cold wait: the first Get below waits for the first exchange; the server
	// bounds each request's wait itself.
	ref, err := oneShot(env, sourceStdin(env, counted), logger).refresher(p, inMemory{})
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "cwcreds-exec-") // 0700
	if err != nil {
		return nil, fmt.Errorf("could not create a folder for the endpoint's token: %w", err)
	}
	tokenFile := filepath.Join(dir, "token")
	token, err := server.LoadAuthToken(tokenFile, server.AuthTokenOptions{Generate: true}) // random, 0600, no newline
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	tokenValue, err := os.ReadFile(tokenFile)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("could not read the endpoint's token: %w", err)
	}
	srv, err := server.New(server.Config{AuthToken: token, Logger: logger})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := srv.SetProfiles(p.Name, map[string]server.Provider{p.Name: ref}); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	lc := server.ListenConfig{Addr: "127.0.0.1:0", Logger: logger}
	ln, err := server.Listen(ctx, lc)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}

	// The endpoint and its refresher run as serve's do, and outlive this call:
	// they stop with stop, not with ctx (a Ctrl-C is the command's to handle; we
	// serve until it exits). Nobody knows the URL before the first keys are in.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan error, 1)
	go func() {
		ran <- runTasks(runCtx, endpointTasks(ln, srv.Handler(ln.Addr()), lc, logger, runRefreshers(ref))...)
	}()
	stop := func() {
		cancel()
		if err := <-ran; err != nil {
			logger.Warn("the private credentials endpoint stopped", zap.Error(err))
		}
		if err := os.RemoveAll(dir); err != nil {
			logger.Warn("could not remove the endpoint's token folder", zap.String("path", dir), zap.Error(err))
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()

	if _, err := ref.Get(ctx); err != nil {
		if le := loginRequired(env, p, counted, err); le != nil {
			return nil, le
		}
		return nil, err
	}
	// Brand-new keys are refused by S3 for a moment; the command's first call
	// must not be.
	if err := ref.AwaitPropagated(ctx); err != nil {
		return nil, err
	}
	url := server.EndpointURL(ln.Addr(), "")
	logger.Debug("private credentials endpoint ready", zap.String("url", url), zap.String("profile", p.Name))
	return &privateEndpoint{url: url, tokenFile: tokenFile, token: string(tokenValue), stop: stop}, nil
}
