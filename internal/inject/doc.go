// Package inject is the mutating admission webhook behind `cwcreds inject`: it
// reads an AdmissionReview v1 for a pod and answers with the JSON patch that wires
// the pod to cwcreds — the projected service-account token, the cwcreds native
// sidecar (sidecar mode) or nothing more (agent mode: the node agent serves it),
// the AWS config file that turns on virtual-hosted S3 addressing, and the AWS_*
// environment of every app container. Mutate is the decision and the patch, a
// function of its inputs; Handler puts it on HTTP, CertReloader and
// ServiceAccounts are the TLS certificate and the service-account annotations it
// needs in a cluster.
//
// It never talks to the CoreWeave API: the containers it adds do.
package inject
