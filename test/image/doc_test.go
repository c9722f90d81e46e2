// Package image_test builds the cwcreds container image from the repository's
// Dockerfile and runs it, on a Docker daemon the test starts itself.
//
// No image registry is reachable in CI, so the Dockerfile's `build` stage (FROM
// golang) cannot run here. The test runs what that stage runs — scripts/image-rootfs,
// the one place that lays out the image's files — and builds the Dockerfile's final
// stage, as written in the file, on a stand-in `build` stage holding that output
// (legacy builder: BuildKit does not work here). Then it checks the image (size,
// user, entrypoint, labels, files and their owners) and runs it: `version`, the
// credential_process binary, https to an API stand-in that the image's CA bundle
// trusts (and one it does not), `serve --dev` with a read-only root filesystem and
// every capability dropped, answering /readyz and handing keys to aws-sdk-go-v2 on
// the host, which uses them against the emulated S3 published beside it, and
// `serve` as the injector's sidecar runs it (contract args and env, read-only
// root with no /tmp volume) against an emulator on the host.
//
// dockerd gets its own data root, exec root, socket and config in a temporary
// folder (all removed at the end), no iptables, no IP forwarding and no default
// bridge: the containers use a network the test creates, and ports are published
// on 127.0.0.1 only. It needs root and Debian's docker.io: a missing one is a
// failure with the fix (run scripts/install-test-deps), never a skip.
package image_test
