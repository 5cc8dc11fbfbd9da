// Package errs is Whistle's small error vocabulary. Domain packages return
// *Error values that carry a code, a message key and per-field message keys;
// the web layer turns them into HTTP statuses and translated messages.
package errs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Code classifies an error; each code maps to one HTTP status.
type Code string

// The codes. Keep this list short: new cases get a new message key, not a code.
const (
	Invalid      Code = "invalid"      // bad input: 400/422
	NotFound     Code = "not_found"    // missing or outside the caller's scope: 404
	Conflict     Code = "conflict"     // duplicate, illegal transition, stale version: 409
	Unauthorized Code = "unauthorized" // not logged in: 401
	Forbidden    Code = "forbidden"    // logged in but the role may not act: 403
	TooLarge     Code = "too_large"    // body or file too large: 413
	RateLimited  Code = "rate_limited" // throttled: 429
	Unavailable  Code = "unavailable"  // a dependency is down: 503
	Internal     Code = "internal"     // a bug or an unexpected driver error: 500
)

// Msg is a translatable message: a catalogue key and its arguments.
type Msg struct {
	Key  string
	Args []any
}

// Error is the error type every domain package returns for expected failures.
type Error struct {
	Code Code
	// Reason refines Code for clients, e.g. "outside_jurisdiction"; empty means Code.
	Reason string
	Msg    Msg
	Fields map[string]Msg
	// RetryAfter is set for RateLimited, in seconds.
	RetryAfter int
	Err        error
}

// E builds an Error with a code and a message key.
func E(code Code, key string, args ...any) *Error {
	return &Error{Code: code, Msg: Msg{Key: key, Args: args}}
}

// Field adds a per-field message and returns e for chaining.
func (e *Error) Field(name, key string, args ...any) *Error {
	if e.Fields == nil {
		e.Fields = map[string]Msg{}
	}
	e.Fields[name] = Msg{Key: key, Args: args}
	return e
}

// WithReason sets the machine-readable reason and returns e.
func (e *Error) WithReason(r string) *Error { e.Reason = r; return e }

// Wrap records the underlying cause and returns e.
func (e *Error) Wrap(err error) *Error { e.Err = err; return e }

// Error implements error with an English-ish developer message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Reason != "" {
		b.WriteString("/" + e.Reason)
	}
	b.WriteString(": " + e.Msg.Key)
	if len(e.Msg.Args) > 0 {
		fmt.Fprintf(&b, " %v", e.Msg.Args)
	}
	if len(e.Fields) > 0 {
		names := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(&b, "; %s: %s", k, e.Fields[k].Key)
		}
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of err: the code of the first *Error in its chain,
// Internal for any other non-nil error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Expected is an error type of a package's own that stands for an
// expected failure and converts to an *Error for the caller (for example
// region.ImportError with its list of problems). Wrapf leaves it as it is.
type Expected interface {
	error
	AsErr() *Error
}

// Wrapf names the failing call, in the style of pkgsite's derrors.Wrap:
// defer errs.Wrapf(&err, "Store.User(%d)", id).
func Wrapf(errp *error, format string, args ...any) {
	if *errp == nil {
		return
	}
	var e *Error
	if errors.As(*errp, &e) {
		return // expected failures keep their identity and message
	}
	var x Expected
	if errors.As(*errp, &x) {
		return // so do a package's own expected errors
	}
	*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
}
