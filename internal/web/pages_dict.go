package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/casework"
	"whistle/internal/dict"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

type dictPage struct {
	Types []dict.Type
	// Cur is the dictionary shown, with its items (nil: none exists).
	Cur *dict.Type
	// Form is the add form's state; Edit the state of the row whose
	// edit failed (EditCode names it).
	Form     *formState
	Edit     *formState
	EditCode string
	Flash    string
}

// pageAdminDicts shows the dictionaries and the items of one (?type=).
func (s *dictAPI) pageAdminDicts(w http.ResponseWriter, r *http.Request) error {
	return s.showDicts(w, r, http.StatusOK, r.URL.Query().Get("type"), nil, nil, "")
}

func (s *dictAPI) showDicts(w http.ResponseWriter, r *http.Request, status int, typ string, add, edit *formState, editCode string) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	d := &dictPage{Form: add, Edit: edit, EditCode: editCode}
	if d.Form == nil {
		d.Form = &formState{}
	}
	if d.Types, err = st.Types(r.Context()); err != nil {
		return err
	}
	if typ == "" && len(d.Types) > 0 {
		typ = d.Types[0].Code
	}
	if typ != "" {
		if d.Cur, err = st.Get(r.Context(), typ); err != nil {
			return err
		}
	}
	if r.URL.Query().Get("done") != "" {
		d.Flash = s.Catalog.T(langOf(r), "admin.saved")
	}
	return s.render(w, r, status, "admin_dicts.html", s.newPage(r, "admin.dicts", d))
}

// formSort reads the sort field: empty is 0, anything else must be a number.
func formSort(f url.Values) (int, error) {
	v := strings.TrimSpace(f.Get("sort"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errs.E(errs.Invalid, "error.invalid").Field("sort", "field.number")
	}
	return n, nil
}

// pageAdminDictItemAdd adds an item to a dictionary.
func (s *dictAPI) pageAdminDictItemAdd(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	f, typ := r.PostForm, r.PathValue("type")
	sort, err := formSort(f)
	if err == nil {
		_, err = st.AddItem(r.Context(), actorOf(r), typ, dict.Item{Code: f.Get("code"), Label: f.Get("label"), LabelEN: f.Get("label_en"), Sort: sort})
	}
	if err != nil {
		fs := &formState{Values: f}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showDicts(w, r, status, typ, fs, nil, "")
	}
	return s.redirect(w, r, "/admin/dicts?type="+url.QueryEscape(typ)+"&done=1")
}

// pageAdminDictItemUpdate saves one row's edit form; an unticked enabled
// box disables the item.
func (s *dictAPI) pageAdminDictItemUpdate(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	f, typ, code := r.PostForm, r.PathValue("type"), r.PathValue("code")
	sort, err := formSort(f)
	if err == nil {
		label, labelEN, on := f.Get("label"), f.Get("label_en"), f.Get("enabled") == "1"
		_, err = st.UpdateItem(r.Context(), actorOf(r), typ, code, dict.Patch{Label: &label, LabelEN: &labelEN, Sort: &sort, Enabled: &on})
	}
	if err != nil {
		fs := &formState{Values: f}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showDicts(w, r, status, typ, nil, fs, code)
	}
	return s.redirect(w, r, "/admin/dicts?type="+url.QueryEscape(typ)+"&done=1")
}

// sourceOptions are the case sources a form offers, those that ok allows:
// the enabled items of the case_source dictionary that casework knows, in
// the dictionary's order and with its labels in lang, so that a district
// renames, orders or retires them without a release. Without a dictionary
// store they are casework's sources with the catalogue's labels.
func (s *caseHandlers) sourceOptions(ctx context.Context, lang i18n.Lang, ok func(string) bool) ([]option, error) {
	var out []option
	if s.Dicts == nil {
		for _, src := range casework.Sources() {
			if ok(src) {
				out = append(out, option{Value: src, Label: s.Catalog.T(lang, "source."+src)})
			}
		}
		return out, nil
	}
	items, err := s.Dicts.Active(ctx, "case_source")
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if slices.Contains(casework.Sources(), it.Code) && ok(it.Code) {
			out = append(out, option{Value: it.Code, Label: it.LabelIn(lang)})
		}
	}
	return out, nil
}
