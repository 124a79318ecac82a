// coturn's TURN REST credentials: see include/switchboard/turn.hpp.
#include <switchboard/turn.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace switchboard::turn {

Credentials rest_credentials(std::string_view secret, std::string_view user, std::int64_t expires) {
    Credentials out;
    out.username = std::to_string(expires) + ":" + std::string(user);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_size = 0;
    if (!HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(out.username.data()), out.username.size(), mac, &mac_size))
        throw std::runtime_error("HMAC-SHA1 failed");
    unsigned char text[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    int size = EVP_EncodeBlock(text, mac, static_cast<int>(mac_size));
    out.credential.assign(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
    return out;
}

IceServersHook ice_servers(std::vector<std::string> stun_urls, std::vector<std::string> turn_urls, std::string secret,
                           std::chrono::seconds ttl) {
    return [stun = std::move(stun_urls), turn = std::move(turn_urls), secret = std::move(secret), ttl](
               std::uint64_t user, const std::string&) {
        std::vector<IceServer> servers;
        if (!stun.empty()) servers.push_back({stun, {}, {}});
        if (!turn.empty()) {
            auto now =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
            auto c = rest_credentials(secret, std::to_string(user), (now + ttl).count());
            servers.push_back({turn, std::move(c.username), std::move(c.credential)});
        }
        return servers;
    };
}

}  // namespace switchboard::turn
