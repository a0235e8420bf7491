#pragma once

#include <sys/resource.h>

namespace sluice::bench {

// Raises this process's soft open-file limit to its hard limit: thousands of connections need
// thousands of descriptors. Affects this process and the workers it forks, nothing else.
inline rlim_t raise_fd_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
        getrlimit(RLIMIT_NOFILE, &r);
    }
    return r.rlim_cur;
}

}  // namespace sluice::bench
