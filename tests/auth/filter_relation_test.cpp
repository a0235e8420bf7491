#include <catch2/catch.hpp>

#include "auth/filter_relation.hpp"

using sluice::auth::filter_covers;
using sluice::auth::filters_overlap;

TEST_CASE("filter_covers: every topic of the inner filter matches the outer", "[auth][acl]") {
    struct row {
        const char* outer;
        const char* inner;
        bool covers;
    };
    const row rows[] = {
        {"a/b", "a/b", true},   {"a/b", "a/c", false},      {"a/+", "a/b", true},
        {"a/+", "a/+", true},   {"a/b", "a/+", false},      {"a/+", "a/#", false},
        {"a/#", "a/#", true},   {"a/#", "a/+/b", true},     {"a/#", "a", true},
        {"a/#", "a/b/#", true}, {"a/#", "b/#", false},      {"#", "a/b", true},
        {"#", "#", true},       {"#", "+/x", true},         {"+", "a", true},
        {"+", "a/b", false},    {"+/+", "a/#", false},      {"a/+/#", "a/b", true},
        {"a/+/#", "a", false},  {"a/+/#", "a/b/c", true},   {"a/+/#", "a/#", false},
        {"a", "a/#", false},    {"a/b/c", "a/b", false},    {"a/b", "a/b/c", false},
        {"+/b", "a/+", false},  {"a//b", "a/+/b", false},   {"a/+/b", "a//b", true},
        {"#", "$SYS/x", false}, {"+/x", "$SYS/x", false},   {"$SYS/#", "$SYS/x", true},
        {"$SYS/#", "#", false}, {"$SYS/+", "$SYS/x", true},
    };
    for (const row& r : rows) {
        INFO(r.outer << " covers " << r.inner);
        CHECK(filter_covers(r.outer, r.inner) == r.covers);
    }
}

TEST_CASE("filters_overlap: some topic matches both", "[auth][acl]") {
    struct row {
        const char* a;
        const char* b;
        bool overlap;
    };
    const row rows[] = {
        {"a/b", "a/b", true},       {"a/b", "a/c", false},   {"a/+", "+/b", true},
        {"a/#", "a", true},         {"a", "a/#", true},      {"a/#", "b/#", false},
        {"#", "x/y/z", true},       {"a/+", "a/b/c", false}, {"a/+/c", "a/b/+", true},
        {"+", "a/b", false},        {"#", "$SYS/x", false},  {"+/x", "$SYS/+", false},
        {"$SYS/#", "$SYS/+", true}, {"a/b/#", "a/+", true},  {"a/b/#", "a/c/+", false},
    };
    for (const row& r : rows) {
        INFO(r.a << " overlaps " << r.b);
        CHECK(filters_overlap(r.a, r.b) == r.overlap);
        CHECK(filters_overlap(r.b, r.a) == r.overlap);
    }
}
