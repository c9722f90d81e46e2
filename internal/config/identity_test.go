package config

import "testing"

// Identity changes with every setting that decides which identity and keys a
// profile gets, and with nothing else.
func TestIdentity(t *testing.T) {
	const base = "org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: token_file, path: /t/token}\n"
	id := func(body string) string {
		t.Helper()
		return profile(t, load(t, writeConfig(t, body), nil, Overrides{}), "p").Identity()
	}
	want := id(base)
	if want == "" || want != id(base) {
		t.Fatalf("identity %q is empty or unstable", want)
	}
	for name, body := range map[string]string{
		"org":          "org_id: org-other\nprofiles:\n  p:\n    source: {type: token_file, path: /t/token}\n",
		"endpoint":     base + "    api_endpoint: https://api.example.test\n",
		"ca bundle":    base + "    ca_bundle: /etc/ca.pem\n",
		"exchange":     base + "    exchange: container_creds\n",
		"lifetime":     base + "    lifetime: 2h\n",
		"token path":   "org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: token_file, path: /t/other}\n",
		"source type":  "org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: api_token, env: CW_API_TOKEN}\n",
		"token env":    "org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: api_token, env: OTHER_TOKEN}\n",
		"saml config":  "org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: saml_file, path: /t/saml, config_id: 7d6c0e9a-1b2c-4d5e-8f90-123456789abc}\n",
		"saml config2": "org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: saml_file, path: /t/saml, config_id: 8d6c0e9a-1b2c-4d5e-8f90-123456789abc}\n",
		"command":      "org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: token_command, command: [get-token, --user, a]}\n",
	} {
		if got := id(body); got == want {
			t.Errorf("changing the %s keeps the identity", name)
		}
	}
	if id("org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: saml_file, path: /t/saml, config_id: 7d6c0e9a-1b2c-4d5e-8f90-123456789abc}\n") ==
		id("org_id: org-abc12345\nprofiles:\n  p:\n    source: {type: saml_file, path: /t/saml, config_id: 8d6c0e9a-1b2c-4d5e-8f90-123456789abc}\n") {
		t.Error("changing the SAML config id keeps the identity")
	}
	for name, body := range map[string]string{
		"refresh margin": base + "    refresh_margin: 10m\n",
		"min ttl":        base + "    min_ttl: 2m\n",
		"region":         base + "    region: US-WEST-01A\n",
		"s3 endpoint":    base + "    s3_endpoint: https://s3.example.test\n",
	} {
		if got := id(body); got != want {
			t.Errorf("changing the %s changes the identity: keys would be refetched for nothing", name)
		}
	}
}
