package removal_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/memstore"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

const tenantX = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// countingStore is a memstore that counts the calls made to it, to show
// that a refused request reads and writes nothing.
type countingStore struct {
	*memstore.Store
	calls atomic.Int64
}

func (c *countingStore) Apply(ctx context.Context, ns []e164.Number, ch removal.Change) ([]removal.Outcome, error) {
	c.calls.Add(1)
	return c.Store.Apply(ctx, ns, ch)
}

func (c *countingStore) Delete(ctx context.Context, ns []e164.Number, at time.Time) ([]removal.Outcome, error) {
	c.calls.Add(1)
	return c.Store.Delete(ctx, ns, at)
}

func (c *countingStore) Get(ctx context.Context, n e164.Number) (removal.Number, error) {
	c.calls.Add(1)
	return c.Store.Get(ctx, n)
}

func (c *countingStore) GetMany(ctx context.Context, ns []e164.Number) ([]removal.Number, error) {
	c.calls.Add(1)
	return c.Store.GetMany(ctx, ns)
}

func (c *countingStore) ListNumbers(ctx context.Context, q removal.NumberQuery) ([]removal.Number, error) {
	c.calls.Add(1)
	return c.Store.ListNumbers(ctx, q)
}

func (c *countingStore) CountByStatus(ctx context.Context, tenant string, ss []removal.NumberStatus) ([]int, error) {
	c.calls.Add(1)
	return c.Store.CountByStatus(ctx, tenant, ss)
}

func (c *countingStore) History(ctx context.Context, n e164.Number, offset, limit int) ([]removal.Event, int, error) {
	c.calls.Add(1)
	return c.Store.History(ctx, n, offset, limit)
}

func (c *countingStore) PruneHistory(ctx context.Context, before time.Time) (int, error) {
	c.calls.Add(1)
	return c.Store.PruneHistory(ctx, before)
}

// newCounting returns a counting memstore holding count Operator Connect
// numbers of tenantX from +14255550000, in status s, and a Service on it.
func newCounting(t *testing.T, count int, s removal.NumberStatus) (*countingStore, *removal.Service) {
	t.Helper()
	st := &countingStore{Store: memstore.New()}
	var recs []store.Number
	for i := range count {
		recs = append(recs, store.Number{TelephoneNumber: e164.Number(fmt.Sprintf("+1425555%04d", i)), MSTenantID: tenantX,
			OperatorConnect: true, Status: s, StatusChangedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	if _, err := st.Import(t.Context(), recs, store.ImportOptions{At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	st.calls.Store(0)
	return st, removal.NewService(st, removal.WithClock(func() time.Time { return clock }))
}

var cmpEmpty = cmpopts.EquateEmpty()

// problem is what a test fixes of a removal.Problem.
type problem struct {
	Field, Value, Code string
	Index              int
}

func wantProblems(t *testing.T, err error, want ...problem) {
	t.Helper()
	var ve *removal.ValidationError
	if !errors.Is(err, removal.ErrInvalidRequest) || !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *removal.ValidationError", err)
	}
	var got []problem
	for _, p := range ve.Problems {
		got = append(got, problem{p.Field, p.Value, p.Code, p.Index})
		if p.Message == "" {
			t.Errorf("problem %s has no message", p.Field)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
	if removal.ErrorCode(err) != want[0].Code {
		t.Errorf("ErrorCode = %q, want %q", removal.ErrorCode(err), want[0].Code)
	}
}

func TestListValidation(t *testing.T) {
	const q = removal.CodeInvalidQueryParameter
	for _, tc := range []struct {
		name string
		q    removal.ListQuery
		want []problem
	}{
		{"PageNumberNegative", removal.ListQuery{PageNumber: -1}, []problem{{"pageNumber", "-1", q, -1}}},
		{"PageNumberMinInt", removal.ListQuery{PageNumber: math.MinInt}, []problem{{"pageNumber", strconv.Itoa(math.MinInt), q, -1}}},
		{"PageSizeNegative", removal.ListQuery{PageSize: -1}, []problem{{"pageSize", "-1", q, -1}}},
		{"PageSize1001", removal.ListQuery{PageSize: 1001}, []problem{{"pageSize", "1001", q, -1}}},
		{"BothPaging", removal.ListQuery{PageNumber: -2, PageSize: 5000}, []problem{{"pageNumber", "-2", q, -1}, {"pageSize", "5000", q, -1}}},
		{"AfterWithPage2", removal.ListQuery{After: "+14255550000", PageNumber: 2}, []problem{{"pageNumber", "2", q, -1}}},
		{"AfterNotE164", removal.ListQuery{After: "14255550000"}, []problem{{"after", "14255550000", q, -1}}},
		{"AfterShort", removal.ListQuery{After: "+142"}, []problem{{"after", "+142", q, -1}}},
		{"AfterBadAndPage3", removal.ListQuery{After: "x", PageNumber: 3}, []problem{{"after", "x", q, -1}, {"pageNumber", "3", q, -1}}},
		{"Status4", removal.ListQuery{Statuses: []removal.NumberStatus{removal.Active, 4}}, []problem{{"acquiredNumberStatus", "4", q, -1}}},
		{"StatusesBad", removal.ListQuery{Statuses: []removal.NumberStatus{-1, 7}}, []problem{{"acquiredNumberStatus", "-1", q, -1}, {"acquiredNumberStatus", "7", q, -1}}},
		{"StatusAndPage", removal.ListQuery{Statuses: []removal.NumberStatus{9}, PageSize: -1}, []problem{{"acquiredNumberStatus", "9", q, -1}, {"pageSize", "-1", q, -1}}},
		{"Tenant", removal.ListQuery{MSTenantID: "tenant-1"}, []problem{{"msTenantId", "tenant-1", removal.CodeInvalidTenantID, -1}}},
		{"TenantAndPageSize", removal.ListQuery{MSTenantID: "tenant-1", PageSize: -1}, []problem{
			{"msTenantId", "tenant-1", removal.CodeInvalidTenantID, -1}, {"pageSize", "-1", removal.CodeInvalidQueryParameter, -1}}},
		{"TenantNoHyphens", removal.ListQuery{MSTenantID: strings.ReplaceAll(tenantX, "-", "")}, []problem{{"msTenantId", strings.ReplaceAll(tenantX, "-", ""), removal.CodeInvalidTenantID, -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, svc := newCounting(t, 3, removal.Active)
			page, err := svc.List(t.Context(), tc.q)
			wantProblems(t, err, tc.want...)
			wantProblems(t, removal.ValidateListQuery(tc.q), tc.want...)
			if d := cmp.Diff(removal.NumberPage{}, page); d != "" {
				t.Errorf("page not zero (-want +got):\n%s", d)
			}
			if n := st.calls.Load(); n != 0 {
				t.Errorf("a refused List made %d store calls", n)
			}
		})
	}
}

func TestListPaging(t *testing.T) {
	_, svc := newCounting(t, 5, removal.MarkedForRemoval)
	all := []e164.Number{"+14255550000", "+14255550001", "+14255550002", "+14255550003", "+14255550004"}
	numbers := func(p removal.NumberPage) []e164.Number {
		out := []e164.Number{}
		for _, n := range p.Data {
			out = append(out, n.TelephoneNumber)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    removal.ListQuery
		want removal.NumberPage // Data left out: see data
		data []e164.Number
	}{
		{"Defaults", removal.ListQuery{}, removal.NumberPage{CurrentPage: 1, PageSize: 200, TotalPages: 1, TotalRecords: 5}, all},
		{"Size2", removal.ListQuery{PageSize: 2}, removal.NumberPage{CurrentPage: 1, PageSize: 2, TotalPages: 3, TotalRecords: 5, NextAfter: all[1]}, all[:2]},
		{"Size2Page3", removal.ListQuery{PageSize: 2, PageNumber: 3}, removal.NumberPage{CurrentPage: 3, PageSize: 2, TotalPages: 3, TotalRecords: 5}, all[4:]},
		{"Size5Page2", removal.ListQuery{PageSize: 5, PageNumber: 2}, removal.NumberPage{CurrentPage: 2, PageSize: 5, TotalPages: 1, TotalRecords: 5}, nil},
		{"Size5Page3", removal.ListQuery{PageSize: 5, PageNumber: 3}, removal.NumberPage{CurrentPage: 3, PageSize: 5, TotalPages: 1, TotalRecords: 5}, nil},
		{"Size1000", removal.ListQuery{PageSize: 1000}, removal.NumberPage{CurrentPage: 1, PageSize: 1000, TotalPages: 1, TotalRecords: 5}, all},
		{"PageMaxInt", removal.ListQuery{PageSize: 1000, PageNumber: math.MaxInt}, removal.NumberPage{CurrentPage: math.MaxInt, PageSize: 1000, TotalPages: 1, TotalRecords: 5}, nil},
		{"After", removal.ListQuery{PageSize: 2, After: string(all[1])}, removal.NumberPage{PageSize: 2, TotalPages: 3, TotalRecords: 5, NextAfter: all[3]}, all[2:4]},
		{"AfterPage1", removal.ListQuery{PageSize: 2, PageNumber: 1, After: string(all[2])}, removal.NumberPage{PageSize: 2, TotalPages: 3, TotalRecords: 5}, all[3:]},
		{"AfterLast", removal.ListQuery{After: string(all[4])}, removal.NumberPage{PageSize: 200, TotalPages: 1, TotalRecords: 5}, nil},
		{"StatusesTwice", removal.ListQuery{Statuses: []removal.NumberStatus{removal.MarkedForRemoval, removal.MarkedForRemoval}},
			removal.NumberPage{CurrentPage: 1, PageSize: 200, TotalPages: 1, TotalRecords: 5}, all},
		{"OtherStatus", removal.ListQuery{Statuses: []removal.NumberStatus{removal.Active}}, removal.NumberPage{CurrentPage: 1, PageSize: 200}, nil},
		{"TenantBraces", removal.ListQuery{MSTenantID: "{" + strings.ToUpper(tenantX) + "}", PageSize: 4},
			removal.NumberPage{CurrentPage: 1, PageSize: 4, TotalPages: 2, TotalRecords: 5, NextAfter: all[3]}, all[:4]},
		{"OtherTenant", removal.ListQuery{MSTenantID: "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}, removal.NumberPage{CurrentPage: 1, PageSize: 200}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := svc.List(t.Context(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got.Data == nil {
				t.Error("Data is nil; an empty page is []")
			}
			if d := cmp.Diff(tc.data, numbers(got), cmpEmpty); d != "" {
				t.Errorf("data (-want +got):\n%s", d)
			}
			got.Data = nil
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("page (-want +got):\n%s", d)
			}
		})
	}
}

func TestGet(t *testing.T) {
	_, svc := newCounting(t, 1, removal.Active)
	if n, err := svc.Get(t.Context(), "+14255550000"); err != nil || n.Status != removal.Active || n.MSTenantID != tenantX {
		t.Errorf("Get = %+v, %v", n, err)
	}
	if _, err := svc.Get(t.Context(), "+14255550001"); !errors.Is(err, removal.ErrNotFound) {
		t.Errorf("Get(absent) err = %v, want ErrNotFound", err)
	}
	_, err := svc.Get(t.Context(), "+1 425 555 0000")
	wantProblems(t, err, problem{"telephoneNumber", "+1 425 555 0000", removal.CodeInvalidTelephoneNumber, -1})
}
