package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// The OpenAPI document is YAML written in its JSON subset. This file holds a
// small checker for the schema keywords the document may use; any other
// keyword fails the test, so the document cannot say more than is checked.

// oaDoc is the parsed document.
type oaDoc map[string]any

var (
	docOnce sync.Once
	docVal  oaDoc
	docErr  error
)

// loadOpenAPI parses the embedded document once: leading "#" comment lines,
// then one JSON value. Callers only read it.
func loadOpenAPI(t testing.TB) oaDoc {
	t.Helper()
	docOnce.Do(func() { docVal, docErr = parseOpenAPI() })
	if docErr != nil {
		t.Fatalf("openapi.yaml is not JSON-subset YAML: %v", docErr)
	}
	return docVal
}

func parseOpenAPI() (oaDoc, error) {
	var body []string
	for _, l := range strings.Split(string(httpapi.OpenAPI()), "\n") {
		if len(body) == 0 && strings.HasPrefix(l, "#") {
			continue
		}
		body = append(body, l)
	}
	dec := json.NewDecoder(strings.NewReader(strings.Join(body, "\n")))
	dec.UseNumber()
	var d oaDoc
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the document")
	}
	return d, nil
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// resolve follows a local $ref.
func (d oaDoc) resolve(v any) map[string]any {
	m := obj(v)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		cur := any(map[string]any(d))
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = obj(cur)[part]
		}
		if cur == nil {
			panic("unresolvable $ref " + ref)
		}
		m = obj(cur)
	}
	return m
}

// schemaKeywords are the keywords validate understands; the others listed
// are annotations.
var schemaKeywords = map[string]bool{
	"$ref": true, "type": true, "enum": true, "required": true, "properties": true,
	"additionalProperties": true, "items": true, "minItems": true, "maxItems": true,
	"uniqueItems": true, "minimum": true, "maximum": true, "pattern": true, "maxLength": true, "description": true,
}

// validate checks v against schema s and returns every violation.
func (d oaDoc) validate(s any, v any, at string) []string {
	sm := obj(s)
	if sm == nil {
		return []string{at + ": schema is not an object"}
	}
	for k := range sm {
		if !schemaKeywords[k] {
			return []string{at + ": schema keyword " + k + " is not supported by the checker"}
		}
	}
	if _, ok := sm["$ref"]; ok {
		return d.validate(d.resolve(sm), v, at)
	}
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, at+": "+fmt.Sprintf(f, a...)) }
	switch typ, _ := sm["type"].(string); typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("want object, got %T", v)
			return errs
		}
		req, _ := sm["required"].([]any)
		for _, r := range req {
			if _, ok := m[r.(string)]; !ok {
				bad("missing required %q", r)
			}
		}
		props := obj(sm["properties"])
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				errs = append(errs, d.validate(ps, m[k], at+"."+k)...)
				continue
			}
			switch ap := sm["additionalProperties"].(type) {
			case bool:
				if !ap {
					bad("unexpected member %q", k)
				}
			case map[string]any:
				errs = append(errs, d.validate(ap, m[k], at+"."+k)...)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("want array, got %T", v)
			return errs
		}
		if n, ok := sm["minItems"].(json.Number); ok && int64(len(a)) < must(n.Int64()) {
			bad("%d items, minItems %s", len(a), n)
		}
		if n, ok := sm["maxItems"].(json.Number); ok && int64(len(a)) > must(n.Int64()) {
			bad("%d items, maxItems %s", len(a), n)
		}
		seen := map[string]int{}
		for i, e := range a {
			errs = append(errs, d.validate(sm["items"], e, at+"["+strconv.Itoa(i)+"]")...)
			if sm["uniqueItems"] == true {
				k := fmt.Sprintf("%T %v", e, e)
				if j, dup := seen[k]; dup {
					bad("items %d and %d are equal, uniqueItems", j, i)
				}
				seen[k] = i
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want string, got %T", v)
			return errs
		}
		if p, ok := sm["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			bad("%q does not match %s", str, p)
		}
		if n, ok := sm["maxLength"].(json.Number); ok && int64(utf8.RuneCountInString(str)) > must(n.Int64()) {
			bad("%d characters, maxLength %s", utf8.RuneCountInString(str), n)
		}
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			bad("want integer, got %T", v)
			return errs
		}
		i, err := n.Int64()
		if err != nil {
			bad("want integer, got %s", n)
			return errs
		}
		if m, ok := sm["minimum"].(json.Number); ok && i < must(m.Int64()) {
			bad("%d below minimum %s", i, m)
		}
		if m, ok := sm["maximum"].(json.Number); ok && i > must(m.Int64()) {
			bad("%d above maximum %s", i, m)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want boolean, got %T", v)
		}
	default:
		bad("schema without a supported type: %q", typ)
	}
	if enum, ok := sm["enum"].([]any); ok && !slices.Contains(enum, v) {
		bad("%v not in enum %v", v, enum)
	}
	return errs
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// checkResponse fails t unless the answer to method path (relative to the
// handler's root) is documented: its status listed for the operation (404
// and 405 for paths or methods the document lacks, or the 503 any request
// may get), its required headers present, its content type listed, and its
// body valid against the schema. An answer to HEAD has no body; when its
// response declares no content, its Content-Type is not checked either.
func checkResponse(t testing.TB, d oaDoc, method, path string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var resp map[string]any
	status := strconv.Itoa(rec.Code)
	ops := obj(obj(d["paths"])[docPath(d, path)])
	op := obj(ops[strings.ToLower(method)])
	component := func(name string) map[string]any {
		return d.resolve(obj(obj(d["components"])["responses"])[name])
	}
	switch {
	case (ops == nil || op == nil) && rec.Code == http.StatusServiceUnavailable:
		resp = component("ServiceUnavailable")
	case ops == nil:
		if rec.Code != http.StatusNotFound {
			t.Errorf("openapi: %s %s is not documented, but the answer is %d, not 404", method, path, rec.Code)
			return
		}
		resp = component("NotFound")
	case op == nil:
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("openapi: %s %s is not documented, but the answer is %d, not 405", method, path, rec.Code)
			return
		}
		resp = component("MethodNotAllowed")
	default:
		resp = d.resolve(obj(op["responses"])[status])
		if resp == nil {
			t.Errorf("openapi: status %s of %s %s is not documented", status, method, path)
			return
		}
	}
	for name, h := range obj(resp["headers"]) {
		if obj(h)["required"] == true && rec.Header().Get(name) == "" {
			t.Errorf("openapi: %s %s %s: required header %s missing", method, path, status, name)
		}
	}
	if method == http.MethodHead {
		if rec.Body.Len() > 0 {
			t.Errorf("openapi: HEAD %s %s: %d body bytes", path, status, rec.Body.Len())
		}
		if resp["content"] == nil {
			return
		}
	}
	ct := rec.Header().Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Errorf("openapi: %s %s %s: Content-Type %q: %v", method, path, status, ct, err)
		return
	}
	media := obj(obj(resp["content"])[mt])
	if media == nil {
		t.Errorf("openapi: %s %s %s: content type %q not documented", method, path, status, mt)
		return
	}
	if !strings.HasSuffix(mt, "json") || method == http.MethodHead {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Errorf("openapi: %s %s %s: body is not JSON: %v", method, path, status, err)
		return
	}
	for _, e := range d.validate(media["schema"], v, "body") {
		t.Errorf("openapi: %s %s %s: %s", method, path, status, e)
	}
}

// docPath returns the document's path for a request path: the path itself
// when the document has it, else the template it matches
// ("/api/v3/oc/numbers/{telephoneNumber}"), else path.
func docPath(d oaDoc, path string) string {
	paths := obj(d["paths"])
	if _, ok := paths[path]; ok {
		return path
	}
	segs := strings.Split(path, "/")
	for tmpl := range paths {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		match := true
		for i, t := range ts {
			if !(strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && segs[i] != "") && t != segs[i] {
				match = false
				break
			}
		}
		if match {
			return tmpl
		}
	}
	return path
}

// TestOpenAPIDocument checks the document against the package: its paths
// are the routes, its error codes and their statuses are the package's, the
// Problem schema's errorCode enum lists them all, and every example is
// valid against its schema.
func TestOpenAPIDocument(t *testing.T) {
	d := loadOpenAPI(t)
	if d["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", d["openapi"])
	}
	var paths []string
	for p := range obj(d["paths"]) {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	want := []string{httpapi.RouteClearRemovalStatus, httpapi.RouteReadyForRemoval, httpapi.RouteMarkForRemoval,
		httpapi.RouteOpenAPI, httpapi.RouteSummary, httpapi.RouteNumbers, httpapi.RouteNumber, httpapi.RouteHistory,
		httpapi.RouteReconcile, httpapi.RoutePurge}
	sort.Strings(want)
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}

	docCodes := map[string]int{}
	for code, v := range obj(d["x-error-codes"]) {
		docCodes[code] = int(must(obj(v)["status"].(json.Number).Int64()))
	}
	pkgCodes := map[string]int{}
	for _, c := range httpapi.ErrorCodes() {
		pkgCodes[c] = httpapi.StatusOf(c)
	}
	if diff := cmp.Diff(pkgCodes, docCodes); diff != "" {
		t.Errorf("x-error-codes vs ErrorCodes/StatusOf (-package +document):\n%s", diff)
	}
	var enum []string
	for _, c := range obj(obj(obj(obj(obj(d["components"])["schemas"])["Problem"])["properties"])["errorCode"])["enum"].([]any) {
		enum = append(enum, c.(string))
	}
	if diff := cmp.Diff(httpapi.ErrorCodes(), enum); diff != "" {
		t.Errorf("Problem.errorCode enum (-ErrorCodes +document):\n%s", diff)
	}

	// Every example of every media type is valid against its schema.
	n := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		m := obj(d.resolve(v))
		if m == nil {
			if a, ok := v.([]any); ok {
				for i, e := range a {
					walk(e, at+"["+strconv.Itoa(i)+"]")
				}
			}
			return
		}
		if s, ok := m["schema"]; ok {
			for name, ex := range obj(m["examples"]) {
				n++
				for _, e := range d.validate(s, obj(ex)["value"], at+".examples."+name) {
					t.Error(e)
				}
			}
		}
		for k, e := range m {
			if k != "examples" {
				walk(e, at+"."+k)
			}
		}
	}
	walk(map[string]any(d["paths"].(map[string]any)), "paths")
	if n < 6 {
		t.Errorf("found %d examples, want at least 6 (requests, success, partial, problems)", n)
	}
}

// TestOpenAPIServed checks the document is served as application/yaml,
// byte for byte the embedded file, and that the file on disk is the one
// embedded.
func TestOpenAPIServed(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, http.MethodGet, httpapi.RouteOpenAPI, "", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/yaml" {
		t.Fatalf("status %d, Content-Type %q; want 200 application/yaml", rec.Code, rec.Header().Get("Content-Type"))
	}
	disk, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.Body.Bytes(), disk) {
		t.Error("served document differs from openapi.yaml")
	}
}

// TestCheckerCatchesDivergence proves the checker can fail: answers that
// break the document in each checked way are reported.
func TestCheckerCatchesDivergence(t *testing.T) {
	d := loadOpenAPI(t)
	mk := func(status int, ct, body string, hdr ...string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", ct)
		for i := 0; i+1 < len(hdr); i += 2 {
			rec.Header().Set(hdr[i], hdr[i+1])
		}
		rec.WriteHeader(status)
		rec.WriteString(body)
		return rec
	}
	okProblem := `{"type":"t","title":"t","status":400,"detail":"d","instance":"/","errorCode":"NotFound","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","errorTicket":"TQ2W6XSK7NBJ3Y5QZP4RMLEH6A"}`
	tests := []struct {
		name, method, path string
		rec                *httptest.ResponseRecorder
	}{
		{"UndocumentedStatus", "POST", httpapi.RouteClearRemovalStatus, mk(429, "application/problem+json", okProblem, "Retry-After", "1")},
		{"WrongContentType", "POST", httpapi.RouteClearRemovalStatus, mk(400, "application/json", okProblem)},
		{"MissingRequiredMember", "GET", httpapi.RouteSummary, mk(200, "application/json", `{"markedForRemovalCount":0,"readyForRemovalCount":0}`)},
		{"ExtraMember", "GET", httpapi.RouteSummary, mk(200, "application/json", `{"markedForRemovalCount":0,"readyForRemovalCount":0,"totalCount":0,"totalCounts":0}`)},
		{"WrongType", "GET", httpapi.RouteSummary, mk(200, "application/json", `{"markedForRemovalCount":"0","readyForRemovalCount":0,"totalCount":0}`)},
		{"UnknownErrorCode", "GET", httpapi.RouteSummary, mk(400, "application/problem+json", strings.Replace(okProblem, "NotFound", "Nope", 1))},
		{"MissingRetryAfter", "POST", httpapi.RouteReadyForRemoval, mk(429, "application/problem+json", okProblem)},
		{"BadEnvelopeStatus", "POST", httpapi.RouteReadyForRemoval, mk(200, "application/json", `{"data":{"processedCount":1,"successCount":1,"failures":[]},"status":"ok","succeeded":true,"message":""}`)},
		{"UnknownPathNot404", "GET", "/nope", mk(200, "application/json", `{}`)},
		{"OtherMethodNot405", "DELETE", httpapi.RouteSummary, mk(404, "application/problem+json", okProblem)},
		{"MissingRetryAfterOn503", "GET", httpapi.RouteSummary, mk(503, "application/problem+json", strings.Replace(okProblem, "NotFound", "ServiceUnavailable", 1))},
		{"HeadWithBody", "HEAD", httpapi.RouteSummary, mk(200, "application/json", `{}`)},
		{"HeadUndocumentedStatus", "HEAD", httpapi.RouteSummary, mk(429, "", "", "Retry-After", "1")},
		{"InstanceTooLong", "GET", httpapi.RouteSummary, mk(400, "application/problem+json", strings.Replace(okProblem, `"instance":"/"`, `"instance":"/`+strings.Repeat("a", 259)+`"`, 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft := &fakeT{}
			checkResponse(ft, d, tt.method, tt.path, tt.rec)
			if !ft.failed {
				t.Error("checker accepted a divergent answer")
			}
		})
	}
}

// fakeT records failures instead of failing.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }

// TestOpenAPIResponses pins the statuses each operation declares: every
// answer the handler can give it, and no other.
func TestOpenAPIResponses(t *testing.T) {
	d := loadOpenAPI(t)
	want := map[string][]string{
		"post " + httpapi.RouteClearRemovalStatus: {"200", "400", "404", "405", "413", "415", "500", "503"},
		"post " + httpapi.RouteReadyForRemoval:    {"200", "400", "404", "405", "413", "415", "429", "500", "503"},
		"get " + httpapi.RouteSummary:             {"200", "400", "404", "405", "500", "503"},
		"head " + httpapi.RouteSummary:            {"200", "400", "404", "405", "500", "503"},
		"get " + httpapi.RouteOpenAPI:             {"200", "404", "405", "503"},
		"head " + httpapi.RouteOpenAPI:            {"200", "404", "405", "503"},
		"post " + httpapi.RouteMarkForRemoval:     {"200", "400", "404", "405", "413", "415", "500", "503"},
		"post " + httpapi.RouteReconcile:          {"200", "400", "404", "405", "409", "413", "415", "500", "503"},
		"post " + httpapi.RoutePurge:              {"200", "400", "404", "405", "413", "415", "500", "503"},
	}
	for _, r := range []string{httpapi.RouteNumbers, httpapi.RouteNumber, httpapi.RouteHistory} {
		want["get "+r] = []string{"200", "400", "404", "405", "500", "503"}
		want["head "+r] = want["get "+r]
	}
	got := map[string][]string{}
	for p, ops := range obj(d["paths"]) {
		for m, op := range obj(ops) {
			var statuses []string
			for s := range obj(obj(op)["responses"]) {
				statuses = append(statuses, s)
			}
			sort.Strings(statuses)
			got[m+" "+p] = statuses
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("declared responses (-want +got):\n%s", diff)
	}
	// Every 503 carries Retry-After, and the document says so.
	ra := obj(obj(d.resolve(obj(obj(d["components"])["responses"])["ServiceUnavailable"])["headers"])["Retry-After"])
	if ra["required"] != true {
		t.Errorf("ServiceUnavailable's Retry-After is not required: %v", ra)
	}
}

// TestOpenAPITenantPattern checks the msTenantId pattern accepts exactly
// what the server does: empty, or a GUID removal.ParseTenantID takes.
func TestOpenAPITenantPattern(t *testing.T) {
	d := loadOpenAPI(t)
	params := obj(obj(obj(d["paths"])[httpapi.RouteSummary])["get"])["parameters"].([]any)
	re := regexp.MustCompile(obj(obj(params[0])["schema"])["pattern"].(string))
	g := "6f1c2b9e-3d4a-4b8c-9e7f-0a1b2c3d4e5f"
	for _, s := range []string{
		"", g, strings.ToUpper(g), "{" + g + "}", "{" + strings.ToUpper(g) + "}",
		"{" + g, g + "}", "{{" + g + "}}", "(" + g + ")", " " + g, g + " ", g[:35], g + "0",
		strings.ReplaceAll(g, "-", ""), "6f1c2b9e-3d4a-4b8c-9e7f0-a1b2c3d4e5f", strings.Replace(g, "f", "g", 1),
		"{}", "{", "}", "x",
	} {
		_, err := removal.ParseTenantID(s)
		if want := s == "" || err == nil; re.MatchString(s) != want {
			t.Errorf("pattern matches %q: %t; the server accepts it: %t", s, !want, want)
		}
	}
}

// TestOpenAPIRequestSchema checks the BatchRequest schema refuses what the
// server refuses for its shape: no numbers, more than 500, two alike, a
// number that is not E.164-shaped.
func TestOpenAPIRequestSchema(t *testing.T) {
	d := loadOpenAPI(t)
	schema := obj(obj(obj(obj(obj(obj(obj(d["paths"])[httpapi.RouteClearRemovalStatus])["post"])["requestBody"])["content"])["application/json"])["schema"])
	for _, c := range []struct {
		name    string
		numbers []string
	}{
		{"One", []string{"+14255551212"}},
		{"500", numbersN(500)},
		{"None", []string{}},
		{"501", numbersN(501)},
		{"Duplicate", []string{"+14255551212", "+14255551213", "+14255551212"}},
		{"NotE164", []string{"14255551212"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v any
			json.Unmarshal([]byte(numbersBody(c.numbers...)), &v)
			errs := d.validate(schema, v, "body")
			f := newFixture(t, httpapi.WithRateLimiter(nil))
			code := f.post(t, httpapi.RouteClearRemovalStatus, numbersBody(c.numbers...)).Code
			if (len(errs) == 0) != (code == http.StatusOK) {
				t.Errorf("schema errors %v, server status %d", errs, code)
			}
		})
	}
}
