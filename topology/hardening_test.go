package topology

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"a/b", `switch "a/b": a name may hold only letters, digits and _ . : - (1 to 63 of them)`},
		{"../../x", `switch "../../x": a name may hold only letters, digits and _ . : -`},
		{"bad name", `a name may hold only letters, digits and _ . : -`},
		{"tab\t", `a name may hold only`},
		{"", `switch "": a name may hold only letters, digits and _ . : - (1 to 63 of them)`},
		{strings.Repeat("a", 64), `(1 to 63 of them)`},
		{".", `switch ".": a name cannot be "." or ".."`},
		{"..", `switch "..": a name cannot be "." or ".."`},
	} {
		err := CheckName("switch", tc.name)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.name, err, tc.want)
		}
	}
	for _, ok := range []string{"sw0", "a.b", "A-b_c:d", "...", strings.Repeat("x", 63)} {
		if err := CheckName("switch", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// A huge value is echoed cut, with its size.
func TestErrorsEchoValuesCut(t *testing.T) {
	big := strings.Repeat("a", 5_000_000)
	err := CheckName("switch", big)
	if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), `"aaaa`) || !strings.Contains(err.Error(), `…" (5000000 bytes)`) {
		t.Fatalf("%.300v", err)
	}
	m := &Model{Switches: []Switch{{Name: "sw0", Key: 1}}, Ports: []Port{{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{big}}}}
	if err := m.Validate(); err == nil || len(err.Error()) > 300 {
		t.Fatalf("%.300v", err)
	}
	if q := Quote("short"); q != `"short"` {
		t.Errorf("Quote(short) = %s", q)
	}
}

func holdLock(t *testing.T, path, content string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(content), 0)
	return func() { f.Close() }
}

// A held lock makes a writer give up after LockTimeout, naming the
// holder's PID when it wrote one.
func TestLockTimeoutNamesHolder(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"1234\n", "locked by PID 1234 for 200ms"},
		{"", "locked by another process for 200ms"},
	} {
		path := filepath.Join(t.TempDir(), "nb.json")
		release := holdLock(t, path+".lock", tc.content)
		s := &FileStore{Path: path, LockTimeout: 200 * time.Millisecond}
		start := time.Now()
		_, err := s.Update(func(m *Model) error { return nil })
		release()
		if err == nil || err.Error() != "model "+path+": "+tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
		if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
			t.Errorf("gave up after %v", d)
		}
	}
}

// The holder writes its PID; the lock file is 0600, even one made 0644
// before; stale temp files of interrupted writes go.
func TestLockFileAndTempFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nb.json")
	os.WriteFile(path+".lock", nil, 0o644)
	os.Chmod(path+".lock", 0o644)
	stale := filepath.Join(dir, ".nb.json.tmp12345")
	os.WriteFile(stale, []byte("half a model"), 0o644)
	other := filepath.Join(dir, ".other.json.tmp1")
	os.WriteFile(other, nil, 0o644)
	s := NewFileStore(path)
	var during string
	if _, err := s.Update(func(m *Model) error {
		b, _ := os.ReadFile(path + ".lock")
		during = string(b)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(during) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q while locked, want our PID %d", during, os.Getpid())
	}
	fi, err := os.Stat(path + ".lock")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v, %v", fi.Mode(), err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file survived: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file's temp file was removed: %v", err)
	}
}

type watchEv struct {
	gen uint64
	err error
}

// watch runs Watch and returns a function that waits for its next event.
func watch(t *testing.T, s *FileStore) func() watchEv {
	t.Helper()
	evs := make(chan watchEv, 100)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go s.Watch(ctx, func(ev Event) {
		if n := btoi(ev.Model != nil) + btoi(ev.Changes != nil) + btoi(ev.Err != nil); n != 1 {
			t.Errorf("Watch gave model %v, changes %v and error %v", ev.Model, ev.Changes, ev.Err)
		}
		e := watchEv{err: ev.Err}
		switch {
		case ev.Model != nil:
			e.gen = ev.Model.Generation
		case ev.Changes != nil:
			e.gen = ev.Changes.Generation
		}
		evs <- e
	})
	return func() watchEv {
		t.Helper()
		select {
		case e := <-evs:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no watch event in 5s (a hang?)")
			return watchEv{}
		}
	}
}

func goodModel(gen uint64) []byte {
	m := &Model{Generation: gen, Switches: []Switch{{Name: "a", Key: 1}}}
	return Encode(m)
}

// Once a good model was delivered, nothing can shrink the world: a
// vanished, empty, {} or null file, or an older generation, is an error;
// a good file later is delivered again.
func TestWatchNeverShrinksTheWorld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nb.json")
	s := &FileStore{Path: path, Poll: 5 * time.Millisecond}
	next := watch(t, s)
	if e := next(); e.err != nil || e.gen != 0 {
		t.Fatalf("missing file before any model: %+v", e)
	}
	writeFile(t, path, goodModel(7))
	if e := next(); e.err != nil || e.gen != 7 {
		t.Fatalf("good model: %+v", e)
	}
	gen := uint64(8)
	for _, bad := range []struct {
		name  string
		apply func()
		want  string
	}{
		{"removed", func() { os.Remove(path) }, "model " + path + ": the file is gone after generation APPLIED was applied"},
		{"empty", func() { writeFile(t, path, nil) }, "model " + path + ": the file is empty"},
		{"{}", func() { writeFile(t, path, []byte("{}")) }, "model " + path + ": generation 0 is older than the applied APPLIED: refusing to go back"},
		{"null", func() { writeFile(t, path, []byte("null\n")) }, "model " + path + ": the file holds null, not a model"},
		{"older", func() { writeFile(t, path, goodModel(3)) }, "model " + path + ": generation 3 is older than the applied APPLIED: refusing to go back"},
		{"fifo", func() { os.Remove(path); syscall.Mkfifo(path, 0o644) }, "model " + path + ": not a regular file (a named pipe)"},
		{"directory", func() { os.Remove(path); os.Mkdir(path, 0o755) }, "model " + path + ": not a regular file (a directory)"},
	} {
		bad.apply()
		want := strings.ReplaceAll(bad.want, "APPLIED", strconv.Itoa(int(gen-1)))
		if e := next(); e.err == nil || e.err.Error() != want {
			t.Fatalf("%s: got %v, want %q", bad.name, e.err, want)
		}
		if bad.name != "removed" {
			os.RemoveAll(path)
			if e := next(); e.err == nil || !strings.Contains(e.err.Error(), "the file is gone") {
				t.Fatalf("removed after %s: %+v", bad.name, e)
			}
		}
		writeFile(t, path, goodModel(gen))
		if e := next(); e.err != nil || e.gen != gen {
			t.Fatalf("good model after %s: %+v", bad.name, e)
		}
		gen++
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	// as writeAtomic does: a new inode, so the watcher sees a change
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// Before any model, a missing file or directory is an empty model.
func TestWatchMissingParentIsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "nb.json")
	next := watch(t, &FileStore{Path: path, Poll: 5 * time.Millisecond})
	if e := next(); e.err != nil || e.gen != 0 {
		t.Fatalf("%+v", e)
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	writeFile(t, path, goodModel(1))
	if e := next(); e.err != nil || e.gen != 1 {
		t.Fatalf("%+v", e)
	}
}

// A FIFO in place of the model makes reads fail at once, never hang.
func TestSnapshotOfFIFOFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nb.json")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() { _, err := NewFileStore(path).Snapshot(); done <- err }()
	go func() { _, err := NewFileStore(path).Update(func(*Model) error { return nil }); done <- err }()
	for range 2 {
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file (a named pipe)") {
				t.Errorf("got %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("reading a FIFO hangs")
		}
	}
}

// A file over the size cap is refused without reading it all.
func TestOversizedModelRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nb.json")
	f, _ := os.Create(path)
	f.Truncate(MaxModelSize + 1)
	f.Close()
	_, err := NewFileStore(path).Snapshot()
	if err == nil || !strings.Contains(err.Error(), "is larger than") {
		t.Fatalf("got %v", err)
	}
}

// A FIFO among the published statuses is skipped, never read.
func TestStatusesSkipFIFO(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "nb.json"))
	if err := s.PublishStatus(Status{Chassis: "hv1", Generation: 3}); err != nil {
		t.Fatal(err)
	}
	syscall.Mkfifo(filepath.Join(s.statusDir(), "hv2.json"), 0o644)
	done := make(chan []Status, 1)
	go func() { sts, _ := s.Statuses(); done <- sts }()
	select {
	case sts := <-done:
		if len(sts) != 1 || sts[0].Chassis != "hv1" {
			t.Errorf("got %+v", sts)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Statuses hangs on a FIFO")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
