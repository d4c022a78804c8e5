package ptel

import (
	"encoding/binary"
	"slices"
)

// attrSet is a span's attributes, encoded when they are set: the attribute
// entries of an attrs list in the record format (enc.go), one slot per
// distinct key in the order keys were first set. End copies the bytes into
// the span's record as they are, so an attribute is encoded once and the
// set holds no reference to the plugin's values.
type attrSet struct {
	b      []byte
	slots  []attrSlot
	na, nv uint32 // nested ptel_attr and ptel_value structures of all entries
	extra  uint32 // attributes dropped beyond the limit
	lens   uint64 // bit k set: some key's length is k modulo 64
}

// attrSlot is one entry of an attrSet.
type attrSlot struct {
	off, n uint32 // the entry's bytes in attrSet.b
	klen   uint32 // the key's length: most keys differ in it, no bytes compared
	na, nv uint32 // its nested structures, for the record header
}

// attrSetRoom bounds the memory a recycled span keeps for attributes.
const attrSetRoom = 4096

func (a *attrSet) reset() {
	if cap(a.b) > attrSetRoom {
		a.b = nil
	}
	a.b, a.slots = a.b[:0], a.slots[:0]
	a.na, a.nv, a.extra, a.lens = 0, 0, 0, 0
}

// set adds attributes: a key already set gets the new value in its first
// position; new keys are kept until there are max of them, the rest only
// counted. tmp is scratch for re-encoding an overwritten entry.
func (a *attrSet) set(kvs []KeyValue, max uint32, tmp *[]byte) {
	for i := range kvs {
		kv := &kvs[i]
		// Keys of a length no slot has need no search (the common case).
		bit := uint64(1) << (len(kv.Key) & 63)
		if a.lens&bit != 0 {
			if j := a.find(kv.Key); j >= 0 {
				a.replace(j, kv, tmp)
				continue
			}
		}
		if uint32(len(a.slots)) >= max {
			a.extra = satAdd(a.extra, 1)
			continue
		}
		a.lens |= bit
		a.add(kv)
	}
}

// find returns the slot holding key, or -1.
func (a *attrSet) find(key string) int {
	for j := range a.slots {
		if s := &a.slots[j]; int(s.klen) == len(key) && string(slotKey(a.b, s)) == key {
			return j
		}
	}
	return -1
}

// add appends a new key's entry and its slot.
func (a *attrSet) add(kv *KeyValue) {
	off := len(a.b)
	b, na, nv := appendAttr(a.b, kv)
	a.b = b
	// Fields stored one by one: a composite literal is built on the stack
	// and copied with wide loads that stall on its narrow stores.
	a.slots = append(a.slots, attrSlot{})
	sl := &a.slots[len(a.slots)-1]
	sl.off, sl.n = uint32(off), uint32(len(b)-off)
	sl.klen, sl.na, sl.nv = binary.LittleEndian.Uint32(b[off:]), na, nv
	a.na += na
	a.nv += nv
}

// slotKey returns the key of slot s in b (the record's u32 length, then
// the bytes).
func slotKey(b []byte, s *attrSlot) []byte {
	k := b[s.off+4 : s.off+s.n]
	return k[:binary.LittleEndian.Uint32(b[s.off:])]
}

// replace re-encodes slot j with kv's value, moving the later entries when
// the size changes.
func (a *attrSet) replace(j int, kv *KeyValue, tmp *[]byte) {
	s := &a.slots[j]
	entry, na, nv := appendAttr((*tmp)[:0], kv)
	*tmp = entry
	start, end := int(s.off), int(s.off+s.n)
	if len(entry) == int(s.n) {
		copy(a.b[start:end], entry)
	} else {
		a.b = slices.Replace(a.b, start, end, entry...)
		delta := uint32(len(entry)) - s.n // wraps for a shorter entry; the sums below wrap back
		for k := j + 1; k < len(a.slots); k++ {
			a.slots[k].off += delta
		}
	}
	a.na += na - s.na
	a.nv += nv - s.nv
	s.n, s.na, s.nv = uint32(len(entry)), na, nv
}

// appendTo writes the set as an attrs list of the record.
func (a *attrSet) appendTo(e *enc) {
	b := binary.LittleEndian.AppendUint32(e.b, uint32(len(a.slots)))
	b = binary.LittleEndian.AppendUint32(b, a.extra)
	e.b = append(b, a.b...)
	e.na += uint32(len(a.slots)) + a.na
	e.nv += a.nv
}
