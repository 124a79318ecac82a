// An in-process Connection for the examples: prints what a user receives.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <switchboard/hub.hpp>

class PrintingConnection final : public switchboard::Connection {
public:
    explicit PrintingConnection(std::string name) : name_(std::move(name)) {}
    void send(std::shared_ptr<const std::string> text) override {
        std::printf("  %-6s <- %s\n", name_.c_str(), text->c_str());
    }
    void close(int code, std::string_view reason) override {
        std::printf("  %-6s <- (closed %d: %.*s)\n", name_.c_str(), code, static_cast<int>(reason.size()),
                    reason.data());
    }

private:
    std::string name_;
};

/** A user of an example: a name, its connection and its session. */
struct ExampleUser {
    std::string name;
    std::shared_ptr<switchboard::Session> session;

    static ExampleUser join(switchboard::Hub& hub, std::string name, std::string path = "/") {
        std::printf("%s connects to %s\n", name.c_str(), path.c_str());
        switchboard::Handshake handshake;
        handshake.path = std::move(path);
        handshake.remote_address = "127.0.0.1";
        auto admission = hub.admit(std::move(handshake));
        auto session = hub.open(std::move(admission), std::make_shared<PrintingConnection>(name));
        return {std::move(name), std::move(session)};
    }

    void say(switchboard::Hub& hub, std::string_view text) const {
        std::printf("%s sends %.*s\n", name.c_str(), static_cast<int>(text.size()), text.data());
        hub.receive(*session, text);
    }
};
