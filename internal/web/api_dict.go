package web

import (
	"net/http"

	"whistle/internal/dict"
	"whistle/internal/errs"
)

// dictAPI serves the dictionaries (字典管理) to administrators.
type dictAPI struct {
	*view
	Dicts *dict.Store
}

func (s *dictAPI) store() (*dict.Store, error) {
	if s.Dicts == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return s.Dicts, nil
}

// apiDicts answers the dictionary types, without items.
func (s *dictAPI) apiDicts(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	types, err := st.Types(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"dicts": types})
	return nil
}

// apiDict answers one dictionary with all its items, enabled or not.
func (s *dictAPI) apiDict(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	t, err := st.Get(r.Context(), r.PathValue("type"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (s *dictAPI) apiDictItemAdd(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	var in struct {
		Code    string `json:"code"`
		Label   string `json:"label"`
		LabelEN string `json:"label_en"`
		Sort    int    `json:"sort"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	it, err := st.AddItem(r.Context(), actorOf(r), r.PathValue("type"), dict.Item{Code: in.Code, Label: in.Label, LabelEN: in.LabelEN, Sort: in.Sort})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, it)
	return nil
}

// apiDictItemUpdate applies a PATCH body: absent (or null) members stay
// unchanged; "enabled": false retires the item.
func (s *dictAPI) apiDictItemUpdate(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	var in struct {
		Label   *string `json:"label"`
		LabelEN *string `json:"label_en"`
		Sort    *int    `json:"sort"`
		Enabled *bool   `json:"enabled"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	it, err := st.UpdateItem(r.Context(), actorOf(r), r.PathValue("type"), r.PathValue("code"),
		dict.Patch{Label: in.Label, LabelEN: in.LabelEN, Sort: in.Sort, Enabled: in.Enabled})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}
