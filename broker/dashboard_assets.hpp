#pragma once

#include <string_view>

// The dashboard's static files (broker/dashboard/), embedded in the binary at build time by
// cmake/embed_files.cmake: nothing is read from disk or downloaded when `/` is served.
namespace sluice::broker {

struct embedded_file {
    std::string_view path;  // "/index.html", "/vendor/uplot/uPlot.iife.min.js", ...
    std::string_view content_type;
    std::string_view data;
};

// The file served at `path` ("/" is "/index.html"), or null.
const embedded_file* find_dashboard_file(std::string_view path);

}  // namespace sluice::broker
