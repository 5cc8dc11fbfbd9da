package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/regimport"
)

// Import limits of the web: larger files go through `whistle import`.
const (
	// MaxImportBytes bounds an uploaded registry file.
	MaxImportBytes = 32 << 20
	// MaxImportRows bounds its data rows.
	MaxImportRows = 100000
)

// importHandlers serve the registry's import and 台账 export (issue 16,
// Build 2): the page, the upload and the export. Who may import is the
// staff of a grid, community or street and the admins; which rows they
// may import is their scope's (a row of a grid outside it is a row error).
type importHandlers struct {
	*view
	Imports  *regimport.Importer
	Accounts *account.Store
}

func (h *importHandlers) importer(r *http.Request) (*regimport.Importer, error) {
	if !canImport(userOf(r)) {
		return nil, errs.E(errs.Forbidden, "error.forbidden")
	}
	if h.Imports == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return h.Imports, nil
}

// importerOf returns the importer and the {kind} of the request; an
// unknown kind does not exist.
func (h *importHandlers) importerOf(r *http.Request) (*regimport.Importer, regimport.Kind, error) {
	im, err := h.importer(r)
	if err != nil {
		return nil, "", err
	}
	kind, err := regimport.ParseKind(r.PathValue("kind"))
	if err != nil {
		return nil, "", errs.E(errs.NotFound, "error.not_found")
	}
	return im, kind, nil
}

// canImport reports whether the user keeps a registry: grid workers,
// community and street staff, admins.
func canImport(u *account.User) bool {
	if u == nil {
		return false
	}
	for _, r := range []account.Role{account.GridWorker, account.CommunityStaff, account.StreetStaff, account.Admin} {
		if u.Has(r) {
			return true
		}
	}
	return false
}

// importError is a row error as the page and the API show it.
type importError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// importReply is the answer to an upload: the report with its errors in
// the caller's language, and the error body when rows were refused.
type importReply struct {
	*regimport.Report
	Errors []importError      `json:"errors"`
	Error  *errorBodyContents `json:"error,omitempty"`
}

type errorBodyContents = struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// importStreamType is the Accept type that asks apiImport for its
// progress as it goes.
const importStreamType = "application/x-ndjson"

// importProgressEvery is how many checked rows pass between the progress
// lines of a streamed import.
const importProgressEvery = 1000

// importEnd is the last line of a streamed import: the status the plain
// answer would have had, with its body.
type importEnd struct {
	Status int `json:"status"`
	importReply
}

// apiImport takes a file (multipart field "file") of kind {kind} and
// imports it, or only checks it with ?dry_run=1: 200 with the report for a
// clean dry run, 201 once committed, 422 with the report and its row
// errors when rows were refused (nothing written).
//
// With Accept: application/x-ndjson the answer is 200 and a stream of JSON
// lines once the file is received: the server's progress
// ({"phase":"check"|"write"|"done","done":n,"total":m}, checked rows
// every importProgressEvery, written rows every registry chunk), then one
// line with "status" (what the plain answer's status would have been) and
// the plain answer's body. The import is the same single transaction:
// progress lines do not mean anything was written before "done".
func (h *importHandlers) apiImport(w http.ResponseWriter, r *http.Request) error {
	im, kind, err := h.importerOf(r)
	if err != nil {
		return err
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errs.E(errs.TooLarge, "error.too_large", humanBytes(tooBig.Limit)).Field("file", "error.too_large", humanBytes(tooBig.Limit))
		}
		return errs.E(errs.Invalid, "error.invalid").Field("file", "field.required")
	}
	defer f.Close()
	dry := r.URL.Query().Get("dry_run") == "1"
	opt := regimport.Options{DryRun: dry, MaxRows: MaxImportRows}
	lang := langOf(r)
	var line func(v any)
	if strings.Contains(r.Header.Get("Accept"), importStreamType) {
		w.Header().Set("Content-Type", importStreamType+"; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		line = func(v any) {
			_ = enc.Encode(v)
			_ = rc.Flush()
		}
		opt.Progress = func(p regimport.Progress) { line(p) }
		opt.ProgressEvery = importProgressEvery
	}
	rep, err := im.Import(r.Context(), scopeOf(r), actorOf(r), kind, f, opt)
	var rows *regimport.RowsError
	if err != nil && !errors.As(err, &rows) {
		if line == nil {
			return err
		}
		// The status is sent: the error goes in the last line.
		e := asAppError(err)
		h.logError(r, httpStatus(e), e)
		body := h.errorBody(lang, e)
		line(importEnd{Status: httpStatus(e), importReply: importReply{Report: rep, Errors: []importError{}, Error: &body.Error}})
		return nil
	}
	reply := importReply{Report: rep, Errors: make([]importError, 0, len(rep.Errors))}
	for _, e := range rep.Errors {
		reply.Errors = append(reply.Errors, importError{Row: e.Row, Column: e.Column, Field: e.Field, Message: h.Catalog.T(lang, e.Msg.Key, e.Msg.Args...)})
	}
	status := http.StatusOK
	switch {
	case rows != nil:
		body := h.errorBody(lang, asAppError(rows))
		reply.Error = &body.Error
		status = http.StatusUnprocessableEntity
	case rep.Committed:
		status = http.StatusCreated
	}
	if line != nil {
		line(importEnd{Status: status, importReply: reply})
		return nil
	}
	writeJSON(w, status, reply)
	return nil
}

// apiExport answers the 台账 of kind {kind} of ?region= (a grid, community
// or street in the caller's scope; 404 outside it) as an .xlsx in the
// import's layout: in the clear, so that the file re-imports, for a caller
// who may unmask (the reveal is audited), masked for anyone else.
func (h *importHandlers) apiExport(w http.ResponseWriter, r *http.Request) error {
	im, kind, err := h.importerOf(r)
	if err != nil {
		return err
	}
	code := r.URL.Query().Get("region")
	if code == "" {
		return errs.E(errs.Invalid, "error.invalid").Field("region", "field.required")
	}
	if _, err := im.Covers(r.Context(), scopeOf(r), code); err != nil {
		return err
	}
	// Personal data in the clear is a reveal: for those who may unmask,
	// audited; anyone else gets the 台账 masked (which does not re-import).
	clear := false
	if h.Accounts != nil {
		if clear, err = h.Accounts.Reveal(r.Context(), userOf(r), actorOf(r), "registry-export:"+string(kind)+":"+code,
			"name", "id_number", "phone", "address"); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := im.Export(r.Context(), scopeOf(r), kind, code, clear, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(string(kind)+"-"+code+".xlsx"))
	_, _ = w.Write(buf.Bytes())
	return nil
}

// importPage is the data of the import page.
type importPage struct {
	Kinds  []regimport.Kind
	Region string
	JS     map[string]string
	// Columns are the headers of each kind's layout, for the template hint.
	Columns map[regimport.Kind][]string
}

// importJSKeys are the messages the page's script shows.
func importJSKeys() []string {
	return []string{"import.js.checking", "import.js.importing", "import.js.ok", "import.js.errors", "import.js.done", "import.js.failed",
		"import.js.row", "import.js.more", "import.js.rows", "import.js.ignored", "import.js.checked", "import.js.written"}
}

// pageImport is the import page for the staff who keep a registry.
func (h *importHandlers) pageImport(w http.ResponseWriter, r *http.Request) error {
	im, err := h.importer(r)
	if err != nil {
		return err
	}
	lang := langOf(r)
	d := &importPage{Kinds: regimport.Kinds(), Region: userOf(r).Region.Code, JS: map[string]string{}, Columns: map[regimport.Kind][]string{}}
	for _, k := range importJSKeys() {
		d.JS[k[len("import.js."):]] = h.Catalog.T(lang, k)
	}
	for _, k := range d.Kinds {
		for _, c := range im.Layout(k).Columns {
			d.Columns[k] = append(d.Columns[k], c.Header)
		}
	}
	return h.render(w, r, http.StatusOK, "registry_import.html", h.newPage(r, "import.title", d))
}
