package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
)

// batchRoute is one of the two POST routes and what success means for it.
type batchRoute struct {
	name, route, allOK string
	to                 removal.NumberStatus
	partial            func(ok, processed, failed int) string
	action             string // as named in InvalidStatus details
}

var batchRoutes = []batchRoute{
	{
		name: "ClearRemovalStatus", route: httpapi.RouteClearRemovalStatus, to: removal.Active,
		allOK:  "Removal status successfully cleared for all numbers",
		action: "clear removal status",
		partial: func(ok, processed, failed int) string {
			return fmt.Sprintf("Removal status cleared for %d of %d numbers; %d failed", ok, processed, failed)
		},
	},
	{
		name: "ReadyForRemoval", route: httpapi.RouteReadyForRemoval, to: removal.ReadyForRemoval,
		allOK:  "Numbers successfully transitioned to ReadyForRemoval status",
		action: "ready for removal",
		partial: func(ok, processed, failed int) string {
			return fmt.Sprintf("%d of %d numbers transitioned to ReadyForRemoval status; %d failed", ok, processed, failed)
		},
	},
}

func status(s removal.NumberStatus) *removal.NumberStatus { return &s }

// TestBatchEnvelopes checks the 200 bodies, whole, and the store after them.
func TestBatchEnvelopes(t *testing.T) {
	for _, br := range batchRoutes {
		tests := []struct {
			name        string
			contentType string
			numbers     []string
			want        httpapi.Envelope
			changed     []e164.Number
		}{
			{
				name: "AllSucceed", contentType: "application/json",
				numbers: []string{"+14255551212", "+14255551213"},
				want: httpapi.Envelope{
					Data:   removal.BatchResult{ProcessedCount: 2, SuccessCount: 2, Failures: []removal.Failure{}},
					Status: "success", Succeeded: true, Message: br.allOK,
				},
				changed: []e164.Number{"+14255551212", "+14255551213"},
			},
			{
				name: "PartialSuccess", contentType: "application/json; charset=utf-8",
				numbers: []string{"+14255551212", "+14255551214"},
				want: httpapi.Envelope{
					Data: removal.BatchResult{ProcessedCount: 2, SuccessCount: 1, Failures: []removal.Failure{{
						TelephoneNumber: "+14255551214", ErrorCode: "InvalidStatus", CurrentStatus: status(removal.Active),
						Detail: "+14255551214 is Active; " + br.action + " applies only to MarkedForRemoval numbers",
					}}},
					Status: "partialSuccess", Succeeded: false, Message: br.partial(1, 2, 1),
				},
				changed: []e164.Number{"+14255551212"},
			},
			{
				name: "Failure", contentType: "application/merge-patch+json",
				numbers: []string{"+14255551214", "+14255551215", "+14255559999", "+14255551216"},
				want: httpapi.Envelope{
					Data: removal.BatchResult{ProcessedCount: 4, SuccessCount: 0, Failures: []removal.Failure{
						{TelephoneNumber: "+14255551214", ErrorCode: "InvalidStatus", CurrentStatus: status(removal.Active),
							Detail: "+14255551214 is Active; " + br.action + " applies only to MarkedForRemoval numbers"},
						{TelephoneNumber: "+14255551215", ErrorCode: "NotOperatorConnect", CurrentStatus: status(removal.MarkedForRemoval),
							Detail: "+14255551215 is not associated with an Operator Connect customer"},
						{TelephoneNumber: "+14255559999", ErrorCode: "NumberNotFound",
							Detail: "+14255559999 is not in the acquired-numbers store"},
						{TelephoneNumber: "+14255551216", ErrorCode: "InvalidStatus", CurrentStatus: status(removal.ReadyForRemoval),
							Detail: "+14255551216 is ReadyForRemoval; " + br.action + " applies only to MarkedForRemoval numbers"},
					}},
					Status: "failure", Succeeded: false, Message: br.partial(0, 4, 4),
				},
			},
		}
		for _, tt := range tests {
			t.Run(br.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t)
				before := f.snapshot(t)
				rec := f.do(t, http.MethodPost, br.route, tt.contentType, numbersBody(tt.numbers...))
				if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
					t.Fatalf("status %d, Content-Type %q; body %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
				}
				var got httpapi.Envelope
				dec := json.NewDecoder(rec.Body)
				dec.DisallowUnknownFields()
				if err := dec.Decode(&got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("envelope (-want +got):\n%s", diff)
				}
				after := f.snapshot(t)
				for n, rec := range before {
					want := rec.Status
					for _, c := range tt.changed {
						if c == n {
							want = br.to
						}
					}
					if after[n].Status != want {
						t.Errorf("%s: status %s, want %s", n, after[n].Status, want)
					}
				}
			})
		}
	}
}

// TestEnvelopeWireForm pins the exact JSON of a success answer: both counts
// and an empty failures array are always present, and currentStatus is a
// name, absent for NumberNotFound.
func TestEnvelopeWireForm(t *testing.T) {
	f := newFixture(t)
	rec := f.post(t, httpapi.RouteClearRemovalStatus, numbersBody("+14255551212", "+14255559999"))
	want := `{"data":{"processedCount":2,"successCount":1,"failures":[{"telephoneNumber":"+14255559999","errorCode":"NumberNotFound","detail":"+14255559999 is not in the acquired-numbers store"}]},"status":"partialSuccess","succeeded":false,"message":"Removal status cleared for 1 of 2 numbers; 1 failed"}`
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	rec = f.post(t, httpapi.RouteClearRemovalStatus, numbersBody("+14255551213"))
	want = `{"data":{"processedCount":1,"successCount":1,"failures":[]},"status":"success","succeeded":true,"message":"Removal status successfully cleared for all numbers"}`
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// numbersN returns n distinct valid numbers.
func numbersN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("+1206555%04d", i)
	}
	return out
}

// TestBatchBadRequests covers every 4xx answer to a batch on both routes:
// the whole problem is compared, and the store must be unchanged. An empty
// want.Detail means "any non-empty detail" (the wording of JSON errors is
// not part of the contract).
func TestBatchBadRequests(t *testing.T) {
	const nullMsg = "the request must contain a telephoneNumbers array, not null"
	nullErrs := map[string][]string{"telephoneNumbers": {nullMsg}}
	tooBig := strings.Repeat(" ", httpapi.DefaultMaxBodyBytes) + numbersBody("+14255551212")
	tests := []struct {
		name        string
		contentType string
		body        string
		hdr         []string
		unknownLen  bool // send without Content-Length
		code        string
		status      int
		title       string
		detail      string
		errs        map[string][]string
	}{
		{name: "EmptyBody", body: "", code: "NullRequestBody", status: 400, title: "Request body is null", detail: nullMsg, errs: nullErrs},
		{name: "WhiteSpaceBody", body: " \r\n\t", code: "NullRequestBody", status: 400, title: "Request body is null", detail: nullMsg, errs: nullErrs},
		{name: "Null", body: "null", code: "NullRequestBody", status: 400, title: "Request body is null", detail: nullMsg, errs: nullErrs},
		{name: "EmptyObject", body: "{}", code: "NullRequestBody", status: 400, title: "Request body is null", detail: nullMsg, errs: nullErrs},
		{name: "NullMember", body: `{"telephoneNumbers": null}`, code: "NullRequestBody", status: 400, title: "Request body is null", detail: nullMsg, errs: nullErrs},
		{name: "OnlyUnknownMembers", body: `{"numbers": ["+14255551212"], "x": {"y": [1, null]}}`, code: "NullRequestBody", status: 400, title: "Request body is null", detail: nullMsg, errs: nullErrs},
		// The key matches in ASCII only: U+017F (long s) is not "s".
		{name: "LookAlikeKeyOnly", body: "{\"telephoneNumber\u017f\": [\"+14255551212\"]}", code: "NullRequestBody", status: 400, title: "Request body is null", detail: nullMsg, errs: nullErrs},
		{name: "LookAlikeKeyUpperCase", body: "{\"TELEPHONENUMBER\u017f\": [\"+14255551212\"]}", code: "NullRequestBody", status: 400, title: "Request body is null", detail: nullMsg, errs: nullErrs},
		{name: "StringInsteadOfArray", body: `{"telephoneNumbers": "+14255551212"}`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "NumbersNotStrings", body: `{"telephoneNumbers": [14255551212]}`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "ObjectInArray", body: `{"telephoneNumbers": [{"n": "+14255551212"}]}`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "TopLevelArray", body: `["+14255551212"]`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "TopLevelString", body: `"+14255551212"`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "TruncatedJSON", body: `{"telephoneNumbers": ["+14255551212"`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "TruncatedString", body: `{"telephoneNumbers": ["+1425`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "MalformedJSON", body: `{telephoneNumbers: ["+14255551212"]}`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "TrailingGarbage", body: numbersBody("+14255551212") + " x", code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "SecondValue", body: numbersBody("+14255551212") + "{}", code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "NullThenGarbage", body: "null]", code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "DuplicateKey", body: `{"telephoneNumbers": ["+14255551212"], "telephoneNumbers": ["+14255551213"]}`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{name: "DuplicateKeyOtherCase", body: `{"telephoneNumbers": ["+14255551212"], "TELEPHONENUMBERS": null}`, code: "InvalidRequestBody", status: 400, title: "Invalid request body"},
		{
			name: "ZeroNumbers", body: `{"telephoneNumbers": []}`, code: "BatchSizeOutOfRange", status: 400, title: "Batch size out of range",
			detail: "telephoneNumbers holds 0 numbers; it must hold between 1 and 500",
			errs:   map[string][]string{"telephoneNumbers": {"telephoneNumbers holds 0 numbers; it must hold between 1 and 500"}},
		},
		{
			// Decoding stops at the 501st element: the count is not known.
			name: "501Numbers", body: numbersBody(numbersN(501)...), code: "BatchSizeOutOfRange", status: 400, title: "Batch size out of range",
			detail: "telephoneNumbers holds more than 500 numbers; it must hold between 1 and 500",
			errs:   map[string][]string{"telephoneNumbers": {"telephoneNumbers holds more than 500 numbers; it must hold between 1 and 500"}},
		},
		{
			name: "InvalidE164EachByIndex", body: numbersBody("+14255551212", "4255551213", "+1 4255551214", "+14255551215", "+999123456789"),
			code: "InvalidTelephoneNumber", status: 400, title: "Invalid telephone number",
			detail: `The request has 3 problems, all listed in errors; the first: "4255551213" is not a valid E.164 number: missing leading '+'`,
			errs: map[string][]string{
				"telephoneNumbers[1]": {`"4255551213" is not a valid E.164 number: missing leading '+'`},
				"telephoneNumbers[2]": {`"+1 4255551214" is not a valid E.164 number: contains ' ' at position 2`},
				"telephoneNumbers[4]": {`"+999123456789" is not a valid E.164 number: unknown country calling code +999`},
			},
		},
		{
			name: "Duplicates", body: numbersBody("+14255551212", "+14255551213", "+14255551212"),
			code: "DuplicateTelephoneNumber", status: 400, title: "Duplicate telephone number",
			detail: `"+14255551212" appears twice: at telephoneNumbers[0] and telephoneNumbers[2]`,
			errs:   map[string][]string{"telephoneNumbers[2]": {`"+14255551212" appears twice: at telephoneNumbers[0] and telephoneNumbers[2]`}},
		},
		{
			name: "InvalidThenDuplicate", body: numbersBody("+14255551212", "14255551299", "+14255551212"),
			code: "InvalidTelephoneNumber", status: 400, title: "Invalid telephone number",
			detail: `The request has 2 problems, all listed in errors; the first: "14255551299" is not a valid E.164 number: missing leading '+'`,
			errs: map[string][]string{
				"telephoneNumbers[1]": {`"14255551299" is not a valid E.164 number: missing leading '+'`},
				"telephoneNumbers[2]": {`"+14255551212" appears twice: at telephoneNumbers[0] and telephoneNumbers[2]`},
			},
		},
		{
			name: "NullElement", body: `{"telephoneNumbers": ["+14255551212", null]}`,
			code: "InvalidTelephoneNumber", status: 400, title: "Invalid telephone number",
			detail: `"" is not a valid E.164 number: empty`,
			errs:   map[string][]string{"telephoneNumbers[1]": {`"" is not a valid E.164 number: empty`}},
		},
		{
			name: "InvalidUTF8", body: "{\"telephoneNumbers\": [\"+1425555\xff1212\"]}",
			code: "InvalidTelephoneNumber", status: 400, title: "Invalid telephone number",
			detail: "\"+1425555\uFFFD1212\" is not a valid E.164 number: contains '\uFFFD' at position 8",
			errs:   map[string][]string{"telephoneNumbers[0]": {"\"+1425555\uFFFD1212\" is not a valid E.164 number: contains '\uFFFD' at position 8"}},
		},
		{name: "NoContentType", contentType: "-", body: numbersBody("+14255551212"), code: "UnsupportedMediaType", status: 415, title: "Unsupported media type"},
		{name: "TextPlain", contentType: "text/plain", body: numbersBody("+14255551212"), code: "UnsupportedMediaType", status: 415, title: "Unsupported media type"},
		{name: "FormEncoded", contentType: "application/x-www-form-urlencoded", body: "telephoneNumbers=%2B14255551212", code: "UnsupportedMediaType", status: 415, title: "Unsupported media type"},
		{name: "BareJSONSuffix", contentType: "application/+json", body: numbersBody("+14255551212"), code: "UnsupportedMediaType", status: 415, title: "Unsupported media type"},
		{name: "UnparsableContentType", contentType: "application/json; charset", body: numbersBody("+14255551212"), code: "UnsupportedMediaType", status: 415, title: "Unsupported media type"},
		// Media types are ASCII tokens: mime.ParseMediaType would lower-case
		// the Kelvin sign (U+212A) to "k" and accept the type.
		{name: "NonASCIIContentType", contentType: "application/vnd.\u212Ax+json", body: numbersBody("+14255551212"), code: "UnsupportedMediaType", status: 415, title: "Unsupported media type"},
		{name: "Latin1Charset", contentType: "application/json; charset=iso-8859-1", body: numbersBody("+14255551212"), code: "UnsupportedMediaType", status: 415, title: "Unsupported media type"},
		{name: "GzipEncoding", hdr: []string{"Content-Encoding", "gzip"}, body: numbersBody("+14255551212"), code: "UnsupportedMediaType", status: 415, title: "Unsupported media type"},
		{name: "OverLimitAnnounced", body: tooBig, code: "RequestTooLarge", status: 413, title: "Request too large", detail: "The request body is larger than 1048576 bytes."},
		{name: "OverLimitUnannounced", body: tooBig, unknownLen: true, code: "RequestTooLarge", status: 413, title: "Request too large", detail: "The request body is larger than 1048576 bytes."},
	}
	for _, br := range batchRoutes {
		for _, tt := range tests {
			t.Run(br.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t)
				before := f.snapshot(t)
				ct := tt.contentType
				switch ct {
				case "":
					ct = "application/json"
				case "-":
					ct = ""
				}
				var body io.Reader = strings.NewReader(tt.body)
				if tt.unknownLen {
					body = struct{ io.Reader }{body} // hides the length from NewRequest
				}
				rec := f.send(t, request{method: http.MethodPost, target: br.route + "?q=1", contentType: ct, body: body, hdr: tt.hdr})
				got := problem(t, rec)
				want := wantProblem(tt.code, tt.status, tt.title, tt.detail, br.route, tt.errs)
				var opts []cmp.Option
				if tt.detail == "" {
					if got.Detail == "" {
						t.Error("empty detail")
					}
					opts = append(opts, cmpopts.IgnoreFields(httpapi.Problem{}, "Detail"))
				}
				if diff := cmp.Diff(want, got, opts...); diff != "" {
					t.Errorf("problem (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
					t.Errorf("store changed by a %d (-before +after):\n%s", rec.Code, diff)
				}
			})
		}
	}
}

// TestBatchAccepts checks the edges that must pass: the body limit exactly,
// 500 numbers, any +json type, unknown and differently-cased members.
func TestBatchAccepts(t *testing.T) {
	exact := numbersBody("+14255551212")
	exact += strings.Repeat(" ", httpapi.DefaultMaxBodyBytes-len(exact))
	tests := []struct {
		name, contentType, body string
		processed               int
	}{
		{"BodyOfExactlyTheLimit", "application/json", exact, 1},
		{"500Numbers", "application/json", numbersBody(numbersN(500)...), 500},
		{"VendorJSONType", "application/vnd.ocnumbers.v3+json; charset=UTF-8", numbersBody("+14255551212"), 1},
		{"UpperCaseType", "APPLICATION/JSON", numbersBody("+14255551212"), 1},
		{"UnknownMembersIgnored", "application/json", `{"a": 1, "telephoneNumbers": ["+14255551212"], "b": {"telephoneNumbers": 5}}`, 1},
		{"MemberNameAnyCase", "application/json", `{"TelephoneNumbers": ["+14255551212"]}`, 1},
		{"LookAlikeMemberIsUnknown", "application/json", "{\"telephoneNumbers\": [\"+14255551212\"], \"telephoneNumber\u017f\": [\"+14255551213\"]}", 1},
		{"IdentityEncoding", "application/json", numbersBody("+14255551212"), 1},
	}
	for _, br := range batchRoutes {
		for _, tt := range tests {
			t.Run(br.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t)
				var hdr []string
				if tt.name == "IdentityEncoding" {
					hdr = []string{"Content-Encoding", "identity"}
				}
				rec := f.do(t, http.MethodPost, br.route, tt.contentType, tt.body, hdr...)
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d, body %s", rec.Code, rec.Body)
				}
				var got httpapi.Envelope
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got.Data.ProcessedCount != tt.processed {
					t.Errorf("processedCount %d, want %d", got.Data.ProcessedCount, tt.processed)
				}
			})
		}
	}
}

// TestRouting checks 404 and 405 are problems too, with Allow, and that
// unclean paths are not redirected.
func TestRouting(t *testing.T) {
	tests := []struct {
		name, method, target string
		status               int
		allow                string
	}{
		{"GetOnClear", http.MethodGet, httpapi.RouteClearRemovalStatus, 405, "POST"},
		{"PutOnReady", http.MethodPut, httpapi.RouteReadyForRemoval, 405, "POST"},
		{"DeleteOnSummary", http.MethodDelete, httpapi.RouteSummary, 405, "GET, HEAD"},
		{"PostOnSummary", http.MethodPost, httpapi.RouteSummary, 405, "GET, HEAD"},
		{"PostOnOpenAPI", http.MethodPost, httpapi.RouteOpenAPI, 405, "GET, HEAD"},
		{"UnknownPath", http.MethodGet, "/api/v3/oc/number", 404, ""},
		{"UnknownPathUnderNumbers", http.MethodGet, "/api/v3/oc/numbers/+14255551212/events", 404, ""},
		{"Root", http.MethodGet, "/", 404, ""},
		{"TrailingSlash", http.MethodPost, httpapi.RouteClearRemovalStatus + "/", 404, ""},
		{"DoubleSlash", http.MethodPost, "/api/v3/oc//action/clear-removal-status", 404, ""},
		{"DotSegment", http.MethodPost, "/api/v3/oc/x/../action/clear-removal-status", 404, ""},
		{"OtherCase", http.MethodPost, "/API/v3/oc/action/clear-removal-status", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			before := f.snapshot(t)
			rec := f.do(t, tt.method, tt.target, "application/json", numbersBody("+14255551212"))
			got := problem(t, rec)
			want := wantProblem("NotFound", 404, "Not found", "", tt.target, nil)
			if tt.status == 405 {
				want = wantProblem("MethodNotAllowed", 405, "Method not allowed", "", tt.target, nil)
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(httpapi.Problem{}, "Detail")); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
			if a := rec.Header().Get("Allow"); a != tt.allow {
				t.Errorf("Allow %q, want %q", a, tt.allow)
			}
			if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
				t.Errorf("store changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestSummary covers the tenant parameter's forms and errors.
func TestSummary(t *testing.T) {
	tests := []struct {
		name, query string
		want        removal.Summary
	}{
		{"AllTenants", "", removal.Summary{MarkedForRemovalCount: 3, ReadyForRemovalCount: 1, TotalCount: 4}},
		{"EmptyMeansAll", "?msTenantId=", removal.Summary{MarkedForRemovalCount: 3, ReadyForRemovalCount: 1, TotalCount: 4}},
		{"BareNameMeansAll", "?msTenantId", removal.Summary{MarkedForRemovalCount: 3, ReadyForRemovalCount: 1, TotalCount: 4}},
		{"TenantA", "?msTenantId=" + tenantA, removal.Summary{MarkedForRemovalCount: 2, TotalCount: 2}},
		{"TenantBNotOCExcluded", "?msTenantId=" + tenantB, removal.Summary{MarkedForRemovalCount: 1, ReadyForRemovalCount: 1, TotalCount: 2}},
		{"BracesUpperCase", "?msTenantId=%7B" + strings.ToUpper(tenantA) + "%7D", removal.Summary{MarkedForRemovalCount: 2, TotalCount: 2}},
		{"NameAnyCase", "?MSTENANTID=" + tenantA, removal.Summary{MarkedForRemovalCount: 2, TotalCount: 2}},
		{"UnknownTenant", "?msTenantId=00000000-0000-0000-0000-000000000001", removal.Summary{}},
		{"OtherParamsIgnored", "?x=%zz&msTenantId=" + tenantA + "&y", removal.Summary{MarkedForRemovalCount: 2, TotalCount: 2}},
		// The name matches in ASCII only: "m\u017fTenantId" (U+017F, long
		// s) is an unknown parameter, so it is ignored, also beside the real
		// one (no "given twice").
		{"LookAlikeNameIgnored", "?m%C5%BFTenantId=abc", removal.Summary{MarkedForRemovalCount: 3, ReadyForRemovalCount: 1, TotalCount: 4}},
		{"LookAlikeNameBesideTheName", "?m%C5%BFTenantId=" + tenantB + "&msTenantId=" + tenantA, removal.Summary{MarkedForRemovalCount: 2, TotalCount: 2}},
		{"LookAlikeNameUnescaped", "?m\u017fTenantId=abc", removal.Summary{MarkedForRemovalCount: 3, ReadyForRemovalCount: 1, TotalCount: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.do(t, http.MethodGet, httpapi.RouteSummary+tt.query, "", "")
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q, body %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			var got removal.Summary
			dec := json.NewDecoder(rec.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSummaryBadTenant(t *testing.T) {
	guidMsg := func(v string) map[string][]string {
		return map[string][]string{"msTenantId": {"msTenantId has not a Guid format: " + fmt.Sprintf("%q", v)}}
	}
	repeated := map[string][]string{"msTenantId": {"msTenantId is given 2 times; give it at most once"}}
	tests := []struct {
		name, query, detail string
		errs                map[string][]string
	}{
		{"NotAGUID", "?msTenantId=abc", "msTenantId has not a Guid format", guidMsg("abc")},
		{"NoHyphens", "?msTenantId=6f1c2b9e3d4a4b8c9e7f0a1b2c3d4e5f", "msTenantId has not a Guid format", guidMsg("6f1c2b9e3d4a4b8c9e7f0a1b2c3d4e5f")},
		{"SpacePadded", "?msTenantId=+" + tenantA, "msTenantId has not a Guid format", guidMsg(" " + tenantA)},
		{"BadEscape", "?msTenantId=%zz", "msTenantId has not a Guid format", guidMsg("%zz")},
		{"Repeated", "?msTenantId=" + tenantA + "&msTenantId=" + tenantA, "msTenantId is given 2 times; give it at most once", repeated},
		{"RepeatedEmpty", "?msTenantId=&msTenantId=", "msTenantId is given 2 times; give it at most once", repeated},
		{"RepeatedOtherCase", "?msTenantId=" + tenantA + "&mstenantid=" + tenantB, "msTenantId is given 2 times; give it at most once", repeated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rec := f.do(t, http.MethodGet, httpapi.RouteSummary+tt.query, "", "")
			want := wantProblem("InvalidTenantId", 400, "Invalid msTenantId", tt.detail, httpapi.RouteSummary, tt.errs)
			if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProblemFields checks traceId, instance and that the ticket is logged.
func TestProblemFields(t *testing.T) {
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name   string
		tp     []string // traceparent values
		wantID string   // "" means a generated one
	}{
		{"ValidTraceparent", []string{"00-" + tid + "-00f067aa0ba902b7-01"}, tid},
		{"FutureVersionWithMore", []string{"cc-" + tid + "-00f067aa0ba902b7-01-what-the-future-holds"}, tid},
		{"NoTraceparent", nil, ""},
		{"UpperCaseHex", []string{"00-" + strings.ToUpper(tid) + "-00f067aa0ba902b7-01"}, ""},
		{"VersionFF", []string{"ff-" + tid + "-00f067aa0ba902b7-01"}, ""},
		{"ZeroTraceID", []string{"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, ""},
		{"ZeroParentID", []string{"00-" + tid + "-0000000000000000-01"}, ""},
		{"Version00TooLong", []string{"00-" + tid + "-00f067aa0ba902b7-01-x"}, ""},
		{"TwoHeaders", []string{"00-" + tid + "-00f067aa0ba902b7-01", "00-" + tid + "-00f067aa0ba902b8-01"}, ""},
		{"Short", []string{"00-" + tid[:31] + "-00f067aa0ba902b7-01"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var hdr []string
			for _, v := range tt.tp {
				hdr = append(hdr, "traceparent", v)
			}
			rec := f.do(t, http.MethodGet, httpapi.RouteSummary+"?msTenantId=x&other=1", "", "", hdr...)
			var p httpapi.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Instance != httpapi.RouteSummary {
				t.Errorf("instance %q, want %q", p.Instance, httpapi.RouteSummary)
			}
			if tt.wantID != "" && p.TraceID != tt.wantID {
				t.Errorf("traceId %q, want %q", p.TraceID, tt.wantID)
			}
			if tt.wantID == "" && (p.TraceID == tid || !traceRE.MatchString(p.TraceID)) {
				t.Errorf("traceId %q, want a generated 32-hex id", p.TraceID)
			}
			lines := f.logs.lines(t)
			if len(lines) != 1 || lines[0]["errorTicket"] != p.ErrorTicket || lines[0]["traceId"] != p.TraceID {
				t.Errorf("log %v does not carry errorTicket %q and traceId %q", lines, p.ErrorTicket, p.TraceID)
			}
		})
	}
}

// TestMountedUnderBasePath serves the handler under a prefix with
// http.StripPrefix: routes work and instance is the original path.
func TestMountedUnderBasePath(t *testing.T) {
	f := newFixture(t)
	mux := http.NewServeMux()
	mux.Handle("/numbers-api/", http.StripPrefix("/numbers-api", f.h))
	f.h, f.base = mux, "/numbers-api"

	rec := f.post(t, httpapi.RouteClearRemovalStatus, numbersBody("+14255551212"))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	if got := f.status(t, "+14255551212"); got != removal.Active {
		t.Errorf("status %s, want Active", got)
	}
	rec = f.post(t, httpapi.RouteReadyForRemoval+"?a=b", `{}`)
	want := wantProblem("NullRequestBody", 400, "Request body is null", "the request must contain a telephoneNumbers array, not null",
		"/numbers-api"+httpapi.RouteReadyForRemoval, map[string][]string{"telephoneNumbers": {"the request must contain a telephoneNumbers array, not null"}})
	if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
	rec = f.do(t, http.MethodGet, "/api/v3/oc/nope", "", "")
	if p := problem(t, rec); p.ErrorCode != "NotFound" || p.Instance != "/numbers-api/api/v3/oc/nope" {
		t.Errorf("got %+v, want NotFound at /numbers-api/api/v3/oc/nope", p)
	}
}

// TestInternalError checks a store failure is a 500 without internal text,
// logged with its ticket.
func TestInternalError(t *testing.T) {
	tests := []struct{ name, method, route, body string }{
		{"ClearRemovalStatus", http.MethodPost, httpapi.RouteClearRemovalStatus, numbersBody("+14255551212")},
		{"ReadyForRemoval", http.MethodPost, httpapi.RouteReadyForRemoval, numbersBody("+14255551212")},
		{"Summary", http.MethodGet, httpapi.RouteSummary, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureOn(t, func(*memstore.Store) removal.Store { return failingStore{} })
			rec := f.do(t, tt.method, tt.route, "application/json", tt.body)
			if strings.Contains(rec.Body.String(), "SECRET") || strings.Contains(rec.Body.String(), "pq:") {
				t.Errorf("body leaks the internal error: %s", rec.Body)
			}
			got := problem(t, rec)
			var p httpapi.Problem
			json.Unmarshal(rec.Body.Bytes(), &p)
			want := wantProblem("InternalError", 500, "Internal error", "An internal error occurred. Quote the errorTicket when reporting it.", tt.route, nil)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
			var logged bool
			for _, l := range f.logs.lines(t) {
				if l["level"] == "ERROR" && l["errorTicket"] == p.ErrorTicket && strings.Contains(fmt.Sprint(l["error"]), "SECRET-INTERNAL") {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no ERROR log line with ticket %s and the store's error", p.ErrorTicket)
			}
		})
	}
}

// TestStoreBusy checks a store that gives up waiting for a lock
// (removal.ErrStoreBusy) is a 503 StoreBusy with Retry-After, never a 500:
// on both batch routes (with the part applied before it gave up in the
// detail and the log), on the summary, and from a limiter on a busy store.
func TestStoreBusy(t *testing.T) {
	tests := []struct {
		name, method, route, body string
		limiter                   httpapi.Limiter
		detail                    string
		logged                    map[string]any // the Warn line, without time, ticket and trace
	}{
		{name: "ClearRemovalStatus", method: http.MethodPost, route: httpapi.RouteClearRemovalStatus,
			body:   numbersBody("+14255551212", "+14255551213", "+14255551214"),
			detail: "The store is busy; it gave up after 1 of 3 numbers were processed (1 succeeded), and the others are unchanged. Retry after 1 second.",
			logged: map[string]any{"level": "WARN", "msg": "store busy", "route": httpapi.RouteClearRemovalStatus,
				"requestedCount": 3.0, "processedCount": 1.0, "successCount": 1.0, "error": errBusy.Error()}},
		{name: "ReadyForRemoval", method: http.MethodPost, route: httpapi.RouteReadyForRemoval,
			body:   numbersBody("+14255551214", "+14255551213"),
			detail: "The store is busy; it gave up after 1 of 2 numbers were processed (0 succeeded), and the others are unchanged. Retry after 1 second.",
			logged: map[string]any{"level": "WARN", "msg": "store busy", "route": httpapi.RouteReadyForRemoval,
				"requestedCount": 2.0, "processedCount": 1.0, "successCount": 0.0, "error": errBusy.Error()}},
		{name: "Summary", method: http.MethodGet, route: httpapi.RouteSummary,
			detail: "The store is busy. Retry after 1 second.",
			logged: map[string]any{"level": "WARN", "msg": "store busy", "route": httpapi.RouteSummary,
				"requestedCount": 0.0, "processedCount": 0.0, "successCount": 0.0, "error": errBusy.Error()}},
		{name: "Limiter", method: http.MethodPost, route: httpapi.RouteReadyForRemoval, limiter: busyLimiter{},
			body:   numbersBody("+14255551212"),
			detail: "The store is busy. Retry after 1 second.",
			logged: map[string]any{"level": "WARN", "msg": "store busy", "route": httpapi.RouteReadyForRemoval,
				"requestedCount": 0.0, "processedCount": 0.0, "successCount": 0.0, "error": "rate limiter: " + errBusy.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []httpapi.Option
			if tt.limiter != nil {
				opts = append(opts, httpapi.WithRateLimiter(tt.limiter))
			}
			f := newFixtureOn(t, func(st *memstore.Store) removal.Store { return busyStore{Store: st, part: 1} }, opts...)
			before := f.snapshot(t)
			rec := f.do(t, tt.method, tt.route, "application/json", tt.body)
			if strings.Contains(rec.Body.String(), "SECRET") {
				t.Errorf("body leaks the store's error: %s", rec.Body)
			}
			if ra := rec.Header().Get("Retry-After"); ra != "1" {
				t.Errorf("Retry-After %q, want 1", ra)
			}
			got := problem(t, rec)
			want := wantProblem("StoreBusy", 503, "Store busy", tt.detail, tt.route, nil)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
			var warn map[string]any
			for _, l := range f.logs.lines(t) {
				if l["level"] == "WARN" {
					warn = l
				}
				if l["level"] == "ERROR" {
					t.Errorf("a busy store is logged as an internal error: %v", l)
				}
			}
			delete(warn, "time")
			delete(warn, "errorTicket")
			delete(warn, "traceId")
			if diff := cmp.Diff(tt.logged, warn); diff != "" {
				t.Errorf("warn line (-want +got):\n%s", diff)
			}
			after := f.snapshot(t)
			if tt.name == "ClearRemovalStatus" {
				before["+14255551212"] = after["+14255551212"] // the one number applied
				if after["+14255551212"].Status != removal.Active {
					t.Errorf("+14255551212: %s, want Active (applied before the store gave up)", after["+14255551212"].Status)
				}
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("store changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestErrorCodes pins the error-code table: each code's status, and the
// request-level codes shared with package removal.
func TestErrorCodes(t *testing.T) {
	if httpapi.CodeInvalidRequestBody != removal.CodeInvalidRequestBody {
		t.Errorf("CodeInvalidRequestBody %q, removal's %q", httpapi.CodeInvalidRequestBody, removal.CodeInvalidRequestBody)
	}
	want := map[string]int{
		"NullRequestBody": 400, "InvalidRequestBody": 400, "BatchSizeOutOfRange": 400, "InvalidTelephoneNumber": 400,
		"DuplicateTelephoneNumber": 400, "InvalidTenantId": 400, "InvalidQueryParameter": 400,
		"UnsupportedMediaType": 415, "RequestTooLarge": 413, "MethodNotAllowed": 405, "NotFound": 404,
		"RateLimitExceeded": 429, "InternalError": 500, "ServiceUnavailable": 503, "StoreBusy": 503,
		"RequestCancelled": 503, "NumberNotFound": 404, "ReconcileGuard": 409,
	}
	got := map[string]int{}
	for _, c := range httpapi.ErrorCodes() {
		got[c] = httpapi.StatusOf(c)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("codes and statuses (-want +got):\n%s", diff)
	}
	if httpapi.CodeStoreBusy != "StoreBusy" || httpapi.CodeServiceUnavailable != "ServiceUnavailable" {
		t.Errorf("CodeStoreBusy %q, CodeServiceUnavailable %q", httpapi.CodeStoreBusy, httpapi.CodeServiceUnavailable)
	}
}

// errReader fails mid-body, like a client that drops the connection.
type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	r.n--
	p[0] = '{'
	return 1, nil
}

// TestBodyEdges checks a custom body limit, an unreadable body, HEAD on the
// summary, and instance for a request built without a RequestURI.
func TestBodyEdges(t *testing.T) {
	t.Run("CustomLimit", func(t *testing.T) {
		f := newFixture(t, httpapi.WithMaxBodyBytes(64))
		body := numbersBody("+14255551212")
		body += strings.Repeat(" ", 64-len(body))
		if rec := f.post(t, httpapi.RouteClearRemovalStatus, body); rec.Code != http.StatusOK {
			t.Errorf("64-byte body: status %d, body %s", rec.Code, rec.Body)
		}
		rec := f.post(t, httpapi.RouteClearRemovalStatus, body+" ")
		want := wantProblem("RequestTooLarge", 413, "Request too large", "The request body is larger than 64 bytes.", httpapi.RouteClearRemovalStatus, nil)
		if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
			t.Errorf("65-byte body (-want +got):\n%s", diff)
		}
	})
	t.Run("UnreadableBody", func(t *testing.T) {
		f := newFixture(t)
		before := f.snapshot(t)
		rec := f.send(t, request{method: http.MethodPost, target: httpapi.RouteReadyForRemoval, contentType: "application/json", body: &errReader{n: 3}})
		want := wantProblem("InvalidRequestBody", 400, "Invalid request body", "The request body could not be read completely.", httpapi.RouteReadyForRemoval, nil)
		if diff := cmp.Diff(want, problem(t, rec)); diff != "" {
			t.Errorf("problem (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(before, f.snapshot(t)); diff != "" {
			t.Errorf("store changed (-before +after):\n%s", diff)
		}
	})
	t.Run("Head", func(t *testing.T) {
		// GET routes answer HEAD with GET's status and headers, no body;
		// POST routes refuse it. (f.do checks each against the document's
		// head operations.)
		f := newFixture(t)
		for _, c := range []struct {
			target, contentType string
			status              int
		}{
			{httpapi.RouteSummary, "application/json", 200},
			{httpapi.RouteSummary + "?msTenantId=x", "application/problem+json", 400},
			{httpapi.RouteOpenAPI, "application/yaml", 200},
			{httpapi.RouteClearRemovalStatus, "application/problem+json", 405},
		} {
			get := f.do(t, http.MethodGet, c.target, "", "")
			rec := f.do(t, http.MethodHead, c.target, "", "")
			if rec.Code != c.status || rec.Header().Get("Content-Type") != c.contentType || rec.Body.Len() != 0 {
				t.Errorf("HEAD %s: status %d, Content-Type %q, %d body bytes", c.target, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
			}
			if c.status != 405 && rec.Header().Get("Content-Length") != get.Header().Get("Content-Length") {
				t.Errorf("HEAD %s: Content-Length %q, GET's %q", c.target, rec.Header().Get("Content-Length"), get.Header().Get("Content-Length"))
			}
		}
	})
	t.Run("NoRequestURI", func(t *testing.T) {
		f := newFixture(t)
		req, err := http.NewRequest(http.MethodGet, "http://example.test"+httpapi.RouteSummary+"?msTenantId=x", nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if p := problem(t, rec); p.Instance != httpapi.RouteSummary {
			t.Errorf("instance %q, want %q", p.Instance, httpapi.RouteSummary)
		}
	})
}

// TestErrorsInProblemOrder checks that the members of errors come in the
// order of the problems (telephoneNumbers[2] before [10]; purge's fields in
// the route's order), not sorted as text.
func TestErrorsInProblemOrder(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ route, body, want string }{
		{httpapi.RouteReadyForRemoval, `{"telephoneNumbers":["a","+14255551212","b","+14255551213","c","+14255551214","+14255551215","+14255551216","+14255551217","+14255551218","d","e"]}`,
			"telephoneNumbers[0] telephoneNumbers[2] telephoneNumbers[4] telephoneNumbers[10] telephoneNumbers[11]"},
		{httpapi.RoutePurge, `{"olderThanDays":-1,"limit":0,"msTenantId":"x"}`, "olderThanDays limit msTenantId"},
	}
	for _, tt := range tests {
		rec := f.post(t, tt.route, tt.body)
		var raw struct {
			Errors json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw.Errors))
		var keys []string
		dec.Token() // {
		for dec.More() {
			k, _ := dec.Token()
			keys = append(keys, k.(string))
			var v []string
			if err := dec.Decode(&v); err != nil || len(v) == 0 {
				t.Fatalf("%s: errors[%v] = %v, %v", tt.route, k, v, err)
			}
		}
		if got := strings.Join(keys, " "); got != tt.want {
			t.Errorf("%s: errors members %q, want %q", tt.route, got, tt.want)
		}
	}
}
