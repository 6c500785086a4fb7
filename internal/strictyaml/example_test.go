package strictyaml_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/internal/strictyaml"
)

// Check is one check of a configuration file.
type Check struct {
	Name     string        `json:"name"`
	Interval time.Duration `json:"interval"`
	Warning  float64       `json:"warning,omitempty"`
	Critical float64       `json:"critical,omitempty"`
}

// Validate is called by the decoder for every check, its problems
// reported under the check's key path.
func (c Check) Validate() error {
	if c.Critical != 0 && c.Critical < c.Warning {
		return fmt.Errorf("critical: %v: want at least warning (%v)", c.Critical, c.Warning)
	}
	return nil
}

func ExampleUnmarshal() {
	var cfg struct {
		Listen string  `json:"listen"`
		Checks []Check `json:"checks"`
	}
	err := strictyaml.Unmarshal([]byte(`
listen: 127.0.0.1:9464
checks:
  - {name: cpu, interval: 10s, warning: 80, critical: 90}
  - {name: memory, interval: 10 seconds, warning: 90, critical: 80}
  - {name: disk, interval: 1m, critical: 95, colour: red}
`), &cfg)
	fmt.Println(err)
	// Output:
	// checks[1].interval: "10 seconds": want a duration such as 30s or 1m30s (units ns, us, ms, s, m, h)
	// checks[1].critical: 80: want at least warning (90)
	// checks[2].colour: unknown key (allowed: critical, interval, name, warning)
}

func ExampleOptions_Unmarshal() {
	var cfg struct {
		Checks []Check `json:"checks"`
	}
	whole := func() error {
		if len(cfg.Checks) == 0 {
			return errors.New("checks: required: at least one check")
		}
		return nil
	}
	err := strictyaml.Options{Validate: whole}.Unmarshal([]byte(`checks: []`), &cfg)
	fmt.Println(err)
	// Output:
	// checks: required: at least one check
}
