package open311

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"whistle/internal/errs"
)

// Refusal is a failure in Open311's terms: one HTTP status and a list of
// problems, each a catalogue message that the web layer translates into
// the {code, description} of an errors document.
type Refusal struct {
	Status     int
	Problems   []Problem
	RetryAfter int // seconds, for 429
}

// Problem is one entry of an errors document before translation. Code is
// the entry's code (the status, or 500/503 for a failure on our side under
// status 400). With Param set, the message is about that parameter and
// reads "Param: message" (open311.param). An argument that is an errs.Msg
// is translated before it is put in.
type Problem struct {
	Code  int
	Param string
	Key   string
	Args  []any
}

func (e *Refusal) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "open311 %d", e.Status)
	for _, p := range e.Problems {
		b.WriteString("; ")
		if p.Param != "" {
			b.WriteString(p.Param + ": ")
		}
		b.WriteString(p.Key)
	}
	return b.String()
}

// refuse builds a refusal with one problem.
func refuse(status int, key string, args ...any) *Refusal {
	return &Refusal{Status: status, Problems: []Problem{{Code: status, Key: key, Args: args}}}
}

// problems collects the 400s of one request, so that every problem of the
// input is reported at once.
type problems struct{ list []Problem }

// add records a 400 with a catalogue message.
func (p *problems) add(key string, args ...any) {
	p.list = append(p.list, Problem{Code: http.StatusBadRequest, Key: key, Args: args})
}

// param records a 400 on a named parameter.
func (p *problems) param(name, key string, args ...any) {
	p.list = append(p.list, Problem{Code: http.StatusBadRequest, Param: name, Key: key, Args: args})
}

// err returns the collected problems as one refusal, or nil.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &Refusal{Status: http.StatusBadRequest, Problems: p.list}
}

// Param renames Whistle's field names (casework.SubmitInput's, an
// errs.Error's Fields) to the Open311 parameters they came from.
func Param(field string) string {
	switch {
	case field == "lng":
		return "long"
	case field == "category":
		return "service_code"
	case field == "address":
		return "address_string"
	case field == "note":
		return "description"
	case strings.HasPrefix(field, "fields."):
		return "attribute[" + strings.TrimPrefix(field, "fields.") + "]"
	}
	return field
}

// RefusalOf turns any error into Open311 terms. As the standard asks,
// everything that is not a 403, 404 or 429 answers 400; a failure on our
// side (an error that is neither a Refusal nor an errs.Error, or one coded
// Internal or Unavailable) carries code 500 or 503 in the body so that
// clients can report it. Field messages become one problem per parameter,
// sorted by parameter name.
func RefusalOf(err error) *Refusal {
	var rf *Refusal
	if errors.As(err, &rf) {
		return rf
	}
	e, ok := errs.As(err)
	if !ok {
		e = errs.E(errs.Internal, "error.internal").Wrap(err)
	}
	status, code := http.StatusBadRequest, http.StatusBadRequest
	switch e.Code {
	case errs.NotFound:
		status, code = http.StatusNotFound, http.StatusNotFound
	case errs.Forbidden, errs.Unauthorized:
		status, code = http.StatusForbidden, http.StatusForbidden
	case errs.RateLimited:
		status, code = http.StatusTooManyRequests, http.StatusTooManyRequests
	case errs.Internal:
		code = http.StatusInternalServerError
	case errs.Unavailable:
		code = http.StatusServiceUnavailable
	}
	out := &Refusal{Status: status, RetryAfter: e.RetryAfter}
	if len(e.Fields) == 0 {
		out.Problems = []Problem{{Code: code, Key: e.Msg.Key, Args: e.Msg.Args}}
		return out
	}
	for k, m := range e.Fields {
		out.Problems = append(out.Problems, Problem{Code: code, Param: Param(k), Key: m.Key, Args: m.Args})
	}
	sort.Slice(out.Problems, func(i, j int) bool { return out.Problems[i].Param < out.Problems[j].Param })
	return out
}
