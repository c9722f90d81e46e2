// Package cache keeps short-lived access keys fresh and hands them out without ever
// serving expired ones. It has three front ends over one refresh rule (Policy):
//
//   - Refresher: in memory, one identity; refresh-ahead with jitter, single-flight,
//     capped backoff, a per-identity upstream rate limit, and a stop after an
//     unrecoverable failure until the identity input changes. Get on a warm cache is
//     lock-free and allocation-free. Run refreshes proactively for daemons.
//   - DiskStore: one file per profile for credential_process and other one-shot
//     processes, with a cross-process lock so N cold processes make one exchange.
//   - AgentCache: a bounded LRU of Refreshers keyed by a hash of each caller's token,
//     for the node agent.
//
// The package does not know how keys are obtained (a Fetcher does) nor how they are
// delivered (the caller does). Every wait takes a context; every time read goes
// through the injected clockwork.Clock.
package cache
