#pragma once

#include <pthread.h>

// Read-side sections and grace periods: a small user-space RCU for the router.
//
// A reader brackets its use of shared pointers with a `read_section`; a writer that has made a
// pointer unreachable calls `wait_for_readers()`, which returns once every read section that
// was open at the time of the call has ended. After that no thread can still be using what the
// writer removed, so it may be freed (or, for a session, ended).
//
// The contract that makes it cheap: a reader opens its section before it takes, inside the
// section, the lock under which writers unlink (the router's `mu_`, shared), and a writer
// unlinks under that lock, releases it, then waits. The lock orders a reader's opening before
// any later writer's wait, so the opening itself needs no fence.
//
// Cost to a reader: two stores to its own thread's slot (one cache line per thread, never
// written by another thread), no shared counter, no allocation after a thread's first section.
// Sections nest. A writer waits for readers, never the other way round, so a thread must not
// call wait_for_readers() inside a read section (it would wait for itself).
//
// Threads: any. Slots are process-wide; a thread claims one on its first section and gives it
// back when it exits (slots are reused, never freed).
namespace sluice::broker {

class read_section {
  public:
    read_section();
    ~read_section();
    read_section(const read_section&) = delete;
    read_section& operator=(const read_section&) = delete;
};

// Blocks until every read section open when it was called has ended (a grace period).
void wait_for_readers();

// A reader/writer lock that lets a waiting writer in ahead of new readers (glibc's default
// rwlock, under std::shared_mutex, prefers readers, so a steady stream of publishers could
// starve SUBSCRIBE). Not recursive: a thread must not take it shared twice.
//
// Threads: any (it is a lock). Meets SharedMutex for std::unique_lock and std::shared_lock.
class writer_first_mutex {
  public:
    writer_first_mutex();
    ~writer_first_mutex();
    writer_first_mutex(const writer_first_mutex&) = delete;
    writer_first_mutex& operator=(const writer_first_mutex&) = delete;

    void lock();
    void unlock();
    void lock_shared();
    void unlock_shared();

  private:
    pthread_rwlock_t lock_;
};

}  // namespace sluice::broker
