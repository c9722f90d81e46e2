# The cwcreds container image: /cwcreds and /cwcreds-credential-process, static,
# on an empty base, run as 65532:65532.
#
#   docker build -t cwcreds --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REPO/cwcreds:TAG --push .
#
# Two stages and only two: test/image builds the final stage below as written, with
# a stand-in for the `build` stage that holds the root filesystem it made itself with
# the same scripts/image-rootfs (no registry is reachable in CI). Keep everything the
# image gets in that script, and the final stage copying from `build` only.

ARG GO_IMAGE=golang:1.26
ARG VERSION=dev

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH VERSION
# Cross-compiled on the build machine's platform: no emulation for other targets.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH VERSION=$VERSION scripts/image-rootfs /rootfs

FROM scratch
ARG VERSION
ARG REVISION=unknown
LABEL org.opencontainers.image.title="cwcreds" \
      org.opencontainers.image.description="Short-lived CoreWeave AI Object Storage keys for AWS SDKs: container-credentials endpoint, node agent, credential_process" \
      org.opencontainers.image.source="https://github.com/cwcreds/cwcreds" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /rootfs/ /
COPY --from=build --chown=65532:65532 /rootfs/home/ /home/
# Everything cwcreds writes by default goes under /tmp, so a read-only root
# filesystem needs one writable volume there (an emptyDir, docker run --tmpfs /tmp).
ENV HOME=/home/nonroot \
    TMPDIR=/tmp \
    XDG_CACHE_HOME=/tmp/cache \
    XDG_STATE_HOME=/tmp/state \
    XDG_RUNTIME_DIR=/tmp/run
USER 65532:65532
EXPOSE 9911 9912
ENTRYPOINT ["/cwcreds"]
