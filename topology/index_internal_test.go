package topology

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// A nameSet stays sorted through adds and removes that split and merge
// its chunks, and its chunks stay within bounds.
func TestNameSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s nameSet
	want := map[string]bool{}
	for step := range 20000 {
		name := fmt.Sprintf("n%04d", r.IntN(1500))
		if r.IntN(3) == 0 {
			if got := s.remove(name); got != want[name] {
				t.Fatalf("step %d: remove(%s) = %v", step, name, got)
			}
			delete(want, name)
		} else {
			if got := s.add(name); got == want[name] {
				t.Fatalf("step %d: add(%s) = %v", step, name, got)
			}
			want[name] = true
		}
		if step%97 == 0 || len(want) < 3 {
			checkNameSet(t, &s, want)
		}
	}
	for name := range want {
		s.remove(name)
	}
	checkNameSet(t, &s, nil)
}

func checkNameSet(t *testing.T, s *nameSet, want map[string]bool) {
	t.Helper()
	var got []string
	s.each(func(n string) { got = append(got, n) })
	sorted := slices.Sorted(func(yield func(string) bool) {
		for n := range want {
			if !yield(n) {
				return
			}
		}
	})
	if !slices.Equal(got, sorted) || s.n != len(sorted) {
		t.Fatalf("the set holds %d names %v, want %d", s.n, got, len(sorted))
	}
	if first, ok := s.first(); ok != (len(sorted) > 0) || ok && first != sorted[0] {
		t.Fatalf("first = %q, %v", first, ok)
	}
	for i, ch := range s.chunks {
		if len(ch) == 0 || len(ch) > maxChunk {
			t.Fatalf("chunk %d holds %d names", i, len(ch))
		}
	}
}

// Every kind is in the table under its own Kind and has rules, so that
// its names are checked.
func TestKindTable(t *testing.T) {
	ruled := map[Kind]bool{}
	for _, r := range rules {
		ruled[r.kind] = true
	}
	for k := range numKinds {
		if kinds[k] == nil || !ruled[k] || k.String() == "" {
			t.Errorf("kind %d: in the table %v, with rules %v", k, kinds[k] != nil, ruled[k])
		}
	}
}

// equal sees a change of any field, and clone shares nothing with the
// original: a field added to a kind without both fails here.
func TestEqualAndCloneSeeEveryField(t *testing.T) {
	checked := []Kind{
		checkFields(t, chassisKind), checkFields(t, switchKind), checkFields(t, portKind), checkFields(t, pairKind),
		checkFields(t, groupKind), checkFields(t, chainKind), checkFields(t, classifierKind),
		checkFields(t, aclKind), checkFields(t, portGroupKind), checkFields(t, addressSetKind), checkFields(t, qosKind),
		checkFields(t, dhcpOptionsKind), checkFields(t, dnsRecordKind), checkFields(t, loadBalancerKind),
		checkFields(t, routerKind), checkFields(t, routerPortKind),
	}
	if len(checked) != int(numKinds) {
		t.Errorf("%d kinds checked, %d exist", len(checked), numKinds)
	}
}

func checkFields[T named](t *testing.T, k *kind[T]) Kind {
	filled := func() *T { // a new object with every field set, sharing nothing
		var o T
		v := reflect.ValueOf(&o).Elem()
		for i := range v.NumField() {
			fill(v.Field(i), "a")
		}
		return &o
	}
	o, same := filled(), filled()
	if !k.equal(o, same) || !k.equal(o, ptr(k.clone(*o))) {
		t.Errorf("%s: equal objects differ", k.name)
	}
	fields := reflect.TypeFor[T]()
	for i := range fields.NumField() {
		c := k.clone(*o)
		fill(reflect.ValueOf(&c).Elem().Field(i), "b")
		if !k.equal(o, same) {
			t.Errorf("%s: changing a clone's %s changed the original", k.name, fields.Field(i).Name)
		}
		if k.equal(&c, same) {
			t.Errorf("%s: equal misses a change of %s", k.name, fields.Field(i).Name)
		}
	}
	return k.id
}

func ptr[T any](v T) *T { return &v }

// fill gives a field a value made of s, changing what a slice, map or
// pointer points to in place (a clone that shares them sees it).
func fill(f reflect.Value, s string) {
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Uint32, reflect.Uint64:
		f.SetUint(uint64(len(s) + int(s[0])))
	case reflect.Int:
		f.SetInt(int64(s[0]))
	case reflect.Bool:
		f.SetBool(s == "a")
	case reflect.Slice:
		if f.IsNil() {
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		}
		fill(f.Index(0), s)
	case reflect.Map:
		if f.IsNil() {
			f.Set(reflect.MakeMap(f.Type()))
		}
		f.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf(s))
	case reflect.Pointer:
		if f.IsNil() {
			f.Set(reflect.New(f.Type().Elem()))
		}
		fill(f.Elem(), s)
	case reflect.Struct:
		for i := range f.NumField() {
			fill(f.Field(i), s)
		}
	default:
		panic("fill: a field of kind " + f.Kind().String())
	}
}
