// A fixed-work driver for callgrind: routes COUNT messages of one kind, so
// instruction counts per message compare exactly across builds and machines.
//
//   valgrind --tool=callgrind --toggle-collect='*route_messages*'
//            switchboard_route_profile offer 2000
//   -> Ir / 2000 = instructions per routed message
//
// Kinds: candidate, offer (through Hub::receive), naive-candidate,
// naive-offer (nlohmann parse + dump of the same bytes).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <switchboard/hub.hpp>

#include "sample_messages.hpp"

namespace {

using namespace switchboard;

class CountingConnection final : public Connection {
public:
    void send(std::shared_ptr<const std::string>) override { ++messages; }
    void close(int, std::string_view) override {}
    std::uint64_t messages = 0;
};

std::shared_ptr<Session> join(Hub& hub, std::shared_ptr<Connection> c) {
    Handshake h;
    h.path = "/room/profile";
    return hub.open(hub.admit(std::move(h)), std::move(c));
}

__attribute__((noinline)) void route_messages(Hub& hub, Session& from, const std::string& text, long count) {
    for (long i = 0; i < count; ++i)
        hub.receive(from, text);
}

__attribute__((noinline)) std::size_t route_messages_naive(const std::string& text, long count) {
    std::size_t total = 0;
    for (long i = 0; i < count; ++i) {
        auto j = nlohmann::json::parse(text);
        auto to = j.at("to").get<std::uint64_t>();
        j.erase("to");
        j["from"] = to + 1;
        auto out = std::make_shared<const std::string>(j.dump());
        total += out->size();
    }
    return total;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s candidate|offer|naive-candidate|naive-offer COUNT\n", argv[0]);
        return 2;
    }
    std::string kind = argv[1];
    long count = std::atol(argv[2]);
    bool offer = kind == "offer" || kind == "naive-offer";
    if (kind.rfind("naive-", 0) == 0) {
        auto text = offer ? bench::description_message(2) : bench::candidate_message(2);
        std::printf("%zu bytes out\n", route_messages_naive(text, count));
        return 0;
    }
    Options o;
    o.limits.rate_per_second = 1e12;
    o.limits.rate_burst = 1e12;
    Hub hub(o);
    auto a = std::make_shared<CountingConnection>();
    auto b = std::make_shared<CountingConnection>();
    auto sa = join(hub, a);
    auto sb = join(hub, b);
    auto text = offer ? bench::description_message(sb->id()) : bench::candidate_message(sb->id());
    auto before = b->messages;
    route_messages(hub, *sa, text, count);
    std::printf("%llu routed\n", static_cast<unsigned long long>(b->messages - before));
    return b->messages - before == static_cast<std::uint64_t>(count) ? 0 : 1;
}
