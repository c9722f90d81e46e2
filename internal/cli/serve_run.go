package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/logging"
	"github.com/cwcreds/cwcreds/internal/server"
)

// runServe is `cwcreds serve`: it returns nil after a graceful shutdown.
func runServe(ctx context.Context, env Env, o *serveOptions, reload <-chan os.Signal) error {
	log, err := logging.New(env.Stderr, o.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	clock := clockwork.NewRealClock()

	d := &daemon{env: env, o: o, log: log, clock: clock, getenv: env.Getenv, load: func() (*config.Config, error) { return o.load(env) }}
	var dev *devServe
	if o.dev {
		if dev, err = startDev(ctx, o, log, clock, env.Getenv); err != nil {
			return err
		}
		defer dev.close()
		d.getenv, d.load = dev.getenv(env.Getenv), dev.load
	}

	cfg, err := d.load()
	if err != nil {
		return err
	}
	if err := d.setUp(cfg, dev); err != nil {
		return err
	}

	ops, err := server.NewOpsHandler(server.OpsConfig{Server: d.srv, Gatherer: d.registry, MinReadyTTL: o.minReadyTTL, Logger: log})
	if err != nil {
		return err
	}
	apiCfg := server.ListenConfig{Addr: o.listen, ShutdownTimeout: o.shutdownTimeout, Logger: log, Metrics: d.metrics}
	apiLn, err := server.Listen(ctx, apiCfg)
	if err != nil {
		return fmt.Errorf("credentials endpoint: %w (choose another address with --listen)", err)
	}
	opsCfg := server.ListenConfig{Addr: o.opsListen, ShutdownTimeout: o.shutdownTimeout, Logger: log}
	var opsLn net.Listener
	if o.opsListen != "" && o.opsListen != opsOff {
		if opsLn, err = server.Listen(ctx, opsCfg); err != nil {
			_ = apiLn.Close()
			return fmt.Errorf("operations endpoint: %w (choose another address with --ops-listen, or turn it off with --ops-listen off)", err)
		}
	}
	d.logListening(apiLn, opsLn)
	if o.revokeOnExit {
		d.warnIfCannotRevoke(ctx, d.profilesNow())
	}

	tasks := endpointTasks(apiLn, d.srv.Handler(apiLn.Addr()), apiCfg, log, func(ctx context.Context, apiDone <-chan struct{}) error {
		return d.runProfiles(ctx, apiDone, reload)
	})
	if opsLn != nil {
		tasks = append(tasks, task{"operations endpoint", func(ctx context.Context) error {
			return serveEndpoint(ctx, opsLn, ops, opsCfg, log)
		}})
	}
	if dev != nil {
		tasks = append(tasks, dev.tasks(d, server.EndpointURL(apiLn.Addr(), ""))...)
	}

	// The shutdown deadline runs from the signal (or from the failure that
	// stopped the tasks), and bounds --revoke-on-exit too.
	stopAt := make(chan time.Time, 1)
	stopWatch := context.AfterFunc(ctx, func() {
		stopAt <- clock.Now()
		log.Info("shutting down", zap.Duration("deadline", o.shutdownTimeout))
	})
	err = runTasks(ctx, tasks...)
	var stopping time.Time
	if stopWatch() {
		stopping = clock.Now()
	} else {
		stopping = <-stopAt
	}
	if o.revokeOnExit {
		rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), stopping.Add(o.shutdownTimeout))
		defer cancel()
		err = errors.Join(err, d.revokeMinted(rctx))
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// serveEndpoint serves h on ln until ctx is done. Requests that outlive the
// shutdown deadline are cut and logged; that still counts as a shutdown done on time.
func serveEndpoint(ctx context.Context, ln net.Listener, h http.Handler, cfg server.ListenConfig, log *zap.Logger) error {
	err := server.Serve(ctx, ln, h, cfg)
	if err != nil && ctx.Err() != nil {
		log.Warn("shutdown deadline reached", zap.Error(err))
		return nil
	}
	return err
}

// logListening says where the endpoints are and what a program needs to use them.
func (d *daemon) logListening(api, ops net.Listener) {
	fields := []zap.Field{
		zap.String("listen", listenerAddr(api)),
		zap.Strings("profiles", d.srv.Profiles()),
		zap.String("default_profile", d.srv.DefaultProfile()),
	}
	if u := server.EndpointURL(api.Addr(), ""); u != "" {
		fields = append(fields, zap.String("AWS_CONTAINER_CREDENTIALS_FULL_URI", u))
	} else {
		fields = append(fields, zap.String("note", "AWS SDKs cannot reach a unix socket by themselves: put a proxy in front of it"))
	}
	fields = append(fields, zap.String("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", d.tokenPath))
	if ops != nil {
		fields = append(fields, zap.String("ops_listen", listenerAddr(ops)))
	}
	d.log.Info("serving credentials", fields...)
}

func listenerAddr(ln net.Listener) string {
	if a := ln.Addr(); a.Network() == "unix" {
		return server.UnixPrefix + a.String()
	}
	return ln.Addr().String()
}

// defaultAuthTokenFile is $XDG_RUNTIME_DIR/cwcreds/auth-token (a per-user tmpfs
// on most Linux systems), else <cache dir>/serve/auth-token.
func defaultAuthTokenFile(getenv func(string) string, cacheDir string) (string, error) {
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "cwcreds", "auth-token"), nil
	}
	if cacheDir == "" {
		return "", errors.New("no folder for the auth token: pass --auth-token-file, or set XDG_RUNTIME_DIR or HOME")
	}
	return filepath.Join(cacheDir, "serve", "auth-token"), nil
}
