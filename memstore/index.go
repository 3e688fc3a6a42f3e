package memstore

import (
	"math/bits"

	"github.com/ocnumbers/ocnumbers/e164"
)

// orderKey maps a telephone number to a uint64 whose order is the byte
// order of the E.164 strings: the up to 15 digits after '+' as 15 base-11
// positions, digit d as d+1 and a missing position as 0, so that a number
// sorts after its own prefix. 11^15 < 2^64.
func orderKey(n e164.Number) uint64 {
	var k uint64
	for i := 1; i <= e164.MaxDigits; i++ {
		k *= 11
		if i < len(n) {
			k += uint64(n[i]-'0') + 1
		}
	}
	return k
}

// A category is what a listing filters on besides the tenant: the status,
// and whether the number is Operator Connect (bit 2).
type category uint8

const categories = 8

const (
	maxChunk   = 512           // keys per chunk at most
	chunkWords = maxChunk / 64 // words of a chunk's bitmap
	mergeBelow = maxChunk / 4  // a chunk this small after a removal merges with a neighbour
)

// chunk is a sorted run of at most maxChunk records of one index, with a
// bitmap per category of which slots hold a record of it. Word w of every
// category's bitmap shares one cache line: a status change touches one.
type chunk struct {
	i    int    // position in the index's chunks
	id   int32  // index in the index's byID, which records name it by
	ver  uint32 // changes when records move to other slots
	bits [chunkWords][categories]uint64
	keys []uint64 // ascending
	recs []int32  // recs[i], a record id, has keys[i]
}

// index is an ordered set of records: sorted chunks, found by binary search
// on their first keys, with the count of each category per chunk kept in
// one array so that offset paging and sparse filters skip whole chunks
// without reading them. A record names its chunk in each index it is in
// (record.ch[id]); a status change flips two bits and two counters.
type index struct {
	id     int   // which record.ch slot holds a record's chunk in this index
	recs   *slab // the store's records
	chunks []*chunk
	byID   []*chunk             // by chunk id; nil for a free id
	free   []int32              // chunk ids free for reuse
	firsts []uint64             // firsts[i] == chunks[i].keys[0]
	counts [][categories]uint32 // counts[i][c]: records of category c in chunks[i]
	total  [categories]int
}

// chunkFor returns the position of the chunk k belongs in: the last whose
// first key is at most k, or 0.
func (x *index) chunkFor(k uint64) int {
	lo, hi := 0, len(x.firsts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.firsts[m] <= k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return max(lo-1, 0)
}

// search returns the first slot of c whose key is at least k.
func (c *chunk) search(k uint64) int {
	lo, hi := 0, len(c.keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.keys[m] < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (x *index) newChunk() *chunk {
	c := &chunk{keys: make([]uint64, 0, maxChunk), recs: make([]int32, 0, maxChunk)}
	if n := len(x.free); n > 0 {
		c.id, x.free = x.free[n-1], x.free[:n-1]
		x.byID[c.id] = c
	} else {
		c.id = int32(len(x.byID))
		x.byID = append(x.byID, c)
	}
	return c
}

// insert adds record id, whose key is not in x, in category cat.
func (x *index) insert(id int32, r *record, cat category) {
	if len(x.chunks) == 0 {
		x.addChunk(0, x.newChunk())
	}
	i := x.chunkFor(r.key)
	c := x.chunks[i]
	p := c.search(r.key)
	atEnd := i == len(x.chunks)-1 && p == len(c.keys)
	if len(c.keys) == maxChunk {
		// Full: split first. Appending at the very end (a sorted load)
		// starts a new chunk and leaves this one full.
		if atEnd {
			x.addChunk(i+1, x.newChunk())
			i, c, p = i+1, x.chunks[i+1], 0
		} else {
			x.split(i)
			if p > len(c.keys) {
				p -= len(c.keys)
				i++
				c = x.chunks[i]
			}
		}
	}
	c.keys = append(c.keys, 0)
	copy(c.keys[p+1:], c.keys[p:])
	c.keys[p] = r.key
	c.recs = append(c.recs, 0)
	copy(c.recs[p+1:], c.recs[p:])
	c.recs[p] = id
	n := len(c.keys)
	for b := range category(categories) {
		if x.counts[i][b] > 0 {
			insertBit(&c.bits, b, p, n)
		}
	}
	c.bits[p/64][cat] |= 1 << (p % 64)
	c.ver++
	x.counts[i][cat]++
	x.total[cat]++
	x.firsts[i] = c.keys[0]
	r.ch[x.id], r.slot[x.id], r.ver[x.id] = c.id, uint16(p), c.ver
}

// locate returns r's chunk and slot in x. The slot r remembers is right
// while its chunk's version is the one it remembers with it.
func (x *index) locate(r *record) (*chunk, int) {
	c := x.byID[r.ch[x.id]]
	if r.ver[x.id] != c.ver {
		r.slot[x.id], r.ver[x.id] = uint16(c.search(r.key)), c.ver
	}
	return c, int(r.slot[x.id])
}

// remove takes r, which is in x, out of it.
func (x *index) remove(r *record) {
	c, p := x.locate(r)
	i := c.i
	n := len(c.keys)
	for cat := range category(categories) {
		w := &c.bits[p/64][cat]
		if *w&(1<<(p%64)) != 0 {
			x.counts[i][cat]--
			x.total[cat]--
		}
		if x.counts[i][cat] > 0 || *w != 0 {
			removeBit(&c.bits, cat, p, n)
		}
	}
	c.ver++
	copy(c.keys[p:], c.keys[p+1:])
	c.keys = c.keys[:n-1]
	copy(c.recs[p:], c.recs[p+1:])
	c.recs = c.recs[:n-1]
	switch {
	case len(c.keys) == 0:
		x.dropChunk(i)
	case len(c.keys) < mergeBelow:
		x.firsts[i] = c.keys[0]
		if i+1 < len(x.chunks) && len(c.keys)+len(x.chunks[i+1].keys) <= maxChunk*3/4 {
			x.merge(i)
		} else if i > 0 && len(c.keys)+len(x.chunks[i-1].keys) <= maxChunk*3/4 {
			x.merge(i - 1)
		}
	default:
		x.firsts[i] = c.keys[0]
	}
}

// move changes r's category in x from one to another.
func (x *index) move(r *record, from, to category) {
	if from == to {
		return
	}
	c, p := x.locate(r)
	w, b := p/64, uint(p%64)
	c.bits[w][from] &^= 1 << b
	c.bits[w][to] |= 1 << b
	cnt := &x.counts[c.i]
	cnt[from]--
	cnt[to]++
	x.total[from]--
	x.total[to]++
}

func (x *index) addChunk(i int, c *chunk) {
	x.chunks = insertAt(x.chunks, i, c)
	x.firsts = insertAt(x.firsts, i, 0)
	x.counts = insertAt(x.counts, i, [categories]uint32{})
	x.renumber(i)
}

func (x *index) dropChunk(i int) {
	c := x.chunks[i]
	x.byID[c.id] = nil
	x.free = append(x.free, c.id)
	x.chunks = removeAt(x.chunks, i)
	x.firsts = removeAt(x.firsts, i)
	x.counts = removeAt(x.counts, i)
	x.renumber(i)
}

func (x *index) renumber(from int) {
	for j := from; j < len(x.chunks); j++ {
		x.chunks[j].i = j
	}
}

// split moves the upper half of chunk i into a new chunk after it.
func (x *index) split(i int) {
	c := x.chunks[i]
	h := len(c.keys) / 2
	d := x.newChunk()
	d.keys = append(d.keys, c.keys[h:]...)
	d.recs = append(d.recs, c.recs[h:]...)
	c.keys, c.recs = c.keys[:h], c.recs[:h]
	x.addChunk(i+1, d)
	x.rebuild(i)
	x.rebuild(i + 1)
}

// merge appends chunk i+1 to chunk i.
func (x *index) merge(i int) {
	c, d := x.chunks[i], x.chunks[i+1]
	c.keys = append(c.keys, d.keys...)
	c.recs = append(c.recs, d.recs...)
	x.dropChunk(i + 1)
	x.rebuild(i)
}

// rebuild recomputes chunk i's bitmaps, counts and first key from the
// records' categories, and points its records at their slots in it.
func (x *index) rebuild(i int) {
	c := x.chunks[i]
	c.bits = [chunkWords][categories]uint64{}
	c.ver++
	x.counts[i] = [categories]uint32{}
	for p, id := range c.recs {
		r := x.recs.at(id)
		cat := r.category()
		c.bits[p/64][cat] |= 1 << (p % 64)
		x.counts[i][cat]++
		r.ch[x.id], r.slot[x.id], r.ver[x.id] = c.id, uint16(p), c.ver
	}
	x.firsts[i] = c.keys[0]
}

// insertBit inserts a 0 at bit p of the first n bits of category cat's
// bitmap in b, shifting the bits from p up by one.
func insertBit(b *[chunkWords][categories]uint64, cat category, p, n int) {
	w, o := p/64, uint(p%64)
	last := (n - 1) / 64
	for j := last; j > w; j-- {
		b[j][cat] = b[j][cat]<<1 | b[j-1][cat]>>63
	}
	low := b[w][cat] & (1<<o - 1)
	b[w][cat] = low | (b[w][cat]&^low)<<1
}

// removeBit removes bit p of the first n bits of category cat's bitmap in
// b, shifting the bits above it down by one.
func removeBit(b *[chunkWords][categories]uint64, cat category, p, n int) {
	w, o := p/64, uint(p%64)
	last := (n - 1) / 64
	low := b[w][cat] & (1<<o - 1)
	b[w][cat] = low | (b[w][cat]>>(o+1))<<o
	for j := w; j < last; j++ {
		b[j][cat] |= b[j+1][cat] << 63
		b[j+1][cat] >>= 1
	}
}

func insertAt[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func removeAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}

// cursor is a position in an index: chunk i, slot p.
type cursor struct{ i, p int }

// after returns the position of the first record whose key is above k.
func (x *index) after(k uint64) cursor {
	if len(x.chunks) == 0 {
		return cursor{}
	}
	i := x.chunkFor(k)
	c := x.chunks[i]
	p := c.search(k)
	if p < len(c.keys) && c.keys[p] == k {
		p++
	}
	if p == len(c.keys) {
		return cursor{i + 1, 0}
	}
	return cursor{i, p}
}

// countIn returns how many records of the categories in cats chunk i holds
// from slot p on.
func (x *index) countIn(i, p int, cats []category) int {
	n := 0
	for _, cat := range cats {
		n += int(x.counts[i][cat])
	}
	if p > 0 && n > 0 {
		c := x.chunks[i]
		for w := range p / 64 {
			n -= bits.OnesCount64(c.or(w, cats))
		}
		if o := p % 64; o > 0 {
			n -= bits.OnesCount64(c.or(p/64, cats) & (1<<o - 1))
		}
	}
	return n
}

// or is word w of the union of the bitmaps of cats.
func (c *chunk) or(w int, cats []category) uint64 {
	var m uint64
	for _, cat := range cats {
		m |= c.bits[w][cat]
	}
	return m
}

// skip moves at past offset records of cats, whole chunks at a time, and
// returns the position and how many records of the chunk it stops in are
// still to be skipped.
func (x *index) skip(at cursor, offset int, cats []category) (cursor, int) {
	for at.i < len(x.chunks) {
		n := x.countIn(at.i, at.p, cats)
		if n > offset {
			break
		}
		offset -= n
		at = cursor{at.i + 1, 0}
	}
	return at, offset
}

// scan calls yield with the ids of the records of cats from at on, in
// order, until it returns false.
func (x *index) scan(at cursor, cats []category, yield func(int32) bool) {
	for i := at.i; i < len(x.chunks); i++ {
		if x.countIn(i, 0, cats) == 0 {
			continue
		}
		c := x.chunks[i]
		p := 0
		if i == at.i {
			p = at.p
		}
		for w := p / 64; w*64 < len(c.keys); w++ {
			m := c.or(w, cats)
			if w == p/64 {
				m &^= 1<<(p%64) - 1
			}
			for m != 0 {
				b := bits.TrailingZeros64(m)
				m &= m - 1
				if !yield(c.recs[w*64+b]) {
					return
				}
			}
		}
	}
}
