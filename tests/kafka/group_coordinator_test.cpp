// The consumer-group state machine, driven by an injected clock (plain numbers): joins,
// MEMBER_ID_REQUIRED, protocol choice, leader and assignments, heartbeats, session and
// rebalance timeouts, leaving, commits, and a long random run checking that every JoinGroup
// and SyncGroup is answered exactly once.

#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "kafka/group_coordinator.hpp"

using namespace sluice::kafka;

namespace {

constexpr std::int32_t session = 10000;
constexpr std::int32_t rebalance = 30000;

join_group_request join_req(const std::string& member_id,
                            std::vector<std::string> protocols = {"range"},
                            const std::string& type = "consumer") {
    join_group_request r;
    r.group_id = "g";
    r.session_timeout_ms = session;
    r.rebalance_timeout_ms = rebalance;
    r.member_id = member_id;
    r.protocol_type = type;
    for (const auto& p : protocols) r.protocols.push_back({p, byte_buffer(p.begin(), p.end())});
    return r;
}

join_context ctx(std::int16_t version = 5, const std::string& client = "c") {
    return join_context{version, client, "/127.0.0.1"};
}

group_config no_delay() {
    group_config c;
    c.initial_rebalance_delay_ms = 0;
    return c;
}

sync_group_request sync_req(const std::string& member, std::int32_t gen,
                            std::vector<sync_group_request::assignment> a = {}) {
    sync_group_request r;
    r.group_id = "g";
    r.generation_id = gen;
    r.member_id = member;
    r.assignments = std::move(a);
    return r;
}

heartbeat_request hb(const std::string& member, std::int32_t gen) {
    return heartbeat_request{"g", gen, member, std::nullopt};
}

// Joins with a v3 request (no MEMBER_ID_REQUIRED round) and returns the member id the
// coordinator assigned, taken from the completion if there was one.
const join_completion* find_join(const group_events& ev, std::uint64_t token) {
    for (const auto& j : ev.joins)
        if (j.token == token) return &j;
    return nullptr;
}
const sync_completion* find_sync(const group_events& ev, std::uint64_t token) {
    for (const auto& s : ev.syncs)
        if (s.token == token) return &s;
    return nullptr;
}

}  // namespace

TEST_CASE("group: JoinGroup v4+ with an empty member id gets MEMBER_ID_REQUIRED first") {
    group_coordinator gc;  // default initial rebalance delay: 3 s
    group_events ev;
    gc.join(1, join_req(""), ctx(5), 0, ev);
    REQUIRE(ev.joins.size() == 1);
    CHECK(ev.joins[0].response.error == error_code::member_id_required);
    std::string id = ev.joins[0].response.member_id;
    CHECK(id.rfind("c-", 0) == 0);
    CHECK(gc.state("g") == group_state::empty);

    ev = {};
    gc.join(2, join_req(id), ctx(5), 100, ev);
    CHECK(ev.empty());  // waiting out the initial delay
    CHECK(gc.state("g") == group_state::preparing_rebalance);
    REQUIRE(gc.next_deadline() == 3100);
    gc.tick(3099, ev);
    CHECK(ev.empty());
    gc.tick(3100, ev);
    REQUIRE(ev.joins.size() == 1);
    const auto& r = ev.joins[0].response;
    CHECK(ev.joins[0].token == 2);
    CHECK(r.error == error_code::none);
    CHECK(r.generation_id == 1);
    CHECK(r.leader == id);
    CHECK(r.member_id == id);
    CHECK(r.protocol_name == "range");
    REQUIRE(r.members.size() == 1);
    CHECK(r.members[0].metadata == byte_buffer{'r', 'a', 'n', 'g', 'e'});
    CHECK(gc.state("g") == group_state::completing_rebalance);

    ev = {};
    gc.sync(3, sync_req(id, 1, {{id, {9, 9}}}), 3200, ev);
    REQUIRE(ev.syncs.size() == 1);
    CHECK(ev.syncs[0].response.assignment == byte_buffer{9, 9});
    CHECK(gc.state("g") == group_state::stable);
    CHECK(gc.heartbeat(hb(id, 1), 4000) == error_code::none);
}

TEST_CASE(
    "group: a second member triggers a rebalance, the leader gets metadata, all get assignments") {
    group_coordinator gc(no_delay());
    group_events ev;
    gc.join(1, join_req("", {"roundrobin", "range"}), ctx(3, "a"), 0, ev);
    REQUIRE(ev.joins.size() == 1);
    std::string a = ev.joins[0].response.member_id;
    CHECK(ev.joins[0].response.generation_id == 1);
    CHECK(ev.joins[0].response.protocol_name == "roundrobin");
    ev = {};
    gc.sync(2, sync_req(a, 1, {{a, {1}}}), 0, ev);
    CHECK(gc.state("g") == group_state::stable);

    ev = {};
    gc.join(3, join_req("", {"range"}), ctx(3, "b"), 10, ev);
    CHECK(ev.empty());  // b waits for a to rejoin
    CHECK(gc.state("g") == group_state::preparing_rebalance);
    CHECK(gc.heartbeat(hb(a, 1), 20) == error_code::rebalance_in_progress);

    gc.join(4, join_req(a, {"roundrobin", "range"}), ctx(3, "a"), 30, ev);
    REQUIRE(ev.joins.size() == 2);
    const auto* ja = find_join(ev, 4);
    const auto* jb = find_join(ev, 3);
    REQUIRE((ja && jb));
    std::string b = jb->response.member_id;
    CHECK(ja->response.generation_id == 2);
    CHECK(jb->response.generation_id == 2);
    CHECK(ja->response.protocol_name == "range");  // the only protocol both support
    CHECK(ja->response.leader == a);               // the leader stays
    REQUIRE(ja->response.members.size() == 2);
    CHECK(ja->response.members[1].member_id == b);
    CHECK(ja->response.members[1].metadata == byte_buffer{'r', 'a', 'n', 'g', 'e'});
    CHECK(jb->response.members.empty());  // followers get no member list

    ev = {};
    gc.sync(5, sync_req(b, 2), 40, ev);
    CHECK(ev.empty());  // waits for the leader
    CHECK(gc.heartbeat(hb(b, 2), 45) == error_code::none);
    gc.sync(6, sync_req(a, 2, {{a, {0xa}}, {b, {0xb}}}), 50, ev);
    REQUIRE(ev.syncs.size() == 2);
    CHECK(find_sync(ev, 5)->response.assignment == byte_buffer{0xb});
    CHECK(find_sync(ev, 6)->response.assignment == byte_buffer{0xa});
    CHECK(gc.state("g") == group_state::stable);

    // A follower rejoining with the same protocols in Stable gets the current generation.
    ev = {};
    gc.join(7, join_req(b, {"range"}), ctx(3, "b"), 60, ev);
    REQUIRE(ev.joins.size() == 1);
    CHECK(ev.joins[0].response.generation_id == 2);
    CHECK(gc.state("g") == group_state::stable);
}

TEST_CASE("group: protocol votes and inconsistent protocols") {
    group_coordinator gc(no_delay());
    group_events ev;
    gc.join(1, join_req("", {"range", "roundrobin"}), ctx(3), 0, ev);
    std::string a = ev.joins.at(0).response.member_id;

    SECTION("no protocol in common") {
        ev = {};
        gc.join(2, join_req("", {"sticky"}), ctx(3), 1, ev);
        CHECK(ev.joins.at(0).response.error == error_code::inconsistent_group_protocol);
    }
    SECTION("another protocol type") {
        ev = {};
        gc.join(2, join_req("", {"range"}, "connect"), ctx(3), 1, ev);
        CHECK(ev.joins.at(0).response.error == error_code::inconsistent_group_protocol);
    }
    SECTION("the majority's first choice wins") {
        ev = {};
        gc.join(2, join_req("", {"roundrobin", "range"}), ctx(3), 1, ev);
        gc.join(3, join_req("", {"roundrobin", "range"}), ctx(3), 1, ev);
        gc.join(4, join_req(a, {"range", "roundrobin"}), ctx(3), 2, ev);
        REQUIRE(ev.joins.size() == 3);
        CHECK(ev.joins[0].response.protocol_name == "roundrobin");
    }
}

TEST_CASE("group: a member that stops heartbeating is removed and the group rebalances") {
    group_coordinator gc(no_delay());
    group_events ev;
    gc.join(1, join_req(""), ctx(3, "a"), 0, ev);
    std::string a = ev.joins.at(0).response.member_id;
    gc.join(2, join_req(""), ctx(3, "b"), 0, ev);
    gc.join(3, join_req(a), ctx(3, "a"), 0, ev);
    std::string b = find_join(ev, 2)->response.member_id;
    REQUIRE(gc.generation("g") == 2);
    ev = {};
    gc.sync(4, sync_req(a, 2, {{a, {1}}, {b, {2}}}), 0, ev);
    gc.sync(5, sync_req(b, 2), 0, ev);
    REQUIRE(gc.state("g") == group_state::stable);

    CHECK(gc.next_deadline() == session);
    CHECK(gc.heartbeat(hb(a, 2), 6000) == error_code::none);
    CHECK(gc.next_deadline() == session);  // b's
    ev = {};
    gc.tick(session - 1, ev);
    CHECK(gc.state("g") == group_state::stable);
    gc.tick(session, ev);
    CHECK(ev.empty());
    CHECK(gc.state("g") == group_state::preparing_rebalance);
    CHECK(gc.heartbeat(hb(b, 2), session + 1) == error_code::unknown_member_id);
    CHECK(gc.heartbeat(hb(a, 2), session + 1) == error_code::rebalance_in_progress);
    gc.join(6, join_req(a), ctx(3, "a"), session + 2, ev);
    REQUIRE(ev.joins.size() == 1);
    CHECK(ev.joins[0].response.generation_id == 3);
    CHECK(ev.joins[0].response.members.size() == 1);
}

TEST_CASE("group: members that do not rejoin within the rebalance timeout are dropped") {
    group_coordinator gc(no_delay());
    group_events ev;
    gc.join(1, join_req(""), ctx(3, "a"), 0, ev);
    std::string a = ev.joins.at(0).response.member_id;
    gc.sync(2, sync_req(a, 1, {}), 0, ev);
    ev = {};
    gc.join(3, join_req(""), ctx(3, "b"), 1000, ev);
    CHECK(ev.empty());
    for (time_ms t = 2000; t < 1000 + rebalance; t += 3000) {
        CHECK(gc.heartbeat(hb(a, 1), t) == error_code::rebalance_in_progress);
        gc.tick(t, ev);
        CHECK(ev.empty());
    }
    CHECK(gc.next_deadline() == 1000 + rebalance);  // a heartbeats but never rejoins
    gc.tick(1000 + rebalance, ev);
    REQUIRE(ev.joins.size() == 1);
    CHECK(ev.joins[0].token == 3);
    CHECK(ev.joins[0].response.generation_id == 2);
    CHECK(ev.joins[0].response.leader == ev.joins[0].response.member_id);
    CHECK(gc.heartbeat(hb(a, 2), 1000 + rebalance) == error_code::unknown_member_id);
}

TEST_CASE("group: leaving, and pending syncs answered when a rebalance starts") {
    group_coordinator gc(no_delay());
    group_events ev;
    gc.join(1, join_req(""), ctx(3, "a"), 0, ev);
    std::string a = ev.joins.at(0).response.member_id;
    gc.join(2, join_req(""), ctx(3, "b"), 0, ev);
    gc.join(3, join_req(a), ctx(3, "a"), 0, ev);
    std::string b = find_join(ev, 2)->response.member_id;
    ev = {};
    gc.sync(4, sync_req(b, 2), 0, ev);  // waits for the leader...
    CHECK(ev.empty());
    CHECK(gc.leave({"g", a}, 5, ev) == error_code::none);  // ...who leaves instead
    REQUIRE(ev.syncs.size() == 1);
    CHECK(ev.syncs[0].token == 4);
    CHECK(ev.syncs[0].response.error == error_code::rebalance_in_progress);
    CHECK(gc.state("g") == group_state::preparing_rebalance);
    CHECK(gc.leave({"g", a}, 6, ev) == error_code::unknown_member_id);

    ev = {};
    gc.join(5, join_req(b), ctx(3, "b"), 10, ev);
    REQUIRE(ev.joins.size() == 1);
    CHECK(ev.joins[0].response.leader == b);
    CHECK(gc.leave({"g", b}, 20, ev) == error_code::none);
    CHECK(gc.state("g") == group_state::empty);  // the last member left: nothing to wait for
    CHECK(gc.generation("g") == 4);
    CHECK(gc.remove("g") == error_code::none);
    CHECK_FALSE(gc.state("g"));
}

TEST_CASE("group: request errors") {
    group_coordinator gc(no_delay());
    group_events ev;
    SECTION("join") {
        auto bad = join_req("");
        bad.session_timeout_ms = 1000;
        gc.join(1, bad, ctx(), 0, ev);
        CHECK(ev.joins.at(0).response.error == error_code::invalid_session_timeout);
        bad = join_req("");
        bad.group_id = "";
        gc.join(2, bad, ctx(), 0, ev);
        CHECK(ev.joins.at(1).response.error == error_code::invalid_group_id);
        gc.join(3, join_req("ghost"), ctx(), 0, ev);
        CHECK(ev.joins.at(2).response.error == error_code::unknown_member_id);
        CHECK_FALSE(gc.state("g"));  // no group made for nothing
    }
    SECTION("sync and heartbeat") {
        gc.join(1, join_req(""), ctx(3), 0, ev);
        std::string a = ev.joins.at(0).response.member_id;
        gc.sync(2, sync_req("ghost", 1), 0, ev);
        CHECK(find_sync(ev, 2)->response.error == error_code::unknown_member_id);
        gc.sync(3, sync_req(a, 7), 0, ev);
        CHECK(find_sync(ev, 3)->response.error == error_code::illegal_generation);
        CHECK(gc.heartbeat(hb(a, 7), 0) == error_code::illegal_generation);
        CHECK(gc.heartbeat(hb("ghost", 1), 0) == error_code::unknown_member_id);
        CHECK(gc.heartbeat(heartbeat_request{"nope", 1, a, std::nullopt}, 0) ==
              error_code::unknown_member_id);
        gc.join(4, join_req(""), ctx(3), 0, ev);  // a second member: rebalance
        gc.sync(5, sync_req(a, 1), 0, ev);
        CHECK(find_sync(ev, 5)->response.error == error_code::rebalance_in_progress);
    }
}

TEST_CASE("group: an id from MEMBER_ID_REQUIRED expires after the session timeout") {
    group_coordinator gc(no_delay());
    group_events ev;
    gc.join(1, join_req(""), ctx(4), 0, ev);
    std::string id = ev.joins.at(0).response.member_id;
    CHECK(gc.next_deadline() == session);
    gc.tick(session, ev);
    CHECK_FALSE(gc.next_deadline());
    ev = {};
    gc.join(2, join_req(id), ctx(4), session + 1, ev);
    CHECK(ev.joins.at(0).response.error == error_code::unknown_member_id);
}

TEST_CASE("group: offset commit checks") {
    group_coordinator gc(no_delay());
    group_events ev;
    CHECK(gc.check_commit("solo", -1, "", 0) == error_code::none);
    CHECK(gc.check_commit("solo", 3, "x", 0) == error_code::illegal_generation);
    gc.join(1, join_req(""), ctx(3), 0, ev);
    std::string a = ev.joins.at(0).response.member_id;
    CHECK(gc.check_commit("g", 1, a, 0) == error_code::rebalance_in_progress);  // before sync
    gc.sync(2, sync_req(a, 1), 0, ev);
    CHECK(gc.check_commit("g", 1, a, 9000) == error_code::none);
    CHECK(gc.next_deadline() == 9000 + session);  // a commit counts as a heartbeat
    CHECK(gc.check_commit("g", 0, a, 0) == error_code::illegal_generation);
    CHECK(gc.check_commit("g", 1, "ghost", 0) == error_code::unknown_member_id);
    CHECK(gc.check_commit("g", -1, "", 0) == error_code::unknown_member_id);
}

TEST_CASE("group: describe and list") {
    group_coordinator gc(no_delay());
    group_events ev;
    CHECK(gc.describe("g").group_state == "Dead");
    gc.join(1, join_req(""), ctx(3, "client-a"), 0, ev);
    std::string a = ev.joins.at(0).response.member_id;
    gc.sync(2, sync_req(a, 1, {{a, {7}}}), 0, ev);
    auto d = gc.describe("g");
    CHECK(d.group_state == "Stable");
    CHECK(d.protocol_type == "consumer");
    CHECK(d.protocol_data == "range");
    REQUIRE(d.members.size() == 1);
    CHECK(d.members[0].client_id == "client-a");
    CHECK(d.members[0].client_host == "/127.0.0.1");
    CHECK(d.members[0].member_assignment == byte_buffer{7});
    auto l = gc.list();
    REQUIRE(l.size() == 1);
    CHECK(l[0].group_id == "g");
    CHECK(gc.remove("g") == error_code::non_empty_group);
    CHECK(gc.remove("other") == error_code::group_id_not_found);
}

TEST_CASE("group: a long random run answers every JoinGroup and SyncGroup exactly once") {
    group_coordinator gc;
    std::uint64_t seed = 42;
    auto rnd = [&](std::uint64_t n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        return (seed >> 33) % n;
    };
    std::set<std::uint64_t> outstanding;
    std::map<std::uint64_t, int> answered;
    std::map<int, std::string> ids;  // client -> member id it knows
    std::map<int, std::int32_t> gens;
    std::uint64_t token = 0;
    time_ms now = 0;
    auto absorb = [&](const group_events& ev) {
        for (const auto& j : ev.joins) {
            REQUIRE(outstanding.erase(j.token) == 1);
            ++answered[j.token];
            int client = static_cast<int>(j.token % 4);
            if (!j.response.member_id.empty()) ids[client] = j.response.member_id;
            if (j.response.error == error_code::none) gens[client] = j.response.generation_id;
            if (j.response.error == error_code::unknown_member_id) ids[client].clear();
        }
        for (const auto& s : ev.syncs) {
            REQUIRE(outstanding.erase(s.token) == 1);
            ++answered[s.token];
        }
    };
    for (int step = 0; step < 5000; ++step) {
        now += static_cast<time_ms>(rnd(3000));
        int client = static_cast<int>(rnd(4));
        group_events ev;
        switch (rnd(5)) {
            case 0: {
                token = (token / 4 + 1) * 4 + static_cast<std::uint64_t>(client);
                outstanding.insert(token);
                gc.join(
                    token,
                    join_req(ids[client], rnd(2) ? std::vector<std::string>{"range"}
                                                 : std::vector<std::string>{"roundrobin", "range"}),
                    ctx(static_cast<std::int16_t>(rnd(6))), now, ev);
                break;
            }
            case 1: {
                token = (token / 4 + 1) * 4 + static_cast<std::uint64_t>(client);
                outstanding.insert(token);
                gc.sync(token, sync_req(ids[client], gens[client], {{ids[client], {1}}}), now, ev);
                break;
            }
            case 2:
                (void)gc.heartbeat(hb(ids[client], gens[client]), now);
                break;
            case 3:
                if (rnd(10) == 0) (void)gc.leave({"g", ids[client]}, now, ev);
                break;
            default:
                gc.tick(now, ev);
                if (auto d = gc.next_deadline()) CHECK(*d > now);  // nothing due is left
                break;
        }
        absorb(ev);
    }
    // Far in the future every session and rebalance has expired: nothing is left waiting.
    for (int i = 0; i < 4; ++i) {
        group_events ev;
        now += 10 * rebalance;
        gc.tick(now, ev);
        absorb(ev);
    }
    CHECK(outstanding.empty());
    for (const auto& [t, n] : answered) CHECK(n == 1);
    CHECK(answered.size() > 1000);
}
