package agent

import (
	"context"
	"sync"

	"github.com/sirupsen/logrus"
)

// latest hands the newest value of something to a goroutine that writes
// it to the store: the run loop never waits for the store (a cluster
// electing a leader takes seconds), and a value overtaken by a newer one
// is never written.
type latest[T any] struct {
	mu    sync.Mutex
	val   T
	have  bool
	ready chan struct{}
}

func newLatest[T any]() *latest[T] { return &latest[T]{ready: make(chan struct{}, 1)} }

// set replaces the value to write.
func (l *latest[T]) set(v T) {
	l.mu.Lock()
	l.val, l.have = v, true
	l.mu.Unlock()
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// take returns the newest value, if any.
func (l *latest[T]) take() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.val, l.have
	l.have = false
	return v, ok
}

// run writes every value with write until ctx ends; a failed write is
// retried with the next value or the next heartbeat.
func (l *latest[T]) run(ctx context.Context, log *logrus.Entry, what string, write func(T) error) {
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.ready:
		}
		v, ok := l.take()
		if !ok {
			continue
		}
		if err := write(v); err != nil {
			if !failing {
				log.WithError(err).Warnf("cannot publish %s", what)
			}
			failing = true
			continue
		}
		if failing {
			log.Infof("publishing %s again", what)
		}
		failing = false
	}
}
