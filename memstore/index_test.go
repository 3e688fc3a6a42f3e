package memstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ocnumbers/ocnumbers/e164"
	"github.com/ocnumbers/ocnumbers/removal"
	"github.com/ocnumbers/ocnumbers/store"
)

// checkIndexes verifies the structure of every index against the records:
// keys strictly ascending across chunks, first keys, chunk positions and
// ids, records naming their chunks, bitmaps and counts equal to the
// records' categories, totals, every record in its indexes once, and the
// history chains of stored numbers in their records.
func (s *Store) checkIndexes() error {
	check := func(name string, x *index, want map[int32]bool) error {
		var last uint64
		seen := 0
		var total [categories]int
		for i, c := range x.chunks {
			if c.i != i || x.byID[c.id] != c {
				return fmt.Errorf("%s: chunk %d thinks it is %d, id %d", name, i, c.i, c.id)
			}
			if len(c.keys) == 0 || len(c.keys) > maxChunk || len(c.keys) != len(c.recs) {
				return fmt.Errorf("%s: chunk %d holds %d keys and %d records", name, i, len(c.keys), len(c.recs))
			}
			if x.firsts[i] != c.keys[0] {
				return fmt.Errorf("%s: chunk %d first %d, keys[0] %d", name, i, x.firsts[i], c.keys[0])
			}
			var cnt [categories]uint32
			for p, k := range c.keys {
				id := c.recs[p]
				r := s.recs.at(id)
				if (i > 0 || p > 0) && k <= last {
					return fmt.Errorf("%s: key %d after %d", name, k, last)
				}
				last = k
				if r.key != k || r.ch[x.id] != c.id || !want[id] {
					return fmt.Errorf("%s: slot %d/%d holds %s (key %d, chunk ok %t, belongs %t)", name, i, p, r.telephoneNumber(), k, r.ch[x.id] == c.id, want[id])
				}
				if r.ver[x.id] == c.ver && int(r.slot[x.id]) != p {
					return fmt.Errorf("%s: %s remembers slot %d at version %d; it is at %d", name, r.telephoneNumber(), r.slot[x.id], c.ver, p)
				}
				cat := r.category()
				for b := range category(categories) {
					set := c.bits[p/64][b]&(1<<(p%64)) != 0
					if set != (b == cat) {
						return fmt.Errorf("%s: %s is of category %d, bit of %d is %t", name, r.telephoneNumber(), cat, b, set)
					}
				}
				cnt[cat]++
				total[cat]++
				seen++
			}
			for b := range categories {
				for w := range chunkWords {
					if w*64 >= len(c.keys) && c.bits[w][b] != 0 {
						return fmt.Errorf("%s: chunk %d has bits past its end", name, i)
					}
				}
			}
			if x.counts[i] != cnt {
				return fmt.Errorf("%s: chunk %d counts %v, records %v", name, i, x.counts[i], cnt)
			}
		}
		if total != x.total || seen != len(want) {
			return fmt.Errorf("%s: totals %v, records %v; %d records seen, %d expected", name, x.total, total, seen, len(want))
		}
		return nil
	}
	everyone := make(map[int32]bool)
	byTenant := make(map[int32]map[int32]bool)
	var bad error
	s.numbers.each(func(k uint64, id int32) {
		r := s.recs.at(id)
		if got, ok := s.numbers.get(k); !ok || got != id {
			bad = fmt.Errorf("the table does not find %d", k)
		}
		if r.dkey != k || orderKey(r.telephoneNumber()) != r.key {
			bad = fmt.Errorf("record %d: keys %d, %d under %d", id, r.dkey, r.key, k)
		}
		if s.chainAt[r.hist.id] != id || s.chainKeys[r.hist.id] != k {
			bad = fmt.Errorf("%s: its chain %d is not named as its", r.telephoneNumber(), r.hist.id)
		}
		everyone[id] = true
		if byTenant[r.tenant] == nil {
			byTenant[r.tenant] = make(map[int32]bool)
		}
		byTenant[r.tenant][id] = true
	})
	if bad != nil {
		return bad
	}
	if len(everyone) != s.numbers.n {
		return fmt.Errorf("the table holds %d numbers, %d distinct ids", s.numbers.n, len(everyone))
	}
	if err := check("all", &s.all.idx, everyone); err != nil {
		return err
	}
	for t, sc := range s.scopes {
		if sc == nil {
			continue
		}
		if err := check("tenant "+sc.id, &sc.idx, byTenant[int32(t)]); err != nil {
			return err
		}
	}
	for k, g := range s.gone {
		if _, stored := s.numbers.get(k); stored || s.chainAt[s.goneChains[g].id] != -g-1 {
			return fmt.Errorf("gone chain %d of %d is stored, or not named as its", g, k)
		}
	}
	// Every chain links exactly its events, newest written first.
	events := 0
	for id := range int32(len(s.chainAt)) {
		h := s.chainByID(id)
		n := int32(0)
		for i := h.head; i >= 0; i = s.log.at(i).prev {
			if e := s.log.at(i); e.chain != id || (e.prev >= i) {
				return fmt.Errorf("chain %d links event %d of chain %d (prev %d)", id, i, e.chain, e.prev)
			}
			n++
		}
		if h.id != id || n != h.n {
			return fmt.Errorf("chain %d (id %d) counts %d events, links %d", id, h.id, h.n, n)
		}
		events += int(n)
	}
	if events != s.log.n {
		return fmt.Errorf("the chains link %d events, the log holds %d", events, s.log.n)
	}
	return nil
}

func TestOrderKey(t *testing.T) {
	ns := []string{"+1425555", "+14255550", "+142555500", "+1425555000000", "+142555500000000", "+14255551",
		"+1999999", "+2000000", "+441234567", "+44123456789012", "+999999999999999", "+8613800138000", "+800123456"}
	for _, a := range ns {
		for _, b := range ns {
			ka, kb := orderKey(e164.Number(a)), orderKey(e164.Number(b))
			if (ka < kb) != (a < b) || (ka == kb) != (a == b) {
				t.Errorf("orderKey(%s) = %d, orderKey(%s) = %d; the strings compare %d", a, ka, b, kb, strings.Compare(a, b))
			}
		}
	}
}

func TestBitShifts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(maxChunk-1)
		var b [chunkWords][categories]uint64
		cat := category(r.IntN(categories))
		ref := make([]bool, n)
		for i := range ref {
			if r.IntN(3) == 0 {
				ref[i] = true
				b[i/64][cat] |= 1 << (i % 64)
			}
		}
		other := b
		p := r.IntN(n + 1)
		if r.IntN(2) == 0 && p < n {
			removeBit(&b, cat, p, n)
			ref = slices.Delete(ref, p, p+1)
		} else {
			insertBit(&b, cat, p, n+1)
			ref = slices.Insert(ref, p, false)
		}
		for w := range chunkWords {
			for c := range category(categories) {
				if c != cat && b[w][c] != other[w][c] {
					t.Fatalf("the bitmap of category %d changed", c)
				}
			}
		}
		for i := range chunkWords * 64 {
			got := b[i/64][cat]&(1<<(i%64)) != 0
			if want := i < len(ref) && ref[i]; got != want {
				t.Fatalf("n %d, p %d: bit %d = %t, want %t", n, p, i, got, want)
			}
		}
	}
}

// TestIndexAgainstScan runs random imports (inserting, moving between
// tenants, flipping the Operator Connect flag), batches and deletes over
// enough numbers to split and merge chunks, checking the indexes'
// structure and comparing random listings with a filter over every record.
func TestIndexAgainstScan(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 11))
	st := New()
	tenants := []string{"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "5d6e7f80-91a2-4b3c-9d4e-5f60718293a4", "b0c1d2e3-f4a5-4b6c-8d7e-f8091a2b3c4d"}
	const universe = 6000
	numberOf := func(i int) e164.Number {
		switch i % 3 {
		case 0:
			return e164.Number(fmt.Sprintf("+1425%07d", i))
		case 1:
			return e164.Number(fmt.Sprintf("+4420%06d", i))
		}
		return e164.Number(fmt.Sprintf("+1425%06d", i/3))
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rounds := 300
	if testing.Short() {
		rounds = 60
	}
	for round := range rounds {
		switch op := r.IntN(11); {
		case op < 4:
			var recs []store.Number
			for _, i := range r.Perm(universe)[:1+r.IntN(1500)] {
				recs = append(recs, store.Number{TelephoneNumber: numberOf(i), MSTenantID: tenants[r.IntN(3)], OperatorConnect: r.IntN(4) != 0,
					Status: removal.NumberStatus(r.IntN(4)), StatusChangedAt: at.Add(time.Duration(r.IntN(100)) * time.Second)})
			}
			mode := store.Merge
			if r.IntN(2) == 0 {
				mode = store.Replace
			}
			if _, err := st.Import(ctx, recs, store.ImportOptions{Mode: mode, At: at}); err != nil {
				t.Fatal(err)
			}
		case op < 7:
			var ns []e164.Number
			for _, i := range r.Perm(universe)[:1+r.IntN(500)] {
				ns = append(ns, numberOf(i))
			}
			a := removal.Actions()[r.IntN(5)]
			if _, err := st.Apply(ctx, ns, removal.Change{From: a.From(), To: a.To(), At: at, Event: a.Event()}); err != nil {
				t.Fatal(err)
			}
		case op == 7:
			if _, err := st.PruneHistory(ctx, at.Add(time.Duration(r.IntN(3))*time.Second)); err != nil {
				t.Fatal(err)
			}
			at = at.Add(time.Second)
		default:
			// Make most stored numbers ReadyForRemoval, then delete many,
			// so that chunks empty and merge.
			var ready []store.Number
			st.numbers.each(func(_ uint64, id int32) {
				if r.IntN(5) != 0 {
					rec := st.recs.at(id)
					n := st.number(rec.telephoneNumber(), rec)
					n.Status = removal.ReadyForRemoval
					ready = append(ready, n)
				}
			})
			if _, err := st.Import(ctx, ready, store.ImportOptions{Mode: store.Replace, At: at}); err != nil {
				t.Fatal(err)
			}
			var ns []e164.Number
			for _, i := range r.Perm(universe)[:1+r.IntN(universe)] {
				ns = append(ns, numberOf(i))
			}
			if _, err := st.Delete(ctx, ns, at); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.checkIndexes(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for range 5 {
			q := removal.NumberQuery{IncludeNotOperatorConnect: r.IntN(2) == 0, Limit: 1 + r.IntN(700), Offset: r.IntN(3) * r.IntN(2000)}
			if r.IntN(2) == 0 {
				q.MSTenantID = tenants[r.IntN(3)]
			}
			for _, s := range removal.Statuses() {
				if r.IntN(3) == 0 {
					q.Statuses = append(q.Statuses, s)
				}
			}
			if r.IntN(2) == 0 {
				q.After = numberOf(r.IntN(universe))
			}
			if r.IntN(4) == 0 {
				q.ChangedAtOrBefore = at.Add(time.Duration(r.IntN(100)) * time.Second)
			}
			got, err := st.ListNumbers(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var want []store.Number
			st.numbers.each(func(_ uint64, id int32) {
				rec := st.recs.at(id)
				if n := st.number(rec.telephoneNumber(), rec); q.Matches(n) {
					want = append(want, n)
				}
			})
			slices.SortFunc(want, func(a, b store.Number) int {
				return strings.Compare(string(a.TelephoneNumber), string(b.TelephoneNumber))
			})
			if q.Offset < len(want) {
				want = want[q.Offset:]
			} else {
				want = nil
			}
			want = want[:min(len(want), q.Limit)]
			if !slices.Equal(numbersOf(want), numbersOf(got)) {
				t.Fatalf("round %d: ListNumbers(%+v): %d numbers, a scan finds %d", round, q, len(got), len(want))
			}
		}
	}
}

func numbersOf(ns []store.Number) []e164.Number {
	out := make([]e164.Number, len(ns))
	for i, n := range ns {
		out[i] = n.TelephoneNumber
	}
	return out
}

func TestRecordLayout(t *testing.T) {
	if s := unsafe.Sizeof(record{}); s != 64 {
		t.Errorf("a record takes %d bytes, not one cache line", s)
	}
}

func TestTable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var tb table
	ref := make(map[uint64]int32)
	for step := range 200000 {
		// Few distinct keys, many collisions of homes: keys of a small
		// range and their multiples.
		k := uint64(1 + r.IntN(3000))
		if r.IntN(2) == 0 {
			k *= 1 << 40
		}
		if id, ok := ref[k]; ok {
			if r.IntN(2) == 0 {
				tb.del(k)
				delete(ref, k)
			} else if got, ok := tb.get(k); !ok || got != id {
				t.Fatalf("step %d: get(%d) = %d, %t; want %d", step, k, got, ok, id)
			}
		} else {
			if _, ok := tb.get(k); ok {
				t.Fatalf("step %d: get(%d) found a key never put or deleted", step, k)
			}
			tb.put(k, int32(step))
			ref[k] = int32(step)
		}
		if step%20000 == 0 || step == 199999 {
			if tb.n != len(ref) {
				t.Fatalf("step %d: %d entries, want %d", step, tb.n, len(ref))
			}
			for k, id := range ref {
				if got, ok := tb.get(k); !ok || got != id {
					t.Fatalf("step %d: get(%d) = %d, %t; want %d", step, k, got, ok, id)
				}
			}
		}
	}
}
