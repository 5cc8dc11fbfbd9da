package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"

	"whistle/internal/benchmark"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

// MaxIndicatorUploadBytes is the largest indicator file the web takes (a
// values file and its declarations together): 8 MiB is some 200,000 rows
// of CSV, more than a district's year of imported indicators.
const MaxIndicatorUploadBytes = 8 << 20

// xlsxType is an .xlsx workbook's media type.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// indicatorUpload is what POST /api/v1/indicators/values received: the
// values file's bytes and, from a form, the declarations file's.
type indicatorUpload struct {
	values, indicators []byte
}

// decodeIndicatorUpload reads the upload: a multipart form with the
// values file in "file" (and optionally indicators declared in
// "indicators", as `whistle import indicators --indicators`), or the
// values file itself as the body (text/csv, an .xlsx's type or
// application/octet-stream). Anything else is a 4xx naming the field.
func decodeIndicatorUpload(r *http.Request) (*indicatorUpload, error) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("file", "bench.upload.bad_type")
	}
	var up indicatorUpload
	switch ct {
	case "multipart/form-data":
		if params["boundary"] == "" {
			return nil, errs.E(errs.Invalid, "error.invalid").Field("file", "bench.upload.bad_type")
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, uploadReadError(err)
			}
			name := p.FormName()
			if name != "file" && name != "indicators" {
				_ = p.Close()
				continue
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return nil, uploadReadError(err)
			}
			if name == "file" {
				up.values = b
			} else {
				up.indicators = b
			}
		}
	case "text/csv", "text/plain", xlsxType, "application/octet-stream":
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, uploadReadError(err)
		}
		up.values = b
	default:
		return nil, errs.E(errs.Invalid, "error.invalid").Field("file", "bench.upload.bad_type")
	}
	if len(bytes.TrimSpace(up.values)) == 0 {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("file", "field.required")
	}
	return &up, nil
}

// uploadReadError is a body that could not be read: too large (413) or
// malformed (400).
func uploadReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return errs.E(errs.TooLarge, "error.too_large", humanBytes(tooBig.Limit)).Field("file", "error.too_large", humanBytes(tooBig.Limit))
	}
	return errs.E(errs.Invalid, "error.invalid").Field("file", "bench.upload.unreadable")
}

// parse reads the files into an import, or the rows refused by their
// form (both files' rows, as the command line reports them).
func (up *indicatorUpload) parse() (benchmark.Import, *benchmark.ImportError) {
	var im benchmark.Import
	var bad benchmark.ImportError
	var ie *benchmark.ImportError
	if len(bytes.TrimSpace(up.indicators)) > 0 {
		var err error
		if im.Indicators, im.IndicatorRows, err = benchmark.ParseIndicators(bytes.NewReader(up.indicators)); errors.As(err, &ie) {
			bad.Declarations = append(append(bad.Declarations, ie.Declarations...), ie.Rows...)
		}
	}
	var err error
	if im.Values, im.ValueRows, err = benchmark.ParseValues(bytes.NewReader(up.values)); errors.As(err, &ie) {
		bad.Rows = append(append(bad.Rows, ie.Declarations...), ie.Rows...)
	}
	if len(bad.Rows) > 0 || len(bad.Declarations) > 0 {
		return im, &bad
	}
	return im, nil
}

// indicatorRowError is a refused row as the API answers it: the row, the
// column, the reason as the import command prints it, and the whole line
// in the caller's language ("第 3 行：value：不是数字").
type indicatorRowError struct {
	// File is "values" or "indicators" (the declarations).
	File    string `json:"file"`
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// indicatorUploadReply is the answer of POST /api/v1/indicators/values.
type indicatorUploadReply struct {
	DryRun    bool                    `json:"dry_run"`
	Committed bool                    `json:"committed"`
	Report    *benchmark.ImportReport `json:"report,omitempty"`
	Errors    []indicatorRowError     `json:"errors"`
}

// maxRowErrors is how many refused rows an answer lists.
const maxRowErrors = 500

// apiIndicatorValues imports indicator values (对标) from a CSV file or an
// .xlsx workbook in the layout of `whistle import indicators`, all or
// nothing: with ?dry_run=1 it only checks (200), else it writes (201); a
// file with bad rows is 422 with every row error (at most 500) and
// nothing written.
func (h *benchmarkAPI) apiIndicatorValues(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	dry := false
	switch r.URL.Query().Get("dry_run") {
	case "", "0", "false":
	case "1", "true":
		dry = true
	default:
		return errs.E(errs.Invalid, "error.invalid").Field("dry_run", "bench.upload.dry_run")
	}
	up, err := decodeIndicatorUpload(r)
	if err != nil {
		return err
	}
	lang := langOf(r)
	im, bad := up.parse()
	if bad == nil && len(im.Values) == 0 {
		// A header alone imports nothing: say so rather than 201.
		return errs.E(errs.Invalid, "error.invalid").Field("file", "bench.upload.no_rows")
	}
	var rep *benchmark.ImportReport
	if bad == nil {
		im.By = actorOf(r)
		rep, err = st.Import(r.Context(), im, dry)
		if !errors.As(err, &bad) && err != nil {
			return err
		}
	}
	reply := indicatorUploadReply{DryRun: dry, Report: rep, Errors: []indicatorRowError{}}
	if bad != nil {
		add := func(file string, rows []benchmark.RowError) {
			for _, e := range rows {
				if len(reply.Errors) == maxRowErrors {
					return
				}
				reply.Errors = append(reply.Errors, indicatorRowError{File: file, Row: e.Row, Column: e.Column, Reason: e.Reason,
					Message: h.rowMessage(lang, file, e)})
			}
		}
		add("indicators", bad.Declarations)
		add("values", bad.Rows)
		reply.Report = nil
		writeJSON(w, http.StatusUnprocessableEntity, struct {
			indicatorUploadReply
			Count   int    `json:"count"`
			Summary string `json:"summary"`
		}{reply, len(bad.Rows) + len(bad.Declarations), h.Catalog.T(lang, "bench.upload.refused", len(bad.Rows)+len(bad.Declarations))})
		return nil
	}
	status := http.StatusOK
	if !dry {
		reply.Committed, status = true, http.StatusCreated
	}
	writeJSON(w, status, reply)
	return nil
}

// rowMessage is a refused row in the caller's language.
func (h *benchmarkAPI) rowMessage(lang i18n.Lang, file string, e benchmark.RowError) string {
	key := "bench.upload.row"
	if file == "indicators" {
		key = "bench.upload.decl_row"
	}
	return h.Catalog.T(lang, key, e.Row, e.Column, localReason(h.Catalog, lang, e.Reason))
}

// reasonKeys are the benchmark import's fixed reasons (package benchmark
// words them in English, as the command prints them) and their catalogue
// keys.
var reasonKeys = map[string]string{
	"required":                        "bench.reason.required",
	"not a number":                    "bench.reason.not_number",
	"not a finite number":             "bench.reason.not_finite",
	"no spaces or control characters": "bench.reason.no_spaces",
	"not a month (2026-11), quarter (2026-Q3) or year (2026)":       "bench.reason.period",
	"required, at most 32 characters":                               "bench.reason.unit_code",
	"column given twice":                                            "bench.reason.column_twice",
	"empty file: want a header row":                                 "bench.reason.empty_file",
	"lower-case words joined by underscores, at most 64 characters": "bench.reason.key",
	"higher_better or lower_better":                                 "bench.reason.direction",
	"at most 32 characters, not platform":                           "bench.reason.source",
}

// reasonPatterns are the reasons with a part that varies, the part
// passed to the message.
var reasonPatterns = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^unknown indicator (.*); declare it first$`), "bench.reason.unknown_indicator"},
	{regexp.MustCompile(`^repeats row (\d+)$`), "bench.reason.repeats"},
	{regexp.MustCompile(`^column missing; the header needs (.*)$`), "bench.reason.column_missing"},
	{regexp.MustCompile(`^at most (\d+) (?:bytes|characters)$`), "bench.reason.too_long"},
	{regexp.MustCompile(`^indicator (.*) belongs to another source and cannot be redefined$`), "bench.reason.other_source"},
	{regexp.MustCompile(`^unreadable (?:CSV|workbook|row): (.*)$`), "bench.reason.unreadable"},
	{regexp.MustCompile(`^indicator (.*) is the platform's own, computed each month; it cannot be imported$`), "bench.reason.platform_own"},
}

// localReason is an import reason in the caller's language; a reason not
// known here stays as the import words it.
func localReason(c *i18n.Catalog, lang i18n.Lang, reason string) string {
	if k, ok := reasonKeys[reason]; ok {
		return c.T(lang, k)
	}
	for _, p := range reasonPatterns {
		if m := p.re.FindStringSubmatch(reason); m != nil {
			return c.T(lang, p.key, m[1])
		}
	}
	return strings.TrimSpace(reason)
}
