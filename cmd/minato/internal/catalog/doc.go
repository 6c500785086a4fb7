// Package catalog is the one table of minato's monitors, shared by the
// CLI's "minato monitor" commands and the agent's checks: a name means the
// same monitor, default targets and primary samples everywhere. It is a
// plain switch (no registration, no init): adding a monitor is adding a
// case.
package catalog
