package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/workflow"
)

// workflowsPage is /admin/workflows: the workflows with their versions,
// one definition shown readably and as a form of what a district edits
// (labels, who may act, required fields, stage limits and assessment),
// and the outcome of a preview (the diff or the validator's problems).
type workflowsPage struct {
	Lang     i18n.Lang
	Names    []workflowName
	Versions []workflow.Version
	Def      *workflow.Definition
	Units    []string
	Roles    []string
	JSON     string
	// Preview is the dry run's outcome; Problems the refusal's messages.
	Preview  *workflow.Uploaded
	Problems []string
	Message  string
	Flash    string
}

// workflowName is one workflow in the list, with its active version.
type workflowName struct {
	Name   string
	Label  workflow.Label
	Active int
}

// L is a label in the page's language.
func (p *workflowsPage) L(l workflow.Label) string {
	if p.Lang == i18n.EN && l.En != "" {
		return l.En
	}
	return l.Zh
}

// Join writes a list for a form field.
func (p *workflowsPage) Join(xs []string) string { return strings.Join(xs, " ") }

// workflowPages serves the administration of the workflow definitions.
type workflowPages struct {
	*view
	Workflows *workflow.Store
}

// pageAdminWorkflows shows the workflows and one definition (?name=, the
// active version or ?version=).
func (s *workflowPages) pageAdminWorkflows(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := s.load(r, q.Get("name"), q.Get("version"))
	if err != nil {
		return err
	}
	if v := q.Get("done"); v != "" {
		p.Flash = s.Catalog.T(p.Lang, "wf.activated", p.Def.Name, v)
	}
	return s.show(w, r, http.StatusOK, p)
}

func (s *workflowPages) show(w http.ResponseWriter, r *http.Request, status int, p *workflowsPage) error {
	if body, err := p.Def.Marshal(); err == nil && p.JSON == "" {
		p.JSON = string(body)
	}
	return s.render(w, r, status, "admin_workflows.html", s.newPage(r, "admin.workflows", p))
}

// load reads the list and the definition named (the first workflow when
// name is empty).
func (s *workflowPages) load(r *http.Request, name, version string) (*workflowsPage, error) {
	ctx := r.Context()
	p := &workflowsPage{Lang: langOf(r), Units: workflow.Units()}
	for _, role := range account.Roles() {
		p.Roles = append(p.Roles, string(role))
	}
	all, err := s.Workflows.List(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if !v.Active {
			continue
		}
		d, err := s.Workflows.Get(ctx, v.Name, v.Version)
		if err != nil {
			return nil, err
		}
		p.Names = append(p.Names, workflowName{Name: v.Name, Label: d.Label, Active: v.Version})
		if name == "" {
			name = v.Name
		}
	}
	for _, v := range all {
		if v.Name == name {
			p.Versions = append(p.Versions, v)
		}
	}
	if version != "" {
		n, err := strconv.Atoi(version)
		if err != nil || n < 1 {
			return nil, errs.E(errs.NotFound, "workflow.not_found", name)
		}
		p.Def, err = s.Workflows.Get(ctx, name, n)
		return p, err
	}
	p.Def, err = s.Workflows.Active(ctx, name)
	return p, err
}

// pageAdminWorkflowUpload previews (do=preview: the diff or the problems,
// nothing stored) or activates (do=activate: stored, audited) a new
// version of a workflow: the active one with the form's edits, or the raw
// JSON of the definition field when source=json.
func (s *workflowPages) pageAdminWorkflowUpload(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	f := r.PostForm
	p, err := s.load(r, r.PathValue("name"), "")
	if err != nil {
		return err
	}
	var body []byte
	if f.Get("source") == "json" {
		p.JSON = f.Get("definition")
		body = []byte(p.JSON)
	} else {
		edited, err := editDefinition(p.Def, f)
		if err != nil {
			return s.refuse(w, r, p, err)
		}
		p.Def = edited
		if body, err = edited.Marshal(); err != nil {
			return err
		}
	}
	up, err := s.Workflows.Upload(r.Context(), actorOf(r), body, f.Get("do") == "activate")
	if err != nil {
		return s.refuse(w, r, p, err)
	}
	if up.Applied {
		return s.redirect(w, r, "/admin/workflows?name="+url.QueryEscape(up.Name)+"&done="+strconv.Itoa(up.Version))
	}
	p.Preview = up
	if f.Get("source") == "json" {
		if d, err := workflow.Parse(body); err == nil {
			p.Def = d
		}
	}
	return s.show(w, r, http.StatusOK, p)
}

// refuse shows the page with the messages of an expected error.
func (s *workflowPages) refuse(w http.ResponseWriter, r *http.Request, p *workflowsPage, err error) error {
	fs := &formState{}
	status, err := s.failForm(r, fs, err)
	if err != nil {
		return err
	}
	p.Message = fs.Message
	for i := 0; ; i++ {
		m, ok := fs.Fields["problems["+strconv.Itoa(i)+"]"]
		if !ok {
			break
		}
		p.Problems = append(p.Problems, m)
		delete(fs.Fields, "problems["+strconv.Itoa(i)+"]")
	}
	for k, m := range fs.Fields {
		p.Problems = append(p.Problems, k+": "+m)
	}
	return s.show(w, r, status, p)
}

// editDefinition applies the form's district edits to a copy of d: state
// and stage labels, each action row's roles and required fields, each
// stage's limit (amount and unit; an empty amount is no limit), warning
// share and assessment. A number that is not one is a field error; the
// rest is the validator's to judge.
func editDefinition(d *workflow.Definition, f url.Values) (*workflow.Definition, error) {
	body, err := d.Marshal()
	if err != nil {
		return nil, err
	}
	out, err := workflow.Parse(body)
	if err != nil {
		return nil, err
	}
	bad := errs.E(errs.Invalid, "error.invalid")
	for i := range out.States {
		st := &out.States[i]
		st.Label.Zh = strings.TrimSpace(f.Get("state." + st.Name + ".zh"))
		st.Label.En = strings.TrimSpace(f.Get("state." + st.Name + ".en"))
	}
	for i := range out.Actions {
		a := &out.Actions[i]
		k := "action." + strconv.Itoa(i)
		a.Roles = strings.Fields(f.Get(k + ".roles"))
		a.Requires = strings.Fields(f.Get(k + ".requires"))
	}
	for i := range out.Stages {
		st := &out.Stages[i]
		k := "stage." + st.Name
		st.Label.Zh = strings.TrimSpace(f.Get(k + ".zh"))
		st.Label.En = strings.TrimSpace(f.Get(k + ".en"))
		st.Assessed = f.Get(k+".assessed") == "1"
		st.UseCategory = f.Get(k+".use_category") == "1"
		st.Limit = nil
		if v := strings.TrimSpace(f.Get(k + ".amount")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad.Field(k+".amount", "field.number")
			}
			st.Limit = &workflow.Limit{Amount: n, Unit: f.Get(k + ".unit")}
		}
		st.WarnPercent = 0
		if v := strings.TrimSpace(f.Get(k + ".warn")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad.Field(k+".warn", "field.number")
			}
			st.WarnPercent = n
		}
	}
	if len(bad.Fields) > 0 {
		return nil, bad
	}
	return out, nil
}
