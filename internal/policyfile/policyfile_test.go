package policyfile

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

const good = `version: v1alpha1
name: readers
statements:
  - name: read-data
    effect: Allow
    actions: [s3:GetObject, s3:ListBucket]
    resources: [data, data/*]
    principals: ["role/https://issuer.example.com:reader", saml/analyst]
  - name: keys
    effect: Deny
    actions: ["cwobject:*"]
    resources: ["*"]
    principals: [coreweave/u-123, "*"]
`

var goodPolicy = cwobject.Policy{Version: "v1alpha1", Name: "readers", Statements: []cwobject.PolicyStatement{
	{Name: "read-data", Effect: "Allow", Actions: []string{"s3:GetObject", "s3:ListBucket"}, Resources: []string{"data", "data/*"},
		Principals: []string{"role/https://issuer.example.com:reader", "saml/analyst"}},
	{Name: "keys", Effect: "Deny", Actions: []string{"cwobject:*"}, Resources: []string{"*"}, Principals: []string{"coreweave/u-123", "*"}},
}}

func TestGoodShapes(t *testing.T) {
	jsonTabs := "{\n\t\"policy\": {\n\t\t\"version\": \"v1alpha1\",\n\t\t\"name\": \"readers\",\n\t\t\"statements\": [\n" +
		"\t\t\t{\"name\": \"read-data\", \"effect\": \"Allow\", \"actions\": [\"s3:GetObject\", \"s3:ListBucket\"], \"resources\": [\"data\", \"data/*\"],\n" +
		"\t\t\t \"principals\": [\"role/https://issuer.example.com:reader\", \"saml/analyst\"]},\n" +
		"\t\t\t{\"name\": \"keys\", \"effect\": \"Deny\", \"actions\": [\"cwobject:*\"], \"resources\": [\"*\"], \"principals\": [\"coreweave/u-123\", \"*\"]}\n" +
		"\t\t]\n\t}\n}\n"
	noVersion := strings.Replace(good, "version: v1alpha1\n", "", 1)
	list := "- " + strings.ReplaceAll(strings.TrimSuffix(good, "\n"), "\n", "\n  ") + "\n"
	for name, data := range map[string]string{
		"yaml": good, "json with tabs": jsonTabs, "no version": noVersion, "list": list,
		"policies wrapper": "policies:\n" + "  " + strings.ReplaceAll(list, "\n", "\n  "),
	} {
		t.Run(name, func(t *testing.T) {
			ps, warns, err := Parse("p.yaml", []byte(data))
			if err != nil || len(warns) != 0 {
				t.Fatalf("err %v, warnings %v\n%s", err, warns, data)
			}
			if !reflect.DeepEqual(ps, []cwobject.Policy{goodPolicy}) {
				t.Fatalf("got %+v", ps)
			}
		})
	}
	two := good + "---\n" + strings.Replace(good, "name: readers", "name: writers", 1)
	ps, _, err := Parse("p.yaml", []byte(two))
	if err != nil || len(ps) != 2 || ps[1].Name != "writers" {
		t.Fatalf("two documents: %v, %+v", err, ps)
	}
}

// Every kind of mistake, each reported at its line with what to write.
func TestMistakes(t *testing.T) {
	stmt := func(body string) string {
		return "version: v1alpha1\nname: p\nstatements:\n  - name: s\n" + body
	}
	ok := "    effect: Allow\n    actions: [s3:GetObject]\n    resources: [b/*]\n    principals: [saml/r]\n"
	for _, tc := range []struct{ name, data, want string }{
		{"syntax", "name: p\nstatements: [\n", `p.yaml:2: not valid YAML or JSON: did not find expected node content`},
		{"bad indentation", "name: p\n statements: []\n", `p.yaml:2: not valid YAML or JSON: mapping values are not allowed in this context`},
		{"empty file", "", `p.yaml: no policy in the file`},
		{"scalar file", "hello\n", `p.yaml:1: the file must hold a policy`},
		{"unknown top field", "version: v1alpha1\nname: p\nstatement: []\n", `p.yaml:3: statement: is not a field here: did you mean statements?`},
		{"missing statements", "version: v1alpha1\nname: p\n", `p.yaml:1: statements: is missing: a policy needs at least one statement`},
		{"empty statements", "name: p\nstatements: []\n", `p.yaml:2: statements: must be a list of at least one statement`},
		{"wrong version", "version: v1\nname: p\nstatements: []\n", `p.yaml:1: version: "v1" is not a policy version: write v1alpha1`},
		{"missing name", "statements:\n  - name: s\n" + ok, `p.yaml:1: name: is missing`},
		{"name with slash", "name: a/b\nstatements:\n  - name: s\n" + ok, `p.yaml:1: name: must be at most 253 characters without '/'`},
		{"name is a number", "name: 42\nstatements:\n  - name: s\n" + ok, `p.yaml:1: name: must be a string, not a number: quote it`},
		{"duplicate key", "name: p\nname: q\nstatements:\n  - name: s\n" + ok, `p.yaml:2: name: is given twice: keep one`},
		{"lower-case effect", stmt("    effect: allow\n    actions: [s3:GetObject]\n    resources: [b]\n    principals: [saml/r]\n"),
			`p.yaml:5: statements[0].effect: "allow": effects are case-sensitive: write Allow`},
		{"unknown effect", stmt("    effect: Permit\n    actions: [s3:GetObject]\n    resources: [b]\n    principals: [saml/r]\n"),
			`p.yaml:5: statements[0].effect: "Permit" is not an effect: write Allow or Deny`},
		{"missing effect", stmt("    actions: [s3:GetObject]\n    resources: [b]\n    principals: [saml/r]\n"),
			`p.yaml:4: statements[0].effect: is missing`},
		{"actions scalar", stmt("    effect: Allow\n    actions: s3:GetObject\n    resources: [b]\n    principals: [saml/r]\n"),
			`p.yaml:6: statements[0].actions: must be a list: write ["s3:GetObject"]`},
		{"empty actions", stmt("    effect: Allow\n    actions: []\n    resources: [b]\n    principals: [saml/r]\n"),
			`p.yaml:6: statements[0].actions: must be a list of at least one string`},
		{"missing principals", stmt("    effect: Allow\n    actions: [s3:GetObject]\n    resources: [b]\n"),
			`p.yaml:4: statements[0].principals: is missing: write a list, e.g. principals: ["*"]`},
		{"empty resource", stmt("    effect: Allow\n    actions: [s3:GetObject]\n    resources: [\"\"]\n    principals: [saml/r]\n"),
			`p.yaml:7: statements[0].resources[0]: is empty`},
		{"resource is a map", stmt("    effect: Allow\n    actions: [s3:GetObject]\n    resources:\n      - {bucket: b}\n    principals: [saml/r]\n"),
			`p.yaml:8: statements[0].resources[0]: must be a string`},
		{"cwobject action on a bucket", stmt("    effect: Allow\n    actions: [s3:GetObject, cwobject:ListBucketInfo]\n    resources: [b]\n    principals: [saml/r]\n"),
			`p.yaml:7: statements[0].resources: cwobject:ListBucketInfo applies to the whole organization, so its statement takes resources: ["*"]`},
		{"ListAllMyBuckets on a bucket", stmt("    effect: Allow\n    actions: [s3:ListAllMyBuckets]\n    resources: [b, \"*\"]\n    principals: [saml/r]\n"),
			`p.yaml:7: statements[0].resources: s3:ListAllMyBuckets applies to the whole organization`},
		{"long-form principal", stmt("    effect: Allow\n    actions: [s3:GetObject]\n    resources: [b]\n    principals:\n      - arn:aws:iam::123:role/x\n"),
			`p.yaml:9: statements[0].principals[0]: "arn:aws:iam::123:role/x" is not a short-form principal: write role/<issuer>:<subject>, saml/<role>, coreweave/<user id>, or * (AWS ARNs are not CoreWeave principals)`},
		{"principal without subject", stmt("    effect: Allow\n    actions: [s3:GetObject]\n    resources: [b]\n    principals: [role/]\n"),
			`p.yaml:8: statements[0].principals[0]: "role/" names nobody`},
		{"oidc principal without colon", stmt("    effect: Allow\n    actions: [s3:GetObject]\n    resources: [b]\n    principals: [role/my-sa]\n"),
			`p.yaml:8: statements[0].principals[0]: "role/my-sa": an OIDC principal is role/<issuer>:<subject>`},
		{"unknown statement field", stmt("    efect: Allow\n" + ok[len("    effect: Allow\n"):]),
			`p.yaml:5: statements[0].efect: is not a field here: did you mean effect?`},
		{"statement not a map", "name: p\nstatements:\n  - just-a-string\n", `p.yaml:3: statements[0]: a statement must be a mapping`},
		{"duplicate policy names", "- name: p\n  statements: [{name: s, effect: Allow, actions: [s3:GetObject], resources: [b], principals: [saml/r]}]\n" +
			"- name: p\n  statements: [{name: s, effect: Allow, actions: [s3:GetObject], resources: [b], principals: [saml/r]}]\n",
			`p.yaml:3: [1].name: policy "p" is also defined at line 1: the second would replace the first; rename one`},
		{"merge key", "base: &b {name: s}\nname: p\nstatements: []\n", `p.yaml:1: base: is not a field here`},
		{"alias", "name: &n p\nstatements:\n  - name: *n\n", `p.yaml:3: YAML anchors and aliases (*name) are not supported`},
		{"nul byte", "name: p\x00\n", `p.yaml: the file holds NUL bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("p.yaml", []byte(tc.data))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("no error for\n%s", tc.data)
			}
			if got := pe.Problems[0].String(); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got  %s\nwant %s…\nall: %v", got, tc.want, pe.Problems)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	data := "version: v2\nname: p\nstatements:\n  - name: s\n    effect: allow\n    actions: [s3:GetObject]\n    resources: [b]\n    principals: [bob]\n"
	_, _, err := Parse("p.yaml", []byte(data))
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Problems) != 3 {
		t.Fatalf("%v", err)
	}
	lines := []int{pe.Problems[0].Line, pe.Problems[1].Line, pe.Problems[2].Line}
	if !reflect.DeepEqual(lines, []int{1, 5, 8}) || !strings.Contains(err.Error(), "(and 2 more problems)") {
		t.Fatalf("lines %v, %v", lines, err)
	}
}

func TestWarningsForUnknownActions(t *testing.T) {
	data := "name: p\nstatements:\n  - name: s\n    effect: Allow\n    actions:\n      - s3:getobject\n      - GetObject\n      - s3:GetObjekt\n      - s3:Frobnicate*\n      - iam:PassRole\n      - s3:Get*\n    resources: [b]\n    principals: [\"*\"]\n" +
		"  - name: s\n    effect: Deny\n    actions: [s3:PutObject]\n    resources: [b]\n    principals: [\"*\"]\n"
	ps, warns, err := Parse("p.yaml", []byte(data))
	if err != nil || len(ps) != 1 {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{
		`p.yaml:6: warning: statements[0].actions[0]: "s3:getobject" is not a known action: actions are case-sensitive; did you mean s3:GetObject?`,
		`p.yaml:7: warning: statements[0].actions[1]: "GetObject" is not a known action: it needs its API prefix; did you mean s3:GetObject?`,
		`p.yaml:8: warning: statements[0].actions[2]: "s3:GetObjekt" is not an action cwcreds knows (the API may know it); did you mean s3:GetObject?`,
		`p.yaml:9: warning: statements[0].actions[3]: "s3:Frobnicate*" matches no action cwcreds knows`,
		`p.yaml:10: warning: statements[0].actions[4]: "iam:PassRole" is not an action cwcreds knows: policies take s3: and cwobject: actions`,
		`p.yaml:14: warning: statements[1].name: statement "s" is also at line 3: give each statement its own name`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings:\n%s", strings.Join(got, "\n"))
	}
}
