package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FileStore is the embedded store: one JSON file, written atomically under
// an exclusive lock (lock file, temp file, fsync, rename), and a status/
// directory beside it where agents publish what they applied. Several
// processes, even in different network namespaces, can share it.
type FileStore struct {
	Path string
	// Poll is how often Watch looks for a new file (default 100ms).
	Poll time.Duration
	// LockTimeout is how long Update waits for the lock (default 10s).
	LockTimeout time.Duration
}

// MaxModelSize is the largest model file read.
const MaxModelSize = 256 << 20

// NewFileStore returns a store for the model file at path.
func NewFileStore(path string) *FileStore { return &FileStore{Path: path} }

// Snapshot reads the current model; a missing file (or directory) is an
// empty model.
func (s *FileStore) Snapshot() (*Model, error) {
	m, _, err := s.read()
	return m, err
}

// errMissing is a model file that does not exist.
var errMissing = errors.New("the file does not exist")

// read reads and validates the model; a missing file is an empty model
// (missing reports which).
func (s *FileStore) read() (m *Model, missing bool, err error) {
	m, _, missing, err = s.readCopy()
	return m, missing, err
}

// readCopy also returns a deep copy of the model, for Update to change
// (copying is a fraction of decoding the file again).
func (s *FileStore) readCopy() (m, copy *Model, missing bool, err error) {
	b, err := s.readFile()
	if errors.Is(err, errMissing) {
		return &Model{}, &Model{}, true, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	if m, err = decodeStored(b); err != nil {
		return nil, nil, false, s.errorf("%v", err)
	}
	copy, err = Copy(m)
	return m, copy, false, err
}

func (s *FileStore) errorf(format string, args ...any) error {
	return &Error{What: "model " + s.Path, Why: fmt.Sprintf(format, args...)}
}

// readFile reads the model file without ever blocking (readRegular).
func (s *FileStore) readFile() ([]byte, error) {
	b, err := readRegular(s.Path)
	var re *readError
	if errors.As(err, &re) {
		return nil, s.errorf("%s", re.why)
	}
	return b, err
}

// readError is a file that cannot be read, and why.
type readError struct{ why string }

func (e *readError) Error() string { return e.why }

// readRegular reads a file without ever blocking: it is opened
// non-blocking and must be a regular file (a FIFO or a device in its
// place is refused, not read) of at most MaxModelSize bytes. A missing
// file (or directory) is errMissing.
func readRegular(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		return nil, errMissing
	}
	if err != nil {
		return nil, &readError{err.Error()}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &readError{err.Error()}
	}
	if !fi.Mode().IsRegular() {
		return nil, &readError{"not a regular file (" + fileKind(fi.Mode()) + ")"}
	}
	tooBig := &readError{fmt.Sprintf("the file is larger than %d MiB", MaxModelSize>>20)}
	if fi.Size() > MaxModelSize {
		return nil, tooBig
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxModelSize+1))
	if err != nil {
		return nil, &readError{err.Error()}
	}
	if len(b) > MaxModelSize {
		return nil, tooBig
	}
	return b, nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeDir != 0:
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// Decode parses a model and validates it whole: a model from outside the
// store (chainctl load).
func Decode(b []byte) (*Model, error) { return decode(b, (*Model).Validate) }

// decodeStored parses a model the store wrote, validated whole then: the
// cheap rules only (ValidateStored).
func decodeStored(b []byte) (*Model, error) { return decode(b, ValidateStored) }

func decode(b []byte, validate func(*Model) error) (*Model, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("the file is empty")
	}
	if string(bytes.TrimSpace(b)) == "null" {
		return nil, errors.New("the file holds null, not a model")
	}
	m := &Model{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("not a chainwire model: %v", err)
	}
	if err := validate(m); err != nil {
		return nil, fmt.Errorf("invalid model: %w", err)
	}
	return m, nil
}

// Encode is the stored form of a model: sorted, indented JSON.
func Encode(m *Model) []byte {
	m.Normalize()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// Update applies fn under the lock; nothing is written if fn or
// validation fails, so the file stays byte-identical. Validation redoes
// the costly checks only for the objects fn changed.
func (s *FileStore) Update(fn func(*Model) error) (*Model, error) {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return nil, err
	}
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.removeStaleTemps()
	// fn changes a copy of the model just read, so that validation can
	// tell what it changed.
	before, next, _, err := s.readCopy()
	if err != nil {
		return nil, err
	}
	if err := fn(next); err != nil {
		return nil, err
	}
	next.Normalize()
	if err := next.validate(Diff(before, next)); err != nil {
		return nil, err
	}
	next.Generation = before.Generation + 1
	if err := writeAtomic(s.Path, Encode(next)); err != nil {
		return nil, err
	}
	return next, nil
}

// lock takes the store's lock file, polling a non-blocking flock until
// LockTimeout, and writes this process's PID into it so that a writer
// that gives up can name the holder.
func (s *FileStore) lock() (func(), error) {
	path := s.Path + ".lock"
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	// A lock file others can open is a lock others can hold.
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm() != 0o600 && os.Geteuid() == 0 {
		f.Chmod(0o600)
	}
	timeout := s.LockTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			holder := "another process"
			if b, _ := io.ReadAll(io.LimitReader(f, 32)); len(b) > 0 {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
					holder = fmt.Sprintf("PID %d", pid)
				}
			}
			f.Close()
			return nil, s.errorf("locked by %s for %v", holder, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		f.Truncate(0) // no stale PID for the next one to blame
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// removeStaleTemps removes the temp files of interrupted writes; under
// the lock, no write is under way.
func (s *FileStore) removeStaleTemps() {
	pattern := filepath.Join(filepath.Dir(s.Path), "."+filepath.Base(s.Path)+".tmp*")
	stale, _ := filepath.Glob(pattern)
	for _, p := range stale {
		os.Remove(p)
	}
}

// writeAtomic replaces path with data: readers see the old or the new
// file, never a partial one, and the new one survives a crash.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Watch polls the file's identity (inode, size, mtime, type) and reports
// every change, as what changed since the last good file: the file holds
// the whole model, so finding the changes costs a comparison of it all.
func (s *FileStore) Watch(ctx context.Context, fn func(Event)) { s.watchModels(ctx, changesOf(fn)) }

// watchModels reports every new model. The file is replaced by rename, so
// a change of inode is a change of content even within one mtime tick. It
// never shrinks the world: before a good model (generation 1 or more) was
// delivered, a missing file is an empty model; after, a file that is
// gone, empty, not a model or of an older generation is reported as an
// error, and the next good file is delivered.
func (s *FileStore) watchModels(ctx context.Context, fn func(*Model, error)) {
	poll := s.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	var last string
	var applied uint64
	first := true
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if id := fileIdentity(s.Path); first || id != last {
			first, last = false, id
			m, err := s.next(applied)
			if err == nil {
				applied = max(applied, m.Generation)
			}
			fn(m, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// next reads the model for a watcher that applied generation applied.
func (s *FileStore) next(applied uint64) (*Model, error) {
	m, missing, err := s.read()
	switch {
	case err != nil:
		return nil, err
	case applied == 0:
		return m, nil
	case missing:
		return nil, s.errorf("the file is gone after generation %d was applied", applied)
	case m.Generation < applied:
		return nil, s.errorf("generation %d is older than the applied %d: refusing to go back", m.Generation, applied)
	}
	return m, nil
}

func fileIdentity(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil {
		return fmt.Sprint(fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
	}
	return fmt.Sprint(st.Ino, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
}

func (s *FileStore) statusDir() string { return filepath.Join(filepath.Dir(s.Path), "status") }

// PublishStatus writes status/<chassis>.json atomically.
func (s *FileStore) PublishStatus(st Status) error {
	if err := CheckName("chassis", st.Chassis); err != nil {
		return err
	}
	if err := os.MkdirAll(s.statusDir(), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return writeAtomic(filepath.Join(s.statusDir(), st.Chassis+".json"), append(b, '\n'))
}

// Statuses reads every published status, sorted by chassis.
func (s *FileStore) Statuses() ([]Status, error) {
	ents, err := os.ReadDir(s.statusDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := readRegular(filepath.Join(s.statusDir(), e.Name()))
		if err != nil {
			continue
		}
		var st Status
		if json.Unmarshal(b, &st) == nil {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Chassis < out[j].Chassis })
	return out, nil
}
