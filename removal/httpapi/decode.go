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

	"github.com/ocnumbers/ocnumbers/internal/ascii"
	"github.com/ocnumbers/ocnumbers/removal"
)

// bufPool recycles body buffers: decoding copies every string out, so a
// buffer is free again once the body is decoded.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled keeps rare large buffers out of the pool.
const maxPooled = 64 << 10

func putBuffer(b *bytes.Buffer) {
	if b != nil && b.Cap() <= maxPooled {
		bufPool.Put(b)
	}
}

// readBody checks the content type, encoding and size and reads the body
// into a pooled buffer, which the caller returns with putBuffer. On failure
// it has answered (415, 413 or 400) and reports false.
func (h *Handler) readBody(ex *exchange, r *http.Request) (*bytes.Buffer, bool) {
	if detail := checkContentType(r.Header); detail != "" {
		writeProblem(ex, newProblem(ex, CodeUnsupportedMediaType, detail))
		return nil, false
	}
	limit := h.cfg.maxBody
	tooLarge := func() (*bytes.Buffer, bool) {
		writeProblem(ex, newProblem(ex, CodeRequestTooLarge,
			"The request body is larger than "+strconv.FormatInt(limit, 10)+" bytes."))
		return nil, false
	}
	if r.ContentLength > limit {
		return tooLarge()
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	if r.Body == nil {
		return buf, true
	}
	// The server's own writer, not ex: MaxBytesReader then tells the server
	// to close the connection instead of draining an oversized body.
	body := http.MaxBytesReader(ex.ResponseWriter, r.Body, limit)
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(body); err != nil {
		var mbe *http.MaxBytesError
		putBuffer(buf)
		if errors.As(err, &mbe) {
			return tooLarge()
		}
		writeProblem(ex, newProblem(ex, CodeInvalidRequestBody, "The request body could not be read completely."))
		return nil, false
	}
	return buf, true
}

// checkContentType returns why the request's media type or content coding is
// unacceptable, or "". Accepted: application/json or any type whose subtype
// ends in "+json", with any parameters but a charset other than UTF-8 (RFC
// 8259 section 8.1), and no Content-Encoding other than identity.
func checkContentType(h http.Header) string {
	for _, ce := range h.Values("Content-Encoding") {
		if !ascii.EqualFold(strings.TrimSpace(ce), "identity") {
			return "Content-Encoding " + strconv.Quote(ce) + " is not supported; send the body unencoded."
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
		return "Content-Type " + strconv.Quote(ct) + " cannot be parsed; send application/json."
	}
	if mt != "application/json" && !(strings.HasSuffix(mt, "+json") && strings.IndexByte(mt, '/')+1 < len(mt)-len("+json")) {
		return "Content-Type " + strconv.Quote(mt) + " is not supported; send application/json."
	}
	if cs, ok := params["charset"]; ok && !ascii.EqualFold(cs, "utf-8") {
		return "charset " + strconv.Quote(cs) + " is not supported; JSON must be UTF-8."
	}
	return ""
}

// decodeNumbers reads {"telephoneNumbers": [...]}. It returns nil numbers
// (which the service reports as NullRequestBody) for an empty body, null, an
// object without the key, or the key with null. It fails, as
// InvalidRequestBody, on malformed or truncated JSON, a value that is not an
// object, telephoneNumbers that is not an array of strings, data after the
// value, and the key given twice. The key matches case-insensitively in
// ASCII only (ascii.EqualFold); other members are ignored.
func decodeNumbers(body []byte) ([]string, error) {
	if numbers, ok := fastNumbers(body); ok {
		return numbers, nil
	}
	return slowNumbers(body)
}

// fastNumbers decodes, in one pass, the form nearly every client sends: one
// object with only telephoneNumbers, an array of printable-ASCII strings
// without escapes. For anything else ok is false and slowNumbers decides;
// where both accept, they agree (FuzzDecodeRequest checks it). It exists
// because encoding/json costs more than the rest of the request.
func fastNumbers(body []byte) (numbers []string, ok bool) {
	s := string(body) // one copy; the numbers are substrings of it
	i := 0
	lit := func(t string) bool {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		if strings.HasPrefix(s[i:], t) {
			i += len(t)
			return true
		}
		return false
	}
	if !lit("{") || !lit(`"telephoneNumbers"`) || !lit(":") || !lit("[") {
		return nil, false
	}
	numbers = make([]string, 0, min(strings.Count(s, ","), removal.MaxBatchSize)+1)
	for !lit("]") {
		if len(numbers) > 0 && !lit(",") || !lit(`"`) {
			return nil, false
		}
		start := i
		for ; i < len(s) && s[i] != '"'; i++ {
			if c := s[i]; c < 0x20 || c > 0x7e || c == '\\' {
				return nil, false
			}
		}
		if i == len(s) {
			return nil, false
		}
		numbers = append(numbers, s[start:i])
		i++
	}
	if !lit("}") || lit("") && i != len(s) {
		return nil, false
	}
	return numbers, true
}

// slowNumbers is decodeNumbers for every input, on encoding/json.
func slowNumbers(body []byte) ([]string, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if tok == nil { // null
		return nil, end(dec)
	}
	if tok != json.Delim('{') {
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
		if err := dec.Decode(&numbers); err != nil {
			return nil, jsonError(err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonError(err)
	}
	return numbers, end(dec)
}

// end checks that nothing but white space follows the JSON value.
func end(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("The request body has data after the JSON value.")
	}
	return nil
}

// jsonError words a decoding error for the client.
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return errors.New("telephoneNumbers must be an array of strings, not a JSON " + te.Value + ".")
		}
		return errors.New("telephoneNumbers must be an array of strings; found a JSON " + te.Value + ".")
	case errors.As(err, &se):
		return errors.New("The request body is not valid JSON: " + se.Error() + " (at byte " + strconv.FormatInt(se.Offset, 10) + ").")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("The request body is truncated JSON.")
	}
	return errors.New("The request body is not valid JSON.")
}

// tenantParam reads msTenantId from a raw query. The name matches
// case-insensitively in ASCII only (ascii.EqualFold); absent or empty means all
// tenants (""). Given more than once, or not decodable, it is an
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

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
