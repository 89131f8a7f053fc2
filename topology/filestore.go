package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
}

// NewFileStore returns a store for the model file at path.
func NewFileStore(path string) *FileStore { return &FileStore{Path: path} }

// Snapshot reads the current model; a missing file is an empty model.
func (s *FileStore) Snapshot() (*Model, error) {
	m, _, err := s.read()
	return m, err
}

func (s *FileStore) read() (*Model, []byte, error) {
	b, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return &Model{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := Decode(b)
	if err != nil {
		return nil, b, fmt.Errorf("%s: %w", s.Path, err)
	}
	return m, b, nil
}

// Decode parses and validates a stored model.
func Decode(b []byte) (*Model, error) {
	m := &Model{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("not a chainwire model: %v", err)
	}
	if err := m.Validate(); err != nil {
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
// validation fails, so the file stays byte-identical.
func (s *FileStore) Update(fn func(*Model) error) (*Model, error) {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(s.Path + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	// The model just read belongs to this call alone: fn may change it.
	next, _, err := s.read()
	if err != nil {
		return nil, err
	}
	gen := next.Generation
	if err := fn(next); err != nil {
		return nil, err
	}
	next.Normalize()
	if err := next.Validate(); err != nil {
		return nil, err
	}
	next.Generation = gen + 1
	if err := writeAtomic(s.Path, Encode(next)); err != nil {
		return nil, err
	}
	return next, nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
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

// Watch polls the file's identity (inode, size, mtime) and reports every
// change. The file is replaced by rename, so a change of inode is a change
// of content even within one mtime tick.
func (s *FileStore) Watch(ctx context.Context, fn func(*Model, error)) {
	poll := s.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	var last string
	first := true
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		id := fileIdentity(s.Path)
		if first || id != last {
			first = false
			last = id
			m, _, err := s.read()
			fn(m, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func fileIdentity(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil {
		return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
	}
	return fmt.Sprint(st.Ino, fi.Size(), fi.ModTime().UnixNano())
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
		b, err := os.ReadFile(filepath.Join(s.statusDir(), e.Name()))
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
