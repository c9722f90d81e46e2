package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/inject"
	"github.com/cwcreds/cwcreds/internal/logging"
	"github.com/cwcreds/cwcreds/internal/server"
)

// Defaults of cwcreds inject.
const (
	injectDefaultListen = "0.0.0.0:9443"
	// injectMaxConns: the API server keeps a few connections per replica; a
	// review is up to inject.MaxReviewBytes, so the cap also bounds memory.
	injectMaxConns = 128
)

type injectOptions struct {
	listen, certFile, keyFile string
	certReload                time.Duration
	mode, image, pullPolicy   string
	audience, s3Endpoint      string
	region, agentURL          string
	orgID, apiEndpoint        string
	cpuRequest, memRequest    string
	memLimit                  string
	kubeconfig                string
	watchAccounts             bool
	logLevel                  string
	shutdownTimeout           time.Duration
}

func (o *injectOptions) addFlags(cmd *cobra.Command, version string) {
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", injectDefaultListen, "address of the webhook's TLS listener (POST /mutate, GET /healthz, /readyz, /metrics)")
	f.StringVar(&o.certFile, "tls-cert-file", "", "PEM certificate (chain) the webhook serves; re-read when it changes (required)")
	f.StringVar(&o.keyFile, "tls-key-file", "", "PEM private key of --tls-cert-file (required)")
	f.DurationVar(&o.certReload, "cert-reload-interval", inject.DefaultCertReloadInterval, "how often the certificate files are checked for changes")
	f.StringVar(&o.mode, "mode", string(inject.ModeSidecar), "default injection: sidecar (a cwcreds native sidecar per pod) or agent (no sidecar: the node agent serves the pod); a pod may choose with the annotation "+inject.AnnotationMode)
	f.StringVar(&o.image, "image", defaultInjectImage(version), "cwcreds image of the sidecar and of the aws-config init container")
	f.StringVar(&o.pullPolicy, "image-pull-policy", "", "imagePullPolicy of those containers: Always, IfNotPresent or Never (default: Kubernetes')")
	f.StringVar(&o.audience, "audience", inject.DefaultAudience, "audience of the pod's projected service-account token")
	f.StringVar(&o.s3Endpoint, "s3-endpoint", config.DefaultS3Endpoint, "AWS_ENDPOINT_URL_S3 of the app containers (http://cwlota.com inside CoreWeave clusters)")
	f.StringVar(&o.region, "region", "", "AWS_REGION and AWS_DEFAULT_REGION of the app containers (default: none set)")
	f.StringVar(&o.agentURL, "agent-url", inject.DefaultAgentURL, "in agent mode, the app containers' AWS_CONTAINER_CREDENTIALS_FULL_URI (e.g. http://[fd00:ec2::23]:9911/v1/credentials)")
	f.StringVar(&o.orgID, "org-id", "", "the sidecar's CoreWeave organization, required in sidecar mode (default $"+config.EnvOrgID+")")
	f.StringVar(&o.apiEndpoint, "api-endpoint", "", "the sidecar's CoreWeave API endpoint (default $"+config.EnvAPIEndpoint+", else the sidecar's default)")
	f.StringVar(&o.cpuRequest, "sidecar-cpu-request", "10m", "CPU request of the containers the webhook adds")
	f.StringVar(&o.memRequest, "sidecar-memory-request", "32Mi", "memory request of the containers the webhook adds")
	f.StringVar(&o.memLimit, "sidecar-memory-limit", "64Mi", "memory limit of the containers the webhook adds (\"\" for none)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig for reading service accounts (default: the pod's in-cluster account)")
	f.BoolVar(&o.watchAccounts, "watch-service-accounts", true, "honour "+inject.AnnotationInject+" on service accounts (needs list and watch on serviceaccounts); false: pod annotations only, no API access")
	f.StringVar(&o.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "on SIGTERM/SIGINT, how long reviews in flight get to finish")
}

// defaultInjectImage is the image released with this build; a dev build has none.
func defaultInjectImage(version string) string {
	if version == "" || version == "dev" || strings.ContainsAny(version, " +") {
		return ""
	}
	return inject.DefaultImageRepo + ":" + version
}

func newInjectCommand(env Env) *cobra.Command {
	o := &injectOptions{}
	cmd := &cobra.Command{
		Use:   "inject",
		Short: "Run the mutating admission webhook that wires annotated pods to cwcreds",
		Long: "Run the Kubernetes mutating admission webhook (AdmissionReview v1 on POST /mutate, over\n" +
			"TLS with --tls-cert-file and --tls-key-file, re-read when they change). For every pod\n" +
			"created with the annotation " + inject.AnnotationInject + ": \"true\" (or " + inject.AnnotationCoreWeaveInject + ": \"true\"),\n" +
			"on the pod or on its service account, it adds the projected service-account token, the\n" +
			"AWS config with virtual-hosted S3 addressing, and in every other container the AWS_*\n" +
			"variables that point AWS SDKs at cwcreds — never replacing what a container sets. In\n" +
			"sidecar mode it adds cwcreds serve as a native sidecar (an init container with\n" +
			"restartPolicy Always, started before the app and stopped after it, so Jobs finish); in\n" +
			"agent mode the node agent (cwcreds serve --mode agent) serves the pod.\n\n" +
			"Pods that do not opt in, and pods already injected, are left as they are. What cannot be\n" +
			"read gets an HTTP error, so the webhook configuration's failurePolicy decides.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.config(env)
			if err != nil {
				return err
			}
			return runInject(cmd.Context(), env, o, cfg)
		},
	}
	o.addFlags(cmd, env.Version)
	cmd.AddCommand(newWriteAWSConfigCommand(env))
	return cmd
}

// config checks the flags and turns them into the webhook's Config.
func (o *injectOptions) config(env Env) (inject.Config, error) {
	if o.certFile == "" || o.keyFile == "" {
		return inject.Config{}, errors.New("--tls-cert-file and --tls-key-file are required: the API server calls webhooks over TLS only")
	}
	if o.certReload <= 0 {
		return inject.Config{}, fmt.Errorf("--cert-reload-interval %s is not positive: use e.g. %s", o.certReload, inject.DefaultCertReloadInterval)
	}
	if o.shutdownTimeout <= 0 {
		return inject.Config{}, fmt.Errorf("--shutdown-timeout %s is not positive: use e.g. %s", o.shutdownTimeout, server.DefaultShutdownTimeout)
	}
	if o.image == "" {
		return inject.Config{}, fmt.Errorf("--image is required with this build (%s), which has no released image: use e.g. %s:v1.0.0", env.Version, inject.DefaultImageRepo)
	}
	if o.orgID == "" {
		o.orgID = env.Getenv(config.EnvOrgID)
	}
	if o.apiEndpoint == "" {
		o.apiEndpoint = env.Getenv(config.EnvAPIEndpoint)
	}
	res := inject.Resources{Requests: map[string]resource.Quantity{}, Limits: map[string]resource.Quantity{}}
	for _, q := range []struct {
		flag, value string
		list        map[string]resource.Quantity
		name        string
	}{
		{"--sidecar-cpu-request", o.cpuRequest, res.Requests, "cpu"},
		{"--sidecar-memory-request", o.memRequest, res.Requests, "memory"},
		{"--sidecar-memory-limit", o.memLimit, res.Limits, "memory"},
	} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil || v.Sign() <= 0 {
			return inject.Config{}, fmt.Errorf("%s %q is not a positive Kubernetes quantity: use e.g. 10m for CPU, 32Mi for memory", q.flag, q.value)
		}
		q.list[q.name] = v
	}
	if len(res.Limits) == 0 {
		res.Limits = nil
	}
	if len(res.Requests) == 0 {
		res.Requests = nil
	}
	cfg := inject.Config{
		Mode: inject.Mode(o.mode), Image: o.image, ImagePullPolicy: inject.PullPolicy(o.pullPolicy),
		Audience: o.audience, S3Endpoint: o.s3Endpoint, Region: o.region, AgentURL: o.agentURL,
		OrgID: o.orgID, APIEndpoint: o.apiEndpoint, Resources: res,
	}.WithDefaults()
	return cfg, cfg.Validate()
}

// runInject serves the webhook until ctx is done.
func runInject(ctx context.Context, env Env, o *injectOptions, cfg inject.Config) error {
	log, err := logging.New(env.Stderr, o.logLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	reg := prometheus.NewRegistry()
	certs, err := inject.NewCertReloader(o.certFile, o.keyFile, log, reg)
	if err != nil {
		return err
	}

	var tasks []task
	hcfg := inject.HandlerConfig{Config: cfg, Registerer: reg, Gatherer: reg, Logger: log}
	if o.watchAccounts {
		rc, err := kubeRESTConfig(o.kubeconfig, env.Version)
		if err != nil {
			return err
		}
		client, err := metadata.NewForConfig(rc)
		if err != nil {
			return fmt.Errorf("could not build the Kubernetes client: %w", err)
		}
		accounts, err := inject.NewServiceAccounts(client, log)
		if err != nil {
			return err
		}
		hcfg.Accounts, hcfg.Ready = accounts, accounts.Ready
		tasks = append(tasks, task{"service-account informer", accounts.Run})
	}
	h, err := inject.NewHandler(hcfg)
	if err != nil {
		return err
	}

	lcfg := server.ListenConfig{Addr: o.listen, MaxConns: injectMaxConns, ShutdownTimeout: o.shutdownTimeout, Logger: log}
	ln, err := server.Listen(ctx, lcfg)
	if err != nil {
		return fmt.Errorf("webhook listener: %w (choose another address with --listen)", err)
	}
	log.Info("serving the admission webhook", zap.String("listen", ln.Addr().String()), zap.String("path", inject.MutatePath),
		zap.String("mode", string(cfg.Mode)), zap.String("image", cfg.Image), zap.Bool("watch_service_accounts", o.watchAccounts))
	tlsLn := tls.NewListener(ln, certs.TLSConfig())
	tasks = append(tasks,
		task{"webhook endpoint", func(ctx context.Context) error { return serveEndpoint(ctx, tlsLn, h, lcfg, log) }},
		task{"certificate reloader", func(ctx context.Context) error { return certs.Run(ctx, clockwork.NewRealClock(), o.certReload) }},
	)
	if err := runTasks(ctx, tasks...); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// kubeRESTConfig is the kubeconfig's client config, or the in-cluster one.
func kubeRESTConfig(kubeconfig, version string) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if kubeconfig == "" {
		if rc, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("not running in a Kubernetes pod (%v): give --kubeconfig, or --watch-service-accounts=false to honour pod annotations only", err)
		}
	} else if rc, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %v", kubeconfig, oneLine(err.Error()))
	}
	rc.UserAgent = "cwcreds-inject/" + version
	rc.QPS, rc.Burst = 20, 40 // cache misses read accounts directly
	return rc, nil
}

type writeAWSConfigOptions struct {
	out, authTokenFile  string
	agentURL, tokenFile string
	waitTimeout         time.Duration
}

// defaultWarmTimeout bounds how long an agent-mode pod's start waits for its keys.
const defaultWarmTimeout = 2 * time.Minute

func newWriteAWSConfigCommand(env Env) *cobra.Command {
	o := &writeAWSConfigOptions{}
	cmd := &cobra.Command{
		Use:   "write-aws-config",
		Short: "Write the AWS config file that turns on virtual-hosted S3 addressing (the injected init container)",
		Long: "Write the AWS config file the webhook points AWS_CONFIG_FILE at:\n\n" + indentLines(inject.AWSConfig) + "\n" +
			"CoreWeave AI Object Storage needs virtual-hosted addressing, which SDKs read only from a\n" +
			"config file. With --auth-token-file it also writes the token the sidecar and the app\n" +
			"share, unless the file exists (mode 0644 in the pod's private in-memory volume, so an app\n" +
			"running as any user can read it).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.out == "" {
				return errors.New("--out is required: the path of the AWS config file to write, e.g. " + inject.AWSConfigPath)
			}
			if err := inject.WriteAWSConfig(o.out); err != nil {
				return err
			}
			if o.authTokenFile != "" {
				if _, err := inject.WriteAuthToken(o.authTokenFile); err != nil {
					return err
				}
			}
			if o.agentURL != "" {
				warmAgent(cmd.Context(), env, o)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.out, "out", "", "path of the AWS config file (required)")
	cmd.Flags().StringVar(&o.authTokenFile, "auth-token-file", "", "also write a new auth token there unless the file exists")
	cmd.Flags().StringVar(&o.agentURL, "wait-for-credentials", "", "then ask this node-agent URL for the pod's keys (with --token-file) until it serves them, so the app starts with keys S3 already accepts")
	cmd.Flags().StringVar(&o.tokenFile, "token-file", "", "with --wait-for-credentials: the pod's projected service-account token")
	cmd.Flags().DurationVar(&o.waitTimeout, "wait-timeout", defaultWarmTimeout, "with --wait-for-credentials: give up after this long (with a warning, exit 0: the app then starts and its SDK asks itself)")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		switch {
		case o.agentURL != "" && o.tokenFile == "":
			return errors.New("--wait-for-credentials needs --token-file, the pod's service-account token: e.g. " + inject.TokenPath)
		case o.agentURL == "" && o.tokenFile != "":
			return errors.New("--token-file works only with --wait-for-credentials: add the agent's URL or drop it")
		case o.waitTimeout <= 0:
			return fmt.Errorf("--wait-timeout %s is not positive: use e.g. %s", o.waitTimeout, defaultWarmTimeout)
		}
		return nil
	}
	return cmd
}

// warmAgent waits for the node agent to serve the pod's keys. It never fails the
// pod's start: an agent that is down or refuses the token is a warning, and the
// app's SDK meets the same answer itself.
func warmAgent(ctx context.Context, env Env, o *writeAWSConfigOptions) {
	ctx, cancel := context.WithTimeout(ctx, o.waitTimeout)
	defer cancel()
	w := inject.Warmer{Client: &http.Client{Timeout: 10 * time.Second}, Sleep: inject.SleepContext}
	if _, err := w.Warm(ctx, o.agentURL, o.tokenFile); err != nil {
		fmt.Fprintf(env.Stderr, "cwcreds: warning: %v; starting the app anyway\n", err)
	}
}

func indentLines(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
