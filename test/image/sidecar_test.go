package image_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

// checkSidecar runs the image as the injector's native sidecar does (the args and
// environment of the shared contract, a read-only root with no /tmp volume, no
// capability), against an emulator on the host: a plain `serve` must need no
// writable place but the shared volume, and hand out the emulator's keys.
func checkSidecar(t *testing.T, ctx context.Context, d *dockerd) {
	emu := emutest.Start(t, emulator.Config{Clock: clockwork.NewRealClock(), Logger: zap.NewNop()})
	jwt, err := emu.DevIssuer().Mint(devissuer.MintOptions{
		Subject: "system:serviceaccount:ml:trainer", Audience: []string{cwobject.RecommendedAudience}, Lifetime: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The projected token volume and the shared emptyDir, owned as the kubelet
	// makes them for a pod whose runAsUser is the image's user.
	dir := t.TempDir()
	saDir, runDir := filepath.Join(dir, "serviceaccount"), filepath.Join(dir, "run")
	for _, p := range []string{saDir, runDir} {
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, nonrootID, nonrootID); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(saDir, "token"), []byte(jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(saDir, "token"), nonrootID, nonrootID); err != nil {
		t.Fatal(err)
	}

	ports := freePorts(t, 2)
	api, ops := ports[0], ports[1]
	name := "cwcreds-sidecar"
	// Host network: a pod's containers share one loopback, and the emulator is on
	// the host's.
	_, err = d.docker(ctx, "run", "--detach", "--name", name, "--network", "host",
		"--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"--volume", saDir+":/var/run/secrets/cwcreds.io/serviceaccount:ro",
		"--volume", runDir+":/var/run/cwcreds",
		"--env", "CWCREDS_TOKEN_FILE=/var/run/secrets/cwcreds.io/serviceaccount/token",
		"--env", "CWCREDS_ORG_ID="+emu.OrgID(), "--env", "CWCREDS_API_ENDPOINT="+emu.APIURL(),
		imageTag, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", api), "--ops-listen", fmt.Sprintf("127.0.0.1:%d", ops),
		"--auth-token-file", "/var/run/cwcreds/auth-token")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = d.docker(context.WithoutCancel(ctx), "rm", "--force", name) }()
	stderr := func() string {
		_, e, _ := d.run(context.WithoutCancel(ctx), "logs", name)
		return e
	}

	// The startup probe: /readyz on the operations port.
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if status, _ := get(t, waitCtx, fmt.Sprintf("http://127.0.0.1:%d/readyz", ops), "", ""); status == http.StatusOK {
			break
		}
		select {
		case <-waitCtx.Done():
			t.Fatalf("the sidecar never got ready:\n%s", stderr())
		case <-time.After(200 * time.Millisecond):
		}
	}
	token, err := os.ReadFile(filepath.Join(runDir, "auth-token"))
	if err != nil {
		t.Fatalf("the sidecar wrote no auth token into the shared volume: %v", err)
	}
	status, body := get(t, ctx, fmt.Sprintf("http://127.0.0.1:%d/v1/credentials", api), "", string(token))
	var keys struct{ AccessKeyId, SecretAccessKey, Expiration string }
	if err := json.Unmarshal([]byte(body), &keys); status != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/credentials: %d %v", status, err)
	}
	if secret, _ := emu.ResolveKey(keys.AccessKeyId); secret == "" || secret != keys.SecretAccessKey {
		t.Errorf("the sidecar served key %q, which the emulator did not mint", keys.AccessKeyId)
	}
	d.mustDocker(t, ctx, "stop", "--time", "20", name)
	if code := strings.TrimSpace(d.mustDocker(t, ctx, "inspect", "--format", "{{.State.ExitCode}}", name)); code != "0" {
		t.Errorf("the sidecar exited %s after SIGTERM, want 0:\n%s", code, stderr())
	}
	logs := stderr()
	for what, v := range map[string]string{"auth token": string(token), "secret access key": keys.SecretAccessKey, "service-account token": jwt} {
		if strings.Contains(logs, v) {
			t.Errorf("the sidecar's log holds the %s", what)
		}
	}
}
