package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"whistle/internal/errs"
	"whistle/internal/i18n"
)

// httpStatus is the one table from error codes to HTTP statuses.
func httpStatus(e *errs.Error) int {
	switch e.Code {
	case errs.Invalid:
		if len(e.Fields) > 0 {
			return http.StatusUnprocessableEntity
		}
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// asAppError turns any error into an *errs.Error: expected ones as they are,
// body-size overflows into TooLarge, everything else into Internal.
func asAppError(err error) *errs.Error {
	if e, ok := errs.As(err); ok {
		return e
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errs.E(errs.TooLarge, "error.too_large", humanBytes(mbe.Limit)).Wrap(err)
	}
	return errs.E(errs.Internal, "error.internal").Wrap(err)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// errorBody is the wire form of every JSON error.
type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields,omitempty"`
	} `json:"error"`
}

func (s *view) errorBody(lang i18n.Lang, e *errs.Error) errorBody {
	var b errorBody
	b.Error.Code = string(e.Code)
	if e.Reason != "" {
		b.Error.Code = e.Reason
	}
	b.Error.Message = s.Catalog.T(lang, e.Msg.Key, e.Msg.Args...)
	if len(e.Fields) > 0 {
		b.Error.Fields = map[string]string{}
		for k, m := range e.Fields {
			b.Error.Fields[k] = s.Catalog.T(lang, m.Key, m.Args...)
		}
	}
	return b
}

// logError logs 5xx at error level with the cause, 4xx at info.
func (s *view) logError(r *http.Request, status int, e *errs.Error) {
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "code", e.Code}
	if status >= 500 {
		s.Logger.Error("request failed", append(attrs, "err", e.Error())...)
		return
	}
	s.Logger.Info("request refused", append(attrs, "err", e.Error())...)
}

// writeJSONError renders err as {"error":{code,message,fields}}.
func (s *view) writeJSONError(w http.ResponseWriter, r *http.Request, err error) {
	e := asAppError(err)
	status := httpStatus(e)
	s.logError(r, status, e)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, status, s.errorBody(langOf(r), e))
}

// writeJSON encodes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON body into v, refusing unknown fields, trailing
// data and oversized bodies with clear errors.
func decodeJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errs.E(errs.Invalid, "error.bad_json", "Content-Type "+ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return errs.E(errs.Invalid, "error.invalid").Field(ute.Field, "error.bad_json", "expected "+ute.Type.String())
		}
		if errors.Is(err, io.EOF) {
			return errs.E(errs.Invalid, "error.bad_json", "empty body")
		}
		return errs.E(errs.Invalid, "error.bad_json", err.Error())
	}
	// Only white space may follow the value. dec.More is false before a
	// stray '}' or ']', so read the next token: anything but EOF is
	// trailing data.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(errs.Invalid, "error.bad_json", "trailing data after the JSON value")
	}
	return nil
}
