#include "auth/filter_relation.hpp"

#include <vector>

namespace sluice::auth {

namespace {

std::vector<std::string_view> levels(std::string_view f) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = f.find('/', start);
        if (slash == std::string_view::npos) {
            out.push_back(f.substr(start));
            return out;
        }
        out.push_back(f.substr(start, slash - start));
        start = slash + 1;
    }
}

bool is_wildcard(std::string_view level) {
    return level == "+" || level == "#";
}

// A filter whose first level is a wildcard matches no '$' topic; one whose first level is a
// literal starting with '$' matches only '$' topics. Such a pair has no topic in common.
bool dollar_disjoint(std::string_view a0, std::string_view b0) {
    return (is_wildcard(a0) && b0.starts_with('$')) || (is_wildcard(b0) && a0.starts_with('$'));
}

}  // namespace

bool filter_covers(std::string_view outer, std::string_view inner) {
    const auto o = levels(outer);
    const auto n = levels(inner);
    if (dollar_disjoint(o[0], n[0])) return false;
    for (std::size_t i = 0;; ++i) {
        // "#" in outer matches whatever inner has from here on, the parent level included.
        if (i < o.size() && o[i] == "#") return true;
        if (i == n.size()) return i == o.size();  // inner's topics end here; so must outer's
        if (n[i] == "#") return false;            // inner goes on (or stops) where outer cannot
        if (i == o.size()) return false;          // inner has more levels than outer allows
        if (n[i] == "+") {
            if (o[i] != "+") return false;
        } else if (o[i] != "+" && o[i] != n[i]) {
            return false;
        }
    }
}

bool filters_overlap(std::string_view a, std::string_view b) {
    const auto x = levels(a);
    const auto y = levels(b);
    if (dollar_disjoint(x[0], y[0])) return false;
    for (std::size_t i = 0;; ++i) {
        if ((i < x.size() && x[i] == "#") || (i < y.size() && y[i] == "#")) return true;
        if (i == x.size() || i == y.size()) return x.size() == y.size();
        if (x[i] != "+" && y[i] != "+" && x[i] != y[i]) return false;
    }
}

}  // namespace sluice::auth
