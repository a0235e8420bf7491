// The Prometheus text encoder and the metrics registry (broker/metrics.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "broker/metrics.hpp"

using namespace sluice::broker::metrics;

TEST_CASE("metrics values are spelled as the text format wants") {
    CHECK(format_value(0) == "0");
    CHECK(format_value(42) == "42");
    CHECK(format_value(-3) == "-3");
    CHECK(format_value(1e15) == "1000000000000000");
    CHECK(format_value(0.25) == "0.25");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::nan("")) == "NaN");
}

TEST_CASE("metrics label values are escaped") {
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_label_value("a\"b") == "a\\\"b");
    CHECK(escape_label_value("a\\b") == "a\\\\b");
    CHECK(escape_label_value("a\nb") == "a\\nb");
}

TEST_CASE("metrics families encode with HELP, TYPE and one line per sample") {
    family_list list;
    list.counter("sluice_things_total", "Things.\nCounted.").add(3, {{"kind", "a"}}).add(4, {{"kind", "b\"c"}});
    list.gauge("sluice_level", "A level.").add(1.5);
    list.gauge("sluice_empty", "Has no samples and is left out.");
    const std::string text = encode(list.families());
    CHECK(text ==
          "# HELP sluice_things_total Things.\\nCounted.\n"
          "# TYPE sluice_things_total counter\n"
          "sluice_things_total{kind=\"a\"} 3\n"
          "sluice_things_total{kind=\"b\\\"c\"} 4\n"
          "# HELP sluice_level A level.\n"
          "# TYPE sluice_level gauge\n"
          "sluice_level 1.5\n");
}

TEST_CASE("metrics histograms are cumulative with +Inf, _sum and _count") {
    family_list list;
    auto& f = list.histogram("sluice_wait_seconds", "Waits.");
    histogram_sample h;
    h.label_set = {{"topic", "t"}};
    h.bounds = {0.1, 1};
    h.counts = {2, 3, 1};  // per bucket: <= 0.1, <= 1, > 1
    h.sum = 4.5;
    f.histograms.push_back(h);
    CHECK(encode(list.families()) ==
          "# HELP sluice_wait_seconds Waits.\n"
          "# TYPE sluice_wait_seconds histogram\n"
          "sluice_wait_seconds_bucket{topic=\"t\",le=\"0.10000000000000001\"} 2\n"
          "sluice_wait_seconds_bucket{topic=\"t\",le=\"1\"} 5\n"
          "sluice_wait_seconds_bucket{topic=\"t\",le=\"+Inf\"} 6\n"
          "sluice_wait_seconds_sum{topic=\"t\"} 4.5\n"
          "sluice_wait_seconds_count{topic=\"t\"} 6\n");
}

TEST_CASE("metrics registry runs collectors in order; a name added twice is replaced") {
    registry r;
    r.add("one", [](family_list& l) { l.gauge("a", "A.").add(1); });
    r.add("two", [](family_list& l) { l.gauge("b", "B.").add(2); });
    r.add("one", [](family_list& l) { l.gauge("a", "A.").add(7); });
    auto text = r.scrape();
    CHECK(text.find("a 7\n") != std::string::npos);
    CHECK(text.find("a 1\n") == std::string::npos);
    CHECK(text.find("# TYPE a gauge") < text.find("# TYPE b gauge"));
    r.remove("two");
    CHECK(r.scrape().find("b 2") == std::string::npos);
}

TEST_CASE("metrics from two collectors under one name share one family") {
    registry r;
    r.add("x", [](family_list& l) { l.counter("c_total", "C.").add(1, {{"src", "x"}}); });
    r.add("y", [](family_list& l) { l.counter("c_total", "C.").add(2, {{"src", "y"}}); });
    auto text = r.scrape();
    CHECK(text ==
          "# HELP c_total C.\n# TYPE c_total counter\nc_total{src=\"x\"} 1\nc_total{src=\"y\"} 2\n");
}
