// switchboard-loadgen: load scenarios against a Switchboard server (or the
// bare relay baseline) on this machine. Boost.Beast client, several I/O
// threads, thousands of connections from one process. Every scenario is
// bounded in count and time and stops by itself. Loopback only.
//
//   switchboard-loadgen --url ws://127.0.0.1:PORT/ --scenario storm|relay|ceiling|churn
//                       [--server-pid PID] [--label NAME] [--json FILE] ...
//   switchboard-loadgen --report DIR [--base LABEL]   medians of every *.json in DIR, with ratios to LABEL's
//
// See --help and bench/README.md.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "sample_messages.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

double seconds_since(std::int64_t start_ns) {
    return static_cast<double>(now_ns() - start_ns) / 1e9;
}

// ---- The server process, seen from /proc ----

/** VmRSS of `pid` in KiB, or -1. */
long rss_kib(int pid) {
    if (pid <= 0) return -1;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
}

/** utime + stime of `pid` in seconds, or -1. */
double cpu_seconds(int pid) {
    if (pid <= 0) return -1;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto paren = stat.rfind(')');
    if (paren == std::string::npos) return -1;
    std::istringstream fields(stat.substr(paren + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // Fields after the command name start at field 3 (state); utime is 14, stime 15.
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/** Open file descriptors of `pid`, or -1. */
long fd_count(int pid) {
    if (pid <= 0) return -1;
    std::error_code ec;
    long n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return ec ? -1 : n;
}

double own_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// ---- Statistics ----

/** Percentile `q` (0..1) of `v` in place; 0 when empty. */
double percentile(std::vector<std::int64_t>& v, double q) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(
        std::min<double>(static_cast<double>(v.size()) - 1, std::ceil(q * static_cast<double>(v.size())) - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]);
}

/** A number that parses right after `key` in `text`, e.g. key "\"ts\":". */
std::optional<std::int64_t> number_after(std::string_view text, std::string_view key) {
    auto at = text.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    const char* p = text.data() + at + key.size();
    std::int64_t n = 0;
    auto r = std::from_chars(p, text.data() + text.size(), n);
    if (r.ec != std::errc()) return std::nullopt;
    return n;
}

// ---- Threads ----

class Client;

/** Per-thread measurements: written only on that thread, read after a `Pool::on_all` barrier. */
struct ThreadStats {
    std::vector<std::int64_t> latency_ns;  // one-way, from intended send time
    std::vector<std::int64_t> send_lag_ns;
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    std::uint64_t stale = 0;   // from an earlier phase
    std::uint64_t errors = 0;  // `error` replies from the server
    std::string first_error;
    void reset() { *this = ThreadStats{}; }
};

struct Worker {
    net::io_context ioc{1};
    net::executor_work_guard<net::io_context::executor_type> guard = net::make_work_guard(ioc);
    std::thread thread;
    ThreadStats stats;
    std::uint32_t phase = 0;  // relay messages carry it; others are stale
};

class Pool {
public:
    explicit Pool(unsigned threads) : workers_(threads) {
        for (auto& w : workers_) {
            w = std::make_unique<Worker>();
            w->thread = std::thread([ioc = &w->ioc] { ioc->run(); });
        }
    }
    ~Pool() {
        for (auto& w : workers_)
            w->guard.reset();
        for (auto& w : workers_) {
            w->ioc.stop();
            w->thread.join();
        }
    }
    std::size_t size() const { return workers_.size(); }
    Worker& operator[](std::size_t i) { return *workers_[i]; }

    /**
     * Run `fn(worker)` on each worker's thread, one worker after the other
     * (so `fn` may write the caller's variables without a lock), and wait.
     */
    void on_all(const std::function<void(Worker&)>& fn) {
        for (auto& w : workers_) {
            std::packaged_task<void()> task([&fn, wp = w.get()] { fn(*wp); });
            auto done = task.get_future();
            net::post(w->ioc, [&task] { task(); });
            done.get();
        }
    }

private:
    std::vector<std::unique_ptr<Worker>> workers_;
};

// ---- One WebSocket client ----

struct Target {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    tcp::endpoint endpoint() const { return {net::ip::make_address(host), port}; }
};

/**
 * The hub's registry gauges from switchboard-server's GET /metrics, keyed
 * as the churn results name them (server_connections_open,
 * server_rooms_open); empty when the server has no such page (the
 * baseline) or does not answer within two seconds.
 */
std::map<std::string, long long> server_gauges(const Target& target) {
    static const std::pair<std::string_view, const char*> gauges_read[] = {
        {"switchboard_connections_open ", "server_connections_open"}, {"switchboard_rooms_open ", "server_rooms_open"}};
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buffer;
    http::request<http::empty_body> request{http::verb::get, "/metrics", 11};
    request.set(http::field::host, target.host);
    http::response<http::string_body> response;
    bool ok = false;
    stream.expires_after(std::chrono::seconds(2));  // bounds the whole exchange
    stream.async_connect(target.endpoint(), [&](beast::error_code ec) {
        if (ec) return;
        http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
            if (ec) return;
            http::async_read(stream, buffer, response, [&](beast::error_code ec, std::size_t) { ok = !ec; });
        });
    });
    ioc.run();
    std::map<std::string, long long> gauges;
    if (!ok || response.result() != http::status::ok) return gauges;
    std::istringstream lines(response.body());
    for (std::string line; std::getline(lines, line);)
        for (const auto& [prefix, key] : gauges_read)
            if (line.rfind(prefix, 0) == 0) gauges[key] = std::llround(std::atof(line.c_str() + prefix.size()));
    return gauges;
}

/**
 * A client connection living on one worker thread: every member function
 * runs on that thread. Calls `on_login(ok)` once (after login or a failure
 * before it) and `on_closed` once, when the socket is done.
 */
class Client : public std::enable_shared_from_this<Client> {
public:
    Client(Worker& worker) : worker_(worker), ws_(worker.ioc) {}

    std::function<void(Client&, bool ok)> on_login;
    std::function<void(Client&)> on_closed;

    std::uint64_t user_id = 0;
    std::int64_t connect_start_ns = 0;
    std::int64_t login_ns = 0;  // connect to login
    bool logged_in = false;
    std::string failure;

    void start(const Target& target, std::string path, std::chrono::milliseconds timeout) {
        path_ = std::move(path);
        connect_start_ns = now_ns();
        bind_own_address();
        beast::get_lowest_layer(ws_).expires_after(timeout);
        beast::get_lowest_layer(ws_).async_connect(
            target.endpoint(), [self = shared_from_this(), host = target.host + ":" + std::to_string(target.port)](
                                   beast::error_code ec) { self->on_connect(ec, host); });
    }

    void send(std::shared_ptr<const std::string> text) {
        if (!open_ || close_requested_) return;
        queue_.push_back(std::move(text));
        if (!writing_) write_next();
    }

    /** Close handshake (after queued writes); the socket is shut hard if the server does not answer. */
    void close() {
        if (close_requested_) return;
        close_requested_ = true;
        if (!open_) return;
        if (!writing_) start_close();
    }

    /** Close, then call `done` once the socket is finished (at once if it already is). */
    void close_then(std::function<void()> done) {
        if (finished_) return done();
        on_closed = [done = std::move(done)](Client&) { done(); };
        close();
    }

    Worker& worker() { return worker_; }

private:
    /**
     * Real clients come from many addresses, and the server limits what one
     * address may do: each client connects from a loopback address of its
     * own (all of 127.0.0.0/8 reaches the server), 127.1.0.1 upwards, so
     * the figures measure the server and not its per-address limits.
     */
    void bind_own_address() {
        static std::atomic<std::uint32_t> next{0};
        std::uint32_t n = next.fetch_add(1) % (254u * 256 * 250);
        net::ip::address_v4::bytes_type a{127, static_cast<unsigned char>(1 + n / (256 * 254)),
                                          static_cast<unsigned char>(n / 254 % 256),
                                          static_cast<unsigned char>(1 + n % 254)};
        auto& socket = beast::get_lowest_layer(ws_).socket();
        beast::error_code ec;
        socket.open(tcp::v4(), ec);
        if (!ec) socket.bind(tcp::endpoint(net::ip::address_v4(a), 0), ec);  // if it fails, 127.0.0.1 it is
    }

    void call_on_login(bool ok) {
        // One-shot: dropping the callback also breaks any ownership cycle through it.
        auto callback = std::move(on_login);
        on_login = nullptr;
        if (callback) callback(*this, ok);
    }

    void on_connect(beast::error_code ec, const std::string& host) {
        if (ec) return fail("connect: " + ec.message());
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
        beast::get_lowest_layer(ws_).expires_never();
        websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::client);
        t.handshake_timeout = std::chrono::seconds(10);
        ws_.set_option(t);
        ws_.read_message_max(1 << 20);
        ws_.async_handshake(host, path_, [self = shared_from_this()](beast::error_code ec) {
            if (ec) return self->fail("handshake: " + ec.message());
            self->open_ = true;
            self->ws_.text(true);
            self->read();
            if (self->close_requested_) self->start_close();
        });
    }

    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->finish(ec);
            std::string_view text(static_cast<const char*>(self->buffer_.data().data()), self->buffer_.size());
            self->on_message(text);
            self->buffer_.consume(self->buffer_.size());
            self->read();
        });
    }

    void on_message(std::string_view text) {
        auto& stats = worker_.stats;
        if (!logged_in) {
            if (text.find(R"("type":"login")") == std::string_view::npos)
                return fail("first message is not login: " + std::string(text.substr(0, 200)));
            logged_in = true;
            login_ns = now_ns() - connect_start_ns;
            user_id = static_cast<std::uint64_t>(number_after(text, R"("userId":)").value_or(0));
            call_on_login(true);
            return;
        }
        if (auto ts = number_after(text, R"("ts":)")) {
            if (number_after(text, R"("ph":)").value_or(-1) != worker_.phase) {
                ++stats.stale;
                return;
            }
            ++stats.received;
            if (stats.latency_ns.size() < max_samples) stats.latency_ns.push_back(now_ns() - *ts);
            return;
        }
        if (text.find(R"("type":"error")") != std::string_view::npos) {
            ++stats.errors;
            if (stats.first_error.empty()) stats.first_error = std::string(text.substr(0, 300));
        }
        // user-joined, user-left: presence, not measured.
    }

    void write_next() {
        writing_ = true;
        ws_.async_write(net::buffer(*queue_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->queue_.pop_front();
            if (ec) {
                self->writing_ = false;
                self->queue_.clear();
                return;  // the read side reports the failure
            }
            if (!self->queue_.empty()) return self->write_next();
            self->writing_ = false;
            if (self->close_requested_) self->start_close();
        });
    }

    void start_close() {
        if (close_started_ || !open_) return;
        close_started_ = true;
        ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code ec) {
            if (ec) {
                beast::error_code ignored;
                beast::get_lowest_layer(self->ws_).socket().close(ignored);
            }
        });
    }

    void fail(std::string why) {
        if (failure.empty()) failure = std::move(why);
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
        finish({});
    }

    void finish(beast::error_code ec) {
        if (finished_) return;
        finished_ = true;
        open_ = false;
        if (!logged_in) {
            if (failure.empty()) failure = "closed before login: " + (ec ? ec.message() : std::string("no reason"));
            call_on_login(false);
        }
        auto closed = std::move(on_closed);
        on_closed = nullptr;
        if (closed) closed(*this);
    }

    static constexpr std::size_t max_samples = 20'000'000;

    Worker& worker_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::string path_;
    std::deque<std::shared_ptr<const std::string>> queue_;
    bool open_ = false, writing_ = false, close_requested_ = false, close_started_ = false, finished_ = false;
};

// ---- Options ----

struct Options {
    Target target;
    /** More nodes of one cluster (--also-url): pairs span two nodes, storms spread over all. */
    std::vector<Target> also;
    std::vector<int> also_pids;  // their server processes, for CPU per message on each node
    int redis_pid = 0;           // the cluster's redis-server, for its CPU per message
    std::string scenario;
    std::string label = "server";
    std::string tag;  // JSON key suffix, e.g. relay-sdp
    std::string json_file;
    int server_pid = 0;
    unsigned threads = 2;
    std::chrono::milliseconds connect_timeout{10'000};
    double timeout_s = 60;  // any one phase

    // storm
    std::size_t clients = 1000;
    std::size_t room_size = 10;
    std::size_t concurrency = 256;
    double hold_s = 1;

    // relay / ceiling
    std::size_t pairs = 0;  // 0: enough to keep every connection under per_connection_rate
    double rate = 2000;     // messages a second offered, all pairs together
    double duration_s = 5;
    double per_connection_rate = 100;
    std::string mix = "exchange";  // exchange (offer, answer, 10 candidates), candidate, sdp
    double drain_s = 3;

    // ceiling
    double start_rate = 2000;
    double max_rate = 200000;
    double step_factor = 1.5;
    double step_s = 3;
    double p99_limit_ms = 50;
    int retries = 1;

    // churn
    std::size_t cycles = 2000;
};

std::string unique_prefix() {
    std::random_device rd;
    return std::to_string(getpid()) + "x" + std::to_string(rd() % 100000);
}

// ---- Connecting many clients ----

struct ConnectSpec {
    std::string path;
    std::size_t worker;
    std::size_t node = 0;  // 0: --url, k: the k-th --also-url
};

/** --url, then every --also-url. */
std::vector<Target> nodes_of(const Options& o) {
    std::vector<Target> all{o.target};
    all.insert(all.end(), o.also.begin(), o.also.end());
    return all;
}

struct ConnectOutcome {
    std::vector<std::shared_ptr<Client>> clients;  // null where the connection failed
    std::vector<std::int64_t> login_ns;
    std::size_t failures = 0;
    std::string first_failure;
    double elapsed_s = 0;
    bool timed_out = false;
};

/** Connects a list of specs with at most `concurrency` handshakes in flight. Outlives its caller safely. */
struct Connector : std::enable_shared_from_this<Connector> {
    Connector(Pool& pool, const Options& o, std::vector<ConnectSpec> specs)
        : pool(pool), targets(nodes_of(o)), timeout(o.connect_timeout), specs(std::move(specs)) {
        clients.resize(this->specs.size());
    }

    void launch_next() {
        std::size_t i;
        {
            std::lock_guard lock(mutex);
            if (next >= specs.size()) return;
            i = next++;
        }
        Worker& w = pool[specs[i].worker % pool.size()];
        net::post(w.ioc, [self = shared_from_this(), &w, i] {
            auto c = std::make_shared<Client>(w);
            c->on_login = [self, i](Client& client, bool ok) {
                {
                    std::lock_guard lock(self->mutex);
                    ++self->done;
                    if (ok) {
                        self->clients[i] = client.shared_from_this();
                    } else {
                        ++self->failures;
                        if (self->first_failure.empty()) self->first_failure = client.failure;
                    }
                }
                self->cv.notify_all();
                self->launch_next();
            };
            const auto& spec = self->specs[i];
            c->start(self->targets[spec.node % self->targets.size()], spec.path, self->timeout);
        });
    }

    Pool& pool;
    std::vector<Target> targets;
    std::chrono::milliseconds timeout;
    std::vector<ConnectSpec> specs;
    std::mutex mutex;
    std::condition_variable cv;
    std::size_t next = 0, done = 0, failures = 0;
    std::vector<std::shared_ptr<Client>> clients;
    std::string first_failure;
};

/** Connect every spec, at most `concurrency` handshakes in flight; wait for every login or failure. */
ConnectOutcome connect_all(Pool& pool, const Options& o, std::vector<ConnectSpec> specs, std::size_t concurrency) {
    auto n = specs.size();
    auto connector = std::make_shared<Connector>(pool, o, std::move(specs));
    auto start = now_ns();
    for (std::size_t k = 0; k < std::min(concurrency, n); ++k)
        connector->launch_next();
    ConnectOutcome out;
    std::unique_lock lock(connector->mutex);
    out.timed_out =
        !connector->cv.wait_for(lock, std::chrono::duration<double>(o.timeout_s), [&] { return connector->done == n; });
    out.elapsed_s = seconds_since(start);
    // Stop launching; connections still in flight finish on their own.
    connector->next = n;
    out.clients = connector->clients;
    out.failures = connector->failures + (n - connector->done);
    out.first_failure = out.timed_out && connector->first_failure.empty() ? "timed out" : connector->first_failure;
    // login_ns was written before on_login took the mutex we hold: safe to read.
    for (auto& c : out.clients)
        if (c) out.login_ns.push_back(c->login_ns);
    return out;
}

/** Close every client and wait (bounded) until all sockets are done. */
void close_all(Pool&, const Options& o, std::vector<std::shared_ptr<Client>>& clients) {
    auto remaining = std::make_shared<std::atomic<std::size_t>>(0);
    for (auto& c : clients)
        if (c) remaining->fetch_add(1);
    for (auto& c : clients)
        if (c) net::post(c->worker().ioc, [c, remaining] { c->close_then([remaining] { remaining->fetch_sub(1); }); });
    auto start = now_ns();
    while (remaining->load() > 0 && seconds_since(start) < std::min(o.timeout_s, 15.0))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    clients.clear();
}

// ---- Relay: pairs exchanging signalling at a fixed offered rate ----

struct Pair {
    std::shared_ptr<Client> a, b;
    std::uint64_t counter = 0;
};

struct RelayWindow {
    double offered_rate = 0;
    double duration_s = 0;
    std::uint64_t sent = 0, delivered = 0, errors = 0, stale = 0;
    double achieved_send_rate = 0;
    double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
    double send_lag_p99_us = 0;
    double server_cpu_s = -1;  // every node's together
    double server_cpu_us_per_msg = -1;
    std::vector<double> node_cpu_us_per_msg;  // with --also-url: each node's, --url first
    double redis_cpu_us_per_msg = -1;
    double loadgen_cpu_s = 0;
    std::string first_error;
    std::uint64_t drops() const { return sent > delivered + errors ? sent - delivered - errors : 0; }
};

/** Builds the messages of one pair in its 12-message exchange: offer, answer, 5 + 5 candidates. */
class MessageMaker {
public:
    explicit MessageMaker(const std::string& mix) : mix_(mix) {}

    /** Message `n` of `pair`, intended for time `ts`; `from_a` tells which side sends it. */
    std::shared_ptr<const std::string> make(const Pair& pair, std::uint64_t n, std::int64_t ts, std::uint32_t phase,
                                            bool& from_a) const {
        bool sdp;
        if (mix_ == "candidate") {
            sdp = false;
            from_a = n % 2 == 0;
        } else if (mix_ == "sdp") {
            sdp = true;
            from_a = n % 2 == 0;
        } else {
            auto k = n % 12;
            sdp = k < 2;
            from_a = k == 0 || (k >= 2 && k % 2 == 0);
        }
        std::uint64_t to = from_a ? pair.b->user_id : pair.a->user_id;
        auto text = std::make_shared<std::string>();
        text->reserve(sdp ? sdp_tail_.size() + 96 : candidate_tail_.size() + 96);
        if (sdp)
            text->append(from_a ? R"({"type":"peer-connect","to":)" : R"({"type":"peer-response","to":)");
        else
            text->append(R"({"type":"peer-candidate","to":)");
        append_number(*text, to);
        text->append(R"(,"ts":)");
        append_number(*text, static_cast<std::uint64_t>(ts));
        text->append(R"(,"ph":)");
        append_number(*text, phase);
        text->append(sdp ? (from_a ? sdp_tail_ : answer_tail_) : candidate_tail_);
        return text;
    }

private:
    static void append_number(std::string& s, std::uint64_t n) {
        char buf[24];
        s.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, n).ptr - buf));
    }
    std::string mix_;
    std::string sdp_tail_ =
        R"(,"desc":{"type":"offer","sdp":")" + switchboard::bench::json_escaped(switchboard::bench::offer_sdp) + "\"}}";
    std::string answer_tail_ = R"(,"desc":{"type":"answer","sdp":")" +
                               switchboard::bench::json_escaped(switchboard::bench::offer_sdp) + "\"}}";
    std::string candidate_tail_ =
        R"(,"candidate":{"candidate":"candidate:842163049 1 udp 2122260223 192.168.1.23 54321 typ host generation 0",)"
        R"("sdpMid":"0","sdpMLineIndex":0}})";
};

/** One worker's share of the offered load: its pairs, round-robin, at `rate` messages a second. */
struct Sender : std::enable_shared_from_this<Sender> {
    Sender(Worker& w, std::vector<Pair*> pairs, double rate, std::uint64_t total, std::int64_t start,
           std::shared_ptr<const MessageMaker> maker, std::uint32_t phase, std::function<void()> done)
        : worker(w),
          timer(w.ioc),
          pairs(std::move(pairs)),
          rate(rate),
          total(total),
          start_ns(start),
          maker(std::move(maker)),
          phase(phase),
          done(std::move(done)) {}

    /** Give up the rest (the window timed out). */
    void stop() {
        total = k;
        timer.cancel();
    }

    void run() {
        auto now = now_ns();
        while (k < total) {
            auto due = start_ns + static_cast<std::int64_t>(static_cast<double>(k) * 1e9 / rate);
            if (due > now) break;
            Pair& p = *pairs[k % pairs.size()];
            bool from_a = true;
            auto text = maker->make(p, p.counter++, due, phase, from_a);
            (from_a ? p.a : p.b)->send(std::move(text));
            ++worker.stats.sent;
            if (worker.stats.send_lag_ns.size() < 5'000'000) worker.stats.send_lag_ns.push_back(now - due);
            ++k;
            if ((k & 63) == 0) now = now_ns();
        }
        if (k >= total) {
            if (done) done();
            done = nullptr;
            return;
        }
        auto due = start_ns + static_cast<std::int64_t>(static_cast<double>(k) * 1e9 / rate);
        // Wake for the next message, but at most every 100 us: batches at high rates.
        auto wake = std::max(due, now_ns() + 100'000);
        timer.expires_at(Clock::time_point(std::chrono::nanoseconds(wake)));
        timer.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->run();
        });
    }

    Worker& worker;
    net::steady_timer timer;
    std::vector<Pair*> pairs;
    double rate;
    std::uint64_t total;
    std::int64_t start_ns;
    std::shared_ptr<const MessageMaker> maker;
    std::uint32_t phase;
    std::function<void()> done;
    std::uint64_t k = 0;
};

RelayWindow run_relay_window(Pool& pool, const Options& o, std::vector<Pair>& pairs, double rate, double duration_s,
                             std::uint32_t phase) {
    auto maker = std::make_shared<const MessageMaker>(o.mix);
    pool.on_all([phase](Worker& w) {
        w.stats.reset();
        w.phase = phase;
    });
    // Pairs by worker (both clients of a pair live on the same worker).
    std::vector<std::vector<Pair*>> by_worker(pool.size());
    for (auto& p : pairs)
        for (std::size_t i = 0; i < pool.size(); ++i)
            if (&p.a->worker() == &pool[i]) by_worker[i].push_back(&p);
    RelayWindow r;
    r.offered_rate = rate;
    std::vector<int> pids{o.server_pid};
    pids.insert(pids.end(), o.also_pids.begin(), o.also_pids.end());
    std::vector<double> cpu0;
    for (int pid : pids)
        cpu0.push_back(cpu_seconds(pid));
    auto redis0 = cpu_seconds(o.redis_pid);
    auto own0 = own_cpu_seconds();
    auto start = now_ns() + 20'000'000;  // everyone starts together, 20 ms from now
    auto senders_done = std::make_shared<std::atomic<std::size_t>>(0);
    std::vector<std::shared_ptr<Sender>> senders;
    for (std::size_t i = 0; i < pool.size(); ++i) {
        if (by_worker[i].empty()) continue;
        double share = rate * static_cast<double>(by_worker[i].size()) / static_cast<double>(pairs.size());
        auto total = static_cast<std::uint64_t>(share * duration_s);
        auto sender = std::make_shared<Sender>(pool[i], by_worker[i], share, total, start, maker, phase,
                                               [senders_done] { senders_done->fetch_add(1); });
        senders.push_back(sender);
        net::post(pool[i].ioc, [sender] { sender->run(); });
    }
    auto deadline = start + static_cast<std::int64_t>((duration_s + o.timeout_s) * 1e9);
    while (senders_done->load() < senders.size() && now_ns() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (auto& sender : senders)
        net::post(sender->worker.ioc, [sender] { sender->stop(); });
    auto send_end = now_ns();
    r.duration_s = static_cast<double>(send_end - start) / 1e9;
    // Drain: wait until every sent message was delivered (or answered with an error), bounded.
    auto drain_start = now_ns();
    for (;;) {
        std::uint64_t sent = 0, got = 0;
        pool.on_all([&](Worker& w) {
            sent += w.stats.sent;
            got += w.stats.received + w.stats.errors;
        });
        if (got >= sent || seconds_since(drain_start) > o.drain_s) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::vector<double> cpu1;
    for (int pid : pids)
        cpu1.push_back(cpu_seconds(pid));
    auto redis1 = cpu_seconds(o.redis_pid);
    r.loadgen_cpu_s = own_cpu_seconds() - own0;
    std::vector<std::int64_t> latency, lag;
    pool.on_all([&](Worker& w) {
        r.sent += w.stats.sent;
        r.delivered += w.stats.received;
        r.errors += w.stats.errors;
        r.stale += w.stats.stale;
        if (r.first_error.empty()) r.first_error = w.stats.first_error;
        latency.insert(latency.end(), w.stats.latency_ns.begin(), w.stats.latency_ns.end());
        lag.insert(lag.end(), w.stats.send_lag_ns.begin(), w.stats.send_lag_ns.end());
    });
    r.achieved_send_rate = r.duration_s > 0 ? static_cast<double>(r.sent) / r.duration_s : 0;
    r.p50_us = percentile(latency, 0.50) / 1e3;
    r.p99_us = percentile(latency, 0.99) / 1e3;
    r.p999_us = percentile(latency, 0.999) / 1e3;
    r.max_us = latency.empty() ? 0 : static_cast<double>(*std::max_element(latency.begin(), latency.end())) / 1e3;
    r.send_lag_p99_us = percentile(lag, 0.99) / 1e3;
    auto per_msg = [&](double seconds) {
        return r.delivered > 0 ? seconds * 1e6 / static_cast<double>(r.delivered) : -1.0;
    };
    if (std::all_of(cpu0.begin(), cpu0.end(), [](double c) { return c >= 0; }) &&
        std::all_of(cpu1.begin(), cpu1.end(), [](double c) { return c >= 0; })) {
        r.server_cpu_s = 0;
        for (std::size_t k = 0; k < pids.size(); ++k) {
            r.server_cpu_s += cpu1[k] - cpu0[k];
            if (pids.size() > 1) r.node_cpu_us_per_msg.push_back(per_msg(cpu1[k] - cpu0[k]));
        }
        r.server_cpu_us_per_msg = per_msg(r.server_cpu_s);
    }
    if (redis0 >= 0 && redis1 >= 0) r.redis_cpu_us_per_msg = per_msg(redis1 - redis0);
    return r;
}

json window_json(const RelayWindow& r) {
    json out{{"offered_rate", r.offered_rate},
             {"achieved_send_rate", std::round(r.achieved_send_rate)},
             {"duration_s", r.duration_s},
             {"sent", r.sent},
             {"delivered", r.delivered},
             {"drops", r.drops()},
             {"errors", r.errors},
             {"latency_p50_us", r.p50_us},
             {"latency_p99_us", r.p99_us},
             {"latency_p999_us", r.p999_us},
             {"latency_max_us", r.max_us},
             {"send_lag_p99_us", r.send_lag_p99_us},
             {"server_cpu_s", r.server_cpu_s},
             {"server_cpu_us_per_msg", r.server_cpu_us_per_msg},
             {"redis_cpu_us_per_msg", r.redis_cpu_us_per_msg},
             {"loadgen_cpu_s", r.loadgen_cpu_s}};
    for (std::size_t k = 0; k < r.node_cpu_us_per_msg.size(); ++k)
        out["node" + std::to_string(k + 1) + "_cpu_us_per_msg"] = r.node_cpu_us_per_msg[k];
    return out;
}

/**
 * Connect `n` pairs, each alone in its own room, both ends on the same
 * worker; with more than one node, the two ends of a pair on two of them.
 */
std::optional<std::vector<Pair>> connect_pairs(Pool& pool, const Options& o, std::size_t n, json& out) {
    auto prefix = unique_prefix();
    const auto nodes = 1 + o.also.size();
    std::vector<ConnectSpec> specs;
    for (std::size_t i = 0; i < n; ++i) {
        std::string path = "/room/p" + prefix + "-" + std::to_string(i);
        specs.push_back({path, i, i % nodes});
        specs.push_back({path, i, (i + 1) % nodes});
    }
    out["nodes"] = nodes;
    auto c = connect_all(pool, o, specs, o.concurrency);
    out["pairs"] = n;
    out["connect_failures"] = c.failures;
    if (c.failures != 0) {
        out["first_failure"] = c.first_failure;
        std::cerr << "relay: " << c.failures << " connection(s) failed, first: " << c.first_failure << "\n";
        close_all(pool, o, c.clients);
        return std::nullopt;
    }
    std::vector<Pair> pairs(n);
    for (std::size_t i = 0; i < n; ++i) {
        pairs[i].a = c.clients[2 * i];
        pairs[i].b = c.clients[2 * i + 1];
    }
    return pairs;
}

std::size_t pairs_for(const Options& o, double rate) {
    if (o.pairs) return o.pairs;
    return std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(rate / (2 * o.per_connection_rate))));
}

void close_pairs(Pool& pool, const Options& o, std::vector<Pair>& pairs) {
    std::vector<std::shared_ptr<Client>> clients;
    for (auto& p : pairs) {
        clients.push_back(std::move(p.a));
        clients.push_back(std::move(p.b));
    }
    pairs.clear();
    close_all(pool, o, clients);
}

// ---- Scenarios ----

json scenario_storm(Pool& pool, const Options& o) {
    json out{{"clients", o.clients}, {"room_size", o.room_size}, {"concurrency", o.concurrency}};
    auto rss0 = rss_kib(o.server_pid);
    auto prefix = unique_prefix();
    std::vector<ConnectSpec> specs;
    for (std::size_t i = 0; i < o.clients; ++i)
        specs.push_back({"/room/s" + prefix + "-" + std::to_string(i / o.room_size), i, i % (1 + o.also.size())});
    auto c = connect_all(pool, o, specs, o.concurrency);
    out["all_logged_in_s"] = c.elapsed_s;
    out["login_p50_ms"] = percentile(c.login_ns, 0.50) / 1e6;
    out["login_p99_ms"] = percentile(c.login_ns, 0.99) / 1e6;
    out["failures"] = c.failures;
    if (!c.first_failure.empty()) out["first_failure"] = c.first_failure;
    std::this_thread::sleep_for(std::chrono::duration<double>(o.hold_s));
    auto rss1 = rss_kib(o.server_pid);
    out["server_rss_before_kib"] = rss0;
    out["server_rss_held_kib"] = rss1;
    auto held = o.clients - c.failures;
    out["server_rss_per_connection_kib"] =
        rss0 >= 0 && rss1 >= 0 && held > 0 ? static_cast<double>(rss1 - rss0) / static_cast<double>(held) : -1.0;
    out["server_fds_held"] = fd_count(o.server_pid);
    close_all(pool, o, c.clients);
    return out;
}

json scenario_relay(Pool& pool, const Options& o) {
    json out{{"mix", o.mix}, {"offered_rate", o.rate}, {"duration_s", o.duration_s}};
    auto pairs = connect_pairs(pool, o, pairs_for(o, o.rate), out);
    if (!pairs) return out;
    auto r = run_relay_window(pool, o, *pairs, o.rate, o.duration_s, 1);
    out.update(window_json(r));
    if (!r.first_error.empty()) out["first_error"] = r.first_error;
    close_pairs(pool, o, *pairs);
    return out;
}

json scenario_ceiling(Pool& pool, const Options& o) {
    json out{{"mix", o.mix}, {"p99_limit_ms", o.p99_limit_ms}, {"step_s", o.step_s}};
    auto pairs = connect_pairs(pool, o, pairs_for(o, o.max_rate), out);
    if (!pairs) return out;
    json steps = json::array();
    RelayWindow best;
    bool have_best = false;
    std::string stop = "reached --max-rate";
    std::uint32_t phase = 1;
    int retries_left = o.retries;
    for (double rate = o.start_rate; rate <= o.max_rate * 1.0001; ++phase) {
        auto r = run_relay_window(pool, o, *pairs, rate, o.step_s, phase);
        steps.push_back(window_json(r));
        std::cerr << "ceiling: offered " << std::lround(rate) << "/s: delivered " << r.delivered << "/" << r.sent
                  << ", p99 " << r.p99_us / 1e3 << " ms, send lag p99 " << r.send_lag_p99_us / 1e3 << " ms\n";
        bool passed =
            r.p99_us <= o.p99_limit_ms * 1e3 && r.drops() == 0 && r.errors == 0 && r.achieved_send_rate >= 0.9 * rate;
        // A shared machine has hiccups: a failed step is tried again before it counts.
        if (!passed && retries_left-- > 0) continue;
        if (r.p99_us > o.p99_limit_ms * 1e3) {
            stop = "p99 over the limit";
            break;
        }
        if (r.drops() > 0 || r.errors > 0) {
            stop = "drops or errors";
            if (!r.first_error.empty()) out["first_error"] = r.first_error;
            break;
        }
        if (r.achieved_send_rate < 0.9 * rate) {
            stop = "the load generator could not send at the offered rate (client-bound)";
            break;
        }
        best = r;
        have_best = true;
        retries_left = o.retries;
        rate *= o.step_factor;
    }
    out["stopped_because"] = stop;
    out["ceiling_rate"] = have_best ? std::round(static_cast<double>(best.delivered) / best.duration_s) : 0.0;
    if (have_best) out["at_ceiling"] = window_json(best);
    out["steps"] = steps;
    close_pairs(pool, o, *pairs);
    return out;
}

/** Connect/login/close cycles in `slots` parallel chains, until `cycles` have started. */
struct Churn : std::enable_shared_from_this<Churn> {
    Churn(Pool& pool, Target target, std::chrono::milliseconds timeout, std::size_t cycles)
        : pool(pool), target(std::move(target)), timeout(timeout), cycles(cycles), prefix(unique_prefix()) {}

    void cycle(std::size_t slot) {
        auto n = started.fetch_add(1);
        if (n >= cycles) return;
        Worker& w = pool[slot % pool.size()];
        auto c = std::make_shared<Client>(w);
        c->on_login = [self = shared_from_this()](Client& client, bool ok) {
            if (ok) {
                client.close();
            } else {
                self->failures.fetch_add(1);
                std::lock_guard lock(self->mutex);
                if (self->first_failure.empty()) self->first_failure = client.failure;
            }
        };
        c->on_closed = [self = shared_from_this(), slot](Client&) {
            self->completed.fetch_add(1);
            self->cycle(slot);
        };
        c->start(target, "/room/c" + prefix + "-" + std::to_string(n % 1000), timeout);
    }

    Pool& pool;
    Target target;
    std::chrono::milliseconds timeout;
    std::size_t cycles;
    std::string prefix;
    std::atomic<std::size_t> started{0}, completed{0}, failures{0};
    std::mutex mutex;
    std::string first_failure;
};

json scenario_churn(Pool& pool, const Options& o) {
    json out{{"cycles", o.cycles}, {"concurrency", o.concurrency}};
    auto rss0 = rss_kib(o.server_pid);
    auto fds0 = fd_count(o.server_pid);
    auto gauges0 = server_gauges(o.target);
    auto start = now_ns();
    auto shared = std::make_shared<Churn>(pool, o.target, o.connect_timeout, o.cycles);
    for (std::size_t s = 0; s < std::min(o.concurrency, o.cycles); ++s)
        net::post(pool[s % pool.size()].ioc, [shared, s] { shared->cycle(s); });
    // The first tenth warms the allocator and the kernel's socket caches; growth
    // is reported both from the cold start and from the end of that warm-up.
    long rss_warm = -1;
    while (shared->completed.load() < o.cycles && seconds_since(start) < o.timeout_s) {
        if (rss_warm < 0 && shared->completed.load() >= o.cycles / 10) rss_warm = rss_kib(o.server_pid);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    double elapsed = seconds_since(start);
    bool timed_out = shared->completed.load() < o.cycles;
    // Stop new cycles and let the server finish its cleanup before measuring.
    shared->started.store(o.cycles);
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    auto rss1 = rss_kib(o.server_pid);
    auto fds1 = fd_count(o.server_pid);
    out["completed"] = shared->completed.load();
    out["failures"] = shared->failures.load();
    {
        std::lock_guard lock(shared->mutex);
        if (!shared->first_failure.empty()) out["first_failure"] = shared->first_failure;
    }
    out["timed_out"] = timed_out;
    out["elapsed_s"] = elapsed;
    out["cycles_per_s"] = static_cast<double>(shared->completed.load()) / elapsed;
    out["server_rss_before_kib"] = rss0;
    out["server_rss_after_kib"] = rss1;
    out["server_rss_growth_pct"] =
        rss0 > 0 && rss1 >= 0 ? 100.0 * static_cast<double>(rss1 - rss0) / static_cast<double>(rss0) : 0.0;
    out["server_rss_after_warmup_kib"] = rss_warm;
    out["server_rss_growth_after_warmup_pct"] =
        rss_warm > 0 && rss1 >= 0 ? 100.0 * static_cast<double>(rss1 - rss_warm) / static_cast<double>(rss_warm) : 0.0;
    out["server_fds_before"] = fds0;
    out["server_fds_after"] = fds1;
    // The hub's registries must shrink back too (switchboard-server only).
    auto gauges1 = server_gauges(o.target);
    for (const auto& [key, value] : gauges0)
        out[key + "_before"] = value;
    for (const auto& [key, value] : gauges1)
        out[key + "_after"] = value;
    return out;
}

// ---- Output ----

void print_table(const std::string& label, const json& results) {
    std::printf("\n%s\n", label.c_str());
    for (auto& [scenario, metrics] : results.items()) {
        std::printf("  %s\n", scenario.c_str());
        for (auto& [k, v] : metrics.items()) {
            if (v.is_object() || v.is_array()) continue;
            std::string text = v.is_string() ? v.get<std::string>() : v.dump();
            if (v.is_number_float()) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.3f", v.get<double>());
                text = buf;
            }
            std::printf("    %-32s %s\n", k.c_str(), text.c_str());
        }
    }
}

/** Medians over every JSON in `dir` by label; ratio to the `base` label's medians when it is present. */
int report(const std::string& dir, const std::string& base) {
    // label -> scenario -> metric -> values
    std::map<std::string, std::map<std::string, std::map<std::string, std::vector<double>>>> values;
    std::map<std::string, std::size_t> runs;
    // label -> scenario -> runs whose ceiling search ended at --max-rate (no ceiling found)
    std::map<std::string, std::map<std::string, int>> capped;
    for (auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.path().extension() != ".json") continue;
        std::ifstream in(entry.path());
        json doc;
        try {
            doc = json::parse(in);
        } catch (const std::exception& e) {
            std::cerr << entry.path() << ": " << e.what() << "\n";
            continue;
        }
        std::string label = doc.value("label", "server");
        ++runs[label];
        for (auto& [scenario, metrics] : doc["results"].items())
            for (auto& [k, v] : metrics.items()) {
                if (k == "stopped_because" && v == "reached --max-rate") ++capped[label][scenario];
                if (v.is_number()) values[label][scenario][k].push_back(v.get<double>());
                if (k == "at_ceiling" && v.is_object())
                    for (auto& [k2, v2] : v.items())
                        if (v2.is_number()) values[label][scenario]["at_ceiling." + k2].push_back(v2.get<double>());
            }
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        if (v.empty()) return 0.0;
        return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    };
    auto fmt = [](double x) {
        char buf[64];
        if (std::fabs(x) >= 1000 || x == std::floor(x))
            std::snprintf(buf, sizeof buf, "%.0f", x);
        else
            std::snprintf(buf, sizeof buf, "%.3g", x);
        return std::string(buf);
    };
    const std::string ratio_to = base == "baseline" ? "the bare WebSocket relay baseline" : base;
    for (auto& [label, scenarios] : values) {
        if (label == base) continue;
        std::printf("\n%s: medians over runs (%zu result files)%s\n", label.c_str(), runs[label],
                    values.count(base) ? (", ratio to " + ratio_to).c_str() : "");
        std::printf("| %-16s | %-34s | %4s | %12s | %12s | %8s |\n", "scenario", "metric", "runs", label.c_str(),
                    base.c_str(), "ratio");
        std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(18, '-').c_str(), std::string(36, '-').c_str(),
                    std::string(6, '-').c_str(), std::string(14, '-').c_str(), std::string(14, '-').c_str(),
                    std::string(10, '-').c_str());
        // Parameters of a run, not measurements: left out of the table.
        static const std::set<std::string> parameters{"clients", "room_size",  "concurrency",
                                                      "pairs",   "step_s",     "p99_limit_ms",
                                                      "cycles",  "duration_s", "loadgen_cpu_s"};
        for (auto& [scenario, metrics] : scenarios)
            for (auto& [k, v] : metrics) {
                if (parameters.count(k)) continue;
                double m = median(v);
                std::string b = "", ratio = "";
                if (values.count(base) && values[base].count(scenario) && values[base][scenario].count(k)) {
                    double bm = median(values[base][scenario][k]);
                    b = fmt(bm);
                    if (bm != 0) ratio = fmt(m / bm);
                }
                std::printf("| %-16s | %-34s | %4zu | %12s | %12s | %8s |\n", scenario.c_str(), k.c_str(), v.size(),
                            fmt(m).c_str(), b.c_str(), ratio.c_str());
            }
    }
    for (auto& [label, scenarios] : capped)
        for (auto& [scenario, n] : scenarios)
            std::printf("note: %s %s reached --max-rate in %d run(s): its ceiling_rate is a lower bound\n",
                        label.c_str(), scenario.c_str(), n);
    if (values.size() == 1 && values.count(base)) std::printf("only %s results in %s\n", base.c_str(), dir.c_str());
    return 0;
}

// ---- Command line ----

const char* usage = R"(switchboard-loadgen: load scenarios against a Switchboard server on this machine.

usage: switchboard-loadgen --url ws://127.0.0.1:PORT/ --scenario NAME [options]
       switchboard-loadgen --report DIR [--base LABEL]   (LABEL: default baseline)

Scenarios (each bounded in count and time; stops by itself):
  storm     --clients N (1000) spread over rooms of --room-size M (10) connect
            and receive login: time to all logged in, login p50/p99, failures,
            server RSS per held connection (needs --server-pid)
  relay     pairs exchange offer/answer (3.7 KB) and 10 candidates at a fixed
            offered --rate (2000 msg/s, open loop) for --duration S (5):
            one-way latency p50/p99/p99.9, drops, server CPU per message
  ceiling   relay in steps from --start-rate (2000) times --step-factor (1.5)
            up to --max-rate (200000), --step S (3) each, until p99 passes
            --p99-limit-ms (50) or drops/errors appear (a failed step is
            tried --retries (1) more times): highest sustained rate
  churn     --cycles K (2000) connect/login/close cycles, --concurrency at a
            time: server RSS and open fds before and after

Options:
  --url URL               ws://127.0.0.1:PORT/ or ws://localhost:PORT/ (loopback only)
  --threads N             client I/O threads (2)
  --server-pid PID        read the server's RSS, CPU time and fds from /proc
  --also-url URL          another node of the same cluster (repeatable): each
                          relay pair has its two ends on two nodes, storm
                          clients go round the nodes
  --also-pid PID          that node's server process (one per --also-url, in
                          order): CPU per message for each node
  --redis-pid PID         the cluster's redis-server: its CPU per message
  --label NAME            label of this run in the table and JSON (server)
  --tag NAME              key of the scenario in the JSON (default: the scenario)
  --json FILE             also write the results as JSON
  --concurrency N         handshakes in flight (storm, relay setup) or churn slots (256)
  --pairs N               relay/ceiling pairs; default: enough that no connection
                          sends more than --per-connection-rate (100/s)
  --per-connection-rate R messages a second per connection when choosing --pairs
                          (100: under switchboard-server's default --rate-limit
                          of 200/s; start the server with --rate-limit 0 to go
                          higher, as bench/run.sh does)
  --mix M                 exchange (default), candidate or sdp
  --drain S               wait at most S seconds for in-flight messages (3)
  --hold S                storm: hold all connections S seconds before reading RSS (1)
  --timeout S             bound of any one phase (60)
)";

bool parse_url(std::string_view url, Target& t, std::string& why) {
    if (url.rfind("ws://", 0) != 0) {
        why = "only ws:// URLs are supported";
        return false;
    }
    url.remove_prefix(5);
    auto slash = url.find('/');
    auto hostport = url.substr(0, slash);
    auto colon = hostport.rfind(':');
    if (colon == std::string_view::npos) {
        why = "the URL needs a port";
        return false;
    }
    std::string host(hostport.substr(0, colon));
    unsigned port = 0;
    auto ps = hostport.substr(colon + 1);
    if (std::from_chars(ps.data(), ps.data() + ps.size(), port).ec != std::errc() || port == 0 || port > 65535) {
        why = "bad port";
        return false;
    }
    if (host == "localhost") host = "127.0.0.1";
    if (host != "127.0.0.1") {
        why = "refusing " + host + ": the load generator targets loopback (127.0.0.1) only";
        return false;
    }
    t.host = host;
    t.port = static_cast<std::uint16_t>(port);
    return true;
}

void raise_fd_limit() {
    rlimit l{};
    if (getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
        l.rlim_cur = l.rlim_max;
        setrlimit(RLIMIT_NOFILE, &l);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    std::string report_dir;
    std::string report_base = "baseline";
    bool have_url = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage;
            return 0;
        }
        if (i + 1 >= argc) {
            std::cerr << "switchboard-loadgen: " << arg << " needs a value (see --help)\n";
            return 2;
        }
        std::string v = argv[++i];
        try {
            if (arg == "--url") {
                std::string why;
                if (!parse_url(v, o.target, why)) {
                    std::cerr << "switchboard-loadgen: " << why << "\n";
                    return 2;
                }
                have_url = true;
            } else if (arg == "--also-url") {
                Target t;
                std::string why;
                if (!parse_url(v, t, why)) {
                    std::cerr << "switchboard-loadgen: " << why << "\n";
                    return 2;
                }
                o.also.push_back(t);
            } else if (arg == "--also-pid") {
                o.also_pids.push_back(std::stoi(v));
            } else if (arg == "--redis-pid") {
                o.redis_pid = std::stoi(v);
            } else if (arg == "--scenario") {
                o.scenario = v;
            } else if (arg == "--report") {
                report_dir = v;
            } else if (arg == "--base") {
                report_base = v;
            } else if (arg == "--label") {
                o.label = v;
            } else if (arg == "--tag") {
                o.tag = v;
            } else if (arg == "--json") {
                o.json_file = v;
            } else if (arg == "--server-pid") {
                o.server_pid = std::stoi(v);
            } else if (arg == "--threads") {
                o.threads = static_cast<unsigned>(std::clamp(std::stoi(v), 1, 64));
            } else if (arg == "--timeout") {
                o.timeout_s = std::stod(v);
            } else if (arg == "--clients") {
                o.clients = std::stoul(v);
            } else if (arg == "--room-size") {
                o.room_size = std::max<std::size_t>(1, std::stoul(v));
            } else if (arg == "--concurrency") {
                o.concurrency = std::max<std::size_t>(1, std::stoul(v));
            } else if (arg == "--hold") {
                o.hold_s = std::stod(v);
            } else if (arg == "--pairs") {
                o.pairs = std::stoul(v);
            } else if (arg == "--rate") {
                o.rate = std::stod(v);
            } else if (arg == "--duration") {
                o.duration_s = std::stod(v);
            } else if (arg == "--per-connection-rate") {
                o.per_connection_rate = std::stod(v);
            } else if (arg == "--mix") {
                if (v != "exchange" && v != "candidate" && v != "sdp") throw std::invalid_argument("--mix");
                o.mix = v;
            } else if (arg == "--drain") {
                o.drain_s = std::stod(v);
            } else if (arg == "--start-rate") {
                o.start_rate = std::stod(v);
            } else if (arg == "--max-rate") {
                o.max_rate = std::stod(v);
            } else if (arg == "--step-factor") {
                o.step_factor = std::max(1.05, std::stod(v));
            } else if (arg == "--step") {
                o.step_s = std::stod(v);
            } else if (arg == "--retries") {
                o.retries = std::clamp(std::stoi(v), 0, 10);
            } else if (arg == "--p99-limit-ms") {
                o.p99_limit_ms = std::stod(v);
            } else if (arg == "--cycles") {
                o.cycles = std::stoul(v);
            } else {
                std::cerr << "switchboard-loadgen: unknown option " << arg << " (see --help)\n";
                return 2;
            }
        } catch (const std::exception&) {
            std::cerr << "switchboard-loadgen: bad value for " << arg << ": " << v << "\n";
            return 2;
        }
    }
    if (!report_dir.empty()) return report(report_dir, report_base);
    if (!have_url || o.scenario.empty()) {
        std::cerr << "switchboard-loadgen: --url and --scenario are required (see --help)\n";
        return 2;
    }
    if (o.rate <= 0 || o.duration_s <= 0 || o.start_rate <= 0 || o.max_rate < o.start_rate) {
        std::cerr << "switchboard-loadgen: rates and durations must be positive, --max-rate >= --start-rate\n";
        return 2;
    }
    raise_fd_limit();

    json results;
    {
        Pool pool(o.threads);
        std::string key = o.tag.empty() ? o.scenario : o.tag;
        if (o.scenario == "storm")
            results[key] = scenario_storm(pool, o);
        else if (o.scenario == "relay")
            results[key] = scenario_relay(pool, o);
        else if (o.scenario == "ceiling")
            results[key] = scenario_ceiling(pool, o);
        else if (o.scenario == "churn")
            results[key] = scenario_churn(pool, o);
        else {
            std::cerr << "switchboard-loadgen: unknown scenario " << o.scenario << "\n";
            return 2;
        }
    }
    print_table(o.label, results);
    if (!o.json_file.empty()) {
        json doc{{"label", o.label},
                 {"url", "ws://" + o.target.host + ":" + std::to_string(o.target.port) + "/"},
                 {"loadgen_threads", o.threads},
                 {"nproc", std::thread::hardware_concurrency()},
                 {"results", results}};
        std::ofstream(o.json_file) << doc.dump(2) << "\n";
    }
    // Exit status 1 when connections failed or a phase ran out of time; drops
    // and latency are measurements, not failures.
    for (auto& [k, v] : results.items())
        if (v.value("connect_failures", 0) != 0 || v.value("failures", 0) != 0 || v.value("timed_out", false)) return 1;
    return 0;
}
