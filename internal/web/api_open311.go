package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/casework"
	"whistle/internal/errs"
	"whistle/internal/open311"
)

// open311API serves Open311 GeoReport v2 and mySociety's
// servicerequestupdates under /open311/v2/ through open311.Service, which
// holds the logic; package open311 documents the choices it makes. Its
// handlers decode the parameters, call the service and encode its answer;
// they never hand an error to the generic renderer: every failure is an
// Open311 errors document in the requested format.
type open311API struct {
	*view
	svc *open311.Service
}

// translate writes a refusal's problems in the request's language.
func (o *open311API) translate(r *http.Request, rf *open311.Refusal) []open311.Error {
	lang := langOf(r)
	out := make([]open311.Error, 0, len(rf.Problems))
	for _, p := range rf.Problems {
		args := make([]any, len(p.Args))
		for i, a := range p.Args {
			if m, ok := a.(errs.Msg); ok {
				a = o.Catalog.T(lang, m.Key, m.Args...)
			}
			args[i] = a
		}
		d := o.Catalog.T(lang, p.Key, args...)
		if p.Param != "" {
			d = o.Catalog.T(lang, "open311.param", p.Param, d)
		}
		out = append(out, open311.Error{Code: p.Code, Description: d})
	}
	return out
}

// fail writes err as an Open311 errors document and logs it like every
// other failure: failures on our side at error level, refusals at info.
func (o *open311API) fail(w http.ResponseWriter, r *http.Request, f open311.Format, err error) {
	var rf *open311.Refusal
	if !errors.As(err, &rf) {
		rf = open311.RefusalOf(asAppError(err))
	}
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", rf.Status, "err", err.Error()}
	if len(rf.Problems) > 0 && rf.Problems[0].Code >= 500 {
		o.Logger.Error("open311 request failed", attrs...)
	} else {
		o.Logger.Info("open311 request refused", attrs...)
	}
	if rf.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(rf.RetryAfter))
	}
	if werr := writeO311(w, f, rf.Status, open311.RootErrors, o.translate(r, rf)); werr != nil {
		o.Logger.Error("open311 write error", "err", werr)
	}
}

// writeO311 encodes a list document into a buffer first, so that an
// encoding failure can still become a clean error.
func writeO311[T open311.Item](w http.ResponseWriter, f open311.Format, status int, root string, items []T) error {
	var buf bytes.Buffer
	if err := open311.WriteList(&buf, f, root, items); err != nil {
		return err
	}
	return writeO311Bytes(w, f, status, buf.Bytes())
}

func writeO311Object(w http.ResponseWriter, f open311.Format, v any) error {
	var buf bytes.Buffer
	if err := open311.WriteObject(&buf, f, v); err != nil {
		return err
	}
	return writeO311Bytes(w, f, http.StatusOK, buf.Bytes())
}

// writeO311Bytes sends an encoded document. A client that hangs up while
// it is sent is not an error to answer.
func writeO311Bytes(w http.ResponseWriter, f open311.Format, status int, b []byte) error {
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// formatOf picks the format from the extension of the path's last
// segment; JSON when it has none.
func formatOf(r *http.Request) open311.Format {
	_, f, _ := open311.SplitFormat(path.Base(r.URL.Path))
	return f
}

// do runs fn and renders its error, if any, as an Open311 document.
func (o *open311API) do(w http.ResponseWriter, r *http.Request, fn func(f open311.Format) error) error {
	f := formatOf(r)
	if err := fn(f); err != nil {
		o.fail(w, r, f, err)
	}
	return nil
}

// baseURL is the absolute URL of this server as the client reached it.
func (s *view) baseURL(r *http.Request) string {
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// reached is how the client reached the service.
func (o *open311API) reached(r *http.Request) open311.View {
	return open311.View{BaseURL: o.baseURL(r), Lang: langOf(r)}
}

// notFound answers every other path under /open311/.
func (o *open311API) notFound(w http.ResponseWriter, r *http.Request) {
	o.fail(w, r, formatOf(r), &open311.Refusal{Status: http.StatusNotFound,
		Problems: []open311.Problem{{Code: http.StatusNotFound, Key: "open311.unknown_path", Args: []any{r.URL.Path}}}})
}

// discovery answers GET discovery.{json,xml}.
func (o *open311API) discovery(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		d, err := o.svc.Discovery(r.Context(), o.reached(r))
		if err != nil {
			return err
		}
		lang := langOf(r)
		d.Contact, d.KeyService = o.Catalog.T(lang, "open311.contact"), o.Catalog.T(lang, "open311.key_service")
		return writeO311Object(w, f, d)
	})
}

// services answers GET services.{json,xml}.
func (o *open311API) services(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		list, err := o.svc.Services(r.Context(), langOf(r))
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootServices, list)
	})
}

// serviceDefinition answers GET services/{code}.{json,xml}.
func (o *open311API) serviceDefinition(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		code, _, _ := open311.SplitFormat(r.PathValue("code"))
		d, err := o.svc.Definition(r.Context(), code, o.Catalog, langOf(r))
		if err != nil {
			return err
		}
		return writeO311Object(w, f, d)
	})
}

// parseO311Form reads a form-encoded (or multipart) body; any other body
// is refused rather than read as an empty form.
func parseO311Form(r *http.Request) error {
	var err error
	ct := r.Header.Get("Content-Type")
	switch {
	case ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") && !strings.HasPrefix(ct, "multipart/form-data"):
		return errs.E(errs.Invalid, "open311.bad_form")
	case strings.HasPrefix(ct, "multipart/form-data"):
		err = r.ParseMultipartForm(64 << 10)
		if r.MultipartForm != nil {
			_ = r.MultipartForm.RemoveAll()
		}
	default:
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errs.E(errs.TooLarge, "error.too_large", humanBytes(mbe.Limit))
	}
	if err != nil {
		return errs.E(errs.Invalid, "open311.bad_form")
	}
	return nil
}

// createRequest answers POST requests.{json,xml}.
func (o *open311API) createRequest(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		if err := parseO311Form(r); err != nil {
			return err
		}
		req := open311.ParseSubmit(r.Form)
		req.IdempotencyKey, req.IP = r.Header.Get("Idempotency-Key"), info(r).ip
		number, err := o.svc.Submit(r.Context(), req)
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootRequests, []open311.Receipt{{ID: number,
			ServiceNotice: o.Catalog.T(langOf(r), "open311.notice", number), AccountID: req.AccountID}})
	})
}

// listRequests answers GET requests.{json,xml}.
func (o *open311API) listRequests(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		out, err := o.svc.Requests(r.Context(), open311.ParseRequestQuery(r.URL.Query()), o.reached(r))
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootRequests, out)
	})
}

// getRequest answers GET requests/{id}.{json,xml}.
func (o *open311API) getRequest(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		number, _, _ := open311.SplitFormat(r.PathValue("id"))
		out, err := o.svc.Request(r.Context(), number, o.reached(r))
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootRequests, out)
	})
}

// token answers GET tokens/{token}.{json,xml}.
func (o *open311API) token(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		tok, _, _ := open311.SplitFormat(r.PathValue("token"))
		a, err := o.svc.Token(r.Context(), tok)
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootRequests, []open311.TokenAnswer{a})
	})
}

// listUpdates answers GET servicerequestupdates.{json,xml}.
func (o *open311API) listUpdates(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		q := r.URL.Query()
		out, err := o.svc.Updates(r.Context(), q.Get("start_date"), q.Get("end_date"), o.reached(r))
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootUpdates, out)
	})
}

// postUpdate answers POST servicerequestupdates.{json,xml}.
func (o *open311API) postUpdate(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		if err := parseO311Form(r); err != nil {
			return err
		}
		req := open311.ParseUpdate(r.Form)
		req.IP = info(r).ip
		receipt, err := o.svc.PostUpdate(r.Context(), req)
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootUpdates, []open311.UpdateReceipt{receipt})
	})
}

// apiPublicCasePhoto serves a photo of a public case's public timeline:
// the media_url of Open311 requests and updates.
func (s *caseHandlers) apiPublicCasePhoto(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	pid, err := strconv.ParseInt(r.PathValue("pid"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "case.photo_not_found")
	}
	_, tl, err := s.Cases.PublicCase(r.Context(), id)
	if err != nil {
		return err
	}
	public := slices.ContainsFunc(tl, func(e casework.Event) bool {
		return slices.ContainsFunc(e.Photos, func(p casework.Photo) bool { return p.ID == pid })
	})
	if !public {
		return errs.E(errs.NotFound, "case.photo_not_found")
	}
	p, rc, err := s.Cases.OpenPhoto(r.Context(), casework.Caller{System: true}, id, pid)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", p.MIME)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, err = io.Copy(w, rc)
	return err
}
