package open311

import (
	"encoding/json"
	"encoding/xml"
)

// Specification is the endpoint specification named in discovery.
const Specification = "http://wiki.open311.org/GeoReport_v2"

// Discovery is the discovery document.
type Discovery struct {
	XMLName    xml.Name   `xml:"discovery" json:"-"`
	Changeset  string     `xml:"changeset" json:"changeset"`
	Contact    string     `xml:"contact" json:"contact"`
	KeyService string     `xml:"key_service" json:"key_service"`
	Endpoints  []Endpoint `xml:"endpoints>endpoint" json:"endpoints"`
}

// Endpoint is one API offered, in Discovery.
type Endpoint struct {
	Specification string   `xml:"specification" json:"specification"`
	URL           string   `xml:"url" json:"url"`
	Changeset     string   `xml:"changeset" json:"changeset"`
	Type          string   `xml:"type" json:"type"`
	Formats       []string `xml:"formats>format" json:"formats"`
}

// ServiceInfo is a type of request (an Open311 "service"): one category.
type ServiceInfo struct {
	XMLName     xml.Name `xml:"service" json:"-"`
	Code        string   `xml:"service_code" json:"service_code"`
	Name        string   `xml:"service_name" json:"service_name"`
	Description string   `xml:"description" json:"description"`
	Metadata    bool     `xml:"metadata" json:"metadata"`
	Type        string   `xml:"type" json:"type"`
	Keywords    string   `xml:"keywords" json:"keywords"`
	Group       string   `xml:"group" json:"group"`
}

// ServiceDefinition lists a service's attributes (its extra fields).
type ServiceDefinition struct {
	XMLName    xml.Name      `xml:"service_definition" json:"-"`
	Code       string        `xml:"service_code" json:"service_code"`
	Attributes AttributeList `xml:"attributes" json:"attributes"`
}

// AttributeList is a definition's attributes. In XML it is an attributes
// element, present even when empty, with one attribute element each.
type AttributeList []Attribute

// MarshalXML implements xml.Marshaler.
func (l AttributeList) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	for _, a := range l {
		if err := e.EncodeElement(a, xml.StartElement{Name: xml.Name{Local: "attribute"}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// Attribute is one extra field of a service.
type Attribute struct {
	Variable            bool        `xml:"variable" json:"variable"`
	Code                string      `xml:"code" json:"code"`
	Datatype            string      `xml:"datatype" json:"datatype"`
	Required            bool        `xml:"required" json:"required"`
	DatatypeDescription string      `xml:"datatype_description" json:"datatype_description"`
	Order               int         `xml:"order" json:"order"`
	Description         string      `xml:"description" json:"description"`
	Values              []AttrValue `xml:"values>value,omitempty" json:"values,omitempty"`
}

// AttrValue is one choice of a list attribute.
type AttrValue struct {
	Key  string `xml:"key" json:"key"`
	Name string `xml:"name" json:"name"`
}

// Typed is a value of a typed field (a date-time or a URI) that may be
// empty. JSON writes an empty one as null, as the specification's examples
// do: "" is neither a date-time nor a URI, and clients that parse the field
// (and the official JSON schemas, with format checking) reject it. XML
// writes an empty element, as the specification asks.
type Typed string

// MarshalJSON implements json.Marshaler.
func (t Typed) MarshalJSON() ([]byte, error) {
	if t == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(t))
}

// Request is a service request (a public case) as GET requests shows it.
type Request struct {
	XMLName           xml.Name `xml:"request" json:"-"`
	ID                string   `xml:"service_request_id" json:"service_request_id"`
	Status            string   `xml:"status" json:"status"`
	StatusNotes       string   `xml:"status_notes" json:"status_notes"`
	ServiceName       string   `xml:"service_name" json:"service_name"`
	ServiceCode       string   `xml:"service_code" json:"service_code"`
	Description       string   `xml:"description" json:"description"`
	AgencyResponsible string   `xml:"agency_responsible" json:"agency_responsible"`
	ServiceNotice     string   `xml:"service_notice" json:"service_notice"`
	RequestedDatetime Typed    `xml:"requested_datetime" json:"requested_datetime"`
	UpdatedDatetime   Typed    `xml:"updated_datetime" json:"updated_datetime"`
	ExpectedDatetime  Typed    `xml:"expected_datetime" json:"expected_datetime"`
	Address           string   `xml:"address" json:"address"`
	AddressID         string   `xml:"address_id" json:"address_id"`
	Zipcode           string   `xml:"zipcode" json:"zipcode"`
	Lat               float64  `xml:"lat" json:"lat"`
	Long              float64  `xml:"long" json:"long"`
	MediaURL          Typed    `xml:"media_url" json:"media_url"`
}

// Receipt is the answer to POST requests: the new request's id (realtime
// services never answer a token).
type Receipt struct {
	XMLName       xml.Name `xml:"request" json:"-"`
	ID            string   `xml:"service_request_id,omitempty" json:"service_request_id,omitempty"`
	Token         string   `xml:"token,omitempty" json:"token,omitempty"`
	ServiceNotice string   `xml:"service_notice" json:"service_notice"`
	AccountID     string   `xml:"account_id,omitempty" json:"account_id,omitempty"`
}

// TokenAnswer is the answer to GET tokens/{token}.
type TokenAnswer struct {
	XMLName xml.Name `xml:"request" json:"-"`
	Token   string   `xml:"token" json:"token"`
	ID      string   `xml:"service_request_id" json:"service_request_id"`
}

// Update is one public step of a request (servicerequestupdates).
type Update struct {
	XMLName            xml.Name `xml:"request_update" json:"-"`
	ID                 string   `xml:"update_id" json:"update_id"`
	RequestID          string   `xml:"service_request_id" json:"service_request_id"`
	Status             string   `xml:"status" json:"status"`
	UpdatedDatetime    Typed    `xml:"updated_datetime" json:"updated_datetime"`
	Description        string   `xml:"description" json:"description"`
	MediaURL           Typed    `xml:"media_url" json:"media_url"`
	ExternalStatusCode string   `xml:"external_status_code" json:"external_status_code"`
}

// UpdateReceipt is the answer to POST servicerequestupdates.
type UpdateReceipt struct {
	XMLName   xml.Name `xml:"request_update" json:"-"`
	ID        string   `xml:"update_id" json:"update_id"`
	AccountID string   `xml:"account_id,omitempty" json:"account_id,omitempty"`
}

// Error is one entry of an errors document.
type Error struct {
	XMLName     xml.Name `xml:"error" json:"-"`
	Code        int      `xml:"code" json:"code"`
	Description string   `xml:"description" json:"description"`
}
