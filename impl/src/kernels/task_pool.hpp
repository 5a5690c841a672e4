// A small persistent thread pool for the optimized kernels' tasks.
//
// Why not an OpenMP parallel for: every OpenMP region ends in a barrier that waits for every
// thread of the team, and libgomp's default wait policy spins. On a machine shared with other
// work (CI, the 2-core box this was measured on) a team member that is descheduled holds the
// whole call up for a scheduler time slice: an empty 2-thread region averaged 3.5 ms there.
// Here the calling thread takes tasks too, from one atomic counter, and the call is over when
// every task is done: a worker that wakes late finds nothing left and costs nothing. Between
// calls a worker polls for 200 us, then sleeps on a condition variable: back-to-back calls
// (the layers of a decode step) find it awake, and an idle process burns no CPU.
//
// Determinism: tasks are independent and each writes only its own outputs, so which thread
// runs which task never changes a result.
#pragma once

#include <cstdint>

namespace attncheck::kernels {

struct Workspace;
using TaskBody = void (*)(const void* job, int64_t task, Workspace& workspace);

// Runs body(job, t, workspace) for every t in [0, count) on the caller and up to threads - 1
// pool workers, each thread with its own Workspace (kept between calls). Returns when all are
// done. Calls from several threads at once are serialised.
void run_in_pool(int64_t count, int threads, TaskBody body, const void* job);

// The threads a call may use by default: the CPUs this process may run on.
int default_thread_count();

}  // namespace attncheck::kernels
