package memstore

// table maps the keys of stored numbers (e164.Number.Key, never 0) to
// record ids: open addressing with linear probing in a power-of-two array
// at most half full, deletion by shifting the following entries back. It
// holds no pointer and, for a status change, costs one probe where Go's map
// costs several memory reads.
type table struct {
	slots []slot
	n     int
	shift uint // 64 - log2(len(slots))
}

type slot struct {
	key uint64 // 0: empty
	id  int32
}

func (t *table) home(k uint64) int {
	return int((k * 0x9E3779B97F4A7C15) >> t.shift)
}

// get returns the id stored for k.
func (t *table) get(k uint64) (int32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & mask {
		switch s := t.slots[i]; s.key {
		case k:
			return s.id, true
		case 0:
			return 0, false
		}
	}
}

// put stores id for k, which is not in t.
func (t *table) put(k uint64, id int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	i := t.home(k)
	for t.slots[i].key != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = slot{k, id}
	t.n++
}

// del removes k, which is in t.
func (t *table) del(k uint64) {
	mask := len(t.slots) - 1
	i := t.home(k)
	for t.slots[i].key != k {
		i = (i + 1) & mask
	}
	// Shift back the entries of the run after i that may sit at i.
	for j := (i + 1) & mask; t.slots[j].key != 0; j = (j + 1) & mask {
		h := t.home(t.slots[j].key)
		// The entry at j may move to i when i lies on its way from its
		// home h to j (cyclically).
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = slot{}
	t.n--
}

func (t *table) grow() {
	old := t.slots
	size := max(16, 2*len(old))
	t.slots = make([]slot, size)
	t.shift = 64
	for s := size; s > 1; s >>= 1 {
		t.shift--
	}
	t.n = 0
	for _, s := range old {
		if s.key != 0 {
			t.put(s.key, s.id)
		}
	}
}

// each calls f for every entry.
func (t *table) each(f func(k uint64, id int32)) {
	for _, s := range t.slots {
		if s.key != 0 {
			f(s.key, s.id)
		}
	}
}
