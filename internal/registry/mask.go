package registry

import (
	"strings"
	"unicode/utf8"
)

// MaskName keeps the first character of a name: 张三 → 张*, 欧阳娜娜 → 欧***.
func MaskName(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return ""
	}
	return string(r) + strings.Repeat("*", utf8.RuneCountInString(s[size:]))
}

// MaskIDNumber keeps the first 4 and last 4 characters of an identity
// number: 330303199001011234 → 3303**********1234.
func MaskIDNumber(s string) string {
	if len(s) <= 8 {
		return strings.Repeat("*", len(s))
	}
	return s[:4] + strings.Repeat("*", len(s)-8) + s[len(s)-4:]
}

// MaskPhone keeps the first 3 and last 4 digits: 13812345678 → 138****5678.
func MaskPhone(s string) string {
	if len(s) < 7 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-7) + s[len(s)-4:]
}

// MaskAddress keeps the first 6 characters of an address (the street,
// usually) and hides the rest: the house number is personal.
func MaskAddress(s string) string {
	n := 0
	for i := range s {
		if n == 6 {
			return s[:i] + "****"
		}
		n++
	}
	return s
}

// mask hides the person's personal data in place.
func (p *Person) mask() {
	p.IDNumber = MaskIDNumber(p.IDNumber)
	p.Name = MaskName(p.Name)
	p.Phone = MaskPhone(p.Phone)
	p.HukouAddress = MaskAddress(p.HukouAddress)
	p.ResidenceAddress = MaskAddress(p.ResidenceAddress)
	p.BirthDate = maskDate(p.BirthDate)
	p.Masked = true
}

// maskDate keeps the year of a date: 1990-01-01 → 1990-**-**.
func maskDate(s string) string {
	if len(s) != 10 {
		return s
	}
	return s[:4] + "-**-**"
}

// mask hides an organisation's contact person and phone.
func (o *Organisation) mask() {
	o.ContactName = MaskName(o.ContactName)
	o.ContactPhone = MaskPhone(o.ContactPhone)
	o.Masked = true
}

// personalFields are the person columns whose values history masks.
var personalMask = map[string]func(string) string{
	"id_number":         MaskIDNumber,
	"name":              MaskName,
	"phone":             MaskPhone,
	"hukou_address":     MaskAddress,
	"residence_address": MaskAddress,
	"birth_date":        maskDate,
	"contact_name":      MaskName,
	"contact_phone":     MaskPhone,
}
