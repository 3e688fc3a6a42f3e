package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ocnumbers/ocnumbers/internal/ascii"
	"github.com/ocnumbers/ocnumbers/removal"
)

// readNumbers checks the request's content type and size and decodes its
// telephoneNumbers while the body arrives. On failure it has answered (415,
// 413 or 400) and reports false.
//
// Nothing is sized from Content-Length: an announced length over the limit
// is refused before reading, and the body is read through a small window.
// Whatever the decoder decides, the rest of the body is then read (up to the
// limit) and dropped, so that the size and read errors come before the JSON
// ones, as if the body had been read first, and so that a client still
// sending gets the answer instead of a reset connection.
func (h *Handler) readNumbers(ex *exchange, r *http.Request) ([]string, bool) {
	if detail := checkContentType(r.Header); detail != "" {
		writeProblem(ex, newProblem(ex, CodeUnsupportedMediaType, detail))
		return nil, false
	}
	limit := h.cfg.maxBody
	tooLarge := func() ([]string, bool) {
		writeProblem(ex, newProblem(ex, CodeRequestTooLarge,
			"The request body is larger than "+strconv.FormatInt(limit, 10)+" bytes."))
		return nil, false
	}
	if r.ContentLength > limit {
		return tooLarge()
	}
	b := &body{r: http.NoBody}
	if r.Body != nil {
		// The server's own writer, not ex: MaxBytesReader then tells the
		// server to close the connection instead of draining an oversized
		// body.
		b.r = http.MaxBytesReader(ex.ResponseWriter, r.Body, limit)
	}
	numbers, err := decodeNumbers(b)
	if b.err == nil {
		io.Copy(io.Discard, b)
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(b.err, &mbe):
		return tooLarge()
	case b.err != io.EOF:
		writeProblem(ex, newProblem(ex, CodeInvalidRequestBody, "The request body could not be read completely."))
		return nil, false
	case err == errTooMany:
		writeProblem(ex, validationProblem(ex, &removal.ValidationError{Problems: []removal.Problem{{
			Field: "telephoneNumbers", Index: -1, Value: strconv.Itoa(removal.MaxBatchSize + 1), Code: removal.CodeBatchSizeOutOfRange,
			Message: "telephoneNumbers holds more than " + strconv.Itoa(removal.MaxBatchSize) +
				" numbers; it must hold between 1 and " + strconv.Itoa(removal.MaxBatchSize),
		}}}))
		return nil, false
	case err != nil:
		writeProblem(ex, newProblem(ex, CodeInvalidRequestBody, err.Error()))
		return nil, false
	}
	return numbers, true
}

// body records the first error of its reader (io.EOF once the body is read
// completely), so that a decoding error can be told apart from a body that
// is too large or could not be read.
type body struct {
	r   io.Reader
	err error
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if err != nil {
		b.err = err
	}
	return n, err
}

// checkContentType returns why the request's media type or content coding is
// unacceptable, or "". Accepted: application/json or any type whose subtype
// ends in "+json", with any parameters but a charset other than UTF-8 (RFC
// 8259 section 8.1), and no Content-Encoding other than identity.
func checkContentType(h http.Header) string {
	for _, ce := range h.Values("Content-Encoding") {
		if !ascii.EqualFold(strings.TrimSpace(ce), "identity") {
			return "Content-Encoding " + quote(ce) + " is not supported; send the body unencoded."
		}
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		return "The request has no Content-Type; send application/json."
	}
	// A media type is ASCII; mime.ParseMediaType would lower-case a Unicode
	// look-alike (the Kelvin sign to "k") and accept it.
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !isASCII(ct) {
		return "Content-Type " + quote(ct) + " cannot be parsed; send application/json."
	}
	if mt != "application/json" && !(strings.HasSuffix(mt, "+json") && strings.IndexByte(mt, '/')+1 < len(mt)-len("+json")) {
		return "Content-Type " + quote(mt) + " is not supported; send application/json."
	}
	if cs, ok := params["charset"]; ok && !ascii.EqualFold(cs, "utf-8") {
		return "charset " + quote(cs) + " is not supported; JSON must be UTF-8."
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// errTooMany reports a telephoneNumbers array with more than
// removal.MaxBatchSize elements; decoding stopped at the one past it.
var errTooMany = errors.New("httpapi: more than MaxBatchSize numbers")

// decodeNumbers reads {"telephoneNumbers": [...]} from src as it arrives. It
// returns nil numbers (which the service reports as NullRequestBody) for an
// empty body (or one of white space only), null, an object without the key,
// or the key with null. It fails, as InvalidRequestBody, on malformed or
// truncated JSON, a value that is not an object, telephoneNumbers that is
// not an array of strings (a null element is ""), data after the value, and
// the key given twice; the key matches case-insensitively in ASCII only
// (ascii.EqualFold), and other members are ignored. It stops with
// errTooMany at the element after the MaxBatchSize-th, without reading it.
//
// The form nearly every client sends (one object holding only
// telephoneNumbers, an array of printable-ASCII strings without escapes) is
// decoded in one pass by fastDecoder; anything else is handed, from where
// that pass stopped, to slowNumbers on encoding/json. Where both decide,
// they agree (FuzzDecodeRequest checks it).
func decodeNumbers(src io.Reader) ([]string, error) {
	d := decoders.Get().(*fastDecoder)
	defer d.release()
	d.src = src
	numbers, ok, err := d.decode()
	if ok {
		return numbers, err
	}
	if d.space {
		// The body starts with white space that JSON does not allow: it is
		// "empty" if it holds nothing else (as bytes.TrimSpace sees it),
		// else malformed at that first character.
		if d.allSpace() {
			return nil, nil
		}
		return slowNumbers(bytes.NewReader(d.first))
	}
	return slowNumbers(io.MultiReader(bytes.NewReader(d.replayed()), bytes.NewReader(d.win[d.tok:d.w]), src))
}

// windowSize is the read window of fastDecoder: bodies arrive through it,
// and only the numbers are kept.
const windowSize = 4 << 10

var decoders = sync.Pool{New: func() any { return &fastDecoder{win: make([]byte, windowSize)} }}

// fastDecoder is the one-pass decoder of decodeNumbers. It keeps the
// numbers' bytes in arena and, when it gives up, enough of what it read to
// hand the rest of the body to encoding/json (replayed).
type fastDecoder struct {
	src   io.Reader
	win   []byte // the read window: win[r:w] is read, not yet consumed
	r, w  int
	tok   int // start in win of the token being read; win[tok:w] is kept across reads
	arena []byte
	ends  []int // number i is arena[ends[i-1]:ends[i]]
	state int   // what has been consumed, for replayed
	comma bool  // a comma after the last number was consumed
	inStr bool  // a number is being read: arena[last end:] is its start

	space bool   // the body starts with white space JSON does not allow
	first []byte // its first character
}

// Consumed, in order.
const (
	stStart = iota
	stObject
	stKey
	stColon
	stArray
	stArrayEnd
	stEnd
)

func (d *fastDecoder) release() {
	d.src = nil
	d.r, d.w, d.tok = 0, 0, 0
	if cap(d.arena) > 64<<10 { // keep rare large ones out of the pool
		d.arena = nil
	}
	d.arena, d.ends = d.arena[:0], d.ends[:0]
	d.state, d.comma, d.inStr, d.space, d.first = stStart, false, false, false, d.first[:0]
	decoders.Put(d)
}

// fill reads more of the body, keeping win[tok:w]; false at its end (or a
// read error, which the caller's body records).
func (d *fastDecoder) fill() bool {
	if d.tok > 0 {
		n := copy(d.win, d.win[d.tok:d.w])
		d.r -= d.tok
		d.w, d.tok = n, 0
	}
	if d.w == len(d.win) { // not reached: tokens kept across reads are short
		d.win = append(d.win, make([]byte, len(d.win))...)
	}
	for {
		n, err := d.src.Read(d.win[d.w:])
		d.w += n
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// peek skips JSON white space and returns the next byte, which becomes the
// token's start; ok is false at the end of the body.
func (d *fastDecoder) peek() (c byte, ok bool) {
	for {
		win, r := d.win[:d.w], d.r
		for ; r < len(win); r++ {
			if c := win[r]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				d.r, d.tok = r, r
				return c, true
			}
		}
		d.r, d.tok = r, r
		if !d.fill() {
			return 0, false
		}
	}
}

// lit consumes t, the next token.
func (d *fastDecoder) lit(t string) bool {
	if c, ok := d.peek(); !ok || c != t[0] {
		return false
	}
	for d.w-d.r < len(t) {
		if !d.fill() {
			return false
		}
	}
	if string(d.win[d.r:d.r+len(t)]) != t {
		return false
	}
	d.r += len(t)
	return true
}

// str consumes a string of printable ASCII without escapes, the next token
// (its opening quote peeked), appending it to arena. On failure arena ends
// with the part read (inStr is still set, for replayed).
func (d *fastDecoder) str(arena []byte) ([]byte, bool) {
	d.r++
	d.inStr = true
	for {
		win, start := d.win[:d.w], d.r
		for i := start; i < len(win); i++ {
			switch strClass[win[i]] {
			case strQuote:
				d.inStr = false
				d.r = i + 1
				return append(arena, win[start:i]...), true
			case strOther:
				d.r, d.tok = i, i
				return append(arena, win[start:i]...), false
			}
		}
		arena = append(arena, win[start:]...)
		d.r, d.tok = len(win), len(win)
		if !d.fill() {
			return arena, false
		}
	}
}

// strClass sorts the bytes of a string for str: printable ASCII but the
// quote and the backslash is strPlain.
var strClass = func() (t [256]uint8) {
	for c := range t {
		if c < 0x20 || c > 0x7e || c == '\\' {
			t[c] = strOther
		}
	}
	t['"'] = strQuote
	return t
}()

const (
	strPlain = iota
	strQuote
	strOther // an escape, a control or a non-ASCII byte: left to slowNumbers
)

// What array found.
const (
	arrayGaveUp  = iota
	arrayEnd     // the closing bracket is next
	arrayTooMany // a comma after the MaxBatchSize-th element is next
)

// array consumes the elements of telephoneNumbers, its opening bracket
// consumed. The arena and the ends live in locals meanwhile: a store to one
// of d's slices costs a write barrier while the GC runs, and there would be
// two per number.
func (d *fastDecoder) array() int {
	arena, ends := d.arena, d.ends
	res := arrayGaveUp
	c, more := d.peek()
	for more {
		if c == ']' && !d.comma { // after '[' or an element
			res = arrayEnd
			break
		}
		var ok bool
		if c != '"' {
			break
		}
		if arena, ok = d.str(arena); !ok {
			break
		}
		ends = append(ends, len(arena))
		d.comma = false
		if c, more = d.peek(); !more || c == ']' {
			continue
		}
		if c != ',' {
			break
		}
		if len(ends) == removal.MaxBatchSize {
			res = arrayTooMany // as slowNumbers: a comma after the last allowed element
			break
		}
		d.r++
		d.comma = true
		c, more = d.peek()
	}
	d.arena, d.ends = arena, ends
	return res
}

// decode runs the one pass. ok is false when it gave up: the body is not in
// its form, or may not be.
func (d *fastDecoder) decode() (numbers []string, ok bool, err error) {
	c, more := d.peek()
	switch {
	case !more:
		return nil, true, nil // empty, or JSON white space only
	case c == '\v' || c == '\f' || c >= 0xC2:
		d.space = true
		d.first = append(d.first, d.win[d.r:min(d.r+utf8.UTFMax, d.w)]...)
		return nil, false, nil
	}
	if !d.lit("{") {
		return nil, false, nil
	}
	d.state = stObject
	if !d.lit(`"telephoneNumbers"`) {
		return nil, false, nil
	}
	d.state = stKey
	if !d.lit(":") {
		return nil, false, nil
	}
	d.state = stColon
	if !d.lit("[") {
		return nil, false, nil
	}
	d.state = stArray
	switch d.array() {
	case arrayGaveUp:
		return nil, false, nil
	case arrayTooMany:
		return nil, true, errTooMany
	}
	d.r++
	d.state = stArrayEnd
	if !d.lit("}") {
		return nil, false, nil
	}
	d.state = stEnd
	if _, more = d.peek(); more {
		return nil, false, nil // data after the value
	}
	s := string(d.arena) // one copy; the numbers are substrings of it
	numbers = make([]string, len(d.ends))
	prev := 0
	for i, e := range d.ends {
		numbers[i], prev = s[prev:e], e
	}
	return numbers, true, nil
}

// replayed is JSON equivalent to what the one pass consumed: read before
// win[tok:w] and the rest of the body, it gives encoding/json the whole
// body, less white space between tokens.
func (d *fastDecoder) replayed() []byte {
	var b []byte
	if d.state >= stObject {
		b = append(b, '{')
	}
	if d.state >= stKey {
		b = append(b, `"telephoneNumbers"`...)
	}
	if d.state >= stColon {
		b = append(b, ':')
	}
	if d.state >= stArray {
		b = append(b, '[')
		prev := 0
		for i, e := range d.ends {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, d.arena[prev:e]...)
			b = append(b, '"')
			prev = e
		}
		if d.comma {
			b = append(b, ',')
		}
		if d.inStr {
			b = append(b, '"')
			b = append(b, d.arena[prev:]...)
		}
	}
	if d.state >= stArrayEnd {
		b = append(b, ']')
	}
	if d.state >= stEnd {
		b = append(b, '}')
	}
	return b
}

// allSpace reads the rest of a body that starts with white space JSON does
// not allow, and reports whether all of it is white space as unicode.IsSpace
// sees it.
func (d *fastDecoder) allSpace() bool {
	for {
		for d.r < d.w {
			if !utf8.FullRune(d.win[d.r:d.w]) {
				break
			}
			c, size := utf8.DecodeRune(d.win[d.r:d.w])
			if c == utf8.RuneError && size <= 1 || !unicode.IsSpace(c) {
				return false
			}
			d.r += size
		}
		d.tok = d.r
		if !d.fill() {
			return d.r == d.w // a cut-off character is not space
		}
	}
}

// slowNumbers is decodeNumbers on encoding/json, for any input.
func slowNumbers(r io.Reader) ([]string, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok, err := dec.Token()
	switch {
	case err == io.EOF:
		return nil, nil // empty, or white space only
	case err != nil:
		return nil, jsonError(err)
	case tok == nil: // null
		return nil, end(dec)
	case tok != json.Delim('{'):
		if d, ok := tok.(json.Delim); ok && d == '[' {
			return nil, errors.New("The request body must be a JSON object, not an array.")
		}
		return nil, errors.New("The request body must be a JSON object with a telephoneNumbers array.")
	}
	var numbers []string
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		key, _ := tok.(string) // the decoder only yields strings as keys
		if !ascii.EqualFold(key, "telephoneNumbers") {
			// Decode, not Token: it enforces encoding/json's nesting limit.
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, jsonError(err)
			}
			continue
		}
		if seen {
			// Which list did the client mean? Taking the last, as
			// encoding/json would, could act on numbers a proxy never saw.
			return nil, errors.New("The request body has the telephoneNumbers member more than once.")
		}
		seen = true
		if numbers, err = slowArray(dec); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonError(err)
	}
	return numbers, end(dec)
}

// slowArray decodes the value of telephoneNumbers, element by element, up to
// errTooMany.
func slowArray(dec *json.Decoder) ([]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	switch tok {
	case nil:
		return nil, nil
	case json.Delim('['):
	default:
		return nil, errors.New("telephoneNumbers must be an array of strings, not " + jsonKind(tok) + ".")
	}
	numbers := make([]string, 0, 16)
	for dec.More() {
		if len(numbers) == removal.MaxBatchSize {
			return nil, errTooMany
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		switch v := tok.(type) {
		case string:
			numbers = append(numbers, v)
		case nil:
			numbers = append(numbers, "")
		default:
			return nil, errors.New("telephoneNumbers must be an array of strings; telephoneNumbers[" +
				strconv.Itoa(len(numbers)) + "] is " + jsonKind(tok) + ".")
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, jsonError(err)
	}
	return numbers, nil
}

// jsonKind names the kind of a JSON token.
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	}
	return "null"
}

// end checks that nothing but white space follows the JSON value.
func end(dec *json.Decoder) error {
	switch _, err := dec.Token(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return jsonError(err)
	}
	return errors.New("The request body has data after the JSON value.")
}

// jsonError words a decoding error for the client. (The offsets of
// encoding/json's syntax errors are not those of the body when its Decoder
// reads token by token, so none is given.)
func jsonError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return errors.New("The request body is not valid JSON: " + se.Error() + ".")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("The request body is truncated JSON.")
	}
	return errors.New("The request body is not valid JSON.")
}

// tenantParam reads msTenantId from a raw query. The name matches
// case-insensitively in ASCII only (ascii.EqualFold); absent or empty means
// all tenants (""). Given more than once, or not decodable, it is an
// InvalidTenantId validation error. Malformed pairs with other names are
// ignored like any unknown parameter.
func tenantParam(raw string) (string, error) {
	var value string
	n := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || !ascii.EqualFold(key, "msTenantId") {
			continue
		}
		n++
		val, err := url.QueryUnescape(v)
		if err != nil {
			// A bad escape holds a '%', so the raw text is no GUID either:
			// the domain words the error.
			_, err = removal.ParseTenantID(v)
			return "", err
		}
		value = val
	}
	if n > 1 {
		return "", &removal.ValidationError{Problems: []removal.Problem{{
			Field: "msTenantId", Index: -1, Code: removal.CodeInvalidTenantID,
			Message: "msTenantId is given " + strconv.Itoa(n) + " times; give it at most once",
		}}}
	}
	return value, nil
}
