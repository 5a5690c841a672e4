#include "task_pool.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "attention_plan.hpp"

namespace attncheck::kernels {
namespace {

Workspace& thread_workspace() {
  thread_local Workspace workspace;
  return workspace;
}

class Pool {
 public:

  void run(int64_t count, int threads, TaskBody body, const void* job) {
    std::lock_guard<std::mutex> serial(call_mutex_);  // one call at a time
    const int helpers = static_cast<int>(std::min<int64_t>(threads, count)) - 1;
    std::unique_lock<std::mutex> lock(mutex_);
    // A worker that woke too late for the previous call may still be looking at its state.
    finished_.wait(lock, [&] { return busy_ == 0; });
    while (static_cast<int>(workers_.size()) < helpers) {
      workers_.emplace_back([this, index = static_cast<int>(workers_.size())] { work(index); });
    }
    body_ = body;
    job_ = job;
    count_ = count;
    helpers_ = helpers;
    next_.store(0, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    lock.unlock();
    wake_.notify_all();
    drain(thread_workspace());
    lock.lock();
    finished_.wait(lock, [&] { return done_.load(std::memory_order_acquire) == count_ && busy_ == 0; });
  }

 private:
  // Takes tasks until none is left.
  void drain(Workspace& workspace) {
    for (;;) {
      const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= count_) return;
      body_(job_, t, workspace);
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_.notify_all();
      }
    }
  }

  // Polls for the next call for kSpin before sleeping: a worker that sleeps needs a wake-up
  // from the kernel, which on the measured VM took 80-200 us (and sometimes milliseconds, when
  // the idle virtual CPU had been descheduled), a tenth of a 1 ms decode step. Back-to-back
  // calls (the layers of a decode step, a chunk pass and its merge) find their workers awake.
  static constexpr auto kSpin = std::chrono::microseconds(200);

  bool spin_for_call(uint64_t seen) const {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    do {
      for (int i = 0; i < 64; ++i) {
        if (generation_.load(std::memory_order_acquire) != seen) return true;
        pause();
      }
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  void work(int index) {
    uint64_t seen = 0;
    for (;;) {
      spin_for_call(seen);
      std::unique_lock<std::mutex> lock(mutex_);
      // A call may have started and been served without this worker (index >= helpers_):
      // then it waits for the next one.
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen && index < helpers_; });
      seen = generation_.load(std::memory_order_relaxed);
      ++busy_;
      lock.unlock();
      drain(thread_workspace());
      lock.lock();
      --busy_;
      if (busy_ == 0) finished_.notify_all();
    }
  }

  std::mutex call_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};  // written under mutex_; read by spinning workers
  int helpers_ = 0;
  int busy_ = 0;  // workers inside drain(): the call's state must outlive them
  TaskBody body_ = nullptr;
  const void* job_ = nullptr;
  int64_t count_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int64_t> done_{0};
};

// The pool lives for the whole process: its workers sleep until exit, so no destructor has
// to stop threads while static objects are torn down. A child of fork() has none of the
// parent's workers, so it starts a pool of its own (the parent's stays reachable, unused).
Pool* g_pool = nullptr;
Pool* g_parent_pool = nullptr;
std::once_flag g_pool_once;

Pool& pool() {
  std::call_once(g_pool_once, [] {
    g_pool = new Pool;
    pthread_atfork(nullptr, nullptr, [] {
      g_parent_pool = g_pool;
      g_pool = new Pool;
    });
  });
  return *g_pool;
}

}  // namespace

void run_in_pool(int64_t count, int threads, TaskBody body, const void* job) {
  if (count <= 0) return;
  if (threads <= 1 || count == 1) {
    Workspace& workspace = thread_workspace();
    for (int64_t t = 0; t < count; ++t) body(job, t, workspace);
    return;
  }
  pool().run(count, threads, body, job);
}

int default_thread_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace attncheck::kernels
