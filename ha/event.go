package ha

import "time"

// GroupState is where a group stands on one node.
type GroupState string

// Group states, as a node sees its own copy of a group.
const (
	// Offline: not active here.
	Offline GroupState = "offline"
	// Starting: members being activated here.
	Starting GroupState = "starting"
	// Online: every member active here.
	Online GroupState = "online"
	// Stopping: members being deactivated here.
	Stopping GroupState = "stopping"
	// Failed: activation or deactivation failed here; the group is not
	// (known to be) online here. An operator, a failover or a later
	// start clears it.
	Failed GroupState = "failed"
	// Suspended: monitoring and recovery are paused (an operator's
	// suspend); the resources are left as they are.
	Suspended GroupState = "suspended"
)

// EventKind says what an [Event] reports.
type EventKind string

// Event kinds.
const (
	EventActivated          EventKind = "activated"           // a member, or the group (Member empty), is active
	EventActivationFailed   EventKind = "activation_failed"   // Message is CLUSTERPRO's "Activating ... has failed." line
	EventDeactivated        EventKind = "deactivated"         // a member, or the group, is inactive
	EventDeactivationFailed EventKind = "deactivation_failed" // Message: "Deactivating ... has failed."
	EventMonitorError       EventKind = "monitor_error"       // Message: "Detected an error in monitoring ..."
	EventMonitorWarn        EventKind = "monitor_warn"        // Message: "Warn monitoring ..."
	EventMonitorRecovered   EventKind = "monitor_recovered"   // a monitor saw the resource healthy again
	EventRestart            EventKind = "restart"             // recovery restarts a member or the group here
	EventFailover           EventKind = "failover"            // the group leaves this node for another (Node is the new holder when known)
	EventFinalAction        EventKind = "final_action"        // Message names the action taken
	EventHolderChanged      EventKind = "holder_changed"      // the cluster chose a new holder at a new Epoch
	EventNodeUp             EventKind = "node_up"             // a peer's heartbeats arrive (again)
	EventNodeDown           EventKind = "node_down"           // a peer's heartbeats stopped and the witness says it is down
	EventIsolated           EventKind = "isolated"            // this node lost its peers and the witness: it self-fences
	EventLeaseLost          EventKind = "lease_lost"          // the lease witness no longer grants this node the group
	EventFenced             EventKind = "fenced"              // a peer declared down was fenced (Node) before a takeover
	EventFenceFailed        EventKind = "fence_failed"        // fencing Node failed: the takeover waits
)

// Event is one thing that happened to a group or the cluster, for logs,
// notifiers and metrics. It is a value; Err is not marshalled.
type Event struct {
	Time time.Time `json:"time"`
	Kind EventKind `json:"kind"`
	// Group, Member and Monitor say what it concerns (empty when not
	// applicable); Node is the node it happened on or moved to.
	Group   string `json:"group,omitempty"`
	Member  string `json:"member,omitempty"`
	Monitor string `json:"monitor,omitempty"`
	Node    string `json:"node,omitempty"`
	// Epoch is the holder's epoch when the event concerns a hold.
	Epoch Epoch `json:"epoch,omitempty"`
	// Message is the operator's line (CLUSTERPRO's wording where it has
	// one).
	Message string `json:"message"`
	// Err is the underlying error, if any.
	Err error `json:"-"`
}
