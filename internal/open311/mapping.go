package open311

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/i18n"
)

// ServiceType is the type of every Whistle service: POST answers the
// service_request_id at once.
const ServiceType = "realtime"

// Catalog is the Open311 view of the category catalogue: the categories
// offered as services, with their ancestors for names and groups.
type Catalog struct {
	offered   []*category.Category
	byCode    map[string]*category.Category
	ancestors map[string][]*category.Category // root first
	changed   time.Time
}

// NewCatalog indexes the services among every category, active or not, as
// category.Store.List returns them. A category is offered when its Open311
// flag is set and it and all its ancestors are active. The changeset covers
// every category, so that deactivating one changes it too.
func NewCatalog(all []*category.Category) *Catalog {
	c := &Catalog{byCode: map[string]*category.Category{}, ancestors: map[string][]*category.Category{}}
	byCode := make(map[string]*category.Category, len(all))
	for _, cat := range all {
		byCode[cat.Code] = cat
		if cat.UpdatedAt.After(c.changed) {
			c.changed = cat.UpdatedAt
		}
	}
	for _, cat := range all {
		if !cat.Open311 || !cat.Active {
			continue
		}
		var anc []*category.Category
		ok := true
		for p := cat.ParentCode; p != "" && len(anc) <= len(all); {
			a, found := byCode[p]
			if !found || !a.Active {
				ok = false
				break
			}
			anc = append([]*category.Category{a}, anc...)
			p = a.ParentCode
		}
		if !ok {
			continue
		}
		c.offered = append(c.offered, cat)
		c.byCode[cat.Code] = cat
		c.ancestors[cat.Code] = anc
	}
	slices.SortStableFunc(c.offered, func(a, b *category.Category) int { return strings.Compare(a.Code, b.Code) })
	return c
}

// Lookup returns an offered service's category.
func (c *Catalog) Lookup(code string) (*category.Category, bool) {
	cat, ok := c.byCode[code]
	return cat, ok
}

// Changeset is a sortable stamp of the last change to any category, so
// that clients refresh cached services and definitions.
func (c *Catalog) Changeset() string {
	if c.changed.IsZero() {
		return "0"
	}
	return c.changed.UTC().Format(time.RFC3339Nano)
}

// Name is a category's name in lang (the Chinese name when it has no
// English one).
func Name(cat *category.Category, lang i18n.Lang) string {
	if lang == i18n.EN && cat.NameEN != "" {
		return cat.NameEN
	}
	return cat.Name
}

func otherName(cat *category.Category, lang i18n.Lang) string {
	if lang == i18n.EN {
		return cat.Name
	}
	return cat.NameEN
}

// ServiceName is the name of service code in lang, or fallback when the
// category is no longer offered.
func (c *Catalog) ServiceName(code, fallback string, lang i18n.Lang) string {
	if lang == i18n.ZH && fallback != "" {
		return fallback // the name the case was filed under
	}
	if cat, ok := c.byCode[code]; ok {
		return Name(cat, lang)
	}
	return fallback
}

// Services lists the offered services in lang.
func (c *Catalog) Services(lang i18n.Lang) []ServiceInfo {
	out := make([]ServiceInfo, 0, len(c.offered))
	for _, cat := range c.offered {
		anc := c.ancestors[cat.Code]
		var path, keywords []string
		for _, a := range anc {
			path = append(path, Name(a, lang))
		}
		path = append(path, Name(cat, lang))
		if o := otherName(cat, lang); o != "" && o != Name(cat, lang) {
			keywords = append(keywords, o)
		}
		for i := len(anc) - 1; i >= 0; i-- {
			keywords = append(keywords, Name(anc[i], lang))
		}
		for i, k := range keywords {
			keywords[i] = strings.ReplaceAll(k, ",", " ")
		}
		s := ServiceInfo{Code: cat.Code, Name: Name(cat, lang), Description: strings.Join(path, " › "), Metadata: len(cat.Fields) > 0,
			Type: ServiceType, Keywords: strings.Join(keywords, ",")}
		if len(anc) > 0 {
			s.Group = Name(anc[len(anc)-1], lang)
		}
		out = append(out, s)
	}
	return out
}

// Definition is the definition of an offered service: its extra fields as
// attributes, in display order, numbered from 1. Hints come from tr, in
// lang.
func (c *Catalog) Definition(code string, tr *i18n.Catalog, lang i18n.Lang) (ServiceDefinition, bool) {
	cat, ok := c.byCode[code]
	if !ok {
		return ServiceDefinition{}, false
	}
	fields := slices.Clone(cat.Fields)
	slices.SortStableFunc(fields, func(a, b category.Field) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Key, b.Key)
	})
	d := ServiceDefinition{Code: cat.Code, Attributes: make(AttributeList, 0, len(fields))}
	for i, f := range fields {
		a := Attribute{Variable: true, Code: f.Key, Datatype: string(f.Datatype), Required: f.Required, Order: i + 1, Description: f.Label}
		if f.Datatype.IsList() {
			a.DatatypeDescription = tr.T(lang, "open311.datatype."+string(f.Datatype), f.Key)
		} else {
			a.DatatypeDescription = tr.T(lang, "open311.datatype."+string(f.Datatype))
		}
		if lang == i18n.EN && f.LabelEN != "" {
			a.Description = f.LabelEN
		}
		for _, v := range f.Values {
			name := v.Name
			if lang == i18n.EN && v.NameEN != "" {
				name = v.NameEN
			}
			a.Values = append(a.Values, AttrValue{Key: v.Key, Name: name})
		}
		d.Attributes = append(d.Attributes, a)
	}
	return d, true
}

// RequestInfo is what a request document needs besides the case and its
// public timeline.
type RequestInfo struct {
	ServiceName string
	// Agency is the handling department's name, or the community's.
	Agency string
	// MediaURL is the absolute URL of the first public photo, if any.
	MediaURL string
}

// NewRequest maps a public case to a request. public is the case's public
// timeline, oldest first. Nothing about the reporter is copied.
func NewRequest(c *casework.Case, public []casework.Event, info RequestInfo) Request {
	updated := c.UpdatedAt
	if !c.IsOpen() && !c.ClosedAt.IsZero() {
		updated = c.ClosedAt
	}
	return Request{ID: c.Number, Status: Status(c.Status), StatusNotes: StatusNotes(public), ServiceName: info.ServiceName,
		ServiceCode: c.CategoryCode, Description: c.Description, AgencyResponsible: info.Agency,
		RequestedDatetime: Typed(FormatTime(c.CreatedAt)), UpdatedDatetime: Typed(FormatTime(updated)), ExpectedDatetime: Typed(FormatTime(c.DeadlineAt)),
		Address: c.Address, AddressID: c.GridCode, Lat: c.Lat, Long: c.Lng, MediaURL: Typed(info.MediaURL)}
}

// publicNote is the text of a public step that Open311 may show: its note,
// except the resident's rating comment, which public views never carry.
func publicNote(a casework.Action, note string) string {
	if a == casework.ActRate {
		return ""
	}
	return note
}

// StatusNotes is the latest note among the public steps.
func StatusNotes(public []casework.Event) string {
	for i := len(public) - 1; i >= 0; i-- {
		if n := publicNote(public[i].Action, public[i].Note); n != "" {
			return n
		}
	}
	return ""
}

// FirstPhoto returns the first photo of the public timeline.
func FirstPhoto(public []casework.Event) (casework.Photo, bool) {
	for _, e := range public {
		if len(e.Photos) > 0 {
			return e.Photos[0], true
		}
	}
	return casework.Photo{}, false
}

// NewUpdate maps a public step to an update; mediaURL is the absolute URL
// of the step's first photo, if any.
func NewUpdate(e casework.PublicEvent, mediaURL string) Update {
	return Update{ID: strconv.FormatInt(e.ID, 10), RequestID: e.CaseNumber, Status: ExtendedStatus(e.Action, e.Status),
		UpdatedDatetime: Typed(FormatTime(e.At)), Description: publicNote(e.Action, e.Note), MediaURL: Typed(mediaURL), ExternalStatusCode: string(e.Status)}
}
