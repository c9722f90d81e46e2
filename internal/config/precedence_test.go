package config

import (
	"fmt"
	"testing"
)

// TestPrecedence adds the layers one at a time, lowest first, for every global
// setting: default < AWS_* env < file < CWCREDS_* env < flag.
func TestPrecedence(t *testing.T) {
	type layer struct {
		kind  OriginKind
		value string
	}
	for _, tc := range []struct {
		key    string
		set    func(*Overrides, string)
		get    func(*Config) string
		layers []layer
	}{
		{
			key: "api_endpoint", set: func(o *Overrides, v string) { o.APIEndpoint = v },
			get: func(c *Config) string { return c.APIEndpoint },
			layers: []layer{{OriginDefault, "https://api.coreweave.com"}, {OriginFile, "https://file.example"},
				{OriginEnv, "https://env.example"}, {OriginFlag, "http://127.0.0.1:1"}},
		},
		{
			key: "org_id", set: func(o *Overrides, v string) { o.OrgID = v },
			get:    func(c *Config) string { return c.OrgID },
			layers: []layer{{OriginDefault, ""}, {OriginFile, "org-file"}, {OriginEnv, "org-env"}, {OriginFlag, "org-flag"}},
		},
		{
			key: "s3_endpoint", set: func(o *Overrides, v string) { o.S3Endpoint = v },
			get: func(c *Config) string { return c.S3Endpoint },
			layers: []layer{{OriginDefault, "https://cwobject.com"}, {OriginAWSEnv, "http://127.0.0.1:9901"},
				{OriginFile, "http://cwlota.com"}, {OriginEnv, "https://env.example"}, {OriginFlag, "https://flag.example"}},
		},
		{
			key: "region", set: func(o *Overrides, v string) { o.Region = v },
			get:    func(c *Config) string { return c.Region },
			layers: []layer{{OriginDefault, ""}, {OriginAWSEnv, "AWS-1A"}, {OriginFile, "FILE-1A"}, {OriginEnv, "ENV-1A"}, {OriginFlag, "FLAG-1A"}},
		},
		{
			key: "ca_bundle", set: func(o *Overrides, v string) { o.CABundle = v },
			get:    func(c *Config) string { return c.CABundle },
			layers: []layer{{OriginDefault, ""}, {OriginFile, "/file/ca.pem"}, {OriginEnv, "/env/ca.pem"}, {OriginFlag, "/flag/ca.pem"}},
		},
		{
			key: "cache_dir", set: func(o *Overrides, v string) { o.CacheDir = v },
			get:    func(c *Config) string { return c.CacheDir },
			layers: []layer{{OriginDefault, testHome + "/.cache/cwcreds"}, {OriginFile, "/file/cache"}, {OriginEnv, "/env/cache"}, {OriginFlag, "/flag/cache"}},
		},
		{
			key: "default_profile", set: func(o *Overrides, v string) { o.Profile = v },
			get:    func(c *Config) string { return c.DefaultProfile },
			layers: []layer{{OriginDefault, "default"}, {OriginFile, "filep"}, {OriginEnv, "envp"}, {OriginFlag, "flagp"}},
		},
	} {
		t.Run(tc.key, func(t *testing.T) {
			var gk globalKey
			for _, k := range globalKeys {
				if k.key == tc.key {
					gk = k
				}
			}
			env := map[string]string{}
			var flags Overrides
			fileLine := ""
			for i, l := range tc.layers {
				switch l.kind {
				case OriginAWSEnv:
					env[gk.awsEnv] = l.value
				case OriginFile:
					fileLine = fmt.Sprintf("%s: %s\n", tc.key, l.value)
				case OriginEnv:
					env[gk.env] = l.value
				case OriginFlag:
					tc.set(&flags, l.value)
				}
				body := fileLine
				if tc.key != "org_id" {
					body += "org_id: o\n"
				}
				body += "profiles:\n"
				for _, n := range []string{"default", "filep", "envp", "flagp"} {
					body += "  " + n + ":\n    source: {type: api_token}\n"
				}
				c := load(t, writeConfig(t, body), env, flags)
				if got := tc.get(c); got != l.value {
					t.Errorf("layer %d: %s = %q, want %q", i, tc.key, got, l.value)
				}
				if got := c.Origin(tc.key).Kind; got != l.kind {
					t.Errorf("layer %d: origin of %s = %v, want kind %d", i, tc.key, c.Origin(tc.key), l.kind)
				}
				if gk.perProf {
					// Profiles inherit the winning value.
					if got := profile(t, c, "envp").Origin(tc.key).Kind; got != l.kind {
						t.Errorf("layer %d: profile origin kind %d, want %d", i, got, l.kind)
					}
				}
			}
		})
	}
}

// TestProfileOverridePrecedence: a profile's own value beats the top-level one
// and AWS_* variables, and loses to CWCREDS_* variables and flags.
func TestProfileOverridePrecedence(t *testing.T) {
	body := `org_id: org-top
region: TOP-1A
s3_endpoint: https://top.example
profiles:
  own:
    source: {type: token_file, path: /t}
    org_id: org-own
    region: OWN-1A
    s3_endpoint: https://own.example
    api_endpoint: https://own-api.example
  inherits:
    source: {type: token_file, path: /t}
`
	p := writeConfig(t, body)
	c := load(t, p, map[string]string{EnvAWSRegion: "AWS-1A", EnvAWSEndpointS3: "https://aws.example"}, Overrides{})
	own, inh := profile(t, c, "own"), profile(t, c, "inherits")
	if own.OrgID != "org-own" || own.Region != "OWN-1A" || own.S3Endpoint != "https://own.example" || own.APIEndpoint != "https://own-api.example" {
		t.Errorf("own: %+v", plain(own))
	}
	if inh.OrgID != "org-top" || inh.Region != "TOP-1A" || inh.S3Endpoint != "https://top.example" || inh.APIEndpoint != "https://api.coreweave.com" {
		t.Errorf("inherits: %+v", plain(inh))
	}
	if o := own.Origin("region"); o.Kind != OriginFile || o.Line != 8 {
		t.Errorf("own region origin %+v", o)
	}

	c = load(t, p, map[string]string{EnvOrgID: "org-env", EnvRegion: "ENV-1A"}, Overrides{S3Endpoint: "https://flag.example"})
	own = profile(t, c, "own")
	if own.OrgID != "org-env" || own.Region != "ENV-1A" || own.S3Endpoint != "https://flag.example" || own.APIEndpoint != "https://own-api.example" {
		t.Errorf("own under env and flags: %+v", plain(own))
	}
	if o := own.Origin("org_id"); o.Kind != OriginEnv || o.Name != EnvOrgID {
		t.Errorf("org_id origin %+v", o)
	}
}

// TestOverrideValuesAreChecked: a bad value is reported where it came from.
func TestOverrideValuesAreChecked(t *testing.T) {
	p := "testdata/minimal.yaml"
	_, err := loadErr(p, map[string]string{EnvAPIEndpoint: "http://api.example.com"}, Overrides{})
	wantError(t, err, `env CWCREDS_API_ENDPOINT: api_endpoint "http://api.example.com" uses plain http to a host that is not loopback: use https (http is only accepted for localhost, 127.0.0.1 or ::1)`)
	_, err = loadErr(p, nil, Overrides{Region: "us east"})
	wantError(t, err, `flag --region: region "us east" is not a region name: use an availability zone such as US-EAST-04A`)
	_, err = loadErr(p, map[string]string{EnvAWSRegion: "bad region"}, Overrides{})
	wantError(t, err, `env AWS_REGION: region "bad region" is not a region name: use an availability zone such as US-EAST-04A`)
	_, err = loadErr(p, nil, Overrides{Profile: "../etc"})
	wantError(t, err, `flag --profile: profile "../etc" is not a valid profile name: use up to 64 letters, digits, '_', '-' or '.', starting with a letter or digit`)
	_, err = loadErr(p, map[string]string{EnvOrgID: "org 1"}, Overrides{})
	wantError(t, err, `env CWCREDS_ORG_ID: org_id "org 1" is not a valid id: use the id shown in the CoreWeave console (letters, digits, '.', '_', ':', '-')`)
}
