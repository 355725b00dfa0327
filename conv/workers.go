package conv

import "github.com/snnkit/snn/par"

// A laneRunner is one call's work, shared by lanes: runLane(i) is called
// once for every lane i in [0, lanes). Lanes pick work units from a shared
// counter; which lane runs a unit never changes its result, only which
// scratch buffers it uses.
type laneRunner interface {
	runLane(lane int)
	// abort wakes lanes that wait for one another: a lane has panicked.
	abort()
}

// runner shows a laneRunner to par without exporting its methods. It
// holds one pointer, so making a par.Runner of it allocates nothing.
type runner[R laneRunner] struct{ r R }

func (x runner[R]) RunLane(lane int) { x.r.runLane(lane) }
func (x runner[R]) Abort()           { x.r.abort() }

// runLanes runs r on lanes lanes (lane 0 in the caller, the others on
// par's workers) and returns when all are done. If a lane panics, the
// others are told to stop (t.Failed) and the first panic is raised again
// here once every lane has returned.
func runLanes[R laneRunner](r R, lanes int, t *par.Team) {
	t.Run(runner[R]{r}, lanes)
}
