package poller

import "time"

// RetryError is a source's failure that says when to try again: a rate
// limit or quota (HTTP 429, 403 with Retry-After, gRPC RESOURCE_EXHAUSTED),
// a server busy with Retry-After, or a source's own request budget spent.
// It is the RetryAfterError every source returns, so the scheduler waits at
// least After and the tiles go stale meanwhile. Its text is Err's.
type RetryError struct {
	After time.Duration // the wait asked for; 0 leaves the back-off alone
	Err   error
}

func (e *RetryError) Error() string             { return e.Err.Error() }
func (e *RetryError) Unwrap() error             { return e.Err }
func (e *RetryError) RetryAfter() time.Duration { return e.After }
