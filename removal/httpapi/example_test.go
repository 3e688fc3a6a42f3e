package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/removal/httpapi"
	"github.com/ocnumbers/ocnumbers/store"
)

// The handler mounted under a base path: one number is cleared, the other
// was never marked for removal.
func Example() {
	st := memstore.New()
	st.Put(context.Background(),
		store.Number{TelephoneNumber: "+14255551212", MSTenantID: "6f1c2b9e-3d4a-4b8c-9e7f-0a1b2c3d4e5f", OperatorConnect: true, Status: removal.MarkedForRemoval},
		store.Number{TelephoneNumber: "+14255551213", MSTenantID: "6f1c2b9e-3d4a-4b8c-9e7f-0a1b2c3d4e5f", OperatorConnect: true, Status: removal.Active},
	)
	mux := http.NewServeMux()
	mux.Handle("/numbers/", http.StripPrefix("/numbers", httpapi.New(removal.NewService(st))))

	req := httptest.NewRequest(http.MethodPost, "/numbers"+httpapi.RouteClearRemovalStatus,
		strings.NewReader(`{"telephoneNumbers": ["+14255551212", "+14255551213"]}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body)

	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/numbers"+httpapi.RouteSummary, nil))
	fmt.Println(rec.Body)
	// Output:
	// 200 application/json
	// {"data":{"processedCount":2,"successCount":1,"failures":[{"telephoneNumber":"+14255551213","errorCode":"InvalidStatus","currentStatus":"Active","detail":"+14255551213 is Active; clear removal status applies only to MarkedForRemoval numbers"}]},"status":"partialSuccess","succeeded":false,"message":"Removal status cleared for 1 of 2 numbers; 1 failed"}
	// {"markedForRemovalCount":0,"readyForRemovalCount":0,"totalCount":0}
}

// A validation problem: every bad number is listed by its index. (The
// traceId comes from the traceparent header; errorTicket is random and is
// left out here.)
func Example_problem() {
	h := httpapi.New(removal.NewService(memstore.New()))
	req := httptest.NewRequest(http.MethodPost, httpapi.RouteReadyForRemoval,
		strings.NewReader(`{"telephoneNumbers": ["+14255551212", "4255551213", "+14255551212"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	body := rec.Body.String()
	i := strings.Index(body, `,"errorTicket"`)
	j := strings.Index(body, `,"errors"`)
	fmt.Println(body[:i] + body[j:])
	// Output:
	// 400 application/problem+json
	// {"type":"https://ocnumbers.dev/problems/InvalidTelephoneNumber","title":"Invalid telephone number","status":400,"detail":"The request has 2 problems, all listed in errors; the first: \"4255551213\" is not a valid E.164 number: missing leading '+'","instance":"/api/v3/oc/numbers/action/ready-for-removal","errorCode":"InvalidTelephoneNumber","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","errors":{"telephoneNumbers[1]":["\"4255551213\" is not a valid E.164 number: missing leading '+'"],"telephoneNumbers[2]":["\"+14255551212\" appears twice: at telephoneNumbers[0] and telephoneNumbers[2]"]}}
}
