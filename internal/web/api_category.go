package web

import (
	"net/http"
	"time"

	"whistle/internal/account"
	"whistle/internal/category"
	"whistle/internal/errs"
)

// categoryJSON is a category as the API shows it; children is [] on leaves.
type categoryJSON struct {
	Code       string            `json:"code"`
	ParentCode string            `json:"parent_code,omitempty"`
	Name       string            `json:"name"`
	NameEN     string            `json:"name_en"`
	Kind       category.Kind     `json:"kind"`
	Edition    string            `json:"edition"`
	Workflow   category.Workflow `json:"workflow"`
	Department string            `json:"department"`
	TimeLimit  string            `json:"time_limit"`
	Urgent     bool              `json:"urgent"`
	// AutoDispatch: accepting a case dispatches it to the routed department.
	AutoDispatch bool             `json:"auto_dispatch"`
	Open311      bool             `json:"open311"`
	Common       int              `json:"common"`
	Sort         int              `json:"sort"`
	Active       bool             `json:"active"`
	Fields       []category.Field `json:"fields"`
	Children     []categoryJSON   `json:"children"`
}

func toCategoryJSON(c *category.Category) categoryJSON {
	j := categoryJSON{Code: c.Code, ParentCode: c.ParentCode, Name: c.Name, NameEN: c.NameEN, Kind: c.Kind, Edition: c.Edition,
		Workflow: c.Workflow, Department: c.Department, TimeLimit: c.TimeLimit, Urgent: c.Urgent, AutoDispatch: c.AutoDispatch, Open311: c.Open311,
		Common: c.Common, Sort: c.Sort, Active: c.Active, Fields: c.Fields, Children: make([]categoryJSON, 0, len(c.Children))}
	if j.Fields == nil {
		j.Fields = []category.Field{}
	}
	for _, ch := range c.Children {
		j.Children = append(j.Children, toCategoryJSON(ch))
	}
	return j
}

// wantInactive reads ?inactive=1, which only category writers may ask for.
func wantInactive(r *http.Request) (bool, error) {
	if r.URL.Query().Get("inactive") != "1" {
		return false, nil
	}
	switch u := userOf(r); {
	case u == nil:
		return false, errs.E(errs.Unauthorized, "error.unauthorized")
	case !u.Can(account.PermCategoryWrite):
		return false, errs.E(errs.Forbidden, "error.forbidden")
	}
	return true, nil
}

// categoryAPI serves the category tree and the routing rules.
type categoryAPI struct {
	Categories *category.Store
}

// apiCategories answers the public category tree (active categories; with
// ?inactive=1, for category writers, all of them).
func (s *categoryAPI) apiCategories(w http.ResponseWriter, r *http.Request) error {
	all, err := wantInactive(r)
	if err != nil {
		return err
	}
	roots, err := s.Categories.Tree(r.Context(), all)
	if err != nil {
		return err
	}
	out := make([]categoryJSON, 0, len(roots))
	for _, c := range roots {
		out = append(out, toCategoryJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"categories": out})
	return nil
}

// apiCategory answers one category, active or not, with its subtree.
func (s *categoryAPI) apiCategory(w http.ResponseWriter, r *http.Request) error {
	all, err := wantInactive(r)
	if err != nil {
		return err
	}
	c, err := s.Categories.Subtree(r.Context(), r.PathValue("code"), all)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toCategoryJSON(c))
	return nil
}

type categoryRequest struct {
	Code         string            `json:"code"`
	ParentCode   string            `json:"parent_code"`
	Name         string            `json:"name"`
	NameEN       string            `json:"name_en"`
	Kind         category.Kind     `json:"kind"`
	Edition      string            `json:"edition"`
	Workflow     category.Workflow `json:"workflow"`
	Department   string            `json:"department"`
	TimeLimit    string            `json:"time_limit"`
	Urgent       bool              `json:"urgent"`
	AutoDispatch bool              `json:"auto_dispatch"`
	Open311      bool              `json:"open311"`
	Common       int               `json:"common"`
	Sort         int               `json:"sort"`
	Fields       []category.Field  `json:"fields"`
}

func (s *categoryAPI) apiCategoryCreate(w http.ResponseWriter, r *http.Request) error {
	var in categoryRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Categories.Create(r.Context(), actorOf(r), category.Category{
		Code: in.Code, ParentCode: in.ParentCode, Name: in.Name, NameEN: in.NameEN, Kind: in.Kind, Edition: in.Edition,
		Workflow: in.Workflow, Department: in.Department, TimeLimit: in.TimeLimit, Urgent: in.Urgent, AutoDispatch: in.AutoDispatch, Open311: in.Open311,
		Common: in.Common, Sort: in.Sort, Fields: in.Fields,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toCategoryJSON(c))
	return nil
}

// categoryPatch is a PATCH body: absent (or null) members stay unchanged.
type categoryPatch struct {
	Name         *string            `json:"name"`
	NameEN       *string            `json:"name_en"`
	Workflow     *category.Workflow `json:"workflow"`
	Department   *string            `json:"department"`
	TimeLimit    *string            `json:"time_limit"`
	Urgent       *bool              `json:"urgent"`
	AutoDispatch *bool              `json:"auto_dispatch"`
	Open311      *bool              `json:"open311"`
	Common       *int               `json:"common"`
	Sort         *int               `json:"sort"`
	Active       *bool              `json:"active"`
	Fields       *[]category.Field  `json:"fields"`
}

func (s *categoryAPI) apiCategoryUpdate(w http.ResponseWriter, r *http.Request) error {
	var in categoryPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := s.Categories.Update(r.Context(), actorOf(r), r.PathValue("code"), category.Patch{
		Name: in.Name, NameEN: in.NameEN, Workflow: in.Workflow, Department: in.Department, TimeLimit: in.TimeLimit,
		Urgent: in.Urgent, AutoDispatch: in.AutoDispatch, Open311: in.Open311, Common: in.Common, Sort: in.Sort, Active: in.Active, Fields: in.Fields,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toCategoryJSON(c))
	return nil
}

type ruleJSON struct {
	ID           int64     `json:"id"`
	CategoryCode string    `json:"category_code"`
	CategoryName string    `json:"category_name"`
	RegionCode   string    `json:"region_code"`
	RegionName   string    `json:"region_name"`
	Department   string    `json:"department"`
	Priority     int       `json:"priority"`
	CreatedAt    time.Time `json:"created_at"`
}

func toRuleJSON(r *category.Rule) ruleJSON {
	return ruleJSON{ID: r.ID, CategoryCode: r.CategoryCode, CategoryName: r.CategoryName, RegionCode: r.RegionCode,
		RegionName: r.RegionName, Department: r.Department, Priority: r.Priority, CreatedAt: r.CreatedAt}
}

func (s *categoryAPI) apiRoutingRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.Categories.Rules(r.Context())
	if err != nil {
		return err
	}
	out := make([]ruleJSON, 0, len(rules))
	for _, x := range rules {
		out = append(out, toRuleJSON(x))
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
	return nil
}

func (s *categoryAPI) apiRoutingRuleAdd(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		CategoryCode string `json:"category_code"`
		RegionCode   string `json:"region_code"`
		Department   string `json:"department"`
		Priority     int    `json:"priority"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rule, err := s.Categories.AddRule(r.Context(), actorOf(r), category.Rule{
		CategoryCode: in.CategoryCode, RegionCode: in.RegionCode, Department: in.Department, Priority: in.Priority,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toRuleJSON(rule))
	return nil
}

func (s *categoryAPI) apiRoutingRuleDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Categories.DeleteRule(r.Context(), actorOf(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
