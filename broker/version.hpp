#pragma once

// The version `sluice --version` prints and $SYS/broker/version publishes.
namespace sluice::broker {
inline constexpr const char* version = "0.1.0";
}
