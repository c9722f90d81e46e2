package sdk_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// suite is what the package's tests share: the cwcreds binary built once, and
// what the final leak scan needs (every serve child's output and every secret the
// tests came across). TestMain sets it before the tests and reads it after them.
var suite *suiteState

type suiteState struct {
	bin string // the cwcreds binary

	mu      sync.Mutex
	outputs []*childOutput    // stdout and stderr of every serve child
	secrets map[string]string // secret value → what it is, for the leak scan
}

// childOutput is a child's captured output, safe to write from its pipes while
// tests read it.
type childOutput struct {
	name string
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (c *childOutput) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *childOutput) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// newOutput registers a child's output for the final scan.
func (s *suiteState) newOutput(name string) *childOutput {
	o := &childOutput{name: name}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outputs = append(s.outputs, o)
	return o
}

// addSecret remembers a value that must never appear in any output.
func (s *suiteState) addSecret(kind, value string) {
	if value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[value] = kind
}

// Shapes of secrets, for values no test saw: CoreWeave secret keys and API
// tokens, and any three-part JWT.
var secretShapes = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"secret access key", regexp.MustCompile(`\bcwo[a-z0-9]{40}\b`)},
	{"API token", regexp.MustCompile(`CW-SECRET-[A-Za-z0-9]{8,}`)},
	{"JWT", regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)},
}

// leaks lists every secret found in the children's output, without printing it.
func (s *suiteState) leaks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []string
	for _, o := range s.outputs {
		text := o.String()
		for value, kind := range s.secrets {
			if strings.Contains(text, value) {
				found = append(found, fmt.Sprintf("%s: holds a %s", o.name, kind))
			}
		}
		for _, shape := range secretShapes {
			if n := len(shape.re.FindAllStringIndex(text, -1)); n > 0 {
				found = append(found, fmt.Sprintf("%s: holds %d string(s) shaped like a %s", o.name, n, shape.kind))
			}
		}
	}
	sort.Strings(found)
	return found
}

func (s *suiteState) scanned() (children, lines, secrets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.outputs {
		lines += strings.Count(o.String(), "\n")
	}
	return len(s.outputs), lines, len(s.secrets)
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cwcreds-sdk-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sdk tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "cwcreds")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/cwcreds/cwcreds/cmd/cwcreds")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "sdk tests: could not build cwcreds: %v\n%s", err, out)
		return 1
	}
	suite = &suiteState{bin: bin, secrets: map[string]string{}}

	code := m.Run()

	// The leak scan covers every serve child of every test, passed or failed.
	if found := suite.leaks(); len(found) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: secrets in what cwcreds serve wrote:")
		for _, f := range found {
			fmt.Fprintln(os.Stderr, "  "+f)
		}
		code = 1
	} else {
		children, lines, secrets := suite.scanned()
		fmt.Printf("leak scan: %d serve children, %d lines, %d known secrets and 3 secret shapes: clean\n", children, lines, secrets)
	}
	return code
}
