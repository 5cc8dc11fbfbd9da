package open311

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
)

// Format is a response format, chosen by the path's extension.
type Format string

// The formats.
const (
	JSON Format = "json"
	XML  Format = "xml"
)

// ContentType is the MIME type of f with its charset.
func (f Format) ContentType() string {
	if f == XML {
		return "text/xml; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// SplitFormat splits a path segment such as "services.xml" into its name
// and format. ok is false when the segment has no .json or .xml extension;
// then name is the whole segment and the format is JSON.
func SplitFormat(segment string) (name string, f Format, ok bool) {
	switch {
	case strings.HasSuffix(segment, ".json"):
		return strings.TrimSuffix(segment, ".json"), JSON, true
	case strings.HasSuffix(segment, ".xml"):
		return strings.TrimSuffix(segment, ".xml"), XML, true
	}
	return segment, JSON, false
}

// Item is an element of a list document: its XML form names its own
// element with an XMLName field.
type Item interface {
	ServiceInfo | Request | Receipt | TokenAnswer | Update | UpdateReceipt | Error
}

// Root elements of the list documents.
const (
	RootServices       = "services"
	RootRequests       = "service_requests"
	RootUpdates        = "service_request_updates"
	RootErrors         = "errors"
	xmlDeclarationLine = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
)

// WriteList writes a list document: in XML, the root element wrapping one
// element per item; in JSON, a bare array (empty, not null, when there are
// no items).
func WriteList[T Item](w io.Writer, f Format, root string, items []T) error {
	if f != XML {
		if items == nil {
			items = []T{}
		}
		return writeJSON(w, items)
	}
	if _, err := io.WriteString(w, xmlDeclarationLine); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: root}}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	for i := range items {
		if err := enc.Encode(items[i]); err != nil {
			return err
		}
	}
	if err := enc.EncodeToken(start.End()); err != nil {
		return err
	}
	return enc.Close()
}

// WriteObject writes an object document (Discovery, ServiceDefinition):
// its XML root comes from its XMLName field; its JSON form is the object.
func WriteObject(w io.Writer, f Format, v any) error {
	if f != XML {
		return writeJSON(w, v)
	}
	if _, err := io.WriteString(w, xmlDeclarationLine); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return enc.Close()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
