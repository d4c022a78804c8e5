package ptel_test

import (
	"strings"
	"testing"

	ptel "github.com/ptel-dev/ptel/bindings/go"
)

// Attributes are encoded when set: an overwrite re-encodes the entry in its
// first position and moves the later ones when the size changes, nested
// values (which the record header counts) included.
func TestAttributeOverwriteKeepsPositionAcrossSizes(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, true)
	_, s := f.rec.Start(bg, "s")
	s.SetAttributes(ptel.Int("a", 1), ptel.String("b", "short"),
		ptel.Map("c", ptel.Int("x", 1)), ptel.Bool("d", true))
	s.SetAttributes(ptel.String("b", strings.Repeat("long", 40)), ptel.Int("a", 2))
	s.SetAttributes(ptel.Slice("c", ptel.IntValue(1), ptel.StringValue("two")),
		ptel.Int64Slice("e", []int64{1, 2}))
	s.SetAttributes(ptel.String("b", "x"), ptel.Map("a", ptel.Bool("y", false), ptel.Float64("z", 1.5)))
	s.SetAttributes(ptel.Float64("e", 0.5), ptel.String("d", "last"))
	s.End()
	sp := decodeTelemetry(t, f.finish()).span(t, "s")
	sameKeyValues(t, "attributes", sp.Attributes, keyValues(
		ptel.Map("a", ptel.Bool("y", false), ptel.Float64("z", 1.5)),
		ptel.String("b", "x"),
		ptel.Slice("c", ptel.IntValue(1), ptel.StringValue("two")),
		ptel.String("d", "last"),
		ptel.Float64("e", 0.5)))
	eq(t, "dropped attributes", sp.DroppedAttributesCount, 0)
	mustNoErr(t, f.rec.Err())
}

// At the limit, overwriting a kept key is not a drop; a new key is.
func TestAttributeOverwriteAtTheLimit(t *testing.T) {
	cf := fxFields(ptel.DecisionRecordAndSample)
	cf.Limits.AttributeCount = 2
	c, err := ptel.NewContext(cf)
	mustNoErr(t, err)
	rec, err := ptel.NewRecorder(c, nil)
	mustNoErr(t, err)
	defer rec.Close()
	_, s := rec.Start(bg, "s")
	s.SetAttributes(ptel.Int("a", 1), ptel.Int("b", 2), ptel.Int("c", 3))
	s.SetAttributes(ptel.String("b", "two"), ptel.Int("d", 4), ptel.Int("a", 10))
	s.End()
	sp := decodeTelemetry(t, mustFinish(t, rec)).span(t, "s")
	sameKeyValues(t, "attributes", sp.Attributes, keyValues(ptel.Int("a", 10), ptel.String("b", "two")))
	eq(t, "dropped attributes", sp.DroppedAttributesCount, 2)
}

// A recycled span starts empty, also after a large attribute made its
// buffer grow past what a recycled span keeps.
func TestRecycledSpanCarriesNoAttributes(t *testing.T) {
	f := newFixture(t, ptel.DecisionRecordAndSample, true)
	_, s := f.rec.Start(bg, "big")
	s.SetAttributes(ptel.String("blob", strings.Repeat("x", 10000)), ptel.Int("n", 1))
	s.End()
	f.finish()
	mustNoErr(t, f.rec.Reset(f.ctx))
	_, s = f.rec.Start(bg, "small")
	s.SetAttributes(ptel.Int("m", 2))
	s.End()
	_, s = f.rec.Start(bg, "none")
	s.End()
	tel := decodeTelemetry(t, f.finish())
	sameKeyValues(t, "small", tel.span(t, "small").Attributes, keyValues(ptel.Int("m", 2)))
	sameKeyValues(t, "none", tel.span(t, "none").Attributes, nil)
}
