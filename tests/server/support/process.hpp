// Test support: run a server executable as a child process, read its
// "listening on ws://HOST:PORT/" line, signal it and collect its exit status.
// POSIX only; every wait is bounded.
#pragma once

#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace switchboard::test {

class ChildProcess {
public:
    /** Starts `argv[0]` with `argv`; stdout is captured, stderr goes to `stderr_file` ("" = inherit). */
    explicit ChildProcess(std::vector<std::string> argv, const std::string& stderr_file = "") {
        int out[2];
        if (::pipe(out) != 0) return;
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], STDOUT_FILENO);
            ::close(out[0]);
            ::close(out[1]);
            if (!stderr_file.empty()) {
                int fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd >= 0) ::dup2(fd, STDERR_FILENO);
            }
            std::vector<char*> args;
            for (auto& a : argv)
                args.push_back(a.data());
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        ::close(out[1]);
        stdout_ = out[0];
    }

    ~ChildProcess() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (stdout_ >= 0) ::close(stdout_);
    }

    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    /** The next line of stdout (without '\n'), or nullopt on EOF or timeout. */
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
                std::string line = buffered_.substr(0, nl);
                buffered_.erase(0, nl + 1);
                return line;
            }
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd p{stdout_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
            char chunk[512];
            auto n = ::read(stdout_, chunk, sizeof chunk);
            if (n <= 0) return std::nullopt;
            buffered_.append(chunk, static_cast<std::size_t>(n));
        }
    }

    /** Everything the child wrote to stdout until it closed it (bounded). */
    std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::string all;
        while (auto line = read_line(timeout))
            all += *line + "\n";
        return all + buffered_;
    }

    void signal(int sig) {
        if (pid_ > 0) ::kill(pid_, sig);
    }

    /** Exit status once the child exits; nullopt if it is still running after `timeout`, or was killed by a signal. */
    std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!status_) {
            int raw = 0;
            pid_t r = ::waitpid(pid_, &raw, WNOHANG);
            if (r == pid_) {
                status_ = raw;
                break;
            }
            if (r < 0 || std::chrono::steady_clock::now() > deadline) return std::nullopt;
            ::usleep(10'000);
        }
        if (!WIFEXITED(*status_)) return std::nullopt;
        return WEXITSTATUS(*status_);
    }

    bool started() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int stdout_ = -1;
    std::string buffered_;
    std::optional<int> status_;
};

}  // namespace switchboard::test
