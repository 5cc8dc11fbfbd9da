package worldtest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"testing"

	"whistle/internal/casework"
)

// As is the caller name stands for: "" is anonymous, "system" the system,
// any other name a seeded user at 127.0.0.1. An unknown name panics.
func (w *World) As(name string) casework.Caller {
	switch name {
	case "":
		return casework.Caller{}
	case "system":
		return casework.Caller{System: true}
	}
	u, ok := w.Users[name]
	if !ok {
		panic("worldtest: no user " + name)
	}
	return casework.Caller{User: u, IP: "127.0.0.1"}
}

// Submit reports a case as who and fails the test on error.
func (w *World) Submit(tb testing.TB, who string, in casework.SubmitInput) *casework.Case {
	tb.Helper()
	c, _, err := w.Cases.Submit(context.Background(), w.As(who), in)
	if err != nil {
		tb.Fatalf("submit %s by %q: %v", in.Category, who, err)
	}
	return c
}

// Act takes an action on case id as who and fails the test on error.
func (w *World) Act(tb testing.TB, who string, id int64, a casework.Action, in casework.Input) *casework.Case {
	tb.Helper()
	c, err := w.Cases.Act(context.Background(), w.As(who), id, a, in)
	if err != nil {
		tb.Fatalf("%s by %q on %d: %v", a, who, id, err)
	}
	return c
}

// Photo adds a PNG photo of the given kind to case id as who and returns
// its id.
func (w *World) Photo(tb testing.TB, who string, id int64, kind string) int64 {
	tb.Helper()
	p, err := w.Cases.AddPhoto(context.Background(), w.As(who), id, kind, bytes.NewReader(PNG(tb)))
	if err != nil {
		tb.Fatalf("%s photo by %q on %d: %v", kind, who, id, err)
	}
	return p.ID
}

// PNG is a small valid PNG image: 8×8, one red pixel.
func PNG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}
