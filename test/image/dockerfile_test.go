package image_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerfile is the repository's Dockerfile cut at its FROM lines.
type dockerfile struct {
	preamble string  // global ARGs and comments before the first FROM
	stages   []stage // in order
}

type stage struct {
	from string // the FROM line
	text string // the whole stage, FROM line included
}

var (
	fromLine      = regexp.MustCompile(`(?i)^FROM\s`)
	copyFromFlag  = regexp.MustCompile(`(?i)--from=(\S+)`)
	buildStageRef = regexp.MustCompile(`(?i)\sAS\s+build\s*$`)
	scratchFrom   = regexp.MustCompile(`(?i)^FROM\s+scratch\s*$`)
)

func parseDockerfile(text string) dockerfile {
	var df dockerfile
	var cur *stage
	for line := range strings.Lines(text) {
		if fromLine.MatchString(line) {
			df.stages = append(df.stages, stage{from: strings.TrimSpace(line)})
			cur = &df.stages[len(df.stages)-1]
		}
		if cur == nil {
			df.preamble += line
		} else {
			cur.text += line
		}
	}
	return df
}

// finalStageOnStandIn checks the Dockerfile has the shape the test relies on and
// returns the Dockerfile the test builds: the preamble, a `build` stage holding
// the context's rootfs/ at /rootfs (what scripts/image-rootfs /rootfs makes in the
// real build stage), and the final stage exactly as written.
func finalStageOnStandIn(text string) (string, error) {
	df := parseDockerfile(text)
	if len(df.stages) != 2 {
		return "", fmt.Errorf("the Dockerfile has %d stages, want 2 (build, then the final image): test/image builds the final one on a stand-in for the first", len(df.stages))
	}
	build, final := df.stages[0], df.stages[1]
	if !buildStageRef.MatchString(build.from) {
		return "", fmt.Errorf("the first stage is %q, want one named build", build.from)
	}
	if !strings.Contains(build.text, "scripts/image-rootfs /rootfs") {
		return "", fmt.Errorf("the build stage does not run scripts/image-rootfs /rootfs, which the test's stand-in reproduces")
	}
	if !scratchFrom.MatchString(final.from) {
		return "", fmt.Errorf("the final stage is %q, want FROM scratch", final.from)
	}
	for _, m := range copyFromFlag.FindAllStringSubmatch(final.text, -1) {
		if m[1] != "build" {
			return "", fmt.Errorf("the final stage copies --from=%s: copy from the build stage only", m[1])
		}
	}
	if !strings.Contains(final.text, "--from=build") {
		return "", fmt.Errorf("the final stage copies nothing from the build stage")
	}
	return df.preamble + "FROM scratch AS build\nCOPY rootfs/ /rootfs/\n\n" + final.text, nil
}

func readRepoDockerfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestDockerfileFinalStageBuildsFromTheStandIn checks the cut on the real file,
// and that the cut refuses the shapes that would make TestImage test something
// else than the Dockerfile.
func TestDockerfileFinalStageBuildsFromTheStandIn(t *testing.T) {
	real := readRepoDockerfile(t)
	got, err := finalStageOnStandIn(real)
	if err != nil {
		t.Fatal(err)
	}
	df := parseDockerfile(real)
	if !strings.HasSuffix(got, df.stages[1].text) {
		t.Errorf("the built Dockerfile does not end with the final stage as written:\n%s", got)
	}
	if strings.Contains(got, df.stages[0].text) {
		t.Errorf("the built Dockerfile still holds the real build stage:\n%s", got)
	}

	const build = "FROM golang:1.26 AS build\nRUN scripts/image-rootfs /rootfs\n"
	for name, bad := range map[string]string{
		"three stages":        build + "FROM scratch AS x\nFROM scratch\nCOPY --from=build /rootfs/ /\n",
		"unnamed build stage": "FROM golang:1.26\nRUN scripts/image-rootfs /rootfs\nFROM scratch\nCOPY --from=0 /rootfs/ /\n",
		"no rootfs script":    "FROM golang:1.26 AS build\nRUN go build -o /rootfs/cwcreds ./cmd/cwcreds\nFROM scratch\nCOPY --from=build /rootfs/ /\n",
		"final not scratch":   build + "FROM alpine\nCOPY --from=build /rootfs/ /\n",
		"copies from an image": build + "FROM scratch\nCOPY --from=build /rootfs/ /\n" +
			"COPY --from=alpine /etc/ssl/certs /etc/ssl/certs\n",
		"copies nothing": build + "FROM scratch\nCOPY x /\n",
	} {
		if _, err := finalStageOnStandIn(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
