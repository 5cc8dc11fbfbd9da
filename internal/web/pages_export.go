package web

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"whistle/internal/casework"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

// MaxExportRows bounds one export; narrow the filter for more.
const MaxExportRows = 50000

// exportHeaderKeys are the column headings' catalogue keys. The export is
// meant for Chinese offices: headings follow the user's language, which is
// zh-CN by default.
var exportHeaderKeys = [...]string{"col.number", "col.status", "col.category", "col.description", "col.address",
	"col.street", "col.community", "col.grid", "col.source", "col.reported", "col.deadline", "col.sla", "col.handler",
	"col.supervised", "col.rating", "col.lat", "col.lng"}

// exportRows runs the filter page by page, up to MaxExportRows.
func (s *caseHandlers) exportRows(r *http.Request) ([]string, [][]string, error) {
	f, _, fs := s.caseFilter(r)
	if len(fs.Fields) > 0 {
		return nil, nil, errs.E(errs.Invalid, "error.invalid")
	}
	lang := langOf(r)
	header := make([]string, len(exportHeaderKeys))
	for i, k := range exportHeaderKeys {
		header[i] = s.Catalog.T(lang, k)
	}
	var rows [][]string
	now := s.Clock.Now()
	f.Limit = 500
	for len(rows) < MaxExportRows {
		cases, next, err := s.listCases(r.Context(), callerOf(r), f)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cases {
			rows = append(rows, s.exportRow(lang, now, c))
		}
		if next == 0 {
			break
		}
		f.Before = next
	}
	if len(rows) > MaxExportRows {
		rows = rows[:MaxExportRows]
	}
	return header, rowsOrEmpty(rows), nil
}

func rowsOrEmpty(r [][]string) [][]string {
	if r == nil {
		return [][]string{}
	}
	return r
}

func (s *caseHandlers) exportRow(lang i18n.Lang, now time.Time, c *casework.Case) []string {
	row := s.row(lang, now, c)
	yes := ""
	if c.Supervised {
		yes = s.Catalog.T(lang, "page.yes")
	}
	rating := ""
	if c.Rating > 0 {
		rating = strconv.Itoa(c.Rating)
	}
	return []string{c.Number, row.StatusText, c.CategoryName, c.Description, c.Address, row.Street, row.Community, row.Grid,
		row.Source, row.Created, shanghaiTime(c.DeadlineAt), row.SLAText, row.Handler, yes, rating,
		strconv.FormatFloat(c.Lat, 'f', 6, 64), strconv.FormatFloat(c.Lng, 'f', 6, 64)}
}

func exportName(ext string, now time.Time) string {
	return downloadName("cases", "案件导出", ext, now)
}

// downloadName is a download's Content-Disposition: an ASCII name for old
// clients and the Chinese one.
func downloadName(ascii, zh, ext string, now time.Time) string {
	stamp := now.In(shanghai).Format("20060102-1504")
	return fmt.Sprintf(`attachment; filename="%s-%s.%s"; filename*=UTF-8''%s`, ascii, stamp, ext, url.PathEscape(zh+"-"+stamp+"."+ext))
}

// pageExportCSV writes the filtered list as CSV: UTF-8 with a BOM, so that
// Excel on Chinese Windows opens it correctly.
func (s *caseHandlers) pageExportCSV(w http.ResponseWriter, r *http.Request) error {
	header, rows, err := s.exportRows(r)
	if err != nil {
		return err
	}
	return writeCSV(w, exportName("csv", s.Clock.Now()), header, rows)
}

// writeCSV writes a table as a CSV download: UTF-8 with a BOM, so that
// Excel on Chinese Windows opens it correctly, formulas defused.
func writeCSV(w http.ResponseWriter, disposition string, header []string, rows [][]string) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", disposition)
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	_, _ = bw.WriteString("\uFEFF")
	cw := csv.NewWriter(bw)
	_ = cw.Write(header)
	for _, row := range rows {
		_ = cw.Write(csvSafe(row))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// csvSafe defuses cells that a spreadsheet would run as formulas.
func csvSafe(row []string) []string {
	out := make([]string, len(row))
	for i, v := range row {
		if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@') {
			v = "'" + v
		}
		out[i] = v
	}
	return out
}

// pageExportXLSX writes the filtered list as an Excel workbook.
func (s *caseHandlers) pageExportXLSX(w http.ResponseWriter, r *http.Request) error {
	header, rows, err := s.exportRows(r)
	if err != nil {
		return err
	}
	widths := []float64{20, 12, 16, 40, 30, 12, 14, 16, 10, 17, 17, 8, 16, 6, 6, 11, 11}
	return writeXLSX(w, exportName("xlsx", s.Clock.Now()), s.Catalog.T(langOf(r), "page.cases.sheet"), widths, header, rows)
}

// writeXLSX writes a table as an Excel workbook download: one sheet, a bold
// frozen heading row, columns of the given widths.
func writeXLSX(w http.ResponseWriter, disposition, sheet string, widths []float64, header []string, rows [][]string) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"F2F3F5"}, Pattern: 1}})
	if err != nil {
		return err
	}
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = excelize.Cell{Value: h, StyleID: bold}
	}
	if err := sw.SetRow("A1", cells, excelize.RowOpts{}); err != nil {
		return err
	}
	for i, row := range rows {
		vals := make([]any, len(row))
		for j, v := range row {
			vals[j] = v
		}
		axis, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(axis, vals); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", disposition)
	w.Header().Set("Cache-Control", "no-store")
	return f.Write(w)
}
