package config

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cwcreds/cwcreds/internal/suggest"
)

// maxFileBytes caps the config file: it is a few dozen lines, so anything larger
// is a mistake (or an attack on the YAML parser).
const maxFileBytes = 1 << 20

// doc reads YAML nodes of one config file and turns node problems into Errors
// located at file:line. It is the "KnownFields" decoder: every mapping is checked
// for unknown and duplicate keys before any value is read.
type doc struct {
	file string // the name errors show, as the user wrote it
}

// entry is one key: value pair of a mapping.
type entry struct {
	key, val *yaml.Node
}

func (d *doc) origin(n *yaml.Node) Origin {
	return Origin{Kind: OriginFile, File: d.file, Line: n.Line, Column: n.Column}
}

func (d *doc) fail(n *yaml.Node, field, problem, fix string) *Error {
	return errAt(d.origin(n), field, problem, fix)
}

// parse reads data as exactly one YAML document and returns its root node, or
// nil for an empty document.
func (d *doc) parse(data []byte) (*yaml.Node, error) {
	if len(data) > maxFileBytes {
		return nil, &Error{File: d.file, Problem: fmt.Sprintf("the file is over %d KiB", maxFileBytes>>10), Fix: "a cwcreds config is a few dozen lines: check the path"}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, d.syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, d.syntaxError(err)
		}
		return nil, d.fail(&extra, "", "the file holds more than one YAML document", "keep one document (remove the extra ---)")
	}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		return root.Content[0], nil
	}
	return &root, nil
}

func (d *doc) syntaxError(err error) *Error {
	msg := err.Error()
	e := &Error{File: d.file, Fix: "fix the YAML syntax (indent with spaces, quote values holding ': ' or ' #')"}
	if line, rest, ok := yamlErrorLine(msg); ok {
		e.Line, msg = line, rest
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Problem = "invalid YAML: " + oneLine(msg)
	return e
}

// yamlErrorLine splits a go.yaml.in/yaml/v3 syntax error "yaml: line N: problem"
// into N and the problem.
func yamlErrorLine(msg string) (int, string, bool) {
	rest, ok := strings.CutPrefix(msg, "yaml: line ")
	if !ok {
		return 0, "", false
	}
	num, problem, ok := strings.Cut(rest, ": ")
	if !ok || num == "" || strings.Trim(num, "0123456789") != "" || strings.Contains(problem, "\n") {
		return 0, "", false
	}
	line, _ := strconv.Atoi(num) // out of range: the largest int, as good as any
	return line, problem, true
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "empty"
		}
		return "a single value"
	default:
		return "an unexpected YAML node"
	}
}

// fields checks that n is a mapping whose keys are unique members of allowed and
// returns its entries. hints gives a specific fix for keys that are known
// mistakes (inline secrets, settings that belong elsewhere).
func (d *doc) fields(n *yaml.Node, field string, allowed []string, hints map[string]string) (map[string]entry, []entry, error) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return nil, nil, d.fail(n, field, fmt.Sprintf("%s must be a mapping of settings, not %s", nameOr(field, "the file"), kindName(n)), "write it as `key: value` lines indented under it")
	}
	byKey := make(map[string]entry, len(n.Content)/2)
	var ordered []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			return nil, nil, d.fail(k, field, fmt.Sprintf("%s has a key that is %s", nameOr(field, "the file"), kindName(k)), "keys are plain names such as lifetime")
		}
		if k.ShortTag() == "!!merge" {
			return nil, nil, d.fail(k, field, fmt.Sprintf("%s uses a YAML merge key (<<)", nameOr(field, "the file")), "write the settings out in full")
		}
		name := k.Value
		path := join(field, name)
		if prev, dup := byKey[name]; dup {
			return nil, nil, d.fail(k, path, fmt.Sprintf("%s is set twice (first at line %d)", showKey(path), prev.key.Line), "keep one of them")
		}
		if allowed != nil && !contains(allowed, name) {
			if hint, ok := hints[name]; ok {
				return nil, nil, d.fail(k, path, fmt.Sprintf("%s is not allowed here", showKey(path)), hint)
			}
			return nil, nil, d.fail(k, path, fmt.Sprintf("%s is not a known setting", showKey(path)), unknownFix(name, allowed))
		}
		e := entry{key: k, val: v}
		byKey[name] = e
		ordered = append(ordered, e)
	}
	return byKey, ordered, nil
}

// unknownFix suggests the closest allowed key, or lists them all.
func unknownFix(name string, allowed []string) string {
	if best := suggest.Closest(name, allowed); best != "" {
		return "did you mean " + best + "?"
	}
	sorted := append([]string(nil), allowed...)
	sort.Strings(sorted)
	return "remove it; the settings here are " + strings.Join(sorted, ", ")
}

// str reads a non-empty string. Plain numbers and dates are taken as the text
// written (org_id: 12345 means the string "12345").
func (d *doc) str(n *yaml.Node, field string) (string, error) {
	at := n
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		return "", d.fail(at, field, fmt.Sprintf("%s must be a single value, not %s", field, kindName(n)), "write it on the same line as its key")
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!timestamp":
	case "!!null":
		return "", d.fail(at, field, field+" is empty", "give it a value or remove the line")
	case "!!bool":
		return "", d.fail(at, field, fmt.Sprintf("%s must be text, not true/false", field), "quote the value")
	default:
		return "", d.fail(at, field, fmt.Sprintf("%s has an unsupported YAML tag %s", field, show(n.Tag)), "remove the tag")
	}
	if strings.TrimSpace(n.Value) == "" {
		return "", d.fail(at, field, field+" is empty", "give it a value or remove the line")
	}
	if n.Value != strings.TrimSpace(n.Value) {
		return "", d.fail(at, field, field+" starts or ends with spaces", "remove them")
	}
	return n.Value, nil
}

// strList reads a non-empty list of strings.
func (d *doc) strList(n *yaml.Node, field string) ([]string, error) {
	at := n
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		return nil, d.fail(at, field, fmt.Sprintf("%s must be a list, not %s", field, kindName(n)), "write it as [a, b] or as `- a` lines")
	}
	if len(n.Content) == 0 {
		return nil, d.fail(at, field, field+" is an empty list", "give at least one item or remove the line")
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		s, err := d.str(item, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// duration reads a Go duration ("90s", "15m", "1h30m"); a bare number is refused
// because its unit would be a guess.
func (d *doc) duration(n *yaml.Node, field string) (time.Duration, error) {
	at := n
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float") {
		return 0, d.fail(at, field, fmt.Sprintf("%s %s has no unit", field, show(n.Value)), "write a duration such as "+unitExample(n.Value))
	}
	s, err := d.str(n, field)
	if err != nil {
		return 0, err
	}
	v, perr := time.ParseDuration(s)
	if perr != nil {
		return 0, d.fail(at, field, fmt.Sprintf("%s %s is not a duration", field, show(s)), "write a duration such as 90s, 15m or 1h")
	}
	if v < 0 {
		return 0, d.fail(at, field, fmt.Sprintf("%s %s is negative", field, fmtDur(v)), "use a positive duration")
	}
	return v, nil
}

// unitExample suggests the bare number given as seconds, as a duration.
func unitExample(v string) string {
	if len(v) > 12 || strings.ContainsAny(v, ".eE") {
		return "90s, 15m or 1h"
	}
	return v + "s, 15m or 1h"
}

// fmtDur prints a duration without trailing zero units: 1h, 15m, 1h30m, 5s.
func fmtDur(v time.Duration) string {
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func join(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func nameOr(field, fallback string) string {
	if field == "" {
		return fallback
	}
	return field
}

// showKey prints a key path, hiding it if someone pasted a secret as a key.
func showKey(path string) string {
	if looksSecret(path) {
		return "a key (hidden: it looks like a secret)"
	}
	if len(path) > 2*maxShown {
		return path[:2*maxShown] + "…"
	}
	return path
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
