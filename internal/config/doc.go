// Package config loads cwcreds profiles: which identity to exchange for CoreWeave
// AI Object Storage keys, how, and for how long.
//
// The file is YAML, by default $XDG_CONFIG_HOME/cwcreds/config.yaml (else
// ~/.config/cwcreds/config.yaml), or the file named by --config / CWCREDS_CONFIG:
//
//	api_endpoint: https://api.coreweave.com   # default
//	org_id: org-abc12345
//	s3_endpoint: https://cwobject.com         # default
//	region: US-EAST-04A
//	default_profile: ci                       # default "default"
//	ca_bundle: /etc/ssl/certs/corp-ca.pem     # optional, added to the system roots
//	cache_dir: ~/.cache/cwcreds               # default $XDG_CACHE_HOME/cwcreds
//
//	profiles:
//	  ci:                                     # a Kubernetes projected token
//	    source: {type: token_file, path: /var/run/secrets/cwobject/token}
//	    exchange: oidc                        # default for token_file
//	    lifetime: 1h                          # default; 15m..12h
//	    refresh_margin: 15m                   # default; refresh when less remains
//	    propagation_delay: 5s                 # default; new keys' settling time
//	    min_ttl: 1m                           # default; never serve keys with less left
//	  admin:                                  # a CoreWeave API token
//	    source: {type: api_token, env: CW_API_TOKEN}   # or file: …, or keyring: {service, user}
//	    exchange: api_token                   # or api_token_get (fixed 15 min keys)
//	  laptop:                                 # refresh token stored by `cwcreds login`
//	    source:
//	      type: oidc_refresh
//	      issuer: https://login.example.com
//	      client_id: cwcreds
//	      client_secret_file: ~/.config/cwcreds/client-secret   # optional
//	      scopes: [openid, offline_access]    # default
//	  sso:
//	    source: {type: saml_file, path: "-", config_id: 7d6c0e9a-…}  # "-" is stdin
//	  kube:
//	    source:
//	      type: token_command
//	      command: [kubectl, create, token, builder, --audience, https://coreweave.com/iam]
//	      timeout: 30s                        # default
//	      format: jwt                         # or exec_credential
//	    exchange: container_creds             # GET exchange: keys last a fixed 15 min
//	    org_id: org-other                     # profiles may override org_id,
//	                                          # api_endpoint, s3_endpoint, region, ca_bundle
//
// Precedence, implemented once in Load: flag > CWCREDS_* environment > file (the
// profile's value, then the top-level one) > AWS_ENDPOINT_URL_S3 / AWS_REGION >
// default. The AWS variables rank below the file because other tools set them
// for other endpoints; they rank above the default so that the exports of
// `cwcreds dev emulator` are enough on their own.
//
// With no config file at the default location (and none named), a profile called
// `default` is built from the environment: CWCREDS_TOKEN_FILE (token_file source,
// oidc exchange, needs CWCREDS_ORG_ID) or else CW_API_TOKEN (api_token source,
// api_token exchange).
//
// Secrets are never written in the file: only references to them (file paths,
// environment variable names, keyring entries). Inline secret keys such as
// client_secret or token are refused with a fix.
//
// Relative paths in the file are relative to the file's folder; those from flags
// and the environment to the working directory; `~` is the home folder.
//
// Every problem is an *Error of one line, "<file>:<line>: <problem>: <fix>".
package config
