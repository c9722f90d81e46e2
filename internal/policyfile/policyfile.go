// Package policyfile reads access policies from a YAML or JSON file and checks
// them before anything is sent, so that every mistake is reported at its
// file:line with what to write instead. It accepts a policy, the API's
// {"policy": …} request body, a list of policies, the API's {"policies": […]}
// answer, or several YAML documents — so what `cwcreds policies get` and
// `policies list -o json|yaml` print can be applied again.
package policyfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/suggest"
)

// MaxFileBytes bounds a policy file; the API takes at most 1 MiB per request.
const MaxFileBytes = cwobject.MaxRequestBytes

// maxNameLen is the longest policy name the API takes. [assume: the emulator's rule]
const maxNameLen = 253

// Problem is one mistake (or, with Warning, one doubt) located in the file.
type Problem struct {
	File    string
	Line    int // 1-based; 0 when unknown
	Field   string
	Message string
	Warning bool
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is a file with at least one mistake; Problems lists them all in file order.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].String()
	}
	return fmt.Sprintf("%s (and %d more problems)", e.Problems[0], len(e.Problems)-1)
}

// Parse reads the policies in data, the contents of the file called name. It
// returns the policies and warnings (unknown actions, repeated statement
// names), or an *Error listing every mistake, and the warnings so far.
func Parse(name string, data []byte) ([]cwobject.Policy, []Problem, error) {
	r := &reader{file: name}
	if len(data) > MaxFileBytes {
		r.errorAt(0, "", fmt.Sprintf("the file is larger than %d bytes, the most the API takes", MaxFileBytes))
		return nil, nil, r.result()
	}
	if bytes.IndexByte(data, 0) >= 0 {
		r.errorAt(0, "", "the file holds NUL bytes: it is not a YAML or JSON text file")
		return nil, nil, r.result()
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	docs := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.syntax(err, data)
			return nil, nil, r.result()
		}
		docs++
		if len(doc.Content) == 0 {
			continue
		}
		if a := firstAlias(&doc); a != nil {
			// Aliases would let a small file stand for a huge policy.
			r.errorAt(a.Line, "", "YAML anchors and aliases (*name) are not supported in policy files: write the values out")
			continue
		}
		r.top(doc.Content[0])
	}
	if r.err == nil && len(r.policies) == 0 {
		r.errorAt(0, "", "no policy in the file: write version, name and statements (see `cwcreds policies apply --help`)")
	}
	slices.SortStableFunc(r.warnings, func(a, b Problem) int { return a.Line - b.Line })
	if err := r.result(); err != nil {
		return nil, r.warnings, err
	}
	return r.policies, r.warnings, nil
}

type reader struct {
	file     string
	policies []cwobject.Policy
	warnings []Problem
	err      *Error
	names    map[string]int // policy name → line
	// misspelt holds fields a misspelt key was taken for: their "is missing"
	// would only repeat the "did you mean" error.
	misspelt map[string]bool
	known    []string // every action cwcreds knows, built at the first action
}

// missing reports a required field, unless a misspelt key stands for it.
func (r *reader) missing(line int, field, msg string) {
	if !r.misspelt[field] {
		r.errorAt(line, field, msg)
	}
}

func (r *reader) errorAt(line int, field, msg string) {
	if r.err == nil {
		r.err = &Error{}
	}
	r.err.Problems = append(r.err.Problems, Problem{File: r.file, Line: line, Field: field, Message: msg})
}

func (r *reader) warnAt(line int, field, msg string) {
	r.warnings = append(r.warnings, Problem{File: r.file, Line: line, Field: field, Message: msg, Warning: true})
}

func (r *reader) result() error {
	if r.err == nil {
		return nil
	}
	byLine := func(a, b Problem) int { return a.Line - b.Line }
	slices.SortStableFunc(r.err.Problems, byLine)
	return r.err
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax reports a YAML/JSON syntax error at its line. A file that looks like
// JSON gets encoding/json's diagnosis, which points at the offending character.
func (r *reader) syntax(err error, data []byte) {
	if t := bytes.TrimSpace(data); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		var v any
		var se *json.SyntaxError
		if jerr := json.Unmarshal(data, &v); errors.As(jerr, &se) {
			line := 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte{'\n'})
			r.errorAt(line, "", "not valid JSON: "+se.Error())
			return
		}
	}
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		r.errorAt(line, "", "not valid YAML or JSON: "+m[2])
		return
	}
	r.errorAt(0, "", "not valid YAML or JSON: "+strings.TrimPrefix(msg, "yaml: "))
}

// top reads a document: a policy, {policy: …}, [policy…] or {policies: […]}.
func (r *reader) top(n *yaml.Node) {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.SequenceNode:
		for i, item := range n.Content {
			r.policy(item, "["+strconv.Itoa(i)+"]")
		}
		return
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			switch n.Content[0].Value {
			case "policy":
				r.policy(n.Content[1], "policy")
				return
			case "policies":
				list := resolveAlias(n.Content[1])
				if list.Kind != yaml.SequenceNode {
					r.errorAt(list.Line, "policies", "must be a list of policies")
					return
				}
				for i, item := range list.Content {
					r.policy(item, "policies["+strconv.Itoa(i)+"]")
				}
				return
			}
		}
		r.policy(n, "")
		return
	}
	r.errorAt(n.Line, "", "the file must hold a policy (a mapping with version, name and statements), or a list of them")
}

// firstAlias finds an alias node without following any.
func firstAlias(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n
	}
	for _, c := range n.Content {
		if a := firstAlias(c); a != nil {
			return a
		}
	}
	return nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// fields reads a mapping's keys, reporting repeated and unknown ones.
func (r *reader) fields(n *yaml.Node, path string, known []string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			r.errorAt(k.Line, path, "keys must be plain names")
			continue
		}
		if k.Tag == "!!merge" || k.Value == "<<" {
			r.errorAt(k.Line, path, "merge keys (<<) are not supported: write the fields out")
			continue
		}
		if _, dup := out[k.Value]; dup {
			r.errorAt(k.Line, join(path, k.Value), "is given twice: keep one")
			continue
		}
		if !slices.Contains(known, k.Value) {
			msg := "is not a field here: use " + strings.Join(known, ", ")
			if s := suggest.Closest(k.Value, known); s != "" {
				msg = "is not a field here: did you mean " + s + "?"
				if r.misspelt == nil {
					r.misspelt = map[string]bool{}
				}
				r.misspelt[join(path, s)] = true
			}
			r.errorAt(k.Line, join(path, k.Value), msg)
			continue
		}
		out[k.Value] = resolveAlias(v)
	}
	return out
}

// str reads a string scalar; it reports a missing or non-string value.
func (r *reader) str(parent *yaml.Node, m map[string]*yaml.Node, key, path string, required bool) (string, int, bool) {
	v, ok := m[key]
	if !ok {
		if required {
			r.missing(parent.Line, join(path, key), "is missing")
		}
		return "", parent.Line, false
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		r.errorAt(v.Line, join(path, key), "must be a string")
		return "", v.Line, false
	}
	if v.Tag != "!!str" {
		r.errorAt(v.Line, join(path, key), fmt.Sprintf("must be a string, not %s: quote it", tagName(v.Tag)))
		return "", v.Line, false
	}
	return v.Value, v.Line, true
}

func tagName(tag string) string {
	switch tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!timestamp":
		return "a date"
	}
	return strings.TrimPrefix(tag, "!!")
}

// list reads a non-empty list of non-empty strings and their lines.
func (r *reader) list(parent *yaml.Node, m map[string]*yaml.Node, key, path string) ([]string, []int, int) {
	field := join(path, key)
	v, ok := m[key]
	if !ok {
		r.missing(parent.Line, field, "is missing: write a list, e.g. "+key+`: ["*"]`)
		return nil, nil, parent.Line
	}
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		r.errorAt(v.Line, field, fmt.Sprintf("must be a list: write [%s]", strconv.Quote(v.Value)))
		return nil, nil, v.Line
	}
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		r.errorAt(v.Line, field, "must be a list of at least one string")
		return nil, nil, v.Line
	}
	var vals []string
	var lines []int
	for i, item := range v.Content {
		item = resolveAlias(item)
		f := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case item.Kind != yaml.ScalarNode || item.Tag == "!!null":
			r.errorAt(item.Line, f, "must be a string")
		case item.Tag != "!!str":
			r.errorAt(item.Line, f, fmt.Sprintf("must be a string, not %s: quote it", tagName(item.Tag)))
		case strings.TrimSpace(item.Value) == "":
			r.errorAt(item.Line, f, "is empty")
		case item.Value != strings.TrimSpace(item.Value):
			r.errorAt(item.Line, f, fmt.Sprintf("%s has spaces around it: remove them", strconv.Quote(item.Value)))
		default:
			vals = append(vals, item.Value)
			lines = append(lines, item.Line)
		}
	}
	return vals, lines, v.Line
}

var policyFields = []string{"version", "name", "statements"}
var statementFields = []string{"name", "effect", "actions", "resources", "principals"}

func (r *reader) policy(n *yaml.Node, path string) {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		r.errorAt(n.Line, path, "a policy must be a mapping with version, name and statements")
		return
	}
	m := r.fields(n, path, policyFields)
	p := cwobject.Policy{Version: cwobject.PolicyVersion}
	if v, line, ok := r.str(n, m, "version", path, false); ok && v != cwobject.PolicyVersion {
		r.errorAt(line, join(path, "version"), fmt.Sprintf("%s is not a policy version: write %s", strconv.Quote(v), cwobject.PolicyVersion))
	}
	name, line, ok := r.str(n, m, "name", path, true)
	if ok {
		switch {
		case strings.TrimSpace(name) == "":
			r.errorAt(line, join(path, "name"), "is empty")
		case name != strings.TrimSpace(name):
			r.errorAt(line, join(path, "name"), "has spaces around it: remove them")
		case strings.ContainsAny(name, "/?#") || len(name) > maxNameLen || strings.ContainsFunc(name, isControl):
			r.errorAt(line, join(path, "name"), fmt.Sprintf("must be at most %d characters without '/', '?', '#' or control characters", maxNameLen))
		default:
			if r.names == nil {
				r.names = map[string]int{}
			}
			if prev, dup := r.names[name]; dup {
				r.errorAt(line, join(path, "name"), fmt.Sprintf("policy %s is also defined at line %d: the second would replace the first; rename one", strconv.Quote(name), prev))
			}
			r.names[name] = line
			p.Name = name
		}
	}
	sts, ok := m["statements"]
	switch {
	case !ok:
		r.missing(n.Line, join(path, "statements"), "is missing: a policy needs at least one statement")
	case sts.Kind != yaml.SequenceNode || len(sts.Content) == 0:
		r.errorAt(sts.Line, join(path, "statements"), "must be a list of at least one statement")
	default:
		seen := map[string]int{}
		for i, s := range sts.Content {
			st, ok := r.statement(s, join(path, "statements")+"["+strconv.Itoa(i)+"]", seen)
			if ok {
				p.Statements = append(p.Statements, st)
			}
		}
	}
	r.policies = append(r.policies, p)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func (r *reader) statement(n *yaml.Node, path string, seen map[string]int) (cwobject.PolicyStatement, bool) {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		r.errorAt(n.Line, path, "a statement must be a mapping with name, effect, actions, resources and principals")
		return cwobject.PolicyStatement{}, false
	}
	m := r.fields(n, path, statementFields)
	var st cwobject.PolicyStatement
	if name, line, ok := r.str(n, m, "name", path, true); ok {
		if strings.TrimSpace(name) == "" {
			r.errorAt(line, join(path, "name"), "is empty")
		} else if prev, dup := seen[name]; dup {
			r.warnAt(line, join(path, "name"), fmt.Sprintf("statement %s is also at line %d: give each statement its own name", strconv.Quote(name), prev))
		} else {
			seen[name] = line
		}
		st.Name = name
	}
	if eff, line, ok := r.str(n, m, "effect", path, true); ok {
		switch {
		case eff == cwobject.EffectAllow || eff == cwobject.EffectDeny:
		case strings.EqualFold(eff, cwobject.EffectAllow):
			r.errorAt(line, join(path, "effect"), fmt.Sprintf("%s: effects are case-sensitive: write Allow", strconv.Quote(eff)))
		case strings.EqualFold(eff, cwobject.EffectDeny):
			r.errorAt(line, join(path, "effect"), fmt.Sprintf("%s: effects are case-sensitive: write Deny", strconv.Quote(eff)))
		default:
			r.errorAt(line, join(path, "effect"), fmt.Sprintf("%s is not an effect: write Allow or Deny", strconv.Quote(eff)))
		}
		st.Effect = eff
	}
	actions, actionLines, _ := r.list(n, m, "actions", path)
	resources, _, resourcesLine := r.list(n, m, "resources", path)
	principals, principalLines, _ := r.list(n, m, "principals", path)
	for i, a := range actions {
		r.checkAction(a, actionLines[i], path+".actions["+strconv.Itoa(i)+"]")
	}
	if len(resources) > 0 && !(len(resources) == 1 && resources[0] == "*") {
		for _, a := range actions {
			if cwobject.ActionTakesOnlyStarResource(a) {
				r.errorAt(resourcesLine, join(path, "resources"), fmt.Sprintf(`%s applies to the whole organization, so its statement takes resources: ["*"]: move the bucket resources to a statement of their own`, a))
				break
			}
		}
	}
	for i, p := range principals {
		if msg := principalProblem(p); msg != "" {
			r.errorAt(principalLines[i], path+".principals["+strconv.Itoa(i)+"]", msg)
		}
	}
	st.Actions, st.Resources, st.Principals = actions, resources, principals
	return st, true
}

// principalProblem says what is wrong with a principal, "" when nothing.
func principalProblem(p string) string {
	if p == "*" {
		return ""
	}
	for _, prefix := range []string{cwobject.PrincipalPrefixOIDC, cwobject.PrincipalPrefixSAML, cwobject.PrincipalPrefixUser} {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		switch {
		case rest == "":
			return fmt.Sprintf("%s names nobody: write %s<…> in full, or %s* for every one", strconv.Quote(p), prefix, prefix)
		case prefix == cwobject.PrincipalPrefixOIDC && !strings.Contains(rest, ":") && rest != "*":
			return fmt.Sprintf("%s: an OIDC principal is role/<issuer>:<subject>, e.g. role/https://issuer.example.com:my-sa", strconv.Quote(p))
		}
		return ""
	}
	msg := fmt.Sprintf("%s is not a short-form principal: write role/<issuer>:<subject>, saml/<role>, coreweave/<user id>, or *", strconv.Quote(p))
	if strings.HasPrefix(p, "arn:") {
		msg += " (AWS ARNs are not CoreWeave principals)"
	}
	return msg
}

// checkAction warns about an action cwcreds does not know.
func (r *reader) checkAction(a string, line int, field string) {
	if a == "*" || a == "s3:*" || a == "cwobject:*" {
		return
	}
	if r.known == nil {
		r.known = append(slices.Clone(cwobject.S3Actions), cwobject.CWObjectActions...)
	}
	known := r.known
	if strings.HasSuffix(a, "*") {
		for _, k := range known {
			if cwobject.MatchPattern(a, k) {
				return
			}
		}
		r.warnAt(line, field, fmt.Sprintf("%s matches no action cwcreds knows", strconv.Quote(a)))
		return
	}
	if slices.Contains(known, a) {
		return
	}
	for _, k := range known {
		if strings.EqualFold(k, a) {
			r.warnAt(line, field, fmt.Sprintf("%s is not a known action: actions are case-sensitive; did you mean %s?", strconv.Quote(a), k))
			return
		}
		if _, bare, _ := strings.Cut(k, ":"); strings.EqualFold(bare, a) {
			r.warnAt(line, field, fmt.Sprintf("%s is not a known action: it needs its API prefix; did you mean %s?", strconv.Quote(a), k))
			return
		}
	}
	msg := fmt.Sprintf("%s is not an action cwcreds knows (the API may know it)", strconv.Quote(a))
	if !strings.HasPrefix(a, cwobject.ActionPrefixS3) && !strings.HasPrefix(a, cwobject.ActionPrefixCWObject) {
		msg = fmt.Sprintf("%s is not an action cwcreds knows: policies take s3: and cwobject: actions", strconv.Quote(a))
	} else if s := suggest.Closest(a, known); s != "" {
		msg += "; did you mean " + s + "?"
	}
	r.warnAt(line, field, msg)
}
