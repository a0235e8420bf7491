#include "broker/session.hpp"

#include <algorithm>

namespace sluice::broker {

namespace {
// How long a congested receiver may go without progress and still slow its publishers down.
constexpr auto progress_grace = std::chrono::seconds(1);
}  // namespace

session::offer_result session::offer(delivery d, std::size_t max_queued) {
    std::lock_guard lock(mu);
    if (ended) return offer_result::dropped;
    auto progressing = [&] { return steady_clock::now() - last_progress < progress_grace; };
    if (d.qos_level == mqtt::qos::at_most_once && (!owner || owner_saturated)) {
        ++dropped;
        return owner && progressing() ? offer_result::dropped_congested : offer_result::dropped;
    }
    if (queue.size() >= max_queued) {
        ++dropped;
        return owner && progressing() ? offer_result::dropped_congested : offer_result::dropped;
    }
    queue.push_back(std::move(d));
    if (!owner) return offer_result::queued;
    if (!wake_posted) {
        wake_posted = true;
        owner->wake();
    }
    return queue.size() > max_queued / 2 && progressing() ? offer_result::congested
                                                          : offer_result::queued;
}

std::uint16_t session::allocate_packet_id() {
    // Ids are handed out in sequence and `inflight` is in allocation order, so every inflight
    // id lies in the cyclic range [front, last]: the next id can only collide with the front.
    std::uint16_t next =
        static_cast<std::uint16_t>(last_packet_id == 65535 ? 1 : last_packet_id + 1);
    if (inflight.empty() || inflight.front().packet_id != next) {
        last_packet_id = next;
        return next;
    }
    for (int tries = 0; tries < 65535; ++tries) {
        last_packet_id =
            static_cast<std::uint16_t>(last_packet_id == 65535 ? 1 : last_packet_id + 1);
        std::uint16_t id = last_packet_id;
        bool used = std::any_of(inflight.begin(), inflight.end(),
                                [id](const inflight_message& m) { return m.packet_id == id; });
        if (!used) return id;
    }
    return 0;
}

}  // namespace sluice::broker
