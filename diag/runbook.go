package diag

import (
	"context"
	"time"
)

// Step is one step of a [Runbook]: a check, and what to do when it
// fails.
type Step struct {
	Title string
	// Check answers the step. A nil Check means the step has no
	// counterpart here (a cloud load balancer when there is none): the
	// step is reported as not applicable and passes.
	Check Check
	// Advice says what to do when this step fails (the catalogue's
	// words for this step).
	Advice string
}

// Runbook is an ordered procedure, as the Container Service FAQ's
// seven-step connectivity check: steps run in order and it stops at the
// first that fails (a finding at Warning or above, or a check that could
// not answer), because later steps assume the earlier ones passed.
type Runbook struct {
	Name      string
	Title     string
	Reference string
	Steps     []Step
	// RunAll, when set, runs every step even after one failed, for
	// procedures whose steps are independent causes that must not be
	// skipped (the Container Service FAQ's log troubleshooting). The
	// result still names the first failed step.
	RunAll bool
}

// StepResult is one step's outcome.
type StepResult struct {
	Step   int    `json:"step"` // 1-based
	Title  string `json:"title"`
	Passed bool   `json:"passed"`
	// NotApplicable: the step had no check here and passed as such.
	NotApplicable bool      `json:"not_applicable,omitempty"`
	Findings      []Finding `json:"findings,omitempty"`
	Err           string    `json:"error,omitempty"`
	// Advice is the step's advice when it failed ("" when it passed).
	Advice   string        `json:"advice,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// RunbookResult is a run of a [Runbook].
type RunbookResult struct {
	Runbook   string       `json:"runbook"`
	Title     string       `json:"title"`
	Reference string       `json:"reference,omitempty"`
	Steps     []StepResult `json:"steps"`
	// FailedAt is the 1-based step that failed first, 0 when none did.
	FailedAt int `json:"failed_at"`
	// Advice is the first failed step's advice.
	Advice string `json:"advice,omitempty"`
	// NotRun are the titles of the steps that did not run, in order:
	// those after the failed step, or all those left when ctx ended.
	NotRun []string `json:"not_run,omitempty"`
	// Interrupted says why the run stopped early when it was not a step
	// that failed ("context canceled"); "" otherwise.
	Interrupted string `json:"interrupted,omitempty"`
}

// Passed reports whether every step ran and passed.
func (r RunbookResult) Passed() bool {
	return r.FailedAt == 0 && r.Interrupted == "" && len(r.NotRun) == 0
}

// ExitCode is the exit status a command reports for r: 0 when every step
// passed, 2 when a failed step has a Critical finding, else 1 (a step
// failed at Warning, could not answer, or the run was interrupted).
func (r RunbookResult) ExitCode() int {
	if r.Passed() {
		return 0
	}
	for _, s := range r.Steps {
		for _, f := range s.Findings {
			if !s.Passed && clampSeverity(f.Severity) == Critical {
				return 2
			}
		}
	}
	return 1
}

// Run runs the steps in order, each bounded by timeout (0: the default
// check timeout), and stops at the first that fails unless rb.RunAll. A
// step passes when its check answers with no finding at Warning or above
// (Info and OK findings are kept and pass). When ctx ends, the steps not
// yet run are listed in NotRun and Interrupted says why.
func (rb Runbook) Run(ctx context.Context, timeout time.Duration) RunbookResult {
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	res := RunbookResult{Runbook: rb.Name, Title: rb.Title, Reference: rb.Reference, Steps: []StepResult{}}
	for i, s := range rb.Steps {
		if err := ctx.Err(); err != nil {
			res.Interrupted = err.Error()
			res.NotRun = stepTitles(rb.Steps[i:])
			return res
		}
		sr := StepResult{Step: i + 1, Title: s.Title, Passed: true}
		if s.Check == nil {
			sr.NotApplicable = true
		} else {
			r := runOne(ctx, s.Check, timeout)
			if err := ctx.Err(); err != nil && r.Err != "" {
				// The step could not answer because the run was
				// stopped: that is no verdict on the step.
				res.Interrupted = err.Error()
				res.NotRun = stepTitles(rb.Steps[i:])
				return res
			}
			sr.Findings, sr.Err, sr.Duration = r.Findings, r.Err, r.Duration
			sr.Passed = r.Err == ""
			for _, f := range r.Findings {
				if clampSeverity(f.Severity) >= Warning {
					sr.Passed = false
				}
			}
		}
		if !sr.Passed {
			sr.Advice = s.Advice
			if res.FailedAt == 0 {
				res.FailedAt, res.Advice = i+1, s.Advice
			}
		}
		res.Steps = append(res.Steps, sr)
		if !sr.Passed && !rb.RunAll {
			res.NotRun = stepTitles(rb.Steps[i+1:])
			return res
		}
	}
	return res
}

func stepTitles(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Title)
	}
	return out
}
