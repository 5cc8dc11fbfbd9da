package device

import "strconv"

// fastItem decodes the common shape of a telemetry item without
// reflection: an object of "device" (a positive integer), "ts" (a plain
// string) and "values" (an object of numbers, booleans and plain
// strings), each key at most once, in plain ASCII without escapes. For
// anything else it answers false and DecodeItems decodes the item with
// encoding/json, so the result is always what encoding/json gives.
func fastItem(b []byte) (Item, bool) {
	var it Item
	p := fastParser{b: b}
	if !p.byte('{') {
		return it, false
	}
	var seenDevice, seenTS, seenValues bool
	for {
		key, ok := p.plainString()
		if !ok || !p.byte(':') {
			return it, false
		}
		switch key {
		case "device":
			if seenDevice {
				return it, false
			}
			seenDevice = true
			if it.Device, ok = p.positiveInt(); !ok {
				return it, false
			}
		case "ts":
			if seenTS {
				return it, false
			}
			seenTS = true
			if it.TS, ok = p.plainString(); !ok {
				return it, false
			}
		case "values":
			if seenValues {
				return it, false
			}
			seenValues = true
			if it.Values, ok = p.values(); !ok {
				return it, false
			}
		default:
			return it, false
		}
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if !p.byte('}') {
			return it, false
		}
		p.ws()
		return it, p.i == len(p.b)
	}
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// byte skips white space and then c.
func (p *fastParser) byte(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// plainString reads a string of printable ASCII without escapes.
func (p *fastParser) plainString() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
		p.i++
	}
	return "", false
}

// positiveInt reads a JSON integer without sign, exponent or fraction
// that fits an int64.
func (p *fastParser) positiveInt() (int64, bool) {
	p.ws()
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == start || p.b[start] == '0' && p.i-start > 1 || p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	return n, err == nil
}

// number reads a JSON number as encoding/json decodes it into an any.
func (p *fastParser) number() (float64, bool) {
	p.ws()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if n := digits(); n == 0 || p.b[intStart] == '0' && n > 1 {
		return 0, false
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return 0, false
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	return f, err == nil
}

// literal reads word (true or false) when it is next.
func (p *fastParser) literal(word string) bool {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return true
	}
	return false
}

// values reads the values object.
func (p *fastParser) values() (map[string]any, bool) {
	if !p.byte('{') {
		return nil, false
	}
	m := make(map[string]any, 4)
	if p.byte('}') {
		return m, true
	}
	for {
		k, ok := p.plainString()
		if !ok || !p.byte(':') {
			return nil, false
		}
		p.ws()
		if p.i >= len(p.b) {
			return nil, false
		}
		switch c := p.b[p.i]; {
		case c == '"':
			s, ok := p.plainString()
			if !ok {
				return nil, false
			}
			m[k] = s
		case c == 't' && p.literal("true"):
			m[k] = true
		case c == 'f' && p.literal("false"):
			m[k] = false
		case c == '-' || c >= '0' && c <= '9':
			f, ok := p.number()
			if !ok {
				return nil, false
			}
			m[k] = f
		default:
			return nil, false
		}
		if p.byte(',') {
			continue
		}
		if p.byte('}') {
			return m, true
		}
		return nil, false
	}
}
