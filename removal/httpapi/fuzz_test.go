package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/internal/ascii"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// FuzzDecodeRequest sends arbitrary bodies to the batch routes (seed corpus
// in testdata/fuzz/FuzzDecodeRequest). Properties: no 5xx and no panic; a
// 200 only when encoding/json and removal.ValidateBatch, applied
// independently, find a valid batch; a body they find valid is a 200 or an
// InvalidRequestBody (the only stricter rule: telephoneNumbers twice); every
// other answer is a documented problem; the store changes only on a 200; and
// every answer matches the OpenAPI document. It also checks the streaming
// decoder, fed whole and one byte at a time, against encoding/json alone.
// independentDecode reads a batch body with encoding/json alone: members
// decoded whole by name, telephoneNumbers found among them by ASCII case
// folding (encoding/json's own matching would also take Unicode look-alikes
// such as "telephoneNumber\u017f"). ok is false when the body is not JSON, not
// an object or null, or telephoneNumbers is not an array of strings; a key
// spelt twice the same way keeps its last value, as in encoding/json, and
// two spellings of it are not a valid batch.
func independentDecode(body []byte) (numbers []string, ok bool) {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return nil, false
	}
	found := 0
	for k, v := range members {
		if ascii.EqualFold(k, "telephoneNumbers") {
			found++
			if found > 1 || json.Unmarshal(v, &numbers) != nil {
				return nil, false
			}
		}
	}
	return numbers, true
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"telephoneNumbers":["+14255551212"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		// The streaming decoder, fed whole or one byte at a time, must
		// decide as encoding/json does on the whole body.
		slow, slowErr := httpapi.SlowNumbers(body)
		for _, r := range []io.Reader{bytes.NewReader(body), iotest.OneByteReader(bytes.NewReader(body))} {
			got, err := httpapi.DecodeNumbers(r)
			if (err == nil) != (slowErr == nil) || (err == httpapi.ErrTooMany) != (slowErr == httpapi.ErrTooMany) {
				t.Fatalf("decoders disagree on %q: error %v, encoding/json's %v", body, err, slowErr)
			}
			if (got == nil) != (slow == nil) {
				t.Fatalf("decoders disagree on %q: %#v, encoding/json's %#v", body, got, slow)
			}
			if diff := cmp.Diff(slow, got); diff != "" {
				t.Fatalf("decoders disagree on %q (-encoding/json +streaming):\n%s", body, diff)
			}
		}
		fx := newFixture(t, httpapi.WithRateLimiter(nil))
		before := fx.snapshot(t)
		route := httpapi.RouteClearRemovalStatus
		if len(body)%2 == 1 {
			route = httpapi.RouteReadyForRemoval
		}
		rec := fx.post(t, route, string(body))

		numbers, valid := independentDecode(body)
		if valid {
			_, err := removal.ValidateBatch(numbers)
			valid = err == nil
		}
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code == http.StatusOK:
			if !valid {
				t.Fatalf("200 for a body that is not a valid batch: %q", body)
			}
			return
		}
		p := problem(t, rec)
		if !slices.Contains(httpapi.ErrorCodes(), p.ErrorCode) || httpapi.StatusOf(p.ErrorCode) != rec.Code {
			t.Errorf("status %d with errorCode %q", rec.Code, p.ErrorCode)
		}
		if valid && p.ErrorCode != httpapi.CodeInvalidRequestBody {
			t.Errorf("valid batch %q answered %d %s", body, rec.Code, p.ErrorCode)
		}
		if diff := cmp.Diff(before, fx.snapshot(t)); diff != "" {
			t.Errorf("store changed by a %d (-before +after):\n%s", rec.Code, diff)
		}
	})
}

// TestDecodersAgree runs the differential check of FuzzDecodeRequest on
// bodies larger than the decoder's read window, with the one-pass decoder
// giving up at various depths (an escape, a null, a number, white space,
// another member, trailing data) and at the MaxBatchSize boundary.
func TestDecodersAgree(t *testing.T) {
	nums := func(n int, sep string) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString("," + sep)
			}
			fmt.Fprintf(&b, `"+1206555%04d"`, i)
		}
		return b.String()
	}
	long := `"+1` + strings.Repeat("2", 10_000) + `"`
	bodies := map[string]string{
		"400":                 `{"telephoneNumbers":[` + nums(400, "") + `]}`,
		"400Spaced":           " {\n \"telephoneNumbers\" :\t[ " + nums(400, "\n  ") + " ] }\n",
		"EscapeAt300":         `{"telephoneNumbers":[` + nums(300, "") + `,"+1206\u0035550000"]}`,
		"NullAt300":           `{"telephoneNumbers":[` + nums(300, "") + `,null,"+12065559999"]}`,
		"NumberAt300":         `{"telephoneNumbers":[` + nums(300, "") + `,12065559999]}`,
		"MemberAfter":         `{"telephoneNumbers":[` + nums(300, "") + `],"x":[` + nums(300, "") + `]}`,
		"DuplicateAfter":      `{"telephoneNumbers":[` + nums(300, "") + `],"TELEPHONENUMBERS":[]}`,
		"TrailingData":        `{"telephoneNumbers":[` + nums(300, "") + `]} ` + strings.Repeat(" ", 5000) + "x",
		"TrailingSpace":       `{"telephoneNumbers":[` + nums(300, "") + `]}` + strings.Repeat(" \n", 5000),
		"TruncatedInString":   `{"telephoneNumbers":[` + nums(300, "") + `,"+1206`,
		"ControlInString":     `{"telephoneNumbers":[` + nums(300, "") + ",\"+1206\t5550000\"]}",
		"LongNumber":          `{"telephoneNumbers":[` + long + `,` + long + `]}`,
		"LongNumberEscaped":   `{"telephoneNumbers":[` + long[:5000] + `\u0032` + long[5000:] + `]}`,
		"500":                 `{"telephoneNumbers":[` + nums(500, "") + `]}`,
		"501":                 `{"telephoneNumbers":[` + nums(501, "") + `]}`,
		"500ThenComma":        `{"telephoneNumbers":[` + nums(500, "") + `,]}`,
		"500ThenGarbage":      `{"telephoneNumbers":[` + nums(500, "") + ` x]}`,
		"500ThenBrace":        `{"telephoneNumbers":[` + nums(500, "") + `}`,
		"500ThenEnd":          `{"telephoneNumbers":[` + nums(500, ""),
		"501Spaced":           `{"telephoneNumbers":[` + nums(501, " ") + `]}`,
		"NullsThen501":        `{"telephoneNumbers":[null,` + nums(500, "") + `]}`,
		"KeyLater":            `{"x":1,"telephoneNumbers":[` + nums(400, "") + `]}`,
		"UnicodeSpaceOnly":    strings.Repeat("\u00a0\u2003\v\f", 2000),
		"UnicodeSpaceThenObj": strings.Repeat("\u3000", 2000) + `{"telephoneNumbers":[]}`,
		"UnicodeSpaceCut":     strings.Repeat("\u3000", 2000) + "\xe3\x80",
	}
	chunks := func(n int) func(io.Reader) io.Reader {
		return func(r io.Reader) io.Reader { return &chunkReader{r: r, n: n} }
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			slow, slowErr := httpapi.SlowNumbers([]byte(body))
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, chunks(7), chunks(4095), chunks(4097),
			} {
				got, err := httpapi.DecodeNumbers(wrap(strings.NewReader(body)))
				if (err == nil) != (slowErr == nil) || (err == httpapi.ErrTooMany) != (slowErr == httpapi.ErrTooMany) {
					t.Fatalf("error %v, encoding/json's %v", err, slowErr)
				}
				if (got == nil) != (slow == nil) {
					t.Fatalf("nil %t, encoding/json's %t", got == nil, slow == nil)
				}
				if diff := cmp.Diff(slow, got); diff != "" {
					t.Fatalf("(-encoding/json +streaming):\n%s", diff)
				}
			}
		})
	}
}

// chunkReader reads at most n bytes at a time.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }
