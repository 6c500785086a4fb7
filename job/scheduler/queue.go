package scheduler

import "sync"

// Queue is a named queue of units, JobCenter's: at most Concurrency of
// its units run at once (0: no limit), and a stopped queue starts no unit
// (the running ones continue) until it is started again. It is a [Gate];
// several networks' Executions may share one. Safe for concurrent use.
type Queue struct {
	name        string
	mu          sync.Mutex
	concurrency int
	running     int
	stopped     bool
	changed     chan struct{}
}

// NewQueue returns a started queue; concurrency 0 (or negative) means no
// limit.
func NewQueue(name string, concurrency int) *Queue {
	return &Queue{name: name, concurrency: max(concurrency, 0), changed: make(chan struct{})}
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// TryAcquire implements [Gate].
func (q *Queue) TryAcquire(_ string, force bool) (func(), bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !force && (q.stopped || q.concurrency > 0 && q.running >= q.concurrency) {
		return nil, false
	}
	q.running++
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			q.running--
			q.broadcast()
			q.mu.Unlock()
		})
	}, true
}

// Changed implements [Gate].
func (q *Queue) Changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}

// broadcast wakes everything waiting on Changed; q.mu is held.
func (q *Queue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Stop stops the queue: no unit starts until Start; running units go on.
// Stopping a stopped queue does nothing.
func (q *Queue) Stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
}

// Start starts a stopped queue: waiting units start as slots allow.
// Starting a started queue does nothing.
func (q *Queue) Start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		q.stopped = false
		q.broadcast()
	}
}

// SetConcurrency changes the limit (0: none); more units may start at once.
func (q *Queue) SetConcurrency(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.concurrency = max(n, 0)
	q.broadcast()
}

// Status returns the queue's state.
func (q *Queue) Status() QueueStatus {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueStatus{Name: q.name, Concurrency: q.concurrency, Running: q.running, Stopped: q.stopped}
}
