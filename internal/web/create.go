package web

import "net/http"

// createWith is the shape of a handler that creates one thing: the
// feature's service (503 when the server runs without it), the JSON body
// decoded into In, create, and 201 with what create returned, committed. Any
// error goes to the one error mapper.
func createWith[S, In, Out any](w http.ResponseWriter, r *http.Request, svc func() (S, error), create func(S, In) (Out, error)) error {
	s, err := svc()
	if err != nil {
		return err
	}
	var in In
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	out, err := create(s, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}
