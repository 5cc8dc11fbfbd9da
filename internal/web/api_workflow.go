package web

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"whistle/internal/errs"
	"whistle/internal/workflow"
)

// workflowSummary is one workflow in GET /api/v1/workflows: its active
// version, in the shape the endpoint always had (states, initial,
// terminal, transitions) plus its name, kind, label and version.
type workflowSummary struct {
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Label       workflow.Label    `json:"label"`
	Version     int               `json:"version"`
	Initial     string            `json:"initial"`
	States      []string          `json:"states"`
	Terminal    []string          `json:"terminal"`
	Transitions []workflow.Action `json:"transitions"`
}

// workflowAPI serves the workflow definitions and their upload.
type workflowAPI struct {
	*view
	Workflows *workflow.Store
}

// apiWorkflows lists the workflows with their active versions, as data.
func (s *workflowAPI) apiWorkflows(w http.ResponseWriter, r *http.Request) error {
	versions, err := s.Workflows.List(r.Context(), "")
	if err != nil {
		return err
	}
	out := map[string]workflowSummary{}
	for _, v := range versions {
		if !v.Active {
			continue
		}
		d, err := s.Workflows.Get(r.Context(), v.Name, v.Version)
		if err != nil {
			return err
		}
		sum := workflowSummary{Name: d.Name, Kind: d.Kind, Label: d.Label, Version: d.Version, Initial: d.Initial,
			Terminal: d.TerminalStates(), Transitions: d.Actions}
		for _, st := range d.States {
			sum.States = append(sum.States, st.Name)
		}
		out[d.Name] = sum
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// apiWorkflow returns a workflow's versions (with the diff of each) and
// its active definition, or the one ?version= names.
func (s *workflowAPI) apiWorkflow(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	versions, err := s.Workflows.List(r.Context(), name)
	if err != nil {
		return err
	}
	if len(versions) == 0 {
		return errs.E(errs.NotFound, "workflow.not_found", name)
	}
	var d *workflow.Definition
	if q := r.URL.Query().Get("version"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			return errs.E(errs.Invalid, "error.invalid").Field("version", "field.number")
		}
		d, err = s.Workflows.Get(r.Context(), name, n)
		if err != nil {
			return err
		}
	} else if d, err = s.Workflows.Active(r.Context(), name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "versions": versions, "definition": d})
	return nil
}

// apiWorkflowUpload takes a new version of a workflow as the JSON body.
// With ?dry_run=1 it answers 200 with the diff against the active version
// and changes nothing; otherwise it stores and activates the version
// (201, audited). An invalid definition is 422 with a message per problem.
func (s *workflowAPI) apiWorkflowUpload(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errs.E(errs.Invalid, "error.bad_json", "Content-Type "+ct)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	dry := r.URL.Query().Get("dry_run")
	apply := dry == "" || dry == "0" || dry == "false"
	up, err := s.Workflows.Upload(r.Context(), actorOf(r), body, apply)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if up.Applied {
		status = http.StatusCreated
	}
	writeJSON(w, status, up)
	return nil
}
