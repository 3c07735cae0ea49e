// Package abuse holds the standing abuse tests of a duet server: what one unauthenticated
// client, one user or one stolen token can still do to a server started with its defaults.
// Each test drives a real server (server/servertest) over loopback sockets, bounded in time
// and in count; timers that decide (throttling backoff) run on a fake clock. The package has
// no code of its own: `go test ./server/abuse` is the suite.
package abuse
